//! `herd-synth --nodes 32 --resources 1000 --seed 1 [-o FILE]`: writes a synthetic cluster
//! CIB for the scheduler benchmark (see herd_corpus::synth).
//!
//! I/O: writes the file or stdout.

use std::io::Write as _;

use clap::Parser;

/// Writes a deterministic synthetic cluster (groups, clones, constraints, half running).
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 32)]
    nodes: usize,
    /// Number of primitives, group members and cloned primitives included.
    #[arg(long, default_value_t = 1000)]
    resources: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (default: stdout).
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let xml = herd_corpus::synth::generate(herd_corpus::synth::SynthSpec {
        nodes: args.nodes,
        resources: args.resources,
        seed: args.seed,
    });
    match &args.output {
        Some(path) => std::fs::write(path, xml)?,
        None => std::io::stdout().lock().write_all(xml.as_bytes())?,
    }
    Ok(())
}
