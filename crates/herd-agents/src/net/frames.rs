//! Ethernet frames for ARP (IPv4) and neighbour discovery (IPv6): build and parse (pure).
//!
//! Only what the `vip` agent sends and listens for: ARP probes and gratuitous ARP, IPv6
//! neighbour solicitations for duplicate address detection and unsolicited neighbour
//! advertisements. No sockets here (see `packet`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// A MAC address.
pub(crate) type Mac = [u8; 6];
pub(crate) const BROADCAST: Mac = [0xff; 6];
pub(crate) const ETH_P_ARP: u16 = 0x0806;
pub(crate) const ETH_P_IPV6: u16 = 0x86dd;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
const NA_FLAG_OVERRIDE: u32 = 0x2000_0000;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn mac_string(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An ARP packet's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arp {
    pub(crate) is_reply: bool,
    pub(crate) sender_mac: Mac,
    pub(crate) sender_ip: Ipv4Addr,
    pub(crate) target_ip: Ipv4Addr,
    /// The Ethernet source (may differ from sender_mac behind proxies).
    pub(crate) eth_src: Mac,
}

/// An ARP probe (RFC 5227: sender IP 0.0.0.0) asking who has `target`.
pub(crate) fn arp_probe(src: Mac, target: Ipv4Addr) -> Vec<u8> {
    arp_frame(ARP_REQUEST, src, Ipv4Addr::UNSPECIFIED, target)
}

/// A gratuitous ARP request announcing `ip` at `src` (sender IP = target IP = `ip`).
pub(crate) fn arp_announce(src: Mac, ip: Ipv4Addr) -> Vec<u8> {
    arp_frame(ARP_REQUEST, src, ip, ip)
}

fn arp_frame(op: u16, src: Mac, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]); // Ethernet, IPv4, sizes
    frame.extend_from_slice(&op.to_be_bytes());
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&sender_ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&target_ip.octets());
    frame
}

/// Parses an Ethernet ARP frame for IPv4; None for anything else.
pub(crate) fn parse_arp(frame: &[u8]) -> Option<Arp> {
    if frame.len() < 42 || frame[12..14] != ETH_P_ARP.to_be_bytes() {
        return None;
    }
    let arp = &frame[14..];
    if arp[0..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([arp[6], arp[7]]);
    if op != ARP_REQUEST && op != ARP_REPLY {
        return None;
    }
    Some(Arp {
        is_reply: op == ARP_REPLY,
        sender_mac: arp[8..14].try_into().ok()?,
        sender_ip: Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]),
        target_ip: Ipv4Addr::new(arp[24], arp[25], arp[26], arp[27]),
        eth_src: frame[6..12].try_into().ok()?,
    })
}

/// A neighbour discovery message about `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nd {
    /// Advertisement (someone holds it) or solicitation (someone asks, or probes for DAD).
    pub(crate) is_advert: bool,
    pub(crate) source_ip: Ipv6Addr,
    pub(crate) target: Ipv6Addr,
    pub(crate) eth_src: Mac,
    /// The target link-layer address option of an advertisement, when present.
    pub(crate) target_mac: Option<Mac>,
}

/// A DAD neighbour solicitation for `target` (source ::, to its solicited-node group).
pub(crate) fn nd_probe(src: Mac, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut icmp = vec![ICMPV6_NS, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&t);
    ipv6_frame(
        src,
        multicast_mac(group),
        Ipv6Addr::UNSPECIFIED,
        group,
        icmp,
    )
}

/// An unsolicited neighbour advertisement of `ip` at `src`, to all nodes, override set.
pub(crate) fn nd_announce(src: Mac, ip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = vec![ICMPV6_NA, 0, 0, 0];
    icmp.extend_from_slice(&NA_FLAG_OVERRIDE.to_be_bytes());
    icmp.extend_from_slice(&ip.octets());
    icmp.extend_from_slice(&[2, 1]); // option: target link-layer address, 8 bytes
    icmp.extend_from_slice(&src);
    ipv6_frame(src, multicast_mac(ALL_NODES), ip, ALL_NODES, icmp)
}

