//! Figures (not timed tests): executor overhead per action, throughput under the node limit,
//! and how long stopping 50 resources takes after a lease loss. Only with HERD_HEAVY_TESTS=1:
//! `HERD_HEAVY_TESTS=1 cargo test -p herd-exec --test it bench -- --nocapture`

use std::time::{Duration, Instant};

use herd_exec::{Action, ExecConfig, Executor};

use crate::support::{Fixture, request};

fn heavy() -> bool {
    let on = std::env::var("HERD_HEAVY_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: set HERD_HEAVY_TESTS=1 to print the executor's figures");
    }
    on
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let index = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1000.0
}

async fn latencies(
    exec: &Executor,
    spec: &str,
    params: &[(&str, &str)],
    runs: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let began = Instant::now();
        exec.execute(request("bench", spec, Action::Monitor, params))
            .await;
        times.push(began.elapsed());
    }
    times.sort();
    times
}

#[tokio::test]
async fn bench_executor_figures() {
    if !heavy() {
        return;
    }
    let fx = Fixture::new();
    fx.add_agent("true", "#!/bin/sh\nexit 7\n");
    let exec = fx.executor();
    for (spec, params, runs) in [
        ("ocf:test:true", vec![], 300),
        (
            "ocf:heartbeat:Dummy",
            vec![("state", "/nonexistent/x")],
            100,
        ),
    ] {
        let times = latencies(&exec, spec, &params, runs).await;
        println!(
            "bench: {spec} monitor x{runs}: p50 {:.2} ms, p99 {:.2} ms (spawn, env, wait, history write)",
            percentile(&times, 50),
            percentile(&times, 99)
        );
    }
    let no_history = Executor::new(ExecConfig {
        history_dir: None,
        ..fx.config()
    })
    .unwrap();
    let times = latencies(&no_history, "ocf:test:true", &[], 300).await;
    println!(
        "bench: ocf:test:true monitor x300 without history files: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 50),
        percentile(&times, 99)
    );
    let exec = Executor::new(ExecConfig {
        max_concurrent_actions: 8,
        ..fx.config()
    })
    .unwrap();
    let states: Vec<String> = (0..50).map(|i| fx.state(&format!("b{i}.state"))).collect();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (i, state) in states.iter().enumerate() {
        let exec = exec.clone();
        let req = request(
            &format!("b{i}"),
            "ocf:heartbeat:Dummy",
            Action::Start,
            &[("state", state)],
        );
        tasks.push(tokio::spawn(async move { exec.execute(req).await }));
    }
    for task in tasks {
        assert_eq!(0, task.await.unwrap().rc);
    }
    println!(
        "bench: 50 Dummy starts, max_concurrent_actions 8: {:.0} ms",
        began.elapsed().as_secs_f64() * 1000.0
    );
    let began = Instant::now();
    let report = exec
        .stop_all_active(began + Duration::from_millis(1_500))
        .await;
    println!(
        "bench: stop_all_active on 50 active Dummy resources: {} ms, {} stopped, {} failed",
        report.elapsed_ms,
        report.stopped.len(),
        report.failed.len()
    );
    assert!(report.all_stopped());
}
