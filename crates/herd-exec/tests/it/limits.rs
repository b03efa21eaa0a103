//! One action at a time per resource, at most `max_concurrent_actions` per node.

use std::time::Instant;

use herd_exec::{Action, OcfRc};

use crate::support::{Fixture, request};

/// (instance, begin, end) intervals from a test agent's log.
fn intervals(log: &str) -> Vec<(String, f64, f64)> {
    let mut open: Vec<(String, String, f64)> = Vec::new();
    let mut done = Vec::new();
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [kind, instance, action, time] = words.as_slice() else {
            panic!("bad log line {line:?}")
        };
        let time: f64 = time.parse().unwrap();
        if *kind == "begin" {
            open.push(((*instance).to_owned(), (*action).to_owned(), time));
        } else {
            let at = open
                .iter()
                .position(|(i, a, _)| i == instance && a == action)
                .unwrap();
            let (instance, _, begin) = open.remove(at);
            done.push((instance, begin, time));
        }
    }
    done
}

/// The largest number of intervals open at one time.
fn max_overlap(intervals: &[(String, f64, f64)]) -> usize {
    let mut edges: Vec<(f64, i32)> = intervals
        .iter()
        .flat_map(|(_, b, e)| [(*b, 1), (*e, -1)])
        .collect();
    edges.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mut open = 0i32;
    let mut max = 0i32;
    for (_, delta) in edges {
        open += delta;
        max = max.max(open);
    }
    usize::try_from(max).unwrap()
}

#[tokio::test]
async fn two_actions_of_one_resource_never_overlap() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let (state, log) = (fx.state("one.state"), fx.state("one.log"));
    let params = [
        ("state", state.as_str()),
        ("log", log.as_str()),
        ("sleep", "0.2"),
    ];
    let run = |action| exec.execute(request("one", "ocf:test:testagent", action, &params));
    let (start, monitor, promote) = tokio::join!(
        run(Action::Start),
        run(Action::Monitor),
        run(Action::Promote)
    );
    assert_eq!(0, start.rc);
    assert!(
        monitor.call_id > start.call_id && promote.call_id > monitor.call_id,
        "queued in arrival order"
    );
    let intervals = intervals(&std::fs::read_to_string(&log).unwrap());
    assert_eq!(3, intervals.len());
    assert_eq!(1, max_overlap(&intervals), "{intervals:?}");
}

#[tokio::test]
async fn pacemaker_dummy_sees_no_two_monitors_at_once() {
    // ocf:pacemaker:Dummy with op_sleep fails a monitor that overlaps another one
    // ("alternate universe collision"): Pacemaker's own check of its executor.
    let fx = Fixture::new();
    let exec = fx.executor();
    let state = fx.state("pd.state");
    let params = [("state", state.as_str()), ("op_sleep", "1")];
    assert_eq!(
        0,
        exec.execute(request("pd", "ocf:pacemaker:Dummy", Action::Start, &params))
            .await
            .rc
    );
    let run = || {
        exec.execute(request(
            "pd",
            "ocf:pacemaker:Dummy",
            Action::Monitor,
            &params,
        ))
    };
    let (first, second) = tokio::join!(run(), run());
    assert_eq!(
        (OcfRc::Success, OcfRc::Success),
        (first.ocf(), second.ocf()),
        "{}",
        second.summary()
    );
}

#[tokio::test]
async fn concurrency_limit_holds_across_resources() {
    let fx = Fixture::new();
    let exec = herd_exec::Executor::new(herd_exec::ExecConfig {
        max_concurrent_actions: 2,
        ..fx.config()
    })
    .unwrap();
    let log = fx.state("many.log");
    let states: Vec<String> = (0..6).map(|i| fx.state(&format!("r{i}.state"))).collect();
    let began = Instant::now();
    let runs = states.iter().enumerate().map(|(i, state)| {
        let params = [
            ("state", state.as_str()),
            ("log", log.as_str()),
            ("sleep", "0.2"),
        ];
        exec.execute(request(
            &format!("r{i}"),
            "ocf:test:testagent",
            Action::Start,
            &params,
        ))
    });
    let results = futures_join_all(runs.collect()).await;
    assert!(results.iter().all(|r| r.rc == 0));
    let intervals = intervals(&std::fs::read_to_string(&log).unwrap());
    assert_eq!(6, intervals.len());
    assert_eq!(2, max_overlap(&intervals), "{intervals:?}");
    assert!(
        began.elapsed().as_secs_f64() >= 0.6,
        "six 0.2 s actions two at a time take 0.6 s at least"
    );
}

/// Runs futures concurrently on the current task (no extra dependency for join_all).
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}
