//! The replicated state holds and shows what issue 4 lists: resource results and fail counts
//! recorded through the DC (a restarted agent's probes, with one resource whose probe
//! fails), `herd failcount` and `herd cleanup`, the storage epoch on a node loss, and a full
//! restart of every agent that keeps the CIB (`herd cib put/get`), a node attribute
//! (`herd attribute`) and a fail count. Real `herd agent` processes on loopback; resources are
//! ocf:heartbeat:Dummy and ocf:pacemaker:Dummy seeded into a node's executor history.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use herd_exec::{Action, AgentSpec, Executor, OpRequest};
use serde_json::Value;

use crate::agents::{Cluster, dc, formed, inner, node_state};

const CIB: &str = r#"<cib admin_epoch="0" epoch="1" num_updates="0">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources>
      <primitive id="web" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#;

/// Runs `herd ARGS --config NODE-i's-config`.
fn herd(cluster: &Cluster, i: usize, args: &[&str]) -> Output {
    let agent = &cluster.agents[i];
    let mut all = args.to_vec();
    all.push("--config");
    agent.command(&all).arg(&agent.config).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts, on `node`, a heartbeat Dummy `ok` and a pacemaker Dummy `bad` whose monitor always
/// fails (OCF_CHECK_LEVEL=30), the way its agent's executor would: the agent's probe at its
/// next start then finds `ok` running and `bad` failed.
fn seed(data_dir: &Path, node: &str, dir: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let exec = Executor::new(herd_exec::ExecConfig::for_node(data_dir, node)).unwrap();
        for (resource, agent, level) in [
            ("ok", "ocf:heartbeat:Dummy", None),
            ("bad", "ocf:pacemaker:Dummy", Some("30")),
        ] {
            let spec: AgentSpec = agent.parse().unwrap();
            let mut request = OpRequest::new(resource, spec, Action::Start).timeout_ms(10_000);
            let state = dir.join(format!("{resource}.state")).display().to_string();
            request.params.insert("state".to_owned(), state);
            if let Some(level) = level {
                request
                    .params
                    .insert("OCF_CHECK_LEVEL".to_owned(), level.to_owned());
            }
            assert_eq!(0, exec.execute(request).await.rc, "start {resource}");
        }
    });
}

/// The fail count of (resource, node, op) in a status, if any.
fn fail_count(status: &Value, resource: &str, node: &str, op: &str) -> Option<u64> {
    status["failures"]
        .as_array()?
        .iter()
        .find(|f| f["resource"] == resource && f["node"] == node && f["op"] == op)?["count"]
        .as_u64()
}

/// The last recorded op of `resource` on `node` in a status, if any.
fn last_op<'a>(status: &'a Value, resource: &str, node: &str) -> Option<&'a Value> {
    status["resources"]
        .as_array()?
        .iter()
        .find(|r| r["resource"] == resource && r["node"] == node)
}

/// Restarts node 0 with the seeded resources; waits until every node shows the failed probe.
fn restart_n1_with_resources(cluster: &mut Cluster) {
    let data_dir = cluster.agents[0].data_dir.clone();
    cluster.kill(0);
    seed(&data_dir, "n1", cluster.dir.path());
    cluster.start(0);
    let took = cluster.wait_for(
        Duration::from_secs(20),
        "bad's failed probe and ok's result recorded on every node",
        |c| {
            (0..3).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    fail_count(&s, "bad", "n1", "monitor_0").is_some()
                        && last_op(&s, "ok", "n1").is_some()
                })
            })
        },
    );
    eprintln!("probe results on every node {took:?} after n1's restart");
}

