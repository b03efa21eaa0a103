//! Outbound links: one task per (peer, address) that keeps an encrypted connection up,
//! pings it, reconnects with backoff, and hands the live connection to callers.
//!
//! A peer has one or two links, preferred in the order of its addresses (knet's passive
//! mode): calls and sends go over the first link that is up, so when the first address
//! dies, traffic moves to the second one as soon as the first is found dead (no traffic
//! for `link_timeout`) or refuses connections. I/O: dials TCP, runs the connection loops.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, oneshot, watch};

use crate::conn::{AbortOnDrop, FrameReader, Outbox, outbox, tune, write_loop};
use crate::frame::{self, Hello, Kind, Verdict};
use crate::session::{self, Session};
use crate::transport::Shared;
use crate::{LinkState, LinkStatus};

/// Calls in flight to one peer at most; more wait (within their timeout).
pub const INFLIGHT_PER_PEER_MAX: usize = 256;

/// Reconnect backoff bounds.
const BACKOFF_MIN_MS: u64 = 50;
const BACKOFF_MAX_MS: u64 = 1000;

/// A TCP connect plus handshake must finish within this.
pub(crate) const HANDSHAKE_TIMEOUT_MS: u64 = 2000;

/// A reply to a call.
pub(crate) enum Reply {
    Data(Bytes),
    NoReply,
}

/// One live outbound connection.
pub(crate) struct Conn {
    queue: Outbox,
    pending: Mutex<Pending>,
    next_id: AtomicU64,
}

struct Pending {
    closed: bool,
    waiting: HashMap<u64, oneshot::Sender<Reply>>,
}

impl Conn {
    fn new(queue: Outbox) -> Conn {
        Conn {
            queue,
            pending: Mutex::new(Pending {
                closed: false,
                waiting: HashMap::new(),
            }),
            next_id: AtomicU64::new(1),
        }
    }

    /// Registers a call; None when the connection already died.
    pub(crate) fn register(&self) -> Option<(u64, oneshot::Receiver<Reply>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut pending = self.pending.lock().expect("pending lock is never poisoned");
        if pending.closed {
            return None;
        }
        pending.waiting.insert(id, tx);
        Some((id, rx))
    }

    pub(crate) fn forget(&self, id: u64) {
        self.pending
            .lock()
            .expect("pending lock is never poisoned")
            .waiting
            .remove(&id);
    }

    fn complete(&self, id: u64, reply: Reply) {
        let waiter = self
            .pending
            .lock()
            .expect("pending lock is never poisoned")
            .waiting
            .remove(&id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        }
    }

    /// Ends every waiting call with "connection lost" and refuses new ones.
    fn close(&self) {
        let mut pending = self.pending.lock().expect("pending lock is never poisoned");
        pending.closed = true;
        pending.waiting.clear();
    }

    pub(crate) async fn enqueue(&self, plain: BytesMut) -> bool {
        self.queue.send(plain).await
    }

    pub(crate) fn try_enqueue(&self, plain: BytesMut) -> Result<(), TrySendError<BytesMut>> {
        self.queue.try_send(plain)
    }
}

/// One address of one peer.
pub(crate) struct Link {
    pub(crate) index: usize,
    pub(crate) addr: SocketAddr,
    pub(crate) conn: watch::Sender<Option<Arc<Conn>>>,
    status: Mutex<LinkStatusInner>,
    /// Cuts the redial backoff short (the peer just reached us, so it is back).
    wake: tokio::sync::Notify,
}

struct LinkStatusInner {
    state: LinkState,
    /// The last dial failed (as opposed to an established connection dropping, after
    /// which the link is redialed before callers are told it is unreachable).
    dial_failed: bool,
    rtt_us: Option<u64>,
    last_error: Option<String>,
    changes: u64,
}

/// What the transport knows of one peer.
pub(crate) struct PeerState {
    pub(crate) name: String,
    pub(crate) links: Vec<Arc<Link>>,
    /// Bumped whenever any link's connection appears or goes.
    pub(crate) changed: watch::Sender<u64>,
    pub(crate) inflight: Arc<Semaphore>,
    /// Set when the peer is removed or the transport shuts down.
    pub(crate) gone: AtomicBool,
}

impl PeerState {
    pub(crate) fn new(name: &str, addrs: &[SocketAddr]) -> PeerState {
        let links = addrs
            .iter()
            .enumerate()
            .map(|(index, addr)| {
                Arc::new(Link {
                    index,
                    addr: *addr,
                    conn: watch::Sender::new(None),
                    wake: tokio::sync::Notify::new(),
                    status: Mutex::new(LinkStatusInner {
                        state: LinkState::Connecting,
                        dial_failed: false,
                        rtt_us: None,
                        last_error: None,
                        changes: 0,
                    }),
                })
            })
            .collect();
        PeerState {
            name: name.to_string(),
            links,
            changed: watch::Sender::new(0),
            inflight: Arc::new(Semaphore::new(INFLIGHT_PER_PEER_MAX)),
            gone: AtomicBool::new(false),
        }
    }

