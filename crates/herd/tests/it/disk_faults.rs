//! Disk faults under real `herd agent` processes (CLUSTER.md §6.12 rows 15-17), root only
//! (skipped with a note otherwise): every node's data_dir is a small tmpfs of its own, filled
//! with a ballast file to make it full, unmounted on drop also when a test fails.
//!
//! - a follower's disk fills: its Raft stops, it reports itself unhealthy in its renewals,
//!   the DC refuses its lease, it stops its resources and is lost, `herd status` on it says
//!   why; the cluster goes on; with room again and a restart it rejoins online;
//! - the DC's disk fills: a new DC on the others within about a second, the old DC's lease
//!   lapses;
//! - the same follower, with the DC a snapshot ahead, rejoins by installing the snapshot;
//! - admission control: admin writes are refused below `[storage] min_free_mb`;
//! - a slow fsync (HERD_FAULT_FSYNC_DELAY_MS on one follower): warned once, shown in
//!   `herd status --json`, and no lease expires.
//!
//! I/O: mount/umount, files, processes, the agents' admin sockets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agents::{Cluster, dc, inner, node_state, wait_formed};

/// A tmpfs mounted on a node's data_dir; lazily unmounted on drop (the agent may still run).
pub(crate) struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    pub(crate) fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Fills the file system with `DIR/ballast` until it is full (or `leave_mb` MiB remain).
    pub(crate) fn fill(&self, leave_mb: u64) {
        let mut file = std::fs::File::create(self.path.join("ballast")).unwrap();
        let chunk = vec![0x5au8; 64 * 1024];
        loop {
            if leave_mb > 0 && free_mb(&self.path) < leave_mb {
                return;
            }
            if file.write_all(&chunk).is_err() {
                return;
            }
        }
    }

    pub(crate) fn empty(&self) {
        std::fs::remove_file(self.path.join("ballast")).unwrap();
    }
}

/// Free MiB of the file system holding `path` (`df`).
fn free_mb(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1M", "--output=avail"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).output();
    }
}

/// Three nodes on loopback, each data_dir a tmpfs of `size`; None when not root.
fn cluster_on_tmpfs(size: &str, extra: &str) -> Option<(Cluster, Vec<Tmpfs>)> {
    let addrs: Vec<String> = (0..3)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
        })
        .collect();
    let cluster = Cluster::with_addrs(&addrs, &vec![Vec::new(); 3], extra);
    let mut mounts = Vec::new();
    for agent in &cluster.agents {
        mounts.push(Tmpfs::mount(&agent.data_dir, size)?);
    }
    Some((cluster, mounts))
}

/// Formed, and every node holds its lease (a DC's first own grant can come after the others).
/// Waits until the cluster has formed and every node holds its lease; returns the DC's name
/// and index.
fn formed_with_leases(cluster: &mut Cluster, limit: Duration) -> (String, usize) {
    wait_formed(cluster, limit);
    cluster.wait_for(limit, "every node holding its lease", |c| {
        (0..3).all(|i| inner(c.fast_status(i)).is_some_and(|s| s["lease"] == true))
    });
    let dc_name = dc(&inner(cluster.fast_status(0)).expect("a formed node answers"))
        .expect("a formed cluster has a DC");
    let dc_i = cluster.index_of(&dc_name);
    (dc_name, dc_i)
}

fn set_cib(cluster: &Cluster, i: usize, epoch: u64, filler: usize) -> Value {
    let xml = format!("<cib epoch='{epoch}'><!--{}--></cib>", "x".repeat(filler));
    let request = format!("\"request\":\"set-cib\",\"xml\":\"{xml}\"");
    cluster
        .admin(i, &request)
        .expect("an answer from the agent")
}

fn config_epoch(cluster: &Cluster, i: usize) -> Option<u64> {
    cluster.admin(i, "\"request\":\"get-cib\"")?["config_epoch"].as_u64()
}

