//! The OCF actions of a daemon agent (haproxy, dnsmasq), written once over [`Service`].
//!
//! start: config syntax check, spawn in the foreground in its own session (`crate::daemon`),
//! wait until the health check passes. stop: TERM, then KILL at the budget. monitor: the
//! process is alive, the health check passes, and a changed config file is applied (reload).
//! reload: syntax check, then the daemon's own reload. monitor also keeps daemon.log
//! bounded (copy to daemon.log.1 and empty past `LOG_BYTES_MAX`). A daemon's specifics
//! (command line, health check, reload) live in its module.
//! I/O: processes, files, the health checks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::time::Instant;

use nix::sys::signal::Signal;

use crate::daemon::{Daemon, LOG_BYTES_MAX, alive, file_digest, signal};
use crate::meta::{ActionSpec, AgentSpec};
use crate::params::{ParamError, Params};
use crate::{AgentOutcome, AgentRequest, ocf};

/// The actions of a daemon agent (haproxy, dnsmasq) with their advised timeouts, as its
/// meta-data lists them: what [`run`] answers, plus meta-data.
pub(crate) const SERVICE_ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "start",
        timeout: "20s",
        interval: None,
    },
    ActionSpec {
        name: "stop",
        timeout: "20s",
        interval: None,
    },
    ActionSpec {
        name: "monitor",
        timeout: "20s",
        interval: Some("10s"),
    },
    ActionSpec {
        name: "reload",
        timeout: "20s",
        interval: None,
    },
    ActionSpec {
        name: "validate-all",
        timeout: "20s",
        interval: None,
    },
    ActionSpec {
        name: "meta-data",
        timeout: "5s",
        interval: None,
    },
];

const DIGEST_FILE: &str = "config.digest";
/// Digest of a changed config file the daemon refused (so it is not retried every monitor).
const REFUSED_FILE: &str = "refused.digest";
const POLL: Duration = Duration::from_millis(50);
/// Budget kept back from the operation timeout so the agent answers before the executor
/// kills it.
const MARGIN: Duration = Duration::from_millis(500);

/// The parameters every daemon agent shares.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) binary: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) extra_args: Vec<String>,
}

