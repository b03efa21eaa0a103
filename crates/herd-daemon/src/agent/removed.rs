//! A node removed from the cluster learns it and goes away: the DC answers its hellos and
//! renewals with `Removed` (and tells it once right after `herd node remove` commits); the
//! node then logs one line, stops its resources (`AgentHooks::stop_for_removal`), keeps a
//! marker file and exits with [`EXIT_REMOVED`], which the systemd unit does not restart.
//! Restarted with the same data directory, it finds the marker and exits at once, before Raft
//! starts. The
//! DC also rolls interrupted changes forward (§6.12 row 21): a joint membership that stands
//! for 2 s is finished (by a remaining member: a DC the change removes steps aside), and a
//! node that left the membership without its `RemoveNode` record gets it.
//!
//! Not here: graceful leave (`leave.rs`), the membership change itself (herd-raft). I/O: the
//! marker file `DATA_DIR/removed`, herd-rpc calls, the consensus, the hooks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use herd_api::Response;
use herd_raft::{Command, Consensus, ConsensusStatus, DcEpoch, NodeState};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Agent, lock};
use crate::wire::{ClusterMsg, ClusterReply};

/// The exit status of an agent whose node was removed from the cluster (EX_CONFIG: this
/// node's data no longer belongs to the cluster; systemd must not restart it).
pub(crate) const EXIT_REMOVED: u8 = 78;

/// The marker a removed node keeps in its data directory.
const REMOVED_FILE: &str = "removed";

/// How long an applied joint membership may stand before the DC finishes it (a change in
/// progress takes milliseconds to commit its second step).
const JOINT_GRACE: Duration = Duration::from_secs(2);

/// How long the DC keeps a removed node's addresses among its peers to tell it.
const TELL_FOR: Duration = Duration::from_secs(30);

/// What rolling a joint membership forward asks.
#[derive(Debug, PartialEq)]
enum Change {
    Remove(String),
    Add(herd_raft::HerdNode),
    /// This DC is the node the change removes: it cannot remove itself, so it steps aside
    /// and a remaining member, once DC, finishes the change.
    StepAside,
}

/// Why the agent ends on its own (not by a signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// This node was removed from the cluster.
    Removed,
}

/// This node's way out of the cluster: removal learned, leave committed, and the removed
/// nodes the DC still has to tell.
pub(crate) struct Departure {
    removed: AtomicBool,
    /// Set once this node's `left` state is committed: it renews no more.
    left: AtomicBool,
    exit: watch::Sender<Option<Exit>>,
    /// Removed nodes (name -> addresses, until when) kept as transport peers so the DC can
    /// reach them although they are no longer members.
    telling: std::sync::Mutex<BTreeMap<String, (Vec<String>, Instant)>>,
    /// The joint membership this DC found applied (its log index) and since when.
    joint_since: std::sync::Mutex<Option<(Option<u64>, Instant)>>,
    /// The joint membership (its log index) that removes this DC, once logged.
    stepped_aside: std::sync::Mutex<Option<Option<u64>>>,
}

impl Default for Departure {
    fn default() -> Departure {
        Departure {
            removed: AtomicBool::new(false),
            left: AtomicBool::new(false),
            exit: watch::Sender::new(None),
            telling: std::sync::Mutex::default(),
            joint_since: std::sync::Mutex::default(),
            stepped_aside: std::sync::Mutex::default(),
        }
    }
}

