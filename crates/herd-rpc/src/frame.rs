//! The wire format of herd-rpc, as a sans-IO codec: bytes in, frames out.
//!
//! ```text
//! handshake, initiator -> responder:  "HERD" | version u8 | len u16 BE | Noise message 1
//! handshake, responder -> initiator:  len u16 BE | Noise message 2
//! every frame after the handshake:    len u32 BE | version u8 | ciphertext (len bytes)
//! ciphertext = Noise transport messages of at most 65535 bytes each, back to back
//! plaintext  = kind u8 | id u64 BE | payload
//! ```
//!
//! Messages above `BULK_THRESHOLD_BYTES` travel as `Fragment` frames of at most
//! `FRAGMENT_BYTES` each, so small messages (pings, lease renewals, heartbeats) can be sent
//! between the pieces of a large one instead of waiting behind all of it.
//!
//! The length is checked against the receiver's limit before the body is read, so an
//! oversized frame costs nothing. This module does no I/O and no cryptography; the socket
//! loops are in `conn`, the Noise session in `session`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The protocol version this build speaks; carried in the handshake and every frame.
pub const PROTOCOL_VERSION: u8 = 1;

/// The first bytes an initiator sends; anything else on the port is refused.
pub(crate) const MAGIC: &[u8; 4] = b"HERD";

/// The largest handshake message accepted, in bytes (a Noise NNpsk0 message with our
/// hello is about 200 bytes).
pub(crate) const HANDSHAKE_BYTES_MAX: usize = 1024;

/// Bytes of the frame header: length u32 + version u8.
pub(crate) const FRAME_HEADER_BYTES: usize = 5;

/// Bytes of the plaintext header inside a frame: kind u8 + id u64.
pub(crate) const MESSAGE_HEADER_BYTES: usize = 9;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request that wants a [`Kind::Response`] with the same id.
    Request = 1,
    /// The answer to a request.
    Response = 2,
    /// A one-way message; no answer.
    OneWay = 3,
    /// A link liveness probe; answered by [`Kind::Pong`] with the same id.
    Ping = 4,
    Pong = 5,
    /// The handler had no answer for a request (it returned None).
    NoReply = 6,
    /// A piece of a large message: id = the message's stream number, payload = last flag
    /// u8 then bytes. The pieces, concatenated, are the plaintext of the large message.
    Fragment = 7,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Request,
            2 => Kind::Response,
            3 => Kind::OneWay,
            4 => Kind::Ping,
            5 => Kind::Pong,
            6 => Kind::NoReply,
            7 => Kind::Fragment,
            _ => return None,
        })
    }
}

/// One decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) kind: Kind,
    pub(crate) id: u64,
    pub(crate) payload: Bytes,
}

/// Why bytes on a connection were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("frame of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("peer speaks herd-rpc version {version}, this node speaks version {PROTOCOL_VERSION}")]
    Version { version: u8 },
    #[error("not a herd peer (the connection did not start with the herd handshake)")]
    BadMagic,
    #[error("malformed message: {0}")]
    Malformed(&'static str),
}

/// Cuts one frame's ciphertext off the front of `buf`; `Ok(None)` means "read more".
/// `max_ciphertext` bounds the length field, checked before any body byte is needed.
pub(crate) fn split_frame(
    buf: &mut BytesMut,
    max_ciphertext: usize,
) -> Result<Option<BytesMut>, FrameError> {
    if buf.len() < FRAME_HEADER_BYTES {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let version = buf[4];
    if version != PROTOCOL_VERSION {
        return Err(FrameError::Version { version });
    }
    if len > max_ciphertext {
        return Err(FrameError::TooLarge {
            len,
            max: max_ciphertext,
        });
    }
    if buf.len() < FRAME_HEADER_BYTES + len {
        buf.reserve(FRAME_HEADER_BYTES + len - buf.len());
        return Ok(None);
    }
    buf.advance(FRAME_HEADER_BYTES);
    Ok(Some(buf.split_to(len)))
}

/// The frame header for `ciphertext_len` bytes of ciphertext.
pub(crate) fn frame_header(ciphertext_len: usize) -> [u8; FRAME_HEADER_BYTES] {
    let len = u32::try_from(ciphertext_len).expect("frames are bounded far below 4 GiB");
    let mut header = [0; FRAME_HEADER_BYTES];
    header[..4].copy_from_slice(&len.to_be_bytes());
    header[4] = PROTOCOL_VERSION;
    header
}

/// The plaintext of a message: header then payload.
pub(crate) fn encode_message(kind: Kind, id: u64, payload: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(MESSAGE_HEADER_BYTES + payload.len());
    out.put_u8(kind as u8);
    out.put_u64(id);
    out.put_slice(payload);
    out
}

/// The plaintext of one fragment of a large message.
pub(crate) fn encode_fragment(stream: u64, last: bool, piece: &[u8]) -> BytesMut {
    let mut out = BytesMut::with_capacity(MESSAGE_HEADER_BYTES + 1 + piece.len());
    out.put_u8(Kind::Fragment as u8);
    out.put_u64(stream);
    out.put_u8(u8::from(last));
    out.put_slice(piece);
    out
}

pub(crate) fn decode_message(mut plain: BytesMut) -> Result<Message, FrameError> {
    if plain.len() < MESSAGE_HEADER_BYTES {
        return Err(FrameError::Malformed("message shorter than its header"));
    }
    let kind = Kind::from_byte(plain[0]).ok_or(FrameError::Malformed("unknown message kind"))?;
    plain.advance(1);
    let id = plain.get_u64();
    Ok(Message {
        kind,
        id,
        payload: plain.freeze(),
    })
}

/// The initiator's hello, sent encrypted inside Noise message 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The node the initiator is.
    pub(crate) from: String,
    /// The node the initiator believes it dialed.
    pub(crate) to: String,
    /// Which of `to`'s links (0 or 1) was dialed.
    pub(crate) link: u8,
}

