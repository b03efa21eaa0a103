//! `herd node add NAME ADDR..` and `herd node remove NAME`: membership changes, carried out by
//! the leader (learner first, then voter, by joint consensus). Talks to the local agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use herd_api::Request;

/// Change the cluster's membership.
#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub action: NodeAction,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum NodeAction {
    /// Add a node (learner first, then voter)
    Add {
        /// The node's name, as in its herd.toml
        name: String,
        /// One or two link addresses, HOST:PORT
        #[arg(required = true, num_args = 1..=2)]
        addrs: Vec<String>,
        /// The node is a witness (votes, never runs resources, never DC)
        #[arg(long)]
        witness: bool,
    },
    /// Remove a node from the membership
    Remove { name: String },
}

pub fn run(args: NodeArgs) -> ExitCode {
    let request = match args.action {
        NodeAction::Add {
            name,
            addrs,
            witness,
        } => Request::NodeAdd {
            name,
            addrs,
            witness,
        },
        NodeAction::Remove { name } => Request::NodeRemove { name },
    };
    super::admin_client::run_simple(args.config.as_deref(), request)
}
