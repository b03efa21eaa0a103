//! Three `herd agent` processes on loopback: formation, detection of a killed node, DC
//! failover, full restart, a damaged log, and the error when no agent runs.

use std::time::Duration;

use crate::agents::{Cluster, HERD, dc, formed, inner, node_state, path_str};

#[test]
fn three_agents_form_and_agree_on_the_dc() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(15));
    // The admin socket is root's only (no admin_group configured).
    let socket = cluster.agents[0].data_dir.join("herd.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{}", socket.display());
    let statuses: Vec<_> = (0..3)
        .map(|i| cluster.status(i).expect("herd status --json"))
        .collect();
    let dcs: Vec<_> = statuses.iter().map(dc).collect();
    assert!(
        dcs[0].is_some() && dcs.iter().all(|d| *d == dcs[0]),
        "{dcs:?}"
    );
    for status in &statuses {
        assert_eq!(status["cluster"], "test");
        assert_eq!(status["quorate"], true);
        let names: Vec<_> = status["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].clone())
            .collect();
        assert_eq!(names, ["n1", "n2", "n3"]);
        for node in ["n1", "n2", "n3"] {
            assert_eq!(node_state(status, node).as_deref(), Some("online"));
        }
    }
}

#[test]
fn killed_node_is_lost_and_killed_dc_is_replaced_within_about_a_second() {
    let mut cluster = Cluster::loopback(3);
    let first_dc = formed(&mut cluster, Duration::from_secs(15));
    let dc_idx = cluster.index_of(&first_dc);
    let follower = (dc_idx + 1) % 3;
    let observer = (dc_idx + 2) % 3;
    let follower_name = cluster.agents[follower].name.clone();
    cluster.kill(follower);
    let took = cluster.wait_for(Duration::from_secs(5), "the killed node marked lost", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &follower_name).as_deref() == Some("lost"))
    });
    eprintln!("non-DC node lost after {took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "detection took {took:?}"
    );
    // Back to three, then kill the DC.
    cluster.start(follower);
    cluster.wait_for(Duration::from_secs(10), "the node back online", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &follower_name).as_deref() == Some("online"))
    });
    cluster.kill(dc_idx);
    let took = cluster.wait_for(Duration::from_secs(5), "a new DC", |c| {
        inner(c.fast_status(observer)).is_some_and(|s| dc(&s).is_some_and(|d| d != first_dc))
    });
    eprintln!("new DC after {took:?}");
    assert!(took < Duration::from_millis(1500), "failover took {took:?}");
    cluster.wait_for(Duration::from_secs(5), "the old DC marked lost", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &first_dc).as_deref() == Some("lost"))
    });
}

#[test]
fn full_restart_keeps_the_replicated_configuration() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(15));
    let answer = cluster
        .admin(1, "\"request\":\"set-cib\",\"xml\":\"<cib epoch='7'/>\"")
        .unwrap();
    assert_eq!(answer["result"], "done", "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        cluster.kill(i);
    }
    cluster.start_all();
    cluster.wait_for(Duration::from_secs(15), "a DC after the restart", |c| {
        inner(c.fast_status(2)).is_some_and(|s| dc(&s).is_some())
    });
    for i in 0..3 {
        let cib = cluster.admin(i, "\"request\":\"get-cib\"").unwrap();
        assert_eq!(cib["xml"], "<cib epoch='7'/>", "node {i}: {cib}");
        assert_eq!(cib["config_epoch"], 1);
    }
}

#[test]
fn corrupted_log_stops_the_agent_with_an_error_naming_the_file() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(15));
    cluster.kill(2);
    let log = cluster.agents[2].data_dir.join("raft").join("log");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xa5;
    std::fs::write(&log, &bytes).unwrap();
    let agent = &cluster.agents[2];
    let output = agent
        .command(&["agent", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&path_str(&log)), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Truncated inside a record: the same.
    std::fs::write(&log, &bytes[..bytes.len() - 5]).unwrap();
    let output = agent
        .command(&["agent", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("raft/log"),
        "{stderr}"
    );
}

#[test]
fn status_without_an_agent_says_how_to_start_one() {
    let cluster = Cluster::loopback(1);
    let agent = &cluster.agents[0];
    let output = std::process::Command::new(HERD)
        .args(["status", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no herd agent at") && stderr.contains("herd agent --config"),
        "{stderr}"
    );
}
