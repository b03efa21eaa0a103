//! Inbound connections: the accept loop, the responder's handshake and the loop that
//! hands requests to the [`Handler`](crate::Handler).
//!
//! Anything that is not a herd peer holding this cluster's key and listed in the node list
//! is refused during the handshake, before any handler runs, with one log line per source
//! address and reason (repeats within a minute are counted, not logged). I/O: accepts and
//! serves TCP connections.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::conn::{AbortOnDrop, FrameReader, Outbox, outbox, tune, write_loop};
use crate::frame::{self, Hello, Kind, Message, Verdict};
use crate::link::HANDSHAKE_TIMEOUT_MS;
use crate::session;
use crate::transport::Shared;

/// Inbound connections served at once (handshakes included); more are closed at once.
pub const INBOUND_CONNECTIONS_MAX: usize = 256;

/// Requests of one inbound connection handled at once; reading waits for a free slot.
pub const HANDLERS_PER_CONNECTION_MAX: usize = 64;

/// The id of an unsolicited keepalive (a pong answering no ping).
const KEEPALIVE_ID: u64 = 0;

/// A repeated refusal (same source address and reason) is logged again after this long.
const REFUSAL_LOG_INTERVAL_MS: u64 = 60_000;

/// Distinct (address, reason) pairs remembered for log suppression.
const REFUSAL_ENTRIES_MAX: usize = 1024;

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(shared: Arc<Shared>, listener: TcpListener) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    if conns.len() >= INBOUND_CONNECTIONS_MAX {
                        shared.refusals.refuse(addr, "too many connections");
                        continue;
                    }
                    conns.spawn(inbound(shared.clone(), stream, addr));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn inbound(shared: Arc<Shared>, mut stream: TcpStream, addr: SocketAddr) {
    tune(&stream);
    let handshake = async {
        let (hello, noise) = session::accept(&mut stream, &shared.key, &shared.prologue).await?;
        let verdict = judge(&shared, &hello);
        let session = session::answer(&mut stream, noise, verdict, &shared.local).await?;
        Ok::<_, session::HandshakeError>((hello, verdict, session))
    };
    let (hello, session) =
        match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), handshake).await {
            Err(_) => return shared.refusals.refuse(addr, "handshake timed out"),
            Ok(Err(err)) => return shared.refusals.refuse(addr, &err.to_string()),
            Ok(Ok((hello, Verdict::Accepted, Some(session)))) => (hello, Arc::new(session)),
            Ok(Ok((hello, verdict, _))) => {
                let reason = match verdict {
                    Verdict::WrongNode => format!(
                        "it dialed node '{}' but this is '{}'",
                        hello.to, shared.local
                    ),
                    _ => format!("node '{}' is not in the node list", hello.from),
                };
                return shared.refusals.refuse(addr, &reason);
            }
        };
    tracing::debug!(peer = %hello.from, %addr, link = hello.link, "inbound connection accepted");
    shared.peer_reached_us(&hello.from);
    let reason = serve_connection(&shared, &hello.from, addr, stream, session).await;
    tracing::debug!(peer = %hello.from, %addr, %reason, "inbound connection closed");
}

fn judge(shared: &Shared, hello: &Hello) -> Verdict {
    if hello.to != shared.local {
        Verdict::WrongNode
    } else if hello.from == shared.local || !shared.is_peer(&hello.from) {
        Verdict::UnknownNode
    } else {
        Verdict::Accepted
    }
}

