//! Wall-clock steps (CLUSTER.md §6.12 row 12): every agent runs under libfaketime with a
//! timestamp file of its own that the test rewrites mid-run (`FAKETIME_NO_CACHE=1`), with the
//! monotonic clock left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`), as an NTP step or `date -s`
//! would do. The DC's wall clock, then a follower's, jumps +1 h, back, −1 h and back: no
//! election, no lease expiry, no suspect or lost node. The stepped agent's log timestamps
//! show the jump, so libfaketime really reached it. Skipped with a note when libfaketime is
//! not installed (`faketime` in scripts/test).
//!
//! I/O: processes, files (the timestamp files), the agents' admin sockets, one TCP connection.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::agents::{Cluster, dc, inner, node_state, wait_formed};

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

fn faketime_wrapper(file: &Path) -> Vec<String> {
    vec![
        "env".into(),
        format!("LD_PRELOAD={LIBFAKETIME}"),
        format!("FAKETIME_TIMESTAMP_FILE={}", file.display()),
        "FAKETIME_NO_CACHE=1".into(),
        "FAKETIME_DONT_FAKE_MONOTONIC=1".into(),
        // The older spelling, for libfaketime before 0.9.8.
        "DONT_FAKE_MONOTONIC=1".into(),
    ]
}

/// Seconds into the UTC day of a tracing timestamp (`2026-11-22T05:05:57.103693Z ...`).
fn second_of_day(line: &str) -> Option<i64> {
    let time = line.split('T').nth(1)?.get(..8)?;
    let mut parts = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(h * 3600 + m * 60 + s)
}

fn now_second_of_day() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs % 86_400).unwrap()
}

/// What must hold on every node all the time: the same DC and term, everyone online, every
/// lease held.
fn check_steady(cluster: &Cluster, dc_name: &str, term: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    for i in 0..3 {
        let Some(s) = inner(cluster.fast_status(i)) else {
            problems.push(format!("n{} did not answer", i + 1));
            continue;
        };
        if dc(&s).as_deref() != Some(dc_name) || &s["term"] != term {
            problems.push(format!("n{}: dc {} term {}", i + 1, s["dc"], s["term"]));
        }
        if s["lease"] != true {
            problems.push(format!("n{}: no lease", i + 1));
        }
        for n in ["n1", "n2", "n3"] {
            let state = node_state(&s, n).unwrap_or_default();
            if state != "online" {
                problems.push(format!("n{} sees {n} {state}", i + 1));
            }
        }
    }
    problems
}

/// Steps node `i`'s wall clock through +1 h, 0, −1 h, 0, holding each for `hold`; returns
/// what went wrong meanwhile. At +1 h it pokes the node with garbage so that it logs a line.
fn step_clock(cluster: &Cluster, files: &[PathBuf], i: usize, hold: Duration) -> Vec<String> {
    let dc_name = dc(&inner(cluster.fast_status(0)).unwrap()).unwrap();
    let term = inner(cluster.fast_status(0)).unwrap()["term"].clone();
    let mut problems = Vec::new();
    for offset in ["+3600", "+0", "-3600", "+0"] {
        std::fs::write(&files[i], format!("{offset}\n")).unwrap();
        if offset == "+3600" {
            std::thread::sleep(Duration::from_millis(200));
            poke(cluster, i);
        }
        let until = Instant::now() + hold;
        while Instant::now() < until {
            problems.extend(check_steady(cluster, &dc_name, &term));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    problems
}

/// One garbage connection to node `i`: it logs one "refused connection" line.
fn poke(cluster: &Cluster, i: usize) {
    let config = herd_config::Config::load(&cluster.agents[i].config).unwrap();
    let mut stream = TcpStream::connect(config.local_node().addrs[0]).unwrap();
    let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n");
}

/// The offset (seconds, about +3600) between the stepped node's log line for the poke and the
/// real time when it was sent.
fn logged_jump(cluster: &Cluster, i: usize, real: i64) -> Option<i64> {
    let log = cluster.log(i);
    let line = log.lines().find(|l| l.contains("refused connection"))?;
    Some((second_of_day(line)? - real).rem_euclid(86_400))
}

#[test]
fn wall_clock_steps_on_the_dc_and_a_follower_change_nothing() {
    if !Path::new(LIBFAKETIME).exists() {
        eprintln!("skipped: {LIBFAKETIME} is missing (apt-get install faketime)");
        return;
    }
    let addrs: Vec<String> = (0..3)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("n{i}.rc")))
        .collect();
    for file in &files {
        std::fs::write(file, "+0\n").unwrap();
    }
    let wrappers: Vec<Vec<String>> = files.iter().map(|f| faketime_wrapper(f)).collect();
    let mut cluster = Cluster::with_addrs(&addrs, &wrappers, "");
    wait_formed(&mut cluster, Duration::from_secs(20));
    let dc_name = dc(&inner(cluster.fast_status(0)).unwrap()).unwrap();
    let dc_i = cluster.index_of(&dc_name);
    let follower = (dc_i + 1) % 3;

    for (what, i) in [("the DC", dc_i), ("a follower", follower)] {
        let real = now_second_of_day();
        let problems = step_clock(&cluster, &files, i, Duration::from_secs(2));
        assert!(
            problems.is_empty(),
            "stepping {what}'s wall clock changed: {problems:?}"
        );
        let jump = logged_jump(&cluster, i, real).expect("the poke was logged");
        eprintln!("{what} (n{}): log timestamps jumped {jump} s", i + 1);
        assert!(
            (3590..=3610).contains(&jump),
            "libfaketime did not reach the agent (jump {jump} s)\n{}",
            cluster.log(i)
        );
    }
    for i in 0..3 {
        let log = cluster.log(i);
        assert!(!log.contains("node lease lost"), "{log}");
        assert!(!log.contains("state=\"suspect\""), "{log}");
        assert!(!log.contains("state=\"lost\""), "{log}");
    }
}
