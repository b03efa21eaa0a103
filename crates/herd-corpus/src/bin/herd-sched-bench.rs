//! `herd-sched-bench [--lines] FILE...`: parses each CIB with herd-cib and schedules it with
//! herd-sched, printing one line per file: `parse_ms schedule_ms n_summary_lines n_actions
//! file`, and with `--lines` the summary lines after it, each indented by two spaces.
//! `herd-sched-bench --parse-only N FILE...` parses each file N times and prints the fastest
//! parse in ms (the parser's own figure, less disturbed by a busy machine).
//!
//! bench/sched.sh runs it under /usr/bin/time for CPU and peak memory. I/O: reads the files,
//! prints to stdout.

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.first().is_some_and(|arg| arg == "--parse-only") {
        let rounds: u32 = files.get(1).and_then(|n| n.parse().ok()).unwrap_or(5);
        return parse_only(&files[2.min(files.len())..], rounds.max(1));
    }
    let print_lines = files.first().is_some_and(|arg| arg == "--lines");
    if print_lines {
        files.remove(0);
    }
    if files.is_empty() {
        anyhow::bail!("usage: herd-sched-bench [--lines] CIB.xml...");
    }
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let started = Instant::now();
        let (cib, _diagnostics) = herd_cib::parse_str(&text, &file)?;
        let parsed = started.elapsed();
        let transition = herd_sched::schedule(&cib, herd_corpus::wall_clock_now());
        let scheduled = started.elapsed() - parsed;
        let lines = transition.summary_lines();
        println!(
            "{:.3} {:.3} {} {} {file}",
            parsed.as_secs_f64() * 1000.0,
            scheduled.as_secs_f64() * 1000.0,
            lines.len(),
            transition.actions.len(),
        );
        if print_lines {
            for line in lines {
                println!("  {line}");
            }
        }
    }
    Ok(())
}

fn parse_only(files: &[String], rounds: u32) -> anyhow::Result<()> {
    for file in files {
        let text = std::fs::read_to_string(file)?;
        let mut best_ms = f64::MAX;
        let mut n_diagnostics = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            let (cib, diagnostics) = herd_cib::parse_str(&text, file)?;
            best_ms = best_ms.min(started.elapsed().as_secs_f64() * 1000.0);
            n_diagnostics = diagnostics.len();
            drop(cib);
        }
        println!(
            "parse {best_ms:.1} ms (best of {rounds}), {} bytes, {n_diagnostics} diagnostics: {file}",
            text.len()
        );
    }
    Ok(())
}
