//! Process pause (CLUSTER.md §6.12 row 13, a VM pause): three `herd agent` processes on
//! loopback, one frozen with SIGSTOP for 5 s and thawed with SIGCONT.
//!
//! A paused follower (running an ocf:heartbeat:Dummy resource) is lost on the others; on
//! resume it finds its lease expired, reports that once, its lease-loss hook stops the
//! resource, and it rejoins online; the DC never changes. A paused DC is replaced within
//! about a second; on resume it does not act with its stale epoch (it never reports itself as
//! DC, grants itself no lease and commits nothing), every node shows the one new DC, and it
//! rejoins as a follower. I/O: processes, signals, the agents' logs and admin sockets.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::agents::{Cluster, dc, formed, inner, node_state};
use crate::lease_loss::{seed_running_dummies, signal};
use crate::watch::{Watch, tenure_dc};

/// How long the agent stays frozen.
const PAUSE: Duration = Duration::from_secs(5);

/// Whether node `node` is online on every node and holds a lease.
fn online_everywhere(cluster: &Cluster, node: usize) -> bool {
    let name = &cluster.agents[node].name;
    let online = (0..3).all(|i| {
        inner(cluster.fast_status(i))
            .is_some_and(|s| node_state(&s, name).as_deref() == Some("online"))
    });
    online && inner(cluster.fast_status(node)).is_some_and(|s| s["lease"] == true)
}

/// Waits for [`online_everywhere`], sampling `watch`.
fn wait_online(cluster: &Cluster, watch: &mut Watch, node: usize, limit: Duration) -> Duration {
    let what = format!("{} online again everywhere", cluster.agents[node].name);
    cluster.wait_for(limit, &what, |c| {
        watch.sample(c);
        online_everywhere(c, node)
    })
}

