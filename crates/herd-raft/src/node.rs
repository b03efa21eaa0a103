//! [`RaftNode`]: one node's Raft (openraft behind our [`Consensus`] trait), opened from a data
//! directory and driven through a [`RaftTransport`].
//!
//! The daemon and the simulation use only the trait; openraft's types stay in this crate. The
//! files are `DIR/log` (journal) and `DIR/snapshot`; both are opened here, and a damaged file
//! makes [`RaftNode::open`] fail with the file named.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::AppendEntriesResponse;
use openraft::{ChangeMembers, Raft, ServerState};
use tokio::sync::watch;

use crate::disk_health::{DiskHealth, DiskReport};
use crate::error::{ConsensusError, StoreError};
use crate::log_store::LogStore;
use crate::network::{self, NetFactory, RaftReply, RaftRequest, RaftTransport};
use crate::sm_store::{Applied, SmStore};
use crate::state::{Command, Response};
use crate::types::{DcEpoch, HerdNode, TypeConfig, node_id};

/// Timing and identity of one Raft node.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    pub cluster: String,
    pub node: HerdNode,
    /// Directory for `log` and `snapshot` (created if missing).
    pub dir: PathBuf,
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Take a snapshot after this many applied entries.
    pub snapshot_logs: u64,
}

/// A point-in-time view of this node's Raft.
#[derive(Debug, Clone)]
pub struct ConsensusStatus {
    pub name: String,
    pub term: u64,
    pub leader: Option<HerdNode>,
    pub is_leader: bool,
    /// The leader's committed vote, when a leader is known.
    pub dc_epoch: Option<DcEpoch>,
    /// On the leader: time since a quorum last acknowledged it.
    pub millis_since_quorum_ack: Option<u64>,
    pub voters: Vec<HerdNode>,
    pub learners: Vec<HerdNode>,
    pub initialized: bool,
    pub last_applied_index: Option<u64>,
    /// Set when Raft stopped on a fatal error (storage failure).
    pub fatal: Option<String>,
    /// On a follower: time since an accepted AppendEntries from the leader.
    pub millis_since_leader_contact: Option<u64>,
}

/// What herd needs from a consensus library.
pub trait Consensus: Send + Sync + 'static {
    /// This node's Raft as of now.
    fn status(&self) -> ConsensusStatus;
    /// The applied replicated state.
    fn applied(&self) -> Arc<Applied>;
    /// A channel that changes whenever an entry is applied.
    fn watch_applied(&self) -> watch::Receiver<Arc<Applied>>;
    /// Commits a command (on the leader) and returns its result.
    fn propose(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Response, ConsensusError>> + Send;
    /// Forms a new cluster with these voters (once, on a fresh node).
    fn initialize(
        &self,
        voters: Vec<HerdNode>,
    ) -> impl Future<Output = Result<(), ConsensusError>> + Send;
    /// Adds a node: learner first, caught up, then voter (joint consensus).
    fn add_node(&self, node: HerdNode) -> impl Future<Output = Result<(), ConsensusError>> + Send;
    /// Removes a node from the voters and the membership.
    fn remove_node(&self, name: &str) -> impl Future<Output = Result<(), ConsensusError>> + Send;
    /// Confirms leadership with a quorum round (ReadIndex); returns the DC epoch.
    fn confirm_leadership(&self) -> impl Future<Output = Result<DcEpoch, ConsensusError>> + Send;
    /// Allows or forbids this node to start elections.
    fn set_elect(&self, enabled: bool);
    /// Starts or stops the leader's heartbeats (a witness uses this to hand leadership away).
    fn set_heartbeat(&self, enabled: bool);
    /// Serves one Raft RPC from a peer.
    fn handle_rpc(&self, payload: Vec<u8>) -> impl Future<Output = Vec<u8>> + Send;
    /// Stops Raft.
    fn shutdown(&self) -> impl Future<Output = ()> + Send;
}

/// One node's Raft on openraft.
#[derive(Clone)]
pub struct RaftNode {
    raft: Raft<TypeConfig>,
    name: String,
    applied: watch::Receiver<Arc<Applied>>,
    /// When a quorum last acknowledged this node as leader, on our monotonic clock (derived
    /// from openraft's metrics as they arrive, so a metrics snapshot that is not refreshed
    /// while the leader is cut off does not make it look fresh).
    quorum_ack: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
    leader_contact: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
    membership_lock: Arc<tokio::sync::Mutex<()>>,
    disk: DiskHealth,
}

