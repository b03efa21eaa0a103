//! How herd-raft talks to peers: our own [`RaftTransport`] trait (the daemon implements it on
//! herd-rpc; the simulation on [`crate::mem_net`]), openraft's network factory on top of it,
//! and the versioned encoding of Raft RPCs.
//!
//! Payloads are opaque bytes to the transport: one version byte, then postcard. The serving
//! side is [`crate::RaftNode::handle_rpc`]. No sockets here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};

use crate::types::{HerdNode, TypeConfig};

/// A boxed, sendable future (what [`RaftTransport`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The version byte in front of every Raft RPC payload.
pub(crate) const RPC_VERSION: u8 = 1;

/// Why a call to a peer failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetError {
    #[error("peer {peer} unreachable: {message}")]
    Unreachable { peer: String, message: String },
    #[error("peer {peer} did not answer within {timeout_ms} ms")]
    Timeout { peer: String, timeout_ms: u64 },
}

/// Request/response to a named peer; what herd-raft needs from a transport.
pub trait RaftTransport: Send + Sync + 'static {
    /// Sends `payload` to `peer` and returns its reply.
    fn call(
        &self,
        peer: &HerdNode,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<u8>, NetError>>;
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RaftRequest {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<u64>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RaftReply {
    Append(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    Snapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    /// The request could not be decoded (version or garbage).
    Refused(String),
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![RPC_VERSION];
    out.extend(postcard::to_allocvec(value).expect("raft messages always serialize"));
    out
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&RPC_VERSION, rest)) => postcard::from_bytes(rest).map_err(|e| e.to_string()),
        Some((version, _)) => Err(format!(
            "raft rpc version {version}, expected {RPC_VERSION}"
        )),
        None => Err("empty raft rpc".to_string()),
    }
}

/// openraft's network factory over a [`RaftTransport`].
pub(crate) struct NetFactory {
    pub(crate) transport: Arc<dyn RaftTransport>,
}

pub(crate) struct NetClient {
    transport: Arc<dyn RaftTransport>,
    target: u64,
    node: HerdNode,
}

impl RaftNetworkFactory<TypeConfig> for NetFactory {
    type Network = NetClient;

    async fn new_client(&mut self, target: u64, node: &HerdNode) -> NetClient {
        NetClient {
            transport: self.transport.clone(),
            target,
            node: node.clone(),
        }
    }
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, HerdNode, RaftError<u64, E>>>;

// The error types are openraft's (its `RaftNetwork` trait fixes them), large as they are.
#[allow(clippy::result_large_err)]
impl NetClient {
    async fn roundtrip<E: std::error::Error>(
        &self,
        request: RaftRequest,
        option: &RPCOption,
    ) -> Result<RaftReply, RPCError<u64, HerdNode, RaftError<u64, E>>> {
        let payload = encode(&request);
        let reply = self
            .transport
            .call(&self.node, payload, option.hard_ttl())
            .await
            .map_err(|e| match e {
                NetError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                NetError::Timeout { .. } => RPCError::Network(NetworkError::new(&e)),
            })?;
        decode(&reply).map_err(|message| {
            RPCError::Network(NetworkError::new(&std::io::Error::other(message)))
        })
    }

    fn unexpected<E: std::error::Error>(
        reply: RaftReply,
    ) -> RPCError<u64, HerdNode, RaftError<u64, E>> {
        let message = format!("unexpected reply {reply:?}");
        RPCError::Network(NetworkError::new(&std::io::Error::other(message)))
    }

    fn remote<T, E: std::error::Error>(
        &self,
        result: Result<T, RaftError<u64, E>>,
    ) -> Result<T, RPCError<u64, HerdNode, RaftError<u64, E>>> {
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for NetClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        match self.roundtrip(RaftRequest::Append(rpc), &option).await? {
            RaftReply::Append(result) => self.remote(result),
            other => Err(Self::unexpected(other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        match self.roundtrip(RaftRequest::Snapshot(rpc), &option).await? {
            RaftReply::Snapshot(result) => self.remote(result),
            other => Err(Self::unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        match self.roundtrip(RaftRequest::Vote(rpc), &option).await? {
            RaftReply::Vote(result) => self.remote(result),
            other => Err(Self::unexpected(other)),
        }
    }

    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(100)))
    }
}
