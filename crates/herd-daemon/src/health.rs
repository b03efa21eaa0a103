//! This node's storage health as the agent acts on it (CLUSTER.md §6.12 rows 15-17):
//!
//! - unhealthy: the Raft log could not be written (disk full or another I/O error, after which
//!   Raft has stopped). Renewals then say so (`ClusterMsg::RenewUnhealthy`), the DC refuses the
//!   lease, the lease lapses and the lease-loss hook stops every resource; the reason is logged
//!   once and shown by `herd status`.
//! - slow: the p99 of the log's write + fsync is above a tenth of the minimum election timeout
//!   (40 ms by default, the bound of §6.4); warned once per episode, like etcd's slow fdatasync.
//! - admission control: configuration and admin writes are refused while the data directory
//!   has less than `[storage] min_free_mb` free, before the log runs out of room.
//!
//! Not here: measuring the writes (herd-raft's `disk_health`), the lease rules (`agent/`).
//! I/O: `statvfs` of the data directory, tokio's monotonic clock for the check loop.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use herd_api::DiskStatus;
use herd_raft::Consensus;
use herd_raft::disk_health::{EpisodeChange, SlowEpisode};

use crate::agent::Agent;
use crate::wire::{ClusterMsg, ClusterReply};

/// How often the health loop looks at the disk.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What the agent remembers so each problem is logged once.
#[derive(Debug)]
pub(crate) struct Health {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    slow: SlowEpisode,
    /// The unhealthy reason already logged on this node.
    logged_unhealthy: Option<String>,
    /// On the DC: the reason last logged per node whose renewal was refused.
    refused: HashMap<String, String>,
}

