//! `ExecutorHooks` over a real executor: Debian's ocf:heartbeat:Dummy (and a test agent
//! whose stop hangs) started through herd-exec, then the agent's lease-loss hook stops
//! them within the configured bound and reports; a restarted agent's start-up probe
//! learns what still runs.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use herd_daemon::{AgentHooks, ExecutorHooks, read_last_report};
use herd_exec::{Action, AgentSpec, ExecConfig, Executor, OpRequest};

const BOUND_MS: u64 = 1_000;

/// A temporary OCF root (Debian's heartbeat agents by symlink, plus `ocf:test:hangstop`),
/// a data directory and room for state files.
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ocf");
        std::fs::create_dir_all(root.join("resource.d/test")).unwrap();
        symlink("/usr/lib/ocf/lib", root.join("lib")).unwrap();
        symlink(
            "/usr/lib/ocf/resource.d/heartbeat",
            root.join("resource.d/heartbeat"),
        )
        .unwrap();
        let hang = root.join("resource.d/test/hangstop");
        std::fs::write(&hang, include_str!("hangstop.sh")).unwrap();
        std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
        Node { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    /// The executor a node's agent builds (history in the data directory, the bound set).
    fn executor(&self) -> Executor {
        let config = ExecConfig {
            ocf_root: self.path("ocf"),
            runtime_root: self.path("run"),
            kill_grace_ms: 300,
            lease_loss_stop_timeout_ms: BOUND_MS,
            ..ExecConfig::for_node(&self.data_dir(), "n1")
        };
        Executor::new(config).unwrap()
    }

    fn hooks(&self) -> ExecutorHooks {
        let file = self.data_dir().join(herd_daemon::LAST_LEASE_LOSS_FILE);
        ExecutorHooks::new(self.executor(), Some(file))
    }

    fn state(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

fn request(resource: &str, spec: &str, action: Action, state: &str) -> OpRequest {
    let mut request =
        OpRequest::new(resource, spec.parse::<AgentSpec>().unwrap(), action).timeout_ms(10_000);
    request.params = BTreeMap::from([("state".to_owned(), state.to_owned())]);
    request
}

async fn run(exec: &Executor, resource: &str, spec: &str, action: Action, state: &str) -> i32 {
    exec.execute(request(resource, spec, action, state))
        .await
        .rc
}

/// True when `pid` is gone or a zombie.
fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn lease_loss_stops_every_active_resource_within_the_bound_and_reports_it() {
    let node = Node::new();
    let hooks = node.hooks();
    let exec = hooks.executor().clone();
    let dummy = "ocf:heartbeat:Dummy";
    let (s1, s2) = (node.state("d1.state"), node.state("d2.state"));
    assert_eq!(0, run(&exec, "d1", dummy, Action::Start, &s1).await);
    assert_eq!(0, run(&exec, "d2", dummy, Action::Start, &s2).await);
    exec.start_recurring(request("d1", dummy, Action::Monitor, &s1).interval_ms(60_000))
        .unwrap();

    let began = Instant::now();
    hooks.lease_lost().await;
    let took = began.elapsed();

    assert!(took < Duration::from_millis(BOUND_MS), "took {took:?}");
    assert_eq!(7, run(&exec, "d1", dummy, Action::Monitor, &s1).await);
    assert_eq!(7, run(&exec, "d2", dummy, Action::Monitor, &s2).await);
    let report = hooks.last_report().expect("a report after the loss");
    assert_eq!(BOUND_MS, report.bound_ms);
    assert!(report.stop_all.all_stopped(), "{report:?}");
    assert_eq!(vec!["d1", "d2"], report.stop_all.stopped);
    assert_eq!(1, report.stop_all.monitors_cancelled);
    assert_eq!(
        Some(report),
        read_last_report(&node.data_dir()).unwrap(),
        "the report is kept on disk too"
    );
    assert!(exec.active_resources().is_empty());
}

#[tokio::test]
async fn lease_loss_kills_a_hung_stop_at_the_bound_and_reports_it_as_a_failure() {
    let node = Node::new();
    let hooks = node.hooks();
    let exec = hooks.executor().clone();
    let (dummy_state, hang_state) = (node.state("d1.state"), node.state("hang.state"));
    let dummy = "ocf:heartbeat:Dummy";
    assert_eq!(
        0,
        run(&exec, "d1", dummy, Action::Start, &dummy_state).await
    );
    let hang = "ocf:test:hangstop";
    assert_eq!(
        0,
        run(&exec, "hang", hang, Action::Start, &hang_state).await
    );

    let began = Instant::now();
    hooks.lease_lost().await;
    let took = began.elapsed();

    assert!(took < Duration::from_millis(BOUND_MS), "took {took:?}");
    let report = hooks.last_report().expect("a report after the loss");
    let stop_all = &report.stop_all;
    assert!(stop_all.within_deadline, "{report:?}");
    assert!(!stop_all.all_stopped());
    assert_eq!(vec!["d1"], stop_all.stopped);
    assert_eq!(1, stop_all.failed.len(), "{report:?}");
    assert_eq!("hang", stop_all.failed[0].resource);
    assert!(
        stop_all.failed[0].reason.contains("timed out"),
        "{}",
        stop_all.failed[0].reason
    );
    let pid = std::fs::read_to_string(format!("{hang_state}.stop-pid")).unwrap();
    assert!(process_gone(&pid), "the hung stop (pid {pid}) was killed");
    assert_eq!(
        7,
        run(&exec, "d1", dummy, Action::Monitor, &dummy_state).await
    );
    assert_eq!(vec!["hang".to_owned()], exec.active_resources());
    assert_eq!(Some(report), read_last_report(&node.data_dir()).unwrap());
}

#[tokio::test]
async fn restarted_agent_probes_at_start_and_knows_what_still_runs() {
    let node = Node::new();
    let dummy = "ocf:heartbeat:Dummy";
    let (s1, s2) = (node.state("d1.state"), node.state("d2.state"));
    {
        let exec = node.executor();
        assert_eq!(0, run(&exec, "d1", dummy, Action::Start, &s1).await);
        assert_eq!(0, run(&exec, "d2", dummy, Action::Start, &s2).await);
    }
    // While no agent ran, d2 went away by itself.
    std::fs::remove_file(&s2).unwrap();

    let hooks = node.hooks();
    hooks.started().await;
    assert_eq!(vec!["d1".to_owned()], hooks.executor().active_resources());
    hooks.lease_lost().await;
    let report = hooks.last_report().unwrap();
    assert_eq!(vec!["d1"], report.stop_all.stopped);
    assert!(!Path::new(&s1).exists());
}

#[test]
fn executor_config_follows_the_executor_table_of_herd_toml() {
    let text = "cluster = \"c\"\nnode = \"n1\"\ndata_dir = \"/var/lib/herd\"\n\
        key_file = \"/etc/herd/cluster.key\"\n\
        [executor]\nmax_concurrent_actions = 3\nlease_loss_stop_timeout_ms = 700\n\
        agent_timeout_ms_default = 9000\n\
        [[nodes]]\nname = \"n1\"\naddrs = [\"127.0.0.1:7400\"]\n";
    let config = herd_config::Config::parse(text, Path::new("/etc/herd/herd.toml")).unwrap();
    let exec = herd_daemon::exec_config(&config);
    assert_eq!(3, exec.max_concurrent_actions);
    assert_eq!(700, exec.lease_loss_stop_timeout_ms);
    assert_eq!(9000, exec.agent_timeout_ms_default);
    assert_eq!(Some("n1".to_owned()), exec.node_name);
    assert_eq!(
        Some(PathBuf::from("/var/lib/herd/exec/history")),
        exec.history_dir
    );
}

#[tokio::test]
async fn stop_for_leave_is_clean_only_when_nothing_may_still_run() {
    let node = Node::new();
    let hooks = node.hooks();
    let exec = hooks.executor().clone();
    let (dummy_state, hang_state) = (node.state("d1.state"), node.state("hang.state"));
    let dummy = "ocf:heartbeat:Dummy";
    assert_eq!(
        0,
        run(&exec, "d1", dummy, Action::Start, &dummy_state).await
    );
    assert!(
        hooks.stop_for_leave().await,
        "Dummy stopped: the node may be recorded left"
    );
    assert_eq!(
        0,
        run(&exec, "d1", dummy, Action::Start, &dummy_state).await
    );
    let hang = "ocf:test:hangstop";
    assert_eq!(
        0,
        run(&exec, "hang", hang, Action::Start, &hang_state).await
    );
    assert!(
        !hooks.stop_for_leave().await,
        "a stop that hangs past the bound is not clean: no left record"
    );
}

#[tokio::test]
async fn a_leave_or_removal_keeps_the_last_lease_loss_report() {
    let node = Node::new();
    let hooks = node.hooks();
    let exec = hooks.executor().clone();
    let state = node.state("d1.state");
    let dummy = "ocf:heartbeat:Dummy";
    assert_eq!(0, run(&exec, "d1", dummy, Action::Start, &state).await);
    hooks.lease_lost().await;
    let lease_loss = read_last_report(&node.data_dir()).unwrap();
    assert!(lease_loss.is_some(), "a lease loss keeps its report");
    assert_eq!(lease_loss, hooks.last_report());

    assert_eq!(0, run(&exec, "d1", dummy, Action::Start, &state).await);
    assert!(hooks.stop_for_leave().await);
    assert_eq!(0, run(&exec, "d1", dummy, Action::Start, &state).await);
    assert!(hooks.stop_for_removal().await);
    assert_eq!(7, run(&exec, "d1", dummy, Action::Monitor, &state).await);
    // Neither departure is a lease loss: the operator's report still shows the real one.
    assert_eq!(lease_loss, read_last_report(&node.data_dir()).unwrap());
    assert_eq!(lease_loss, hooks.last_report());
}
