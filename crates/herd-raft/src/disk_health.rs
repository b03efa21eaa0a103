//! The health of this node's Raft storage: how long journal writes (write + fsync) take, and
//! whether one failed (disk full or another I/O error), shared between the log store that
//! measures and the daemon that reports.
//!
//! [`LatencyTracker`] (p99 over a time window) and [`SlowEpisode`] (a warning once per episode
//! of slow writes, not once per write) are pure: time comes in as arguments. [`DiskHealth`] is
//! the shared, locked record the log store fills. No I/O here: the log store times its own
//! writes (`log_store.rs`).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a write's latency counts towards the p99.
pub const LATENCY_WINDOW: Duration = Duration::from_secs(30);
/// At most this many samples are kept (the newest); enough for a stable p99.
pub const LATENCY_SAMPLES_MAX: usize = 1024;

/// Write latencies over a sliding time window.
#[derive(Debug, Clone)]
pub struct LatencyTracker {
    window: Duration,
    cap: usize,
    samples: VecDeque<(Instant, Duration)>,
}

impl LatencyTracker {
    pub fn new(window: Duration, cap: usize) -> LatencyTracker {
        LatencyTracker {
            window,
            cap: cap.max(1),
            samples: VecDeque::new(),
        }
    }

    /// Records one write that ended at `at` and took `latency`.
    pub fn record(&mut self, at: Instant, latency: Duration) {
        if self.samples.len() == self.cap {
            self.samples.pop_front();
        }
        self.samples.push_back((at, latency));
    }

    /// The 99th percentile (nearest rank) of the writes within the window before `now`;
    /// None when there were none.
    pub fn p99(&mut self, now: Instant) -> Option<Duration> {
        self.prune(now);
        let mut latencies: Vec<Duration> = self.samples.iter().map(|(_, l)| *l).collect();
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        // Nearest rank: ceil(0.99 * n), 1-based.
        let rank = (latencies.len() * 99).div_ceil(100).max(1);
        Some(latencies[rank - 1])
    }

    /// How many writes the window holds.
    pub fn count(&mut self, now: Instant) -> usize {
        self.prune(now);
        self.samples.len()
    }

    fn prune(&mut self, now: Instant) {
        while let Some((at, _)) = self.samples.front() {
            if now.saturating_duration_since(*at) > self.window {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }
}

/// Whether writes are slow now, remembered so a warning is given once per episode.
#[derive(Debug, Clone)]
pub struct SlowEpisode {
    threshold: Duration,
    slow: bool,
}

/// A change of [`SlowEpisode`], to log once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeChange {
    /// The p99 rose above the threshold.
    Began { p99: Duration },
    /// The p99 fell to half the threshold or below (or no writes are left in the window).
    Ended,
}

impl SlowEpisode {
    pub fn new(threshold: Duration) -> SlowEpisode {
        SlowEpisode {
            threshold,
            slow: false,
        }
    }

    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    pub fn is_slow(&self) -> bool {
        self.slow
    }

    /// Feeds the current p99; returns a change when an episode begins or ends. The end needs
    /// the p99 at half the threshold, so a p99 hovering at the threshold does not flap.
    pub fn observe(&mut self, p99: Option<Duration>) -> Option<EpisodeChange> {
        match (self.slow, p99) {
            (false, Some(p99)) if p99 > self.threshold => {
                self.slow = true;
                Some(EpisodeChange::Began { p99 })
            }
            (true, None) => {
                self.slow = false;
                Some(EpisodeChange::Ended)
            }
            (true, Some(p99)) if p99 <= self.threshold / 2 => {
                self.slow = false;
                Some(EpisodeChange::Ended)
            }
            _ => None,
        }
    }
}

/// What went wrong with a storage write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFaultKind {
    /// ENOSPC or EDQUOT: the file system is full.
    Full,
    /// Any other I/O error.
    Io,
}

/// The first storage write that failed; Raft stops after it (openraft treats it as fatal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFault {
    pub kind: DiskFaultKind,
    /// The file that could not be written.
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for DiskFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = self
            .path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("/"));
        match self.kind {
            DiskFaultKind::Full => write!(
                f,
                "disk full: cannot write {} ({}); free space in {} and restart the agent",
                self.path.display(),
                self.message,
                dir.display()
            ),
            DiskFaultKind::Io => write!(
                f,
                "disk error: cannot write {} ({}); check the disk under {} and restart the agent",
                self.path.display(),
                self.message,
                dir.display()
            ),
        }
    }
}

