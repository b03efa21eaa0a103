//! The Noise handshake and the encrypted session of one TCP connection.
//!
//! Pattern `Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s` with the cluster key as the pre-shared
//! key and `herd-rpc/<version>/<cluster name>` as the prologue. Message 1 (initiator ->
//! responder) is encrypted under a key derived from the PSK, so a responder that can
//! decrypt it knows the initiator holds the cluster key (and means the same cluster);
//! message 2 mixes in a fresh ephemeral Diffie-Hellman, so the initiator learns the same of
//! the responder, and every later frame is encrypted with forward secrecy. A replayed
//! message 1 gets nowhere: its sender lacks the ephemeral secret needed for any frame.
//! The hello inside message 1 names the initiator, which the responder checks against its
//! node list; the verdict in message 2 names the responder.
//!
//! I/O: the handshake functions read and write the stream they are given; [`Session`]
//! only encrypts and decrypts buffers.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, BytesMut};
use snow::{HandshakeState, StatelessTransportState};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{
    self, FrameError, HANDSHAKE_BYTES_MAX, Hello, MAGIC, PROTOCOL_VERSION, Verdict,
};
use crate::key::ClusterKey;

const NOISE_PARAMS: &str = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";

/// Bytes of a Noise transport message at most, and of its authentication tag.
const NOISE_MESSAGE_BYTES_MAX: usize = 65535;
const NOISE_TAG_BYTES: usize = 16;
const NOISE_PLAIN_BYTES_MAX: usize = NOISE_MESSAGE_BYTES_MAX - NOISE_TAG_BYTES;

/// Why a handshake failed, worded for one log line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("handshake message of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the peer does not hold this cluster's key (or belongs to another cluster)")]
    WrongKey,
    #[error("connection closed during the handshake")]
    Closed,
    #[error("i/o error during the handshake: {0}")]
    Io(std::io::Error),
    #[error("noise protocol error: {0}")]
    Noise(String),
}

impl From<std::io::Error> for HandshakeError {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                HandshakeError::Closed
            }
            _ => HandshakeError::Io(err),
        }
    }
}

fn noise_error(err: snow::Error) -> HandshakeError {
    match err {
        snow::Error::Decrypt => HandshakeError::WrongKey,
        other => HandshakeError::Noise(format!("{other:?}")),
    }
}

fn builder<'a>(
    key: &'a ClusterKey,
    prologue: &'a [u8],
) -> Result<snow::Builder<'a>, HandshakeError> {
    let params = NOISE_PARAMS.parse().map_err(noise_error)?;
    snow::Builder::new(params)
        .psk(0, key.as_bytes())
        .map_err(noise_error)?
        .prologue(prologue)
        .map_err(noise_error)
}

/// The prologue both sides mix in: a different cluster name fails like a different key.
pub(crate) fn prologue(cluster: &str) -> Vec<u8> {
    format!("herd-rpc/{PROTOCOL_VERSION}/{cluster}").into_bytes()
}

/// Runs the initiator's side; returns the responder's verdict, its name and the session.
pub(crate) async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    key: &ClusterKey,
    prologue: &[u8],
    hello: &Hello,
) -> Result<(Verdict, String, Session), HandshakeError> {
    let mut noise = builder(key, prologue)?
        .build_initiator()
        .map_err(noise_error)?;
    let mut message = [0u8; HANDSHAKE_BYTES_MAX];
    let len = noise
        .write_message(&frame::encode_hello(hello), &mut message)
        .map_err(noise_error)?;
    let mut out = Vec::with_capacity(7 + len);
    out.extend_from_slice(MAGIC);
    out.push(PROTOCOL_VERSION);
    out.extend_from_slice(
        &u16::try_from(len)
            .expect("handshake fits u16")
            .to_be_bytes(),
    );
    out.extend_from_slice(&message[..len]);
    stream.write_all(&out).await?;
    let reply = read_handshake_message(stream).await?;
    let mut payload = [0u8; HANDSHAKE_BYTES_MAX];
    let n = noise
        .read_message(&reply, &mut payload)
        .map_err(noise_error)?;
    let (verdict, name) = frame::decode_verdict(&payload[..n])?;
    Ok((verdict, name, Session::new(noise)?))
}

