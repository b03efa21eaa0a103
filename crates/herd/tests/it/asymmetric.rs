//! Asymmetric (one-way) link loss between network-namespace hosts, CLUSTER.md §6.12 row 5:
//! three agents in the full mesh of `netns` (one veth per pair), and a blackhole route in one
//! namespace that drops what one node sends to another while the reverse direction still
//! works. Cases: the DC's packets to a node are dropped; a node's packets to the DC are
//! dropped (the DC can send but not receive); one follower's packets to the other are
//! dropped. For TCP a one-way drop breaks the pair's connections both ways, but SYNs and
//! data already in flight still arrive one way, so these check that such arrivals do not
//! depose the DC.
//!
//! Each case watches every node's `herd status` for the minute with
//! HERD_HEAVY_TESTS=1 and for 20 s by default (the three cases run as parallel tests), and
//! asserts at most one DC change seen from every node, terms that do not climb, a DC on the
//! majority all along, the node cut off from the DC lost and without a lease (leases need a
//! round trip), and after healing that node online again with no DC change. Root only;
//! skipped with a note otherwise. I/O: `ip`, processes, the agents' admin sockets.

use std::time::Duration;

use crate::agents::{Cluster, dc, formed, inner, node_state};
use crate::lease_loss::signal;
use crate::netns::{Net, heavy, skip};
use crate::watch::Watch;

/// The bound is one DC change per minute: a minute with HERD_HEAVY_TESTS=1, 20 s by
/// default to keep the suite short.
fn watch_period() -> Duration {
    Duration::from_secs(if heavy() { 60 } else { 20 })
}

/// Who drops whose packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneWay {
    /// The DC's packets to a node are lost; the node's reach the DC.
    DcToNode,
    /// A node's packets to the DC are lost; the DC's reach the node.
    NodeToDc,
    /// One follower's packets to the other are lost; both talk with the DC.
    BetweenFollowers,
}

/// Forms a cluster, drops one direction as `case` says, watches, checks, heals and checks
/// the rejoin.
fn one_way_loss(case: OneWay) {
    if skip() {
        return;
    }
    let name = format!("{case:?}");
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let d = cluster.index_of(&first_dc);
    let (n, o) = ((d + 1) % 3, (d + 2) % 3);
    let n_name = cluster.agents[n].name.clone();
    let (from, to) = match case {
        OneWay::DcToNode => (d, n),
        OneWay::NodeToDc => (n, d),
        OneWay::BetweenFollowers => (n, o),
    };
    // The node cut off from the DC (both directions break for TCP); none between followers.
    let cut_off = (case != OneWay::BetweenFollowers).then_some(n);
    let majority: Vec<usize> = (0..3).filter(|i| Some(*i) != cut_off).collect();
    let mut watch = Watch::new(&cluster);
    net.set_one_way_drop(from, to, true);
    watch.run(&cluster, watch_period());
    eprintln!(
        "{name}: DCs seen {:?}, terms {:?} -> {:?}",
        watch.dcs, watch.terms_before, watch.max_term
    );
    watch.assert_bounded(&name, &majority);
    let final_dc = dc(&inner(cluster.fast_status(majority[0])).unwrap()).unwrap();
    if cut_off.is_some() && final_dc == first_dc {
        // Leases need a round trip: the node cut off from the DC is lost and holds none.
        cluster.wait_for(Duration::from_secs(5), "the cut-off node lost", |c| {
            let lost = majority.iter().all(|i| {
                inner(c.fast_status(*i))
                    .is_some_and(|s| node_state(&s, &n_name).as_deref() == Some("lost"))
            });
            lost && inner(c.fast_status(n)).is_some_and(|s| s["lease"] == false)
        });
    } else {
        // A new DC that both reach, or nobody cut off from the DC: everyone online.
        assert_all_online(&cluster, &name);
    }
    // Heal: the node is online again on every node, with no DC change.
    let before_heal = watch.dcs.clone();
    net.set_one_way_drop(from, to, false);
    let took = cluster.wait_for(Duration::from_secs(15), "the node online again", |c| {
        watch.sample(c);
        all_online(c)
    });
    eprintln!("{name}: online again {took:?} after healing");
    watch.run(&cluster, Duration::from_secs(2));
    assert_eq!(
        watch.dcs, before_heal,
        "{name}: the DC changed on heal: {:?}",
        watch.dcs
    );
    watch.assert_bounded(&name, &majority);
    assert_all_online(&cluster, &name);
}

/// Every node sees every node online and one DC, and holds a lease.
fn all_online(cluster: &Cluster) -> bool {
    let statuses: Vec<_> = (0..3).map(|i| inner(cluster.fast_status(i))).collect();
    let first = statuses[0].as_ref().and_then(dc);
    first.is_some()
        && statuses.iter().all(|s| {
            s.as_ref().is_some_and(|s| {
                dc(s) == first
                    && s["lease"] == true
                    && ["n1", "n2", "n3"]
                        .iter()
                        .all(|n| node_state(s, n).as_deref() == Some("online"))
            })
        })
}

/// Waits briefly for [`all_online`] (a status read can catch a renewal round in flight).
fn assert_all_online(cluster: &Cluster, case: &str) {
    let what = format!("{case}: every node online with a lease and one DC");
    cluster.wait_for(Duration::from_secs(3), &what, all_online);
}

#[test]
fn one_way_loss_from_the_dc_to_a_node_loses_the_node_without_leader_ping_pong() {
    one_way_loss(OneWay::DcToNode);
}

#[test]
fn one_way_loss_from_a_node_to_the_dc_loses_the_node_without_leader_ping_pong() {
    one_way_loss(OneWay::NodeToDc);
}

#[test]
fn one_way_loss_between_two_followers_changes_nothing() {
    one_way_loss(OneWay::BetweenFollowers);
}

/// A node cut off from the DC (the DC's packets to it lost) whose process stalls again and
/// again (SIGSTOP for 200-300 ms, as on a loaded host) never campaigns: on waking its last
/// hello answers are old, but the peer it still reaches is served by the DC. A campaign
/// would raise its term, and on heal that term would depose the DC.
#[test]
fn node_cut_off_from_the_dc_does_not_campaign_after_stalls() {
    if skip() {
        return;
    }
    let net = Net::new(3);
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let d = cluster.index_of(&first_dc);
    let n = (d + 1) % 3;
    let mut watch = Watch::new(&cluster);
    net.set_one_way_drop(d, n, true);
    std::thread::sleep(Duration::from_secs(2));
    for k in 0..30u64 {
        signal(&cluster, n, "-STOP");
        std::thread::sleep(Duration::from_millis(200 + (k * 37) % 100));
        signal(&cluster, n, "-CONT");
        std::thread::sleep(Duration::from_millis(300));
        watch.sample(&cluster);
    }
    eprintln!(
        "stalls: DCs seen {:?}, terms {:?} -> {:?}",
        watch.dcs, watch.terms_before, watch.max_term
    );
    assert_eq!(
        watch.max_term[n], watch.terms_before[n],
        "the stalled node campaigned"
    );
    net.set_one_way_drop(d, n, false);
    cluster.wait_for(Duration::from_secs(15), "the node online again", |c| {
        watch.sample(c);
        all_online(c)
    });
    watch.assert_bounded("stalls", &[d, (d + 2) % 3]);
    for (i, dcs) in watch.dcs.iter().enumerate() {
        assert_eq!(dcs.len(), 1, "node {i} saw a DC change: {dcs:?}");
    }
}
