//! The socket loops of one established, encrypted connection: a cancel-safe frame reader
//! that also reassembles fragmented large messages, and a writer task that seals outgoing
//! messages from two lanes, urgent (small) first, cutting large ones into fragments so
//! urgent ones pass between the pieces.
//!
//! Both directions of the protocol use these: the outbound side (`link`) and the inbound
//! side (`server`). I/O: reads and writes the TCP stream halves it is given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::frame::{self, FrameError, Kind, Message};
use crate::session::Session;

/// Messages up to this size (plaintext) take the urgent lane; larger ones the bulk lane,
/// in fragments.
pub(crate) const BULK_THRESHOLD_BYTES: usize = 16 * 1024;

/// Bytes of a large message carried by one fragment (fits one Noise message).
pub(crate) const FRAGMENT_BYTES: usize = 60 * 1024;

/// Small messages queued per connection before `send` drops and `call` waits.
pub const QUEUE_FRAMES_MAX: usize = 1024;

/// Large messages queued per connection.
pub const BULK_QUEUE_MAX: usize = 16;

/// Unsent bytes the kernel may hold per socket: keeps the real queue in user space, where
/// urgent messages can overtake bulk ones.
const NOTSENT_LOWAT_BYTES: u32 = 128 * 1024;

/// The sending side of a connection's two queues.
#[derive(Clone)]
pub(crate) struct Outbox {
    urgent: mpsc::Sender<BytesMut>,
    bulk: mpsc::Sender<BytesMut>,
}

/// The writer's side of the two queues.
pub(crate) struct Inbox {
    urgent: mpsc::Receiver<BytesMut>,
    bulk: mpsc::Receiver<BytesMut>,
}

pub(crate) fn outbox() -> (Outbox, Inbox) {
    let (urgent, urgent_rx) = mpsc::channel(QUEUE_FRAMES_MAX);
    let (bulk, bulk_rx) = mpsc::channel(BULK_QUEUE_MAX);
    (
        Outbox { urgent, bulk },
        Inbox {
            urgent: urgent_rx,
            bulk: bulk_rx,
        },
    )
}

impl Outbox {
    fn lane(&self, plain: &BytesMut) -> &mpsc::Sender<BytesMut> {
        if plain.len() <= BULK_THRESHOLD_BYTES {
            &self.urgent
        } else {
            &self.bulk
        }
    }

    /// Queues a message, waiting for room; false when the connection is gone.
    pub(crate) async fn send(&self, plain: BytesMut) -> bool {
        self.lane(&plain).send(plain).await.is_ok()
    }

    /// Queues a message if there is room now.
    pub(crate) fn try_send(&self, plain: BytesMut) -> Result<(), TrySendError<BytesMut>> {
        self.lane(&plain).try_send(plain)
    }
}

/// Socket options for a connection: no Nagle delay, little unsent data in the kernel.
pub(crate) fn tune(stream: &tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT_BYTES);
}

/// Reads whole frames off a stream and decrypts them. `next` is cancel-safe: it can sit
/// in a `select!` next to a timer without losing bytes.
pub(crate) struct FrameReader {
    read: OwnedReadHalf,
    buf: BytesMut,
    session: Arc<Session>,
    max_ciphertext: usize,
    frame_bytes_max: usize,
    /// When the last byte arrived: a large frame in transit keeps the link alive.
    last_activity: Instant,
    /// The large message being reassembled: its stream number and the bytes so far.
    partial: Option<(u64, BytesMut)>,
}

