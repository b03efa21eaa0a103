//! Membership changes under failure with real agents (CLUSTER.md §6.12 rows 21 and 23):
//! `herd node add` while a voter is down, the DC killed right after `herd node add` or
//! `herd node remove` (one DC at a time, the change rolled forward or not at all, every
//! survivor agreeing), and a full-cluster cold start where no node holds a lease before
//! there is a DC again.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agents::{Cluster, dc, inner, node_state};

fn voters(status: &Value) -> Vec<String> {
    let mut names: Vec<String> = status["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter(|n| n["role"] == "voter")
                .filter_map(|n| n["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn addr_of(cluster: &Cluster, i: usize) -> String {
    let config = std::fs::read_to_string(&cluster.agents[i].config).unwrap();
    let line = config
        .lines()
        .rev()
        .find(|l| l.starts_with("addrs"))
        .unwrap();
    line.split('"').nth(1).unwrap().to_string()
}

/// Starts `herd ARGS --config` of node `i` in the background.
fn spawn_cli(cluster: &Cluster, i: usize, args: &[&str]) -> Child {
    let agent = &cluster.agents[i];
    agent
        .command(args)
        .arg("--config")
        .arg(&agent.config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// SIGKILLs node `i` as soon as its status shows `seen` (the change under way), polling its
/// socket without pause for up to 5 s; kills it then anyway.
fn kill_when(cluster: &mut Cluster, i: usize, seen: impl Fn(&Value) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if inner(cluster.fast_status(i)).is_some_and(|s| seen(&s)) {
            break;
        }
    }
    cluster.kill(i);
}

fn role_of(status: &Value, node: &str) -> Option<String> {
    let nodes = status["nodes"].as_array()?;
    let found = nodes.iter().find(|n| n["name"] == node)?;
    found["role"].as_str().map(String::from)
}

fn dc_index(cluster: &Cluster, name: &str) -> usize {
    cluster.agents.iter().position(|a| a.name == name).unwrap()
}

/// Polls every node in `nodes` for `limit`, checking that there is never more than one
/// acting DC: no two nodes claim to be the DC in one poll, and one DC epoch always belongs to
/// one node. Returns the last statuses.
fn watch_single_dc(cluster: &Cluster, nodes: &[usize], limit: Duration) -> Vec<Value> {
    let mut epochs: BTreeMap<String, String> = BTreeMap::new();
    let start = Instant::now();
    let mut last = Vec::new();
    while start.elapsed() < limit {
        let statuses: Vec<Value> = nodes
            .iter()
            .filter_map(|&i| inner(cluster.fast_status(i)))
            .collect();
        let claims: Vec<&Value> = statuses
            .iter()
            .filter(|s| s["quorate"] == true && s["dc"] == s["local"])
            .collect();
        assert!(claims.len() <= 1, "two acting DCs at once: {claims:?}");
        for claim in claims {
            let (Some(epoch), Some(node)) = (claim["dc_epoch"].as_str(), claim["local"].as_str())
            else {
                continue;
            };
            let owner = epochs.entry(epoch.to_string()).or_insert(node.to_string());
            assert_eq!(owner, node, "DC epoch {epoch} claimed by two nodes");
        }
        last = statuses;
        std::thread::sleep(Duration::from_millis(20));
    }
    last
}

/// Waits until every node in `nodes` names the same DC and the same voters, then checks
/// `herd status --json` says the same on each; returns them.
fn settled(cluster: &Cluster, nodes: &[usize], limit: Duration) -> (String, Vec<String>) {
    let mut agreed = None;
    cluster.wait_for(limit, "survivors agreeing on one DC and the voters", |c| {
        let statuses: Vec<Value> = nodes
            .iter()
            .filter_map(|&i| inner(c.fast_status(i)))
            .collect();
        if statuses.len() != nodes.len() {
            return false;
        }
        let first = (dc(&statuses[0]), voters(&statuses[0]));
        let same = statuses.iter().all(|s| (dc(s), voters(s)) == first);
        if let (true, (Some(d), v)) = (same, first) {
            agreed = Some((d, v));
            return true;
        }
        false
    });
    let agreed = agreed.unwrap();
    // The same through `herd status --json` (the CLI) on every node.
    for &i in nodes {
        let status = cluster.status(i).expect("herd status --json");
        assert_eq!(
            (dc(&status), voters(&status)),
            (Some(agreed.0.clone()), agreed.1.clone())
        );
    }
    agreed
}

/// Starts n1..n3 and waits until each sees one DC and three online nodes; returns the DC.
fn formed_three(cluster: &mut Cluster) -> String {
    for i in 0..3 {
        cluster.start(i);
    }
    cluster.wait_for(
        Duration::from_secs(15),
        "three online nodes and one DC",
        |c| {
            (0..3).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    dc(&s).is_some()
                        && ["n1", "n2", "n3"]
                            .iter()
                            .all(|n| node_state(&s, n).as_deref() == Some("online"))
                })
            })
        },
    );
    dc(&inner(cluster.fast_status(0)).unwrap()).unwrap()
}