impl RaftNode {
    /// Opens the node's files and starts Raft (uninitialized on a fresh directory).
    pub async fn open(
        config: RaftConfig,
        transport: Arc<dyn RaftTransport>,
    ) -> Result<RaftNode, ConsensusError> {
        std::fs::create_dir_all(&config.dir).map_err(|source| StoreError::Io {
            path: config.dir.clone(),
            source,
        })?;
        let disk = DiskHealth::default();
        let log = LogStore::open(&config.dir.join("log"), disk.clone())?;
        let (sm, applied) = SmStore::open(&config.dir.join("snapshot"), disk.clone())?;
        let raft_config = openraft::Config {
            cluster_name: config.cluster.clone(),
            heartbeat_interval: config.heartbeat_ms,
            election_timeout_min: config.election_timeout_min_ms,
            election_timeout_max: config.election_timeout_max_ms,
            install_snapshot_timeout: 1000,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.snapshot_logs),
            max_in_snapshot_log_to_keep: 100,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ConsensusError::Raft(format!("invalid raft timing: {e}")))?;
        let id = node_id(&config.node.name);
        let network = NetFactory { transport };
        let raft = Raft::new(id, Arc::new(raft_config), network, log, sm)
            .await
            .map_err(|e| ConsensusError::Raft(e.to_string()))?;
        let quorum_ack = Arc::new(std::sync::Mutex::new(None));
        tokio::spawn(track_quorum_ack(raft.metrics(), quorum_ack.clone()));
        let leader_contact = Arc::new(std::sync::Mutex::new(None));
        Ok(RaftNode {
            raft,
            name: config.node.name,
            applied,
            quorum_ack,
            leader_contact,
            membership_lock: Arc::new(tokio::sync::Mutex::new(())),
            disk,
        })
    }

    /// The health of this node's Raft storage: journal write latency and the first failed
    /// write (after which Raft has stopped).
    pub fn disk_report(&self) -> DiskReport {
        self.disk.report(std::time::Instant::now())
    }

    fn node_by_name(&self, name: &str) -> Option<(u64, HerdNode)> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership().clone();
        membership
            .nodes()
            .find(|(_, n)| n.name == name)
            .map(|(id, n)| (*id, n.clone()))
    }

    fn leader_name(&self) -> Option<String> {
        self.status().leader.map(|n| n.name)
    }

    fn write_error(&self, e: RaftError<u64, ClientWriteError<u64, HerdNode>>) -> ConsensusError {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                ConsensusError::NotLeader {
                    leader: f.leader_node.map(|n| n.name),
                }
            }
            other => ConsensusError::Raft(other.to_string()),
        }
    }
}

impl RaftNode {
    /// Runs one membership change at a time, to its end even when the caller stops waiting
    /// (a dropped caller must not let a second change overlap the first inside openraft).
    async fn serialized<F>(&self, change: F) -> Result<(), ConsensusError>
    where
        F: Future<Output = Result<(), ConsensusError>> + Send + 'static,
    {
        let lock = self.membership_lock.clone();
        let task = tokio::spawn(async move {
            let _guard = lock.lock_owned().await;
            change.await
        });
        task.await
            .map_err(|e| ConsensusError::Raft(format!("membership change task: {e}")))?
    }

    async fn add_node_now(&self, node: HerdNode) -> Result<(), ConsensusError> {
        let id = node_id(&node.name);
        let status = self.status();
        let members = status.voters.iter().chain(status.learners.iter());
        if let Some(other) = members
            .filter(|n| n.name != node.name)
            .find(|n| node_id(&n.name) == id)
        {
            return Err(ConsensusError::Raft(format!(
                "node names {} and {} hash to the same id; rename one",
                node.name, other.name
            )));
        }
        self.raft
            .add_learner(id, node, true)
            .await
            .map_err(|e| self.write_error(e))?;
        let voters: BTreeSet<u64> = [id].into();
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(voters), false)
            .await
            .map_err(|e| self.write_error(e))?;
        Ok(())
    }

    async fn remove_node_now(&self, name: &str) -> Result<(), ConsensusError> {
        // openraft 0.9 keeps a leader that removed itself leading outside its own membership
        // (its debug assertions fire on the next change); refuse, like the admin API does.
        if name == self.name {
            return Err(ConsensusError::Raft(format!(
                "{name} cannot remove itself; remove it from another node once the DC has moved"
            )));
        }
        let Some((id, _)) = self.node_by_name(name) else {
            return Err(ConsensusError::UnknownNode {
                name: name.to_string(),
            });
        };
        let ids: BTreeSet<u64> = [id].into();
        let status = self.status();
        if status.voters.iter().any(|n| n.name == name) {
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(ids.clone()), false)
                .await
                .map_err(|e| self.write_error(e))?;
        }
        if self.node_by_name(name).is_some() {
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(ids), false)
                .await
                .map_err(|e| self.write_error(e))?;
        }
        Ok(())
    }
}

