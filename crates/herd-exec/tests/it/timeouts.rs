//! Timeouts: an agent that ignores SIGTERM is killed with its whole process group at its
//! timeout plus the grace period, and the executor goes on.

use std::time::{Duration, Instant};

use herd_exec::{Action, ExecStatus, OcfRc, ResourceState};

use crate::support::{Fixture, process_gone, request};

#[tokio::test]
async fn hanging_stop_that_ignores_sigterm_is_killed_at_its_timeout() {
    let fx = Fixture::new();
    let exec = fx.executor(); // kill grace 300 ms
    let state = fx.state("h.state");
    let params = [("state", state.as_str()), ("hang_on", "stop")];
    assert_eq!(
        0,
        exec.execute(request("h", "ocf:test:testagent", Action::Start, &params))
            .await
            .rc
    );
    let began = Instant::now();
    let stop = exec
        .execute(request("h", "ocf:test:testagent", Action::Stop, &params).timeout_ms(300))
        .await;
    let took = began.elapsed();
    assert_eq!(ExecStatus::TimedOut, stop.status, "{}", stop.summary());
    assert_eq!(OcfRc::ErrGeneric, stop.ocf());
    let reason = stop.exit_reason.clone().unwrap();
    assert!(
        reason.contains("timed out after 300 ms") && reason.contains("SIGKILL"),
        "{reason}"
    );
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_millis(2_000),
        "took {took:?}"
    );
    let sleeper = std::fs::read_to_string(format!("{state}.sleeper")).unwrap();
    assert!(
        process_gone(&sleeper),
        "the agent's child {sleeper} survived the kill"
    );
    assert_eq!(
        Some(ResourceState::Failed),
        exec.history("h").map(|h| h.state),
        "a timed-out stop is a failed stop"
    );
    // The executor goes on: the same resource answers the next action.
    let monitor = exec
        .execute(request("h", "ocf:test:testagent", Action::Monitor, &params))
        .await;
    assert_eq!(OcfRc::Success, monitor.ocf());
}

#[tokio::test]
async fn agent_that_exits_on_sigterm_needs_no_sigkill() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("slow.state");
    let params = [("state", state.as_str()), ("sleep", "5")];
    let began = Instant::now();
    let start = exec
        .execute(request("slow", "ocf:test:testagent", Action::Start, &params).timeout_ms(200))
        .await;
    assert_eq!(ExecStatus::TimedOut, start.status);
    assert!(!start.exit_reason.unwrap_or_default().contains("SIGKILL"));
    assert!(
        began.elapsed() < Duration::from_millis(1_500),
        "took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn an_action_whose_caller_gives_up_is_killed_with_its_group() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("dropped.state");
    let params = [("state", state.as_str()), ("hang_on", "start")];
    let gave_up = tokio::time::timeout(
        Duration::from_millis(500),
        exec.execute(request(
            "dropped",
            "ocf:test:testagent",
            Action::Start,
            &params,
        )),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the start hangs, so the caller's timeout fires"
    );
    let sleeper = std::fs::read_to_string(format!("{state}.sleeper")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        process_gone(&sleeper),
        "the abandoned agent's child {sleeper} still runs"
    );
    assert_eq!(
        Some(ResourceState::Failed),
        exec.history("dropped").map(|h| h.state),
        "an abandoned start may have left something running"
    );
    let report = exec
        .stop_all_active(Instant::now() + Duration::from_secs(2))
        .await;
    assert_eq!(
        0, report.actions_aborted,
        "the abandoned action left the running table"
    );
    assert_eq!(vec!["dropped"], report.stopped, "a lease loss stops it");
}
