//! Errors of the commands that talk to the local agent (`herd status`, `herd cluster init`,
//! `herd node add/remove`) and of `herd agent` itself: each problem printed once, prefixed by
//! the command's name, bad input refused with exit 2 before anything is sent.
//!
//! No agent runs here: the configs point at a data directory without an admin socket.
//! I/O: processes, temporary files.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::agents::{Cluster, HERD};

fn herd(args: &[&str]) -> Output {
    Command::new(HERD).args(args).output().unwrap()
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Waits up to `limit` for `child` to exit; kills it and fails the test otherwise.
fn exits_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn agent_with_a_broken_config_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "cluster = \n").unwrap();
    let out = herd(&["agent", "-c", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("herd agent: "), "{lines:#?}");
    assert!(lines[0].contains("bad.toml:1"), "{lines:#?}");
}

#[test]
fn status_watch_without_an_agent_reports_once_and_keeps_waiting() {
    let cluster = Cluster::loopback(1);
    let mut child = Command::new(HERD)
        .args(["status", "--watch", "-c"])
        .arg(&cluster.agents[0].config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(still_running, "watch gave up: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("herd status: no herd agent"),
        "{lines:#?}"
    );
    assert!(lines[0].contains("retrying"), "{lines:#?}");
}

#[test]
fn status_watch_with_a_config_error_exits_2_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let mut child = Command::new(HERD)
        .args(["status", "--watch", "-c"])
        .arg(&missing)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = exits_within(&mut child, Duration::from_secs(10));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("herd status: "), "{err}");
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn agent_commands_name_themselves_in_errors() {
    let cluster = Cluster::loopback(1);
    let config = cluster.agents[0].config.to_str().unwrap().to_owned();
    for (args, prefix) in [
        (vec!["status"], "herd status: no herd agent"),
        (vec!["cluster", "init"], "herd cluster init: no herd agent"),
        (
            vec!["node", "remove", "n9"],
            "herd node remove: no herd agent",
        ),
        (
            vec!["node", "add", "n9", "127.0.0.1:7409"],
            "herd node add: no herd agent",
        ),
    ] {
        let mut argv = args.clone();
        argv.extend(["-c", &config]);
        let out = herd(&argv);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:#?}");
        assert!(lines[0].starts_with(prefix), "{args:?}: {lines:#?}");
    }
}

#[test]
fn node_add_refuses_a_bad_address_before_contacting_the_agent() {
    // No configuration at all: the address is checked first.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = herd(&["node", "add", "n3", "bad", "-c", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("herd node add: \"bad\" is not an address"),
        "{lines:#?}"
    );
}
