//! The simulation's trace: one line per event (fault step, proposal, applied entries, term,
//! leader and membership changes, invariant violations), stamped with simulated time since the
//! run began.
//!
//! Two runs of one seed must produce the same lines, byte for byte; that is what "deterministic"
//! means here, and `sim` tests it. The trace lives outside the runtime so a run that panicked
//! can still show its last lines. No I/O: printing is the caller's.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

#[derive(Default)]
struct Inner {
    start: Option<Instant>,
    lines: Vec<String>,
}

/// A shared, append-only trace (cheap to clone into spawned tasks).
#[derive(Clone, Default)]
pub(crate) struct Trace {
    inner: Arc<Mutex<Inner>>,
}

impl Trace {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the clock: later lines are stamped with the simulated time since now. Call it
    /// inside the runtime (tokio's clock).
    pub(crate) fn begin(&self) {
        self.lock().start = Some(Instant::now());
    }

    /// Appends one line, `  MS.USS what` (simulated milliseconds since [`Trace::begin`]).
    pub(crate) fn record(&self, what: impl std::fmt::Display) {
        let mut inner = self.lock();
        let micros = inner
            .start
            .map(|start| Instant::now().saturating_duration_since(start).as_micros())
            .unwrap_or_default();
        let line = format!("{:>7}.{:03} {what}", micros / 1000, micros % 1000);
        inner.lines.push(line);
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.lock().lines.clone()
    }
}

/// A 64-bit FNV-1a digest of a trace, to print one short fingerprint per run.
pub(crate) fn digest(lines: &[String]) -> u64 {
    fnv(lines.iter().flat_map(|l| l.bytes().chain([b'\n'])))
}

/// The FNV-1a digest of one message.
pub(crate) fn digest_bytes(bytes: &[u8]) -> u64 {
    fnv(bytes.iter().copied())
}

fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Where two traces first differ, for an assertion message: the line number and both lines.
pub(crate) fn first_difference(a: &[String], b: &[String]) -> Option<String> {
    let none = String::from("<end of trace>");
    (0..a.len().max(b.len())).find_map(|i| {
        let (x, y) = (a.get(i).unwrap_or(&none), b.get(i).unwrap_or(&none));
        (x != y).then(|| format!("line {}:\n  first:  {x}\n  second: {y}", i + 1))
    })
}
