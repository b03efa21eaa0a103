//! `herd cluster init`: form the cluster now with the nodes seen so far, instead of waiting
//! for every listed node (wait-for-all). Talks to the local agent's admin socket.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use herd_api::Request;

/// Cluster-wide actions.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub action: ClusterAction,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Form the cluster now with this node and the nodes it can reach
    Init,
}

pub fn run(args: ClusterArgs) -> ExitCode {
    match args.action {
        ClusterAction::Init => super::admin_client::run_simple(
            "herd cluster init",
            args.config.as_deref(),
            Request::ClusterInit,
        ),
    }
}
