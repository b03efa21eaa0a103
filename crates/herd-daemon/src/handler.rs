//! The glue between herd-rpc and the agent: the [`herd_rpc::Handler`] that dispatches incoming
//! payloads by channel byte (Raft RPCs to herd-raft, cluster messages to the agent), and the
//! [`herd_raft::RaftTransport`] that sends Raft RPCs over herd-rpc.
//!
//! Garbage and messages from another cluster are refused with one log line and change
//! nothing. I/O: herd-rpc's calls.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use herd_raft::{BoxFuture, Consensus, HerdNode, NetError, RaftTransport};

use crate::agent::Agent;
use crate::wire::{self, CHANNEL_CLUSTER, CHANNEL_RAFT, ClusterMsg, ClusterReply};

/// Serves peers' messages once the agent exists (it is created after the transport).
#[derive(Default)]
pub(crate) struct RpcHandler {
    pub(crate) agent: OnceLock<Arc<Agent>>,
}

impl herd_rpc::Handler for RpcHandler {
    fn handle(&self, from: &str, payload: Bytes) -> herd_rpc::BoxFuture<'_, Option<Bytes>> {
        let from = from.to_string();
        Box::pin(async move {
            let agent = self.agent.get()?.clone();
            match payload.split_first() {
                Some((&CHANNEL_RAFT, body)) => {
                    Some(Bytes::from(agent.consensus.handle_rpc(body.to_vec()).await))
                }
                Some((&CHANNEL_CLUSTER, body)) => {
                    let reply = match wire::decode_cluster::<ClusterMsg>(body) {
                        Ok(msg) => handle_cluster(&agent, &from, msg).await,
                        Err(e) => {
                            tracing::warn!(peer = %from, error = %e, "refused an undecodable message");
                            ClusterReply::Refused(e)
                        }
                    };
                    Some(Bytes::from(wire::encode_cluster(&reply)))
                }
                _ => {
                    tracing::warn!(peer = %from, "refused a message on an unknown channel");
                    None
                }
            }
        })
    }
}

async fn handle_cluster(agent: &Arc<Agent>, from: &str, msg: ClusterMsg) -> ClusterReply {
    match msg {
        ClusterMsg::Hello {
            cluster,
            node,
            initialized,
        } => {
            if cluster != agent.config.cluster || node != from {
                tracing::warn!(peer = %from, %cluster, %node, "refused a hello that does not match");
                return ClusterReply::Refused("cluster or node name mismatch".to_string());
            }
            if let Some(removed) = agent.removed_reply(&node, initialized) {
                return removed;
            }
            let status = agent.consensus.status();
            let has_leader = agent.dc_fresh(&status) || agent.leader_in_touch(&status);
            ClusterReply::Hello {
                node: agent.name.clone(),
                initialized: status.initialized,
                has_leader,
            }
        }
        ClusterMsg::Renew {
            node,
            incarnation,
            seq,
        } => {
            if node != from {
                return ClusterReply::Refused("renewal for another node".to_string());
            }
            agent
                .removed_reply(&node, true)
                .unwrap_or_else(|| agent.handle_renew(&node, incarnation, seq))
        }
        ClusterMsg::Admin(json) => {
            let response = match herd_api::decode_line::<herd_api::Request>(&json) {
                Ok(request) => crate::admin::on_leader(agent, request).await,
                Err(e) => herd_api::Response::Error {
                    message: format!("bad forwarded request: {e}"),
                },
            };
            ClusterReply::Admin(herd_api::encode_line(&response))
        }
        ClusterMsg::Leave { node, incarnation } if node == from => {
            agent.handle_leave(&node, incarnation).await
        }
        ClusterMsg::Leave { .. } => ClusterReply::Refused("leave for another node".to_string()),
        ClusterMsg::Removed { dc } if dc == from && agent.removal_notice_counts(&dc) => {
            agent.learn_removed(&dc);
            ClusterReply::Done
        }
        ClusterMsg::Removed { .. } => ClusterReply::Refused(
            "a removal notice counts only from this node's current DC, naming itself".to_string(),
        ),
        ClusterMsg::OpReports(reports) => {
            crate::records::handle_reports(agent, from, reports).await
        }
        ClusterMsg::RenewUnhealthy {
            node, seq, reason, ..
        } if node == from => agent.handle_unhealthy_renew(&node, &reason, seq),
        ClusterMsg::RenewUnhealthy { .. } => {
            ClusterReply::Refused("renewal for another node".to_string())
        }
    }
}

/// Raft RPCs over herd-rpc, on [`CHANNEL_RAFT`].
pub(crate) struct RpcRaftTransport {
    pub(crate) transport: OnceLock<herd_rpc::Transport>,
}

impl RaftTransport for RpcRaftTransport {
    fn call(
        &self,
        peer: &HerdNode,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<u8>, NetError>> {
        let name = peer.name.clone();
        Box::pin(async move {
            let Some(transport) = self.transport.get() else {
                return Err(NetError::Unreachable {
                    peer: name,
                    message: "transport not started".into(),
                });
            };
            let mut framed = Vec::with_capacity(payload.len() + 1);
            framed.push(CHANNEL_RAFT);
            framed.extend_from_slice(&payload);
            match transport.call(&name, Bytes::from(framed), timeout).await {
                Ok(reply) => Ok(reply.to_vec()),
                Err(herd_rpc::RpcError::Timeout { timeout_ms, .. }) => Err(NetError::Timeout {
                    peer: name,
                    timeout_ms,
                }),
                Err(e) => Err(NetError::Unreachable {
                    peer: name,
                    message: e.to_string(),
                }),
            }
        })
    }
}
