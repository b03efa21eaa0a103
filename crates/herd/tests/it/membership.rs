//! Membership with real agents: `herd cluster init` before every node is up, `herd node add`
//! and `herd node remove`, and a witness that never becomes the DC.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::agents::{Cluster, dc, inner, node_state};

fn herd(cluster: &Cluster, i: usize, args: &[&str]) -> (bool, String) {
    let agent = &cluster.agents[i];
    let output = agent
        .command(args)
        .arg("--config")
        .arg(&agent.config)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn role(status: &serde_json::Value, node: &str) -> Option<String> {
    let nodes = status["nodes"].as_array()?;
    nodes.iter().find(|n| n["name"] == node)?["role"]
        .as_str()
        .map(String::from)
}

#[test]
fn cluster_init_forms_without_waiting_for_every_node() {
    let mut cluster = Cluster::loopback(3);
    cluster.start(0);
    cluster.start(1);
    cluster.wait_for(
        Duration::from_secs(10),
        "both nodes answering, not formed",
        |c| inner(c.fast_status(0)).is_some_and(|s| s["forming"] == true),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        dc(&inner(cluster.fast_status(0)).unwrap()).is_none(),
        "wait-for-all holds"
    );
    let (ok, text) = herd(&cluster, 0, &["cluster", "init"]);
    assert!(ok, "{text}");
    cluster.wait_for(Duration::from_secs(10), "a DC with n1 and n2 online", |c| {
        inner(c.fast_status(1)).is_some_and(|s| {
            dc(&s).is_some()
                && node_state(&s, "n1").as_deref() == Some("online")
                && node_state(&s, "n2").as_deref() == Some("online")
        })
    });
    // Two of three were up: n3 is a voter already and joins when it starts.
    cluster.start(2);
    cluster.wait_for(Duration::from_secs(10), "n3 online", |c| {
        inner(c.fast_status(2)).is_some_and(|s| node_state(&s, "n3").as_deref() == Some("online"))
    });
    let (ok, text) = herd(&cluster, 2, &["cluster", "init"]);
    assert!(!ok && text.contains("already"), "{text}");
}

#[test]
fn node_add_makes_a_voter_and_node_remove_takes_it_out() {
    let mut cluster = Cluster::loopback_layout(&[false; 4], Some(3));
    for i in 0..3 {
        cluster.start(i);
    }
    cluster.wait_for(Duration::from_secs(15), "three nodes formed", |c| {
        inner(c.fast_status(0)).is_some_and(|s| {
            dc(&s).is_some()
                && (1..=3).all(|k| node_state(&s, &format!("n{k}")).as_deref() == Some("online"))
        })
    });
    cluster.start(3);
    let config = std::fs::read_to_string(&cluster.agents[3].config).unwrap();
    let addr = config
        .lines()
        .rev()
        .find(|l| l.starts_with("addrs"))
        .unwrap();
    let addr = addr.split('"').nth(1).unwrap().to_string();
    let (ok, text) = herd(&cluster, 1, &["node", "add", "n4", &addr]);
    assert!(ok, "{text}");
    cluster.wait_for(
        Duration::from_secs(15),
        "n4 an online voter on every node",
        |c| {
            (0..4).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    node_state(&s, "n4").as_deref() == Some("online")
                        && role(&s, "n4").as_deref() == Some("voter")
                })
            })
        },
    );
    // n4 is online: removing it is refused (it may run resources) and changes nothing.
    let (ok, text) = herd(&cluster, 2, &["node", "remove", "n4"]);
    assert!(
        !ok && text.contains("n4 is online") && text.contains("--force"),
        "{text}"
    );
    assert!(
        (0..4).all(|i| inner(cluster.fast_status(i))
            .is_some_and(|s| role(&s, "n4").as_deref() == Some("voter"))),
        "a refused removal changed the membership"
    );
    let (ok, text) = herd(&cluster, 2, &["node", "remove", "--force", "n4"]);
    assert!(ok, "{text}");
    cluster.wait_for(Duration::from_secs(10), "n4 out of the membership", |c| {
        (0..3).all(|i| {
            inner(c.fast_status(i))
                .is_some_and(|s| role(&s, "n4").is_none_or(|r| r != "voter") && dc(&s).is_some())
        })
    });
    // n4 is listed in no other node's config: the DC still tells it, and it exits 78.
    let exit = cluster.wait_exit(3, Duration::from_secs(5));
    assert_eq!(exit.and_then(|e| e.code()), Some(78), "{}", cluster.log(3));
    let (ok, text) = herd(&cluster, 0, &["node", "remove", "nosuch"]);
    assert!(!ok && text.contains("nosuch"), "{text}");
}

