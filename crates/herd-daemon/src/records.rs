//! Resource results into the replicated state: what the node's executor did (probes at start,
//! stops after a lost lease, recurring monitors whose rc changed) travels to the DC as [`OpReport`]s, and the DC commits them as
//! `RecordOp` (changes only, CLUSTER.md §6.8: not every successful monitor) and
//! `RecordFailure` (a failure adds one, with its time, to whatever the count is when the
//! command applies, so a `herd cleanup` in between is not undone), both tagged with its DC
//! epoch. The node keeps what waits for the DC in a bounded queue (`report_queue.rs`). Also the admin requests on
//! node attributes and fail counts (`herd attribute`, `herd cleanup`), and the status fields
//! they show up in.
//!
//! Not here: running agents (herd-exec, `executor_hooks.rs`), the storage epoch
//! (`storage_epoch.rs`). The rules (what a result says, what changed, which commands) are
//! pure functions; the I/O is the report loop (herd-rpc to the leader, retried until the DC
//! answers) and the proposals on the DC.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use herd_api::{FailureStatus, Request, ResourceStatus, Response};
use herd_exec::{Action, ExecStatus, MonitorEvent, OpResult, StopAllReport};
use herd_raft::{ClusterState, Command, Consensus, DcEpoch, ResourceOp};
use serde::{Deserialize, Serialize};

use crate::agent::Agent;
use crate::wire::{ClusterMsg, ClusterReply};

#[path = "report_queue.rs"]
mod queue;
use queue::ReportQueue;

/// One result of the node's executor, on its way to the DC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpReport {
    pub resource: String,
    pub node: String,
    /// Pacemaker's `ACTION_INTERVALMS`: `monitor_0` is a probe, `stop_0` a stop.
    pub op: String,
    pub rc: i32,
    /// The operation failed (a probe that is neither running nor stopped, a failed stop).
    pub failed: bool,
    pub exit_reason: Option<String>,
    /// When it ran, seconds since the Unix epoch.
    pub at_s: i64,
}

/// How often a node with unsent reports tries the DC.
const REPORT_EVERY: Duration = Duration::from_millis(200);

fn op_key(action: Action, interval_ms: u64) -> String {
    format!("{}_{interval_ms}", action.as_str())
}

fn at_s(result: &OpResult) -> i64 {
    i64::try_from(result.started_ms / 1000).unwrap_or(i64::MAX)
}

/// Reports for the probes of a (re)started agent: running (0, 8) and not running (7) are
/// answers; anything else is a failure.
pub(crate) fn reports_from_probes(node: &str, results: &[OpResult]) -> Vec<OpReport> {
    results
        .iter()
        .map(|r| OpReport {
            resource: r.resource.clone(),
            node: node.to_string(),
            op: op_key(r.action, r.interval_ms),
            rc: r.rc,
            failed: r.status != ExecStatus::Done || !matches!(r.rc, 0 | 7 | 8),
            exit_reason: r.exit_reason.clone(),
            at_s: at_s(r),
        })
        .collect()
}

/// The report of a recurring monitor whose rc changed: on a resource meant to run, only
/// running (0, 8) is success.
pub(crate) fn report_from_monitor(node: &str, event: &MonitorEvent) -> OpReport {
    let r = &event.result;
    OpReport {
        resource: r.resource.clone(),
        node: node.to_string(),
        op: op_key(r.action, r.interval_ms),
        rc: r.rc,
        failed: !r.succeeded(false),
        exit_reason: r.exit_reason.clone(),
        at_s: at_s(r),
    }
}