impl DiskFault {
    /// Classifies an I/O error of a write to `path`.
    pub fn from_io(path: &Path, error: &std::io::Error) -> DiskFault {
        // ENOSPC = 28, EDQUOT = 122 on Linux.
        let full = matches!(error.raw_os_error(), Some(28 | 122))
            || error.kind() == std::io::ErrorKind::StorageFull
            || error.kind() == std::io::ErrorKind::QuotaExceeded;
        DiskFault {
            kind: if full {
                DiskFaultKind::Full
            } else {
                DiskFaultKind::Io
            },
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}

/// A point-in-time view of [`DiskHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskReport {
    /// p99 of journal write + fsync over the last [`LATENCY_WINDOW`]; None without writes.
    pub fsync_p99: Option<Duration>,
    /// Journal writes within the window.
    pub writes: usize,
    /// The first failed write, if any (Raft has stopped).
    pub fault: Option<DiskFault>,
}

#[derive(Debug)]
struct Inner {
    latency: LatencyTracker,
    fault: Option<DiskFault>,
}

/// The storage health record, shared by the log store (which fills it) and its readers.
#[derive(Debug, Clone)]
pub struct DiskHealth {
    inner: Arc<Mutex<Inner>>,
}

impl Default for DiskHealth {
    fn default() -> DiskHealth {
        DiskHealth {
            inner: Arc::new(Mutex::new(Inner {
                latency: LatencyTracker::new(LATENCY_WINDOW, LATENCY_SAMPLES_MAX),
                fault: None,
            })),
        }
    }
}

impl DiskHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A write (with its fsync) that ended at `at` and took `latency`.
    pub fn record_write(&self, at: Instant, latency: Duration) {
        self.lock().latency.record(at, latency);
    }

    /// A failed write; the first one is kept.
    pub fn record_fault(&self, fault: DiskFault) {
        let mut inner = self.lock();
        if inner.fault.is_none() {
            inner.fault = Some(fault);
        }
    }

    pub fn report(&self, now: Instant) -> DiskReport {
        let mut inner = self.lock();
        DiskReport {
            fsync_p99: inner.latency.p99(now),
            writes: inner.latency.count(now),
            fault: inner.fault.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn p99_is_the_nearest_rank_and_forgets_old_writes() {
        let t0 = Instant::now();
        let mut tracker = LatencyTracker::new(ms(1000), 1024);
        assert_eq!(tracker.p99(t0), None);
        for i in 1..=100 {
            tracker.record(t0, ms(i));
        }
        assert_eq!(tracker.p99(t0), Some(ms(99)));
        tracker.record(t0 + ms(900), ms(500));
        // 101 samples: rank ceil(99.99) = 100 -> 100 ms; the single 500 ms outlier is the p100.
        assert_eq!(tracker.p99(t0 + ms(900)), Some(ms(100)));
        // The first hundred leave the window; the outlier alone is the p99.
        assert_eq!(tracker.p99(t0 + ms(1500)), Some(ms(500)));
        assert_eq!(tracker.count(t0 + ms(3000)), 0);
        assert_eq!(tracker.p99(t0 + ms(3000)), None);
    }

    #[test]
    fn tracker_keeps_only_the_newest_samples() {
        let t0 = Instant::now();
        let mut tracker = LatencyTracker::new(ms(10_000), 3);
        for l in [900, 1, 2, 3] {
            tracker.record(t0, ms(l));
        }
        assert_eq!(tracker.count(t0), 3);
        assert_eq!(tracker.p99(t0), Some(ms(3)));
    }

    #[test]
    fn slow_writes_warn_once_per_episode_with_hysteresis() {
        let mut episode = SlowEpisode::new(ms(40));
        assert_eq!(episode.observe(Some(ms(10))), None);
        assert_eq!(
            episode.observe(Some(ms(120))),
            Some(EpisodeChange::Began { p99: ms(120) })
        );
        // Still slow, or hovering just under the threshold: nothing new to say.
        assert_eq!(episode.observe(Some(ms(300))), None);
        assert_eq!(episode.observe(Some(ms(35))), None);
        assert!(episode.is_slow());
        assert_eq!(episode.observe(Some(ms(20))), Some(EpisodeChange::Ended));
        assert_eq!(episode.observe(Some(ms(20))), None);
        assert_eq!(
            episode.observe(Some(ms(41))),
            Some(EpisodeChange::Began { p99: ms(41) })
        );
        assert_eq!(episode.observe(None), Some(EpisodeChange::Ended));
    }

    #[test]
    fn enospc_is_a_full_disk_and_names_the_file_and_directory() {
        let error = std::io::Error::from_raw_os_error(28);
        let fault = DiskFault::from_io(Path::new("/var/lib/herd/raft/log"), &error);
        assert_eq!(fault.kind, DiskFaultKind::Full);
        let text = fault.to_string();
        assert!(
            text.starts_with("disk full: cannot write /var/lib/herd/raft/log"),
            "{text}"
        );
        assert!(text.contains("free space in /var/lib/herd"), "{text}");
        let other = DiskFault::from_io(Path::new("/d/raft/log"), &std::io::Error::other("eio"));
        assert_eq!(other.kind, DiskFaultKind::Io);
    }

    #[test]
    fn the_first_fault_is_kept() {
        let health = DiskHealth::default();
        let full = std::io::Error::from_raw_os_error(28);
        health.record_fault(DiskFault::from_io(Path::new("/a/raft/log"), &full));
        health.record_fault(DiskFault::from_io(Path::new("/b/raft/log"), &full));
        let report = health.report(Instant::now());
        assert_eq!(report.fault.unwrap().path, Path::new("/a/raft/log"));
    }
}