#[test]
fn witness_is_never_the_dc() {
    let mut cluster = Cluster::loopback_layout(&[false, false, true], None);
    cluster.start_all();
    cluster.wait_for(Duration::from_secs(15), "formed with a DC", |c| {
        inner(c.fast_status(2)).is_some_and(|s| {
            dc(&s).is_some()
                && (1..=3).all(|k| node_state(&s, &format!("n{k}")).as_deref() == Some("online"))
        })
    });
    let status = inner(cluster.fast_status(2)).unwrap();
    let first = dc(&status).unwrap();
    assert_ne!(first, "n3", "{status}");
    assert_eq!(status["nodes"][2]["witness"], true, "{status}");
    // Kill the DC: the other core node takes over (the witness may lead Raft for a moment,
    // but hands it on and is never the DC).
    let dc_idx = if first == "n1" { 0 } else { 1 };
    let survivor = 1 - dc_idx;
    cluster.kill(dc_idx);
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(8) {
        for i in [survivor, 2] {
            if let Some(d) = inner(cluster.fast_status(i)).and_then(|s| dc(&s)) {
                seen.push(d);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !seen.iter().any(|d| d == "n3"),
        "the witness acted as DC: {seen:?}"
    );
    let survivor_name = cluster.agents[survivor].name.clone();
    assert_eq!(
        seen.last(),
        Some(&survivor_name),
        "{seen:?}\n{}",
        cluster.log(2)
    );
}

#[test]
fn witness_catches_a_lagging_survivor_up_and_hands_it_the_dc() {
    // CLUSTER.md §6.12 scenario 7: the surviving core node's log is behind the witness's, so
    // only the witness can win an election; it must replicate and hand leadership over.
    let mut cluster = Cluster::loopback_layout(&[false, false, true], None);
    cluster.start_all();
    cluster.wait_for(Duration::from_secs(15), "formed with a DC", |c| {
        inner(c.fast_status(2)).is_some_and(|s| dc(&s).is_some())
    });
    cluster.kill(0);
    cluster.wait_for(Duration::from_secs(10), "n2 as DC", |c| {
        inner(c.fast_status(2)).is_some_and(|s| dc(&s).as_deref() == Some("n2"))
    });
    let answer = cluster
        .admin(1, "\"request\":\"set-cib\",\"xml\":\"<cib epoch='9'/>\"")
        .unwrap();
    assert_eq!(answer["result"], "done", "{answer}");
    cluster.kill(1);
    cluster.start(0);
    cluster.wait_for(Duration::from_secs(20), "n1 caught up and DC", |c| {
        let cib = c.admin(0, "\"request\":\"get-cib\"");
        inner(c.fast_status(0)).is_some_and(|s| dc(&s).as_deref() == Some("n1"))
            && cib.is_some_and(|cib| cib["xml"] == "<cib epoch='9'/>")
    });
    let witness = inner(cluster.fast_status(2)).unwrap();
    assert_ne!(dc(&witness).as_deref(), Some("n3"), "{witness}");
    let log = cluster.log(2);
    assert!(
        log.contains("handing leadership"),
        "the witness never led:\n{log}"
    );
}

/// The index of the agent named `name`.
fn index(cluster: &Cluster, name: &str) -> usize {
    cluster.agents.iter().position(|a| a.name == name).unwrap()
}

#[test]
fn removed_node_is_told_stops_and_exits_and_stays_out_when_restarted() {
    let mut cluster = Cluster::loopback(3);
    let first = crate::agents::formed(&mut cluster, Duration::from_secs(15));
    let dc_idx = index(&cluster, &first);
    let victim = (dc_idx + 1) % 3;
    let other = (dc_idx + 2) % 3;
    let name = cluster.agents[victim].name.clone();
    let term = inner(cluster.fast_status(dc_idx)).unwrap()["term"].clone();
    let (ok, text) = herd(&cluster, other, &["node", "remove", "--force", &name]);
    assert!(ok, "{text}");
    let exit = cluster.wait_exit(victim, Duration::from_secs(5));
    let log = cluster.log(victim);
    assert_eq!(exit.and_then(|e| e.code()), Some(78), "{log}");
    let line = format!("node {name} was removed from cluster test by the DC {first}");
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    // Restarted with its old data_dir: the same line, exit 78 at once, nothing disturbed.
    cluster.start(victim);
    let exit = cluster.wait_exit(victim, Duration::from_secs(5));
    let log = cluster.log(victim);
    assert_eq!(exit.and_then(|e| e.code()), Some(78), "{log}");
    assert!(
        log.contains(&line) && log.contains("not starting") && log.contains("a removed node"),
        "{log}"
    );
    // Without the marker (as if it had been down during the removal): it starts with its old
    // membership, learns from the DC's answer to its hello, exits, and deposes nobody.
    std::fs::remove_file(cluster.agents[victim].data_dir.join("removed")).unwrap();
    cluster.start(victim);
    let exit = cluster.wait_exit(victim, Duration::from_secs(5));
    let log = cluster.log(victim);
    assert_eq!(exit.and_then(|e| e.code()), Some(78), "{log}");
    assert_eq!(log.matches(&line).count(), 1, "{log}");
    std::thread::sleep(Duration::from_millis(1500));
    let status = inner(cluster.fast_status(dc_idx)).unwrap();
    assert_eq!(dc(&status).as_deref(), Some(first.as_str()), "{status}");
    assert_eq!(
        status["term"], term,
        "the removed node raised the term: {status}"
    );
    assert_eq!(
        node_state(&status, &name).as_deref(),
        Some("left"),
        "{status}"
    );
    assert!(role(&status, &name).is_none_or(|r| r == "none"), "{status}");
    // The way back the line names: `herd node add` it again, start it with a fresh data_dir.
    let addr = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name.as_str())
        .unwrap()["addrs"][0]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_dir_all(&cluster.agents[victim].data_dir).unwrap();
    cluster.start(victim);
    let (ok, text) = herd(&cluster, other, &["node", "add", &name, &addr]);
    assert!(ok, "{text}");
    cluster.wait_for(
        Duration::from_secs(15),
        "the node back as an online voter",
        |c| {
            (0..3).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    node_state(&s, &name).as_deref() == Some("online")
                        && role(&s, &name).as_deref() == Some("voter")
                })
            })
        },
    );
}

