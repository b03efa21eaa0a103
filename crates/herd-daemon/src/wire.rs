//! The agent-to-agent messages that are not Raft's: hello (formation and reachability),
//! lease renewals and grants, and admin requests forwarded to the leader.
//!
//! Every payload on herd-rpc starts with a channel byte ([`CHANNEL_RAFT`] or
//! [`CHANNEL_CLUSTER`]); cluster messages then carry a version byte and postcard. Decoding is
//! pure and never panics on garbage. No I/O here.

use serde::{Deserialize, Serialize};

use herd_raft::DcEpoch;

/// Payload channel: a Raft RPC (herd-raft's own encoding follows).
pub(crate) const CHANNEL_RAFT: u8 = 0;
/// Payload channel: a [`ClusterMsg`].
pub(crate) const CHANNEL_CLUSTER: u8 = 1;
/// Version of the cluster messages.
const CLUSTER_VERSION: u8 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ClusterMsg {
    /// "I am here": formation (wait-for-all) and reachability for the election guard.
    Hello {
        cluster: String,
        node: String,
        initialized: bool,
    },
    /// A node asks the DC to renew its lease.
    Renew {
        node: String,
        incarnation: u64,
        seq: u64,
    },
    /// An admin request that only the leader can carry out (herd-api JSON: its enums are
    /// internally tagged, which postcard cannot encode).
    Admin(String),
    /// A node leaving gracefully asks the DC to commit it `left` (agent/leave.rs).
    Leave { node: String, incarnation: u64 },
    /// The DC tells a node it removed from the cluster (agent/removed.rs).
    Removed { dc: String },
    /// A node's executor results, for the DC to record (records.rs).
    OpReports(Vec<crate::records::OpReport>),
    /// A renewal from a node that must not hold a lease (its Raft log could not be written):
    /// the DC refuses it and records no renewal (health.rs). A DC that predates this variant
    /// cannot decode it and refuses too.
    RenewUnhealthy {
        node: String,
        incarnation: u64,
        seq: u64,
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ClusterReply {
    /// `has_leader`: the answering node heard from a fresh DC very recently (it would refuse
    /// to vote for a challenger; the asker then does not campaign, like Pre-Vote).
    Hello {
        node: String,
        initialized: bool,
        has_leader: bool,
    },
    /// `granted` is false when the answering node is not a fresh DC.
    Lease {
        dc_epoch: Option<DcEpoch>,
        granted: bool,
        seq: u64,
    },
    /// herd-api JSON.
    Admin(String),
    Refused(String),
    /// The asker was removed from the cluster by the DC `dc` (answer to its hello or renewal).
    Removed {
        dc: String,
    },
    /// Done (a leave committed, a removal notice taken).
    Done,
    /// The DC recorded the reported results (this many commands).
    Recorded(u32),
}

pub(crate) fn encode_cluster<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![CHANNEL_CLUSTER, CLUSTER_VERSION];
    out.extend(postcard::to_allocvec(value).expect("cluster messages always serialize"));
    out
}

/// Decodes the bytes after the channel byte.
pub(crate) fn decode_cluster<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    match body.split_first() {
        Some((&CLUSTER_VERSION, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((version, _)) => Err(format!(
            "cluster message version {version}, expected {CLUSTER_VERSION}"
        )),
        None => Err("empty cluster message".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_cluster::<ClusterMsg>(&[]).is_err());
        assert!(decode_cluster::<ClusterMsg>(&[9, 1, 2]).is_err());
        assert!(decode_cluster::<ClusterMsg>(&[CLUSTER_VERSION, 0xff, 0xff, 0xff]).is_err());
        let bytes = encode_cluster(&ClusterMsg::Renew {
            node: "n1".into(),
            incarnation: 3,
            seq: 9,
        });
        assert_eq!(bytes[0], CHANNEL_CLUSTER);
        assert!(matches!(
            decode_cluster::<ClusterMsg>(&bytes[1..]),
            Ok(ClusterMsg::Renew {
                incarnation: 3,
                seq: 9,
                ..
            })
        ));
    }
}