#[test]
fn node_add_completes_while_one_voter_is_down() {
    let mut cluster = Cluster::loopback_layout(&[false; 4], Some(3));
    formed_three(&mut cluster);
    cluster.kill(2);
    cluster.start(3);
    let addr = addr_of(&cluster, 3);
    let mut cli = spawn_cli(&cluster, 0, &["node", "add", "n4", &addr]);
    let out = cli.wait().unwrap();
    assert!(out.success(), "node add with n3 down failed");
    let (_, voters) = settled(&cluster, &[0, 1, 3], Duration::from_secs(10));
    assert_eq!(voters, ["n1", "n2", "n3", "n4"]);
    cluster.wait_for(Duration::from_secs(10), "n4 online", |c| {
        inner(c.fast_status(0)).is_some_and(|s| node_state(&s, "n4").as_deref() == Some("online"))
    });
}

#[test]
fn dc_killed_right_after_a_membership_change_leaves_one_dc_and_one_membership() {
    let mut cluster = Cluster::loopback_layout(&[false; 4], Some(3));
    let first = formed_three(&mut cluster);
    cluster.start(3);
    let old = ["n1", "n2", "n3"].map(String::from).to_vec();
    let new = ["n1", "n2", "n3", "n4"].map(String::from).to_vec();
    // Add n4 through a follower, and kill the DC while the change runs.
    let dc_idx = dc_index(&cluster, &first);
    let via = (dc_idx + 1) % 3;
    let addr = addr_of(&cluster, 3);
    let mut cli = spawn_cli(&cluster, via, &["node", "add", "n4", &addr]);
    kill_when(&mut cluster, dc_idx, |s| {
        role_of(s, "n4").is_some_and(|r| r == "voter")
    });
    let survivors: Vec<usize> = (0..4).filter(|&i| i != dc_idx).collect();
    let _ = cli.wait();
    watch_single_dc(&cluster, &survivors, Duration::from_secs(4));
    let (second, voters) = settled(&cluster, &survivors, Duration::from_secs(10));
    assert!(voters == old || voters == new, "{voters:?}");
    let finished = survivors.iter().any(|&i| {
        cluster
            .log(i)
            .contains("finishing an interrupted membership change")
    });
    eprintln!(
        "add: DC {first} killed; new DC {second}, voters {voters:?}; joint finished: {finished}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let unfinished = survivors
        .iter()
        .any(|&i| cluster.log(i).contains("not finished yet"));
    assert!(!unfinished, "the roll-forward failed");
    // Bring the old DC back and finish the add if it was lost with the DC.
    cluster.start(dc_idx);
    if voters == old {
        let mut cli = spawn_cli(&cluster, via, &["node", "add", "n4", &addr]);
        assert!(cli.wait().unwrap().success());
    }
    let (dc_name, voters) = settled(&cluster, &[0, 1, 2, 3], Duration::from_secs(10));
    assert_eq!(voters, new);
    // Remove a follower through another node, and kill the DC while that runs.
    let dc_idx = dc_index(&cluster, &dc_name);
    let victim = (0..4).find(|&i| i != dc_idx).unwrap();
    let via = (0..4).find(|&i| i != dc_idx && i != victim).unwrap();
    let victim_name = cluster.agents[victim].name.clone();
    let mut cli = spawn_cli(&cluster, via, &["node", "remove", "--force", &victim_name]);
    kill_when(&mut cluster, dc_idx, |s| {
        role_of(s, &victim_name).is_none_or(|r| r != "voter")
            || node_state(s, &victim_name).as_deref() == Some("left")
    });
    let survivors: Vec<usize> = (0..4).filter(|&i| i != dc_idx && i != victim).collect();
    let _ = cli.wait();
    watch_single_dc(&cluster, &survivors, Duration::from_secs(4));
    let (third, voters) = settled(&cluster, &survivors, Duration::from_secs(10));
    let without: Vec<String> = new.iter().filter(|n| **n != victim_name).cloned().collect();
    assert!(voters == new || voters == without, "{voters:?}");
    let completed = survivors
        .iter()
        .any(|&i| cluster.log(i).contains("completing the removal"));
    eprintln!(
        "remove: DC {dc_name} killed; new DC {third}, voters {voters:?}; \
         RemoveNode committed by the new DC: {completed}"
    );
    if voters == without {
        // Rolled forward: the removed node learns it and exits 78.
        let exit = cluster.wait_exit(victim, Duration::from_secs(5));
        assert_eq!(
            exit.and_then(|e| e.code()),
            Some(78),
            "{}",
            cluster.log(victim)
        );
        let s = inner(cluster.fast_status(survivors[0])).unwrap();
        assert_eq!(node_state(&s, &victim_name).as_deref(), Some("left"), "{s}");
    }
}

/// Polls every node while a stopped cluster starts again: a node that reports a lease names
/// the DC that granted it, and that node, asked right then, reports itself the DC with the
/// same epoch (no lease without a DC). Returns when all three are online under one DC.
fn cold_start_without_early_leases(cluster: &mut Cluster) {
    cluster.start_all();
    let start = Instant::now();
    let mut dc_seen = false;
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no DC after a cold start"
        );
        let statuses: Vec<Value> = (0..3)
            .filter_map(|i| inner(cluster.fast_status(i)))
            .collect();
        dc_seen |= statuses
            .iter()
            .any(|s| s["quorate"] == true && s["dc"] == s["local"]);
        let early = if dc_seen {
            Vec::new()
        } else {
            statuses.iter().filter(|s| s["lease"] == true).collect()
        };
        for s in early {
            let granter = dc(s).unwrap_or_else(|| panic!("a lease with no DC: {s}"));
            let i = cluster
                .agents
                .iter()
                .position(|a| a.name == granter)
                .unwrap();
            let g = inner(cluster.fast_status(i)).unwrap();
            assert!(
                g["dc"] == g["local"] && g["dc_epoch"] == s["dc_epoch"],
                "a lease before its DC: {s}\nDC: {g}"
            );
            dc_seen = true;
        }
        let all_online = statuses.len() == 3
            && statuses.iter().all(|s| {
                dc(s).is_some()
                    && ["n1", "n2", "n3"]
                        .iter()
                        .all(|n| node_state(s, n).as_deref() == Some("online"))
            });
        if all_online {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn cold_start_grants_no_lease_before_a_dc() {
    let mut cluster = Cluster::loopback(3);
    crate::agents::wait_formed(&mut cluster, Duration::from_secs(15));
    // Stopped the systemd way (each node leaves), then powered off (SIGKILL).
    for i in 0..3 {
        let exit = cluster.terminate(i, Duration::from_secs(10));
        assert!(exit.is_some_and(|e| e.success()), "{}", cluster.log(i));
    }
    cold_start_without_early_leases(&mut cluster);
    for i in 0..3 {
        cluster.kill(i);
    }
    cold_start_without_early_leases(&mut cluster);
}
