//! `herd status [--json] [--watch]`: the cluster as the local agent sees it, like crm_mon:
//! cluster name, DC, quorum, nodes and their states. The JSON is herd-api's `ClusterStatus`.
//!
//! I/O: the admin socket (through `admin_client`) and stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use herd_api::{ClusterStatus, Request, Response};

/// Show the cluster: DC, quorum, nodes.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON: {"cluster", "dc", "quorate", "nodes": [{"name", "state", ...}], ...}
    #[arg(long)]
    pub json: bool,
    /// Refresh every second until interrupted
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: StatusArgs) -> ExitCode {
    loop {
        let code = once(&args);
        if !args.watch {
            return code;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn once(args: &StatusArgs) -> ExitCode {
    let answer = super::admin_client::request(
        args.config.as_deref(),
        Request::Status,
        Duration::from_secs(5),
    );
    let status = match answer {
        Ok(Response::Status(status)) => status,
        Ok(Response::Error { message }) => {
            eprintln!("herd: {message}");
            return ExitCode::FAILURE;
        }
        Ok(other) => {
            eprintln!("herd: unexpected answer from the agent: {other:?}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("herd: {e}");
            return e.exit_code();
        }
    };
    if args.watch && !args.json {
        print!("\x1b[2J\x1b[H");
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("status serializes")
        );
    } else {
        print!("{}", human(&status));
    }
    ExitCode::SUCCESS
}

/// The crm_mon-like text.
pub fn human(status: &ClusterStatus) -> String {
    let mut out = format!("Cluster: {} (seen from {})\n", status.cluster, status.local);
    let quorum = if status.quorate {
        "partition with quorum"
    } else {
        "partition WITHOUT quorum"
    };
    match (&status.dc, &status.dc_epoch) {
        (Some(dc), Some(epoch)) => out.push_str(&format!("DC: {dc} (epoch {epoch}) - {quorum}\n")),
        (Some(dc), None) => out.push_str(&format!("DC: {dc} - {quorum}\n")),
        (None, _) if status.forming => out.push_str(
            "DC: NONE - cluster forming (waiting for all nodes, or `herd cluster init`)\n",
        ),
        (None, _) => out.push_str(&format!("DC: NONE - {quorum}\n")),
    }
    out.push_str(&format!(
        "Config epoch: {}, term: {}, lease: {}\n",
        status.config_epoch,
        status.term,
        if status.lease { "held" } else { "none" }
    ));
    out.push_str(&format!("\nNodes ({}):\n", status.nodes.len()));
    for node in &status.nodes {
        let witness = if node.witness { " witness" } else { "" };
        out.push_str(&format!(
            "  * {:<12} {:<8} {}{} {}\n",
            node.name,
            node.state,
            node.role,
            witness,
            node.addrs.join(",")
        ));
    }
    if !status.links.is_empty() {
        out.push_str("\nLinks:\n");
        for link in &status.links {
            let rtt = link
                .rtt_us
                .map(|us| format!(" rtt {us} us"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  * {} link {} {} {}{}\n",
                link.peer, link.link, link.addr, link.state, rtt
            ));
        }
    }
    out
}