/// The responder's side, part 1: reads message 1 and returns who the initiator says it is.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    key: &ClusterKey,
    prologue: &[u8],
) -> Result<(Hello, HandshakeState), HandshakeError> {
    let mut preamble = [0u8; 5];
    stream.read_exact(&mut preamble).await?;
    if &preamble[..4] != MAGIC {
        return Err(FrameError::BadMagic.into());
    }
    if preamble[4] != PROTOCOL_VERSION {
        return Err(FrameError::Version {
            version: preamble[4],
        }
        .into());
    }
    let message = read_handshake_message(stream).await?;
    let mut noise = builder(key, prologue)?
        .build_responder()
        .map_err(noise_error)?;
    let mut payload = [0u8; HANDSHAKE_BYTES_MAX];
    let n = noise
        .read_message(&message, &mut payload)
        .map_err(noise_error)?;
    Ok((frame::decode_hello(&payload[..n])?, noise))
}

/// The responder's side, part 2: sends the verdict; a session only when accepted.
pub(crate) async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    mut noise: HandshakeState,
    verdict: Verdict,
    local: &str,
) -> Result<Option<Session>, HandshakeError> {
    let mut message = [0u8; HANDSHAKE_BYTES_MAX];
    let len = noise
        .write_message(&frame::encode_verdict(verdict, local), &mut message)
        .map_err(noise_error)?;
    let mut out = Vec::with_capacity(2 + len);
    out.extend_from_slice(
        &u16::try_from(len)
            .expect("handshake fits u16")
            .to_be_bytes(),
    );
    out.extend_from_slice(&message[..len]);
    stream.write_all(&out).await?;
    stream.flush().await?;
    if verdict == Verdict::Accepted {
        Ok(Some(Session::new(noise)?))
    } else {
        Ok(None)
    }
}

async fn read_handshake_message<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Vec<u8>, HandshakeError> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let len = usize::from(u16::from_be_bytes(len));
    if len > HANDSHAKE_BYTES_MAX {
        return Err(HandshakeError::TooLarge {
            len,
            max: HANDSHAKE_BYTES_MAX,
        });
    }
    let mut message = vec![0u8; len];
    stream.read_exact(&mut message).await?;
    Ok(message)
}

/// The keys of one established connection, with a nonce counter per direction. Each
/// direction is used by one task only (the writer or the reader), in order.
pub(crate) struct Session {
    noise: StatelessTransportState,
    send_nonce: AtomicU64,
    recv_nonce: AtomicU64,
}

impl Session {
    fn new(noise: HandshakeState) -> Result<Session, HandshakeError> {
        Ok(Session {
            noise: noise.into_stateless_transport_mode().map_err(noise_error)?,
            send_nonce: AtomicU64::new(0),
            recv_nonce: AtomicU64::new(0),
        })
    }

    /// The ciphertext length of a plaintext of `plain_len` bytes.
    pub(crate) fn sealed_len(plain_len: usize) -> usize {
        let chunks = plain_len.div_ceil(NOISE_PLAIN_BYTES_MAX).max(1);
        plain_len + chunks * NOISE_TAG_BYTES
    }

    /// Encrypts `plain` into one wire frame (header included).
    pub(crate) fn seal(&self, plain: &[u8]) -> Result<BytesMut, FrameError> {
        let sealed_len = Session::sealed_len(plain.len());
        let mut out = BytesMut::with_capacity(frame::FRAME_HEADER_BYTES + sealed_len);
        out.put_slice(&frame::frame_header(sealed_len));
        let mut chunks = plain.chunks(NOISE_PLAIN_BYTES_MAX).peekable();
        if chunks.peek().is_none() {
            return Err(FrameError::Malformed("empty plaintext"));
        }
        for chunk in chunks {
            let nonce = self.send_nonce.fetch_add(1, Ordering::Relaxed);
            let start = out.len();
            out.resize(start + chunk.len() + NOISE_TAG_BYTES, 0);
            let n = self
                .noise
                .write_message(nonce, chunk, &mut out[start..])
                .map_err(|_| FrameError::Malformed("encryption failed"))?;
            out.truncate(start + n);
        }
        Ok(out)
    }

