//! The simulation's invariant checker (CLUSTER.md §6.12), run on every 10 ms of simulated time.
//!
//! It looks at every live node, writes what changed (term, leader, voters, acting DC) to the
//! trace, and checks:
//! - at most one acting DC at any instant (a leader whose quorum ack is fresher than the daemon's
//!   window), and one node per DC epoch;
//! - an applied log index carries one log id on every node (an applied entry is committed; two
//!   ids at one index would mean a committed entry was replaced).
//!
//! The final "every acknowledged write is on every node" check is in `run`. [`Rules::max_term`]
//! is a deliberately false rule that only the checker's own test sets, to see a failure and its
//! replay without breaking the product. No I/O.

use std::collections::BTreeMap;

use herd_raft::{Consensus, DcEpoch};

use crate::harness::Cluster;
use crate::trace::Trace;

/// The daemon's freshness window for openraft timeouts of 200-300 ms: 0.8 x (300 + 200).
pub(crate) const FRESH_MS: u64 = 400;

/// What the checker enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// A leader acts as DC while its last quorum ack is younger than this.
    pub(crate) fresh_ms: u64,
    /// Test-only, deliberately false: "no node's term passes this".
    pub(crate) max_term: Option<u64>,
}

impl Rules {
    /// The invariants the product must keep.
    pub(crate) fn product() -> Rules {
        Rules {
            fresh_ms: FRESH_MS,
            max_term: None,
        }
    }
}

/// What the checker last saw of one node, to trace only changes.
#[derive(Clone, PartialEq, Eq)]
struct Seen {
    term: u64,
    leader: Option<String>,
    is_leader: bool,
    voters: Vec<String>,
    fatal: Option<String>,
}

pub(crate) struct Checker {
    rules: Rules,
    dc_of_epoch: BTreeMap<DcEpoch, String>,
    /// Applied index -> (term, leader id) of the entry some node applied there.
    applied_at: BTreeMap<u64, (u64, u64, String)>,
    seen: BTreeMap<String, Seen>,
    acting: Option<(String, DcEpoch)>,
}

impl Checker {
    pub(crate) fn new(rules: Rules) -> Checker {
        Checker {
            rules,
            dc_of_epoch: BTreeMap::new(),
            applied_at: BTreeMap::new(),
            seen: BTreeMap::new(),
            acting: None,
        }
    }

    /// Looks at every live node now: traces what changed, then checks the invariants.
    pub(crate) fn observe(&mut self, cluster: &Cluster, trace: &Trace) -> Result<(), String> {
        let mut acting = Vec::new();
        for (i, slot) in cluster.nodes.iter().enumerate() {
            let Some(node) = slot else {
                self.seen.remove(&cluster.names[i]);
                continue;
            };
            let status = node.status();
            let seen = Seen {
                term: status.term,
                leader: status.leader.as_ref().map(|l| l.name.clone()),
                is_leader: status.is_leader,
                voters: status.voters.iter().map(|v| v.name.clone()).collect(),
                fatal: status.fatal.clone(),
            };
            if self.seen.get(&status.name) != Some(&seen) {
                trace.record(format_args!(
                    "{} term {} leader {} voters [{}]{}",
                    status.name,
                    seen.term,
                    seen.leader.as_deref().unwrap_or("-"),
                    seen.voters.join(","),
                    seen.fatal
                        .as_deref()
                        .map(|f| format!(" FATAL {f}"))
                        .unwrap_or_default()
                ));
                self.seen.insert(status.name.clone(), seen);
            }
            if let Some(max) = self.rules.max_term
                && status.term > max
            {
                return Err(format!(
                    "{} reached term {} (the test's rule allows {max})",
                    status.name, status.term
                ));
            }
            let fresh = status
                .millis_since_quorum_ack
                .is_some_and(|ms| ms < self.rules.fresh_ms);
            if let (true, true, Some(epoch)) = (status.is_leader, fresh, status.dc_epoch) {
                acting.push((status.name.clone(), epoch));
            }
            self.check_applied(&status.name, node.applied().last_applied)?;
        }
        self.check_acting(acting, trace)
    }

    fn check_applied(
        &mut self,
        name: &str,
        last: Option<openraft::LogId<u64>>,
    ) -> Result<(), String> {
        let Some(id) = last else { return Ok(()) };
        let here = (id.leader_id.term, id.leader_id.node_id, name.to_string());
        let first = self.applied_at.entry(id.index).or_insert(here.clone());
        if (first.0, first.1) != (here.0, here.1) {
            return Err(format!(
                "index {} applied as term {} on {} but as term {} on {name}: a committed entry was replaced",
                id.index, first.0, first.2, here.0
            ));
        }
        Ok(())
    }

    fn check_acting(
        &mut self,
        acting: Vec<(String, DcEpoch)>,
        trace: &Trace,
    ) -> Result<(), String> {
        if acting.len() > 1 {
            return Err(format!("two acting DCs at once: {acting:?}"));
        }
        for (name, epoch) in &acting {
            let first = self
                .dc_of_epoch
                .entry(*epoch)
                .or_insert_with(|| name.clone());
            if first != name {
                return Err(format!("epoch {epoch} acted by {first} and by {name}"));
            }
        }
        let now = acting.into_iter().next();
        if now != self.acting {
            match &now {
                Some((name, epoch)) => trace.record(format_args!("acting DC {name} epoch {epoch}")),
                None => trace.record("acting DC none"),
            }
            self.acting = now;
        }
        Ok(())
    }
}