/// Samples `watch` until `since + PAUSE`.
fn watch_until_thaw(cluster: &Cluster, watch: &mut Watch, since: Instant) {
    while since.elapsed() < PAUSE {
        watch.sample(cluster);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn paused_follower_is_lost_reports_its_expired_lease_once_and_rejoins_without_a_dc_change() {
    let mut cluster = Cluster::loopback(3);
    let first_dc = formed(&mut cluster, Duration::from_secs(15));
    let d = cluster.index_of(&first_dc);
    let (p, o) = ((d + 1) % 3, (d + 2) % 3);
    let p_name = cluster.agents[p].name.clone();
    // Give the follower a running resource: seed its executor history, then restart it at
    // once (before the DC would mark it lost), so its agent probes the resource as active.
    let state = cluster.dir.path().join("d1.state").display().to_string();
    let data_dir = cluster.agents[p].data_dir.clone();
    seed_running_dummies(&data_dir, &p_name, &[("d1", state.clone())]);
    cluster.kill(p);
    cluster.start(p);
    cluster.wait_for(Duration::from_secs(15), "the restarted node online", |c| {
        online_everywhere(c, p)
    });
    let mut watch = Watch::new(&cluster);
    cluster.wait_for(Duration::from_secs(5), "the probe", |c| {
        c.log(p).contains("executor ready")
    });
    assert!(cluster.log(p).contains("active=1"), "{}", cluster.log(p));

    watch.asked = vec![d, o];
    signal(&cluster, p, "-STOP");
    let frozen = Instant::now();
    let took = cluster.wait_for(Duration::from_secs(4), "the paused node lost", |c| {
        watch.sample(c);
        [d, o].iter().all(|i| {
            inner(c.fast_status(*i))
                .is_some_and(|s| node_state(&s, &p_name).as_deref() == Some("lost"))
        })
    });
    eprintln!("paused follower lost after {took:?}");
    watch_until_thaw(&cluster, &mut watch, frozen);
    let log_before = cluster.log(p).len();
    signal(&cluster, p, "-CONT");
    watch.asked = vec![0, 1, 2];
    cluster.wait_for(Duration::from_secs(5), "the lease-loss report", |c| {
        c.log(p)[log_before..].contains("lease loss: stop-all done")
    });
    assert!(!Path::new(&state).exists(), "d1 still runs");
    let took = wait_online(&cluster, &mut watch, p, Duration::from_secs(15));
    eprintln!("paused follower online again {took:?} after the resume");
    watch.run(&cluster, Duration::from_secs(1));

    let log = cluster.log(p);
    assert_eq!(log.matches("node lease lost").count(), 1, "{log}");
    assert_eq!(log.matches("lease loss: stop-all done").count(), 1, "{log}");
    assert!(
        log.contains("every resource stopped within the bound") && log.contains("stopped=1"),
        "{log}"
    );
    for (i, dcs) in watch.dcs.iter().enumerate() {
        assert_eq!(dcs.len(), 1, "node {i} saw a DC change: {dcs:?}");
    }
    watch.assert_bounded("paused follower", &[d, o]);
}

#[test]
fn paused_dc_is_replaced_within_about_a_second_and_does_not_act_on_resume() {
    let mut cluster = Cluster::loopback(3);
    let first_dc = formed(&mut cluster, Duration::from_secs(15));
    let d = cluster.index_of(&first_dc);
    let others = [(d + 1) % 3, (d + 2) % 3];
    // Every node (the DC too) holds a lease before the pause, so the DC has one to lose.
    cluster.wait_for(Duration::from_secs(5), "a lease on every node", |c| {
        (0..3).all(|i| inner(c.fast_status(i)).is_some_and(|s| s["lease"] == true))
    });
    let mut watch = Watch::new(&cluster);
    watch.asked = others.to_vec();
    signal(&cluster, d, "-STOP");
    let frozen = Instant::now();
    let took = cluster.wait_for(Duration::from_secs(5), "a new DC on both others", |c| {
        watch.sample(c);
        let dcs: Vec<_> = others
            .iter()
            .map(|i| inner(c.fast_status(*i)).and_then(|s| dc(&s)))
            .collect();
        dcs[0].as_ref().is_some_and(|n| *n != first_dc) && dcs[0] == dcs[1]
    });
    eprintln!("new DC {took:?} after pausing the DC");
    assert!(took < Duration::from_millis(1500), "failover took {took:?}");
    let new_dc = dc(&inner(cluster.fast_status(others[0])).unwrap()).unwrap();
    watch_until_thaw(&cluster, &mut watch, frozen);

    let log_before = cluster.log(d).len();
    signal(&cluster, d, "-CONT");
    watch.asked = vec![0, 1, 2];
    // Right after the resume: one DC everywhere, and the old one never claims to be it nor
    // holds a lease from its stale tenure.
    let thawed = Instant::now();
    while thawed.elapsed() < Duration::from_secs(3) {
        for i in 0..3 {
            let Some(s) = inner(cluster.fast_status(i)) else {
                continue;
            };
            if let Some(seen) = dc(&s) {
                assert_eq!(seen, new_dc, "node {i} after the old DC resumed: {s}");
            }
            if i == d && s["lease"] == true {
                assert_eq!(dc(&s).as_deref(), Some(new_dc.as_str()), "{s}");
            }
        }
        watch.sample(&cluster);
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = wait_online(&cluster, &mut watch, d, Duration::from_secs(15));
    eprintln!("old DC online again {took:?} after its resume");

    let resumed_log = cluster.log(d)[log_before..].to_string();
    for line in ["node state change", "this node is now the DC"] {
        assert!(
            !resumed_log.contains(line),
            "the old DC acted on resume ({line}):\n{resumed_log}"
        );
    }
    assert_eq!(
        resumed_log.matches("node lease lost").count(),
        1,
        "{}",
        cluster.log(d)
    );
    for i in 0..3 {
        let status = cluster.status(i).expect("herd status --json");
        assert_eq!(dc(&status).as_deref(), Some(new_dc.as_str()), "{status}");
    }
    for (i, dcs) in watch.dcs.iter().enumerate() {
        assert!(
            dcs.len() <= 2 && dcs.last().map(|t| tenure_dc(t)) == Some(new_dc.as_str()),
            "node {i}: {dcs:?}"
        );
    }
}
