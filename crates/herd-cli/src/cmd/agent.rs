//! `herd agent --config FILE`: the arguments only. The `herd` binary runs the daemon
//! (herd-daemon); this crate does not depend on it.

use std::path::PathBuf;

use clap::Args;

/// Run this node's agent in the foreground (logs to stderr).
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}
