//! The `vip` agent's meta-data table and its parameters, parsed into [`Config`] (pure).

use std::net::IpAddr;
use std::time::Duration;

use crate::meta::{ActionSpec, AgentSpec, ParamSpec};
use crate::params::{ParamError, Params};

pub(crate) static SPEC: AgentSpec = AgentSpec {
    name: "vip",
    shortdesc: "Floating IPv4/IPv6 address that refuses to steal an address in use",
    longdesc: "Adds an IPv4 or IPv6 address to an interface through netlink and announces it \
        with gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6). Before \
        taking the address it probes the link (RFC 5227's idea with a short budget) and \
        refuses, naming the MAC address that answered, when another host holds it. It warns \
        when two MAC addresses answer for one IP or one MAC shows up twice (duplicate MACs).",
    params: &[
        ParamSpec {
            name: "ip",
            shortdesc: "IPv4 or IPv6 address",
            longdesc: "The floating address, e.g. 192.168.1.10 or 2001:db8::10.",
            kind: "string",
            required: true,
            unique: true,
            default: None,
        },
        ParamSpec {
            name: "cidr_netmask",
            shortdesc: "Prefix length",
            longdesc: "Prefix length of the address (e.g. 24; an IPv4 netmask such as \
                255.255.255.0 is accepted too). Default: the prefix of the interface's subnet \
                that contains the address, else 32 (IPv4) or 128 (IPv6).",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "nic",
            shortdesc: "Interface",
            longdesc: "Interface to put the address on. Default: the interface that has an \
                address in a subnet containing the floating address.",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "arp_count",
            shortdesc: "Announcements at start",
            longdesc: "How many gratuitous ARPs (IPv4) or unsolicited neighbour \
                advertisements (IPv6) to send at start; the first goes out at once.",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("5"),
        },
        ParamSpec {
            name: "arp_interval",
            shortdesc: "Milliseconds between announcements",
            longdesc: "Interval between the announcements at start, in milliseconds.",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("200"),
        },
        ParamSpec {
            name: "arp_bg",
            shortdesc: "Announce in the background",
            longdesc: "Send the announcements after the first in the background, so start \
                returns after the first one; false makes start wait until all are sent.",
            kind: "boolean",
            required: false,
            unique: false,
            default: Some("true"),
        },
        ParamSpec {
            name: "arp_count_refresh",
            shortdesc: "Announcements per monitor",
            longdesc: "How many announcements to send at each monitor, so that a switch or \
                a peer that missed the start learns the owner again (0 turns it off).",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("1"),
        },
        ParamSpec {
            name: "probe",
            shortdesc: "Probe before taking the address",
            longdesc: "Ask the link whether another host holds the address before adding \
                it, and refuse when one answers.",
            kind: "boolean",
            required: false,
            unique: false,
            default: Some("true"),
        },
        ParamSpec {
            name: "probe_count",
            shortdesc: "Probes to send",
            longdesc: "ARP requests or neighbour solicitations sent during the probe, spread \
                evenly over probe_timeout.",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("3"),
        },
        ParamSpec {
            name: "probe_timeout",
            shortdesc: "Probe budget in milliseconds",
            longdesc: "How long the probe listens for an answer, in milliseconds. RFC 5227's \
                seconds would ruin failover time; 100 ms is enough on a LAN.",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("100"),
        },
        ParamSpec {
            name: "monitor_probe",
            shortdesc: "Look for another holder at each monitor",
            longdesc: "At each monitor, ask the link who has the address and warn (in the \
                output and the log) when another MAC address answers for it.",
            kind: "boolean",
            required: false,
            unique: false,
            default: Some("true"),
        },
        ParamSpec {
            name: "nodad",
            shortdesc: "Skip the kernel's IPv6 DAD",
            longdesc: "Add IPv6 addresses with IFA_F_NODAD (the agent's own probe replaces \
                duplicate address detection, which would leave the address tentative for \
                a second or more).",
            kind: "boolean",
            required: false,
            unique: false,
            default: Some("true"),
        },
    ],
    actions: &[
        ActionSpec {
            name: "start",
            timeout: "20s",
            interval: None,
        },
        ActionSpec {
            name: "stop",
            timeout: "20s",
            interval: None,
        },
        ActionSpec {
            name: "monitor",
            timeout: "20s",
            interval: Some("10s"),
        },
        ActionSpec {
            name: "validate-all",
            timeout: "20s",
            interval: None,
        },
        ActionSpec {
            name: "meta-data",
            timeout: "5s",
            interval: None,
        },
    ],
};

/// The parameters, parsed.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) ip: IpAddr,
    pub(crate) prefix_len: Option<u8>,
    pub(crate) nic: Option<String>,
    pub(crate) arp_count: u32,
    pub(crate) arp_interval: Duration,
    pub(crate) arp_bg: bool,
    pub(crate) arp_count_refresh: u32,
    pub(crate) probe: bool,
    pub(crate) probe_count: u32,
    pub(crate) probe_timeout: Duration,
    pub(crate) monitor_probe: bool,
    pub(crate) nodad: bool,
}

impl Config {
    pub(crate) fn read(params: &Params<'_>) -> Result<Self, ParamError> {
        let ip_text = params.req("ip")?;
        let ip: IpAddr = ip_text.trim().parse().map_err(|_| ParamError::Invalid {
            name: "ip",
            value: ip_text.to_string(),
            expected: "an IPv4 or IPv6 address",
        })?;
        let prefix_len = match params.opt("cidr_netmask") {
            Some(text) => Some(parse_prefix(text, ip.is_ipv4()).ok_or(ParamError::Invalid {
                name: "cidr_netmask",
                value: text.to_string(),
                expected: "a prefix length (0-32 for IPv4, 0-128 for IPv6) or an IPv4 netmask",
            })?),
            None => None,
        };
        Ok(Self {
            ip,
            prefix_len,
            nic: params.opt("nic").map(|nic| nic.trim().to_string()),
            arp_count: params.u32("arp_count")?.unwrap_or(5),
            arp_interval: params
                .millis("arp_interval")?
                .unwrap_or(Duration::from_millis(200)),
            arp_bg: params.bool("arp_bg")?,
            arp_count_refresh: params.u32("arp_count_refresh")?.unwrap_or(1),
            probe: params.bool("probe")?,
            probe_count: params.u32("probe_count")?.unwrap_or(3),
            probe_timeout: params
                .millis("probe_timeout")?
                .unwrap_or(Duration::from_millis(100)),
            monitor_probe: params.bool("monitor_probe")?,
            nodad: params.bool("nodad")?,
        })
    }
}

/// `24`, or for IPv4 also a dotted netmask such as `255.255.255.0` (contiguous ones only).
fn parse_prefix(text: &str, ipv4: bool) -> Option<u8> {
    let text = text.trim();
    let max = if ipv4 { 32 } else { 128 };
    if let Ok(n) = text.parse::<u8>() {
        return (n <= max).then_some(n);
    }
    let mask = u32::from(text.parse::<std::net::Ipv4Addr>().ok().filter(|_| ipv4)?);
    let ones = mask.leading_ones();
    (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_accepts_length_or_contiguous_ipv4_netmask() {
        assert_eq!(parse_prefix("24", true), Some(24));
        assert_eq!(parse_prefix("255.255.255.0", true), Some(24));
        assert_eq!(parse_prefix("255.255.255.255", true), Some(32));
        assert_eq!(parse_prefix("255.0.255.0", true), None);
        assert_eq!(parse_prefix("33", true), None);
        assert_eq!(parse_prefix("64", false), Some(64));
        assert_eq!(parse_prefix("255.255.0.0", false), None);
    }
}
