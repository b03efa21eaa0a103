//! Stopping everything when the node loses its lease: every recurring monitor is cancelled,
//! every action in flight is aborted (its process group gets SIGTERM, then SIGKILL), and
//! every resource the history calls active is stopped, all at once (no node slot limit),
//! each stop's timeout cut to what is left before the deadline.
//!
//! Not here: the lease (herd-daemon decides when to call it and reports it). I/O: signals to
//! the running process groups and the stops, through [`crate::process`].

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::executor::{Executor, Slot};
use crate::op::{Action, OpRequest, OpResult};

/// Kept free before the deadline for the executor's own bookkeeping after the last kill.
const STOP_MARGIN_MS: u64 = 100;

/// A resource that may still be active after [`Executor::stop_all_active`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopFailure {
    pub resource: String,
    /// What went wrong: the stop's rc and reason, or that the resource stayed busy.
    pub reason: String,
}

/// What [`Executor::stop_all_active`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopAllReport {
    /// From the call to the last stop's end.
    pub elapsed_ms: u64,
    /// Everything ended before the deadline.
    pub within_deadline: bool,
    /// Recurring monitors cancelled.
    pub monitors_cancelled: usize,
    /// Actions in flight that were aborted.
    pub actions_aborted: usize,
    /// Resources stopped cleanly.
    pub stopped: Vec<String>,
    /// Resources that may still be active (the node must be fenced or self-fence).
    pub failed: Vec<StopFailure>,
    /// The stop results, by resource id.
    pub results: Vec<OpResult>,
}

impl StopAllReport {
    /// True when every active resource stopped cleanly in time.
    pub fn all_stopped(&self) -> bool {
        self.failed.is_empty() && self.within_deadline
    }
}

/// Stops one resource whose lock is free by the deadline, its timeout cut to the time left.
async fn stop_one(
    executor: Executor,
    mut request: OpRequest,
    deadline: Instant,
) -> Result<OpResult, StopFailure> {
    let resource = request.resource.clone();
    let Some(_turn) = executor.inner.lock_until(&resource, deadline.into()).await else {
        return Err(StopFailure {
            resource,
            reason: "another action was still running at the deadline".to_owned(),
        });
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
    // The grace is cut to a fifth of the time left, and room is left for it, so that even a
    // stop that ignores SIGTERM is killed by the deadline.
    let grace_ms = executor.inner.config.kill_grace_ms.min(left_ms / 5);
    request.timeout_ms = Some(left_ms.saturating_sub(grace_ms + STOP_MARGIN_MS).max(1));
    Ok(executor
        .inner
        .execute_locked(request, Slot::Exempt, Some(grace_ms))
        .await)
}

impl Executor {
    /// The stops to run after a lease loss: every resource the history calls active, and
    /// every resource with a state-changing action in flight (it may be active before its
    /// history says so, as on a first start), with the parameters in flight.
    fn stop_targets(&self) -> BTreeMap<String, OpRequest> {
        let mut targets = BTreeMap::new();
        for history in self.histories().into_iter().filter(|h| h.state.is_active()) {
            let mut request = OpRequest::new(&history.resource, history.agent, Action::Stop);
            request.params = history.params;
            request.meta = history.meta;
            targets.insert(history.resource, request);
        }
        for running in self.inner.running_requests() {
            if !running.action.is_read_only() && running.action != Action::Stop {
                targets.insert(running.resource.clone(), running.with_action(Action::Stop));
            }
        }
        targets
    }

    /// Stops every active resource at once, by `deadline`, and reports. The daemon calls
    /// this when the node's lease is lost; `config().lease_loss_stop_timeout_ms` is the
    /// bound it should use (`deadline = now + bound`).
    pub async fn stop_all_active(&self, deadline: Instant) -> StopAllReport {
        let begun = Instant::now();
        let monitors_cancelled = self.cancel_all_recurring();
        let targets = self.stop_targets();
        let actions_aborted = self
            .inner
            .abort_running(|op| op.request.action != Action::Stop);
        let tasks: Vec<_> = targets
            .into_values()
            .map(|request| tokio::spawn(stop_one(self.clone(), request, deadline)))
            .collect();
        let mut report = StopAllReport {
            elapsed_ms: 0,
            within_deadline: true,
            monitors_cancelled,
            actions_aborted,
            stopped: Vec::new(),
            failed: Vec::new(),
            results: Vec::new(),
        };
        for task in tasks {
            match task.await {
                Ok(Ok(result)) if result.succeeded(false) => {
                    report.stopped.push(result.resource.clone());
                    report.results.push(result);
                }
                Ok(Ok(result)) => {
                    report.failed.push(StopFailure {
                        resource: result.resource.clone(),
                        reason: result.summary(),
                    });
                    report.results.push(result);
                }
                Ok(Err(failure)) => report.failed.push(failure),
                Err(e) => report.failed.push(StopFailure {
                    resource: "?".to_owned(),
                    reason: format!("stop task failed: {e}"),
                }),
            }
        }
        report.elapsed_ms = u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX);
        report.within_deadline = Instant::now() <= deadline;
        report.results.sort_by(|a, b| a.resource.cmp(&b.resource));
        report.stopped.sort();
        // The caller (the daemon) reports the outcome once; this is detail for debugging.
        tracing::debug!(
            stopped = report.stopped.len(),
            failed = report.failed.len(),
            elapsed_ms = report.elapsed_ms,
            "stop-all finished"
        );
        report
    }
}