/// Reports for a stop-all after a lost lease: every stop result, and a failed stop for each
/// resource that may still run without one (it stayed busy past the bound).
pub(crate) fn reports_from_stop_all(
    node: &str,
    report: &StopAllReport,
    now_s: i64,
) -> Vec<OpReport> {
    let mut out: Vec<OpReport> = report
        .results
        .iter()
        .map(|r| OpReport {
            resource: r.resource.clone(),
            node: node.to_string(),
            op: op_key(r.action, r.interval_ms),
            rc: r.rc,
            failed: !r.succeeded(false),
            exit_reason: r.exit_reason.clone(),
            at_s: at_s(r),
        })
        .collect();
    for failure in &report.failed {
        if out.iter().any(|r| r.resource == failure.resource) {
            continue;
        }
        out.push(OpReport {
            resource: failure.resource.clone(),
            node: node.to_string(),
            op: op_key(Action::Stop, 0),
            rc: 1,
            failed: true,
            exit_reason: Some(failure.reason.clone()),
            at_s: now_s,
        });
    }
    out
}

/// What an operation result says about the resource: "started", "stopped" or "failed".
pub(crate) fn resulting_state(op: &str, rc: i32) -> &'static str {
    let action = op.rsplit_once('_').map_or(op, |(action, _)| action);
    match (action, rc) {
        ("monitor", 0 | 8) => "started",
        ("monitor", 7) | ("stop", 0) => "stopped",
        ("start" | "promote" | "demote" | "migrate_from", 0) => "started",
        ("migrate_to", 0) => "stopped",
        _ => "failed",
    }
}

/// Whether a result is a change worth a log entry: a start, stop, promote, ... unless it
/// repeats the last recorded result exactly (a report sent again); a monitor only when it
/// says something else than the last recorded result (rc and state).
pub(crate) fn is_change(previous: Option<&ResourceOp>, report: &OpReport) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    if !report.op.starts_with("monitor_") {
        return previous.op != report.op
            || previous.rc != report.rc
            || previous.exit_reason != report.exit_reason;
    }
    let before = resulting_state(&previous.op, previous.rc);
    let now = resulting_state(&report.op, report.rc);
    before != now || (now == "failed" && previous.rc != report.rc)
}

/// The commands that record `reports` on top of `state`, tagged with `dc_epoch`: a
/// `RecordOp` per change and a `RecordFailure` (one more) per failure not counted yet.
pub(crate) fn commands_for(
    state: &ClusterState,
    reports: &[OpReport],
    dc_epoch: DcEpoch,
) -> Vec<Command> {
    let mut state = state.clone();
    let mut commands = Vec::new();
    for report in reports {
        let previous = state
            .resources
            .get(&report.resource)
            .and_then(|by_node| by_node.get(&report.node));
        let mut batch = Vec::new();
        if is_change(previous, report) {
            batch.push(Command::RecordOp {
                dc_epoch,
                resource: report.resource.clone(),
                node: report.node.clone(),
                op: ResourceOp {
                    op: report.op.clone(),
                    rc: report.rc,
                    dc_epoch,
                    exit_reason: report.exit_reason.clone(),
                },
            });
        }
        batch.extend(failure_command(&state, report, dc_epoch));
        for command in batch {
            state.apply(&command);
            commands.push(command);
        }
    }
    commands
}

/// One more failure for a failed report. The count is raised where the command applies
/// (herd-raft), which also skips a failure already counted (a report sent again because its
/// answer was lost carries the time of the failure counted); such a failure is not proposed.
fn failure_command(state: &ClusterState, report: &OpReport, dc_epoch: DcEpoch) -> Option<Command> {
    let key = (
        report.resource.clone(),
        report.node.clone(),
        report.op.clone(),
    );
    let counted = state.fail_counts.get(&key);
    if !report.failed || counted.is_some_and(|f| report.at_s <= f.last_failure_s) {
        return None;
    }
    Some(Command::RecordFailure {
        dc_epoch,
        resource: report.resource.clone(),
        node: report.node.clone(),
        op: report.op.clone(),
        at_s: report.at_s,
    })
}

