//! Debian's own agents driven through the executor: ocf:heartbeat:Dummy, ocf:pacemaker:Dummy
//! (its envfile shows the exact environment), ocf:pacemaker:Stateful, ocf:heartbeat:nginx.

use std::time::Duration;

use herd_exec::{Action, ExecStatus, OcfRc, ResourceState};

use crate::support::{Fixture, request};

#[tokio::test]
async fn dummy_starts_monitors_and_stops() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("d1.state");
    let params = [("state", state.as_str())];
    let run = |action| exec.execute(request("d1", "ocf:heartbeat:Dummy", action, &params));
    assert_eq!(
        OcfRc::NotRunning,
        run(Action::Monitor).await.ocf(),
        "a probe before start says stopped"
    );
    let start = run(Action::Start).await;
    assert_eq!(0, start.rc, "{start:?}");
    assert!(std::path::Path::new(&state).exists());
    assert_eq!(OcfRc::Success, run(Action::Monitor).await.ocf());
    assert_eq!(
        Some(ResourceState::Started),
        exec.history("d1").map(|h| h.state)
    );
    assert_eq!(0, run(Action::Stop).await.rc);
    assert_eq!(OcfRc::NotRunning, run(Action::Monitor).await.ocf());
    assert_eq!(
        0,
        run(Action::Stop).await.rc,
        "stopping a stopped resource succeeds"
    );
    assert_eq!(
        Some(ResourceState::Stopped),
        exec.history("d1").map(|h| h.state)
    );
}

#[tokio::test]
async fn agents_get_the_pacemaker_environment() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let envfile = fx.state("env.txt");
    let state = fx.state("pd.state");
    let mut req = request(
        "web:1",
        "ocf:pacemaker:Dummy",
        Action::Start,
        &[("state", &state), ("envfile", &envfile)],
    );
    req.meta.insert("clone-max".to_owned(), "2".to_owned());
    req.timeout_ms = Some(7_000);
    assert_eq!(0, exec.execute(req).await.rc);
    let env = std::fs::read_to_string(&envfile).unwrap();
    for line in [
        "OCF_ROOT=",
        "OCF_RA_VERSION_MAJOR=1",
        "OCF_RESOURCE_INSTANCE=web:1",
        "OCF_RESOURCE_TYPE=Dummy",
        "OCF_RESOURCE_PROVIDER=pacemaker",
        "OCF_RESKEY_CRM_meta_timeout=7000",
        "OCF_RESKEY_CRM_meta_interval=0",
        "OCF_RESKEY_CRM_meta_name=start",
        "OCF_RESKEY_CRM_meta_clone_max=2",
    ] {
        assert!(
            env.lines()
                .any(|l| l.trim_start_matches("export ").starts_with(line)),
            "{line} missing from\n{env}"
        );
    }
}

#[tokio::test]
async fn recurring_monitor_reports_a_resource_that_stopped_behind_our_back() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("d2.state");
    let params = [("state", state.as_str())];
    let mut events = exec.subscribe();
    assert_eq!(
        0,
        exec.execute(request("d2", "ocf:heartbeat:Dummy", Action::Start, &params))
            .await
            .rc
    );
    exec.start_recurring(
        request("d2", "ocf:heartbeat:Dummy", Action::Monitor, &params).interval_ms(100),
    )
    .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((None, 0), (first.previous_rc, first.result.rc));
    std::fs::remove_file(&state).unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((Some(0), 7), (change.previous_rc, change.result.rc));
    assert_eq!(100, change.result.interval_ms);
    assert_eq!(
        Some(ResourceState::Stopped),
        exec.history("d2").map(|h| h.state)
    );
    assert!(exec.cancel_recurring("d2", 100));
    assert!(exec.recurring_ops().is_empty());
}

#[tokio::test]
async fn failing_monitor_reports_error_and_exit_reason() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("f.state");
    let result = exec
        .execute(request(
            "f",
            "ocf:test:testagent",
            Action::Monitor,
            &[("state", &state), ("monitor_rc", "1")],
        ))
        .await;
    assert_eq!(OcfRc::ErrGeneric, result.ocf());
    assert_eq!(ExecStatus::Done, result.status);
    assert_eq!(
        Some("forced monitor result 1"),
        result.exit_reason.as_deref()
    );
    assert!(!result.succeeded(false) && !result.succeeded(true));
    assert_eq!(
        Some(ResourceState::Failed),
        exec.history("f").map(|h| h.state)
    );
}

