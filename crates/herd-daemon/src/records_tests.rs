//! Unit tests of `records.rs`: which executor results are failures, which are changes worth a
//! log entry, and which commands the DC commits for them. No I/O.

use herd_exec::{StopAllReport, StopFailure};

use super::*;

const EPOCH: DcEpoch = DcEpoch { term: 3, leader: 9 };

fn result(resource: &str, action: Action, rc: i32) -> OpResult {
    OpResult {
        resource: resource.into(),
        agent: "ocf:heartbeat:Dummy".into(),
        action,
        interval_ms: 0,
        rc,
        status: ExecStatus::Done,
        exit_reason: None,
        output: String::new(),
        started_ms: 1_700_000_000_500,
        duration_ms: 3,
        call_id: 1,
    }
}

fn report(op: &str, rc: i32, failed: bool) -> OpReport {
    OpReport {
        resource: "web".into(),
        node: "n1".into(),
        op: op.into(),
        rc,
        failed,
        exit_reason: None,
        at_s: 100,
    }
}

fn recorded(op: &str, rc: i32) -> ResourceOp {
    ResourceOp {
        op: op.into(),
        rc,
        dc_epoch: EPOCH,
        exit_reason: None,
    }
}

#[test]
fn a_probe_fails_only_when_neither_running_nor_stopped() {
    let results = [
        result("a", Action::Monitor, 0),
        result("b", Action::Monitor, 7),
        result("c", Action::Monitor, 1),
        OpResult {
            status: ExecStatus::TimedOut,
            ..result("d", Action::Monitor, 0)
        },
    ];
    let reports = reports_from_probes("n1", &results);
    let failed: Vec<bool> = reports.iter().map(|r| r.failed).collect();
    assert_eq!(failed, [false, false, true, true]);
    assert_eq!(reports[0].op, "monitor_0");
    assert_eq!(reports[0].at_s, 1_700_000_000);
}

#[test]
fn a_stop_that_never_ran_is_reported_as_a_failed_stop() {
    let report = StopAllReport {
        elapsed_ms: 1500,
        within_deadline: false,
        monitors_cancelled: 0,
        actions_aborted: 1,
        stopped: vec!["a".into()],
        failed: vec![StopFailure {
            resource: "b".into(),
            reason: "still busy at the deadline".into(),
        }],
        results: vec![result("a", Action::Stop, 0)],
    };
    let reports = reports_from_stop_all("n1", &report, 42);
    assert_eq!(reports.len(), 2);
    assert!(!reports[0].failed && reports[0].op == "stop_0");
    assert!(reports[1].failed && reports[1].resource == "b" && reports[1].at_s == 42);
    assert_eq!(
        reports[1].exit_reason.as_deref(),
        Some("still busy at the deadline")
    );
}

#[test]
fn a_recurring_monitor_that_finds_the_resource_stopped_is_a_failure() {
    let event = |rc| MonitorEvent {
        result: OpResult {
            interval_ms: 10_000,
            ..result("web", Action::Monitor, rc)
        },
        previous_rc: Some(0),
    };
    let stopped = report_from_monitor("n2", &event(7));
    assert!(stopped.failed && stopped.op == "monitor_10000" && stopped.node == "n2");
    assert!(!report_from_monitor("n2", &event(0)).failed);
}

#[test]
fn a_successful_monitor_that_confirms_the_state_is_no_change() {
    let started = recorded("start_0", 0);
    assert!(!is_change(Some(&started), &report("monitor_0", 0, false)));
    assert!(!is_change(
        Some(&recorded("stop_0", 0)),
        &report("monitor_0", 7, false)
    ));
    // A monitor that finds it stopped, or failed differently, is a change; so is every stop.
    assert!(is_change(Some(&started), &report("monitor_0", 7, false)));
    assert!(is_change(
        Some(&recorded("monitor_0", 1)),
        &report("monitor_0", 2, true)
    ));
    assert!(is_change(Some(&started), &report("stop_0", 0, false)));
    assert!(is_change(None, &report("monitor_0", 0, false)));
}

#[test]
fn a_failure_records_the_op_and_one_more_fail_count() {
    let mut state = ClusterState::default();
    let commands = commands_for(&state, &[report("monitor_0", 1, true)], EPOCH);
    assert_eq!(commands.len(), 2);
    for command in &commands {
        state.apply(command);
    }
    assert_eq!(state.resources["web"]["n1"].rc, 1);
    let key = ("web".to_string(), "n1".to_string(), "monitor_0".to_string());
    assert_eq!(state.fail_counts[&key].count, 1);
    assert_eq!(state.fail_counts[&key].last_failure_s, 100);
    // A later failure alike: no new op record (nothing changed), but one more failure.
    let again = OpReport {
        at_s: 160,
        ..report("monitor_0", 1, true)
    };
    let commands = commands_for(&state, &[again], EPOCH);
    assert!(matches!(
        commands.as_slice(),
        [Command::RecordFailure {
            at_s: 160,
            dc_epoch: EPOCH,
            ..
        }]
    ));
    for command in &commands {
        state.apply(command);
    }
    assert_eq!(state.fail_counts[&key].count, 2);
    assert_eq!(state.fail_counts[&key].last_failure_s, 160);
}

#[test]
fn a_report_sent_again_counts_its_failure_once() {
    let mut state = ClusterState::default();
    let failed = report("stop_0", 1, true);
    for command in commands_for(&state, std::slice::from_ref(&failed), EPOCH) {
        state.apply(&command);
    }
    assert!(commands_for(&state, &[failed], EPOCH).is_empty());
}

#[test]
fn failures_in_one_batch_add_up() {
    let later = OpReport {
        at_s: 101,
        ..report("stop_0", 1, true)
    };
    let reports = [report("stop_0", 1, true), later];
    let mut state = ClusterState::default();
    for command in commands_for(&state.clone(), &reports, EPOCH) {
        state.apply(&command);
    }
    let key = ("web".to_string(), "n1".to_string(), "stop_0".to_string());
    assert_eq!(state.fail_counts[&key].count, 2);
    // The whole batch sent again (its answer lost) counts nothing more.
    assert!(commands_for(&state, &reports, EPOCH).is_empty());
}

#[test]
fn a_cleanup_between_reading_and_committing_is_not_undone() {
    let mut state = ClusterState::default();
    let first = report("monitor_0", 1, true);
    for command in commands_for(&state, &[first], EPOCH) {
        state.apply(&command);
    }
    // The DC builds its commands from the state it has applied...
    let later = OpReport {
        at_s: 200,
        ..report("monitor_0", 1, true)
    };
    let commands = commands_for(&state, &[later], EPOCH);
    // ... and `herd cleanup` commits before they apply.
    state.apply(&Command::ClearFailCounts {
        resource: None,
        node: None,
    });
    for command in &commands {
        state.apply(command);
    }
    let key = ("web".to_string(), "n1".to_string(), "monitor_0".to_string());
    assert_eq!(state.fail_counts[&key].count, 1);
}

#[test]
fn resulting_state_reads_the_action_and_rc() {
    assert_eq!(resulting_state("monitor_0", 0), "started");
    assert_eq!(resulting_state("monitor_10000", 8), "started");
    assert_eq!(resulting_state("monitor_0", 7), "stopped");
    assert_eq!(resulting_state("stop_0", 0), "stopped");
    assert_eq!(resulting_state("migrate_to_0", 0), "stopped");
    assert_eq!(resulting_state("stop_0", 1), "failed");
    assert_eq!(resulting_state("monitor_0", 5), "failed");
}
