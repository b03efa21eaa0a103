//! The running agent: its state and the periodic loops that make a node part of the cluster.
//!
//! - hello loop: every renew interval, greet every peer; the answers drive formation
//!   (wait-for-all) and the election guard (a node that cannot reach a majority of voters
//!   does not campaign, our stand-in for Pre-Vote on openraft 0.9).
//! - lease loop: renew this node's lease with the DC; on expiry report it and run the
//!   lease-loss hook (stop every resource).
//! - DC loop: on the leader with a fresh quorum, turn renewals into node states
//!   (online/suspect/lost) and commit the changes with the DC epoch; a witness leader hands
//!   leadership away.
//!
//! I/O: herd-rpc calls and the consensus; all timing is tokio's monotonic clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use herd_raft::{Command, Consensus, ConsensusStatus, DcEpoch, HerdNode, NodeState, RaftNode};
use tokio::time::Instant;

use crate::hooks::AgentHooks;
use crate::wire::{self, ClusterMsg, ClusterReply};

/// Everything one running agent knows; shared by its loops, the RPC handler and the admin API.
pub(crate) struct Agent {
    pub(crate) config: herd_config::Config,
    pub(crate) name: String,
    pub(crate) witness: bool,
    pub(crate) consensus: RaftNode,
    pub(crate) transport: herd_rpc::Transport,
    pub(crate) hooks: Arc<dyn AgentHooks>,
    /// Bumped on every start (persisted) and on every lease loss (a new life).
    pub(crate) incarnation: AtomicU64,
    pub(crate) seen: Mutex<HashMap<String, Seen>>,
    pub(crate) dc: Mutex<DcTracker>,
    pub(crate) lease: Mutex<Lease>,
    elect_enabled: Mutex<Option<bool>>,
    handoff_until: Mutex<Option<Instant>>,
    pub(crate) init_started: AtomicBool,
    renew_seq: AtomicU64,
}

/// The last answer of a peer to our hello.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) initialized: bool,
    pub(crate) has_leader: bool,
}

/// The DC's side of the leases: who renewed when, during this tenure.
#[derive(Debug)]
pub(crate) struct DcTracker {
    pub(crate) epoch: Option<DcEpoch>,
    /// The epoch whose leadership a quorum confirmed (ReadIndex) after this process saw it;
    /// a node that restarts believing it leads an old term never acts on that belief.
    pub(crate) confirmed: Option<DcEpoch>,
    pub(crate) tenure_start: Instant,
    pub(crate) last_renew: HashMap<String, Renewal>,
}

/// The last renewal of one node, as the DC saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Renewal {
    pub(crate) at: Instant,
    pub(crate) incarnation: u64,
    /// Start of the current run of renewals without a gap of `suspect_ms`.
    pub(crate) streak_start: Instant,
}

/// A node recorded lost must renew without a gap this long before it is online again
/// (rejoin damping, CLUSTER.md §6.9).
const REJOIN_STABLE: Duration = Duration::from_secs(2);

/// Ages after which the DC changes a node's state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    pub(crate) suspect: Duration,
    pub(crate) lost: Duration,
    pub(crate) rejoin_stable: Duration,
}

/// This node's own lease.
#[derive(Debug, Default)]
pub(crate) struct Lease {
    pub(crate) expiry: Option<Instant>,
    /// When the last grant arrived.
    pub(crate) last_grant: Option<Instant>,
    pub(crate) held: bool,
    /// The highest DC epoch seen; a grant or command with a lower one is refused.
    pub(crate) highest_epoch: Option<DcEpoch>,
}

/// What a lease grant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// The lease starts (it was not held).
    New,
    Renewed,
    /// Refused: a DC with a higher epoch has been seen.
    StaleEpoch {
        highest: DcEpoch,
    },
}