impl Health {
    /// `election_timeout_min_ms` as configured (before the daemon halves it for openraft).
    pub(crate) fn new(election_timeout_min_ms: u64) -> Health {
        Health {
            inner: Mutex::new(Inner {
                slow: SlowEpisode::new(slow_threshold(election_timeout_min_ms)),
                logged_unhealthy: None,
                refused: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The p99 above which log writes are slow: a tenth of the minimum election timeout (40 ms
/// for 400 ms). A follower answers the leader only after its write, so writes near the
/// election timeout make elections flap (CLUSTER.md §6.4).
pub(crate) fn slow_threshold(election_timeout_min_ms: u64) -> Duration {
    Duration::from_millis((election_timeout_min_ms / 10).max(1))
}

/// Free space of the file system holding `path`, in MiB (what an unprivileged writer gets).
pub(crate) fn free_mb(path: &Path) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    let bytes = stat.blocks_available().saturating_mul(stat.fragment_size());
    Some(bytes / (1024 * 1024))
}

impl Agent {
    /// Why this node must not hold a lease, if it must not: its Raft storage failed (the
    /// first failed write names the file), or its Raft stopped for another reason.
    pub(crate) fn unhealthy_reason(&self) -> Option<String> {
        if let Some(fault) = self.consensus.disk_report().fault {
            return Some(fault.to_string());
        }
        self.consensus
            .status()
            .fatal
            .map(|fatal| format!("raft stopped: {fatal}; restart the agent"))
    }

    /// The renewal to send: `Renew`, or `RenewUnhealthy` with the reason.
    pub(crate) fn renew_msg(&self, incarnation: u64, seq: u64) -> ClusterMsg {
        let node = self.name.clone();
        match self.unhealthy_reason() {
            Some(reason) => ClusterMsg::RenewUnhealthy {
                node,
                incarnation,
                seq,
                reason,
            },
            None => ClusterMsg::Renew {
                node,
                incarnation,
                seq,
            },
        }
    }

    /// Renews this node's own lease when it is the DC (no message on the wire).
    pub(crate) fn renew_self(&self, incarnation: u64, seq: u64) -> ClusterReply {
        match self.unhealthy_reason() {
            Some(reason) => self.handle_unhealthy_renew(&self.name, &reason, seq),
            None => self.handle_renew(&self.name, incarnation, seq),
        }
    }

    /// The DC's answer to a node that reports itself unhealthy: no lease, and no renewal
    /// recorded (so the node turns suspect, then lost). Logged once per node and reason.
    pub(crate) fn handle_unhealthy_renew(
        &self,
        node: &str,
        reason: &str,
        seq: u64,
    ) -> ClusterReply {
        let status = self.consensus.status();
        if status.is_leader {
            let mut inner = self.health.lock();
            if inner.refused.get(node).map(String::as_str) != Some(reason) {
                tracing::warn!(%node, %reason, "refusing a lease: the node reports itself unhealthy");
                inner.refused.insert(node.to_string(), reason.to_string());
            }
        }
        ClusterReply::Lease {
            dc_epoch: status.dc_epoch,
            granted: false,
            seq,
        }
    }

    /// A healthy renewal from `node`: its next unhealthy episode is logged again.
    pub(crate) fn forget_unhealthy(&self, node: &str) {
        let mut inner = self.health.lock();
        if !inner.refused.is_empty() {
            inner.refused.remove(node);
        }
    }

    /// Admission control for configuration and admin writes (on the leader): refused while
    /// this node is unhealthy or its data directory is short of `[storage] min_free_mb`.
    pub(crate) fn admit_write(&self) -> Result<(), String> {
        // This runs on the DC, also for requests forwarded from other nodes: say whose disk.
        let node = &self.config.node;
        if let Some(reason) = self.unhealthy_reason() {
            return Err(format!("refused on the DC {node}: {reason}"));
        }
        let min = self.config.storage.min_free_mb;
        if min == 0 {
            return Ok(());
        }
        let dir = &self.config.data_dir;
        match free_mb(dir) {
            Some(free) if free < min => Err(format!(
                "refused on the DC {node}: only {free} MiB free in {} (below [storage] \
                 min_free_mb = {min} in {}); free space there before changing the cluster",
                dir.display(),
                self.config.path.display()
            )),
            _ => Ok(()),
        }
    }

    /// The `disk` object of `herd status --json`.
    pub(crate) fn disk_status(&self) -> DiskStatus {
        let report = self.consensus.disk_report();
        let slow = self.health.lock().slow.is_slow();
        let problem = self.unhealthy_reason();
        DiskStatus {
            data_dir: self.config.data_dir.display().to_string(),
            healthy: problem.is_none(),
            problem,
            free_mb: free_mb(&self.config.data_dir),
            min_free_mb: self.config.storage.min_free_mb,
            fsync_p99_ms: report.fsync_p99.map(|d| d.as_secs_f64() * 1000.0),
            fsync_slow: slow,
            fsync_slow_threshold_ms: u64::try_from(
                slow_threshold(self.config.timing.election_timeout_min_ms).as_millis(),
            )
            .unwrap_or(u64::MAX),
        }
    }

    /// One look at the disk: logs an unhealthy reason once, and each slow-write episode once
    /// when it begins and once when it ends.
    fn health_round(&self) {
        if let Some(reason) = self.unhealthy_reason() {
            let mut inner = self.health.lock();
            if inner.logged_unhealthy.as_deref() != Some(reason.as_str()) {
                tracing::error!(
                    %reason, data_dir = %self.config.data_dir.display(),
                    "this node is unhealthy: its lease will not be renewed and its resources stop"
                );
                inner.logged_unhealthy = Some(reason);
            }
        }
        let p99 = self.consensus.disk_report().fsync_p99;
        let change = self.health.lock().slow.observe(p99);
        let threshold = slow_threshold(self.config.timing.election_timeout_min_ms);
        match change {
            Some(EpisodeChange::Began { p99 }) => tracing::warn!(
                p99_ms = p99.as_millis(),
                threshold_ms = threshold.as_millis(),
                data_dir = %self.config.data_dir.display(),
                "slow Raft log fsync: p99 above a tenth of the election timeout; elections may \
                 flap (check the disk under data_dir)"
            ),
            Some(EpisodeChange::Ended) => tracing::info!(
                threshold_ms = threshold.as_millis(),
                "Raft log fsync no longer slow (p99 under half the threshold, or no writes for 30 s)"
            ),
            None => {}
        }
    }
}

/// Looks at the disk every second, for as long as the agent runs.
pub(crate) async fn run(agent: std::sync::Arc<Agent>) {
    let mut ticker = tokio::time::interval(CHECK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        agent.health_round();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_threshold_is_a_tenth_of_the_election_timeout() {
        assert_eq!(slow_threshold(400), Duration::from_millis(40));
        assert_eq!(slow_threshold(1200), Duration::from_millis(120));
        assert_eq!(slow_threshold(0), Duration::from_millis(1));
    }

    #[test]
    fn free_space_of_an_existing_directory_is_known() {
        assert!(free_mb(Path::new("/")).is_some());
        assert_eq!(free_mb(Path::new("/no/such/dir/herd")), None);
    }

    #[test]
    fn unhealthy_renewal_round_trips_and_leaves_older_variants_where_they_were() {
        use crate::wire::{decode_cluster, encode_cluster};
        let msg = ClusterMsg::RenewUnhealthy {
            node: "n2".into(),
            incarnation: 4,
            seq: 7,
            reason: "disk full: cannot write /d/raft/log".into(),
        };
        let bytes = encode_cluster(&msg);
        match decode_cluster::<ClusterMsg>(&bytes[1..]) {
            Ok(ClusterMsg::RenewUnhealthy { reason, seq: 7, .. }) => {
                assert!(reason.starts_with("disk full"));
            }
            other => panic!("{other:?}"),
        }
        // postcard writes the variant index first: Renew stays 1, so a DC of either version
        // reads the other's healthy renewals.
        let renew = encode_cluster(&ClusterMsg::Renew {
            node: "n2".into(),
            incarnation: 4,
            seq: 7,
        });
        assert_eq!(renew[2], 1);
        assert!(bytes[2] > renew[2]);
    }

    /// Leases and failure detection run on the monotonic clock only: a wall-clock step (NTP,
    /// `date -s`) must not expire a lease or mark a node lost (CLUSTER.md §6.1, row 12).
    #[test]
    fn lease_and_detection_code_never_reads_the_wall_clock() {
        let sources = [
            ("agent.rs", include_str!("agent.rs")),
            ("agent/lease.rs", include_str!("agent/lease.rs")),
            ("agent/dc.rs", include_str!("agent/dc.rs")),
            ("health.rs", include_str!("health.rs")),
            ("handler.rs", include_str!("handler.rs")),
            (
                "herd-rpc link.rs",
                include_str!("../../herd-rpc/src/link.rs"),
            ),
            (
                "herd-raft node.rs",
                include_str!("../../herd-raft/src/node.rs"),
            ),
        ];
        let forbidden = [
            concat!("System", "Time"),
            concat!("UNIX_", "EPOCH"),
            concat!("chrono", "::"),
            concat!("Utc", "::now"),
            concat!("CLOCK_", "REALTIME"),
        ];
        for (file, text) in sources {
            for word in forbidden {
                assert!(!text.contains(word), "{file} reads the wall clock ({word})");
            }
        }
    }
}
