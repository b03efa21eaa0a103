//! The node's queue of resource results waiting for the DC (records.rs `report_loop`): bounded
//! while there is no DC, and sent in chunks that fit one message.
//!
//! What it keeps, per (resource, op): the latest result, and the latest failure not yet
//! reported when the latest result is not that failure. A resource that flaps a thousand
//! times without a DC is two entries, not a thousand; its failures while nobody could record
//! them count as one (the last, with its time). Entries stay in the order of their last
//! update, so the DC records a failure before the success that followed it. Past
//! [`MAX_PENDING`] entries the oldest are dropped (the caller logs once per episode).
//!
//! Not here: sending (records.rs), what counts as a change (records.rs `is_change`). Pure: no
//! I/O, no clock.

use super::OpReport;

/// The most results a node keeps for the DC; beyond it the oldest go.
pub(crate) const MAX_PENDING: usize = 1024;
/// The most results in one message to the DC.
pub(crate) const CHUNK_REPORTS: usize = 64;
/// The most bytes (estimated) of results in one message to the DC, far below herd-rpc's
/// frame limit; one result alone is sent whatever its size.
pub(crate) const CHUNK_BYTES: usize = 256 * 1024;

/// Results not yet recorded by the DC, oldest first.
#[derive(Debug, Default)]
pub(crate) struct ReportQueue {
    entries: Vec<OpReport>,
}

impl ReportQueue {
    /// Adds `reports` (oldest first), merging each with what waits for the same resource and
    /// op; returns how many old entries were dropped to stay within [`MAX_PENDING`].
    pub(crate) fn push(&mut self, reports: impl IntoIterator<Item = OpReport>) -> usize {
        let mut dropped = 0;
        for report in reports {
            self.merge(report);
            if self.entries.len() > MAX_PENDING {
                let excess = self.entries.len() - MAX_PENDING;
                self.entries.drain(..excess);
                dropped += excess;
            }
        }
        dropped
    }

    /// Drops what `report` supersedes for its resource and op: every earlier entry, except
    /// the newest failure when `report` is a success (that failure is not counted yet).
    fn merge(&mut self, report: OpReport) {
        let same = |r: &OpReport| r.resource == report.resource && r.op == report.op;
        let keep = if report.failed {
            None
        } else {
            self.entries.iter().rposition(|r| same(r) && r.failed)
        };
        let mut i = 0;
        self.entries.retain(|r| {
            let kept = !same(r) || Some(i) == keep;
            i += 1;
            kept
        });
        self.entries.push(report);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The oldest results that fit one message: at most [`CHUNK_REPORTS`], at most
    /// [`CHUNK_BYTES`] estimated, at least one.
    pub(crate) fn chunk(&self) -> &[OpReport] {
        let mut bytes = 0;
        let mut n = 0;
        for report in self.entries.iter().take(CHUNK_REPORTS) {
            bytes += estimated_bytes(report);
            if n > 0 && bytes > CHUNK_BYTES {
                break;
            }
            n += 1;
        }
        &self.entries[..n]
    }

    /// Forgets the first `n` results (the chunk the DC recorded).
    pub(crate) fn recorded(&mut self, n: usize) {
        self.entries.drain(..n.min(self.entries.len()));
    }
}

/// About the encoded size of one result: its strings plus room for the numbers and tags.
fn estimated_bytes(report: &OpReport) -> usize {
    64 + report.resource.len()
        + report.node.len()
        + report.op.len()
        + report.exit_reason.as_ref().map_or(0, String::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(resource: &str, op: &str, failed: bool, at_s: i64) -> OpReport {
        OpReport {
            resource: resource.into(),
            node: "n1".into(),
            op: op.into(),
            rc: i32::from(failed),
            failed,
            exit_reason: None,
            at_s,
        }
    }

    fn summary(queue: &ReportQueue) -> Vec<(String, bool, i64)> {
        queue
            .entries
            .iter()
            .map(|r| (r.resource.clone(), r.failed, r.at_s))
            .collect()
    }

    #[test]
    fn a_flapping_resource_is_two_entries_not_a_thousand() {
        let mut queue = ReportQueue::default();
        for i in 0..1000 {
            queue.push([report("web", "monitor_10000", i % 2 == 0, i)]);
        }
        // The last failure (998) and the success after it (999).
        assert_eq!(
            summary(&queue),
            [("web".into(), true, 998), ("web".into(), false, 999)]
        );
    }

    #[test]
    fn a_failure_is_kept_until_reported_even_after_a_success() {
        let mut queue = ReportQueue::default();
        queue.push([report("web", "monitor_10000", true, 1)]);
        queue.push([report("web", "monitor_10000", false, 2)]);
        queue.push([report("web", "monitor_10000", false, 3)]);
        assert_eq!(
            summary(&queue),
            [("web".into(), true, 1), ("web".into(), false, 3)]
        );
        // The latest result being a failure, it alone stays.
        queue.push([report("web", "monitor_10000", true, 4)]);
        assert_eq!(summary(&queue), [("web".into(), true, 4)]);
    }

    #[test]
    fn other_resources_and_ops_are_not_merged() {
        let mut queue = ReportQueue::default();
        queue.push([
            report("web", "monitor_0", false, 1),
            report("web", "stop_0", true, 2),
            report("db", "monitor_0", false, 3),
        ]);
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn past_the_bound_the_oldest_go() {
        let mut queue = ReportQueue::default();
        let dropped = queue.push((0..MAX_PENDING + 10).map(|i| {
            let name = format!("r{i}");
            report(&name, "stop_0", false, i64::try_from(i).unwrap())
        }));
        assert_eq!(dropped, 10);
        assert_eq!(queue.len(), MAX_PENDING);
        assert_eq!(queue.entries[0].resource, "r10");
    }

    #[test]
    fn chunks_are_bounded_in_count_and_bytes() {
        let mut queue = ReportQueue::default();
        queue.push((0..200).map(|i| report(&format!("r{i}"), "stop_0", false, i)));
        assert_eq!(queue.chunk().len(), CHUNK_REPORTS);
        queue.recorded(CHUNK_REPORTS);
        assert_eq!(queue.len(), 200 - CHUNK_REPORTS);
        assert_eq!(queue.chunk()[0].resource, format!("r{CHUNK_REPORTS}"));

        let mut big = ReportQueue::default();
        big.push((0..4).map(|i| OpReport {
            exit_reason: Some("x".repeat(CHUNK_BYTES / 2)),
            ..report(&format!("r{i}"), "stop_0", true, i)
        }));
        assert_eq!(big.chunk().len(), 1);
        // One result larger than the bound still goes, alone.
        let mut huge = ReportQueue::default();
        huge.push([OpReport {
            exit_reason: Some("x".repeat(CHUNK_BYTES * 2)),
            ..report("r", "stop_0", true, 1)
        }]);
        assert_eq!(huge.chunk().len(), 1);
    }
}
