//! The shared vocabulary of herd: values that several crates speak.
//!
//! Pure: no I/O, no clock, no randomness. Only types that more than one crate needs belong
//! here (a score is read by the CIB parser and summed by the scheduler); anything owned by
//! one area stays in that area's crate.

pub mod limits;
pub mod score;

pub use score::{Score, ScoreParseError};
