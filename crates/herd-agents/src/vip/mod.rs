//! `ocf:herd:vip`: a floating IPv4/IPv6 address (the IPaddr2 job), refusing to steal.
//!
//! start: find the interface (named, or the one whose subnet holds the address), probe the
//! link for another holder (ARP requests / neighbour solicitations within a short budget),
//! refuse when anyone answers, add the address over netlink, then announce it (gratuitous
//! ARP / unsolicited neighbour advertisements, a few times). stop: remove it. monitor: the
//! address is still on the interface (and optionally re-announce it).
//! I/O: netlink and AF_PACKET sockets through `crate::net`; checks in `guard`, the
//! meta-data table and parameters in `spec` (pure).

mod guard;
mod spec;

use std::net::IpAddr;
use std::time::Duration;

use crate::net::frames::mac_string;
use crate::net::netlink::{Addr, IFA_F_NODAD, Link, Netlink, NetlinkError};
use crate::net::packet::LinkSocket;
use crate::params::Params;
use crate::{AgentFuture, AgentOutcome, AgentRequest, NativeAgent, ocf};
use guard::{
    announce, cancel_announcements, duplicate_mac_warnings, mac_list, probe_link, warn_once,
    watch_fdb,
};
use spec::Config;
pub(crate) use spec::SPEC;

/// The agent (stateless: everything lives on the interface).
#[derive(Debug)]
pub(crate) struct Vip;

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
            params.warn_unknown(request.action, outcome)
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
    match check_link(config, &mut netlink, &target, instance).await {
        Ok(checked) => notes.extend(checked),
        Err(outcome) => return outcome,
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

/// Before adding the address: probe the link for another holder while watching the bridge
/// FDB for duplicate MACs. Ok carries notes and warnings; Err is the refusal.
async fn check_link(
    config: &Config,
    netlink: &mut Netlink,
    target: &Target,
    instance: &str,
) -> Result<Vec<String>, AgentOutcome> {
    let mut notes = Vec::new();
    if let Some(mac) = target.link.mac {
        let window = if config.probe {
            config.probe_timeout
        } else {
            Duration::ZERO
        };
        let probing = async {
            match config.probe {
                true => Some(probe_link(config, &target.link, mac, instance).await),
                false => None,
            }
        };
        let (probed, seen) = tokio::join!(probing, watch_fdb(netlink, &target.link, window));
        if !seen.is_empty() {
            let links = netlink.links().unwrap_or_default();
            notes.extend(duplicate_mac_warnings(
                &seen,
                &links,
                &target.link,
                instance,
            ));
        }
        match probed {
            Some(Ok(note)) => notes.push(note),
            Some(Err(outcome)) => return Err(outcome.with_prefix(&notes.join("\n"))),
            None => notes.push("probe: off".to_string()),
        }
    } else {
        notes.push(format!(
            "{} has no MAC address: no probe, no announcement",
            target.link.name
        ));
    }
    Ok(notes)
}

fn stop(config: &Config) -> AgentOutcome {
    cancel_announcements(config.ip);
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
                        "warning: {ip} is also answered on {} by {macs}: two hosts hold the \
                            address",
                        link.name
                    );
                    warn_once(instance, &warning);
                    notes.push(warning);
                }
                Ok(report) if report.own_mac_from_elsewhere => {
                    let warning = format!(
                        "warning: another host on {} sends frames with this host's own MAC {}: \
                            duplicate MAC address on the link",
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