/// The node's side: sends what the executor reported to the DC until the DC has recorded it.
pub(crate) async fn report_loop(agent: Arc<Agent>) {
    let mut pending = ReportQueue::default();
    let mut ticker = tokio::time::interval(REPORT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error = String::new();
    let mut dropping = false;
    loop {
        ticker.tick().await;
        let dropped = pending.push(agent.hooks.take_op_reports());
        if dropped > 0 && !dropping {
            tracing::warn!(
                dropped,
                kept = pending.len(),
                "too many resource results wait for a DC: the oldest are dropped (logged once \
                 until the DC records the rest)"
            );
        }
        dropping |= dropped > 0;
        // Chunk after chunk while the DC answers; the next tick retries otherwise.
        while !pending.is_empty() {
            let chunk = pending.chunk();
            let n = chunk.len();
            match send_reports(&agent, chunk).await {
                Ok(()) => {
                    tracing::info!(results = n, "resource results recorded by the DC");
                    pending.recorded(n);
                    last_error.clear();
                }
                Err(e) => {
                    if e != last_error {
                        tracing::debug!(error = %e, pending = pending.len(), "resource results wait for a DC");
                        last_error = e;
                    }
                    break;
                }
            }
        }
        dropping &= !pending.is_empty();
    }
}

async fn send_reports(agent: &Arc<Agent>, reports: &[OpReport]) -> Result<(), String> {
    let leader = agent.consensus.status().leader.ok_or("no leader")?;
    if leader.name == agent.name {
        return record(agent, &agent.name, reports.to_vec())
            .await
            .map(|_| ());
    }
    let msg = ClusterMsg::OpReports(reports.to_vec());
    match agent
        .call(&leader.name, &msg, Duration::from_secs(5))
        .await?
    {
        ClusterReply::Recorded(_) => Ok(()),
        ClusterReply::Refused(e) => Err(format!("{}: {e}", leader.name)),
        other => Err(format!("{}: unexpected answer {other:?}", leader.name)),
    }
}

/// The DC's side of [`ClusterMsg::OpReports`] from `from`.
pub(crate) async fn handle_reports(
    agent: &Arc<Agent>,
    from: &str,
    reports: Vec<OpReport>,
) -> ClusterReply {
    if let Some(bad) = reports.iter().find(|r| r.node != from) {
        tracing::warn!(peer = %from, node = %bad.node, "refused results reported for another node");
        return ClusterReply::Refused("results for another node".to_string());
    }
    match record(agent, from, reports).await {
        Ok(n) => ClusterReply::Recorded(n),
        Err(e) => ClusterReply::Refused(e),
    }
}

/// Commits the reports on this node, which must be the DC; returns how many commands.
async fn record(agent: &Arc<Agent>, from: &str, reports: Vec<OpReport>) -> Result<u32, String> {
    let status = agent.consensus.status();
    let epoch = status.dc_epoch.ok_or("not the DC")?;
    let confirmed = agent
        .dc
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .confirmed;
    if !agent.dc_fresh(&status) || confirmed != Some(epoch) {
        return Err("not the DC (yet)".to_string());
    }
    let commands = commands_for(&agent.consensus.applied().state, &reports, epoch);
    let n = u32::try_from(commands.len()).unwrap_or(u32::MAX);
    for command in commands {
        let failure = match &command {
            Command::RecordFailure {
                resource, node, op, ..
            } => Some((resource.clone(), node.clone(), op.clone())),
            _ => None,
        };
        agent
            .consensus
            .propose(command)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(key) = failure {
            let applied = agent.consensus.applied();
            let count = applied.state.fail_counts.get(&key).map_or(0, |f| f.count);
            let (resource, op) = (&key.0, &key.2);
            tracing::warn!(node = %from, %resource, %op, count, "resource failure recorded");
        }
    }
    Ok(n)
}

/// Fills in the answering node for requests that default to it (before forwarding).
pub(crate) fn resolve_local(agent: &Agent, request: Request) -> Request {
    match request {
        Request::SetNodeAttr {
            node: None,
            name,
            value,
        } => Request::SetNodeAttr {
            node: Some(agent.name.clone()),
            name,
            value,
        },
        other => other,
    }
}

/// Carries out `herd attribute` and `herd cleanup` on the leader.
pub(crate) async fn on_leader(agent: &Arc<Agent>, request: Request) -> Response {
    let error = |message: String| Response::Error { message };
    let (command, message) = match request {
        Request::SetNodeAttr { node, name, value } => {
            let node = node.unwrap_or_else(|| agent.name.clone());
            if let Err(e) = check_attribute(agent, &node, &name) {
                return error(e);
            }
            let message = match &value {
                Some(v) => format!("attribute {name}={v} set on {node}"),
                None => format!("attribute {name} deleted on {node}"),
            };
            (Command::SetNodeAttr { node, name, value }, message)
        }
        Request::ClearFailCounts { resource, node } => {
            let state = &agent.consensus.applied().state;
            let n = state
                .fail_counts
                .keys()
                .filter(|(r, n, _)| {
                    resource.as_ref().is_none_or(|x| x == r) && node.as_ref().is_none_or(|x| x == n)
                })
                .count();
            let what = match (&resource, &node) {
                (Some(r), Some(n)) => format!("of {r} on {n}"),
                (Some(r), None) => format!("of {r}"),
                (None, Some(n)) => format!("on {n}"),
                (None, None) => "of every resource".to_string(),
            };
            let message = format!("cleared {n} fail count(s) {what}");
            (Command::ClearFailCounts { resource, node }, message)
        }
        other => return error(format!("not a records request: {other:?}")),
    };
    match agent.consensus.propose(command).await {
        Ok(_) => Response::Done { message },
        Err(e) => error(e.to_string()),
    }
}

fn check_attribute(agent: &Agent, node: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "attribute name {name:?} is empty or has spaces; give a name like site or standby"
        ));
    }
    let mut known: Vec<String> = agent.config.nodes.iter().map(|n| n.name.clone()).collect();
    let applied = agent.consensus.applied();
    known.extend(
        applied
            .membership
            .membership()
            .nodes()
            .map(|(_, n)| n.name.clone()),
    );
    if known.iter().any(|n| n == node) {
        return Ok(());
    }
    known.sort();
    known.dedup();
    Err(format!(
        "no node {node:?} in the cluster (nodes: {}); use --node NAME",
        known.join(", ")
    ))
}

