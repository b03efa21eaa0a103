//! Damaged state files in a real agent's data_dir (issue 4): every file an agent reads at
//! start, damaged the ways a disk or an operator damages it (one byte flipped in the middle,
//! cut short inside a record, emptied, a newer format version where the file has one), stops
//! the agent with a non-zero exit and ONE error line that names the file and says what to do:
//! never a panic, never a start on silently lost state. What a data_dir holds (`ls -R` of a running agent): `herd.sock` (recreated at
//! each start), `incarnation`, `raft/log`, `raft/snapshot` (after 1000 entries),
//! `exec/history/*.json`, `exec/last-lease-loss.json` (after a lease loss), `removed` (on a
//! removed node).
//!
//! Not here: the damage checks themselves (herd-raft `format.rs`, herd-exec `history.rs`,
//! herd-daemon `lib.rs` and `agent/removed.rs`). I/O: agent processes and their files.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::agents::{Cluster, dc, inner, node_state, path_str};
use crate::lease_loss::seed_running_dummies;

/// A one-node cluster (it forms by itself), running with its lease.
fn one_node() -> Cluster {
    let mut cluster = Cluster::loopback(1);
    cluster.start(0);
    wait_online(&cluster);
    cluster
}

fn wait_online(cluster: &Cluster) {
    cluster.wait_for(Duration::from_secs(10), "n1 online with its lease", |c| {
        inner(c.fast_status(0)).is_some_and(|s| {
            dc(&s).is_some()
                && s["lease"] == true
                && node_state(&s, "n1").as_deref() == Some("online")
        })
    });
}

