//! `herd cleanup [RESOURCE] [--node N]`: clears fail counts (of one resource or all, on one
//! node or all) as one command committed through the DC, like `crm_resource --cleanup`.
//!
//! I/O: the admin socket (through `admin_client`), stdout and stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use herd_api::Request;

/// Clear fail counts.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The resource (default: every resource)
    pub resource: Option<String>,
    /// Only on this node (default: every node)
    #[arg(long, short = 'N', value_name = "NODE")]
    pub node: Option<String>,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: CleanupArgs) -> ExitCode {
    let request = Request::ClearFailCounts {
        resource: args.resource,
        node: args.node,
    };
    super::admin_client::run_simple("herd cleanup", args.config.as_deref(), request)
}