impl Consensus for RaftNode {
    fn status(&self) -> ConsensusStatus {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let leader = m
            .current_leader
            .and_then(|id| membership.get_node(&id).cloned());
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let nodes: BTreeMap<u64, HerdNode> =
            membership.nodes().map(|(id, n)| (*id, n.clone())).collect();
        let dc_epoch = (m.current_leader.is_some() && m.vote.committed).then_some(DcEpoch {
            term: m.vote.leader_id.term,
            leader: m.vote.leader_id.node_id,
        });
        ConsensusStatus {
            name: self.name.clone(),
            term: m.current_term,
            is_leader: m.state == ServerState::Leader,
            leader,
            dc_epoch,
            millis_since_quorum_ack: if m.state == ServerState::Leader {
                lock(&self.quorum_ack).map(|at| {
                    let elapsed = tokio::time::Instant::now().saturating_duration_since(at);
                    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
                })
            } else {
                None
            },
            voters: nodes
                .iter()
                .filter(|(id, _)| voters.contains(id))
                .map(|(_, n)| n.clone())
                .collect(),
            learners: nodes
                .iter()
                .filter(|(id, _)| !voters.contains(id))
                .map(|(_, n)| n.clone())
                .collect(),
            initialized: !nodes.is_empty(),
            last_applied_index: m.last_applied.map(|l| l.index),
            fatal: m.running_state.err().map(|e| e.to_string()),
            millis_since_leader_contact: lock(&self.leader_contact).map(|at| {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(at);
                u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
            }),
        }
    }

    fn applied(&self) -> Arc<Applied> {
        self.applied.borrow().clone()
    }

    fn watch_applied(&self) -> watch::Receiver<Arc<Applied>> {
        self.applied.clone()
    }

    async fn propose(&self, command: Command) -> Result<Response, ConsensusError> {
        match self.raft.client_write(command).await {
            Ok(response) => Ok(response.data),
            Err(e) => Err(self.write_error(e)),
        }
    }

