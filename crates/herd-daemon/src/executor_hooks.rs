//! The node's executor behind the agent's hooks: at start the agent probes every resource
//! this node has a history for (a restarted agent learns what runs), and when the node lease
//! is lost, or no lease came within one lease length of the start while something runs,
//! every active resource is stopped at once through herd-exec, within the
//! `[executor] lease_loss_stop_timeout_ms` bound, and reported.
//!
//! The report is one tracing line per loss (counts), one more line per resource that may
//! still be active, and the last report kept in memory and in
//! `DATA_DIR/exec/last-lease-loss.json` (for `herd status` to show). The same stop-all runs
//! when the node leaves (SIGTERM) or was removed: its line names that cause, it leaves the
//! lease-loss report alone, and what may still run is one line (the caller says what that
//! means for the departure). What to run and when is not decided here. The probe and stop results are also kept for the agent to send to the
//! DC (`take_op_reports`, recorded in Raft by records.rs). I/O: agent processes (through
//! herd-exec), that one JSON file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use herd_exec::{ExecConfig, ExecError, Executor, StopAllReport};
use herd_raft::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::hooks::AgentHooks;
use crate::records::{self, OpReport};

/// The file, under the data directory, that keeps the last lease-loss report.
pub const LAST_LEASE_LOSS_FILE: &str = "exec/last-lease-loss.json";

/// What the node did after one loss of its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseLossReport {
    /// When the stop began, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The configured bound (`lease_loss_stop_timeout_ms`).
    pub bound_ms: u64,
    /// What the executor did.
    pub stop_all: StopAllReport,
}

/// Why every resource of the node is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// The node lease expired, or none came within a lease length of the start.
    LeaseLoss,
    /// The node leaves the cluster (SIGTERM).
    Leave,
    /// The node was removed from the cluster.
    Removal,
}

impl StopCause {
    /// How the log lines name the cause.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StopCause::LeaseLoss => "lease loss",
            StopCause::Leave => "leave",
            StopCause::Removal => "removal",
        }
    }
}

/// [`AgentHooks`] over the node's executor.
#[derive(Debug, Clone)]
pub struct ExecutorHooks {
    executor: Executor,
    bound: Duration,
    report_file: Option<PathBuf>,
    last: Arc<Mutex<Option<LeaseLossReport>>>,
    /// Probe and stop results not yet handed to the agent for the DC (records.rs).
    outbox: Arc<Mutex<Vec<OpReport>>>,
}

/// The executor configuration of a node: `ExecConfig::for_node` with the `[executor]`
/// values of herd.toml.
pub fn exec_config(config: &herd_config::Config) -> ExecConfig {
    let limits = &config.executor;
    ExecConfig {
        max_concurrent_actions: usize::try_from(limits.max_concurrent_actions)
            .unwrap_or(usize::MAX),
        lease_loss_stop_timeout_ms: limits.lease_loss_stop_timeout_ms,
        agent_timeout_ms_default: limits.agent_timeout_ms_default,
        ..ExecConfig::for_node(&config.data_dir, &config.node)
    }
}

impl ExecutorHooks {
    /// Hooks over `executor`; the stop bound is its `lease_loss_stop_timeout_ms`, and the
    /// last report is also written to `report_file` when given.
    pub fn new(executor: Executor, report_file: Option<PathBuf>) -> ExecutorHooks {
        let bound = Duration::from_millis(executor.config().lease_loss_stop_timeout_ms);
        ExecutorHooks {
            executor,
            bound,
            report_file,
            last: Arc::default(),
            outbox: Arc::default(),
        }
    }

    /// The node's executor as herd.toml describes it (history loaded from the data
    /// directory), reporting to `DATA_DIR/exec/last-lease-loss.json`.
    pub fn from_config(config: &herd_config::Config) -> Result<ExecutorHooks, ExecError> {
        let executor = Executor::new(exec_config(config))?;
        Ok(ExecutorHooks::new(
            executor,
            Some(config.data_dir.join(LAST_LEASE_LOSS_FILE)),
        ))
    }

    /// The executor these hooks drive.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The report of the last lease loss since this process started.
    pub fn last_report(&self) -> Option<LeaseLossReport> {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops every active resource within the bound, logs the result under `cause` and,
    /// for a lease loss only, keeps it as the last lease-loss report.
    pub(crate) async fn stop_all(&self, cause: StopCause) -> LeaseLossReport {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let stop_all = self
            .executor
            .stop_all_active(Instant::now() + self.bound)
            .await;
        let report = LeaseLossReport {
            at_ms,
            bound_ms: u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX),
            stop_all,
        };
        if cause == StopCause::LeaseLoss {
            // Keep the report before logging it, so whoever reads the log line finds the file.
            if let Some(path) = &self.report_file
                && let Err(e) = write_report(path, &report)
            {
                tracing::warn!(path = %path.display(), "cannot keep the lease-loss report: {e}");
            }
            *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(report.clone());
            log_report(&report);
        } else {
            log_departure(cause, &report);
        }
        let now_s = i64::try_from(at_ms / 1000).unwrap_or(i64::MAX);
        self.post(records::reports_from_stop_all(
            self.node(),
            &report.stop_all,
            now_s,
        ));
        report
    }

