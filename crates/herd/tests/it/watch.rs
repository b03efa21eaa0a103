//! A watch over a running cluster: samples every node's status (through the admin socket)
//! and keeps, per node, the DC tenures it reported in order (DC and epoch: a DC re-elected
//! in a new term is a change too), its highest term and its longest stretch without a DC; then checks the bounds of CLUSTER.md §6.12 (at most one DC change,
//! terms that do not climb, a DC on the majority). Used by `asymmetric` and `pause`. Not
//! here: making faults. I/O: the agents' admin sockets.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::agents::{Cluster, dc, inner};

/// The DC tenure in a status: `DC@EPOCH`, None without a DC.
pub(crate) fn tenure(status: &Value) -> Option<String> {
    let epoch = status["dc_epoch"].as_str().unwrap_or("?");
    dc(status).map(|d| format!("{d}@{epoch}"))
}

/// The DC of a tenure string.
pub(crate) fn tenure_dc(tenure: &str) -> &str {
    tenure.split('@').next().unwrap_or(tenure)
}

/// The longest time the majority may go without a DC: one election after a DC loss, with
/// slack for a busy machine.
const MAJORITY_GAP_LIMIT: Duration = Duration::from_secs(3);

/// What every node reported during a watch.
pub(crate) struct Watch {
    /// Per node: the distinct DC tenures (`DC@EPOCH`) it reported, in order, starting with
    /// the one before the fault (samples without a DC are skipped).
    pub(crate) dcs: Vec<Vec<String>>,
    pub(crate) terms_before: Vec<u64>,
    pub(crate) max_term: Vec<u64>,
    /// Per node: the longest stretch without a DC, and the start of the current one.
    longest_without_dc: Vec<Duration>,
    without_since: Vec<Option<Instant>>,
    /// The nodes asked (a frozen agent would hold a request for the socket's timeout).
    pub(crate) asked: Vec<usize>,
}

impl Watch {
    /// Starts a watch on a formed cluster; reads the DC tenure and the terms now.
    pub(crate) fn new(cluster: &Cluster) -> Watch {
        let n = cluster.agents.len();
        let statuses: Vec<Value> = (0..n)
            .map(|i| inner(cluster.fast_status(i)).unwrap())
            .collect();
        let terms_before: Vec<u64> = statuses
            .iter()
            .map(|s| s["term"].as_u64().unwrap())
            .collect();
        let tenure = statuses.iter().find_map(tenure).expect("a formed cluster");
        Watch {
            dcs: vec![vec![tenure]; n],
            max_term: terms_before.clone(),
            terms_before,
            longest_without_dc: vec![Duration::ZERO; n],
            without_since: vec![None; n],
            asked: (0..n).collect(),
        }
    }

    /// Asks every node of `asked` once.
    pub(crate) fn sample(&mut self, cluster: &Cluster) {
        for i in self.asked.clone() {
            let Some(status) = inner(cluster.fast_status(i)) else {
                continue;
            };
            if let Some(term) = status["term"].as_u64() {
                self.max_term[i] = self.max_term[i].max(term);
            }
            let now = Instant::now();
            match tenure(&status) {
                Some(d) => {
                    if self.dcs[i].last() != Some(&d) {
                        self.dcs[i].push(d);
                    }
                    if let Some(since) = self.without_since[i].take() {
                        let gap = now.duration_since(since);
                        self.longest_without_dc[i] = self.longest_without_dc[i].max(gap);
                    }
                }
                None => {
                    self.without_since[i].get_or_insert(now);
                }
            }
        }
    }

    /// Samples about every 100 ms for `period`.
    pub(crate) fn run(&mut self, cluster: &Cluster, period: Duration) {
        let start = Instant::now();
        while start.elapsed() < period {
            self.sample(cluster);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The longest stretch node `i` went without a DC, counting one still open.
    pub(crate) fn gap(&self, i: usize) -> Duration {
        let open = self.without_since[i].map_or(Duration::ZERO, |since| since.elapsed());
        self.longest_without_dc[i].max(open)
    }

    /// At most one DC change seen from every node, terms up by at most one election, and a
    /// DC on every node of `majority` all along (but for one election).
    pub(crate) fn assert_bounded(&self, case: &str, majority: &[usize]) {
        for (i, dcs) in self.dcs.iter().enumerate() {
            assert!(
                dcs.len() <= 2,
                "{case}: node {i} saw more than one DC change: {dcs:?}"
            );
            let (before, max) = (self.terms_before[i], self.max_term[i]);
            assert!(
                max <= before + 2,
                "{case}: node {i}'s term climbed from {before} to {max}"
            );
        }
        for &i in majority {
            assert!(
                self.gap(i) < MAJORITY_GAP_LIMIT,
                "{case}: majority node {i} went {:?} without a DC",
                self.gap(i)
            );
        }
    }
}