impl Lease {
    /// Accepts `epoch` if no higher DC epoch has been seen, and remembers it. Every command
    /// from a DC goes through this check; a stale DC is refused.
    pub(crate) fn accept_dc_epoch(&mut self, epoch: DcEpoch) -> Result<(), DcEpoch> {
        match self.highest_epoch {
            Some(highest) if epoch < highest => Err(highest),
            _ => {
                self.highest_epoch = Some(epoch);
                Ok(())
            }
        }
    }

    /// Takes a grant sent at `sent`: the lease runs `lease_for` from our send time.
    pub(crate) fn accept_grant(
        &mut self,
        epoch: DcEpoch,
        sent: Instant,
        lease_for: Duration,
        now: Instant,
    ) -> Grant {
        if let Err(highest) = self.accept_dc_epoch(epoch) {
            return Grant::StaleEpoch { highest };
        }
        self.last_grant = Some(now);
        let expiry = sent + lease_for;
        if self.expiry.is_none_or(|current| current < expiry) {
            self.expiry = Some(expiry);
        }
        if self.held {
            Grant::Renewed
        } else {
            self.held = true;
            Grant::New
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Agent {
    pub(crate) fn new(
        config: herd_config::Config,
        consensus: RaftNode,
        transport: herd_rpc::Transport,
        hooks: Arc<dyn AgentHooks>,
        incarnation: u64,
    ) -> Agent {
        let name = config.node.clone();
        let witness = config.local_node().witness;
        Agent {
            config,
            name,
            witness,
            consensus,
            transport,
            hooks,
            incarnation: AtomicU64::new(incarnation),
            seen: Mutex::new(HashMap::new()),
            dc: Mutex::new(DcTracker {
                epoch: None,
                confirmed: None,
                tenure_start: Instant::now(),
                last_renew: HashMap::new(),
            }),
            lease: Mutex::new(Lease::default()),
            elect_enabled: Mutex::new(None),
            handoff_until: Mutex::new(None),
            init_started: AtomicBool::new(false),
            renew_seq: AtomicU64::new(0),
        }
    }

    fn timing(&self) -> &herd_config::Timing {
        &self.config.timing
    }

    /// Hellos run twice per renew interval, so the election guard follows peers closely.
    fn hello_interval(&self) -> Duration {
        self.renew_interval() / 2
    }

    fn renew_interval(&self) -> Duration {
        Duration::from_millis(self.timing().lease_renew_ms)
    }

    /// True when this node is the Raft leader, not a witness, and a quorum acknowledged it
    /// within 0.8 x (the shortest time after which a follower may elect a new leader). With
    /// openraft 0.9 that time is its leader lease plus the minimum election timeout, i.e. half
    /// of the configured minimum plus half of the configured maximum (see lib.rs): 400 ms for
    /// the default 400-600 ms profile (CLUSTER.md §6.3).
    pub(crate) fn dc_fresh(&self, status: &ConsensusStatus) -> bool {
        let timing = self.timing();
        let fresh_ms = (timing.election_timeout_min_ms + timing.election_timeout_max_ms) * 2 / 5;
        status.is_leader
            && !self.witness
            && status.dc_epoch.is_some()
            && status
                .millis_since_quorum_ack
                .is_some_and(|ms| ms < fresh_ms)
    }

    /// Whether the leader reached this node within openraft's follower lease (half the
    /// configured election_timeout_max, see lib.rs): this node would refuse a challenger's
    /// vote, so a peer that cannot hear the leader should not campaign.
    pub(crate) fn leader_in_touch(&self, status: &ConsensusStatus) -> bool {
        let lease_ms = self.timing().election_timeout_max_ms / 2;
        status
            .millis_since_leader_contact
            .is_some_and(|ms| ms < lease_ms)
    }

    /// Whether this node holds a valid lease right now.
    pub(crate) fn lease_valid(&self) -> bool {
        lock(&self.lease)
            .expiry
            .is_some_and(|expiry| Instant::now() < expiry)
    }

    /// Peers we greet: every listed node and every member, but not ourselves.
    pub(crate) fn peers(&self) -> BTreeMap<String, Vec<String>> {
        let mut peers = BTreeMap::new();
        for node in &self.config.nodes {
            let addrs = node.addrs.iter().map(|a| a.to_string()).collect();
            peers.insert(node.name.clone(), addrs);
        }
        let applied = self.consensus.applied();
        for (_, node) in applied.membership.membership().nodes() {
            peers.insert(node.name.clone(), node.addrs.clone());
        }
        peers.remove(&self.name);
        peers
    }

    /// Peers that answered a hello within the suspect interval.
    pub(crate) fn reachable(&self) -> Vec<String> {
        let window = Duration::from_millis(self.timing().suspect_ms);
        let now = Instant::now();
        lock(&self.seen)
            .iter()
            .filter(|(_, seen)| now.duration_since(seen.at) < window)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Sends one cluster message and decodes the reply.
    pub(crate) async fn call(
        &self,
        peer: &str,
        msg: &ClusterMsg,
        timeout: Duration,
    ) -> Result<ClusterReply, String> {
        let payload = Bytes::from(wire::encode_cluster(msg));
        let reply = self
            .transport
            .call(peer, payload, timeout)
            .await
            .map_err(|e| e.to_string())?;
        match reply.split_first() {
            Some((&wire::CHANNEL_CLUSTER, body)) => wire::decode_cluster(body),
            _ => Err(format!("{peer} sent a reply on an unknown channel")),
        }
    }

    /// Answers a renewal (on the DC; on anyone else it is refused).
    pub(crate) fn handle_renew(&self, node: &str, incarnation: u64, seq: u64) -> ClusterReply {
        let status = self.consensus.status();
        let epoch = status.dc_epoch;
        if status.is_leader && epoch.is_some() {
            // Recorded even while not fresh, so a short loss of freshness does not make
            // healthy nodes look silent.
            let now = Instant::now();
            let mut dc = lock(&self.dc);
            self.track_tenure(&mut dc, epoch, now);
            let gap = Duration::from_millis(self.timing().suspect_ms);
            record_renewal(&mut dc.last_renew, node, incarnation, now, gap);
        }
        if !self.dc_fresh(&status) {
            return ClusterReply::Lease {
                dc_epoch: epoch,
                granted: false,
                seq,
            };
        }
        // A node recorded lost (or of an older incarnation recorded lost) gets no lease until
        // the DC has committed it online again.
        let applied = self.consensus.applied();
        let granted = match applied.state.nodes.get(node) {
            Some(record) => record.state != NodeState::Lost && record.state != NodeState::Left,
            None => true,
        };
        ClusterReply::Lease {
            dc_epoch: epoch,
            granted,
            seq,
        }
    }

    fn track_tenure(&self, dc: &mut DcTracker, epoch: Option<DcEpoch>, now: Instant) {
        if dc.epoch != epoch {
            dc.epoch = epoch;
            dc.confirmed = None;
            dc.tenure_start = now;
            dc.last_renew.clear();
        }
    }
}

/// Starts the agent's loops.
pub(crate) fn spawn_loops(agent: &Arc<Agent>) {
    let every = agent.renew_interval();
    let a = agent.clone();
    let hello_every = agent.hello_interval();
    tokio::spawn(async move { periodic(hello_every, || a.hello_round()).await });
    let a = agent.clone();
    tokio::spawn(async move { periodic(every, || a.renew_round()).await });
    let a = agent.clone();
    let dc_every = Duration::from_millis(50);
    tokio::spawn(async move { periodic(dc_every, || a.dc_round()).await });
    let a = agent.clone();
    tokio::spawn(async move { a.sync_peers_loop().await });
}

async fn periodic<F, Fut>(every: Duration, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        round().await;
    }
}

impl Agent {
    async fn hello_round(self: &Arc<Self>) {
        let initialized = self.consensus.status().initialized;
        for peer in self.peers().into_keys() {
            let agent = self.clone();
            let msg = ClusterMsg::Hello {
                cluster: self.config.cluster.clone(),
                node: self.name.clone(),
                initialized,
            };
            tokio::spawn(async move {
                let timeout = agent.renew_interval() * 2;
                let reply = agent.call(&peer, &msg, timeout).await;
                if let Ok(ClusterReply::Hello {
                    node,
                    initialized,
                    has_leader,
                }) = reply
                    && node == peer
                {
                    let seen = Seen {
                        at: Instant::now(),
                        initialized,
                        has_leader,
                    };
                    lock(&agent.seen).insert(peer, seen);
                }
            });
        }
        self.guard_elections();
        self.maybe_form().await;
    }

    /// Lets this node campaign only while it reaches a majority of the voters and none of
    /// the voters it reaches is still served by a fresh DC (our Pre-Vote: a node that cannot
    /// hear the leader while others can does not disrupt it, and an isolated node does not
    /// inflate its term).
    fn guard_elections(&self) {
        let status = self.consensus.status();
        if status.voters.is_empty() {
            return;
        }
        let window = Duration::from_millis(self.timing().suspect_ms);
        let now = Instant::now();
        let seen = lock(&self.seen).clone();
        let mut votes = 0;
        let mut served = false;
        for voter in &status.voters {
            if voter.name == self.name {
                votes += 1;
            } else if let Some(s) = seen
                .get(&voter.name)
                .filter(|s| now.duration_since(s.at) < window)
            {
                votes += 1;
                // Only a recent answer counts: a DC that just died must not block elections.
                served |= s.has_leader && now.duration_since(s.at) < self.hello_interval() * 2;
            }
        }
        let handing_off = lock(&self.handoff_until).is_some_and(|until| now < until);
        let allowed = votes * 2 > status.voters.len() && !served && !handing_off;
        let mut current = lock(&self.elect_enabled);
        if *current != Some(allowed) {
            if current.is_some() {
                tracing::debug!(
                    allowed,
                    reachable_voters = votes,
                    peers_served_by_dc = served,
                    voters = status.voters.len(),
                    "election guard changed"
                );
            }
            self.consensus.set_elect(allowed);
            *current = Some(allowed);
        }
    }

    /// Wait-for-all: once every listed node has answered and none has formed a cluster, the
    /// node with the lowest name forms it with all of them.
    async fn maybe_form(&self) {
        if self.consensus.status().initialized || self.init_started.load(Ordering::SeqCst) {
            return;
        }
        let seen = lock(&self.seen).clone();
        if seen.values().any(|s| s.initialized) {
            return;
        }
        let all_seen = self
            .config
            .nodes
            .iter()
            .all(|n| n.name == self.name || seen.contains_key(&n.name));
        let lowest = self.config.nodes.iter().map(|n| n.name.as_str()).min();
        if all_seen && lowest == Some(self.name.as_str()) {
            let voters = self.config.nodes.iter().map(herd_node).collect();
            self.form(voters).await;
        }
    }

    /// Initializes Raft with `voters` (once).
    pub(crate) async fn form(&self, voters: Vec<HerdNode>) -> Option<String> {
        if self.init_started.swap(true, Ordering::SeqCst) {
            return Some("formation already started".to_string());
        }
        let names: Vec<&str> = voters.iter().map(|n| n.name.as_str()).collect();
        tracing::info!(voters = ?names, "forming the cluster");
        match self.consensus.initialize(voters).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot form the cluster");
                self.init_started.store(false, Ordering::SeqCst);
                Some(e.to_string())
            }
        }
    }

    async fn renew_round(self: &Arc<Self>) {
        self.check_lease_expiry().await;
        let status = self.consensus.status();
        let Some(leader) = status.leader else { return };
        let incarnation = self.incarnation.load(Ordering::SeqCst);
        let seq = self.renew_seq.fetch_add(1, Ordering::SeqCst);
        let sent = Instant::now();
        if leader.name == self.name {
            let reply = self.handle_renew(&self.name, incarnation, seq);
            self.take_grant(reply, sent);
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let msg = ClusterMsg::Renew {
                node: agent.name.clone(),
                incarnation,
                seq,
            };
            let timeout = agent.renew_interval() * 2;
            if let Ok(reply) = agent.call(&leader.name, &msg, timeout).await {
                agent.take_grant(reply, sent);
            }
        });
    }

