//! `herd failcount [show] [--resource R] [--node N] [--json]`: the replicated fail counts and
//! last failures, like `crm_failcount --query`. Cleared with `herd cleanup`.
//!
//! Read from the local agent's view (`herd status`). I/O: the admin socket (through
//! `admin_client`) and stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use herd_api::FailureStatus;

/// Show fail counts.
#[derive(Debug, Args)]
pub struct FailcountArgs {
    #[command(subcommand)]
    pub action: Option<FailcountAction>,
    /// Only this resource
    #[arg(long, short = 'r', value_name = "RESOURCE", global = true)]
    pub resource: Option<String>,
    /// Only this node
    #[arg(long, short = 'N', value_name = "NODE", global = true)]
    pub node: Option<String>,
    /// Print JSON: [{"resource", "node", "op", "count", "last_failure_s"}]
    #[arg(long, global = true)]
    pub json: bool,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum FailcountAction {
    /// Show the fail counts (the default)
    Show,
}

pub fn run(args: FailcountArgs) -> ExitCode {
    let status = match super::admin_client::status(args.config.as_deref()) {
        Ok(status) => status,
        Err((message, code)) => {
            eprintln!("herd failcount: {message}");
            return code;
        }
    };
    let failures: Vec<&FailureStatus> = status
        .failures
        .iter()
        .filter(|f| args.resource.as_ref().is_none_or(|r| *r == f.resource))
        .filter(|f| args.node.as_ref().is_none_or(|n| *n == f.node))
        .collect();
    if args.json {
        let json = serde_json::to_string_pretty(&failures).expect("failures serialize");
        println!("{json}");
    } else if failures.is_empty() {
        println!("no fail counts");
    } else {
        for failure in failures {
            println!("{}", line(failure));
        }
    }
    ExitCode::SUCCESS
}

/// One failure for people: `web on n1: monitor_0 failed 2 times, last 2026-11-22 05:00:00Z`.
pub fn line(f: &FailureStatus) -> String {
    let times = if f.count == 1 { "time" } else { "times" };
    format!(
        "{} on {}: {} failed {} {times}, last {}",
        f.resource,
        f.node,
        f.op,
        f.count,
        utc(f.last_failure_s)
    )
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from a day count (the era-based method for the Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(utc(1_795_000_000), "2026-11-18 11:06:40Z");
    }

    #[test]
    fn one_failure_line_names_resource_node_op_and_count() {
        let f = FailureStatus {
            resource: "web".into(),
            node: "n1".into(),
            op: "monitor_0".into(),
            count: 2,
            last_failure_s: 0,
        };
        assert_eq!(
            line(&f),
            "web on n1: monitor_0 failed 2 times, last 1970-01-01 00:00:00Z"
        );
    }
}
