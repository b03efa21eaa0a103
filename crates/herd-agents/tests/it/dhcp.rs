//! A minimal DHCP client (DISCOVER/OFFER/REQUEST/ACK over a broadcast UDP socket), enough to
//! see dnsmasq hand out a lease and write it to its per-instance lease file.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

const DISCOVER: u8 = 1;
const OFFER: u8 = 2;
const REQUEST: u8 = 3;
const ACK: u8 = 5;

fn packet(xid: u32, mac: [u8; 6], kind: u8, requested: Option<(Ipv4Addr, Ipv4Addr)>) -> Vec<u8> {
    let mut p = vec![1, 1, 6, 0];
    p.extend_from_slice(&xid.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x80, 0]); // secs, flags: broadcast replies
    p.extend_from_slice(&[0; 16]); // ciaddr, yiaddr, siaddr, giaddr
    p.extend_from_slice(&mac);
    p.extend_from_slice(&[0; 10 + 64 + 128]);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    if let Some((ip, server)) = requested {
        p.extend_from_slice(&[50, 4]);
        p.extend_from_slice(&ip.octets());
        p.extend_from_slice(&[54, 4]);
        p.extend_from_slice(&server.octets());
    }
    p.push(255);
    p.resize(300, 0);
    p
}

/// (message type, offered address, server id) of a reply to `xid`.
fn parse(xid: u32, p: &[u8]) -> Option<(u8, Ipv4Addr, Ipv4Addr)> {
    if p.len() < 240 || p[0] != 2 || p[4..8] != xid.to_be_bytes() {
        return None;
    }
    let yiaddr = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    let (mut kind, mut server) = (0, Ipv4Addr::UNSPECIFIED);
    let mut options = &p[240..];
    while let [code, rest @ ..] = options {
        if *code == 255 {
            break;
        }
        if *code == 0 {
            options = rest;
            continue;
        }
        let [len, rest @ ..] = rest else { break };
        let len = usize::from(*len);
        let value = rest.get(..len)?;
        match (code, value) {
            (53, [k]) => kind = *k,
            (54, [a, b, c, d]) => server = Ipv4Addr::new(*a, *b, *c, *d),
            _ => {}
        }
        options = &rest[len..];
    }
    Some((kind, yiaddr, server))
}

/// Asks for a lease on `interface` (which has no address); the acknowledged address.
pub(crate) fn lease(interface: &str, mac: [u8; 6]) -> Result<Ipv4Addr, String> {
    let err = |what: &'static str| move |e: std::io::Error| format!("{what}: {e}");
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(err("socket"))?;
    socket.set_broadcast(true).map_err(err("broadcast"))?;
    socket
        .bind_device(Some(interface.as_bytes()))
        .map_err(err("bind device"))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(err("timeout"))?;
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 68)).into())
        .map_err(err("bind"))?;
    let server: SocketAddr = (Ipv4Addr::BROADCAST, 67).into();
    let xid = 0x4845_5244; // "HERD"
    let exchange = |kind: u8, requested, want: u8| -> Result<(Ipv4Addr, Ipv4Addr), String> {
        for _attempt in 0..6 {
            let request = packet(xid, mac, kind, requested);
            socket
                .send_to(&request, &server.into())
                .map_err(err("send"))?;
            let mut buf = [0u8; 1500];
            while let Ok(n) = (&socket).read(&mut buf) {
                if let Some((got, ip, server_id)) = parse(xid, &buf[..n])
                    && got == want
                {
                    return Ok((ip, server_id));
                }
            }
        }
        Err(format!(
            "no DHCP message type {want} in answer to type {kind}"
        ))
    };
    let (offered, server_id) = exchange(DISCOVER, None, OFFER)?;
    let (acked, _) = exchange(REQUEST, Some((offered, server_id)), ACK)?;
    Ok(acked)
}