    /// Extends the lease from a grant, measured from our send time; refuses stale epochs.
    fn take_grant(&self, reply: ClusterReply, sent: Instant) {
        let ClusterReply::Lease {
            dc_epoch: Some(epoch),
            granted: true,
            ..
        } = reply
        else {
            return;
        };
        let lease_for = Duration::from_millis(self.timing().lease_ms);
        let outcome = lock(&self.lease).accept_grant(epoch, sent, lease_for, Instant::now());
        match outcome {
            Grant::StaleEpoch { highest } => tracing::warn!(
                dc_epoch = %epoch, %highest, "refusing a lease grant from a stale DC epoch"
            ),
            Grant::New => tracing::info!(dc_epoch = %epoch, "node lease granted"),
            Grant::Renewed => {}
        }
    }

    async fn check_lease_expiry(&self) {
        let lost = {
            let mut lease = lock(&self.lease);
            let expired = lease.expiry.is_some_and(|expiry| Instant::now() >= expiry);
            if lease.held && expired {
                lease.held = false;
                true
            } else {
                false
            }
        };
        if lost {
            let incarnation = self.incarnation.fetch_add(1, Ordering::SeqCst) + 1;
            tracing::warn!(
                incarnation,
                "node lease lost: stopping every resource on this node"
            );
            self.hooks.lease_lost().await;
        }
    }
}

