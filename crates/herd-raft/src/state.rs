//! The replicated cluster state and the commands that change it.
//!
//! [`ClusterState::apply`] is a pure function of the state and one command: the same log gives
//! the same state on every node. The state holds the configuration (the CIB as XML text until
//! herd-cib's typed model is wired in), node states and incarnations, resource status changes,
//! fail counts, node attributes and the storage epoch. No I/O here; persistence is in
//! `sm_store.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::types::DcEpoch;

/// A node's membership state, as the DC last committed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeState {
    /// In the membership, never seen online since.
    Offline,
    Online,
    Suspect,
    Lost,
    /// Left the cluster gracefully, or removed.
    Left,
}

impl NodeState {
    /// The lowercase name used in `herd status` and its JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Offline => "offline",
            NodeState::Online => "online",
            NodeState::Suspect => "suspect",
            NodeState::Lost => "lost",
            NodeState::Left => "left",
        }
    }
}

/// What the cluster knows of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub state: NodeState,
    /// Bumped by the node on every start of its agent.
    pub incarnation: u64,
}

/// The last recorded change of one operation of a resource on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceOp {
    pub op: String,
    pub rc: i32,
    pub dc_epoch: DcEpoch,
    pub exit_reason: Option<String>,
}

/// Fail count and last failure (seconds since the epoch) of one (resource, node, op).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailCount {
    pub count: u32,
    pub last_failure_s: i64,
}

/// The whole replicated state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// The configuration: a CIB document, XML text.
    pub cib_xml: String,
    /// Bumped on every configuration commit.
    pub config_epoch: u64,
    pub nodes: BTreeMap<String, NodeRecord>,
    /// resource -> node -> last op change.
    pub resources: BTreeMap<String, BTreeMap<String, ResourceOp>>,
    /// (resource, node, op) -> fail count.
    pub fail_counts: BTreeMap<(String, String, String), FailCount>,
    /// node -> attribute -> value.
    pub node_attrs: BTreeMap<String, BTreeMap<String, String>>,
    pub storage_epoch: u64,
    /// The highest DC epoch any applied command carried.
    pub dc_epoch: DcEpoch,
    /// The nodes in the current storage epoch (CLUSTER.md §6.10); added in snapshot format 2.
    pub storage_members: BTreeSet<String>,
}

/// One change to the replicated state (the Raft log's application data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Replace the configuration.
    SetCib {
        xml: String,
    },
    /// The DC records a node's state (and incarnation).
    SetNodeState {
        dc_epoch: DcEpoch,
        node: String,
        state: NodeState,
        incarnation: u64,
    },
    /// The DC records an operation result.
    RecordOp {
        dc_epoch: DcEpoch,
        resource: String,
        node: String,
        op: ResourceOp,
    },
    SetFailCount {
        resource: String,
        node: String,
        op: String,
        fail: Option<FailCount>,
    },
    SetNodeAttr {
        node: String,
        name: String,
        value: Option<String>,
    },
    BumpStorageEpoch {
        dc_epoch: DcEpoch,
    },
    /// Marks a node removed from the membership.
    RemoveNode {
        node: String,
    },
    /// The DC sets the storage members; a different set starts a new storage epoch, the
    /// same set changes nothing (so a retried proposal bumps once).
    SetStorageEpoch {
        dc_epoch: DcEpoch,
        members: BTreeSet<String>,
    },
    /// Clears every fail count of `resource` (all when None) on `node` (all when None), as
    /// one command (`herd cleanup`).
    ClearFailCounts {
        resource: Option<String>,
        node: Option<String>,
    },
    /// The DC records one failure of `op` of `resource` on `node` at `at_s` (seconds since
    /// the epoch): the fail count goes up by one from whatever it is when this applies, so a
    /// `herd cleanup` committed before it is not undone. A failure at or before the recorded
    /// last failure is one already counted (a report sent again because its answer was lost,
    /// also when it came in one batch with later ones) and changes nothing.
    RecordFailure {
        dc_epoch: DcEpoch,
        resource: String,
        node: String,
        op: String,
        at_s: i64,
    },
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::SetCib { xml } => write!(f, "set-cib({} bytes)", xml.len()),
            Command::SetNodeState { node, state, .. } => write!(f, "{node}={}", state.as_str()),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The result of applying one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    #[default]
    Ok,
    /// The command carried a DC epoch lower than one already applied; it changed nothing.
    StaleEpoch { highest: DcEpoch },
}