/// `resources` of `herd status --json`: the last recorded change per resource and node.
pub(crate) fn resource_status(state: &ClusterState) -> Vec<ResourceStatus> {
    let mut out = Vec::new();
    for (resource, by_node) in &state.resources {
        for (node, op) in by_node {
            out.push(ResourceStatus {
                resource: resource.clone(),
                node: node.clone(),
                state: resulting_state(&op.op, op.rc).to_string(),
                op: op.op.clone(),
                rc: op.rc,
                exit_reason: op.exit_reason.clone(),
                dc_epoch: op.dc_epoch.to_string(),
            });
        }
    }
    out
}

/// `failures` of `herd status --json`.
pub(crate) fn failure_status(state: &ClusterState) -> Vec<FailureStatus> {
    state
        .fail_counts
        .iter()
        .map(|((resource, node, op), fail)| FailureStatus {
            resource: resource.clone(),
            node: node.clone(),
            op: op.clone(),
            count: fail.count,
            last_failure_s: fail.last_failure_s,
        })
        .collect()
}

/// `node_attributes` of `herd status --json` (nodes without attributes left out).
pub(crate) fn node_attributes(state: &ClusterState) -> BTreeMap<String, BTreeMap<String, String>> {
    state
        .node_attrs
        .iter()
        .filter(|(_, attrs)| !attrs.is_empty())
        .map(|(node, attrs)| (node.clone(), attrs.clone()))
        .collect()
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
