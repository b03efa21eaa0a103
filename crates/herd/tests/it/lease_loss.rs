//! A node without a lease runs nothing: real `herd agent` processes on loopback, with
//! ocf:heartbeat:Dummy resources left running on one node by an earlier agent (seeded through
//! herd-exec into that node's history). The node loses its lease when its peers are frozen
//! with SIGSTOP, or never gets one when it starts alone.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use herd_exec::{Action, AgentSpec, Executor, OpRequest};

use crate::agents::{Cluster, dc, inner, node_state};

/// Starts Dummy resources on `node` the way its agent's executor would, so its history
/// says they are active (also used by `pause`).
pub(crate) fn seed_running_dummies(data_dir: &Path, node: &str, states: &[(&str, String)]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let exec = Executor::new(herd_exec::ExecConfig::for_node(data_dir, node)).unwrap();
        for (resource, state) in states {
            let spec: AgentSpec = "ocf:heartbeat:Dummy".parse().unwrap();
            let mut request = OpRequest::new(resource, spec, Action::Start).timeout_ms(10_000);
            request.params.insert("state".to_owned(), state.clone());
            assert_eq!(0, exec.execute(request).await.rc, "start {resource}");
        }
    });
}

pub(crate) fn signal(cluster: &Cluster, i: usize, sig: &str) {
    let pid = cluster.agents[i].child.as_ref().unwrap().id().to_string();
    let status = Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

/// Three formed agents on loopback; n1 was restarted with Dummy resources d1 and d2 running
/// (seeded while it was down), so its new agent probes them as active. Returns the cluster
/// and each resource with its Dummy state file.
pub(crate) fn three_nodes_with_dummies_running_on_n1() -> (Cluster, Vec<(&'static str, String)>) {
    let mut cluster = Cluster::loopback(3);
    let states: Vec<(&str, String)> = ["d1", "d2"]
        .iter()
        .map(|r| (*r, cluster.dir.path().join(format!("{r}.state"))))
        .map(|(r, p)| (r, p.display().to_string()))
        .collect();
    let data_dir = cluster.agents[0].data_dir.clone();
    // Formed first: a fresh cluster may take longer than a lease length to form, and an agent
    // without a lease by then stops what it finds running.
    cluster.start_all();
    cluster.wait_for(Duration::from_secs(15), "a DC", |c| {
        inner(c.fast_status(0)).is_some_and(|s| dc(&s).is_some())
    });
    cluster.kill(0);
    seed_running_dummies(&data_dir, "n1", &states);
    cluster.start(0);
    (cluster, states)
}

#[test]
fn node_that_loses_its_lease_stops_every_resource_and_logs_the_report() {
    let (cluster, states) = three_nodes_with_dummies_running_on_n1();
    let data_dir = cluster.agents[0].data_dir.clone();
    cluster.wait_for(Duration::from_secs(15), "n1 online with a lease", |c| {
        inner(c.fast_status(0)).is_some_and(|s| {
            dc(&s).is_some()
                && s["lease"] == true
                && node_state(&s, "n1").as_deref() == Some("online")
        }) && c.log(0).contains("executor ready")
    });
    assert!(cluster.log(0).contains("active=2"), "{}", cluster.log(0));

    // Freeze both peers: n1 hears no DC, its lease runs out.
    signal(&cluster, 1, "-STOP");
    signal(&cluster, 2, "-STOP");
    let took = cluster.wait_for(
        Duration::from_secs(6),
        "the stop-all report in n1's log",
        |c| c.log(0).contains("lease loss: stop-all done"),
    );
    eprintln!("stop-all reported {took:?} after freezing the peers");
    signal(&cluster, 1, "-CONT");
    signal(&cluster, 2, "-CONT");

    let log = cluster.log(0);
    for line in log.lines().filter(|l| l.contains("lease")) {
        eprintln!("n1: {line}");
    }
    assert!(log.contains("node lease lost"), "{log}");
    assert!(
        !log.contains("no node lease since the agent started"),
        "{log}"
    );
    assert!(
        log.contains("every resource stopped within the bound") && log.contains("stopped=2"),
        "{log}"
    );
    for (resource, state) in &states {
        assert!(!Path::new(state).exists(), "{resource} still runs");
    }
    let report = herd_daemon::read_last_report(&data_dir).unwrap().unwrap();
    assert_eq!(vec!["d1", "d2"], report.stop_all.stopped);
    assert!(report.stop_all.all_stopped(), "{report:?}");
    assert_eq!(1_500, report.bound_ms);
}

#[test]
fn agent_without_a_lease_after_start_stops_what_an_earlier_agent_left_running() {
    let mut cluster = Cluster::loopback(3);
    let state = cluster.dir.path().join("d1.state").display().to_string();
    let data_dir = cluster.agents[0].data_dir.clone();
    seed_running_dummies(&data_dir, "n1", &[("d1", state.clone())]);
    // Alone: no DC, so no lease.
    cluster.start(0);
    let took = cluster.wait_for(
        Duration::from_secs(6),
        "the stop-all report in n1's log",
        |c| c.log(0).contains("lease loss: stop-all done"),
    );
    eprintln!("stopped {took:?} after the start");
    let log = cluster.log(0);
    assert!(
        log.contains("no node lease since the agent started"),
        "{log}"
    );
    assert!(!Path::new(&state).exists(), "d1 still runs");
    let report = herd_daemon::read_last_report(&data_dir).unwrap().unwrap();
    assert_eq!(vec!["d1"], report.stop_all.stopped);
}
