//! herd's replicated cluster state on Raft (openraft, pinned `=0.9.25`).
//!
//! openraft is confined to this crate: callers use the [`Consensus`] trait, the replicated
//! [`ClusterState`] and its [`Command`]s, and give a [`RaftTransport`] (bytes to a named peer).
//! Storage is ours: an append-only journal with a CRC per record (`DIR/log`) and an atomically
//! written snapshot (`DIR/snapshot`), each with a version header; damage is an error naming the
//! file, never a panic. The file I/O is in `log_store.rs`, `sm_store.rs` and `format.rs`; the
//! network I/O is the caller's transport. [`disk_health`] times the journal's writes and keeps
//! the first failed one (disk full), for the daemon to report. [`mem_net`] is an in-process
//! transport with partitions, loss and delays for tests and the deterministic simulation.
//! openraft runs on [`HerdRuntime`] (tokio, whose election jitter a test thread can seed with
//! [`seed_thread_rng`], so a simulated run replays bit for bit; unseeded it is the OS's).

pub mod disk_health;
mod error;
mod format;
mod log_store;
pub mod mem_net;
mod network;
mod node;
mod runtime;
mod sm_store;
mod state;
mod types;

pub use disk_health::{DiskFault, DiskFaultKind, DiskHealth, DiskReport};
pub use error::{ConsensusError, StoreError};
pub use log_store::FSYNC_DELAY_ENV;
pub use network::{BoxFuture, NetError, RaftTransport};
pub use node::{Consensus, ConsensusStatus, RPC_TIMEOUT, RaftConfig, RaftNode};
pub use runtime::{HerdRuntime, SeededRng, seed_thread_rng};
pub use sm_store::Applied;
pub use state::{ClusterState, Command, FailCount, NodeRecord, NodeState, ResourceOp, Response};
pub use types::{DcEpoch, HerdNode, node_id};
