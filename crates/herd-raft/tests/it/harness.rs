//! A cluster of [`RaftNode`]s in one process over [`MemNet`], with their data in a temp dir.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use herd_raft::mem_net::{MemHandler, MemNet, Observer};
use herd_raft::{BoxFuture, Consensus, HerdNode, RaftConfig, RaftNode};

pub(crate) struct Handler(pub(crate) RaftNode);

impl MemHandler for Handler {
    fn handle(&self, _from: String, payload: Vec<u8>) -> BoxFuture<'_, Vec<u8>> {
        Box::pin(self.0.handle_rpc(payload))
    }
}

pub(crate) struct Cluster {
    pub(crate) net: MemNet,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) names: Vec<String>,
    pub(crate) nodes: Vec<Option<RaftNode>>,
    /// openraft's election timeouts (ms).
    pub(crate) election_ms: (u64, u64),
}

pub(crate) fn herd_node(name: &str) -> HerdNode {
    HerdNode {
        name: name.to_string(),
        addrs: vec![],
        witness: false,
    }
}

impl Cluster {
    pub(crate) async fn start(n: usize, seed: u64) -> Cluster {
        Cluster::start_with(n, seed, (400, 600)).await
    }

    pub(crate) async fn start_with(n: usize, seed: u64, election_ms: (u64, u64)) -> Cluster {
        Cluster::start_observed(n, seed, election_ms, None).await
    }

    /// A cluster whose every message, from the first, goes to `observer` too.
    pub(crate) async fn start_observed(
        n: usize,
        seed: u64,
        election_ms: (u64, u64),
        observer: Option<Observer>,
    ) -> Cluster {
        let names: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let net = MemNet::new(seed);
        if let Some(observer) = observer {
            net.observe(observer);
        }
        let mut cluster = Cluster {
            net,
            dir: tempfile::tempdir().unwrap(),
            names: names.clone(),
            nodes: vec![None; n],
            election_ms,
        };
        for i in 0..n {
            cluster.boot(i).await.unwrap();
        }
        let voters = names.iter().map(|n| herd_node(n)).collect();
        cluster.node(0).initialize(voters).await.unwrap();
        cluster
    }

    pub(crate) fn dir_of(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.names[i])
    }

    pub(crate) async fn boot(&mut self, i: usize) -> Result<(), herd_raft::ConsensusError> {
        let name = self.names[i].clone();
        let config = RaftConfig {
            cluster: "test".into(),
            node: herd_node(&name),
            dir: self.dir_of(i),
            heartbeat_ms: 100,
            election_timeout_min_ms: self.election_ms.0,
            election_timeout_max_ms: self.election_ms.1,
            snapshot_logs: 20,
        };
        let node = RaftNode::open(config, self.net.transport(&name)).await?;
        self.net.register(&name, Arc::new(Handler(node.clone())));
        self.nodes[i] = Some(node);
        Ok(())
    }

    pub(crate) async fn crash(&mut self, i: usize) {
        self.net.unregister(&self.names[i]);
        if let Some(node) = self.nodes[i].take() {
            node.shutdown().await;
        }
    }

    pub(crate) fn node(&self, i: usize) -> &RaftNode {
        self.nodes[i].as_ref().expect("node is up")
    }

    /// The index of the node every live node agrees is the leader, waiting up to `limit`.
    pub(crate) async fn leader(&self, limit: Duration) -> Option<usize> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            for (i, node) in self.nodes.iter().enumerate() {
                if let Some(node) = node
                    && node.status().is_leader
                {
                    return Some(i);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}
