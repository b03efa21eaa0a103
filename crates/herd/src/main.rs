//! The `herd` binary: parses the command line and hands it to the crate that does the work.
//!
//! This file only dispatches. Client commands live in `herd-cli`; the per-node daemon
//! (`herd agent`) lives in `herd-daemon`. Nothing here decides anything.

use std::process::ExitCode;

use clap::Parser;

mod sigpipe;

fn main() -> ExitCode {
    let cli = herd_cli::Cli::parse();
    match cli.command {
        herd_cli::Command::Agent(args) => {
            herd_daemon::run(&herd_config::locate(args.config.as_deref()))
        }
        _ => {
            sigpipe::restore_default();
            herd_cli::run(cli)
        }
    }
}