/// Why a connection ended, for one log line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FrameReader {
    pub(crate) fn new(
        read: OwnedReadHalf,
        session: Arc<Session>,
        frame_bytes_max: usize,
    ) -> FrameReader {
        let max_ciphertext = Session::sealed_len(frame_bytes_max + frame::MESSAGE_HEADER_BYTES);
        FrameReader {
            read,
            buf: BytesMut::with_capacity(64 * 1024),
            session,
            max_ciphertext,
            frame_bytes_max,
            last_activity: Instant::now(),
            partial: None,
        }
    }

    /// How long since any byte arrived (not only whole frames).
    pub(crate) fn idle(&self) -> Duration {
        self.last_activity.elapsed()
    }

    /// Adds one fragment; returns the whole message after the last one.
    fn reassemble(&mut self, fragment: Message) -> Result<Option<Message>, FrameError> {
        let (&last, piece) = fragment
            .payload
            .split_first()
            .ok_or(FrameError::Malformed("empty fragment"))?;
        let max = self.max_plain();
        let (stream, buf) = self
            .partial
            .get_or_insert_with(|| (fragment.id, BytesMut::new()));
        if *stream != fragment.id {
            return Err(FrameError::Malformed(
                "fragments of two messages interleaved",
            ));
        }
        if buf.len() + piece.len() > max {
            return Err(FrameError::TooLarge {
                len: buf.len() + piece.len(),
                max,
            });
        }
        buf.extend_from_slice(piece);
        if last == 0 {
            return Ok(None);
        }
        let (_, whole) = self.partial.take().expect("set above");
        let message = frame::decode_message(whole)?;
        if message.kind == Kind::Fragment {
            return Err(FrameError::Malformed("a fragment inside a fragment"));
        }
        Ok(Some(message))
    }

    fn max_plain(&self) -> usize {
        self.frame_bytes_max + frame::MESSAGE_HEADER_BYTES
    }

    /// The next message, or None when the peer closed the connection cleanly.
    pub(crate) async fn next(&mut self) -> Result<Option<Message>, ConnError> {
        loop {
            if let Some(sealed) = frame::split_frame(&mut self.buf, self.max_ciphertext)? {
                let message = frame::decode_message(self.session.open(&sealed)?)?;
                if message.kind != Kind::Fragment {
                    return Ok(Some(message));
                }
                if let Some(whole) = self.reassemble(message)? {
                    return Ok(Some(whole));
                }
                continue;
            }
            let n = self.read.read_buf(&mut self.buf).await?;
            self.last_activity = Instant::now();
            if n == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Malformed("connection closed in the middle of a frame").into())
                };
            }
        }
    }
}

/// Seals and writes queued messages until both queues close or a write fails. Urgent
/// messages go first and also between the fragments of a large message.
pub(crate) async fn write_loop(
    write: OwnedWriteHalf,
    session: Arc<Session>,
    mut inbox: Inbox,
) -> Result<(), ConnError> {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    let mut stream = 0u64;
    loop {
        let (plain, bulk) = tokio::select! {
            biased;
            Some(plain) = inbox.urgent.recv() => (plain, false),
            Some(plain) = inbox.bulk.recv() => (plain, true),
            else => return Ok(()),
        };
        if bulk {
            stream += 1;
            let mut pieces = plain.chunks(FRAGMENT_BYTES).peekable();
            while let Some(piece) = pieces.next() {
                let fragment = frame::encode_fragment(stream, pieces.peek().is_none(), piece);
                out.write_all(&session.seal(&fragment)?).await?;
                write_urgent(&mut out, &session, &mut inbox).await?;
                out.flush().await?;
            }
        } else {
            out.write_all(&session.seal(&plain)?).await?;
        }
        write_urgent(&mut out, &session, &mut inbox).await?;
        out.flush().await?;
    }
}

/// Writes every urgent message queued right now.
async fn write_urgent(
    out: &mut BufWriter<OwnedWriteHalf>,
    session: &Session,
    inbox: &mut Inbox,
) -> Result<(), ConnError> {
    while let Ok(plain) = inbox.urgent.try_recv() {
        out.write_all(&session.seal(&plain)?).await?;
    }
    Ok(())
}

/// Aborts a task when dropped, so a connection's helper tasks end with it.
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
