//! Lease loss: every active resource is stopped at once, within the deadline, and the
//! report names what could not be stopped.

use std::time::{Duration, Instant};

use herd_exec::{Action, ResourceState};

use crate::support::{Fixture, request};

#[tokio::test]
async fn stop_all_active_stops_everything_within_the_bound_and_reports_a_hung_stop() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let mut states = Vec::new();
    for i in 0..3 {
        let state = fx.state(&format!("d{i}.state"));
        let params = [("state", state.as_str())];
        assert_eq!(
            0,
            exec.execute(request(
                &format!("d{i}"),
                "ocf:heartbeat:Dummy",
                Action::Start,
                &params
            ))
            .await
            .rc
        );
        states.push(state);
    }
    let hang_state = fx.state("hang.state");
    let hang = [("state", hang_state.as_str()), ("hang_on", "stop")];
    assert_eq!(
        0,
        exec.execute(request("hang", "ocf:test:testagent", Action::Start, &hang))
            .await
            .rc
    );
    exec.start_recurring(
        request(
            "d0",
            "ocf:heartbeat:Dummy",
            Action::Monitor,
            &[("state", &states[0])],
        )
        .interval_ms(60_000),
    )
    .unwrap();
    let stopped_state = fx.state("never.state");
    exec.execute(request(
        "idle",
        "ocf:heartbeat:Dummy",
        Action::Monitor,
        &[("state", &stopped_state)],
    ))
    .await;

    let began = Instant::now();
    let report = exec
        .stop_all_active(began + Duration::from_millis(1_500))
        .await;
    let took = began.elapsed();
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
    assert!(report.within_deadline);
    assert_eq!(vec!["d0", "d1", "d2"], report.stopped);
    assert_eq!(1, report.failed.len());
    assert_eq!("hang", report.failed[0].resource);
    assert!(
        report.failed[0].reason.contains("timed out"),
        "{}",
        report.failed[0].reason
    );
    assert_eq!(1, report.monitors_cancelled);
    assert!(!report.all_stopped());
    assert!(states.iter().all(|s| !std::path::Path::new(s).exists()));
    assert_eq!(vec!["hang".to_owned()], exec.active_resources());
    assert_eq!(
        Some(ResourceState::Failed),
        exec.history("hang").map(|h| h.state)
    );
}

#[tokio::test]
async fn stop_all_active_aborts_an_action_in_flight_and_stops_it_within_the_default_bound() {
    let fx = Fixture::new();
    // The shipped defaults: 2 s kill grace, 1.5 s to stop everything after a lease loss.
    let config = herd_exec::ExecConfig {
        kill_grace_ms: herd_exec::KILL_GRACE_MS_DEFAULT,
        ..fx.config()
    };
    let bound = Duration::from_millis(herd_exec::LEASE_LOSS_STOP_TIMEOUT_MS_DEFAULT);
    let exec = herd_exec::Executor::new(config).unwrap();
    let quick_state = fx.state("quick.state");
    let quick = [("state", quick_state.as_str())];
    assert_eq!(
        0,
        exec.execute(request(
            "quick",
            "ocf:test:testagent",
            Action::Start,
            &quick
        ))
        .await
        .rc
    );
    let busy_state = fx.state("busy.state");
    let busy = [
        ("state", busy_state.as_str()),
        ("sleep", "5"),
        ("sleep_on", "start"),
    ];
    let in_flight = tokio::spawn({
        let exec = exec.clone();
        let req = request("busy", "ocf:test:testagent", Action::Start, &busy);
        async move { exec.execute(req).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let began = Instant::now();
    let report = exec.stop_all_active(began + bound).await;
    let took = began.elapsed();
    assert!(took < bound, "took {took:?}");
    assert!(report.all_stopped(), "{report:?}");
    assert_eq!(vec!["busy", "quick"], report.stopped);
    assert_eq!(1, report.actions_aborted);
    let aborted = in_flight.await.unwrap();
    assert_eq!(herd_exec::ExecStatus::Cancelled, aborted.status);
    assert!(exec.active_resources().is_empty());
}
