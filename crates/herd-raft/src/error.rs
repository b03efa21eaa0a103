//! Errors of herd-raft: storage (files named), and consensus operations.
//!
//! No I/O here; the types carry the path or the node so the message says where and what to do.

use std::path::PathBuf;

/// A problem with one of the files under the Raft directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: corrupt at byte offset {offset}: {what} (the file was damaged or truncated; \
         restore it from a backup, or move this node's data_dir aside and rejoin it with \
         `herd node remove` then `herd node add`)"
    )]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error(
        "{path}: format version {found}, this herd reads up to version {expected} (written by \
         another herd version: run the herd that wrote it)"
    )]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(
        "{path}: cannot decode record at byte offset {offset}: {message} (restore it from a \
         backup, or move this node's data_dir aside and rejoin it with `herd node remove` then \
         `herd node add`)"
    )]
    Decode {
        path: PathBuf,
        offset: u64,
        message: String,
    },
}

/// A consensus operation that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error("this node is not the leader (leader: {leader:?}); send the request to the leader")]
    NotLeader { leader: Option<String> },
    #[error("the cluster is already initialized")]
    AlreadyInitialized,
    #[error("no such node {name:?} in the cluster membership")]
    UnknownNode { name: String },
    #[error("raft: {0}")]
    Raft(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