/// The responder's answer inside Noise message 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accepted = 0,
    /// The initiator's name is not in the responder's node list.
    UnknownNode = 1,
    /// The initiator dialed a different node than this one (addresses mixed up).
    WrongNode = 2,
    /// Too many connections.
    Busy = 3,
}

impl Verdict {
    pub(crate) fn from_byte(byte: u8) -> Option<Verdict> {
        Some(match byte {
            0 => Verdict::Accepted,
            1 => Verdict::UnknownNode,
            2 => Verdict::WrongNode,
            3 => Verdict::Busy,
            _ => return None,
        })
    }
}

pub(crate) fn encode_hello(hello: &Hello) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + hello.from.len() + hello.to.len());
    put_name(&mut out, &hello.from);
    put_name(&mut out, &hello.to);
    out.push(hello.link);
    out
}

pub(crate) fn decode_hello(mut bytes: &[u8]) -> Result<Hello, FrameError> {
    let from = get_name(&mut bytes)?;
    let to = get_name(&mut bytes)?;
    let [link] = bytes else {
        return Err(FrameError::Malformed(
            "hello has trailing bytes or no link index",
        ));
    };
    Ok(Hello {
        from,
        to,
        link: *link,
    })
}

/// Verdict byte, then the responder's own name.
pub(crate) fn encode_verdict(verdict: Verdict, name: &str) -> Vec<u8> {
    let mut out = vec![verdict as u8];
    put_name(&mut out, name);
    out
}

pub(crate) fn decode_verdict(bytes: &[u8]) -> Result<(Verdict, String), FrameError> {
    let (&first, mut rest) = bytes
        .split_first()
        .ok_or(FrameError::Malformed("empty verdict"))?;
    let verdict = Verdict::from_byte(first).ok_or(FrameError::Malformed("unknown verdict"))?;
    let name = get_name(&mut rest)?;
    Ok((verdict, name))
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let bytes = &name.as_bytes()[..name.len().min(255)];
    out.push(u8::try_from(bytes.len()).expect("truncated to 255 above"));
    out.extend_from_slice(bytes);
}

fn get_name(bytes: &mut &[u8]) -> Result<String, FrameError> {
    let (&len, rest) = bytes
        .split_first()
        .ok_or(FrameError::Malformed("missing name"))?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(FrameError::Malformed("name longer than the message"));
    }
    let name = std::str::from_utf8(&rest[..len])
        .map_err(|_| FrameError::Malformed("name is not UTF-8"))?;
    *bytes = &rest[len..];
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_cut_only_when_complete() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame_header(3));
        buf.extend_from_slice(b"ab");
        assert_eq!(split_frame(&mut buf, 100), Ok(None));
        buf.extend_from_slice(b"cd");
        assert_eq!(
            split_frame(&mut buf, 100).unwrap().unwrap().as_ref(),
            b"abc"
        );
        assert_eq!(buf.as_ref(), b"d");
    }

    #[test]
    fn oversized_length_is_refused_before_the_body() {
        let mut buf = BytesMut::from(&frame_header(1_000_000)[..]);
        assert_eq!(
            split_frame(&mut buf, 1000),
            Err(FrameError::TooLarge {
                len: 1_000_000,
                max: 1000
            })
        );
    }

    #[test]
    fn other_version_is_refused() {
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 9, 0][..]);
        assert_eq!(
            split_frame(&mut buf, 100),
            Err(FrameError::Version { version: 9 })
        );
    }

    #[test]
    fn message_and_hello_round_trip() {
        let plain = encode_message(Kind::Request, 42, b"payload");
        let message = decode_message(plain).unwrap();
        assert_eq!(
            (message.kind, message.id, message.payload.as_ref()),
            (Kind::Request, 42, &b"payload"[..])
        );
        let hello = Hello {
            from: "n1".into(),
            to: "n2".into(),
            link: 1,
        };
        assert_eq!(decode_hello(&encode_hello(&hello)).unwrap(), hello);
        assert_eq!(
            decode_verdict(&encode_verdict(Verdict::WrongNode, "n3")).unwrap(),
            (Verdict::WrongNode, "n3".into())
        );
    }

    #[test]
    fn truncated_hello_is_malformed_not_a_panic() {
        assert!(decode_hello(&[5, b'a']).is_err());
        assert!(decode_hello(&[]).is_err());
        assert!(decode_message(BytesMut::from(&[1, 0][..])).is_err());
        assert!(decode_message(BytesMut::from(&[99, 0, 0, 0, 0, 0, 0, 0, 0][..])).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = decode_hello(&bytes);
            let _ = decode_verdict(&bytes);
            let _ = decode_message(BytesMut::from(&bytes[..]));
            let mut buf = BytesMut::from(&bytes[..]);
            let _ = split_frame(&mut buf, 64);
        }
    }
}
