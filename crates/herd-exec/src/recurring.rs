//! Recurring monitors: one task per (resource, interval) that runs the monitor, waits the
//! interval after it completes, and runs it again, each run under the same per-resource
//! lock and node slots as any action. A result whose rc differs from the previous one (and
//! the first) is broadcast as a [`MonitorEvent`]; repeats are neither broadcast nor written
//! to the history.
//!
//! Not here: the agent runs themselves (they go through the executor); no I/O of its own.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ExecError;
use crate::executor::{Executor, Slot};
use crate::op::{Action, ExecStatus, OpRequest, OpResult};

/// A recurring monitor's result that differs from its previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorEvent {
    /// The new result.
    pub result: OpResult,
    /// The rc before (`None` for the first run).
    pub previous_rc: Option<i32>,
}

pub(crate) struct Recurring {
    cancel: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Executor {
    /// Starts a recurring monitor (`request.action` must be monitor, `interval_ms` > 0).
    /// It replaces one with the same resource and interval. The first run is immediate.
    pub fn start_recurring(&self, request: OpRequest) -> Result<(), ExecError> {
        let why = match (request.action, request.interval_ms) {
            (Action::Monitor, 0) => {
                Some("a recurring monitor needs an interval above 0 (interval 0 is a probe)")
            }
            (Action::Monitor, _) => None,
            _ => Some("only monitors recur"),
        };
        if let Some(why) = why {
            return Err(ExecError::Recurring {
                resource: request.resource.clone(),
                why: why.to_owned(),
            });
        }
        let key = (request.resource.clone(), request.interval_ms);
        let (cancel, cancel_rx) = watch::channel(false);
        let task = tokio::spawn(monitor_loop(self.clone(), request, cancel_rx));
        let old = self
            .inner
            .recurring
            .lock()
            .expect("recurring table is never poisoned")
            .insert(key, Recurring { cancel, task });
        if let Some(old) = old {
            old.cancel.send_replace(true);
        }
        Ok(())
    }

    /// Cancels one recurring monitor (and aborts its run in flight). False when none ran.
    pub fn cancel_recurring(&self, resource: &str, interval_ms: u64) -> bool {
        let removed = self
            .inner
            .recurring
            .lock()
            .expect("recurring table is never poisoned")
            .remove(&(resource.to_owned(), interval_ms));
        let Some(recurring) = removed else {
            return false;
        };
        recurring.cancel.send_replace(true);
        self.inner.abort_running(|op| {
            op.request.resource == resource
                && op.request.action == Action::Monitor
                && op.request.interval_ms == interval_ms
        });
        drop(recurring.task);
        true
    }

    /// Cancels every recurring monitor of one resource.
    pub fn cancel_resource_recurring(&self, resource: &str) -> usize {
        let intervals: Vec<u64> = self
            .recurring_ops()
            .into_iter()
            .filter(|(r, _)| r == resource)
            .map(|(_, i)| i)
            .collect();
        intervals
            .into_iter()
            .filter(|interval| self.cancel_recurring(resource, *interval))
            .count()
    }

    /// The recurring monitors that run, as (resource, interval in ms).
    pub fn recurring_ops(&self) -> Vec<(String, u64)> {
        let table = self
            .inner
            .recurring
            .lock()
            .expect("recurring table is never poisoned");
        let mut keys: Vec<(String, u64)> = table.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Cancels every recurring monitor; returns how many there were.
    pub fn cancel_all_recurring(&self) -> usize {
        let keys = self.recurring_ops();
        keys.iter()
            .filter(|(resource, interval)| self.cancel_recurring(resource, *interval))
            .count()
    }
}

async fn monitor_loop(executor: Executor, request: OpRequest, mut cancel: watch::Receiver<bool>) {
    let interval = Duration::from_millis(request.interval_ms);
    let mut previous_rc = None;
    loop {
        if *cancel.borrow() {
            return;
        }
        let result = executor.inner.execute(request.clone(), Slot::Take).await;
        if *cancel.borrow() || result.status == ExecStatus::Cancelled {
            return;
        }
        if previous_rc != Some(result.rc) {
            let event = MonitorEvent {
                previous_rc,
                result: result.clone(),
            };
            // No subscriber is fine: the result is in the history anyway.
            let _ = executor.inner.events.send(event);
            previous_rc = Some(result.rc);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = cancel.wait_for(|cancelled| *cancelled) => {
                let _ = changed;
                return;
            }
        }
    }
}