#[test]
fn resource_results_and_fail_counts_reach_every_node_and_cleanup_clears_them() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(20));
    restart_n1_with_resources(&mut cluster);
    for i in 0..3 {
        let status = cluster.status(i).unwrap();
        assert_eq!(fail_count(&status, "bad", "n1", "monitor_0"), Some(1));
        let ok = last_op(&status, "ok", "n1").unwrap();
        // The probe found it running; a stop follows only if n1 waited too long for a lease.
        let probe = ok["op"] == "monitor_0" && ok["state"] == "started" && ok["rc"] == 0;
        let stop = ok["op"] == "stop_0" && ok["state"] == "stopped";
        assert!(probe || stop, "{ok}");
        assert!(ok["dc_epoch"].as_str().is_some_and(|e| e.contains('.')));
    }
    let text = stdout(&herd(&cluster, 2, &["status"]));
    assert!(text.contains("Failed Resource Actions:"), "{text}");
    assert!(
        text.contains("bad on n1: monitor_0 failed 1 time"),
        "{text}"
    );
    let json = herd(&cluster, 1, &["failcount", "--resource", "bad", "--json"]);
    let failures: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(failures[0]["count"], 1, "{failures}");

    let cleanup = herd(&cluster, 1, &["cleanup", "bad", "--node", "n1"]);
    assert!(cleanup.status.success(), "{}", stderr(&cleanup));
    assert!(stdout(&cleanup).contains("cleared 1 fail count"));
    cluster.wait_for(Duration::from_secs(5), "no fail counts anywhere", |c| {
        (0..3).all(|i| {
            inner(c.fast_status(i)).is_some_and(|s| s["failures"].as_array().unwrap().is_empty())
        })
    });
    let show = stdout(&herd(&cluster, 0, &["failcount"]));
    assert_eq!(show.trim(), "no fail counts");
}

#[test]
fn stops_after_a_lease_loss_are_recorded_once_the_node_is_back() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(20));
    restart_n1_with_resources(&mut cluster);
    let signal = |cluster: &Cluster, i: usize, sig: &str| {
        let pid = cluster.agents[i].child.as_ref().unwrap().id().to_string();
        let status = std::process::Command::new("kill")
            .args([sig, &pid])
            .status();
        assert!(status.unwrap().success(), "kill {sig} {pid}");
    };
    let before = inner(cluster.fast_status(0)).unwrap();
    assert_eq!(last_op(&before, "ok", "n1").unwrap()["op"], "monitor_0");
    // Freeze both peers: n1 loses its lease and stops everything; it cannot report yet.
    signal(&cluster, 1, "-STOP");
    signal(&cluster, 2, "-STOP");
    cluster.wait_for(Duration::from_secs(6), "n1's stop-all", |c| {
        c.log(0).contains("lease loss: stop-all done")
    });
    signal(&cluster, 1, "-CONT");
    signal(&cluster, 2, "-CONT");
    cluster.wait_for(
        Duration::from_secs(20),
        "n1's stops recorded on every node",
        |c| {
            (0..3).all(|i| {
                inner(c.fast_status(i)).is_some_and(|s| {
                    ["ok", "bad"].iter().all(|r| {
                        last_op(&s, r, "n1").is_some_and(|op| {
                            op["op"] == "stop_0" && op["rc"] == 0 && op["state"] == "stopped"
                        })
                    })
                })
            })
        },
    );
    // The stops succeeded: the failed probe stays the only failure.
    let status = cluster.status(2).unwrap();
    assert_eq!(status["failures"].as_array().unwrap().len(), 1, "{status}");
}

#[test]
fn killing_a_node_bumps_the_storage_epoch_once_on_every_node() {
    let mut cluster = Cluster::loopback(3);
    let dc_name = formed(&mut cluster, Duration::from_secs(20));
    let all = serde_json::json!(["n1", "n2", "n3"]);
    cluster.wait_for(
        Duration::from_secs(5),
        "one storage epoch of all three",
        |c| {
            let statuses: Vec<Value> = (0..3).filter_map(|i| inner(c.fast_status(i))).collect();
            statuses.len() == 3
                && statuses.iter().all(|s| s["storage_members"] == all)
                && statuses
                    .iter()
                    .all(|s| s["storage_epoch"] == statuses[0]["storage_epoch"])
        },
    );
    let before = inner(cluster.fast_status(0)).unwrap()["storage_epoch"]
        .as_u64()
        .unwrap();
    let victim = (0..3).find(|i| cluster.agents[*i].name != dc_name).unwrap();
    let victim_name = cluster.agents[victim].name.clone();
    cluster.kill(victim);
    let others: Vec<usize> = (0..3).filter(|i| *i != victim).collect();
    let took = cluster.wait_for(Duration::from_secs(5), "the new storage epoch", |c| {
        others.iter().all(|i| {
            inner(c.fast_status(*i)).is_some_and(|s| {
                node_state(&s, &victim_name).as_deref() == Some("lost")
                    && s["storage_epoch"].as_u64() == Some(before + 1)
            })
        })
    });
    eprintln!(
        "storage epoch {} on the survivors {took:?} after the kill",
        before + 1
    );
    // Once: no further bump while nothing changes.
    std::thread::sleep(Duration::from_secs(1));
    for i in &others {
        let status = inner(cluster.fast_status(*i)).unwrap();
        assert_eq!(status["storage_epoch"].as_u64(), Some(before + 1));
        let members = status["storage_members"].as_array().unwrap();
        assert_eq!(members.len(), 2, "{members:?}");
        assert!(!members.iter().any(|m| *m == victim_name.as_str()));
        assert!(dc(&status).is_some());
    }
    let text = stdout(&herd(&cluster, others[0], &["status"]));
    assert!(
        text.contains(&format!("Storage epoch: {}", before + 1)),
        "{text}"
    );
}

