//! The on-disk history: a restarted executor answers probes with the recorded agent and
//! parameters, and sets aside files it cannot read.

use herd_exec::{Action, ExecError, OcfRc, ResourceState};

use crate::support::{Fixture, request};

#[tokio::test]
async fn probe_after_restart_uses_the_recorded_parameters() {
    let fx = Fixture::new();
    // A state file away from Dummy's default: only the history knows where it is.
    let state = fx.state("custom-place.state");
    let params = [("state", state.as_str())];
    {
        let exec = fx.executor();
        assert_eq!(
            0,
            exec.execute(request("d", "ocf:heartbeat:Dummy", Action::Start, &params))
                .await
                .rc
        );
        assert_eq!(
            0,
            exec.execute(request(
                "gone",
                "ocf:heartbeat:Dummy",
                Action::Start,
                &[("state", &fx.state("g.state"))]
            ))
            .await
            .rc
        );
        assert_eq!(
            0,
            exec.execute(request(
                "gone",
                "ocf:heartbeat:Dummy",
                Action::Stop,
                &[("state", &fx.state("g.state"))]
            ))
            .await
            .rc
        );
    } // the executor is gone, as after a daemon restart
    let restarted = fx.executor();
    assert_eq!(vec!["d".to_owned()], restarted.active_resources());
    let probe = restarted.probe("d").await.unwrap();
    assert_eq!(
        (Action::Monitor, 0, OcfRc::Success),
        (probe.action, probe.interval_ms, probe.ocf())
    );
    assert_eq!(
        OcfRc::NotRunning,
        restarted.probe("gone").await.unwrap().ocf()
    );
    assert!(matches!(
        restarted.probe("never").await,
        Err(ExecError::NoHistory { .. })
    ));
    let all: Vec<(String, i32)> = restarted
        .probe_all()
        .await
        .into_iter()
        .map(|r| (r.resource, r.rc))
        .collect();
    assert_eq!(vec![("d".to_owned(), 0), ("gone".to_owned(), 7)], all);
    let history = restarted.history("d").unwrap();
    assert_eq!(state, history.params["state"]);
    assert_eq!(ResourceState::Started, history.state);
    assert_eq!(
        vec![Action::Start, Action::Monitor, Action::Monitor],
        history.ops.iter().map(|op| op.action).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn history_files_are_versioned_and_unreadable_ones_refused_by_name() {
    let fx = Fixture::new();
    {
        let exec = fx.executor();
        let state = fx.state("v.state");
        exec.execute(request(
            "v:0",
            "ocf:heartbeat:Dummy",
            Action::Start,
            &[("state", &state)],
        ))
        .await;
    }
    let file = fx.path("history/v:0.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"format\": 1"), "{text}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(fx.path("history")).unwrap().permissions(),
    );
    assert_eq!(0o700, mode & 0o777, "parameters may hold secrets");
    assert!(
        !fx.path("history/.v:0.json.tmp").exists(),
        "no temporary file is left behind"
    );
    // A damaged file may be the only record that a resource runs here: refused, by name.
    for (name, text) in [
        ("broken.json", "{\"format\": 99}"),
        ("torn.json", "{\"format\": 1, \"reso"),
    ] {
        let damaged = fx.path(&format!("history/{name}"));
        std::fs::write(&damaged, text).unwrap();
        let err = herd_exec::Executor::new(fx.config())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&damaged.display().to_string()) && err.contains("restore the file"),
            "{err}"
        );
        std::fs::remove_file(&damaged).unwrap();
    }
    let restarted = fx.executor();
    assert_eq!(vec!["v:0".to_owned()], restarted.active_resources());
    restarted.forget("v:0").unwrap();
    assert!(!file.exists() && restarted.history("v:0").is_none());
}
