//! `cargo run -p herd-corpus --release -- [--failing] [--diff] [--tag TAG] [--case NAME]`:
//! prints the corpus pass table (overall, per feature tag, failing cases).
//!
//! I/O: reads the corpus (HERD_SCHEDULER_CASES or ../shared/scheduler-cases), prints to
//! stdout. Exit 1 when the exact or multiset count is below floor.toml.

use clap::Parser;

/// Runs the Pacemaker scheduler corpus through herd-sched and prints the pass table.
#[derive(Debug, Parser)]
struct Args {
    /// List every case that is not an exact match.
    #[arg(long)]
    failing: bool,
    /// With --failing: show expected and produced lines.
    #[arg(long)]
    diff: bool,
    /// Only cases with this feature tag (repeatable: any of them).
    #[arg(long)]
    tag: Vec<String>,
    /// Only these cases (repeatable).
    #[arg(long)]
    case: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = herd_corpus::cases_dir()?;
    let report = herd_corpus::run_all(&dir, |info| {
        (args.tag.is_empty() || info.tags.iter().any(|tag| args.tag.contains(tag)))
            && (args.case.is_empty() || args.case.contains(&info.name))
    })?;
    print!("{}", report.table(args.failing || args.diff, args.diff));
    let floor = herd_corpus::Floor::load(&herd_corpus::Floor::default_path())?;
    let counts = report.counts();
    let whole_corpus = args.tag.is_empty() && args.case.is_empty();
    println!(
        "floor (floor.toml): exact {}, multiset {}",
        floor.exact, floor.multiset
    );
    if whole_corpus && (counts.exact < floor.exact || counts.multiset < floor.multiset) {
        println!("BELOW FLOOR");
        std::process::exit(1);
    }
    Ok(())
}
