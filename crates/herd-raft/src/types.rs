//! The openraft type configuration and the identities herd gives nodes.
//!
//! openraft wants a `u64` node id; herd names nodes. [`node_id`] derives the id from the name
//! (FNV-1a, stable across versions and machines), and [`HerdNode`] carries the name and the
//! addresses inside the Raft membership. No I/O here.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::state::{Command, Response};

/// A node as the Raft membership knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HerdNode {
    pub name: String,
    /// One or two `host:port` link addresses.
    pub addrs: Vec<String>,
    /// A witness votes but never runs resources and never stays DC.
    pub witness: bool,
}

impl std::fmt::Display for HerdNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)
    }
}

openraft::declare_raft_types!(
    /// herd's openraft type configuration.
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = u64,
        Node = HerdNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = crate::runtime::HerdRuntime,
);

/// The Raft id of the node called `name` (64-bit FNV-1a of the name).
pub fn node_id(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The DC epoch: the leader's committed vote `(term, leader id)`. Every DC command carries it and
/// nodes refuse one lower than the highest they have seen.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct DcEpoch {
    pub term: u64,
    pub leader: u64,
}

impl std::fmt::Display for DcEpoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:x}", self.term, self.leader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_stable_and_distinct() {
        assert_eq!(node_id("n1"), node_id("n1"));
        assert_ne!(node_id("n1"), node_id("n2"));
        assert_eq!(node_id(""), 0xcbf2_9ce4_8422_2325);
    }
}
