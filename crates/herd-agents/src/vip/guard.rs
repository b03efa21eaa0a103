//! The `vip` agent's safety checks and announcements: the link probe that refuses to steal
//! an address, duplicate-MAC detection (frames from our own MAC, a MAC on two bridge ports),
//! and gratuitous ARP / unsolicited neighbour advertisements.
//!
//! I/O: AF_PACKET sockets (`crate::net::packet`) and bridge FDB dumps over netlink.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::link_name;
use super::spec::Config;
use crate::net::frames::{Mac, mac_string};
use crate::net::netlink::{Link, Netlink};
use crate::net::packet::LinkSocket;
use crate::{AgentOutcome, ocf};

const FDB_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// Probes for another holder; Err is the refusal.
pub(super) async fn probe_link(
    config: &Config,
    link: &Link,
    mac: Mac,
    instance: &str,
) -> Result<String, AgentOutcome> {
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
            "warning: {ip} is answered on {} by several MAC addresses ({}): duplicate address \
                on the link",
            link.name,
            mac_list(&report.claimants)
        );
        warn_once(instance, &warning);
    }
    if !report.claimants.is_empty() {
        return Err(AgentOutcome::fail(
            ocf::ERR_GENERIC,
            format!(
                "vip: refusing to take {ip}: it is in use on {}, answered by MAC {} (another \
                    host holds it; herd never steals an address)",
                link.name,
                mac_list(&report.claimants)
            ),
        )
        .with_prefix(&warning));
    }
    if report.own_mac_from_elsewhere {
        let reason = format!(
            "vip: refusing to take {ip}: another host on {} sends frames with this host's own \
                MAC {} (duplicate MAC address on the link; fix it first)",
            link.name,
            mac_string(&mac)
        );
        warn_once(instance, &reason);
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
pub(super) async fn announce(config: &Config, link: &Link, count: u32) -> Vec<String> {
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
        let netlink = match Netlink::open() {
            Ok(netlink) => netlink,
            Err(error) => return vec![format!("warning: cannot announce {}: {error}", config.ip)],
        };
        let more = repeat_announcements(
            socket,
            netlink,
            link.index,
            config.ip,
            count - 1,
            config.arp_interval,
        );
        if config.arp_bg {
            let task = tokio::spawn(more);
            let previous = BACKGROUND
                .lock()
                .ok()
                .and_then(|mut tasks| tasks.insert(config.ip, task.abort_handle()));
            if let Some(previous) = previous {
                previous.abort();
            }
        } else {
            more.await;
        }
    }
    let rest = match (count, config.arp_bg) {
        (1, _) => String::new(),
        (_, true) => format!(
            ", {} more every {} ms in the background",
            count - 1,
            config.arp_interval.as_millis()
        ),
        (_, false) => format!(
            ", then {} more every {} ms",
            count - 1,
            config.arp_interval.as_millis()
        ),
    };
    vec![format!(
        "announced {} on {} ({what}: 1 now{rest})",
        config.ip, link.name
    )]
}

/// Announcements still to be sent in the background, per address; `stop` cancels them.
static BACKGROUND: Mutex<BTreeMap<IpAddr, AbortHandle>> = Mutex::new(BTreeMap::new());

/// Cancels background announcements of `ip` (the address is going away: announcing it
/// after a failover would point the neighbours back at this host).
pub(super) fn cancel_announcements(ip: IpAddr) {
    let task = BACKGROUND
        .lock()
        .ok()
        .and_then(|mut tasks| tasks.remove(&ip));
    if let Some(task) = task {
        task.abort();
    }
}

/// Sends `count` more announcements `interval` apart, each only while the address is still
/// on interface `index`.
async fn repeat_announcements(
    socket: LinkSocket,
    mut netlink: Netlink,
    index: u32,
    ip: IpAddr,
    count: u32,
    interval: Duration,
) {
    for _ in 0..count {
        tokio::time::sleep(interval).await;
        let present = netlink.addrs().map(|addrs| {
            addrs
                .iter()
                .any(|addr| addr.ip == ip && addr.index == index)
        });
        if !matches!(present, Ok(true)) {
            return;
        }
        if let Err(error) = socket.announce().await {
            tracing::warn!(%ip, "announcing the address failed: {error}");
            return;
        }
    }
}

/// Samples the bridge forwarding database for `window` (every 20 ms): MAC -> ports seen.
/// Empty at once when the interface is neither a bridge nor a bridge port.
pub(super) async fn watch_fdb(
    netlink: &mut Netlink,
    link: &Link,
    window: Duration,
) -> BTreeMap<Mac, BTreeSet<u32>> {
    let bridge = link.master.unwrap_or(link.index);
    let deadline = Instant::now() + window;
    let mut seen: BTreeMap<Mac, BTreeSet<u32>> = BTreeMap::new();
    while let Ok(entries) = netlink.fdb() {
        let learned: Vec<_> = entries
            .iter()
            .filter(|e| !e.permanent && e.master == Some(bridge))
            .collect();
        if learned.is_empty() && seen.is_empty() {
            break;
        }
        for entry in learned {
            seen.entry(entry.mac).or_default().insert(entry.port);
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(FDB_SAMPLE_INTERVAL).await;
    }
    seen
}

/// Warnings about a MAC that showed up on two bridge ports (or our MAC learned on a port).
pub(super) fn duplicate_mac_warnings(
    seen: &BTreeMap<Mac, BTreeSet<u32>>,
    links: &[Link],
    link: &Link,
    instance: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (mac, ports) in seen {
        if ports.len() > 1 || Some(*mac) == link.mac {
            let names: Vec<String> = ports.iter().map(|port| link_name(links, *port)).collect();
            let warning = format!(
                "warning: MAC {} shows up on bridge port(s) {}: two hosts use one MAC address \
                    (duplicate MAC on the link)",
                mac_string(mac),
                names.join(", ")
            );
            warn_once(instance, &warning);
            warnings.push(warning);
        }
    }
    warnings
}

pub(super) fn raw_socket_failure(error: &std::io::Error, link: &Link) -> AgentOutcome {
    if error.kind() == std::io::ErrorKind::PermissionDenied {
        let reason = format!(
            "vip: raw socket on {}: {error} (needs CAP_NET_RAW)",
            link.name
        );
        return AgentOutcome::fail(ocf::ERR_PERM, reason);
    }
    let reason = format!("vip: cannot probe on {} (is it up?): {error}", link.name);
    AgentOutcome::fail(ocf::ERR_GENERIC, reason)
}

pub(super) fn mac_list(macs: &[Mac]) -> String {
    macs.iter().map(mac_string).collect::<Vec<_>>().join(", ")
}

/// Logs `warning` once per instance and text for the life of the process.
pub(super) fn warn_once(instance: &str, warning: &str) {
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