impl Departure {
    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    /// True once this node's leave is committed (it no longer renews its lease).
    pub(crate) fn has_left(&self) -> bool {
        self.left.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_left(&self) {
        self.left.store(true, Ordering::SeqCst);
    }

    /// Waits until the agent must end on its own.
    pub(crate) async fn wait(&self) -> Exit {
        let mut rx = self.exit.subscribe();
        loop {
            if let Some(exit) = *rx.borrow_and_update() {
                return exit;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// The exit status after a signal, once the leave (if any) has returned: 0, or, when a
    /// removal is under way, [`EXIT_REMOVED`] after its own stop and marker are done (ending
    /// at once would abandon that stop: resources left running, no marker, exit 0).
    pub(crate) async fn exit_after_signal(&self) -> u8 {
        if !self.is_removed() {
            return 0;
        }
        tracing::info!("this node is being removed: finishing its stop before exiting");
        self.wait().await;
        EXIT_REMOVED
    }

    /// Adds the removed nodes still to be told to the transport's peers.
    pub(crate) fn extend_peers(&self, peers: &mut BTreeMap<String, Vec<String>>) {
        let now = Instant::now();
        let mut telling = lock(&self.telling);
        telling.retain(|_, (_, until)| now < *until);
        for (name, (addrs, _)) in telling.iter() {
            peers.entry(name.clone()).or_insert_with(|| addrs.clone());
        }
    }
}

/// The line a removed node logs; `doing` says what it does about it.
fn removed_line(node: &str, cluster: &str, dc: &str, doing: &str) -> String {
    format!(
        "node {node} was removed from cluster {cluster} by the DC {dc}; {doing}; to rejoin, \
         `herd node add` it again and restart it with a fresh data_dir"
    )
}

fn marker_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REMOVED_FILE)
}

/// The removal line when this data directory belongs to a node removed earlier. The marker's
/// presence is what counts: an empty, truncated or garbled marker (it is written without
/// fsync) still means removed, with a line of its own.
pub(crate) fn removed_marker(data_dir: &Path) -> Option<String> {
    let path = marker_path(data_dir);
    if !path.exists() {
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let line = text.trim();
    let line = if line.starts_with("node ") && line.ends_with("with a fresh data_dir") {
        line.to_string()
    } else {
        "this node was removed from its cluster; not starting; to rejoin, `herd node add` it \
         again and restart it with a fresh data_dir"
            .to_string()
    };
    Some(format!(
        "{line} (found {}: this data_dir belongs to a removed node)",
        path.display()
    ))
}

/// Whether `node` is a member (voter or learner) in this node's view.
fn is_member(status: &ConsensusStatus, node: &str) -> bool {
    status
        .voters
        .iter()
        .chain(status.learners.iter())
        .any(|n| n.name == node)
}

impl Agent {
    /// On a fresh DC: `Removed` for a node that believes it is a member (`initialized`) while
    /// the committed state says it was removed.
    pub(crate) fn removed_reply(&self, node: &str, initialized: bool) -> Option<ClusterReply> {
        if !initialized {
            return None;
        }
        let status = self.consensus.status();
        if !self.dc_fresh(&status) || is_member(&status, node) {
            return None;
        }
        let applied = self.consensus.applied();
        let record = applied.state.nodes.get(node)?;
        (record.state == NodeState::Left).then(|| ClusterReply::Removed {
            dc: self.name.clone(),
        })
    }

    /// Whether a `Removed` notice sent by `from` counts here ([`notice_counts`]).
    pub(crate) fn removal_notice_counts(&self, from: &str) -> bool {
        let status = self.consensus.status();
        notice_counts(
            status.initialized,
            status.leader.as_ref().map(|l| l.name.as_str()),
            from,
        )
    }

    /// This node was removed (told by `dc`): log once, stop elections and resources, keep
    /// the marker, then end the agent with [`Exit::Removed`].
    pub(crate) fn learn_removed(self: &Arc<Self>, dc: &str) {
        if self.departure.removed.swap(true, Ordering::SeqCst) {
            return;
        }
        let (node, cluster) = (&self.name, &self.config.cluster);
        let line = removed_line(node, cluster, dc, "stopping resources and exiting");
        tracing::error!("{line}");
        let marker = removed_line(node, cluster, dc, "not starting");
        self.consensus.set_elect(false);
        let agent = self.clone();
        tokio::spawn(async move {
            if !agent.hooks.stop_for_removal().await {
                tracing::error!(
                    "some resources may still run on this removed node: the cluster counts it \
                     as left, so stop them by hand or power the node off"
                );
            }
            let path = marker_path(&agent.config.data_dir);
            if let Err(e) = crate::durable::write_file(&path, format!("{marker}\n").as_bytes()) {
                tracing::warn!(path = %path.display(), "cannot keep the removal marker: {e}");
            }
            agent.departure.exit.send_replace(Some(Exit::Removed));
        });
    }

    /// The DC's side of a roll-forward: a node that left the membership but whose record is
    /// not `left` (the DC died between the two commits of `herd node remove`) gets its
    /// `RemoveNode` record now.
    pub(crate) async fn finish_removals(&self, status: &ConsensusStatus) {
        self.finish_joint();
        let applied = self.consensus.applied();
        // Removals this DC is carrying out itself commit their own record.
        let now = Instant::now();
        let own: Vec<String> = lock(&self.departure.telling)
            .iter()
            .filter(|(_, (_, until))| now < *until)
            .map(|(name, _)| name.clone())
            .collect();
        let pending: Vec<String> = applied
            .state
            .nodes
            .iter()
            .filter(|(name, record)| {
                record.state != NodeState::Left && !is_member(status, name) && !own.contains(name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for node in pending {
            tracing::info!(%node, "completing the removal of a node no longer in the membership");
            let limit = Duration::from_millis(self.timing().lease_ms);
            let command = Command::RemoveNode { node };
            if !matches!(
                tokio::time::timeout(limit, self.consensus.propose(command)).await,
                Ok(Ok(_))
            ) {
                return;
            }
        }
    }

    /// A joint membership (old and new voters) left behind by a DC that died between the two
    /// steps of a change is rolled forward: once it has stood for [`JOINT_GRACE`] on this DC,
    /// the same change is asked again, which openraft turns into the joint's final config.
    fn finish_joint(&self) {
        let applied = self.consensus.applied();
        let membership = applied.membership.membership();
        let configs = membership.get_joint_config();
        let (Some(first), Some(last)) = (configs.first(), configs.last()) else {
            return;
        };
        if configs.len() < 2 {
            *lock(&self.departure.joint_since) = None;
            return;
        }
        let index = applied.membership.log_id().map(|l| l.index);
        let now = Instant::now();
        let since = match *lock(&self.departure.joint_since) {
            Some((seen, since)) if seen == index => since,
            ref mut slot => {
                *slot = Some((index, now));
                now
            }
        };
        if now.duration_since(since) < JOINT_GRACE {
            return;
        }
        // One attempt per grace period.
        *lock(&self.departure.joint_since) = Some((index, now));
        let node = |id: &u64| {
            membership
                .nodes()
                .find(|(i, _)| *i == id)
                .map(|(_, n)| n.clone())
        };
        // In the background: a membership change must not hold up the DC's node states.
        let consensus = self.consensus.clone();
        let limit = Duration::from_millis(self.timing().lease_ms * 4);
        let change = match plan_roll_forward(first, last, node, &self.name) {
            Some(Change::StepAside) => return self.step_aside(index),
            Some(change) => change,
            None => return,
        };
        match &change {
            Change::Remove(gone) => {
                tracing::warn!(node = %gone, "finishing an interrupted membership change: removing");
            }
            Change::Add(new) => {
                tracing::warn!(node = %new.name, "finishing an interrupted membership change: adding");
            }
            Change::StepAside => {}
        }
        tokio::spawn(async move {
            let result = match change {
                Change::Remove(name) => {
                    tokio::time::timeout(limit, consensus.remove_node(&name)).await
                }
                Change::Add(node) => tokio::time::timeout(limit, consensus.add_node(node)).await,
                Change::StepAside => return,
            };
            if !matches!(result, Ok(Ok(()))) {
                tracing::warn!(
                    ?result,
                    "the interrupted membership change is not finished yet"
                );
            }
        });
    }

    /// This DC is the node an interrupted change removes (it was only in the old config):
    /// it logs that once per joint, and, like the witness handoff (agent/dc.rs), stops
    /// heartbeating and campaigning for a while so a remaining member becomes DC and
    /// finishes the change. Asking openraft to remove the leader would only be refused.
    fn step_aside(&self, index: Option<u64>) {
        if lock(&self.departure.stepped_aside).replace(index) != Some(index) {
            tracing::warn!(
                "an interrupted membership change removes this DC: handing the DC role to a \
                 remaining member, which finishes the change"
            );
        }
        let window = Duration::from_millis(self.timing().election_timeout_max_ms * 3);
        *lock(&self.handoff_until) = Some(Instant::now() + window);
        self.consensus.set_heartbeat(false);
        self.consensus.set_elect(false);
        *lock(&self.elect_enabled) = Some(false);
    }

    /// After `herd node add` of a node once removed or left: its old record goes, so it is
    /// judged by its renewals again (a fresh data_dir may reuse an old incarnation number).
    pub(crate) async fn forget_left(&self, node: &str) {
        let applied = self.consensus.applied();
        if applied
            .state
            .nodes
            .get(node)
            .is_none_or(|r| r.state != NodeState::Left)
        {
            return;
        }
        let Some(dc_epoch) = self.consensus.status().dc_epoch else {
            return;
        };
        let command = Command::SetNodeState {
            dc_epoch,
            node: node.to_string(),
            state: NodeState::Offline,
            incarnation: 0,
        };
        if let Err(e) = self.consensus.propose(command).await {
            tracing::warn!(%node, error = %e, "cannot reset the record of a re-added node");
        }
    }
}

/// `herd node remove NAME` on the leader: the membership change, the `RemoveNode` record,
/// then the removed node is told (in the background). A node that is online, suspect or lost
/// may run resources: it is refused unless `force` (see [`refuse_running`]).
pub(crate) async fn node_remove(agent: &Arc<Agent>, name: String, force: bool) -> Response {
    let error = |message: String| Response::Error { message };
    if name == agent.name {
        return error(format!(
            "{name} is the leader; remove it from another node after the DC has moved"
        ));
    }
    let committed = agent
        .consensus
        .applied()
        .state
        .nodes
        .get(&name)
        .map(|r| r.state);
    if let Some(message) = refuse_running(&name, committed, force) {
        return error(message);
    }
    let status = agent.consensus.status();
    let addrs = status
        .voters
        .iter()
        .chain(status.learners.iter())
        .find(|n| n.name == name)
        .map(|n| n.addrs.clone());
    if let Some(addrs) = addrs {
        // Before the change: the transport keeps the node as a peer, so it can be told.
        let until = Instant::now() + TELL_FOR;
        lock(&agent.departure.telling).insert(name.clone(), (addrs, until));
    }
    if let Err(e) = agent.consensus.remove_node(&name).await {
        lock(&agent.departure.telling).remove(&name);
        return error(format!("cannot remove node {name}: {e}"));
    }
    match agent
        .consensus
        .propose(Command::RemoveNode { node: name.clone() })
        .await
    {
        Ok(_) => {
            tokio::spawn(tell_removed(agent.clone(), name.clone()));
            Response::Done {
                message: format!("node {name} removed"),
            }
        }
        Err(e) => error(format!("node {name} left the membership, but: {e}")),
    }
}

/// Why removing `name` now is refused, if it is: a node the cluster records online or
/// suspect holds (or may hold) a lease and run resources, and a lost one was never confirmed
/// stopped (it may be cut off, or its stop hung). Its record would become `left`, which says
/// "nothing runs there, recover at once", so the safe way is to stop it first (a graceful
/// leave records `left` only after a clean stop). `force` overrides.
fn refuse_running(name: &str, committed: Option<NodeState>, force: bool) -> Option<String> {
    let state = committed?;
    if force
        || !matches!(
            state,
            NodeState::Online | NodeState::Suspect | NodeState::Lost
        )
    {
        return None;
    }
    if state == NodeState::Lost {
        return Some(format!(
            "node {name} is lost and may still be running resources: it was not confirmed \
             stopped (it may be cut off from the cluster, or its stop hung); make sure it is \
             powered off (or herd and its resources are stopped on it), then run `herd node \
             remove --force {name}`"
        ));
    }
    Some(format!(
        "node {name} is {} and may be running resources; stop it first (`systemctl stop herd` \
         on {name}: it stops its resources and leaves the cluster), then run `herd node remove \
         {name}` again; or add --force to have it told to stop everything and exit now",
        state.as_str()
    ))
}

/// Tells a removed node, retrying for a few seconds (it may be down: then it learns from
/// the DC's answer to its first hello when it comes back). Each try first checks that the
/// removal still stands: a node added again (maybe a new process on a fresh data_dir) must
/// not be told.
async fn tell_removed(agent: Arc<Agent>, name: String) {
    let msg = ClusterMsg::Removed {
        dc: agent.name.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let record = agent
            .consensus
            .applied()
            .state
            .nodes
            .get(&name)
            .map(|r| r.state);
        if !removal_stands(is_member(&agent.consensus.status(), &name), record) {
            tracing::debug!(node = %name, "not telling: the node is no longer removed");
            break;
        }
        if let Ok(ClusterReply::Done) = agent.call(&name, &msg, Duration::from_secs(1)).await {
            tracing::info!(node = %name, "told the removed node");
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lock(&agent.departure.telling).remove(&name);
}

/// The change that finishes a joint membership from `first` (old voters) to `last` (new
/// voters): remove a node only in the old one, else add one only in the new one; when the
/// node to remove is `me` (this DC), step aside instead.
fn plan_roll_forward(
    first: &std::collections::BTreeSet<u64>,
    last: &std::collections::BTreeSet<u64>,
    node: impl Fn(&u64) -> Option<herd_raft::HerdNode>,
    me: &str,
) -> Option<Change> {
    let gone: Vec<herd_raft::HerdNode> = first.difference(last).filter_map(&node).collect();
    if gone.iter().any(|n| n.name == me) {
        return Some(Change::StepAside);
    }
    if let Some(gone) = gone.into_iter().next() {
        return Some(Change::Remove(gone.name));
    }
    last.difference(first).find_map(&node).map(Change::Add)
}

/// Whether a removal still stands: the node is no member and its record is `left` (a node
/// added again is a member, and its record was reset).
fn removal_stands(member: bool, record: Option<NodeState>) -> bool {
    !member && record == Some(NodeState::Left)
}

/// Whether a `Removed` notice from `from` counts on this node: only from its current leader,
/// and only once it belongs to a cluster (a fresh process on a new data_dir is not the node
/// that was removed).
pub(crate) fn notice_counts(initialized: bool, leader: Option<&str>, from: &str) -> bool {
    initialized && leader == Some(from)
}

/// The DC epoch check shared by the leave and removal paths: the epoch of a fresh DC.
pub(crate) fn fresh_epoch(agent: &Agent, status: &ConsensusStatus) -> Option<DcEpoch> {
    agent.dc_fresh(status).then_some(status.dc_epoch).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_node_that_may_run_resources_needs_force() {
        for state in [NodeState::Online, NodeState::Suspect] {
            let refused = refuse_running("n3", Some(state), false).expect("refused");
            assert!(
                refused.contains("n3") && refused.contains("--force"),
                "{refused}"
            );
            assert_eq!(refuse_running("n3", Some(state), true), None);
        }
        let lost = refuse_running("n3", Some(NodeState::Lost), false).expect("refused");
        assert!(
            lost.contains("n3")
                && lost.contains("not confirmed stopped")
                && lost.contains("powered off")
                && lost.contains("--force"),
            "{lost}"
        );
        assert_eq!(refuse_running("n3", Some(NodeState::Lost), true), None);
        for state in [NodeState::Offline, NodeState::Left] {
            assert_eq!(refuse_running("n3", Some(state), false), None);
        }
        // A learner never recorded yet (added, never online) is not running anything.
        assert_eq!(refuse_running("n3", None, false), None);
    }

    #[test]
    fn a_removal_notice_counts_only_from_the_current_leader_once_initialized() {
        assert!(notice_counts(true, Some("n1"), "n1"));
        // A fresh process on a new data_dir, not yet (re)added: not the removed node.
        assert!(!notice_counts(false, Some("n1"), "n1"));
        assert!(!notice_counts(false, None, "n1"));
        assert!(!notice_counts(true, Some("n2"), "n1"));
        assert!(!notice_counts(true, None, "n1"));
    }

    #[test]
    fn a_node_added_again_is_not_told_it_was_removed() {
        assert!(removal_stands(false, Some(NodeState::Left)));
        // Added again: a member (learner) at once, and `forget_left` resets the record.
        assert!(!removal_stands(true, Some(NodeState::Left)));
        assert!(!removal_stands(false, Some(NodeState::Offline)));
        assert!(!removal_stands(true, None));
    }

    fn herd_node(name: &str) -> herd_raft::HerdNode {
        herd_raft::HerdNode {
            name: name.to_string(),
            addrs: vec![format!("{name}:7400")],
            witness: false,
        }
    }

    #[test]
    fn a_dc_that_the_interrupted_change_removes_steps_aside() {
        let names = ["n1", "n2", "n3", "n4"];
        let node = |id: &u64| Some(herd_node(names[usize::try_from(*id).ok()? - 1]));
        let set = |ids: &[u64]| {
            ids.iter()
                .copied()
                .collect::<std::collections::BTreeSet<u64>>()
        };
        let (old, new) = (set(&[1, 2, 3]), set(&[1, 2]));
        assert_eq!(
            plan_roll_forward(&old, &new, node, "n3"),
            Some(Change::StepAside)
        );
        assert_eq!(
            plan_roll_forward(&old, &new, node, "n1"),
            Some(Change::Remove("n3".to_string()))
        );
        let grown = set(&[1, 2, 3, 4]);
        assert_eq!(
            plan_roll_forward(&old, &grown, node, "n1"),
            Some(Change::Add(herd_node("n4")))
        );
        assert_eq!(plan_roll_forward(&old, &old, node, "n1"), None);
    }

    #[tokio::test]
    async fn a_signal_during_a_removal_waits_for_its_stop_and_exits_78() {
        let departure = Arc::new(Departure::default());
        assert_eq!(departure.exit_after_signal().await, 0);
        departure.removed.store(true, Ordering::SeqCst);
        let stopper = departure.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            stopper.exit.send_replace(Some(Exit::Removed));
        });
        let began = std::time::Instant::now();
        assert_eq!(departure.exit_after_signal().await, EXIT_REMOVED);
        assert!(began.elapsed() >= Duration::from_millis(100));
    }
}
