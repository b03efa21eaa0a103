//! [`Transport`]: starts the listeners and the outbound links, and offers `call`, `send`,
//! `links` and `shutdown` to the rest of herd.
//!
//! I/O: binds TCP listeners and spawns the tasks of `server` and `link` on the current
//! tokio runtime; every task ends when the transport is shut down or dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinSet};

use crate::frame::{self, Kind};
use crate::key::ClusterKey;
use crate::link::{self, PeerState, Reply};
use crate::server::{self, RefusalLog};
use crate::session;
use crate::{Handler, LinkStatus, Peer, RpcError, TransportConfig};

/// State shared by every task of one transport.
pub(crate) struct Shared {
    pub(crate) local: String,
    pub(crate) key: ClusterKey,
    pub(crate) prologue: Vec<u8>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) link_ping: Duration,
    pub(crate) link_timeout: Duration,
    pub(crate) frame_bytes_max: usize,
    pub(crate) refusals: RefusalLog,
    peers: RwLock<HashMap<String, Arc<PeerState>>>,
}

impl Shared {
    pub(crate) fn is_peer(&self, name: &str) -> bool {
        self.peers
            .read()
            .expect("peers lock is never poisoned")
            .contains_key(name)
    }

    /// The peer just connected to us: our links to it that are down redial at once.
    pub(crate) fn peer_reached_us(&self, name: &str) {
        if let Ok(state) = self.peer(name) {
            state.redial_now();
        }
    }

    fn peer(&self, name: &str) -> Result<Arc<PeerState>, RpcError> {
        self.peers
            .read()
            .expect("peers lock is never poisoned")
            .get(name)
            .cloned()
            .ok_or_else(|| RpcError::UnknownPeer {
                peer: name.to_string(),
            })
    }
}

/// The node-to-node transport of one node. Cheap to clone; all clones share one set of
/// connections. Dropping the last clone (or [`Transport::shutdown`]) ends every task.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    tasks: Mutex<Tasks>,
    local_addrs: Vec<SocketAddr>,
}

struct Tasks {
    set: JoinSet<()>,
    links: HashMap<String, Vec<AbortHandle>>,
    shut_down: bool,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("local", &self.inner.shared.local)
            .field("listen", &self.inner.local_addrs)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Binds `config.listen` and starts connecting to every peer. Must run inside a tokio
    /// runtime. When some but not all addresses can be bound (a link's interface is not up
    /// yet), the transport starts on the others and retries the missing ones every
    /// [`REBIND_INTERVAL_MS`]; when none can be bound it fails.
    pub async fn start(
        config: TransportConfig,
        handler: Arc<dyn Handler>,
    ) -> Result<Transport, RpcError> {
        let mut listeners = Vec::with_capacity(config.listen.len());
        let mut missing = Vec::new();
        for addr in &config.listen {
            match TcpListener::bind(addr).await {
                Ok(listener) => listeners.push(listener),
                Err(source) => missing.push(RpcError::Bind {
                    addr: *addr,
                    source,
                }),
            }
        }
        if listeners.is_empty() && !missing.is_empty() {
            return Err(missing.swap_remove(0));
        }
        let transport = Transport::start_on(config, listeners, handler)?;
        for err in missing {
            let RpcError::Bind { addr, .. } = err else {
                continue;
            };
            tracing::warn!(error = %err, "link address not available yet; the other link serves, retrying");
            let shared = transport.inner.shared.clone();
            let mut tasks = transport
                .inner
                .tasks
                .lock()
                .expect("tasks lock is never poisoned");
            tasks.set.spawn(rebind(shared, addr));
        }
        Ok(transport)
    }