/// Starts agent `i` on its damaged data_dir; it must exit on its own within 10 s. Returns
/// the exit code and stderr.
fn start_refused(cluster: &Cluster, i: usize) -> (Option<i32>, String) {
    let agent = &cluster.agents[i];
    let mut child = agent
        .command(&["agent", "--config"])
        .arg(&agent.config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the agent started on a damaged file:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

/// Agent `i` refuses to start: exit `code` (or any failure), one line naming `file` and
/// containing `advice`, no panic.
fn assert_refused(cluster: &Cluster, i: usize, file: &Path, advice: &str, code: Option<i32>) {
    let (got, stderr) = start_refused(cluster, i);
    eprintln!("exit {got:?}: {}", stderr.trim());
    let what = format!("{}: exit {got:?}\n{stderr}", file.display());
    match code {
        Some(code) => assert_eq!(got, Some(code), "{what}"),
        None => assert!(got.is_some_and(|c| c != 0), "{what}"),
    }
    assert!(!stderr.contains("panicked"), "{what}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {what}");
    assert!(stderr.contains(&path_str(file)), "{what}");
    assert!(stderr.contains(advice), "{what}");
}

/// The damages every file gets: name, and what to make of the good bytes.
fn damages(good: &[u8], cut: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut flipped = good.to_vec();
    flipped[good.len() / 2] ^= 0xa5;
    vec![
        ("one byte flipped", flipped),
        ("cut inside a record", good[..cut].to_vec()),
        ("emptied", Vec::new()),
    ]
}

fn data_file(cluster: &Cluster, i: usize, name: &str) -> PathBuf {
    cluster.agents[i].data_dir.join(name)
}

#[test]
fn damaged_snapshot_stops_the_agent_naming_the_file() {
    let mut cluster = one_node();
    // A snapshot is taken after 1000 applied entries; the log keeps only the last 100 after
    // it, so without the snapshot the state is gone: the agent must not start without it.
    let started = Instant::now();
    for epoch in 0..1000 {
        let request = format!("\"request\":\"set-cib\",\"xml\":\"<cib epoch='{epoch}'/>\"");
        let answer = cluster.admin(0, &request).unwrap();
        assert_eq!(answer["result"], "done", "{answer}");
    }
    eprintln!("1000 commits in {:?}", started.elapsed());
    let snapshot = data_file(&cluster, 0, "raft/snapshot");
    cluster.wait_for(Duration::from_secs(10), "raft/snapshot", |_| {
        snapshot.exists()
    });
    cluster.kill(0);
    let good = std::fs::read(&snapshot).unwrap();
    for (damage, bytes) in damages(&good, good.len() * 2 / 3) {
        eprintln!("snapshot {damage}");
        std::fs::write(&snapshot, bytes).unwrap();
        assert_refused(&cluster, 0, &snapshot, "herd node add", None);
    }
    // A newer format (header: 8 magic bytes, then the version, u32 LE).
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&snapshot, newer).unwrap();
    assert_refused(&cluster, 0, &snapshot, "format version 99", None);
    // Restored: the agent starts with the state the snapshot and the log hold.
    std::fs::write(&snapshot, good).unwrap();
    cluster.start(0);
    wait_online(&cluster);
    let cib = cluster.admin(0, "\"request\":\"get-cib\"").unwrap();
    assert_eq!(cib["xml"], "<cib epoch='999'/>", "{cib}");
}

#[test]
fn damaged_log_of_a_one_node_cluster_stops_the_agent_naming_the_file() {
    // `cluster` flips a byte and cuts a record of a follower's log; here also emptied and
    // of a newer format, on the only node (nobody could send it the lost entries).
    let mut cluster = one_node();
    cluster.kill(0);
    let log = data_file(&cluster, 0, "raft/log");
    let good = std::fs::read(&log).unwrap();
    for (damage, bytes) in damages(&good, good.len() - 5) {
        eprintln!("log {damage}");
        std::fs::write(&log, bytes).unwrap();
        assert_refused(&cluster, 0, &log, "herd node add", None);
    }
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(&log, newer).unwrap();
    assert_refused(&cluster, 0, &log, "format version 2", None);
    std::fs::write(&log, good).unwrap();
    cluster.start(0);
    wait_online(&cluster);
}

#[test]
fn damaged_incarnation_file_stops_the_agent_naming_the_file() {
    let mut cluster = one_node();
    cluster.kill(0);
    let file = data_file(&cluster, 0, "incarnation");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n");
    // As after 41 starts. A file cut short loses its newline (and maybe digits): read as a
    // number it could repeat an earlier incarnation, so it is refused too. The file has no
    // format version (one decimal number and a newline).
    let good = b"41\n".to_vec();
    for (damage, bytes) in damages(&good, 1) {
        eprintln!("incarnation {damage}");
        std::fs::write(&file, bytes).unwrap();
        assert_refused(&cluster, 0, &file, "restore it", None);
    }
    std::fs::write(&file, b"41").unwrap();
    assert_refused(&cluster, 0, &file, "restore it", None);
    // Restored: the next start is incarnation 42.
    std::fs::write(&file, good).unwrap();
    cluster.start(0);
    wait_online(&cluster);
    let status = inner(cluster.fast_status(0)).unwrap();
    let node = &status["nodes"][0];
    assert_eq!(node["incarnation"], 42, "{status}");
}

#[test]
fn damaged_removed_marker_still_keeps_a_removed_node_out() {
    let mut cluster = Cluster::loopback(3);
    let first = crate::agents::formed(&mut cluster, Duration::from_secs(15));
    let victim = if first == "n3" { 1 } else { 2 };
    let name = cluster.agents[victim].name.clone();
    let agent = &cluster.agents[0];
    let output = agent
        .command(&["node", "remove", "--force", &name, "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let exit = cluster.wait_exit(victim, Duration::from_secs(5));
    assert_eq!(
        exit.and_then(|e| e.code()),
        Some(78),
        "{}",
        cluster.log(victim)
    );
    let marker = data_file(&cluster, victim, "removed");
    let good = std::fs::read(&marker).unwrap();
    // The marker's presence is what counts (it has no format version; it is written without
    // fsync, so a crash may leave it empty): damaged, it still says removed, by path.
    let len = good.len();
    for (damage, bytes) in damages(&good, len / 3) {
        eprintln!("removed marker {damage}");
        std::fs::write(&marker, bytes).unwrap();
        assert_refused(&cluster, victim, &marker, "`herd node add`", Some(78));
    }
    let stderr = start_refused(&cluster, victim).1;
    assert!(
        stderr.contains("this data_dir belongs to a removed node"),
        "{stderr}"
    );
}

#[test]
fn damaged_executor_history_stops_the_agent_naming_the_file() {
    let mut cluster = one_node();
    cluster.kill(0);
    let state = cluster.dir.path().join("d1.state").display().to_string();
    let data_dir = cluster.agents[0].data_dir.clone();
    seed_running_dummies(&data_dir, "n1", &[("d1", state)]);
    // The history may be the only record that d1 runs here (what a lease loss stops): a
    // damaged file is not skipped.
    let file = data_file(&cluster, 0, "exec/history/d1.json");
    let good = std::fs::read(&file).unwrap();
    for (damage, bytes) in damages(&good, good.len() - 5) {
        eprintln!("history {damage}");
        std::fs::write(&file, bytes).unwrap();
        assert_refused(&cluster, 0, &file, "restore the file", None);
    }
    let newer =
        String::from_utf8(good.clone())
            .unwrap()
            .replacen("\"format\": 1", "\"format\": 2", 1);
    std::fs::write(&file, newer).unwrap();
    assert_refused(&cluster, 0, &file, "another herd version", None);
    // Restored: d1 is probed and known active.
    std::fs::write(&file, good).unwrap();
    cluster.start(0);
    wait_online(&cluster);
    cluster.wait_for(Duration::from_secs(5), "the probe", |c| {
        c.log(0).contains("executor ready")
    });
    assert!(cluster.log(0).contains("active=1"), "{}", cluster.log(0));
}

#[test]
fn damaged_lease_loss_report_does_not_matter() {
    // exec/last-lease-loss.json is a report for the operator, rewritten at each lease loss and
    // never read by the agent: safely re-creatable, so garbage there changes nothing (and is
    // not even logged: the agent does not read it).
    let mut cluster = one_node();
    cluster.kill(0);
    let report = data_file(&cluster, 0, herd_daemon::LAST_LEASE_LOSS_FILE);
    std::fs::write(&report, b"{\"stopped\": [\"d").unwrap();
    cluster.start(0);
    wait_online(&cluster);
    assert!(
        !cluster.log(0).contains("last-lease-loss"),
        "{}",
        cluster.log(0)
    );
}
