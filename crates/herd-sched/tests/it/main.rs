//! Integration tests of herd-sched: the Pacemaker scheduler corpus (a printout; the floor
//! is herd-corpus's) and behaviours pinned on small CIBs parsed with herd-cib. Reads files
//! (test I/O only).
#![allow(clippy::unwrap_used)]

mod behaviour;
mod corpus;