    /// Probes every resource with a history here and logs what is active.
    pub async fn probe_at_start(&self) {
        self.forward_monitor_changes();
        let results = self.executor.probe_all().await;
        self.post(records::reports_from_probes(self.node(), &results));
        let active = self.executor.active_resources();
        tracing::info!(
            probed = results.len(),
            active = active.len(),
            resources = ?active,
            "executor ready: probed the resources this node has a history for"
        );
    }
}

impl ExecutorHooks {
    fn node(&self) -> &str {
        self.executor.config().node_name.as_deref().unwrap_or("")
    }

    /// Keeps every rc change of a recurring monitor for the DC, from now on.
    fn forward_monitor_changes(&self) {
        let mut events = self.executor.subscribe();
        let hooks = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        hooks.post(vec![records::report_from_monitor(hooks.node(), &event)])
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "monitor results missed; the DC misses them too");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    fn post(&self, reports: Vec<OpReport>) {
        self.outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(reports);
    }
}

fn log_report(report: &LeaseLossReport) {
    let r = &report.stop_all;
    if r.all_stopped() {
        tracing::info!(
            stopped = r.stopped.len(),
            failed = 0,
            monitors_cancelled = r.monitors_cancelled,
            actions_aborted = r.actions_aborted,
            elapsed_ms = r.elapsed_ms,
            bound_ms = report.bound_ms,
            "lease loss: stop-all done, every resource stopped within the bound"
        );
        return;
    }
    tracing::error!(
        stopped = r.stopped.len(),
        failed = r.failed.len(),
        monitors_cancelled = r.monitors_cancelled,
        actions_aborted = r.actions_aborted,
        elapsed_ms = r.elapsed_ms,
        bound_ms = report.bound_ms,
        within_bound = r.within_deadline,
        "lease loss: stop-all done, some resources may still be active (fence this node)"
    );
    for failure in &r.failed {
        tracing::error!(
            resource = %failure.resource,
            "lease loss: resource may still be active: {}",
            failure.reason
        );
    }
}

/// A leave's or removal's stop-all: one line; what may still run is the caller's problem to
/// report (it decides whether the node may be recorded `left`), so it is a detail here.
fn log_departure(cause: StopCause, report: &LeaseLossReport) {
    let r = &report.stop_all;
    let cause = cause.as_str();
    if r.all_stopped() {
        tracing::info!(
            stopped = r.stopped.len(),
            elapsed_ms = r.elapsed_ms,
            bound_ms = report.bound_ms,
            "{cause}: stop-all done, every resource stopped within the bound"
        );
        return;
    }
    let may_still_run: Vec<String> = r
        .failed
        .iter()
        .map(|f| format!("{}: {}", f.resource, f.reason))
        .collect();
    tracing::warn!(
        stopped = r.stopped.len(),
        failed = r.failed.len(),
        elapsed_ms = r.elapsed_ms,
        bound_ms = report.bound_ms,
        within_bound = r.within_deadline,
        may_still_run = %may_still_run.join("; "),
        "{cause}: stop-all done, some resources may still be active"
    );
}

/// Writes the report atomically and durably.
fn write_report(path: &Path, report: &LeaseLossReport) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    crate::durable::write_file(path, &json)
}

/// Reads a report written by [`ExecutorHooks`] (for `herd status` and tests).
pub fn read_last_report(data_dir: &Path) -> std::io::Result<Option<LeaseLossReport>> {
    match std::fs::read(data_dir.join(LAST_LEASE_LOSS_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl AgentHooks for ExecutorHooks {
    fn started(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.probe_at_start())
    }

    fn no_lease_after_start(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let active = self.executor.active_resources();
            if !active.is_empty() {
                tracing::warn!(
                    resources = ?active,
                    "no node lease since the agent started: stopping what runs on this node"
                );
                self.stop_all(StopCause::LeaseLoss).await;
            }
        })
    }

    fn lease_lost(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            self.stop_all(StopCause::LeaseLoss).await;
        })
    }

    fn stop_for_leave(&self) -> BoxFuture<'_, bool> {
        Box::pin(async {
            let report = self.stop_all(StopCause::Leave).await;
            report.stop_all.all_stopped()
        })
    }

    fn stop_for_removal(&self) -> BoxFuture<'_, bool> {
        Box::pin(async {
            let report = self.stop_all(StopCause::Removal).await;
            report.stop_all.all_stopped()
        })
    }

    fn take_op_reports(&self) -> Vec<OpReport> {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