#[test]
fn sigterm_leaves_gracefully_and_a_restart_rejoins() {
    let mut cluster = Cluster::loopback(3);
    let first = crate::agents::formed(&mut cluster, Duration::from_secs(15));
    let dc_idx = index(&cluster, &first);
    let leaver = (dc_idx + 1) % 3;
    let observer = (dc_idx + 2) % 3;
    let name = cluster.agents[leaver].name.clone();
    let start = Instant::now();
    let exit = cluster.terminate(leaver, Duration::from_secs(5));
    assert_eq!(
        exit.and_then(|e| e.code()),
        Some(0),
        "{}",
        cluster.log(leaver)
    );
    cluster.wait_for(Duration::from_secs(3), "the node left", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &name).as_deref() == Some("left"))
    });
    let since_signal = start.elapsed();
    eprintln!("left on the others {since_signal:?} after SIGTERM");
    assert!(
        since_signal < Duration::from_millis(500),
        "{since_signal:?}"
    );
    // It stays left: never suspect or lost.
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(1500) {
        for i in [dc_idx, observer] {
            let s = inner(cluster.fast_status(i)).unwrap();
            assert_eq!(node_state(&s, &name).as_deref(), Some("left"), "{s}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Restarted: online again.
    cluster.start(leaver);
    cluster.wait_for(Duration::from_secs(10), "the node online again", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &name).as_deref() == Some("online"))
            && inner(c.fast_status(leaver)).is_some_and(|s| s["lease"] == true)
    });
    // SIGTERM of the DC: the others get a new DC and see the old one left, never lost.
    let exit = cluster.terminate(dc_idx, Duration::from_secs(5));
    assert_eq!(
        exit.and_then(|e| e.code()),
        Some(0),
        "{}",
        cluster.log(dc_idx)
    );
    // The leaving DC made sure the followers applied its `left` before it went away.
    cluster.wait_for(
        Duration::from_millis(300),
        "the old DC left on both others",
        |c| {
            [leaver, observer].iter().all(|&i| {
                inner(c.fast_status(i))
                    .is_some_and(|s| node_state(&s, &first).as_deref() == Some("left"))
            })
        },
    );
    let took = cluster.wait_for(Duration::from_secs(5), "a new DC, the old one left", |c| {
        inner(c.fast_status(observer)).is_some_and(|s| {
            dc(&s).is_some_and(|d| d != first) && node_state(&s, &first).as_deref() == Some("left")
        })
    });
    eprintln!("new DC {took:?} after the old DC exited");
    std::thread::sleep(Duration::from_millis(1500));
    for i in [leaver, observer] {
        let s = inner(cluster.fast_status(i)).unwrap();
        assert_eq!(node_state(&s, &first).as_deref(), Some("left"), "{s}");
        assert!(dc(&s).is_some_and(|d| d != first), "{s}");
    }
}

