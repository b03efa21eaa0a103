//! The admin API of `herd agent`: what an operator can ask and what comes back.
//!
//! One definition shared by the CLI (client) and the daemon (server). The wire format is one
//! JSON object per line on the agent's Unix socket ([`encode_line`]); the socket itself is the
//! daemon's and the CLI's business. PURE: serde types and functions on strings only.

use serde::{Deserialize, Serialize};

/// The admin socket's file name inside the agent's data directory.
pub const SOCKET_FILE_NAME: &str = "herd.sock";
/// Version of this API; a request with another version is refused.
pub const API_VERSION: u32 = 1;

/// One request to the local agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// The cluster as this node sees it.
    Status,
    /// Form the cluster now with the nodes seen so far (skip wait-for-all).
    ClusterInit,
    /// Add a node: learner first, then voter.
    NodeAdd {
        name: String,
        addrs: Vec<String>,
        witness: bool,
    },
    /// Remove a node from the membership.
    NodeRemove { name: String },
    /// Replace the replicated configuration (CIB XML).
    SetCib { xml: String },
    /// The replicated configuration (CIB XML).
    GetCib,
}

/// The envelope on the wire: a version and the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    pub version: u32,
    #[serde(flatten)]
    pub request: Request,
}

/// The agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Response {
    Status(ClusterStatus),
    Done { message: String },
    Cib { xml: String, config_epoch: u64 },
    Error { message: String },
}

/// `herd status --json`: exactly these names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub cluster: String,
    /// The node answering.
    pub local: String,
    /// The DC (Raft leader with a fresh quorum), as this node knows it; null without quorum.
    pub dc: Option<String>,
    pub quorate: bool,
    /// The DC epoch (`TERM.LEADER`), when there is a DC.
    pub dc_epoch: Option<String>,
    pub term: u64,
    /// Whether this node holds a valid node lease.
    pub lease: bool,
    /// Set until the cluster has formed (wait-for-all or `herd cluster init`).
    pub forming: bool,
    pub config_epoch: u64,
    pub storage_epoch: u64,
    pub nodes: Vec<NodeStatus>,
    /// This node's links to its peers.
    #[serde(default)]
    pub links: Vec<LinkStatus>,
}

/// One link from the answering node to a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    pub peer: String,
    /// 0 for the peer's first address, 1 for its second.
    pub link: usize,
    pub addr: String,
    /// "up" | "down" | "connecting"
    pub state: String,
    pub rtt_us: Option<u64>,
}

/// One node in [`ClusterStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub name: String,
    /// "online" | "suspect" | "lost" | "offline" | "left" | "unknown"
    pub state: String,
    pub incarnation: u64,
    /// "voter" | "learner" | "none"
    pub role: String,
    pub witness: bool,
    pub addrs: Vec<String>,
}

/// Encodes a value as one JSON line (with the trailing newline).
pub fn encode_line<T: Serialize>(value: &T) -> String {
    let mut line = serde_json::to_string(value).expect("API types always serialize to JSON");
    line.push('\n');
    line
}

/// Decodes one JSON line.
pub fn decode_line<T: for<'de> Deserialize<'de>>(line: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_round_trips() {
        let envelope = RequestEnvelope {
            version: API_VERSION,
            request: Request::NodeAdd {
                name: "n4".into(),
                addrs: vec!["10.0.0.4:7400".into()],
                witness: false,
            },
        };
        let line = encode_line(&envelope);
        assert!(line.contains("\"request\":\"node-add\""), "{line}");
        assert_eq!(decode_line::<RequestEnvelope>(&line).unwrap(), envelope);
    }
}
