//! Limits shared across crates, unit last in the name. Relations between them are checked
//! at compile time.

/// The largest finite score; anything at or beyond it is INFINITY (Pacemaker's 1,000,000).
pub const SCORE_INFINITY: i64 = 1_000_000;

/// The largest CIB document herd reads, in bytes. Real CIBs are well under 10 MiB.
pub const CIB_BYTES_MAX: u64 = 256 * 1024 * 1024;

const _: () = assert!(SCORE_INFINITY > 0);
