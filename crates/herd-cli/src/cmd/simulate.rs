//! `herd simulate -x FILE [-S]`: loads a CIB file and prints what the scheduler decides.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `herd simulate`, named as crm_simulate names them.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The CIB XML file to read (configuration and status)
    #[arg(short = 'x', long = "xml-file", value_name = "FILE")]
    pub xml_file: PathBuf,
    /// Also run the transition: print the executed actions and the revised status
    #[arg(short = 'S', long = "simulate")]
    pub simulate: bool,
    /// Print the transition as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `herd simulate`.
pub fn run(args: SimulateArgs) -> ExitCode {
    eprintln!(
        "herd simulate: {}: the scheduler is not built yet",
        args.xml_file.display()
    );
    ExitCode::from(2)
}
