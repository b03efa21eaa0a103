//! `ocf:herd:vip`: a floating IPv4/IPv6 address (the IPaddr2 job), refusing to steal.
//!
//! start: find the interface (named, or the one whose subnet holds the address), probe the
//! link for another holder (ARP requests / neighbour solicitations within a short budget),
//! refuse when anyone answers, add the address over netlink, then announce it (gratuitous
//! ARP / unsolicited neighbour advertisements, a few times). stop: remove it. monitor: the
//! address is still on the interface (and optionally re-announce it).
//! I/O: netlink and AF_PACKET sockets through `crate::net`; the spec tables here are pure.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::meta::{ActionSpec, AgentSpec, ParamSpec};
use crate::net::frames::{Mac, mac_string};
use crate::net::netlink::{Addr, IFA_F_NODAD, Link, Netlink, NetlinkError};
use crate::net::packet::LinkSocket;
use crate::params::{ParamError, Params};
use crate::{AgentFuture, AgentOutcome, AgentRequest, NativeAgent, ocf};

/// The agent (stateless: everything lives on the interface).
#[derive(Debug)]
pub(crate) struct Vip;

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
            longdesc: "Prefix length of the address (e.g. 24). Default: the prefix of the \
                interface's subnet that contains the address, else 32 (IPv4) or 128 (IPv6).",
            kind: "integer",
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

impl NativeAgent for Vip {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn metadata(&self) -> String {
        SPEC.render_xml()
    }

    fn run<'a>(&'a self, request: AgentRequest<'a>) -> AgentFuture<'a> {
        Box::pin(async move {
            let params = Params::new(&SPEC, request.params);
            let config = match Config::read(&params) {
                Ok(config) => config,
                Err(_) if request.action == "meta-data" => {
                    return AgentOutcome::ok(SPEC.render_xml());
                }
                Err(error) => return error.outcome(),
            };
            let outcome = match request.action {
                "meta-data" => AgentOutcome::ok(SPEC.render_xml()),
                "start" => start(&config, request.instance).await,
                "stop" => stop(&config),
                "monitor" | "status" => monitor(&config, request.instance).await,
                "validate-all" => validate(&config),
                other => AgentOutcome::fail(
                    ocf::ERR_UNIMPLEMENTED,
                    format!("vip: action {other:?} is not supported"),
                ),
            };
            let unknown = params.unknown();
            if unknown.is_empty() {
                outcome
            } else {
                outcome.with_prefix(&format!("warning: unknown parameters ignored: {unknown:?}"))
            }
        })
    }
}

/// The parameters, parsed.
#[derive(Debug, Clone)]
struct Config {
    ip: IpAddr,
    prefix_len: Option<u8>,
    nic: Option<String>,
    arp_count: u32,
    arp_interval: Duration,
    arp_count_refresh: u32,
    probe: bool,
    probe_count: u32,
    probe_timeout: Duration,
    monitor_probe: bool,
    nodad: bool,
}