#[test]
fn sigterm_stops_running_resources_before_the_node_is_recorded_left() {
    let (mut cluster, states) = crate::lease_loss::three_nodes_with_dummies_running_on_n1();
    cluster.wait_for(Duration::from_secs(15), "n1 online with a lease", |c| {
        inner(c.fast_status(0)).is_some_and(|s| {
            s["lease"] == true && node_state(&s, "n1").as_deref() == Some("online")
        }) && c.log(0).contains("executor ready")
    });
    assert!(cluster.log(0).contains("active=2"), "{}", cluster.log(0));
    let exit = cluster.terminate(0, Duration::from_secs(10));
    let log = cluster.log(0);
    assert_eq!(exit.and_then(|e| e.code()), Some(0), "{log}");
    for (resource, state) in &states {
        assert!(!Path::new(state).exists(), "{resource} still runs:\n{log}");
    }
    let stopped = log.find("stop-all done").expect("a stop-all line");
    let left = log.find("left the cluster").expect("a left line");
    assert!(stopped < left, "recorded left before the stop:\n{log}");
    // Committed before n1 exited; a follower applies it with the next heartbeat.
    cluster.wait_for(Duration::from_secs(2), "n1 left on n2", |c| {
        inner(c.fast_status(1)).is_some_and(|s| node_state(&s, "n1").as_deref() == Some("left"))
    });
}

#[test]
fn node_that_lost_its_lease_before_leaving_rejoins_after_a_restart() {
    // A lease loss raises the incarnation in memory only; the left record carries that
    // value, and the next start must renew with another one or stay left for ever.
    let mut cluster = Cluster::loopback(3);
    crate::agents::wait_formed(&mut cluster, Duration::from_secs(15));
    crate::lease_loss::signal(&cluster, 1, "-STOP");
    crate::lease_loss::signal(&cluster, 2, "-STOP");
    cluster.wait_for(Duration::from_secs(10), "n1's lease lost", |c| {
        c.log(0).contains("node lease lost")
    });
    crate::lease_loss::signal(&cluster, 1, "-CONT");
    crate::lease_loss::signal(&cluster, 2, "-CONT");
    cluster.wait_for(Duration::from_secs(20), "n1 online with a lease", |c| {
        inner(c.fast_status(0)).is_some_and(|s| s["lease"] == true)
            && (1..3).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    dc(&s).is_some() && node_state(&s, "n1").as_deref() == Some("online")
                })
            })
    });
    let exit = cluster.terminate(0, Duration::from_secs(10));
    assert_eq!(exit.and_then(|e| e.code()), Some(0), "{}", cluster.log(0));
    cluster.wait_for(Duration::from_secs(3), "n1 left", |c| {
        inner(c.fast_status(1)).is_some_and(|s| node_state(&s, "n1").as_deref() == Some("left"))
    });
    cluster.start(0);
    cluster.wait_for(Duration::from_secs(20), "n1 online again", |c| {
        inner(c.fast_status(1)).is_some_and(|s| node_state(&s, "n1").as_deref() == Some("online"))
    });
}