#[test]
fn full_disk_on_a_follower_makes_it_unhealthy_lost_and_it_rejoins_after_a_restart() {
    let Some((mut cluster, mounts)) = cluster_on_tmpfs("16m", "[storage]\nmin_free_mb = 1\n")
    else {
        return;
    };
    let (dc_name, dc_i) = formed_with_leases(&mut cluster, Duration::from_secs(20));
    let f = (dc_i + 1) % 3;
    let follower = cluster.agents[f].name.clone();
    let data_dir = cluster.agents[f].data_dir.display().to_string();

    mounts[f].fill(0);
    // The follower must append this entry (20 KiB) and cannot.
    let answer = set_cib(&cluster, dc_i, 1, 20_000);
    assert_eq!(answer["result"], "done", "{answer}");
    let took = cluster.wait_for(Duration::from_secs(10), "the follower lost", |c| {
        inner(c.fast_status(dc_i))
            .is_some_and(|s| node_state(&s, &follower).as_deref() == Some("lost"))
    });
    eprintln!("{follower} lost {took:?} after the write its disk could not take");
    cluster.wait_for(Duration::from_secs(5), "the lease-loss stop", |c| {
        c.log(f).contains("node lease lost")
    });
    // Its own status says why; the DC goes on with the other node.
    let own = inner(cluster.fast_status(f)).unwrap();
    assert_eq!(own["disk"]["healthy"], false, "{own}");
    let problem = own["disk"]["problem"].as_str().unwrap();
    assert!(
        problem.contains("disk full") && problem.contains(&data_dir),
        "{problem}"
    );
    assert_eq!(own["lease"], false);
    let agent = &cluster.agents[f];
    let human = agent
        .command(&["status", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("Disk: UNHEALTHY: disk full"), "{human}");
    let answer = set_cib(&cluster, dc_i, 2, 100);
    assert_eq!(answer["result"], "done", "the cluster goes on: {answer}");
    std::thread::sleep(Duration::from_secs(2));
    let log = cluster.log(f);
    for (name, log) in [(&follower, &log), (&dc_name, &cluster.log(dc_i))] {
        let problems: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        for line in &problems {
            eprintln!("{name}: {line}");
        }
        // Each problem once: no line per heartbeat or per renewal.
        assert!(problems.len() < 12, "{name} logs too much:\n{log}");
    }
    assert_eq!(log.matches("this node is unhealthy").count(), 1, "{log}");
    assert!(!log.contains("panicked"), "{log}");
    let dc_log = cluster.log(dc_i);
    let refusals = dc_log.matches("refusing a lease: the node reports itself unhealthy");
    assert_eq!(refusals.count(), 1, "{dc_log}");

    // Room again, restart: it rejoins and is online, with the configuration it missed.
    cluster.kill(f);
    mounts[f].empty();
    cluster.start(f);
    cluster.wait_for(Duration::from_secs(20), "the follower online again", |c| {
        inner(c.fast_status(dc_i))
            .is_some_and(|s| node_state(&s, &follower).as_deref() == Some("online"))
            && inner(c.fast_status(f)).is_some_and(|s| s["lease"] == true)
            && config_epoch(c, f) == config_epoch(c, dc_i)
    });
    let own = inner(cluster.fast_status(f)).unwrap();
    assert_eq!(own["disk"]["healthy"], true, "{own}");
}

#[test]
fn full_disk_on_the_dc_elects_a_new_dc_and_the_old_one_loses_its_lease() {
    // Admission control off: the write must reach the full log (with it on, the DC refuses).
    let Some((mut cluster, mounts)) = cluster_on_tmpfs("16m", "[storage]\nmin_free_mb = 0\n")
    else {
        return;
    };
    let (old, old_i) = formed_with_leases(&mut cluster, Duration::from_secs(20));
    let others: Vec<usize> = (0..3).filter(|i| *i != old_i).collect();

    mounts[old_i].fill(0);
    let started = Instant::now();
    let answer = set_cib(&cluster, old_i, 1, 20_000);
    eprintln!("set-cib on the full DC: {answer}");
    cluster.wait_for(Duration::from_secs(5), "a new DC on the others", |c| {
        others.iter().all(|i| {
            inner(c.fast_status(*i))
                .and_then(|s| dc(&s))
                .is_some_and(|d| d != old)
        })
    });
    let failover = started.elapsed();
    eprintln!("new DC {failover:?} after the DC's disk filled");
    assert!(failover < Duration::from_secs(3), "{failover:?}");
    cluster.wait_for(
        Duration::from_secs(5),
        "the old DC lost and without lease",
        |c| {
            c.log(old_i).contains("node lease lost")
                && inner(c.fast_status(others[0]))
                    .is_some_and(|s| node_state(&s, &old).as_deref() == Some("lost"))
        },
    );
    let own = inner(cluster.fast_status(old_i)).unwrap();
    assert_eq!(own["disk"]["healthy"], false, "{own}");
    let log = cluster.log(old_i);
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn admin_writes_are_refused_below_min_free_mb() {
    // 96 MiB file systems and the default reserve of 64 MiB.
    let Some((mut cluster, mounts)) = cluster_on_tmpfs("96m", "") else {
        return;
    };
    let (dc_name, dc_i) = formed_with_leases(&mut cluster, Duration::from_secs(20));
    let f = (dc_i + 1) % 3;
    assert_eq!(set_cib(&cluster, f, 1, 100)["result"], "done");

    mounts[dc_i].fill(40);
    let before = config_epoch(&cluster, dc_i);
    for asked in [dc_i, f] {
        let answer = set_cib(&cluster, asked, 2, 100);
        assert_eq!(answer["result"], "error", "{answer}");
        let message = answer["message"].as_str().unwrap();
        let data_dir = cluster.agents[dc_i].data_dir.display().to_string();
        assert!(
            message.contains("min_free_mb = 64")
                && message.contains(&data_dir)
                && message.contains(&format!("on the DC {dc_name}")),
            "{message}"
        );
    }
    assert_eq!(
        config_epoch(&cluster, dc_i),
        before,
        "nothing was committed"
    );
    let status = inner(cluster.fast_status(dc_i)).unwrap();
    assert!(status["disk"]["free_mb"].as_u64().unwrap() < 64, "{status}");
    assert_eq!(
        status["disk"]["healthy"], true,
        "short of space is not unhealthy"
    );

    mounts[dc_i].empty();
    assert_eq!(set_cib(&cluster, f, 3, 100)["result"], "done");
}

#[test]
fn slow_fsync_on_a_follower_is_warned_once_and_expires_no_lease() {
    let addrs: Vec<String> = (0..3)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
        })
        .collect();
    // n3's every log fsync takes 600 ms more: above the election timeout's minimum (400 ms).
    let slow = vec![
        Vec::new(),
        Vec::new(),
        vec![
            "env".to_string(),
            "HERD_FAULT_FSYNC_DELAY_MS=600".to_string(),
        ],
    ];
    let mut cluster = Cluster::with_addrs(&addrs, &slow, "");
    let (_, dc_i) = formed_with_leases(&mut cluster, Duration::from_secs(30));
    let term = inner(cluster.fast_status(dc_i)).unwrap()["term"].clone();
    for epoch in 1..=4 {
        assert_eq!(set_cib(&cluster, dc_i, epoch, 100)["result"], "done");
    }
    let mut worst = Vec::new();
    let took = cluster.wait_for(Duration::from_secs(10), "the slow-fsync warning", |c| {
        for i in 0..3 {
            if let Some(s) = inner(c.fast_status(i)) {
                for n in ["n1", "n2", "n3"] {
                    let state = node_state(&s, n).unwrap_or_default();
                    if state != "online" {
                        worst.push(format!("{n} {state} seen from n{}", i + 1));
                    }
                }
            }
        }
        c.log(2).contains("slow Raft log fsync")
    });
    eprintln!("warned {took:?} after the writes");
    std::thread::sleep(Duration::from_secs(3));
    let status = inner(cluster.fast_status(2)).unwrap();
    eprintln!("n3 disk: {}", status["disk"]);
    let healthy = inner(cluster.fast_status(dc_i)).unwrap();
    eprintln!("DC disk (tmp dir, no delay): {}", healthy["disk"]);
    assert_eq!(status["disk"]["fsync_slow"], true, "{status}");
    assert!(status["disk"]["fsync_p99_ms"].as_f64().unwrap() >= 600.0);
    assert_eq!(status["disk"]["healthy"], true);
    let log = cluster.log(2);
    assert_eq!(log.matches("slow Raft log fsync").count(), 1, "{log}");
    let after = inner(cluster.fast_status(dc_i)).unwrap();
    eprintln!("term {term} -> {}", after["term"]);
    let logs: Vec<String> = (0..3).map(|i| cluster.log(i)).collect();
    assert!(
        worst.is_empty(),
        "a node left online: {worst:?}\n{}",
        logs.join("\n-----\n")
    );
    for i in 0..3 {
        let s = inner(cluster.fast_status(i)).unwrap();
        assert_eq!(s["lease"], true, "n{} lease: {s}", i + 1);
        assert!(
            !cluster.log(i).contains("node lease lost"),
            "{}",
            cluster.log(i)
        );
    }
}