impl Config {
    fn read(params: &Params<'_>) -> Result<Self, ParamError> {
        let ip_text = params.req("ip")?;
        let ip: IpAddr = ip_text.trim().parse().map_err(|_| ParamError::Invalid {
            name: "ip",
            value: ip_text.to_string(),
            expected: "an IPv4 or IPv6 address",
        })?;
        let max_prefix = if ip.is_ipv4() { 32 } else { 128 };
        let prefix_len = match params.u32("cidr_netmask")? {
            Some(n) if n <= max_prefix => Some(n as u8),
            Some(n) => {
                return Err(ParamError::Invalid {
                    name: "cidr_netmask",
                    value: n.to_string(),
                    expected: "a prefix length (0-32 for IPv4, 0-128 for IPv6)",
                });
            }
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

/// Where the address goes.
#[derive(Debug, Clone)]
struct Target {
    link: Link,
    prefix_len: u8,
}

async fn start(config: &Config, instance: &str) -> AgentOutcome {
    let mut netlink = match Netlink::open() {
        Ok(netlink) => netlink,
        Err(error) => return AgentOutcome::fail(ocf::ERR_GENERIC, format!("vip: {error}")),
    };
    let target = match resolve(&mut netlink, config) {
        Ok(target) => target,
        Err(outcome) => return outcome,
    };
    let mut notes = Vec::new();
    let present = match find_address(&mut netlink, config.ip) {
        Ok(present) => present,
        Err(error) => return AgentOutcome::fail(ocf::ERR_GENERIC, format!("vip: {error}")),
    };
    if present.iter().any(|addr| addr.index == target.link.index) {
        notes.push(format!("{} is already on {}", config.ip, target.link.name));
        let announced = announce(config, &target.link, config.arp_count).await;
        notes.extend(announced);
        return AgentOutcome::ok(notes.join("\n"));
    }
    if let Some(mac) = target.link.mac {
        notes.extend(fdb_warnings(&mut netlink, &target.link, instance));
        if config.probe {
            match probe_link(config, &target.link, mac).await {
                Ok(note) => notes.push(note),
                Err(outcome) => return outcome.with_prefix(&notes.join("\n")),
            }
        }
    } else {
        notes.push(format!(
            "{} has no MAC address: no probe, no announcement",
            target.link.name
        ));
    }
    let flags = if config.ip.is_ipv6() && config.nodad {
        IFA_F_NODAD
    } else {
        0
    };
    match netlink.add_addr(target.link.index, config.ip, target.prefix_len, flags) {
        Ok(()) => {}
        Err(error) if error.errno() == Some(libc::EEXIST) => {}
        Err(error) => {
            let rc = if error.errno() == Some(libc::EPERM) {
                ocf::ERR_PERM
            } else {
                ocf::ERR_GENERIC
            };
            return AgentOutcome::fail(rc, format!("vip: cannot add {}: {error}", config.ip))
                .with_prefix(&notes.join("\n"));
        }
    }
    notes.push(format!(
        "added {}/{} to {}",
        config.ip, target.prefix_len, target.link.name
    ));
    notes.extend(announce(config, &target.link, config.arp_count).await);
    AgentOutcome::ok(notes.join("\n"))
}

fn stop(config: &Config) -> AgentOutcome {
    let result = (|| {
        let mut netlink = Netlink::open()?;
        let links = netlink.links()?;
        let mut removed = Vec::new();
        for addr in find_address(&mut netlink, config.ip)? {
            let name = link_name(&links, addr.index);
            if config.nic.as_deref().is_some_and(|nic| nic != name) {
                continue;
            }
            match netlink.del_addr(addr.index, addr.ip, addr.prefix_len) {
                Err(error) if error.errno() != Some(libc::EADDRNOTAVAIL) => return Err(error),
                _ => removed.push(format!(
                    "removed {}/{} from {name}",
                    addr.ip, addr.prefix_len
                )),
            }
        }
        Ok::<_, NetlinkError>(removed)
    })();
    match result {
        Ok(removed) if removed.is_empty() => AgentOutcome::ok(format!("{} is not here", config.ip)),
        Ok(removed) => AgentOutcome::ok(removed.join("\n")),
        Err(error) => {
            let rc = if error.errno() == Some(libc::EPERM) {
                ocf::ERR_PERM
            } else {
                ocf::ERR_GENERIC
            };
            AgentOutcome::fail(rc, format!("vip: cannot remove {}: {error}", config.ip))
        }
    }
}

async fn monitor(config: &Config, instance: &str) -> AgentOutcome {
    let found = Netlink::open().and_then(|mut netlink| {
        let links = netlink.links()?;
        let present = find_address(&mut netlink, config.ip)?;
        Ok(present.into_iter().find_map(|addr| {
            let link = links.iter().find(|link| link.index == addr.index)?;
            let wanted = config.nic.as_deref().is_none_or(|nic| nic == link.name);
            wanted.then(|| link.clone())
        }))
    });
    let link = match found {
        Ok(Some(link)) => link,
        Ok(None) => {
            return AgentOutcome {
                rc: ocf::NOT_RUNNING,
                exit_reason: None,
                output: format!("{} is not here", config.ip),
            };
        }
        Err(error) => return AgentOutcome::fail(ocf::ERR_GENERIC, format!("vip: {error}")),
    };
    let mut notes = vec![format!("{} is on {}", config.ip, link.name)];
    if config.monitor_probe
        && let Some(mac) = link.mac
    {
        let ip = config.ip;
        let report = LinkSocket::open(link.index, mac, ip).map(|socket| async move {
            socket.probe(config.probe_count, config.probe_timeout).await
        });
        match report {
            Ok(probe) => match probe.await {
                Ok(report) if !report.claimants.is_empty() => {
                    let macs = mac_list(&report.claimants);
                    let warning = format!(
                        "warning: {ip} is also answered on {} by {macs}: two hosts hold the address",
                        link.name
                    );
                    warn_once(instance, &warning);
                    notes.push(warning);
                }
                Ok(report) if report.own_mac_from_elsewhere => {
                    let warning = format!(
                        "warning: another host on {} sends frames with this host's own MAC {}: duplicate MAC address on the link",
                        link.name,
                        mac_string(&mac)
                    );
                    warn_once(instance, &warning);
                    notes.push(warning);
                }
                Ok(_) => {}
                Err(error) => notes.push(format!("warning: monitor probe failed: {error}")),
            },
            Err(error) => notes.push(format!("warning: monitor probe failed: {error}")),
        }
    }
    if config.arp_count_refresh > 0 {
        notes.extend(announce(config, &link, config.arp_count_refresh).await);
    }
    AgentOutcome::ok(notes.join("\n"))
}

fn validate(config: &Config) -> AgentOutcome {
    match Netlink::open()
        .map_err(|error| AgentOutcome::fail(ocf::ERR_GENERIC, format!("vip: {error}")))
    {
        Ok(mut netlink) => match resolve(&mut netlink, config) {
            Ok(target) => AgentOutcome::ok(format!(
                "{}/{} would go on {}",
                config.ip, target.prefix_len, target.link.name
            )),
            Err(outcome) => outcome,
        },
        Err(outcome) => outcome,
    }
}

/// The interface and prefix length for the address: the named interface, else the one with
/// the longest subnet containing the address.
fn resolve(netlink: &mut Netlink, config: &Config) -> Result<Target, AgentOutcome> {
    let kernel =
        |error: NetlinkError| AgentOutcome::fail(ocf::ERR_GENERIC, format!("vip: {error}"));
    let links = netlink.links().map_err(kernel)?;
    let addrs = netlink.addrs().map_err(kernel)?;
    let named = match &config.nic {
        Some(nic) => Some(links.iter().find(|link| &link.name == nic).ok_or_else(|| {
            AgentOutcome::fail(
                ocf::ERR_ARGS,
                format!("vip: parameter \"nic\": interface {nic:?} does not exist on this host"),
            )
        })?),
        None => None,
    };
    let subnet = addrs
        .iter()
        .filter(|addr| addr.ip != config.ip && same_subnet(addr.ip, config.ip, addr.prefix_len))
        .filter(|addr| named.is_none_or(|link| link.index == addr.index))
        .filter(|addr| !addr.ip.is_loopback())
        .max_by_key(|addr| addr.prefix_len);
    let link = match (named, subnet) {
        (Some(link), _) => link.clone(),
        (None, Some(addr)) => links
            .iter()
            .find(|link| link.index == addr.index)
            .cloned()
            .ok_or_else(|| {
                AgentOutcome::fail(ocf::ERR_GENERIC, "vip: interface vanished while looking")
            })?,
        (None, None) => {
            return Err(AgentOutcome::fail(
                ocf::ERR_ARGS,
                format!(
                    "vip: no interface has a subnet containing {}; set nic= (and cidr_netmask=)",
                    config.ip
                ),
            ));
        }
    };
    let default_prefix = if config.ip.is_ipv4() { 32 } else { 128 };
    let prefix_len = config
        .prefix_len
        .or(subnet.map(|addr| addr.prefix_len))
        .unwrap_or(default_prefix);
    Ok(Target { link, prefix_len })
}

/// Probes for another holder; Err is the refusal.
async fn probe_link(config: &Config, link: &Link, mac: Mac) -> Result<String, AgentOutcome> {
    let ip = config.ip;
    let socket =
        LinkSocket::open(link.index, mac, ip).map_err(|error| raw_socket_failure(&error, link))?;
    let report = socket
        .probe(config.probe_count, config.probe_timeout)
        .await
        .map_err(|error| raw_socket_failure(&error, link))?;
    let mut warning = String::new();
    if report.claimants.len() > 1 {
        warning = format!(
            "warning: {ip} is answered on {} by several MAC addresses ({}): duplicate address on the link",
            link.name,
            mac_list(&report.claimants)
        );
        tracing::warn!(%ip, nic = %link.name, "{warning}");
    }
    if !report.claimants.is_empty() {
        return Err(AgentOutcome::fail(
            ocf::ERR_GENERIC,
            format!(
                "vip: refusing to take {ip}: it is in use on {}, answered by MAC {} (another host holds it; herd never steals an address)",
                link.name,
                mac_list(&report.claimants)
            ),
        )
        .with_prefix(&warning));
    }
    if report.own_mac_from_elsewhere {
        let reason = format!(
            "vip: refusing to take {ip}: another host on {} sends frames with this host's own MAC {} (duplicate MAC address on the link; fix it first)",
            link.name,
            mac_string(&mac)
        );
        tracing::warn!(%ip, nic = %link.name, "{reason}");
        return Err(AgentOutcome::fail(ocf::ERR_GENERIC, reason));
    }
    Ok(format!(
        "probe: no other holder of {ip} on {} ({} probes in {} ms)",
        link.name,
        config.probe_count.max(1),
        config.probe_timeout.as_millis()
    ))
}

/// Sends `count` announcements: the first now, the rest in the background.
async fn announce(config: &Config, link: &Link, count: u32) -> Vec<String> {
    let Some(mac) = link.mac else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let socket = match LinkSocket::open(link.index, mac, config.ip) {
        Ok(socket) => socket,
        Err(error) => {
            return vec![format!(
                "warning: cannot announce {} on {}: {error}",
                config.ip, link.name
            )];
        }
    };
    if let Err(error) = socket.announce().await {
        return vec![format!(
            "warning: cannot announce {} on {}: {error}",
            config.ip, link.name
        )];
    }
    let what = if config.ip.is_ipv4() {
        "gratuitous ARP"
    } else {
        "unsolicited neighbour advertisement"
    };
    if count > 1 {
        let interval = config.arp_interval;
        let ip = config.ip;
        tokio::spawn(async move {
            tokio::time::sleep(interval).await;
            if let Err(error) = socket.announce_times(count - 1, interval).await {
                tracing::warn!(%ip, "announcing the address failed: {error}");
            }
        });
    }
    vec![format!(
        "announced {} on {} ({what}, {count}x every {} ms)",
        config.ip,
        link.name,
        config.arp_interval.as_millis()
    )]
}

/// Warnings about MAC addresses seen on two bridge ports (or ours learned on a port).
fn fdb_warnings(netlink: &mut Netlink, link: &Link, instance: &str) -> Vec<String> {
    let bridge = link.master.unwrap_or(link.index);
    let Ok(entries) = netlink.fdb() else {
        return Vec::new();
    };
    let mut ports_by_mac: BTreeMap<Mac, BTreeSet<u32>> = BTreeMap::new();
    for entry in entries
        .iter()
        .filter(|e| !e.permanent && e.master == Some(bridge))
    {
        ports_by_mac
            .entry(entry.mac)
            .or_default()
            .insert(entry.port);
    }
    let mut warnings = Vec::new();
    for (mac, ports) in ports_by_mac {
        if ports.len() > 1 || Some(mac) == link.mac {
            let warning = format!(
                "warning: MAC {} is seen on {} port(s) of the bridge ({ports:?}): duplicate MAC address on the link",
                mac_string(&mac),
                ports.len()
            );
            warn_once(instance, &warning);
            warnings.push(warning);
        }
    }
    warnings
}

fn find_address(netlink: &mut Netlink, ip: IpAddr) -> Result<Vec<Addr>, NetlinkError> {
    Ok(netlink
        .addrs()?
        .into_iter()
        .filter(|addr| addr.ip == ip)
        .collect())
}

fn link_name(links: &[Link], index: u32) -> String {
    links
        .iter()
        .find(|link| link.index == index)
        .map_or_else(|| format!("#{index}"), |link| link.name.clone())
}

fn raw_socket_failure(error: &std::io::Error, link: &Link) -> AgentOutcome {
    let rc = if error.kind() == std::io::ErrorKind::PermissionDenied {
        ocf::ERR_PERM
    } else {
        ocf::ERR_GENERIC
    };
    AgentOutcome::fail(
        rc,
        format!(
            "vip: raw socket on {}: {error} (needs CAP_NET_RAW)",
            link.name
        ),
    )
}

fn mac_list(macs: &[Mac]) -> String {
    macs.iter().map(mac_string).collect::<Vec<_>>().join(", ")
}

/// Whether `a` and `b` share the first `prefix_len` bits (and the family).
fn same_subnet(a: IpAddr, b: IpAddr, prefix_len: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Logs `warning` once per instance and text for the life of the process.
fn warn_once(instance: &str, warning: &str) {
    static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let key = format!("{instance}\0{warning}");
    let first = WARNED
        .lock()
        .map(|mut warned| warned.insert(key))
        .unwrap_or(true);
    if first {
        tracing::warn!(instance, "{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_match_respects_prefix_and_family() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(same_subnet(a, "10.0.0.200".parse().unwrap(), 24));
        assert!(!same_subnet(a, "10.0.1.1".parse().unwrap(), 24));
        assert!(same_subnet(a, "192.168.0.1".parse().unwrap(), 0));
        assert!(!same_subnet(a, "::1".parse().unwrap(), 0));
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(same_subnet(b, "2001:db8::ffff".parse().unwrap(), 64));
    }
}