pub(crate) fn herd_node(node: &herd_config::NodeConfig) -> HerdNode {
    HerdNode {
        name: node.name.clone(),
        addrs: node.addrs.iter().map(|a| a.to_string()).collect(),
        witness: node.witness,
    }
}

/// What the DC wants a node's committed state to be, from renewals during its tenure.
/// `renewal` is (time since the last renewal, time since the current streak of renewals began).
pub(crate) fn desired_state(
    committed: Option<NodeState>,
    renewal: Option<(Duration, Duration)>,
    since_tenure: Duration,
    t: Thresholds,
) -> Option<NodeState> {
    let by_elapsed = |elapsed: Duration| {
        if elapsed >= t.lost {
            NodeState::Lost
        } else if elapsed >= t.suspect {
            NodeState::Suspect
        } else {
            NodeState::Online
        }
    };
    match (renewal, committed) {
        // Back from lost: online only after a stable streak; until then it stays lost.
        (Some((since_renew, since_streak)), Some(NodeState::Lost))
            if by_elapsed(since_renew) != NodeState::Lost && since_streak < t.rejoin_stable =>
        {
            None
        }
        (Some((since_renew, _)), _) => Some(by_elapsed(since_renew)),
        // Not heard from in this tenure: only a node believed up can degrade.
        (None, Some(NodeState::Online | NodeState::Suspect)) => {
            let state = by_elapsed(since_tenure);
            (state != NodeState::Online).then_some(state)
        }
        (None, _) => None,
    }
}