#[tokio::test]
async fn stateful_promotes_and_demotes_with_rc_8_for_promoted() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("s.state");
    let params = [("state", state.as_str())];
    let run = |action| exec.execute(request("s:0", "ocf:pacemaker:Stateful", action, &params));
    for (action, rc, resource_state) in [
        (Action::Start, OcfRc::Success, ResourceState::Started),
        (Action::Monitor, OcfRc::Success, ResourceState::Started),
        (Action::Promote, OcfRc::Success, ResourceState::Promoted),
        (
            Action::Monitor,
            OcfRc::RunningPromoted,
            ResourceState::Promoted,
        ),
        (Action::Demote, OcfRc::Success, ResourceState::Started),
        (Action::Monitor, OcfRc::Success, ResourceState::Started),
        (Action::Stop, OcfRc::Success, ResourceState::Stopped),
        (Action::Monitor, OcfRc::NotRunning, ResourceState::Stopped),
    ] {
        let result = run(action).await;
        assert_eq!(rc, result.ocf(), "{action}: {}", result.summary());
        assert!(result.succeeded(rc == OcfRc::NotRunning), "{action}");
        assert_eq!(
            Some(resource_state),
            exec.history("s:0").map(|h| h.state),
            "after {action}"
        );
    }
}

#[tokio::test]
async fn failed_promoted_monitor_marks_the_resource_failed() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("p.state");
    let result = exec
        .execute(request(
            "p",
            "ocf:test:testagent",
            Action::Monitor,
            &[("state", &state), ("monitor_rc", "9")],
        ))
        .await;
    assert_eq!(OcfRc::FailedPromoted, result.ocf());
    assert_eq!("OCF_FAILED_PROMOTED", result.ocf().name());
    assert!(!result.succeeded(false));
    assert_eq!(
        Some(ResourceState::Failed),
        exec.history("p").map(|h| h.state)
    );
}

#[tokio::test]
async fn nginx_serves_after_start_and_not_after_stop() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = fx.path("nginx");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 16; }}\n\
         http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; \
         uwsgi_temp_path {d}; scgi_temp_path {d};\n server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"herd\\n\"; }} }} }}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let conf_path = conf_path.to_string_lossy().into_owned();
    let params = [
        ("configfile", conf_path.as_str()),
        ("httpd", "/usr/sbin/nginx"),
    ];
    let run = |action| exec.execute(request("web", "ocf:heartbeat:nginx", action, &params));
    let start = run(Action::Start).await;
    assert_eq!(0, start.rc, "{}\n{}", start.summary(), start.output);
    assert_eq!(0, run(Action::Monitor).await.rc);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "nginx listens after start"
    );
    let stop = run(Action::Stop).await;
    assert_eq!(0, stop.rc, "{}\n{}", stop.summary(), stop.output);
    assert_eq!(7, run(Action::Monitor).await.rc);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nginx is gone after stop"
    );
}

#[tokio::test]
async fn dummy_migrates_and_reloads() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let (source, target) = (fx.state("src.state"), fx.state("dst.state"));
    let on = |state: &str, action| {
        let mut req = request("m", "ocf:heartbeat:Dummy", action, &[("state", state)]);
        req.meta
            .insert("migrate_source".to_owned(), "node1".to_owned());
        req.meta
            .insert("migrate_target".to_owned(), "node2".to_owned());
        req
    };
    assert_eq!(0, exec.execute(on(&source, Action::Start)).await.rc);
    assert_eq!(0, exec.execute(on(&source, Action::MigrateTo)).await.rc);
    assert_eq!(0, exec.execute(on(&target, Action::MigrateFrom)).await.rc);
    assert!(
        std::path::Path::new(&target).exists(),
        "migrate_from makes the target active"
    );
    assert_eq!(
        Some(ResourceState::Started),
        exec.history("m").map(|h| h.state)
    );
    assert_eq!(0, exec.execute(on(&target, Action::Reload)).await.rc);
    assert_eq!(
        Some(ResourceState::Started),
        exec.history("m").map(|h| h.state)
    );
}

#[tokio::test]
async fn native_agent_runs_under_the_executor_with_its_own_runtime_dir() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let spec = "ocf:herd:vip".parse().unwrap();
    let metadata = exec.metadata(&spec).await.unwrap();
    assert!(
        metadata
            .parameters
            .iter()
            .any(|p| p.name == "ip" && p.required)
    );
    let missing = exec
        .check_params(&spec, &Default::default())
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("missing required parameter ip"),
        "{missing}"
    );
    let result = exec
        .execute(request(
            "vip1",
            "ocf:herd:vip",
            Action::ValidateAll,
            &[("ip", "not-an-address")],
        ))
        .await;
    assert_eq!(ExecStatus::Done, result.status);
    assert!(
        matches!(result.ocf(), OcfRc::ErrArgs | OcfRc::NotConfigured),
        "{}",
        result.summary()
    );
    assert!(result.exit_reason.is_some());
    assert!(
        fx.path("run/vip1").is_dir(),
        "the executor made the instance's runtime directory"
    );
    assert_eq!(
        Some(result.rc),
        exec.history("vip1")
            .and_then(|h| h.last_op().map(|op| op.rc))
    );
}