/// Reads requests and one-way messages and runs the handler on each; returns why the
/// connection ended.
async fn serve_connection(
    shared: &Arc<Shared>,
    from: &str,
    addr: SocketAddr,
    stream: TcpStream,
    session: Arc<session::Session>,
) -> String {
    let (read, write) = stream.into_split();
    let (queue, queued) = outbox();
    let mut writer = AbortOnDrop(tokio::spawn(write_loop(write, session.clone(), queued)));
    let mut reader = FrameReader::new(read, session, shared.frame_bytes_max);
    let slots = Arc::new(Semaphore::new(HANDLERS_PER_CONNECTION_MAX));
    let mut handlers = JoinSet::new();
    let idle_limit = shared.link_timeout * 3;
    // Unsolicited keepalives let the dialing side see this direction alive even while its
    // own pings wait behind a large frame it is sending.
    let mut ticker = tokio::time::interval(shared.link_ping);
    loop {
        tokio::select! {
            message = reader.next() => {
                let message = match message {
                    Ok(Some(message)) => message,
                    Ok(None) => return "closed by the peer".to_string(),
                    Err(err) => {
                        shared.refusals.refuse(addr, &format!("frame from {from} refused, connection closed: {err}"));
                        return err.to_string();
                    }
                };
                match message.kind {
                    Kind::Ping => {
                        let _ = queue.try_send(frame::encode_message(Kind::Pong, message.id, &[]));
                    }
                    Kind::Request | Kind::OneWay => {
                        if !shared.is_peer(from) {
                            tracing::warn!(peer = %from, "node removed from the node list; closing its connection");
                            return "node removed from the node list".to_string();
                        }
                        let Ok(slot) = slots.clone().acquire_owned().await else {
                            return "handler slots closed".to_string();
                        };
                        handlers.spawn(run_handler(shared.clone(), queue.clone(), from.to_string(), message, slot));
                    }
                    other => return format!("protocol error: unexpected {other:?} message"),
                }
            }
            _ = ticker.tick() => {
                if reader.idle() > idle_limit {
                    return format!("no traffic for {} ms", idle_limit.as_millis());
                }
                let _ = queue.try_send(frame::encode_message(Kind::Pong, KEEPALIVE_ID, &[]));
            }
            Some(joined) = handlers.join_next(), if !handlers.is_empty() => {
                if let Err(err) = joined
                    && err.is_panic()
                {
                    tracing::error!(peer = %from, "request handler panicked");
                }
            }
            result = &mut writer.0 => return match result {
                Ok(Ok(())) => "writer stopped".to_string(),
                Ok(Err(err)) => err.to_string(),
                Err(err) => format!("writer task failed: {err}"),
            },
        }
    }
}

/// Runs the handler on one request or one-way message and queues the answer.
async fn run_handler(
    shared: Arc<Shared>,
    queue: Outbox,
    from: String,
    message: Message,
    slot: OwnedSemaphorePermit,
) {
    let wants_answer = message.kind == Kind::Request;
    // Answers "no reply" if the handler panics, so the caller fails at once instead of at
    // its timeout.
    let mut guard = NoReplyOnDrop {
        queue: wants_answer.then(|| queue.clone()),
        id: message.id,
    };
    let reply = shared.handler.handle(&from, message.payload).await;
    guard.queue = None;
    drop(slot);
    if !wants_answer {
        return;
    }
    let answer = match reply {
        Some(bytes) if bytes.len() <= shared.frame_bytes_max => {
            frame::encode_message(Kind::Response, message.id, &bytes)
        }
        Some(bytes) => {
            tracing::error!(peer = %from, len = bytes.len(), max = shared.frame_bytes_max,
                "handler answer too large; answering with no reply");
            frame::encode_message(Kind::NoReply, message.id, &[])
        }
        None => frame::encode_message(Kind::NoReply, message.id, &[]),
    };
    let _ = queue.send(answer).await;
}

struct NoReplyOnDrop {
    queue: Option<Outbox>,
    id: u64,
}

impl Drop for NoReplyOnDrop {
    fn drop(&mut self) {
        if let Some(queue) = self.queue.take() {
            let _ = queue.try_send(frame::encode_message(Kind::NoReply, self.id, &[]));
        }
    }
}

/// Logs refused connections once per (source address, reason) and minute.
#[derive(Default)]
pub(crate) struct RefusalLog {
    seen: Mutex<HashMap<(IpAddr, String), (Instant, u64)>>,
}

impl RefusalLog {
    pub(crate) fn refuse(&self, addr: SocketAddr, reason: &str) {
        let mut seen = self
            .seen
            .lock()
            .expect("refusal log lock is never poisoned");
        if seen.len() >= REFUSAL_ENTRIES_MAX {
            seen.clear();
        }
        let now = Instant::now();
        let entry = seen
            .entry((addr.ip(), reason.to_string()))
            .or_insert((now, 0));
        let fresh = entry.1 == 0;
        if fresh || now.duration_since(entry.0) >= Duration::from_millis(REFUSAL_LOG_INTERVAL_MS) {
            let repeats = entry.1.saturating_sub(1);
            tracing::warn!(%addr, %reason, repeats_since_last_log = repeats, "refused connection");
            *entry = (now, 1);
        } else {
            entry.1 += 1;
        }
    }
}