    /// The live connection of the most preferred link that is up.
    pub(crate) fn best_conn(&self) -> Option<Arc<Conn>> {
        self.links
            .iter()
            .find_map(|link| link.conn.borrow().clone())
    }

    /// Whether every link is down and its last dial failed (none up, none connecting).
    pub(crate) fn all_links_down(&self) -> bool {
        self.links.iter().all(|link| {
            let status = link.status.lock().expect("status lock is never poisoned");
            status.state == LinkState::Down && status.dial_failed
        })
    }

    /// Why no link is up, for error messages: each link's last error.
    pub(crate) fn down_detail(&self) -> String {
        let parts: Vec<String> = self
            .links
            .iter()
            .map(|link| {
                let status = link.status.lock().expect("status lock is never poisoned");
                let why = status
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "connecting".to_string());
                format!("{}: {why}", link.addr)
            })
            .collect();
        parts.join("; ")
    }

    pub(crate) fn statuses(&self) -> Vec<LinkStatus> {
        self.links
            .iter()
            .map(|link| {
                let status = link.status.lock().expect("status lock is never poisoned");
                LinkStatus {
                    peer: self.name.clone(),
                    link: link.index,
                    addr: link.addr,
                    state: status.state,
                    rtt_us: status.rtt_us,
                    last_error: status.last_error.clone(),
                    changes: status.changes,
                }
            })
            .collect()
    }

    /// Redials every link that is down now, skipping its backoff: called when the peer
    /// has just connected to us, so it is up again (after a restart, say).
    pub(crate) fn redial_now(&self) {
        for link in &self.links {
            let mut status = link.status.lock().expect("status lock is never poisoned");
            if status.state != LinkState::Up {
                // Callers wait for this dial instead of failing at once.
                status.dial_failed = false;
                link.wake.notify_one();
            }
        }
    }

    /// The peer was removed or the transport shut down: calls waiting for a link or an
    /// answer end now (unknown peer, connection lost) instead of at their timeout.
    pub(crate) fn retire(&self) {
        self.gone.store(true, Ordering::Relaxed);
        for link in &self.links {
            if let Some(conn) = link.conn.send_replace(None) {
                conn.close();
            }
        }
        self.notify();
    }

    pub(crate) fn notify(&self) {
        self.changed.send_modify(|version| *version += 1);
    }
}

/// Keeps one link connected until the task is aborted.
pub(crate) async fn run_link(shared: Arc<Shared>, peer: Arc<PeerState>, link: Arc<Link>) {
    let mut backoff_ms = BACKOFF_MIN_MS;
    loop {
        let started = Instant::now();
        match dial(&shared, &peer, &link).await {
            Ok((stream, session)) => {
                let reason = run_connection(&shared, &peer, &link, stream, session).await;
                set_down(&peer, &link, reason, false);
                if started.elapsed() > Duration::from_millis(BACKOFF_MAX_MS) {
                    backoff_ms = BACKOFF_MIN_MS;
                }
            }
            Err(reason) => set_down(&peer, &link, reason, true),
        }
        if peer.gone.load(Ordering::Relaxed) {
            return;
        }
        let jitter_ms = u64::from(getrandom::u32().unwrap_or(0)) % (backoff_ms / 2 + 1);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(backoff_ms + jitter_ms)) => {
                backoff_ms = (backoff_ms * 2).min(BACKOFF_MAX_MS);
            }
            _ = link.wake.notified() => backoff_ms = BACKOFF_MIN_MS,
        }
    }
}

/// Connects and runs the handshake; the error is the one line to log.
async fn dial(
    shared: &Shared,
    peer: &PeerState,
    link: &Link,
) -> Result<(TcpStream, Arc<Session>), String> {
    let attempt = async {
        let mut stream = TcpStream::connect(link.addr)
            .await
            .map_err(|err| err.to_string())?;
        tune(&stream);
        let hello = Hello {
            from: shared.local.clone(),
            to: peer.name.clone(),
            link: u8::try_from(link.index).expect("at most two links"),
        };
        let (verdict, name, session) =
            session::initiate(&mut stream, &shared.key, &shared.prologue, &hello)
                .await
                .map_err(handshake_error_text)?;
        match verdict {
            Verdict::Accepted if name == peer.name => Ok((stream, Arc::new(session))),
            Verdict::Accepted => Err(format!(
                "the node at this address is '{name}', not '{}'",
                peer.name
            )),
            Verdict::UnknownNode => Err(format!(
                "'{name}' refused us: '{}' is not in its node list",
                shared.local
            )),
            Verdict::WrongNode => Err(format!(
                "the node at this address is '{name}', not '{}'",
                peer.name
            )),
            Verdict::Busy => Err(format!("'{name}' refused us: too many connections")),
        }
    };
    match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {HANDSHAKE_TIMEOUT_MS} ms")),
    }
}

