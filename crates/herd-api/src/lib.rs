//! The admin API of `herd agent`: what an operator can ask and what comes back.
//!
//! One definition shared by the CLI (client) and the daemon (server). The wire format is one
//! JSON object per line on the agent's Unix socket ([`encode_line`]); the socket itself is the
//! daemon's and the CLI's business. PURE: serde types and functions on strings only.

use std::collections::BTreeMap;

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
    /// Remove a node from the membership. Refused while the node is online, suspect or lost
    /// (it may run resources) unless `force`.
    NodeRemove {
        name: String,
        #[serde(default)]
        force: bool,
    },
    /// Replace the replicated configuration (CIB XML).
    SetCib { xml: String },
    /// The replicated configuration (CIB XML).
    GetCib,
    /// Set (or, with no value, delete) a node attribute; `node` None means the answering node.
    SetNodeAttr {
        node: Option<String>,
        name: String,
        value: Option<String>,
    },
    /// Clear the fail counts of a resource (all when None) on a node (all when None), as one
    /// committed command (`herd cleanup`).
    ClearFailCounts {
        resource: Option<String>,
        node: Option<String>,
    },
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
// One response per request, built once and sent: boxing the status would save nothing.
#[allow(clippy::large_enum_variant)]
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
    /// The last recorded operation change of each resource on each node.
    #[serde(default)]
    pub resources: Vec<ResourceStatus>,
    /// Fail counts with their last failure (`herd failcount`, `herd cleanup`).
    #[serde(default)]
    pub failures: Vec<FailureStatus>,
    /// node -> attribute -> value (`herd attribute`).
    #[serde(default)]
    pub node_attributes: BTreeMap<String, BTreeMap<String, String>>,
    /// The nodes in the current storage epoch (`storage_epoch`).
    #[serde(default)]
    pub storage_members: Vec<String>,
    /// The answering node's Raft storage: health, free space, log fsync latency.
    #[serde(default)]
    pub disk: Option<DiskStatus>,
}

/// The answering node's Raft storage (`herd status --json`: `disk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskStatus {
    pub data_dir: String,
    /// False once a write to the Raft log failed (disk full or I/O error): the node holds no
    /// lease until the agent restarts with room.
    pub healthy: bool,
    /// Why the node is unhealthy (names the file and the data directory).
    pub problem: Option<String>,
    /// Free space of the file system holding data_dir, in MiB.
    pub free_mb: Option<u64>,
    /// Admin writes are refused below this (`[storage] min_free_mb`; 0: never).
    pub min_free_mb: u64,
    /// p99 of the Raft log's write + fsync over the last 30 s; null without writes.
    pub fsync_p99_ms: Option<f64>,
    /// The p99 is above `fsync_slow_threshold_ms` (a tenth of the election timeout).
    pub fsync_slow: bool,
    pub fsync_slow_threshold_ms: u64,
}

impl DiskStatus {
    /// One line for `herd status`: unhealthy (and why), slow, or healthy, with free space and
    /// the log's fsync p99.
    pub fn summary(&self) -> String {
        let free = self
            .free_mb
            .map(|mb| format!("{mb} MiB free in {}", self.data_dir))
            .unwrap_or_else(|| format!("free space of {} unknown", self.data_dir));
        let p99 = self
            .fsync_p99_ms
            .map(|ms| format!("log fsync p99 {ms:.1} ms"))
            .unwrap_or_else(|| "no recent log writes".to_string());
        let low = match self.free_mb {
            Some(mb) if self.min_free_mb > 0 && mb < self.min_free_mb => format!(
                " (below min_free_mb {}: admin writes refused)",
                self.min_free_mb
            ),
            _ => String::new(),
        };
        match &self.problem {
            Some(problem) => format!("UNHEALTHY: {problem}; {free}"),
            None if self.fsync_slow => format!(
                "SLOW: {p99} (above {} ms); {free}{low}",
                self.fsync_slow_threshold_ms
            ),
            None => format!("healthy, {free}{low}, {p99}"),
        }
    }
}

/// The last recorded operation change of one resource on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceStatus {
    pub resource: String,
    pub node: String,
    /// "started" | "stopped" | "failed", from the operation and its rc.
    pub state: String,
    /// The operation as `ACTION_INTERVALMS`: "monitor_0" (a probe), "stop_0", ...
    pub op: String,
    /// The OCF return code.
    pub rc: i32,
    pub exit_reason: Option<String>,
    /// The DC epoch that recorded it (`TERM.LEADER`).
    pub dc_epoch: String,
}

/// The fail count of one operation of a resource on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureStatus {
    pub resource: String,
    pub node: String,
    pub op: String,
    pub count: u32,
    /// Seconds since the Unix epoch.
    pub last_failure_s: i64,
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
    fn disk_summary_says_why_a_node_is_unhealthy() {
        let mut disk = DiskStatus {
            data_dir: "/var/lib/herd".into(),
            healthy: true,
            problem: None,
            free_mb: Some(10),
            min_free_mb: 64,
            fsync_p99_ms: Some(0.25),
            fsync_slow: false,
            fsync_slow_threshold_ms: 40,
        };
        let line = disk.summary();
        assert!(
            line.starts_with("healthy, 10 MiB free in /var/lib/herd"),
            "{line}"
        );
        assert!(line.contains("admin writes refused"), "{line}");
        disk.problem = Some("disk full: cannot write /var/lib/herd/raft/log".into());
        assert!(disk.summary().starts_with("UNHEALTHY: disk full"));
    }

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

    #[test]
    fn new_requests_have_kebab_case_names() {
        let line = encode_line(&Request::ClearFailCounts {
            resource: Some("web".into()),
            node: None,
        });
        assert!(line.contains("\"request\":\"clear-fail-counts\""), "{line}");
        let line = encode_line(&Request::SetNodeAttr {
            node: None,
            name: "site".into(),
            value: Some("a".into()),
        });
        assert!(line.contains("\"request\":\"set-node-attr\""), "{line}");
    }

    #[test]
    fn status_from_an_older_agent_still_decodes() {
        let old = r#"{"cluster":"c","local":"n1","dc":null,"quorate":false,"dc_epoch":null,
            "term":0,"lease":false,"forming":true,"config_epoch":0,"storage_epoch":0,"nodes":[]}"#;
        let status: ClusterStatus = serde_json::from_str(old).unwrap();
        assert!(status.resources.is_empty() && status.node_attributes.is_empty());
    }
}