    /// Like [`Transport::start`] on listeners bound by the caller (tests bind port 0 first
    /// so every node's address is known before any transport starts); `config.listen` is
    /// ignored.
    pub fn start_on(
        config: TransportConfig,
        listeners: Vec<TcpListener>,
        handler: Arc<dyn Handler>,
    ) -> Result<Transport, RpcError> {
        config.check()?;
        let local_addrs = listeners
            .iter()
            .filter_map(|listener| listener.local_addr().ok())
            .collect();
        let shared = Arc::new(Shared {
            prologue: session::prologue(&config.cluster),
            local: config.local,
            key: config.key,
            handler,
            link_ping: config.link_ping,
            link_timeout: config.link_timeout,
            frame_bytes_max: config.frame_bytes_max,
            refusals: RefusalLog::default(),
            peers: RwLock::new(HashMap::new()),
        });
        let mut tasks = Tasks {
            set: JoinSet::new(),
            links: HashMap::new(),
            shut_down: false,
        };
        for listener in listeners {
            tasks.set.spawn(server::serve(shared.clone(), listener));
        }
        let transport = Transport {
            inner: Arc::new(Inner {
                shared,
                tasks: Mutex::new(tasks),
                local_addrs,
            }),
        };
        transport.set_peers(config.peers);
        Ok(transport)
    }

