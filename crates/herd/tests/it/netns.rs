//! Partitions between network-namespace hosts: three agents, each in its own namespace, with
//! a point-to-point veth to every other node (a full mesh; each node's address sits on its
//! loopback with a /32 route per link). Cutting one link separates one pair while both still
//! reach the third node (the non-transitive, "asymmetric" partition); cutting all of a node's
//! links isolates it. The host's own interfaces are never touched. Root only; skipped with a
//! note otherwise. One-way drops (a blackhole route, `Net::set_one_way_drop`; `tc` netem is
//! not available on this kernel) are tested in `asymmetric`.

use std::time::{Duration, Instant};

use crate::agents::{Cluster, Namespaces, dc, formed, inner, ip, ip_quiet, is_root, node_state};

/// The namespaces of one test, node `i` at 10.200.0.(i+1)/32; deleted (with their veths) on
/// drop. Also used by `asymmetric` (one-way drops) and `pause`.
pub(crate) struct Net {
    nodes: Namespaces,
}

impl Net {
    pub(crate) fn new(n: usize) -> Net {
        let nodes = Namespaces::new("herd", n, |i| vec![format!("10.200.0.{i}/32")])
            .unwrap_or_else(|err| panic!("{err}"));
        let net = Net { nodes };
        for i in 1..=n {
            for j in (i + 1)..=n {
                let (a, b) = (&net.nodes.names[i - 1], &net.nodes.names[j - 1]);
                let (to_j, to_i) = (format!("to{j}"), format!("to{i}"));
                net.nodes
                    .add_veth(i - 1, &to_j, j - 1, &to_i)
                    .unwrap_or_else(|err| panic!("{err}"));
                ip(&["-n", a, "link", "set", &to_j, "up"]);
                ip(&["-n", b, "link", "set", &to_i, "up"]);
                ip(&[
                    "-n",
                    a,
                    "route",
                    "add",
                    &format!("10.200.0.{j}/32"),
                    "dev",
                    &to_j,
                ]);
                ip(&[
                    "-n",
                    b,
                    "route",
                    "add",
                    &format!("10.200.0.{i}/32"),
                    "dev",
                    &to_i,
                ]);
            }
        }
        net
    }

    fn addr(i: usize) -> String {
        format!("10.200.0.{}:7400", i + 1)
    }

    /// Cuts (or restores) the link between nodes `a` and `b` (0-based).
    fn set_link(&self, a: usize, b: usize, up: bool) {
        let ns = &self.nodes.names[a];
        let peer_ns = &self.nodes.names[b];
        let dev = format!("to{}", b + 1);
        let peer_dev = format!("to{}", a + 1);
        let state = if up { "up" } else { "down" };
        ip(&["-n", ns, "link", "set", &dev, state]);
        ip(&["-n", peer_ns, "link", "set", &peer_dev, state]);
        if up {
            // Routes over a link that went down are gone; put them back.
            let dest = format!("10.200.0.{}/32", b + 1);
            ip_quiet(&["-n", ns, "route", "replace", &dest, "dev", &dev]);
            let peer_dest = format!("10.200.0.{}/32", a + 1);
            ip_quiet(&[
                "-n", peer_ns, "route", "replace", &peer_dest, "dev", &peer_dev,
            ]);
        }
    }

    /// Drops every packet node `from` sends to node `to` (0-based), or stops dropping them:
    /// a blackhole route in `from`'s namespace, a genuine one-way loss (what `to` sends still
    /// arrives). For TCP it breaks the pair's connections both ways, but SYNs still arrive
    /// one way.
    pub(crate) fn set_one_way_drop(&self, from: usize, to: usize, dropped: bool) {
        let ns = &self.nodes.names[from];
        let dest = format!("10.200.0.{}/32", to + 1);
        if dropped {
            ip(&["-n", ns, "route", "replace", "blackhole", &dest]);
        } else {
            let dev = format!("to{}", to + 1);
            ip(&["-n", ns, "route", "replace", &dest, "dev", &dev]);
        }
    }

    /// Cuts node `i` off from every other node (or reconnects it).
    fn set_isolated(&self, i: usize, isolated: bool) {
        for j in (0..self.nodes.names.len()).filter(|j| *j != i) {
            self.set_link(i, j, !isolated);
        }
    }

    pub(crate) fn cluster(&self) -> Cluster {
        let addrs: Vec<String> = (0..self.nodes.names.len()).map(Net::addr).collect();
        self.nodes.cluster(&addrs)
    }
}

pub(crate) fn heavy() -> bool {
    std::env::var("HERD_HEAVY_TESTS").is_ok_and(|v| v == "1")
}

fn watch_period() -> Duration {
    Duration::from_secs(if heavy() { 60 } else { 15 })
}

pub(crate) fn skip() -> bool {
    if !is_root() {
        eprintln!("skipped: network-namespace tests need root");
        return true;
    }
    false
}

