//! The running agent: its state, the hello loop and the loops' scheduling.
//!
//! - hello loop: every renew interval, greet every peer; the answers drive formation
//!   (wait-for-all) and the election guard (a node that cannot reach a majority of voters
//!   does not campaign, our stand-in for Pre-Vote on openraft 0.9).
//! - lease loop (`agent/lease.rs`): renew this node's lease with the DC; on expiry report it
//!   and run the lease-loss hook (stop every resource).
//! - DC loop (`agent/dc.rs`): on the leader with a fresh quorum, turn renewals into node
//!   states (online/suspect/lost) and commit the changes with the DC epoch; a witness leader
//!   hands leadership away.
//!
//! Not here: the lease and DC rules themselves (the submodules), the admin API and RPC
//! handler. I/O: herd-rpc calls and the consensus; all timing is tokio's monotonic clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use herd_raft::{Consensus, ConsensusStatus, HerdNode, RaftNode};
use tokio::time::Instant;

use crate::hooks::AgentHooks;
use crate::wire::{self, ClusterMsg, ClusterReply};

mod dc;
mod lease;
mod leave;
pub(crate) mod removed;
#[cfg(test)]
mod skew;

use dc::DcTracker;
use lease::Lease;

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
    /// Removal learned, leave committed, removed nodes to tell (agent/removed.rs).
    pub(crate) departure: removed::Departure,
    /// Disk health: what was logged once, the slow-fsync episode (health.rs).
    pub(crate) health: crate::health::Health,
}

/// The last answer of a peer to our hello.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) initialized: bool,
    pub(crate) has_leader: bool,
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
        let health = crate::health::Health::new(config.timing.election_timeout_min_ms);
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
            departure: removed::Departure::default(),
            health,
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

    /// Whether the leader reached this node within openraft's follower lease (half the
    /// configured election_timeout_max, see lib.rs): this node would refuse a challenger's
    /// vote, so a peer that cannot hear the leader should not campaign.
    pub(crate) fn leader_in_touch(&self, status: &ConsensusStatus) -> bool {
        let lease_ms = self.timing().election_timeout_max_ms / 2;
        status
            .millis_since_leader_contact
            .is_some_and(|ms| ms < lease_ms)
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
        self.departure.extend_peers(&mut peers);
        peers.remove(&self.name);
        peers
    }

    /// Peers that answered a hello within the suspect interval.
    pub(crate) fn reachable(&self) -> Vec<String> {
        // A voter counts as reachable only while its hellos are recent: the window plus one
        // hello round must stay below the shortest effective election timeout (500 ms by
        // default), or a freshly isolated node campaigns once before the guard closes, and on
        // heal its higher term deposes a healthy DC.
        let window =
            (self.hello_interval() * 3).min(Duration::from_millis(self.timing().suspect_ms));
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
                match agent.call(&peer, &msg, timeout).await {
                    Ok(ClusterReply::Hello {
                        node,
                        initialized,
                        has_leader,
                    }) if node == peer => {
                        let seen = Seen {
                            at: Instant::now(),
                            initialized,
                            has_leader,
                        };
                        lock(&agent.seen).insert(peer, seen);
                    }
                    Ok(ClusterReply::Removed { dc }) if dc == peer => agent.learn_removed(&dc),
                    _ => {}
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
        // A voter counts as reachable only while its hellos are recent: the window plus one
        // hello round must stay below the shortest effective election timeout (500 ms by
        // default), or a freshly isolated node campaigns once before the guard closes, and on
        // heal its higher term deposes a healthy DC.
        let window =
            (self.hello_interval() * 3).min(Duration::from_millis(self.timing().suspect_ms));
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
                // The answer that counts as a vote also says whether its sender is served: a
                // shorter window here let a node that stalled count a served peer as a vote
                // but not as served, and campaign. A dead DC's last answer blocks elections
                // for at most `window`, below the follower election timeout.
                served |= s.has_leader;
            }
        }
        let handing_off = lock(&self.handoff_until).is_some_and(|until| now < until);
        let allowed = votes * 2 > status.voters.len()
            && !served
            && !handing_off
            && !self.departure.is_removed();
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
}

pub(crate) fn herd_node(node: &herd_config::NodeConfig) -> HerdNode {
    HerdNode {
        name: node.name.clone(),
        addrs: node.addrs.iter().map(|a| a.to_string()).collect(),
        witness: node.witness,
    }
}
impl Agent {
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