impl ClusterState {
    /// Applies one command. DC commands with a stale epoch change nothing.
    pub fn apply(&mut self, command: &Command) -> Response {
        if let Some(epoch) = command.dc_epoch() {
            if epoch < self.dc_epoch {
                return Response::StaleEpoch {
                    highest: self.dc_epoch,
                };
            }
            self.dc_epoch = epoch;
        }
        match command {
            Command::SetCib { xml } => {
                self.cib_xml.clone_from(xml);
                self.config_epoch += 1;
            }
            Command::SetNodeState {
                node,
                state,
                incarnation,
                ..
            } => {
                self.nodes.insert(
                    node.clone(),
                    NodeRecord {
                        state: *state,
                        incarnation: *incarnation,
                    },
                );
            }
            Command::RecordOp {
                resource, node, op, ..
            } => {
                self.resources
                    .entry(resource.clone())
                    .or_default()
                    .insert(node.clone(), op.clone());
            }
            Command::SetFailCount {
                resource,
                node,
                op,
                fail,
            } => {
                let key = (resource.clone(), node.clone(), op.clone());
                match fail {
                    Some(fail) => self.fail_counts.insert(key, fail.clone()),
                    None => self.fail_counts.remove(&key),
                };
            }
            Command::SetNodeAttr { node, name, value } => {
                let attrs = self.node_attrs.entry(node.clone()).or_default();
                match value {
                    Some(value) => attrs.insert(name.clone(), value.clone()),
                    None => attrs.remove(name),
                };
            }
            Command::BumpStorageEpoch { .. } => self.storage_epoch += 1,
            Command::RemoveNode { node } => {
                let record = self.nodes.entry(node.clone()).or_insert(NodeRecord {
                    state: NodeState::Left,
                    incarnation: 0,
                });
                record.state = NodeState::Left;
            }
            Command::SetStorageEpoch { members, .. } => {
                if *members != self.storage_members {
                    self.storage_members.clone_from(members);
                    self.storage_epoch += 1;
                }
            }
            Command::ClearFailCounts { resource, node } => {
                let matches = |want: &Option<String>, have: &String| {
                    want.as_ref().is_none_or(|want| want == have)
                };
                self.fail_counts
                    .retain(|(r, n, _), _| !(matches(resource, r) && matches(node, n)));
            }
            Command::RecordFailure {
                resource,
                node,
                op,
                at_s,
                ..
            } => {
                let key = (resource.clone(), node.clone(), op.clone());
                let known = self.fail_counts.get(&key);
                if known.is_none_or(|f| *at_s > f.last_failure_s) {
                    let count = known.map_or(0, |f| f.count).saturating_add(1);
                    let last_failure_s = *at_s;
                    self.fail_counts.insert(
                        key,
                        FailCount {
                            count,
                            last_failure_s,
                        },
                    );
                }
            }
        }
        Response::Ok
    }
}

