//! Raw Ethernet on one interface: probe the link for another holder of an address, and
//! announce that we hold it (gratuitous ARP / unsolicited neighbour advertisement).
//!
//! I/O: one non-blocking AF_PACKET socket per [`LinkSocket`] (see `crate::sys`), driven by
//! tokio's `AsyncFd`; frames are built and parsed by `super::frames`.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::net::IpAddr;
use std::time::Duration;

use socket2::Socket;
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

use super::frames::{self, ETH_P_ARP, ETH_P_IPV6, Mac};

/// What a probe heard about the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProbeReport {
    /// MAC addresses of other hosts that claim (or are probing for) the address, in order.
    pub(crate) claimants: Vec<Mac>,
    /// A frame came from our own MAC but not from us: another host on the link uses our
    /// MAC (the duplicate-MAC trap).
    pub(crate) own_mac_from_elsewhere: bool,
}

/// An AF_PACKET socket on one interface, for one address family.
#[derive(Debug)]
pub(crate) struct LinkSocket {
    fd: AsyncFd<Socket>,
    mac: Mac,
    ip: IpAddr,
}

impl LinkSocket {
    /// Opens the socket on interface `ifindex` (whose MAC is `mac`) for address `ip`.
    pub(crate) fn open(ifindex: u32, mac: Mac, ip: IpAddr) -> io::Result<Self> {
        let ethertype = if ip.is_ipv4() { ETH_P_ARP } else { ETH_P_IPV6 };
        Ok(Self {
            fd: crate::sys::packet_socket(ifindex, ethertype)?,
            mac,
            ip,
        })
    }

    /// Sends one gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6).
    pub(crate) async fn announce(&self) -> io::Result<()> {
        let frame = match self.ip {
            IpAddr::V4(v4) => frames::arp_announce(self.mac, v4),
            IpAddr::V6(v6) => frames::nd_announce(self.mac, v6),
        };
        self.send(&frame).await
    }

    /// Sends `count` probes spread over `budget` and listens until the budget is spent.
    pub(crate) async fn probe(&self, count: u32, budget: Duration) -> io::Result<ProbeReport> {
        let probe = match self.ip {
            IpAddr::V4(v4) => frames::arp_probe(self.mac, v4),
            IpAddr::V6(v6) => frames::nd_probe(self.mac, v6),
        };
        let count = count.max(1);
        let start = Instant::now();
        let deadline = start + budget;
        let step = budget / count;
        let mut sent = 0;
        let mut report = ProbeReport::default();
        let mut seen = BTreeSet::new();
        let mut buf = vec![0u8; 2048];
        loop {
            let next_send = start + step * sent;
            if sent < count && Instant::now() >= next_send {
                self.send(&probe).await?;
                sent += 1;
                continue;
            }
            let wake = if sent < count {
                next_send.min(deadline)
            } else {
                deadline
            };
            if Instant::now() >= deadline {
                return Ok(report);
            }
            let Ok(n) = tokio::time::timeout_at(wake, self.recv(&mut buf)).await else {
                continue;
            };
            if let Some(claim) = self.claim(&buf[..n?]) {
                match claim {
                    Claim::Other(mac) => {
                        if seen.insert(mac) {
                            report.claimants.push(mac);
                        }
                    }
                    Claim::OwnMac => report.own_mac_from_elsewhere = true,
                }
            }
        }
    }

    /// Whether `frame` is someone else claiming (or probing for) our address, or comes from
    /// another host using our MAC. The socket ignores what this host sends (see
    /// `crate::sys`), so any frame from our MAC that arrives was sent elsewhere.
    fn claim(&self, frame: &[u8]) -> Option<Claim> {
        if frame.get(6..12) == Some(&self.mac[..]) {
            return Some(Claim::OwnMac);
        }
        match self.ip {
            IpAddr::V4(ip) => {
                let arp = frames::parse_arp(frame)?;
                let holds = arp.sender_ip == ip;
                let probes = arp.sender_ip.is_unspecified() && arp.target_ip == ip && !arp.is_reply;
                (holds || probes).then_some(Claim::Other(arp.sender_mac))
            }
            IpAddr::V6(ip) => {
                let nd = frames::parse_nd(frame)?;
                let holds = nd.is_advert && nd.target == ip;
                let probes = !nd.is_advert && nd.source_ip.is_unspecified() && nd.target == ip;
                (holds || probes).then_some(Claim::Other(nd.target_mac.unwrap_or(nd.eth_src)))
            }
        }
    }

    async fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|inner| inner.get_ref().send(frame)) {
                Ok(result) => return result.map(drop),
                Err(_would_block) => continue,
            }
        }
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|inner| inner.get_ref().read(buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

enum Claim {
    Other(Mac),
    OwnMac,
}
