//! `herd-sched-bench [--lines] FILE...`: parses each CIB with herd-cib and schedules it with
//! herd-sched, printing one line per file: `parse_ms schedule_ms n_summary_lines n_actions
//! file`, and with `--lines` the summary lines after it, each indented by two spaces.
//!
//! bench/sched.sh runs it under /usr/bin/time for CPU and peak memory. I/O: reads the files,
//! prints to stdout.

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
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
        let transition = herd_sched::schedule(&cib, 0);
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