    /// The addresses actually listened on (useful after binding port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.local_addrs
    }

    /// This node's name.
    pub fn local_name(&self) -> &str {
        &self.inner.shared.local
    }

    /// Replaces the peer list (after `herd node add` / `remove`): new peers get links,
    /// removed peers' links close and their inbound connections are refused from now on.
    /// A peer whose addresses changed is reconnected.
    pub fn set_peers(&self, peers: Vec<Peer>) {
        let shared = &self.inner.shared;
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .expect("tasks lock is never poisoned");
        if tasks.shut_down {
            return;
        }
        let mut table = shared.peers.write().expect("peers lock is never poisoned");
        let wanted: HashMap<&str, &Peer> = peers
            .iter()
            .filter(|peer| peer.name != shared.local)
            .map(|peer| (peer.name.as_str(), peer))
            .collect();
        table.retain(|name, state| {
            let keep = wanted.get(name.as_str()).is_some_and(|peer| {
                state
                    .links
                    .iter()
                    .map(|link| link.addr)
                    .eq(peer.addrs.iter().copied())
            });
            if !keep {
                state.retire();
                for handle in tasks.links.remove(name).unwrap_or_default() {
                    handle.abort();
                }
            }
            keep
        });
        for (name, peer) in wanted {
            if table.contains_key(name) {
                continue;
            }
            let state = Arc::new(PeerState::new(name, &peer.addrs));
            let handles = state
                .links
                .iter()
                .map(|link| {
                    tasks
                        .set
                        .spawn(link::run_link(shared.clone(), state.clone(), link.clone()))
                })
                .collect();
            tasks.links.insert(name.to_string(), handles);
            table.insert(name.to_string(), state);
        }
        // Reap finished tasks so the set does not grow with peer churn.
        while tasks.set.try_join_next().is_some() {}
    }

    /// Sends `payload` to `peer`'s handler and waits for its answer, at most `timeout`.
    /// While a link is still connecting (just after start) the call waits for it within
    /// the timeout; when every link's last attempt failed it fails at once with
    /// [`RpcError::NotConnected`]. A request already written is not sent again on another
    /// link (the caller decides whether to retry).
    pub async fn call(
        &self,
        peer: &str,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, RpcError> {
        let state = self.inner.shared.peer(peer)?;
        self.check_len(payload.len())?;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        match tokio::time::timeout(timeout, self.call_inner(&state, payload)).await {
            Ok(result) => result,
            Err(_) => Err(RpcError::Timeout {
                peer: peer.to_string(),
                timeout_ms,
                detail: if state.best_conn().is_some() {
                    "no answer".to_string()
                } else {
                    format!("no link up: {}", state.down_detail())
                },
            }),
        }
    }

    async fn call_inner(&self, state: &PeerState, payload: Bytes) -> Result<Bytes, RpcError> {
        let _slot = state
            .inflight
            .acquire()
            .await
            .map_err(|_| RpcError::Shutdown)?;
        let mut changed = state.changed.subscribe();
        loop {
            if state.gone.load(Ordering::Relaxed) {
                return Err(RpcError::UnknownPeer {
                    peer: state.name.clone(),
                });
            }
            let Some(conn) = state.best_conn() else {
                // Every link failed its last attempt: the peer is known unreachable, say so
                // now (Raft backs off on this) rather than at the timeout.
                if state.all_links_down() {
                    return Err(RpcError::NotConnected {
                        peer: state.name.clone(),
                        detail: state.down_detail(),
                    });
                }
                changed.changed().await.map_err(|_| RpcError::Shutdown)?;
                continue;
            };
            let Some((id, reply)) = conn.register() else {
                continue;
            };
            if !conn
                .enqueue(frame::encode_message(Kind::Request, id, &payload))
                .await
            {
                conn.forget(id);
                // The connection died before the request left: another link may take it.
                tokio::task::yield_now().await;
                continue;
            }
            let _forget = ForgetOnDrop { conn: &conn, id };
            return match reply.await {
                Ok(Reply::Data(bytes)) => Ok(bytes),
                Ok(Reply::NoReply) => Err(RpcError::NoReply {
                    peer: state.name.clone(),
                }),
                Err(_) => Err(RpcError::ConnectionLost {
                    peer: state.name.clone(),
                }),
            };
        }
    }

    /// Queues a one-way message to `peer` over its best link, without waiting. Best
    /// effort: fails at once when no link is up or the queue is full.
    pub fn send(&self, peer: &str, payload: Bytes) -> Result<(), RpcError> {
        let state = self.inner.shared.peer(peer)?;
        self.check_len(payload.len())?;
        let conn = state.best_conn().ok_or_else(|| RpcError::NotConnected {
            peer: peer.to_string(),
            detail: state.down_detail(),
        })?;
        conn.try_enqueue(frame::encode_message(Kind::OneWay, 0, &payload))
            .map_err(|err| match err {
                tokio::sync::mpsc::error::TrySendError::Full(_) => RpcError::QueueFull {
                    peer: peer.to_string(),
                },
                tokio::sync::mpsc::error::TrySendError::Closed(_) => RpcError::NotConnected {
                    peer: peer.to_string(),
                    detail: "the connection just closed".to_string(),
                },
            })
    }

    /// The state of every link to every peer, sorted by peer and link.
    pub fn links(&self) -> Vec<LinkStatus> {
        let peers = self
            .inner
            .shared
            .peers
            .read()
            .expect("peers lock is never poisoned");
        let mut out: Vec<LinkStatus> = peers.values().flat_map(|peer| peer.statuses()).collect();
        out.sort_by(|a, b| (&a.peer, a.link).cmp(&(&b.peer, b.link)));
        out
    }

    /// Whether at least one link to `peer` is up.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.inner
            .shared
            .peer(peer)
            .is_ok_and(|state| state.best_conn().is_some())
    }

    /// Stops listening, closes every connection and ends every task. Calls in progress
    /// fail; later calls fail with "unknown peer".
    pub fn shutdown(&self) {
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .expect("tasks lock is never poisoned");
        tasks.shut_down = true;
        let mut peers = self
            .inner
            .shared
            .peers
            .write()
            .expect("peers lock is never poisoned");
        for state in peers.values() {
            state.retire();
        }
        peers.clear();
        tasks.links.clear();
        tasks.set.abort_all();
    }

    fn check_len(&self, len: usize) -> Result<(), RpcError> {
        let max = self.inner.shared.frame_bytes_max;
        if len > max {
            Err(RpcError::TooLarge { len, max })
        } else {
            Ok(())
        }
    }
}

/// A listen address that could not be bound is retried this often.
pub const REBIND_INTERVAL_MS: u64 = 2000;

/// Retries binding `addr` until it works, then serves it.
async fn rebind(shared: Arc<Shared>, addr: SocketAddr) {
    loop {
        tokio::time::sleep(Duration::from_millis(REBIND_INTERVAL_MS)).await;
        if let Ok(listener) = TcpListener::bind(addr).await {
            tracing::info!(%addr, "listening on the link address now");
            return server::serve(shared, listener).await;
        }
    }
}

struct ForgetOnDrop<'a> {
    conn: &'a link::Conn,
    id: u64,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.conn.forget(self.id);
    }
}