    async fn initialize(&self, voters: Vec<HerdNode>) -> Result<(), ConsensusError> {
        let members: BTreeMap<u64, HerdNode> =
            voters.into_iter().map(|n| (node_id(&n.name), n)).collect();
        match self.raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => {
                Err(ConsensusError::AlreadyInitialized)
            }
            Err(e) => Err(ConsensusError::Raft(e.to_string())),
        }
    }

    async fn add_node(&self, node: HerdNode) -> Result<(), ConsensusError> {
        let this = self.clone();
        self.serialized(async move { this.add_node_now(node).await })
            .await
    }

    async fn remove_node(&self, name: &str) -> Result<(), ConsensusError> {
        let this = self.clone();
        let name = name.to_string();
        self.serialized(async move { this.remove_node_now(&name).await })
            .await
    }

    async fn confirm_leadership(&self) -> Result<DcEpoch, ConsensusError> {
        let before = self.status();
        self.raft
            .ensure_linearizable()
            .await
            .map_err(|_| ConsensusError::NotLeader {
                leader: self.leader_name(),
            })?;
        match before.dc_epoch {
            Some(epoch) if before.is_leader && self.status().dc_epoch == Some(epoch) => Ok(epoch),
            _ => Err(ConsensusError::NotLeader {
                leader: self.leader_name(),
            }),
        }
    }

    fn set_elect(&self, enabled: bool) {
        self.raft.runtime_config().elect(enabled);
    }

    fn set_heartbeat(&self, enabled: bool) {
        self.raft.runtime_config().heartbeat(enabled);
    }

    async fn handle_rpc(&self, payload: Vec<u8>) -> Vec<u8> {
        // A Raft stopped on a fatal error (a failed disk) answers nothing; openraft would log
        // every refused message (ten a second from the leader's heartbeats).
        if let Err(fatal) = &self.raft.metrics().borrow().running_state {
            return network::encode(&RaftReply::Refused(format!("raft stopped: {fatal}")));
        }
        let reply = match network::decode::<RaftRequest>(&payload) {
            Ok(RaftRequest::Append(rpc)) => {
                let result = self.raft.append_entries(rpc).await;
                // A leader this node accepts (a success or a log conflict, not a higher vote)
                // has just been in touch: openraft's follower lease starts now.
                if matches!(
                    result,
                    Ok(AppendEntriesResponse::Success
                        | AppendEntriesResponse::PartialSuccess(_)
                        | AppendEntriesResponse::Conflict)
                ) {
                    *lock(&self.leader_contact) = Some(tokio::time::Instant::now());
                }
                RaftReply::Append(result)
            }
            Ok(RaftRequest::Vote(rpc)) => RaftReply::Vote(self.raft.vote(rpc).await),
            Ok(RaftRequest::Snapshot(rpc)) => {
                RaftReply::Snapshot(self.raft.install_snapshot(rpc).await)
            }
            Err(message) => RaftReply::Refused(message),
        };
        network::encode(&reply)
    }

    async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not shut down cleanly");
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Turns each metrics update into an absolute quorum-ack instant, never a fresher one than
/// the truth.
///
/// openraft computes `millis_since_quorum_ack` when it publishes the metrics; we read them
/// later, maybe much later if this task or the whole process stalled in between (a loaded
/// host, SIGSTOP, a VM pause). Subtracting the age from the read time would then make a stale
/// ack look fresh, and a deposed DC could act on it. A watch only reports values published
/// after our previous read, so the age is subtracted from that previous read instead: the
/// result is at most one publish interval older than the truth, never younger.
async fn track_quorum_ack(
    mut metrics: watch::Receiver<openraft::RaftMetrics<u64, HerdNode>>,
    quorum_ack: Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
) {
    let mut previous_read: Option<tokio::time::Instant> = None;
    loop {
        let ack = {
            let m = metrics.borrow_and_update();
            let published_after = previous_read.replace(tokio::time::Instant::now());
            match (m.state, m.millis_since_quorum_ack, published_after) {
                (ServerState::Leader, Some(ms), Some(after)) => {
                    after.checked_sub(Duration::from_millis(ms))
                }
                _ => None,
            }
        };
        *lock(&quorum_ack) = ack;
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

/// How long a caller should wait for a Raft RPC by default.
pub const RPC_TIMEOUT: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;

    fn leader_acked(ms: u64) -> openraft::RaftMetrics<u64, HerdNode> {
        let mut m = openraft::RaftMetrics::new_initial(1);
        m.state = ServerState::Leader;
        m.millis_since_quorum_ack = Some(ms);
        m
    }

    /// A metrics update read long after it was published (the process stalled) must not
    /// make the quorum ack look fresh.
    #[tokio::test(start_paused = true)]
    async fn a_late_read_of_the_metrics_never_makes_the_quorum_ack_fresher() {
        let (tx, rx) = watch::channel(openraft::RaftMetrics::new_initial(1));
        let ack = Arc::new(std::sync::Mutex::new(None));
        tokio::spawn(track_quorum_ack(rx, ack.clone()));
        tokio::task::yield_now().await;
        tx.send_replace(leader_acked(10));
        tokio::task::yield_now().await;
        let fresh = lock(&ack).expect("a leader's ack is tracked");
        assert!(fresh.elapsed() >= Duration::from_millis(10));
        // Published now, read only after a 500 ms stall of everything.
        tx.send_replace(leader_acked(20));
        tokio::time::advance(Duration::from_millis(500)).await;
        tokio::task::yield_now().await;
        let after_stall = lock(&ack).expect("still a leader");
        assert!(
            after_stall.elapsed() >= Duration::from_millis(520),
            "the ack looks {:?} old after a 500 ms stall; it is at least 520 ms old",
            after_stall.elapsed()
        );
        // Not a follower's: a node that stepped down has no ack.
        tx.send_replace(openraft::RaftMetrics::new_initial(1));
        tokio::task::yield_now().await;
        assert!(lock(&ack).is_none());
    }
}
