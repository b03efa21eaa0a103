//! herd-raft's integration tests: real openraft nodes over the in-process network, real files.
//!
//! `harness` builds clusters; `basics` covers formation, failover, restart and damaged files;
//! `disk_full` fills a tmpfs under the log (Raft stops, nothing committed is lost);
//! `sim` is the deterministic fault simulation (`HERD_SIM_SEED=N` replays one seed bit for bit),
//! `trace` its per-run event trace.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod basics;
mod disk_full;
mod harness;
mod sim;
mod trace;