/// Row 15 to the letter: the DC moves on so far while the follower is down (past a snapshot
/// and the purge of its log) that the follower can only rejoin by installing the snapshot
/// (1149 commits, about 3 s).
#[test]
fn follower_back_from_a_full_disk_rejoins_by_snapshot() {
    let Some((mut cluster, mounts)) = cluster_on_tmpfs("64m", "[storage]\nmin_free_mb = 1\n")
    else {
        return;
    };
    let (_, dc_i) = formed_with_leases(&mut cluster, Duration::from_secs(20));
    let f = (dc_i + 1) % 3;
    let follower = cluster.agents[f].name.clone();
    mounts[f].fill(0);
    assert_eq!(set_cib(&cluster, dc_i, 1, 20_000)["result"], "done");
    cluster.wait_for(Duration::from_secs(10), "the follower lost", |c| {
        inner(c.fast_status(dc_i))
            .is_some_and(|s| node_state(&s, &follower).as_deref() == Some("lost"))
    });
    cluster.kill(f);
    // The agent snapshots every 1000 entries and keeps 100 behind it.
    let started = Instant::now();
    for epoch in 2..=1150 {
        assert_eq!(set_cib(&cluster, dc_i, epoch, 10)["result"], "done");
    }
    eprintln!("1149 commits in {:?}", started.elapsed());
    mounts[f].empty();
    let snapshot = cluster.agents[f].data_dir.join("raft").join("snapshot");
    assert!(
        !snapshot.exists(),
        "the follower had no snapshot of its own"
    );
    cluster.start(f);
    let took = cluster.wait_for(Duration::from_secs(30), "the follower online again", |c| {
        inner(c.fast_status(dc_i))
            .is_some_and(|s| node_state(&s, &follower).as_deref() == Some("online"))
            && config_epoch(c, f) == config_epoch(c, dc_i)
    });
    eprintln!("{follower} online {took:?} after its restart");
    assert!(
        snapshot.exists(),
        "it rejoined by installing the DC's snapshot"
    );
}
