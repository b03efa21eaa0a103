//! A tiny DNS client: encode one question, decode the answer's A/AAAA records, query over UDP.
//!
//! Enough for a health check of a DNS server (dnsmasq), nothing more: no TCP fallback, no
//! EDNS, no recursion logic. [`encode_query`] and [`decode_response`] are pure; [`query`]
//! does the one UDP exchange.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Record type A.
pub const TYPE_A: u16 = 1;
/// Record type AAAA.
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const HEADER_BYTES: usize = 12;
const NAME_BYTES_MAX: usize = 255;
const LABEL_BYTES_MAX: usize = 63;

/// What a DNS server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Response code: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED...
    pub rcode: u8,
    /// Addresses from A and AAAA records of the answer section.
    pub addresses: Vec<IpAddr>,
}

/// Why a query could not be made or its answer not be read.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("dns name {name:?} is not valid (labels of 1-63 bytes, 255 bytes at most)")]
    BadName { name: String },
    #[error("dns answer is malformed: {what}")]
    Malformed { what: &'static str },
    #[error("dns answer id {got} does not match query id {expected}")]
    WrongId { expected: u16, got: u16 },
    #[error("dns query to {server} failed: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("no dns answer from {server} within {timeout_ms} ms")]
    Timeout {
        server: SocketAddr,
        timeout_ms: u128,
    },
}

/// Encodes a recursive query for `name` of type `qtype` with the given id.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, DnsError> {
    let bad = || DnsError::BadName {
        name: name.to_string(),
    };
    let trimmed = name.trim_end_matches('.');
    if trimmed.len() + 2 > NAME_BYTES_MAX {
        return Err(bad());
    }
    let mut packet = Vec::with_capacity(HEADER_BYTES + trimmed.len() + 6);
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    packet.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    packet.extend_from_slice(&[0; 6]); // AN, NS, AR counts
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > LABEL_BYTES_MAX {
                return Err(bad());
            }
            packet.push(label.len() as u8);
            packet.extend_from_slice(label.as_bytes());
        }
    }
    packet.push(0);
    packet.extend_from_slice(&qtype.to_be_bytes());
    packet.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(packet)
}

/// Decodes a response to the query with id `id`.
pub fn decode_response(id: u16, packet: &[u8]) -> Result<DnsAnswer, DnsError> {
    if packet.len() < HEADER_BYTES {
        return Err(DnsError::Malformed {
            what: "shorter than a header",
        });
    }
    let got = u16::from_be_bytes([packet[0], packet[1]]);
    if got != id {
        return Err(DnsError::WrongId { expected: id, got });
    }
    if packet[2] & 0x80 == 0 {
        return Err(DnsError::Malformed {
            what: "not a response (QR bit clear)",
        });
    }
    let rcode = packet[3] & 0x0f;
    let n_questions = u16::from_be_bytes([packet[4], packet[5]]);
    let n_answers = u16::from_be_bytes([packet[6], packet[7]]);
    let mut pos = HEADER_BYTES;
    for _ in 0..n_questions {
        pos = skip_name(packet, pos)?;
        pos = pos
            .checked_add(4)
            .filter(|&end| end <= packet.len())
            .ok_or(truncated())?;
    }
    let mut addresses = Vec::new();
    for _ in 0..n_answers {
        pos = skip_name(packet, pos)?;
        let fixed = packet.get(pos..pos + 10).ok_or(truncated())?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        pos += 10;
        let rdata = packet.get(pos..pos + rdlen).ok_or(truncated())?;
        pos += rdlen;
        match (rtype, rdata.len()) {
            (TYPE_A, 4) => addresses.push(IpAddr::V4(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            ))),
            (TYPE_AAAA, 16) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(rdata);
                addresses.push(IpAddr::V6(Ipv6Addr::from(octets)));
            }
            _ => {}
        }
    }
    Ok(DnsAnswer { rcode, addresses })
}

/// Sends one query to `server` and waits up to `timeout` for its answer.
pub async fn query(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> Result<DnsAnswer, DnsError> {
    let io = |source| DnsError::Io { server, source };
    let id = query_id();
    let packet = encode_query(id, name, qtype)?;
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    socket.send(&packet).await.map_err(io)?;
    let exchange = async {
        let mut buf = [0u8; 1500];
        loop {
            let n = socket.recv(&mut buf).await.map_err(io)?;
            match decode_response(id, &buf[..n]) {
                Err(DnsError::WrongId { .. }) => continue, // a late answer to someone else
                other => return other,
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| DnsError::Timeout {
            server,
            timeout_ms: timeout.as_millis(),
        })?
}

/// A query id that differs between calls (no need for cryptographic quality here).
fn query_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ std::process::id()) as u16
}

fn truncated() -> DnsError {
    DnsError::Malformed {
        what: "truncated record",
    }
}

/// Returns the position after the (possibly compressed) name starting at `pos`.
fn skip_name(packet: &[u8], mut pos: usize) -> Result<usize, DnsError> {
    loop {
        let len = *packet.get(pos).ok_or(truncated())?;
        match len {
            0 => return Ok(pos + 1),
            l if l & 0xc0 == 0xc0 => {
                packet.get(pos + 1).ok_or(truncated())?;
                return Ok(pos + 2);
            }
            l if l & 0xc0 != 0 => {
                return Err(DnsError::Malformed {
                    what: "bad label type",
                });
            }
            l => pos += 1 + usize::from(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encodes_labels_and_question() {
        let packet = encode_query(0x1234, "a.bc.", TYPE_A).unwrap();
        assert_eq!(&packet[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&packet[12..], &[1, b'a', 2, b'b', b'c', 0, 0, 1, 0, 1]);
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(encode_query(1, "a..b", TYPE_A).is_err());
        assert!(encode_query(1, &"x".repeat(64), TYPE_A).is_err());
    }

    #[test]
    fn response_with_compressed_answer_decodes_to_addresses() {
        let mut packet = encode_query(7, "foo.test", TYPE_A).unwrap();
        packet[2] = 0x81; // QR + RD
        packet[3] = 0x80; // RA, NOERROR
        packet[7] = 1; // ANCOUNT
        packet.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
        let answer = decode_response(7, &packet).unwrap();
        assert_eq!(answer.rcode, 0);
        assert_eq!(
            answer.addresses,
            vec![IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))]
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)
        ) {
            let id = match bytes.as_slice() {
                [a, b, ..] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            };
            let _ = decode_response(id, &bytes);
        }
    }

    #[test]
    fn truncated_or_foreign_responses_are_errors_not_panics() {
        let mut packet = encode_query(7, "foo.test", TYPE_A).unwrap();
        packet[2] = 0x81;
        packet[7] = 1;
        packet.extend_from_slice(&[0xc0, 12, 0, 1]);
        assert!(matches!(
            decode_response(7, &packet),
            Err(DnsError::Malformed { .. })
        ));
        assert!(matches!(
            decode_response(8, &packet),
            Err(DnsError::WrongId { .. })
        ));
        assert!(decode_response(7, &[1, 2, 3]).is_err());
    }
}
