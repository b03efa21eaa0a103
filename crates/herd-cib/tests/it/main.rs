//! Integration tests of herd-cib against the Pacemaker scheduler corpus and built inputs.
//!
//! Reads ../shared/scheduler-cases (or `HERD_SCHEDULER_CASES`): the only I/O is reading
//! those files.

mod corpus;
mod fuzz;
