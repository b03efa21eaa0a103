//! The admin API on the agent's Unix socket (`DATA_DIR/herd.sock`): one JSON request line in,
//! one JSON response line out (herd-api's types).
//!
//! The socket is mode 0600 (root), or 0660 with the configured `admin_group`. Requests that
//! change the cluster run on the leader: a follower forwards them over herd-rpc. I/O: the
//! socket here; cluster calls through the agent.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use herd_api::{ClusterStatus, LinkStatus, NodeStatus, Request, RequestEnvelope, Response};
use herd_raft::{Command, Consensus, HerdNode};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::AgentError;
use crate::agent::{Agent, herd_node};
use crate::wire::{ClusterMsg, ClusterReply};

/// The longest request line accepted (a CIB fits easily).
const REQUEST_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Binds the admin socket with its permissions.
pub(crate) fn bind(path: &Path, admin_group: Option<&str>) -> Result<UnixListener, AgentError> {
    let io = |source| AgentError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(AgentError::AlreadyRunning {
                path: path.to_path_buf(),
            });
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    let mode = match admin_group {
        Some(group) => {
            let found = nix::unistd::Group::from_name(group).ok().flatten();
            let Some(found) = found else {
                return Err(AgentError::UnknownGroup {
                    group: group.to_string(),
                });
            };
            nix::unistd::chown(path, None, Some(found.gid))
                .map_err(|e| io(std::io::Error::from(e)))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    Ok(listener)
}

/// Serves admin connections until the process ends.
pub(crate) async fn serve(agent: Arc<Agent>, listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let agent = agent.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_one(&agent, stream).await {
                        tracing::debug!(error = %e, "admin connection ended");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "admin socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_one(agent: &Arc<Agent>, stream: UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(read, REQUEST_BYTES_MAX));
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let response = match herd_api::decode_line::<RequestEnvelope>(&line) {
        Ok(envelope) if envelope.version == herd_api::API_VERSION => {
            handle(agent, envelope.request).await
        }
        Ok(envelope) => Response::Error {
            message: format!(
                "admin API version {} is not {}; use the herd binary matching the agent",
                envelope.version,
                herd_api::API_VERSION
            ),
        },
        Err(e) => Response::Error {
            message: format!("bad request: {e}"),
        },
    };
    write
        .write_all(herd_api::encode_line(&response).as_bytes())
        .await?;
    write.shutdown().await
}

/// Handles one request from the local socket.
async fn handle(agent: &Arc<Agent>, request: Request) -> Response {
    let request = crate::records::resolve_local(agent, request);
    match request {
        Request::Status => Response::Status(status(agent)),
        Request::GetCib => {
            let applied = agent.consensus.applied();
            Response::Cib {
                xml: applied.state.cib_xml.clone(),
                config_epoch: applied.state.config_epoch,
            }
        }
        Request::ClusterInit => cluster_init(agent).await,
        other => {
            let status = agent.consensus.status();
            match status.leader {
                Some(leader) if leader.name == agent.name => on_leader(agent, other).await,
                Some(leader) => forward(agent, &leader.name, other).await,
                None => Response::Error {
                    message: "no leader: the cluster has no quorum (see herd status)".to_string(),
                },
            }
        }
    }
}

async fn forward(agent: &Arc<Agent>, leader: &str, request: Request) -> Response {
    let timeout = Duration::from_secs(30);
    let msg = ClusterMsg::Admin(herd_api::encode_line(&request));
    match agent.call(leader, &msg, timeout).await {
        Ok(ClusterReply::Admin(json)) => {
            herd_api::decode_line(&json).unwrap_or_else(|e| Response::Error {
                message: format!("bad answer from {leader}: {e}"),
            })
        }
        Ok(other) => Response::Error {
            message: format!("unexpected answer from {leader}: {other:?}"),
        },
        Err(e) => Response::Error {
            message: format!("cannot reach the leader {leader}: {e}"),
        },
    }
}

/// Carries out a request that needs the leader (called on the leader).
pub(crate) async fn on_leader(agent: &Arc<Agent>, request: Request) -> Response {
    let done = |message: String| Response::Done { message };
    let error = |message: String| Response::Error { message };
    // Admission control (health.rs): no admin write on a short or failed disk.
    if let Err(message) = agent.admit_write() {
        return error(message);
    }
    match request {
        Request::NodeAdd {
            name,
            addrs,
            witness,
        } => {
            if let Some(bad) = addrs
                .iter()
                .find(|a| a.parse::<std::net::SocketAddr>().is_err())
            {
                return error(format!(
                    "{bad:?} is not an address with a port (e.g. 10.0.0.4:7400)"
                ));
            }
            let node = HerdNode {
                name: name.clone(),
                addrs,
                witness,
            };
            let mut peers: Vec<herd_rpc::Peer> = agent
                .peers()
                .into_iter()
                .map(|(name, addrs)| herd_rpc::Peer {
                    name,
                    addrs: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
                })
                .collect();
            peers.retain(|p| p.name != name);
            peers.push(herd_rpc::Peer {
                name: name.clone(),
                addrs: node.addrs.iter().filter_map(|a| a.parse().ok()).collect(),
            });
            agent.transport.set_peers(peers);
            match agent.consensus.add_node(node).await {
                Ok(()) => {
                    agent.forget_left(&name).await;
                    done(format!("node {name} added as a voter"))
                }
                Err(e) => error(format!("cannot add node {name}: {e}")),
            }
        }
        Request::NodeRemove { name, force } => {
            crate::agent::removed::node_remove(agent, name, force).await
        }
        Request::SetCib { xml } => match agent.consensus.propose(Command::SetCib { xml }).await {
            Ok(_) => done("configuration committed".to_string()),
            Err(e) => error(e.to_string()),
        },
        request @ (Request::SetNodeAttr { .. } | Request::ClearFailCounts { .. }) => {
            crate::records::on_leader(agent, request).await
        }
        Request::Status | Request::GetCib | Request::ClusterInit => {
            error("this request is answered by the local agent".to_string())
        }
    }
}

async fn cluster_init(agent: &Arc<Agent>) -> Response {
    if agent.consensus.status().initialized {
        return Response::Error {
            message: "the cluster is already formed".to_string(),
        };
    }
    if agent.init_started.load(Ordering::SeqCst) {
        return Response::Error {
            message: "the cluster is forming already".to_string(),
        };
    }
    // Every listed node becomes a voter when the nodes up now are a majority of them (the
    // others join as they start); otherwise only the nodes up now (add the rest later with
    // `herd node add`), so the new cluster has a quorum either way.
    let reachable = agent.reachable();
    let up = |n: &&herd_config::NodeConfig| n.name == agent.name || reachable.contains(&n.name);
    let n_up = agent.config.nodes.iter().filter(up).count();
    let voters: Vec<HerdNode> = if n_up * 2 > agent.config.nodes.len() {
        agent.config.nodes.iter().map(herd_node).collect()
    } else {
        agent
            .config
            .nodes
            .iter()
            .filter(up)
            .map(herd_node)
            .collect()
    };
    let names: Vec<String> = voters.iter().map(|n| n.name.clone()).collect();
    match agent.form(voters).await {
        None => Response::Done {
            message: format!("cluster formed with {}", names.join(", ")),
        },
        Some(e) => Response::Error { message: e },
    }
}

/// The cluster as this node sees it.
pub(crate) fn status(agent: &Agent) -> ClusterStatus {
    let raft = agent.consensus.status();
    let applied = agent.consensus.applied();
    let quorate = agent.dc_fresh(&raft) || agent.lease_valid();
    let dc = if quorate {
        raft.leader
            .as_ref()
            .filter(|l| !l.witness)
            .map(|l| l.name.clone())
    } else {
        None
    };
    let mut nodes: Vec<NodeStatus> = Vec::new();
    let mut add = |node: &HerdNode, role: &str| {
        if nodes.iter().any(|n| n.name == node.name) {
            return;
        }
        let record = applied.state.nodes.get(&node.name);
        let state = match record {
            _ if node.name == agent.name && agent.departure.is_removed() => "removed",
            Some(record) => record.state.as_str(),
            None => "offline",
        };
        nodes.push(NodeStatus {
            name: node.name.clone(),
            state: state.to_string(),
            incarnation: record.map(|r| r.incarnation).unwrap_or(0),
            role: role.to_string(),
            witness: node.witness,
            addrs: node.addrs.clone(),
        });
    };
    raft.voters.iter().for_each(|n| add(n, "voter"));
    raft.learners.iter().for_each(|n| add(n, "learner"));
    agent
        .config
        .nodes
        .iter()
        .for_each(|n| add(&herd_node(n), "none"));
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    ClusterStatus {
        cluster: agent.config.cluster.clone(),
        local: agent.name.clone(),
        dc,
        quorate,
        dc_epoch: if quorate {
            raft.dc_epoch.map(|e| e.to_string())
        } else {
            None
        },
        term: raft.term,
        lease: agent.lease_valid(),
        forming: !raft.initialized,
        config_epoch: applied.state.config_epoch,
        storage_epoch: applied.state.storage_epoch,
        nodes,
        links: links(agent),
        resources: crate::records::resource_status(&applied.state),
        failures: crate::records::failure_status(&applied.state),
        node_attributes: crate::records::node_attributes(&applied.state),
        storage_members: applied.state.storage_members.iter().cloned().collect(),
        disk: Some(agent.disk_status()),
    }
}

fn links(agent: &Agent) -> Vec<LinkStatus> {
    let state = |s: herd_rpc::LinkState| match s {
        herd_rpc::LinkState::Up => "up",
        herd_rpc::LinkState::Down => "down",
        herd_rpc::LinkState::Connecting => "connecting",
    };
    agent
        .transport
        .links()
        .into_iter()
        .map(|l| LinkStatus {
            peer: l.peer,
            link: l.link,
            addr: l.addr.to_string(),
            state: state(l.state).to_string(),
            rtt_us: l.rtt_us,
        })
        .collect()
}