/// One log line for a failed initiator handshake.
fn handshake_error_text(err: session::HandshakeError) -> String {
    match err {
        session::HandshakeError::Closed => "the peer closed the connection during the handshake \
            (does it hold the same cluster key and cluster name?)"
            .to_string(),
        other => other.to_string(),
    }
}

/// Runs an established connection until it dies; returns why.
async fn run_connection(
    shared: &Shared,
    peer: &PeerState,
    link: &Link,
    stream: TcpStream,
    session: Arc<Session>,
) -> String {
    let (read, write) = stream.into_split();
    let (queue, queued) = outbox();
    let conn = Arc::new(Conn::new(queue));
    let mut writer = AbortOnDrop(tokio::spawn(write_loop(write, session.clone(), queued)));
    let mut reader = FrameReader::new(read, session, shared.frame_bytes_max);
    set_up(peer, link);
    link.conn.send_replace(Some(conn.clone()));
    peer.notify();
    let mut ticker = tokio::time::interval(shared.link_ping);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pings: HashMap<u64, Instant> = HashMap::new();
    let mut ping_seq = 0u64;
    let reason = loop {
        tokio::select! {
            message = reader.next() => match message {
                Ok(Some(message)) => {
                    match message.kind {
                        Kind::Response => conn.complete(message.id, Reply::Data(message.payload)),
                        Kind::NoReply => conn.complete(message.id, Reply::NoReply),
                        Kind::Pong => {
                            if let Some(sent) = pings.remove(&message.id) {
                                set_rtt(link, sent.elapsed());
                            }
                        }
                        other => break format!("protocol error: unexpected {other:?} message"),
                    }
                }
                Ok(None) => break "closed by the peer".to_string(),
                Err(err) => break err.to_string(),
            },
            _ = ticker.tick() => {
                if reader.idle() > shared.link_timeout {
                    break format!("no traffic for {} ms", shared.link_timeout.as_millis());
                }
                ping_seq += 1;
                pings.retain(|_, sent| sent.elapsed() < shared.link_timeout);
                if conn.try_enqueue(frame::encode_message(Kind::Ping, ping_seq, &[])).is_ok() {
                    pings.insert(ping_seq, Instant::now());
                }
            },
            result = &mut writer.0 => break match result {
                Ok(Ok(())) => "writer stopped".to_string(),
                Ok(Err(err)) => err.to_string(),
                Err(err) => format!("writer task failed: {err}"),
            },
        }
    };
    link.conn.send_replace(None);
    conn.close();
    peer.notify();
    reason
}

fn set_up(peer: &PeerState, link: &Link) {
    let mut status = link.status.lock().expect("status lock is never poisoned");
    status.state = LinkState::Up;
    status.changes += 1;
    status.last_error = None;
    tracing::info!(peer = %peer.name, link = link.index, addr = %link.addr, "link up");
}

fn set_rtt(link: &Link, rtt: Duration) {
    let rtt_us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
    link.status
        .lock()
        .expect("status lock is never poisoned")
        .rtt_us = Some(rtt_us);
}

/// Marks the link down; logs once per change (up -> down, or a different reason).
fn set_down(peer: &PeerState, link: &Link, reason: String, dial_failed: bool) {
    link.status
        .lock()
        .expect("status lock is never poisoned")
        .dial_failed = dial_failed;
    record_down(peer, link, reason);
    // Callers waiting for a link re-check: they fail at once when every link is down.
    peer.notify();
}

fn record_down(peer: &PeerState, link: &Link, reason: String) {
    let mut status = link.status.lock().expect("status lock is never poisoned");
    let was_up = status.state == LinkState::Up;
    let same_reason = status.last_error.as_deref() == Some(reason.as_str());
    if was_up {
        status.changes += 1;
    }
    status.state = LinkState::Down;
    status.rtt_us = None;
    if peer.gone.load(Ordering::Relaxed) {
        return;
    }
    if was_up {
        tracing::warn!(peer = %peer.name, link = link.index, addr = %link.addr, %reason, "link down");
    } else if !same_reason {
        tracing::warn!(peer = %peer.name, link = link.index, addr = %link.addr, %reason, "cannot connect");
    } else {
        tracing::debug!(peer = %peer.name, link = link.index, addr = %link.addr, %reason, "cannot connect");
    }
    status.last_error = Some(reason);
}