#[test]
fn full_restart_keeps_the_cib_node_attributes_and_fail_counts() {
    let mut cluster = Cluster::loopback(3);
    formed(&mut cluster, Duration::from_secs(20));
    let good = cluster.dir.path().join("good.xml");
    std::fs::write(&good, CIB).unwrap();
    let put = herd(&cluster, 1, &["cib", "put", good.to_str().unwrap()]);
    assert!(put.status.success(), "{}", stderr(&put));
    let set = herd(&cluster, 2, &["attribute", "--node", "n3", "site", "left"]);
    assert!(set.status.success(), "{}", stderr(&set));
    let unknown = herd(&cluster, 2, &["attribute", "--node", "nope", "site", "x"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no node \"nope\""),
        "{}",
        stderr(&unknown)
    );
    restart_n1_with_resources(&mut cluster);

    // A bad file is refused before anything is sent, naming file:line.
    let epoch_before = inner(cluster.fast_status(0)).unwrap()["config_epoch"].clone();
    let bad = cluster.dir.path().join("bad.xml");
    std::fs::write(&bad, CIB.replace("type=\"Dummy\"", "")).unwrap();
    let refused = herd(&cluster, 0, &["cib", "put", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let message = stderr(&refused);
    assert!(
        message.contains(&format!("{}:6: error", bad.display())),
        "{message}"
    );
    assert!(message.contains("nothing committed"), "{message}");
    assert_eq!(
        inner(cluster.fast_status(0)).unwrap()["config_epoch"],
        epoch_before
    );

    for i in 0..3 {
        cluster.kill(i);
    }
    // Nothing left to probe on n1: a fail count seen after the restart comes from Raft.
    std::fs::remove_dir_all(cluster.agents[0].data_dir.join("exec/history")).unwrap();
    formed(&mut cluster, Duration::from_secs(30));
    for i in 0..3 {
        let get = herd(&cluster, i, &["cib", "get", "--json"]);
        assert!(get.status.success(), "{}", stderr(&get));
        let cib: Value = serde_json::from_slice(&get.stdout).unwrap();
        assert_eq!(cib["xml"], CIB, "node {i}");
        assert_eq!(cib["config_epoch"], epoch_before, "node {i}");
        let site = herd(&cluster, i, &["attribute", "--node", "n3", "site"]);
        assert_eq!(stdout(&site).trim(), "left", "{}", stderr(&site));
        let status = cluster.status(i).unwrap();
        assert_eq!(fail_count(&status, "bad", "n1", "monitor_0"), Some(1));
        assert_eq!(status["node_attributes"]["n3"]["site"], "left");
    }
    let plain = stdout(&herd(&cluster, 0, &["cib", "get"]));
    assert_eq!(plain, CIB);

    let delete = herd(
        &cluster,
        0,
        &["attribute", "--node", "n3", "site", "--delete"],
    );
    assert!(delete.status.success(), "{}", stderr(&delete));
    cluster.wait_for(Duration::from_secs(5), "site deleted everywhere", |c| {
        (0..3).all(|i| {
            inner(c.fast_status(i)).is_some_and(|s| s["node_attributes"]["n3"]["site"].is_null())
        })
    });
    let gone = herd(
        &cluster,
        1,
        &["attribute", "--node", "n3", "site", "--json"],
    );
    assert_eq!(gone.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&gone.stdout).unwrap();
    assert!(json["value"].is_null(), "{json}");
}
