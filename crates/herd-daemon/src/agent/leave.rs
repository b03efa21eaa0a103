//! Graceful leave (CLUSTER.md §6.4 "positive evidence", §6.12 row 20): on SIGTERM the node
//! stops its resources, asks the DC to commit it `left` (the DC commits it for itself when
//! the leaving node is the DC), stops renewing, and the agent exits 0. The others show it
//! `left` at once instead of suspect and then lost; a `left` record stays until the node
//! renews with another incarnation (a restart), which makes it online again.
//!
//! openraft 0.9 has no leadership transfer (`trigger()` offers elect, heartbeat, snapshot and
//! purge only), so a leaving DC commits its own `left` and stops; the others elect a new
//! leader after their election timeout, as after a crash but with nothing to recover.
//!
//! Not here: removal (`removed.rs`), the signal handling (lib.rs). `left_sticks` is pure; the
//! I/O is herd-rpc calls to the DC, the consensus, the hooks and `DATA_DIR/incarnation`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use herd_raft::{Command, Consensus, NodeRecord, NodeState};
use tokio::time::Instant;

use super::Agent;
use super::dc::Renewal;
use super::removed::fresh_epoch;
use crate::wire::{ClusterMsg, ClusterReply};

/// How long a leaving node keeps asking for its `left` record before it exits anyway (the
/// others then see it suspect and lost, as after a crash).
const LEAVE_FOR: Duration = Duration::from_secs(5);

/// Whether a committed `left` state stands against this renewal: it does until the node
/// renews with another incarnation (it restarted).
pub(crate) fn left_sticks(record: Option<&NodeRecord>, renewal: Option<&Renewal>) -> bool {
    match record {
        Some(record) if record.state == NodeState::Left => {
            renewal.is_none_or(|r| r.incarnation == record.incarnation)
        }
        _ => false,
    }
}

impl Agent {
    /// The DC's answer to a `Leave`: commit `node` left with the incarnation it left in.
    pub(crate) async fn handle_leave(&self, node: &str, incarnation: u64) -> ClusterReply {
        let status = self.consensus.status();
        let Some(dc_epoch) = fresh_epoch(self, &status) else {
            return ClusterReply::Refused("not the DC".to_string());
        };
        let command = Command::SetNodeState {
            dc_epoch,
            node: node.to_string(),
            state: NodeState::Left,
            incarnation,
        };
        let limit = Duration::from_millis(self.timing().lease_ms);
        match tokio::time::timeout(limit, self.consensus.propose(command)).await {
            Ok(Ok(_)) => {
                tracing::info!(%node, incarnation, "node left the cluster");
                ClusterReply::Done
            }
            Ok(Err(e)) => ClusterReply::Refused(e.to_string()),
            Err(_) => ClusterReply::Refused("the leave was not committed in time".to_string()),
        }
    }

    /// Leaves the cluster gracefully: stop resources, get `left` committed, stop renewing.
    /// Returns whether the leave was committed.
    pub(crate) async fn leave(self: &Arc<Self>) -> bool {
        if !self.consensus.status().initialized || self.departure.is_removed() {
            return false;
        }
        tracing::info!("leaving the cluster: stopping every resource on this node");
        if !self.hooks.stop_for_leave().await {
            // Not clean: a `left` record would let the DC recover its resources at once.
            tracing::error!(
                "some resources may still run: not leaving cleanly; the others will see this \
                 node lost and recover its resources only after fencing or T_safe"
            );
            return false;
        }
        let incarnation = self.incarnation.load(Ordering::SeqCst);
        // The next start must renew with another incarnation than the `left` record's, or
        // the record would stick: lease losses raise the incarnation in memory only.
        if let Err(e) = keep_incarnation(&self.config.data_dir, incarnation) {
            tracing::warn!("cannot keep the incarnation before leaving: {e}");
        }
        let deadline = Instant::now() + LEAVE_FOR;
        let mut last_error = String::from("no DC");
        while Instant::now() < deadline {
            let status = self.consensus.status();
            let reply = match status.leader {
                Some(leader) if leader.name == self.name => {
                    Ok(self.handle_leave(&self.name, incarnation).await)
                }
                Some(leader) => {
                    let msg = ClusterMsg::Leave {
                        node: self.name.clone(),
                        incarnation,
                    };
                    self.call(&leader.name, &msg, Duration::from_secs(1)).await
                }
                None => Err("no DC".to_string()),
            };
            match reply {
                Ok(ClusterReply::Done) => {
                    self.departure.mark_left();
                    if self.consensus.status().is_leader {
                        // One more quorum round carries the commit index to the followers,
                        // so they apply `left` before this leader goes away.
                        let limit = Duration::from_secs(1);
                        let _ =
                            tokio::time::timeout(limit, self.consensus.confirm_leadership()).await;
                    }
                    tracing::info!(incarnation, "left the cluster (resources stopped)");
                    return true;
                }
                Ok(ClusterReply::Refused(e)) | Err(e) => last_error = e,
                Ok(other) => last_error = format!("unexpected answer {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::warn!(
            error = %last_error,
            "could not record the leave (no DC with a quorum); the others will see this node lost"
        );
        false
    }
}

/// Writes `incarnation` durably to `DATA_DIR/incarnation`, where the next start reads it and
/// adds one.
fn keep_incarnation(data_dir: &Path, incarnation: u64) -> std::io::Result<()> {
    let path = data_dir.join("incarnation");
    crate::durable::write_file(&path, format!("{incarnation}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewal(incarnation: u64) -> Renewal {
        let now = Instant::now();
        Renewal {
            at: now,
            incarnation,
            streak_start: now,
        }
    }

    #[test]
    fn left_stays_until_a_restart_renews_with_a_new_incarnation() {
        let left = NodeRecord {
            state: NodeState::Left,
            incarnation: 4,
        };
        assert!(left_sticks(Some(&left), None));
        assert!(left_sticks(Some(&left), Some(&renewal(4))));
        assert!(!left_sticks(Some(&left), Some(&renewal(5))));
        let online = NodeRecord {
            state: NodeState::Online,
            incarnation: 4,
        };
        assert!(!left_sticks(Some(&online), Some(&renewal(4))));
        assert!(!left_sticks(None, None));
    }
}