/// What differs between daemons.
pub(crate) trait Service: Sync {
    /// Short name for messages: "haproxy".
    fn label(&self) -> &'static str;
    fn common(&self) -> &Common;
    /// Command line (after the binary) to run in the foreground.
    fn run_args(&self, daemon: &Daemon) -> Vec<String>;
    /// Command line (after the binary) that checks the config file's syntax.
    fn check_args(&self, daemon: &Daemon) -> Vec<String>;
    /// The health check; Ok carries a one-line summary.
    fn health(
        &self,
        daemon: &Daemon,
        pid: i32,
        budget: Duration,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// Applies a changed config to the running daemon.
    /// Things in the config file that work against running under herd (shown by start and
    /// validate-all).
    fn config_warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// A signal that stops the daemon gracefully (finish open connections) and how long to
    /// allow it, tried before TERM; None: TERM right away.
    fn graceful_stop(&self) -> Option<(Signal, Duration)> {
        None
    }
    fn reload(
        &self,
        daemon: &Daemon,
        pid: i32,
        budget: Duration,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// Called after a successful start (dnsmasq remembers which config it started with).
    fn started(&self, _daemon: &Daemon) {}
}

/// One request to a daemon agent, start to finish: meta-data, reading the parameters with
/// `read`, the action, the `started` hook, and the warning about unknown parameters.
pub(crate) async fn run_agent<S: Service>(
    spec: &'static AgentSpec,
    request: AgentRequest<'_>,
    read: impl Fn(&Params<'_>) -> Result<S, ParamError>,
) -> AgentOutcome {
    if request.action == "meta-data" {
        return AgentOutcome::ok(spec.render_xml());
    }
    let params = Params::new(spec, request.params);
    let config = match read(&params) {
        Ok(config) => config,
        Err(error) => return error.outcome(),
    };
    let outcome = run(
        &config,
        request.action,
        request.runtime_dir,
        request.timeout,
    )
    .await;
    if request.action == "start" && outcome.as_ref().is_some_and(|o| o.rc == ocf::SUCCESS) {
        config.started(&Daemon::new(&config.common().binary, request.runtime_dir));
    }
    let outcome = outcome.unwrap_or_else(|| unsupported(config.label(), request.action));
    params.warn_unknown(request.action, outcome)
}

/// The answer to an action a daemon agent does not have (rc 3, OCF_ERR_UNIMPLEMENTED).
pub(crate) fn unsupported(label: &str, action: &str) -> AgentOutcome {
    AgentOutcome::fail(
        ocf::ERR_UNIMPLEMENTED,
        format!("{label}: action {action:?} is not supported"),
    )
}

/// Runs `action`; None when the action is not one of the daemon actions.
pub(crate) async fn run<S: Service>(
    service: &S,
    action: &str,
    runtime_dir: &Path,
    timeout: Duration,
) -> Option<AgentOutcome> {
    let daemon = Daemon::new(&service.common().binary, runtime_dir);
    let budget = timeout
        .saturating_sub(MARGIN)
        .max(Duration::from_millis(500));
    let warnings = match action {
        "start" | "validate-all" => service.config_warnings().join("\n"),
        _ => String::new(),
    };
    let outcome = match action {
        "start" => start(service, &daemon, budget).await,
        "stop" => stop(service, &daemon, budget).await,
        "monitor" | "status" => monitor(service, &daemon, budget).await,
        "reload" => reload(service, &daemon, budget).await,
        "validate-all" => match validate(service, &daemon, budget).await {
            Ok(()) => AgentOutcome::ok(format!("{}: configuration is valid", service.label())),
            Err(outcome) => outcome,
        },
        _ => return None,
    };
    Some(outcome.with_prefix(&warnings))
}

async fn start<S: Service>(service: &S, daemon: &Daemon, budget: Duration) -> AgentOutcome {
    let label = service.label();
    let deadline = Instant::now() + budget;
    if let Some(pid) = daemon.running_pid() {
        return match service.health(daemon, pid, budget).await {
            Ok(summary) => {
                AgentOutcome::ok(format!("{label} already running (pid {pid}): {summary}"))
            }
            Err(error) => AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!("{label} runs (pid {pid}) but is unhealthy: {error}"),
            ),
        };
    }
    if let Err(outcome) = validate(service, daemon, budget).await {
        return outcome;
    }
    let digest = file_digest(&service.common().config).unwrap_or_default();
    let pid = match daemon.spawn(&service.run_args(daemon)) {
        Ok(pid) => pid,
        Err(error) => {
            return AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!("{label}: cannot start {}: {error}", daemon.binary.display()),
            );
        }
    };
    let mut last_error = String::from("no health check ran");
    while Instant::now() < deadline {
        if !alive(pid) {
            return AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!(
                    "{label} exited during start (log {}): {}",
                    daemon.log_file().display(),
                    daemon.log_tail()
                ),
            );
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match service
            .health(daemon, pid, left.min(Duration::from_secs(1)))
            .await
        {
            Ok(summary) => {
                let _ = std::fs::write(daemon.path(DIGEST_FILE), &digest);
                return AgentOutcome::ok(format!("{label} started (pid {pid}): {summary}"));
            }
            Err(error) => last_error = error,
        }
        tokio::time::sleep(POLL).await;
    }
    AgentOutcome::fail(
        ocf::ERR_GENERIC,
        format!("{label} started (pid {pid}) but is not healthy in time: {last_error}"),
    )
}

async fn stop<S: Service>(service: &S, daemon: &Daemon, budget: Duration) -> AgentOutcome {
    let label = service.label();
    let deadline = Instant::now() + budget;
    let mut drained = String::new();
    if let (Some((sig, grace)), Some(pid)) = (service.graceful_stop(), daemon.running_pid()) {
        let grace_end = Instant::now() + grace.min(budget / 2);
        if signal(pid, sig) {
            while alive(pid) && Instant::now() < grace_end {
                tokio::time::sleep(POLL).await;
            }
            drained = match alive(pid) {
                true => format!(
                    " (still busy after {} ms of graceful stop)",
                    grace.as_millis()
                ),
                false => " (gracefully)".to_string(),
            };
        }
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match daemon.stop(left).await {
        Ok(true) => AgentOutcome::ok(format!("{label} stopped{drained}")),
        Ok(false) if !drained.is_empty() => AgentOutcome::ok(format!("{label} stopped{drained}")),
        Ok(false) => AgentOutcome::ok(format!("{label} was not running")),
        Err(error) => {
            AgentOutcome::fail(ocf::ERR_GENERIC, format!("{label}: stop failed: {error}"))
        }
    }
}

async fn monitor<S: Service>(service: &S, daemon: &Daemon, budget: Duration) -> AgentOutcome {
    let label = service.label();
    let Some(pid) = daemon.running_pid() else {
        return AgentOutcome {
            rc: ocf::NOT_RUNNING,
            exit_reason: None,
            output: format!("{label} is not running"),
        };
    };
    let summary = match service.health(daemon, pid, budget).await {
        Ok(summary) => summary,
        Err(error) => {
            return AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!("{label} (pid {pid}) failed its health check: {error}"),
            );
        }
    };
    let mut output = format!("{label} running (pid {pid}): {summary}");
    match daemon.rotate_log(LOG_BYTES_MAX) {
        Ok(true) => output.push_str("\nrotated daemon.log to daemon.log.1"),
        Ok(false) => {}
        Err(error) => tracing::warn!(daemon = label, "cannot rotate daemon.log: {error}"),
    }
    output.push_str(&apply_changed_config(service, daemon, budget).await);
    AgentOutcome::ok(output)
}

/// Reloads when the config file differs from the one running; a refused file is tried
/// (and logged) once, then only mentioned until it changes again.
async fn apply_changed_config<S: Service>(
    service: &S,
    daemon: &Daemon,
    budget: Duration,
) -> String {
    let read = |name: &str| std::fs::read_to_string(daemon.path(name)).unwrap_or_default();
    let current = file_digest(&service.common().config).unwrap_or_default();
    if current.is_empty() || read(DIGEST_FILE) == current {
        return String::new();
    }
    if read(REFUSED_FILE) == current {
        return "\nwarning: config file changed but was refused; the running config stays".into();
    }
    let reloaded = reload(service, daemon, budget).await;
    if reloaded.rc == ocf::SUCCESS {
        let _ = std::fs::remove_file(daemon.path(REFUSED_FILE));
        return format!("\nconfig file changed: {}", reloaded.output);
    }
    let _ = std::fs::write(daemon.path(REFUSED_FILE), &current);
    let warning = format!(
        "warning: config file changed but was not applied: {}",
        reloaded.exit_reason.unwrap_or(reloaded.output)
    );
    tracing::warn!(daemon = service.label(), "{warning}");
    format!("\n{warning}")
}

async fn reload<S: Service>(service: &S, daemon: &Daemon, budget: Duration) -> AgentOutcome {
    let label = service.label();
    let Some(pid) = daemon.running_pid() else {
        return AgentOutcome::fail(
            ocf::NOT_RUNNING,
            format!("{label} is not running: nothing to reload"),
        );
    };
    if let Err(outcome) = validate(service, daemon, budget).await {
        return outcome.with_prefix(&format!(
            "{label}: new config refused, the running one stays"
        ));
    }
    let digest = file_digest(&service.common().config).unwrap_or_default();
    match service.reload(daemon, pid, budget).await {
        Ok(summary) => {
            let _ = std::fs::write(daemon.path(DIGEST_FILE), &digest);
            AgentOutcome::ok(summary)
        }
        Err(error) => {
            AgentOutcome::fail(ocf::ERR_GENERIC, format!("{label}: reload failed: {error}"))
        }
    }
}

/// The binary and config exist and the daemon accepts the config's syntax.
async fn validate<S: Service>(
    service: &S,
    daemon: &Daemon,
    budget: Duration,
) -> Result<(), AgentOutcome> {
    let label = service.label();
    let common = service.common();
    if !common.binary.is_file() {
        return Err(AgentOutcome::fail(
            ocf::ERR_INSTALLED,
            format!(
                "{label}: {} is not installed (set binary= or install the package)",
                common.binary.display()
            ),
        ));
    }
    if !common.config.is_file() {
        return Err(AgentOutcome::fail(
            ocf::ERR_INSTALLED,
            format!(
                "{label}: config file {} does not exist on this host",
                common.config.display()
            ),
        ));
    }
    let check = tokio::process::Command::new(&common.binary)
        .args(service.check_args(daemon))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(budget, check).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            return Err(AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!("{label}: cannot run the config check: {error}"),
            ));
        }
        Err(_) => {
            return Err(AgentOutcome::fail(
                ocf::ERR_GENERIC,
                format!("{label}: config check timed out"),
            ));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(AgentOutcome::fail(
        ocf::ERR_CONFIGURED,
        format!(
            "{label}: config file {} is invalid: {}",
            common.config.display(),
            lines.join(" | ")
        ),
    ))
}

/// Splits `extra_args` on whitespace (no shell quoting: one word per argument).
pub(crate) fn split_args(text: Option<&str>) -> Vec<String> {
    text.map(|t| t.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// A TCP connect to `address` (host:port) within `budget`.
pub(crate) async fn tcp_check(address: &str, budget: Duration) -> Result<String, String> {
    match tokio::time::timeout(budget, tokio::net::TcpStream::connect(address)).await {
        Ok(Ok(_)) => Ok(format!("tcp connect to {address} ok")),
        Ok(Err(error)) => Err(format!("tcp connect to {address}: {error}")),
        Err(_) => Err(format!(
            "tcp connect to {address}: no answer in {} ms",
            budget.as_millis()
        )),
    }
}