/// Parses an Ethernet/IPv6/ICMPv6 NS or NA; None for anything else.
pub(crate) fn parse_nd(frame: &[u8]) -> Option<Nd> {
    if frame.len() < 14 + 40 + 24 || frame[12..14] != ETH_P_IPV6.to_be_bytes() {
        return None;
    }
    let ip = &frame[14..];
    if ip[0] >> 4 != 6 || ip[6] != 58 || ip[7] != 255 {
        return None; // not ICMPv6, or not hop limit 255 (ND requires it)
    }
    let icmp = &ip[40..];
    let kind = icmp[0];
    if kind != ICMPV6_NS && kind != ICMPV6_NA {
        return None;
    }
    let source_ip = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).ok()?);
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&icmp[8..24]).ok()?);
    let mut target_mac = None;
    let mut options = &icmp[24..];
    while options.len() >= 8 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            break;
        }
        if options[0] == 2 && len == 8 {
            target_mac = options[2..8].try_into().ok();
        }
        options = &options[len..];
    }
    Some(Nd {
        is_advert: kind == ICMPV6_NA,
        source_ip,
        target,
        eth_src: frame[6..12].try_into().ok()?,
        target_mac,
    })
}

fn multicast_mac(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// Wraps an ICMPv6 message (checksum field zero) in IPv6 and Ethernet, filling the checksum.
fn ipv6_frame(src: Mac, dst: Mac, from: Ipv6Addr, to: Ipv6Addr, mut icmp: Vec<u8>) -> Vec<u8> {
    let sum = icmpv6_checksum(from, to, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut frame = Vec::with_capacity(14 + 40 + icmp.len());
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[58, 255]);
    frame.extend_from_slice(&from.octets());
    frame.extend_from_slice(&to.octets());
    frame.extend_from_slice(&icmp);
    frame
}

/// The ICMPv6 checksum over the pseudo-header and the message.
fn icmpv6_checksum(from: Ipv6Addr, to: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for chunk in bytes.chunks(2) {
            let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(&from.octets());
    add(&to.octets());
    add(&(icmp.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(icmp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [2, 0, 0, 0, 0, 1];

    #[test]
    fn arp_announce_round_trips_with_sender_equal_target() {
        let ip = Ipv4Addr::new(10, 0, 0, 9);
        let arp = parse_arp(&arp_announce(MAC, ip)).unwrap();
        assert_eq!(
            (arp.sender_ip, arp.target_ip, arp.sender_mac),
            (ip, ip, MAC)
        );
        assert!(!arp.is_reply);
        let probe = parse_arp(&arp_probe(MAC, ip)).unwrap();
        assert_eq!(probe.sender_ip, Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn neighbour_advert_round_trips_and_checksums_to_zero() {
        let ip: Ipv6Addr = "2001:db8::9".parse().unwrap();
        let frame = nd_announce(MAC, ip);
        let nd = parse_nd(&frame).unwrap();
        assert!(nd.is_advert);
        assert_eq!((nd.target, nd.target_mac), (ip, Some(MAC)));
        let icmp = &frame[54..];
        assert_eq!(
            icmpv6_checksum(ip, ALL_NODES, icmp),
            0,
            "a valid checksum sums to zero"
        );
        let probe = parse_nd(&nd_probe(MAC, ip)).unwrap();
        assert!(!probe.is_advert);
        assert_eq!(probe.source_ip, Ipv6Addr::UNSPECIFIED);
        assert_eq!(&nd_probe(MAC, ip)[..6], &[0x33, 0x33, 0xff, 0, 0, 9]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_frames_never_panic_the_parsers(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)
        ) {
            let _ = parse_arp(&bytes);
            let _ = parse_nd(&bytes);
        }
    }

    #[test]
    fn short_or_foreign_frames_are_ignored() {
        assert_eq!(parse_arp(&[0u8; 10]), None);
        assert_eq!(parse_nd(&arp_announce(MAC, Ipv4Addr::LOCALHOST)), None);
        assert_eq!(parse_arp(&nd_announce(MAC, Ipv6Addr::LOCALHOST)), None);
    }
}
