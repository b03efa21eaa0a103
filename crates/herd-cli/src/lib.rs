//! herd's command line: one clap tree, one module per command under [`cmd`].
//!
//! Every client command lives here; `herd agent` (the daemon) is dispatched by the `herd`
//! binary to `herd-daemon`. Commands print for people by default and take `--json` where
//! they report state. Errors are printed once, to stderr, with the exit code the command
//! documents (2 for bad input, 1 for other failures).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cmd;

/// herd: a high-availability cluster stack in one binary.
///
/// Membership and quorum, a Pacemaker-compatible resource manager, resource agents,
/// fencing, and replicated block storage for virtual-machine disks.
#[derive(Debug, Parser)]
#[command(name = "herd", version, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands, one line each in `herd --help`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run this node's agent in the foreground (logs to stderr)
    Agent(cmd::agent::AgentArgs),
    /// Show the cluster: DC, quorum, nodes and their states (like crm_mon)
    Status(cmd::status::StatusArgs),
    /// Cluster-wide actions: `herd cluster init` forms the cluster now
    Cluster(cmd::cluster::ClusterArgs),
    /// Membership: `herd node add NAME ADDR..`, `herd node remove NAME`
    Node(cmd::node::NodeArgs),
    /// Compute what the cluster would do next for a CIB file (like crm_simulate)
    Simulate(cmd::simulate::SimulateArgs),
    /// Write a new random cluster key to FILE (mode 0600)
    Keygen(cmd::keygen::KeygenArgs),
    /// Check the configuration file (herd config check)
    Config(cmd::config::ConfigArgs),
    /// Resource agents by hand: list, info, exec one action, check an agent
    Ra(cmd::ra::RaArgs),
    /// The replicated configuration: `herd cib get`, `herd cib put FILE` (like cibadmin)
    Cib(cmd::cib::CibArgs),
    /// Read, set or delete a node attribute (like crm_attribute)
    Attribute(cmd::attribute::AttributeArgs),
    /// Show fail counts and last failures (like crm_failcount)
    Failcount(cmd::failcount::FailcountArgs),
    /// Clear fail counts, as one committed change (like crm_resource --cleanup)
    Cleanup(cmd::cleanup::CleanupArgs),
}

/// Runs one parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Agent(_) => {
            eprintln!("herd: `herd agent` is run by the herd binary, not by herd-cli");
            ExitCode::FAILURE
        }
        Command::Status(args) => cmd::status::run(args),
        Command::Cluster(args) => cmd::cluster::run(args),
        Command::Node(args) => cmd::node::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Keygen(args) => cmd::keygen::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Ra(args) => cmd::ra::run(args),
        Command::Cib(args) => cmd::cib::run(args),
        Command::Attribute(args) => cmd::attribute::run(args),
        Command::Failcount(args) => cmd::failcount::run(args),
        Command::Cleanup(args) => cmd::cleanup::run(args),
    }
}
