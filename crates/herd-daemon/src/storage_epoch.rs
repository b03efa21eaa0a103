//! The storage epoch (CLUSTER.md §6.10): only the DC commits it; a node enters the storage
//! membership when it is committed `online` and leaves it when it is `lost` or `left` (a
//! `suspect` member stays in). Each different member set is a new epoch; the DC commits
//! `SetStorageEpoch` after the node states of each round, so every change of the set of online
//! nodes bumps the epoch once (applying the same set twice changes nothing).
//!
//! Not here: node states (`agent/dc.rs`), the block store that will use the epoch. The rule
//! ([`next_members`]) is pure; the I/O is the proposal on the DC.

use std::collections::BTreeSet;
use std::time::Duration;

use herd_raft::{ClusterState, Command, Consensus, DcEpoch, HerdNode, NodeState};

use crate::agent::Agent;

/// The storage members after applying the rule to `state` for the cluster's `members`
/// (voters and learners). Witnesses hold no storage and are never members.
pub(crate) fn next_members<'a>(
    state: &ClusterState,
    members: impl IntoIterator<Item = &'a HerdNode>,
) -> BTreeSet<String> {
    members
        .into_iter()
        .filter(|node| !node.witness)
        .filter(|node| {
            let current = state.storage_members.contains(&node.name);
            match state.nodes.get(&node.name).map(|r| r.state) {
                Some(NodeState::Online) => true,
                Some(NodeState::Suspect) => current,
                _ => false,
            }
        })
        .map(|node| node.name.clone())
        .collect()
}

impl Agent {
    /// On the DC, after the node states of a round: commits a new storage epoch when the
    /// member set differs from the committed one.
    pub(crate) async fn storage_round(&self, epoch: DcEpoch) {
        let status = self.consensus.status();
        let applied = self.consensus.applied();
        let members = next_members(
            &applied.state,
            status.voters.iter().chain(status.learners.iter()),
        );
        if members == applied.state.storage_members {
            return;
        }
        let names: Vec<&str> = members.iter().map(String::as_str).collect();
        let command = Command::SetStorageEpoch {
            dc_epoch: epoch,
            members: members.clone(),
        };
        let limit = Duration::from_millis(self.config.timing.lease_ms);
        match tokio::time::timeout(limit, self.consensus.propose(command)).await {
            Ok(Ok(_)) => tracing::info!(
                storage_epoch = applied.state.storage_epoch + 1,
                members = ?names,
                "new storage epoch"
            ),
            Ok(Err(e)) => tracing::debug!(error = %e, "storage epoch not committed"),
            Err(_) => tracing::debug!("storage epoch not committed in time"),
        }
    }
}

#[cfg(test)]
mod tests {
    use herd_raft::NodeRecord;

    use super::*;

    fn node(name: &str, witness: bool) -> HerdNode {
        HerdNode {
            name: name.into(),
            addrs: Vec::new(),
            witness,
        }
    }

    fn state(states: &[(&str, NodeState)], members: &[&str]) -> ClusterState {
        let mut state = ClusterState::default();
        for (name, s) in states {
            let record = NodeRecord {
                state: *s,
                incarnation: 1,
            };
            state.nodes.insert(name.to_string(), record);
        }
        state.storage_members = members.iter().map(|m| m.to_string()).collect();
        state
    }

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn online_nodes_enter_and_lost_or_left_nodes_leave() {
        let nodes = [node("n1", false), node("n2", false), node("n3", false)];
        let s = state(
            &[
                ("n1", NodeState::Online),
                ("n2", NodeState::Lost),
                ("n3", NodeState::Left),
            ],
            &["n1", "n2", "n3"],
        );
        assert_eq!(names(&next_members(&s, &nodes)), ["n1"]);
    }

    #[test]
    fn a_suspect_member_stays_and_a_suspect_outsider_stays_out() {
        let nodes = [node("n1", false), node("n2", false)];
        let s = state(
            &[("n1", NodeState::Suspect), ("n2", NodeState::Suspect)],
            &["n1"],
        );
        assert_eq!(names(&next_members(&s, &nodes)), ["n1"]);
    }

    #[test]
    fn witnesses_and_former_members_are_never_storage_members() {
        let nodes = [node("n1", false), node("w", true)];
        let s = state(
            &[
                ("n1", NodeState::Online),
                ("w", NodeState::Online),
                ("gone", NodeState::Online),
            ],
            &["gone"],
        );
        assert_eq!(names(&next_members(&s, &nodes)), ["n1"]);
    }
}