/// Records a renewal, starting a new streak after a gap.
fn record_renewal(
    table: &mut HashMap<String, Renewal>,
    node: &str,
    incarnation: u64,
    now: Instant,
    gap: Duration,
) {
    let streak_start = match table.get(node) {
        Some(previous) if now.duration_since(previous.at) < gap => previous.streak_start,
        _ => now,
    };
    table.insert(
        node.to_string(),
        Renewal {
            at: now,
            incarnation,
            streak_start,
        },
    );
}

impl Agent {
    async fn dc_round(&self) {
        let status = self.consensus.status();
        self.witness_handoff(&status);
        if !status.is_leader || self.witness {
            let mut dc = lock(&self.dc);
            dc.epoch = None;
            dc.confirmed = None;
            return;
        }
        let Some(epoch) = status.dc_epoch else { return };
        if lock(&self.dc).confirmed != Some(epoch) {
            self.confirm_tenure(epoch).await;
            return;
        }
        if !self.dc_fresh(&status) {
            return;
        }
        let now = Instant::now();
        let (tenure_start, renewals) = {
            let mut dc = lock(&self.dc);
            self.track_tenure(&mut dc, Some(epoch), now);
            let incarnation = self.incarnation.load(Ordering::SeqCst);
            let gap = Duration::from_millis(self.timing().suspect_ms);
            record_renewal(&mut dc.last_renew, &self.name, incarnation, now, gap);
            (dc.tenure_start, dc.last_renew.clone())
        };
        let thresholds = Thresholds {
            suspect: Duration::from_millis(self.timing().suspect_ms),
            lost: Duration::from_millis(self.timing().lost_ms),
            rejoin_stable: REJOIN_STABLE,
        };
        let applied = self.consensus.applied();
        for node in status.voters.iter().chain(status.learners.iter()) {
            let record = applied.state.nodes.get(&node.name);
            let renewal = renewals.get(&node.name);
            let Some(state) = desired_state(
                record.map(|r| r.state),
                renewal.map(|r| (now.duration_since(r.at), now.duration_since(r.streak_start))),
                now.duration_since(tenure_start),
                thresholds,
            ) else {
                continue;
            };
            let incarnation = renewal
                .map(|r| r.incarnation)
                .or(record.map(|r| r.incarnation))
                .unwrap_or(0);
            if record.is_some_and(|r| r.state == state && r.incarnation == incarnation) {
                continue;
            }
            let log_level_warn = matches!(state, NodeState::Lost | NodeState::Suspect);
            if log_level_warn {
                tracing::warn!(node = %node.name, state = state.as_str(), "node state change");
            } else {
                tracing::info!(node = %node.name, state = state.as_str(), incarnation, "node state change");
            }
            let command = Command::SetNodeState {
                dc_epoch: epoch,
                node: node.name.clone(),
                state,
                incarnation,
            };
            // A leader cut off from its quorum never commits; do not let that stall the loop.
            let limit = Duration::from_millis(self.timing().lease_ms);
            match tokio::time::timeout(limit, self.consensus.propose(command)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "node state not committed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("node state not committed in time");
                    return;
                }
            }
        }
    }

    /// Starts a DC tenure once a quorum confirms this node's leadership of `epoch`.
    async fn confirm_tenure(&self, epoch: DcEpoch) {
        let timeout = Duration::from_millis(self.timing().election_timeout_max_ms);
        let confirmed = tokio::time::timeout(timeout, self.consensus.confirm_leadership()).await;
        if let Ok(Ok(confirmed)) = confirmed
            && confirmed == epoch
        {
            let now = Instant::now();
            let mut dc = lock(&self.dc);
            self.track_tenure(&mut dc, Some(epoch), now);
            dc.confirmed = Some(epoch);
            dc.tenure_start = now;
            tracing::info!(dc_epoch = %epoch, "this node is now the DC");
        }
    }

    /// A witness that finds itself leader stops heartbeating (and campaigning) for a while,
    /// so a core node with an up-to-date log takes over.
    fn witness_handoff(&self, status: &ConsensusStatus) {
        if !self.witness {
            return;
        }
        let now = Instant::now();
        let mut until = lock(&self.handoff_until);
        if let Some(t) = *until {
            if now >= t {
                *until = None;
                self.consensus.set_heartbeat(true);
            }
            return;
        }
        let reachable = self.reachable();
        let core_reachable = status
            .voters
            .iter()
            .any(|v| !v.witness && reachable.contains(&v.name));
        if status.is_leader && core_reachable {
            let window = Duration::from_millis(self.timing().election_timeout_max_ms * 3);
            tracing::info!("witness is leader: handing leadership to a core node");
            *until = Some(now + window);
            self.consensus.set_heartbeat(false);
            self.consensus.set_elect(false);
            *lock(&self.elect_enabled) = Some(false);
        }
    }

    /// Keeps the transport's peer list equal to the listed nodes plus the Raft members.
    async fn sync_peers_loop(&self) {
        let mut applied = self.consensus.watch_applied();
        let mut last: Option<BTreeMap<String, Vec<String>>> = None;
        loop {
            let peers = self.peers();
            if last.as_ref() != Some(&peers) {
                let list = peers
                    .iter()
                    .map(|(name, addrs)| herd_rpc::Peer {
                        name: name.clone(),
                        addrs: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
                    })
                    .filter(|p| !p.addrs.is_empty())
                    .collect();
                self.transport.set_peers(list);
                last = Some(peers);
            }
            if applied.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        suspect: Duration::from_millis(600),
        lost: Duration::from_millis(900),
        rejoin_stable: Duration::from_secs(2),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn renewed(age: u64) -> Option<(Duration, Duration)> {
        Some((ms(age), ms(60_000)))
    }

    #[test]
    fn renewal_ages_map_to_states() {
        assert_eq!(
            desired_state(None, renewed(100), ms(5000), T),
            Some(NodeState::Online)
        );
        assert_eq!(
            desired_state(None, renewed(700), ms(5000), T),
            Some(NodeState::Suspect)
        );
        assert_eq!(
            desired_state(None, renewed(900), ms(5000), T),
            Some(NodeState::Lost)
        );
    }

    #[test]
    fn new_dc_waits_a_full_lost_interval_for_silent_nodes() {
        let online = Some(NodeState::Online);
        assert_eq!(desired_state(online, None, ms(300), T), None);
        assert_eq!(
            desired_state(online, None, ms(950), T),
            Some(NodeState::Lost)
        );
        // Never-seen nodes stay offline rather than being declared lost.
        assert_eq!(
            desired_state(Some(NodeState::Offline), None, ms(5000), T),
            None
        );
        assert_eq!(desired_state(None, None, ms(5000), T), None);
    }

    #[test]
    fn lost_node_is_online_again_only_after_two_stable_seconds() {
        let lost = Some(NodeState::Lost);
        assert_eq!(
            desired_state(lost, Some((ms(50), ms(1500))), ms(9000), T),
            None
        );
        let back = desired_state(lost, Some((ms(50), ms(2100))), ms(9000), T);
        assert_eq!(back, Some(NodeState::Online));
    }

    #[test]
    fn grant_from_a_stale_dc_epoch_is_refused_and_the_lease_runs_from_the_send_time() {
        let mut lease = Lease::default();
        let t0 = Instant::now();
        let (old, new) = (
            DcEpoch { term: 3, leader: 1 },
            DcEpoch { term: 4, leader: 2 },
        );
        assert_eq!(
            lease.accept_grant(new, t0, ms(1500), t0 + ms(5)),
            Grant::New
        );
        assert_eq!(lease.expiry, Some(t0 + ms(1500)));
        let stale = lease.accept_grant(old, t0 + ms(200), ms(1500), t0 + ms(205));
        assert_eq!(stale, Grant::StaleEpoch { highest: new });
        assert_eq!(
            lease.expiry,
            Some(t0 + ms(1500)),
            "a stale grant extends nothing"
        );
        assert_eq!(
            lease.accept_grant(new, t0 + ms(200), ms(1500), t0 + ms(210)),
            Grant::Renewed
        );
        assert_eq!(lease.expiry, Some(t0 + ms(1700)));
    }

    #[test]
    fn a_gap_in_renewals_starts_a_new_streak() {
        let mut table = HashMap::new();
        let t0 = Instant::now();
        record_renewal(&mut table, "n1", 1, t0, ms(600));
        record_renewal(&mut table, "n1", 1, t0 + ms(200), ms(600));
        assert_eq!(table["n1"].streak_start, t0);
        record_renewal(&mut table, "n1", 1, t0 + ms(1000), ms(600));
        assert_eq!(table["n1"].streak_start, t0 + ms(1000));
    }
}
