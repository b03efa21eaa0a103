//! The DC's side of the cluster: answering renewals, tracking a tenure, and turning
//! renewal ages into committed node states (online/suspect/lost, with rejoin damping); a
//! witness that finds itself leader hands leadership away.
//!
//! Not here: this node's own lease (`lease.rs`), hellos and formation (`agent.rs`). The state
//! rules (`desired_state`, `record_renewal`) are pure; the I/O is in the `Agent` methods:
//! the consensus (status, proposals, ReadIndex) and tokio's monotonic clock.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use herd_raft::{Command, Consensus, ConsensusStatus, DcEpoch, NodeState};
use tokio::time::Instant;

use super::{Agent, lock};
use crate::wire::ClusterReply;

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
impl Agent {
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
    /// Answers a renewal (on the DC; on anyone else it is refused).
    pub(crate) fn handle_renew(&self, node: &str, incarnation: u64, seq: u64) -> ClusterReply {
        self.forget_unhealthy(node); // health.rs: log its next unhealthy episode again
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
    pub(super) async fn dc_round(&self) {
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
        self.finish_removals(&status).await;
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
            if super::leave::left_sticks(record, renewal) {
                continue;
            }
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
        self.storage_round(epoch).await;
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
    /// so a core node with an up-to-date log takes over. The window's end applies to any
    /// node: a DC that an interrupted change removes steps aside the same way (removed.rs).
    fn witness_handoff(&self, status: &ConsensusStatus) {
        let now = Instant::now();
        let mut until = lock(&self.handoff_until);
        if let Some(t) = *until {
            if now >= t {
                *until = None;
                self.consensus.set_heartbeat(true);
            }
            return;
        }
        if !self.witness {
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