impl Command {
    /// The DC epoch a DC command carries.
    pub fn dc_epoch(&self) -> Option<DcEpoch> {
        match self {
            Command::SetNodeState { dc_epoch, .. }
            | Command::RecordOp { dc_epoch, .. }
            | Command::BumpStorageEpoch { dc_epoch }
            | Command::SetStorageEpoch { dc_epoch, .. }
            | Command::RecordFailure { dc_epoch, .. } => Some(*dc_epoch),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(term: u64) -> DcEpoch {
        DcEpoch { term, leader: 7 }
    }

    #[test]
    fn stale_dc_epoch_changes_nothing() {
        let mut state = ClusterState::default();
        let online = |term| Command::SetNodeState {
            dc_epoch: epoch(term),
            node: "n1".into(),
            state: NodeState::Online,
            incarnation: term,
        };
        assert_eq!(state.apply(&online(5)), Response::Ok);
        let before = state.clone();
        assert_eq!(
            state.apply(&online(4)),
            Response::StaleEpoch { highest: epoch(5) }
        );
        assert_eq!(state, before);
    }

    #[test]
    fn config_epoch_counts_cib_commits() {
        let mut state = ClusterState::default();
        state.apply(&Command::SetCib {
            xml: "<cib/>".into(),
        });
        state.apply(&Command::SetCib {
            xml: "<cib a='1'/>".into(),
        });
        assert_eq!(state.config_epoch, 2);
        assert_eq!(state.cib_xml, "<cib a='1'/>");
    }

    fn members(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn storage_epoch_moves_only_when_the_member_set_changes() {
        let mut state = ClusterState::default();
        let set = |names: &[&str]| Command::SetStorageEpoch {
            dc_epoch: epoch(1),
            members: members(names),
        };
        state.apply(&set(&["n1", "n2", "n3"]));
        assert_eq!(state.storage_epoch, 1);
        // A retried proposal of the same set is no new epoch.
        state.apply(&set(&["n1", "n2", "n3"]));
        assert_eq!(state.storage_epoch, 1);
        state.apply(&set(&["n1", "n2"]));
        assert_eq!(state.storage_epoch, 2);
        assert_eq!(state.storage_members, members(&["n1", "n2"]));
    }

    #[test]
    fn clear_fail_counts_removes_only_the_matching_ones() {
        let mut state = ClusterState::default();
        for (r, n) in [("r1", "n1"), ("r1", "n2"), ("r2", "n1")] {
            state.apply(&Command::SetFailCount {
                resource: r.into(),
                node: n.into(),
                op: "monitor_10000".into(),
                fail: Some(FailCount {
                    count: 1,
                    last_failure_s: 5,
                }),
            });
        }
        state.apply(&Command::ClearFailCounts {
            resource: Some("r1".into()),
            node: Some("n2".into()),
        });
        assert_eq!(state.fail_counts.len(), 2);
        state.apply(&Command::ClearFailCounts {
            resource: None,
            node: Some("n1".into()),
        });
        assert!(state.fail_counts.is_empty());
    }

    fn failure(term: u64, at_s: i64) -> Command {
        Command::RecordFailure {
            dc_epoch: epoch(term),
            resource: "r1".into(),
            node: "n1".into(),
            op: "monitor_10000".into(),
            at_s,
        }
    }

    fn fail_count(state: &ClusterState) -> Option<FailCount> {
        let key = (
            "r1".to_string(),
            "n1".to_string(),
            "monitor_10000".to_string(),
        );
        state.fail_counts.get(&key).cloned()
    }

    #[test]
    fn record_failure_adds_one_and_keeps_its_time() {
        let mut state = ClusterState::default();
        state.apply(&failure(1, 100));
        state.apply(&failure(1, 160));
        assert_eq!(
            fail_count(&state),
            Some(FailCount {
                count: 2,
                last_failure_s: 160
            })
        );
    }

    #[test]
    fn record_failure_sent_again_counts_once() {
        let mut state = ClusterState::default();
        // A batch of two failures whose answer was lost, sent again whole.
        for _ in 0..2 {
            state.apply(&failure(1, 100));
            state.apply(&failure(1, 101));
        }
        assert_eq!(
            fail_count(&state),
            Some(FailCount {
                count: 2,
                last_failure_s: 101
            })
        );
    }

    #[test]
    fn record_failure_after_cleanup_starts_from_zero() {
        let mut state = ClusterState::default();
        state.apply(&failure(1, 100));
        state.apply(&failure(1, 101));
        // `herd cleanup` commits between the DC reading the state and its proposal applying.
        state.apply(&Command::ClearFailCounts {
            resource: Some("r1".into()),
            node: None,
        });
        state.apply(&failure(1, 102));
        assert_eq!(
            fail_count(&state),
            Some(FailCount {
                count: 1,
                last_failure_s: 102
            })
        );
    }

    #[test]
    fn record_failure_of_a_stale_dc_is_ignored() {
        let mut state = ClusterState::default();
        state.apply(&failure(5, 100));
        assert_eq!(
            state.apply(&failure(4, 200)),
            Response::StaleEpoch { highest: epoch(5) }
        );
        assert_eq!(fail_count(&state).map(|f| f.count), Some(1));
    }

    #[test]
    fn set_fail_count_still_applies_as_before() {
        // Logs written before RecordFailure existed carry absolute counts.
        let mut state = ClusterState::default();
        let fail = FailCount {
            count: 7,
            last_failure_s: 50,
        };
        state.apply(&Command::SetFailCount {
            resource: "r1".into(),
            node: "n1".into(),
            op: "monitor_10000".into(),
            fail: Some(fail.clone()),
        });
        assert_eq!(fail_count(&state), Some(fail));
        state.apply(&failure(1, 60));
        assert_eq!(fail_count(&state).map(|f| f.count), Some(8));
    }
}
