//! The socket loops of one established, encrypted connection: a cancel-safe frame reader
//! and a writer task that seals and batches outgoing messages.
//!
//! Both directions of the protocol use these: the outbound side (`link`) and the inbound
//! side (`server`). I/O: reads and writes the TCP stream halves it is given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::frame::{self, FrameError, Message};
use crate::session::Session;

/// Reads whole frames off a stream and decrypts them. `next` is cancel-safe: it can sit
/// in a `select!` next to a timer without losing bytes.
pub(crate) struct FrameReader {
    read: OwnedReadHalf,
    buf: BytesMut,
    session: Arc<Session>,
    max_ciphertext: usize,
    /// When the last byte arrived: a large frame in transit keeps the link alive.
    last_activity: Instant,
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
            last_activity: Instant::now(),
        }
    }

    /// How long since any byte arrived (not only whole frames).
    pub(crate) fn idle(&self) -> Duration {
        self.last_activity.elapsed()
    }

    /// The next message, or None when the peer closed the connection cleanly.
    pub(crate) async fn next(&mut self) -> Result<Option<Message>, ConnError> {
        loop {
            if let Some(sealed) = frame::split_frame(&mut self.buf, self.max_ciphertext)? {
                let plain = self.session.open(&sealed)?;
                return Ok(Some(frame::decode_message(plain)?));
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

/// Seals and writes queued plaintext messages until the queue closes or a write fails.
/// Messages queued together go out in one write.
pub(crate) async fn write_loop(
    write: OwnedWriteHalf,
    session: Arc<Session>,
    mut queue: mpsc::Receiver<BytesMut>,
) -> Result<(), ConnError> {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    while let Some(plain) = queue.recv().await {
        out.write_all(&session.seal(&plain)?).await?;
        while let Ok(plain) = queue.try_recv() {
            out.write_all(&session.seal(&plain)?).await?;
        }
        out.flush().await?;
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