/// Watches the DC seen by `observer` for `period`; returns the distinct DCs in order.
fn dc_changes(cluster: &Cluster, observer: usize, period: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    while start.elapsed() < period {
        if let Some(d) = inner(cluster.fast_status(observer)).and_then(|s| dc(&s))
            && seen.last() != Some(&d)
        {
            seen.push(d);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    seen
}

#[test]
fn split_two_one_keeps_a_dc_on_the_majority_and_heals_without_a_dc_change() {
    if skip() {
        return;
    }
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    // Isolate a node that is not the DC.
    let lone = cluster
        .agents
        .iter()
        .position(|a| a.name != first_dc)
        .unwrap();
    let lone_name = cluster.agents[lone].name.clone();
    let others: Vec<usize> = (0..3).filter(|i| *i != lone).collect();
    // Read the term before the cut: a node that campaigns in the first moments of its
    // isolation would depose the DC with its higher term on heal.
    let term_before = inner(cluster.fast_status(lone)).unwrap()["term"].clone();
    net.set_isolated(lone, true);
    cluster.wait_for(
        Duration::from_secs(5),
        "the lone node without quorum, the majority with its DC",
        |c| {
            let lone_ok = inner(c.fast_status(lone))
                .is_some_and(|s| s["quorate"] == false && dc(&s).is_none());
            let majority_ok = others.iter().all(|i| {
                inner(c.fast_status(*i)).is_some_and(|s| {
                    dc(&s).as_deref() == Some(first_dc.as_str())
                        && node_state(&s, &lone_name).as_deref() == Some("lost")
                })
            });
            lone_ok && majority_ok
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let term_after = inner(cluster.fast_status(lone)).unwrap()["term"].clone();
    assert_eq!(
        term_before, term_after,
        "the isolated node must not inflate its term"
    );
    // Heal: the node rejoins, the DC stays.
    net.set_isolated(lone, false);
    cluster.wait_for(Duration::from_secs(10), "the node back online", |c| {
        (0..3).all(|i| {
            inner(c.fast_status(i)).is_some_and(|s| {
                node_state(&s, &lone_name).as_deref() == Some("online") && dc(&s).is_some()
            })
        })
    });
    for i in 0..3 {
        assert_eq!(
            dc(&inner(cluster.fast_status(i)).unwrap()).as_deref(),
            Some(first_dc.as_str()),
            "node {i}"
        );
    }
}

#[test]
fn split_with_the_dc_alone_elects_a_new_dc_on_the_majority() {
    if skip() {
        return;
    }
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let lone = cluster.index_of(&first_dc);
    let observer = (lone + 1) % 3;
    net.set_isolated(lone, true);
    let took = cluster.wait_for(Duration::from_secs(5), "a new DC on the majority", |c| {
        inner(c.fast_status(observer)).is_some_and(|s| dc(&s).is_some_and(|d| d != first_dc))
    });
    eprintln!("new DC after isolating the old one: {took:?}");
    cluster.wait_for(Duration::from_secs(5), "the old DC without quorum", |c| {
        inner(c.fast_status(lone)).is_some_and(|s| s["quorate"] == false && dc(&s).is_none())
    });
}

#[test]
fn cut_link_between_the_dc_and_a_node_causes_no_leader_ping_pong() {
    if skip() {
        return;
    }
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let dc_idx = cluster.index_of(&first_dc);
    let victim = (dc_idx + 1) % 3;
    let observer = (dc_idx + 2) % 3;
    let victim_name = cluster.agents[victim].name.clone();
    // The DC and the victim cannot talk; both still reach the observer.
    net.set_link(dc_idx, victim, false);
    // The bound is one DC change per minute; the default suite watches 15 s.
    let seen = dc_changes(&cluster, observer, watch_period());
    eprintln!("DCs seen during the cut: {seen:?}");
    assert!(seen.len() <= 2, "at most one DC change, saw {seen:?}");
    let status = inner(cluster.fast_status(observer)).unwrap();
    assert!(dc(&status).is_some(), "{status}");
    // The victim cannot renew with the DC: it is lost and holds no lease.
    assert_eq!(
        node_state(&status, &victim_name).as_deref(),
        Some("lost"),
        "{status}"
    );
    let victim_status = inner(cluster.fast_status(victim)).unwrap();
    assert_eq!(victim_status["lease"], false, "{victim_status}");
    // Healed: everyone online, still the same DC.
    net.set_link(dc_idx, victim, true);
    cluster.wait_for(Duration::from_secs(10), "the victim back online", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &victim_name).as_deref() == Some("online"))
    });
    let now_dc = dc(&inner(cluster.fast_status(observer)).unwrap());
    assert_eq!(now_dc.as_deref(), seen.last().map(String::as_str));
}

#[test]
fn flapping_link_keeps_dc_changes_and_terms_bounded() {
    if skip() {
        return;
    }
    if !heavy() {
        eprintln!("skipped: flapping-link soak runs with HERD_HEAVY_TESTS=1");
        return;
    }
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let dc_idx = cluster.index_of(&first_dc);
    let flappy = (dc_idx + 1) % 3;
    let observer = (dc_idx + 2) % 3;
    let term_before = inner(cluster.fast_status(observer)).unwrap()["term"]
        .as_u64()
        .unwrap();
    let start = Instant::now();
    let mut dcs: Vec<String> = Vec::new();
    // 300 ms down / 700 ms up, for 30 s (CLUSTER.md §6.12 scenario 8).
    while start.elapsed() < Duration::from_secs(30) {
        net.set_isolated(flappy, true);
        std::thread::sleep(Duration::from_millis(300));
        net.set_isolated(flappy, false);
        std::thread::sleep(Duration::from_millis(700));
        if let Some(d) = inner(cluster.fast_status(observer)).and_then(|s| dc(&s))
            && dcs.last() != Some(&d)
        {
            dcs.push(d);
        }
    }
    let term_after = inner(cluster.fast_status(observer)).unwrap()["term"]
        .as_u64()
        .unwrap();
    eprintln!("flapping: DCs {dcs:?}, term {term_before} -> {term_after}");
    assert!(
        dcs.len() <= 2,
        "DC changes under a flapping non-DC link: {dcs:?}"
    );
    assert!(
        term_after - term_before <= 2,
        "terms climbed: {term_before} -> {term_after}"
    );
}