    /// Decrypts one frame's ciphertext (as cut by `split_frame`).
    pub(crate) fn open(&self, sealed: &[u8]) -> Result<BytesMut, FrameError> {
        let mut out = BytesMut::with_capacity(sealed.len());
        for chunk in sealed.chunks(NOISE_MESSAGE_BYTES_MAX) {
            let nonce = self.recv_nonce.fetch_add(1, Ordering::Relaxed);
            let start = out.len();
            out.resize(start + chunk.len(), 0);
            let n = self
                .noise
                .read_message(nonce, chunk, &mut out[start..])
                .map_err(|_| FrameError::Malformed("a frame failed authentication"))?;
            out.truncate(start + n);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair(
        key_a: &ClusterKey,
        key_b: &ClusterKey,
    ) -> Result<(Session, Session), HandshakeError> {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let hello = Hello {
            from: "n1".into(),
            to: "n2".into(),
            link: 0,
        };
        let prologue_bytes = prologue("c");
        let key_b = key_b.clone();
        let responder = tokio::spawn(async move {
            let (hello, noise) = accept(&mut b, &key_b, &prologue("c")).await?;
            assert_eq!(hello.from, "n1");
            answer(&mut b, noise, Verdict::Accepted, "n2").await
        });
        let initiated = initiate(&mut a, key_a, &prologue_bytes, &hello).await;
        let responded = responder.await.expect("responder task");
        let (verdict, name, session_a) = initiated?;
        assert_eq!((verdict, name.as_str()), (Verdict::Accepted, "n2"));
        Ok((session_a, responded?.expect("accepted")))
    }

    #[tokio::test]
    async fn sessions_agree_on_large_frames() {
        let key = ClusterKey::from_bytes([3; 32]);
        let (a, b) = pair(&key, &key).await.unwrap();
        let plain: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let sealed = a.seal(&plain).unwrap();
        assert_eq!(
            sealed.len(),
            frame::FRAME_HEADER_BYTES + Session::sealed_len(plain.len())
        );
        assert_eq!(
            b.open(&sealed[frame::FRAME_HEADER_BYTES..])
                .unwrap()
                .as_ref(),
            &plain[..]
        );
        let back = b.seal(b"pong").unwrap();
        assert_eq!(
            a.open(&back[frame::FRAME_HEADER_BYTES..]).unwrap().as_ref(),
            b"pong"
        );
    }

    #[tokio::test]
    async fn wrong_key_fails_the_handshake() {
        let result = pair(
            &ClusterKey::from_bytes([1; 32]),
            &ClusterKey::from_bytes([2; 32]),
        )
        .await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn tampered_frame_fails_authentication() {
        let key = ClusterKey::from_bytes([3; 32]);
        let (a, b) = pair(&key, &key).await.unwrap();
        let mut sealed = a.seal(b"hello").unwrap();
        sealed[frame::FRAME_HEADER_BYTES] ^= 1;
        assert!(b.open(&sealed[frame::FRAME_HEADER_BYTES..]).is_err());
    }

    #[tokio::test]
    async fn garbage_handshakes_are_errors_not_panics() {
        let key = ClusterKey::from_bytes([3; 32]);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..300usize {
            // xorshift: deterministic garbage of varying length after a valid preamble.
            let len = round % 120;
            let mut noise = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                noise.push(seed as u8);
            }
            let mut input = Vec::from(&MAGIC[..]);
            input.push(PROTOCOL_VERSION);
            input.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
            input.extend_from_slice(&noise);
            let (mut ours, mut theirs) = tokio::io::duplex(4096);
            tokio::io::AsyncWriteExt::write_all(&mut theirs, &input)
                .await
                .unwrap();
            drop(theirs);
            assert!(
                accept(&mut ours, &key, &prologue("c")).await.is_err(),
                "round {round}"
            );
        }
    }
}
