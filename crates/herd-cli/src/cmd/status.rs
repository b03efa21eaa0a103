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
    /// Refresh every second until interrupted (Ctrl-C); shows each change once
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

const COMMAND: &str = "herd status";

pub fn run(args: StatusArgs) -> ExitCode {
    if args.watch {
        let mut sleep = || std::thread::sleep(Duration::from_secs(1));
        return watch(|| fetch(&args), args.json, &mut sleep);
    }
    match fetch(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{COMMAND}: {}", failure.message);
            failure.code
        }
    }
}

/// Why one status request failed, and whether waiting can help.
#[derive(Debug)]
struct Failure {
    message: String,
    code: ExitCode,
    /// False for a configuration error: it cannot fix itself, `--watch` stops.
    retry: bool,
}

/// One answer from the agent, rendered (JSON or the crm_mon-like text).
fn fetch(args: &StatusArgs) -> Result<String, Failure> {
    let answer = super::admin_client::request(
        args.config.as_deref(),
        Request::Status,
        Duration::from_secs(5),
    );
    let failure = |message: String| Failure {
        message,
        code: ExitCode::FAILURE,
        retry: true,
    };
    let status = match answer {
        Ok(Response::Status(status)) => status,
        Ok(Response::Error { message }) => return Err(failure(message)),
        Ok(other) => {
            return Err(failure(format!(
                "unexpected answer from the agent: {other:?}"
            )));
        }
        Err(e) => {
            return Err(Failure {
                message: e.to_string(),
                code: e.exit_code(),
                retry: !matches!(e, super::admin_client::ClientError::Config(_)),
            });
        }
    };
    Ok(if args.json {
        let json = serde_json::to_string_pretty(&status).expect("status serializes");
        format!("{json}\n")
    } else {
        human(&status)
    })
}

/// `--watch`: asks every `sleep`, shows an answer or an error only when it differs from the
/// last one shown (an agent that is down is reported once, not every second). Returns only on
/// a configuration error; Ctrl-C ends it otherwise.
fn watch(
    mut fetch: impl FnMut() -> Result<String, Failure>,
    json: bool,
    sleep: &mut dyn FnMut(),
) -> ExitCode {
    let mut shown: Option<Result<String, String>> = None;
    loop {
        let now = match fetch() {
            Ok(text) => Ok(text),
            Err(failure) if !failure.retry => {
                eprintln!("{COMMAND}: {}", failure.message);
                return failure.code;
            }
            Err(failure) => Err(failure.message),
        };
        if shown.as_ref() != Some(&now) {
            match &now {
                Ok(text) if json => print!("{text}"),
                Ok(text) => print!("\x1b[2J\x1b[H{text}"),
                Err(message) => {
                    eprintln!("{COMMAND}: {message} (retrying every second; Ctrl-C to stop)")
                }
            }
            let _ = std::io::Write::flush(&mut std::io::stdout());
            shown = Some(now);
        }
        sleep();
    }
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
        // The epoch is TERM.LEADER-ID; the id is a hash, so people get the term only
        // (`--json` keeps the whole epoch).
        (Some(dc), Some(epoch)) => {
            let term = epoch.split('.').next().unwrap_or(epoch);
            out.push_str(&format!("DC: {dc} (elected in term {term}) - {quorum}\n"));
        }
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
    out.push_str(&storage_line(status));
    if let Some(disk) = &status.disk {
        out.push_str(&format!("Disk: {}\n", disk.summary()));
    }
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
    out.push_str(&records_text(status));
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

fn storage_line(status: &ClusterStatus) -> String {
    format!(
        "Storage epoch: {} (members: {})\n",
        status.storage_epoch,
        if status.storage_members.is_empty() {
            "none".to_string()
        } else {
            status.storage_members.join(", ")
        }
    )
}

/// Resources, node attributes and failures, as crm_mon -1rfA shows them.
fn records_text(status: &ClusterStatus) -> String {
    let mut out = String::new();
    if !status.resources.is_empty() {
        out.push_str("\nResources (last recorded operation per node):\n");
        for r in &status.resources {
            out.push_str(&format!(
                "  * {:<16} {:<8} {:<8} ({} rc={})\n",
                r.resource, r.node, r.state, r.op, r.rc
            ));
        }
    }
    if !status.node_attributes.is_empty() {
        out.push_str("\nNode Attributes:\n");
        for (node, attrs) in &status.node_attributes {
            out.push_str(&format!("  * Node {node}:\n"));
            for (name, value) in attrs {
                out.push_str(&format!("    * {name:<24}: {value}\n"));
            }
        }
    }
    if !status.failures.is_empty() {
        out.push_str("\nFailed Resource Actions:\n");
        for f in &status.failures {
            let reason = status
                .resources
                .iter()
                .find(|r| r.resource == f.resource && r.node == f.node && r.op == f.op)
                .and_then(|r| r.exit_reason.as_ref())
                .map(|reason| format!(" ({reason})"))
                .unwrap_or_default();
            out.push_str(&format!("  * {}{reason}\n", super::failcount::line(f)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_stops_at_once_on_a_config_error() {
        let mut asked = 0;
        let code = watch(
            || {
                asked += 1;
                Err(Failure {
                    message: "herd.toml: cannot read the configuration file".into(),
                    code: ExitCode::from(2),
                    retry: false,
                })
            },
            false,
            &mut || panic!("a config error cannot fix itself: watch must not wait"),
        );
        assert_eq!(code, ExitCode::from(2));
        assert_eq!(asked, 1);
    }

    #[test]
    fn text_shows_resources_attributes_failures_and_storage_epoch() {
        let mut status: ClusterStatus = serde_json::from_str(
            r#"{"cluster":"c","local":"n1","dc":"n1","quorate":true,"dc_epoch":"2.a",
            "term":2,"lease":true,"forming":false,"config_epoch":1,"storage_epoch":4,
            "storage_members":["n1","n2"],"nodes":[],
            "resources":[{"resource":"web","node":"n1","state":"failed","op":"monitor_0",
                "rc":1,"exit_reason":"hyperdrive","dc_epoch":"2.a"}],
            "failures":[{"resource":"web","node":"n1","op":"monitor_0","count":1,
                "last_failure_s":0}],
            "node_attributes":{"n1":{"site":"left"}}}"#,
        )
        .unwrap();
        let text = human(&status);
        assert!(
            text.contains("Storage epoch: 4 (members: n1, n2)"),
            "{text}"
        );
        assert!(
            text.contains("web              n1       failed   (monitor_0 rc=1)"),
            "{text}"
        );
        assert!(text.contains("site                    : left"), "{text}");
        assert!(
            text.contains("DC: n1 (elected in term 2) - partition with quorum"),
            "{text}"
        );
        assert!(
            text.contains(
                "web on n1: monitor_0 failed 1 time, last 1970-01-01 00:00:00Z (hyperdrive)"
            ),
            "{text}"
        );
        status.failures.clear();
        assert!(!human(&status).contains("Failed Resource Actions"));
    }
}
