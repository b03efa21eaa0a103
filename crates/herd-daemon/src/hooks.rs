//! What the agent calls out to when its node's situation changes: today, the loss of the
//! node lease (stop every resource now). The lead wires herd-exec's stop-all here; the default
//! only logs. No I/O of its own.

use herd_raft::BoxFuture;

/// Callbacks from the agent to the rest of the node.
pub trait AgentHooks: Send + Sync + 'static {
    /// The node lease expired: stop every active resource at once. Called once per loss.
    fn lease_lost(&self) -> BoxFuture<'_, ()>;
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
