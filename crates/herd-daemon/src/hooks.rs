//! What the agent calls out to when its node's situation changes: today, the loss of the
//! node lease (stop every resource now). `herd agent` runs with `ExecutorHooks`
//! (executor_hooks.rs, herd-exec's stop-all); the default only logs. No I/O of its own.

use herd_raft::BoxFuture;

/// Callbacks from the agent to the rest of the node.
pub trait AgentHooks: Send + Sync + 'static {
    /// The node lease expired: stop every active resource at once. Called once per loss.
    fn lease_lost(&self) -> BoxFuture<'_, ()>;

    /// The agent is up (transport, Raft and its loops running): learn what runs on this
    /// node. Runs alongside the agent, once per start.
    fn started(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// The agent has run one lease length without a lease: nothing may run on this node, so
    /// what an earlier agent left running is stopped. Called at most once per start.
    fn no_lease_after_start(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// The node leaves the cluster (SIGTERM) or was removed: stop every active resource now.
    /// True when nothing may still run, so the node is clean and may be recorded `left`.
    fn stop_for_leave(&self) -> BoxFuture<'_, bool> {
        Box::pin(async {
            self.lease_lost().await;
            true
        })
    }

    /// The node was removed from the cluster: stop every active resource now, as for a leave.
    /// True when nothing may still run.
    fn stop_for_removal(&self) -> BoxFuture<'_, bool> {
        self.stop_for_leave()
    }

    /// The executor results since the last call, for the DC to record (records.rs); each is
    /// handed out once.
    fn take_op_reports(&self) -> Vec<crate::records::OpReport> {
        Vec::new()
    }
}

/// Hooks that do nothing but log (no executor wired yet).
#[derive(Debug, Default)]
pub struct LogOnlyHooks;

impl AgentHooks for LogOnlyHooks {
    fn lease_lost(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            tracing::warn!("no executor wired: nothing to stop");
        })
    }
}
