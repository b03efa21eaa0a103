//! A minimal rtnetlink client: list links and addresses, add and delete an address, dump a
//! bridge's forwarding database.
//!
//! Why our own and not the rtnetlink crate: the agent needs five request types and a
//! synchronous answer; rtnetlink brings an async connection task, futures and four
//! netlink-packet crates (a long build on two cores) for the same. The kernel answers
//! rtnetlink requests during `sendmsg`, so a blocking socket with a receive timeout is enough.
//! I/O: one NETLINK_ROUTE socket per [`Netlink`], opened in the caller's network namespace.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

const NLMSG_HDR_BYTES: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const NDA_LLADDR: u16 = 2;
const NDA_VLAN: u16 = 5;
const NDA_MASTER: u16 = 9;
const NUD_PERMANENT: u16 = 0x80;
/// IFA_F_NODAD: no duplicate address detection (IPv6).
pub(crate) const IFA_F_NODAD: u32 = 0x02;
const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// A netlink failure, naming the request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NetlinkError {
    #[error("netlink {what}: {source}")]
    Io {
        what: &'static str,
        source: io::Error,
    },
    #[error("netlink {what}: kernel answered: {source}")]
    Kernel {
        what: &'static str,
        source: io::Error,
    },
    #[error("netlink {what}: malformed answer from the kernel")]
    Malformed { what: &'static str },
}

impl NetlinkError {
    /// The errno the kernel answered with, if this is a kernel refusal.
    pub(crate) fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) mac: Option<[u8; 6]>,
    /// The bridge (or bond) this interface is enslaved to.
    pub(crate) master: Option<u32>,
}

/// One address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Addr {
    pub(crate) index: u32,
    pub(crate) ip: IpAddr,
    pub(crate) prefix_len: u8,
}

/// One bridge forwarding-database entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FdbEntry {
    /// The bridge port the MAC was seen on.
    pub(crate) port: u32,
    pub(crate) mac: [u8; 6],
    pub(crate) vlan: Option<u16>,
    pub(crate) master: Option<u32>,
    /// Permanent entries are the bridge's own addresses, not learned ones.
    pub(crate) permanent: bool,
}

/// A NETLINK_ROUTE socket.
#[derive(Debug)]
pub(crate) struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub(crate) fn open() -> Result<Self, NetlinkError> {
        let io = |source| NetlinkError::Io {
            what: "open socket",
            source,
        };
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW.cloexec(),
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )
        .map_err(io)?;
        socket.set_read_timeout(Some(RECV_TIMEOUT)).map_err(io)?;
        Ok(Self { socket, seq: 1 })
    }

    /// Every interface.
    pub(crate) fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        let header = [0u8; 16]; // ifinfomsg, family AF_UNSPEC
        let msgs = self.request("list links", RTM_GETLINK, NLM_F_DUMP, &header)?;
        let mut links = Vec::new();
        for (kind, body) in msgs {
            if kind != RTM_NEWLINK || body.len() < 16 {
                continue;
            }
            let index = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
            let mut link = Link {
                index,
                name: String::new(),
                mac: None,
                master: None,
            };
            for (attr, value) in attrs(&body[16..]) {
                match attr {
                    IFLA_IFNAME => {
                        let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
                        link.name = String::from_utf8_lossy(&value[..end]).into_owned();
                    }
                    IFLA_ADDRESS if value.len() == 6 => {
                        link.mac = Some(value.try_into().unwrap_or([0; 6]));
                    }
                    IFLA_MASTER if value.len() == 4 => {
                        link.master =
                            Some(u32::from_ne_bytes([value[0], value[1], value[2], value[3]]));
                    }
                    _ => {}
                }
            }
            links.push(link);
        }
        Ok(links)
    }

    /// Every IPv4 and IPv6 address.
    pub(crate) fn addrs(&mut self) -> Result<Vec<Addr>, NetlinkError> {
        let header = [0u8; 8]; // ifaddrmsg, family AF_UNSPEC
        let msgs = self.request("list addresses", RTM_GETADDR, NLM_F_DUMP, &header)?;
        let mut addrs = Vec::new();
        for (kind, body) in msgs {
            if kind != RTM_NEWADDR || body.len() < 8 {
                continue;
            }
            let family = i32::from(body[0]);
            let prefix_len = body[1];
            let index = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
            let mut local = None;
            let mut address = None;
            for (attr, value) in attrs(&body[8..]) {
                let ip = parse_ip(family, value);
                match attr {
                    IFA_LOCAL => local = ip,
                    IFA_ADDRESS => address = ip,
                    _ => {}
                }
            }
            // IPv4 point-to-point links put the peer in IFA_ADDRESS; ours is IFA_LOCAL.
            if let Some(ip) = local.or(address) {
                addrs.push(Addr {
                    index,
                    ip,
                    prefix_len,
                });
            }
        }
        Ok(addrs)
    }

    /// Adds `ip/prefix_len` to interface `index`; errno EEXIST when it is there already.
    pub(crate) fn add_addr(
        &mut self,
        index: u32,
        ip: IpAddr,
        prefix_len: u8,
        flags: u32,
    ) -> Result<(), NetlinkError> {
        let body = addr_message(index, ip, prefix_len, flags, true);
        let kind_flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.request("add address", RTM_NEWADDR, kind_flags, &body)
            .map(drop)
    }

    /// Deletes `ip/prefix_len` from interface `index`; errno EADDRNOTAVAIL when absent.
    pub(crate) fn del_addr(
        &mut self,
        index: u32,
        ip: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let body = addr_message(index, ip, prefix_len, 0, false);
        self.request("delete address", RTM_DELADDR, NLM_F_ACK, &body)
            .map(drop)
    }

    /// The bridge forwarding database (every bridge's).
    pub(crate) fn fdb(&mut self) -> Result<Vec<FdbEntry>, NetlinkError> {
        let mut header = [0u8; 12]; // ndmsg
        header[0] = libc::AF_BRIDGE as u8;
        let msgs = self.request("dump bridge fdb", RTM_GETNEIGH, NLM_F_DUMP, &header)?;
        let mut entries = Vec::new();
        for (kind, body) in msgs {
            if kind != RTM_NEWNEIGH || body.len() < 12 {
                continue;
            }
            let port = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
            let state = u16::from_ne_bytes([body[8], body[9]]);
            let mut entry = FdbEntry {
                port,
                mac: [0; 6],
                vlan: None,
                master: None,
                permanent: state & NUD_PERMANENT != 0,
            };
            let mut has_mac = false;
            for (attr, value) in attrs(&body[12..]) {
                match attr {
                    NDA_LLADDR if value.len() == 6 => {
                        entry.mac.copy_from_slice(value);
                        has_mac = true;
                    }
                    NDA_VLAN if value.len() == 2 => {
                        entry.vlan = Some(u16::from_ne_bytes([value[0], value[1]]))
                    }
                    NDA_MASTER if value.len() == 4 => {
                        entry.master =
                            Some(u32::from_ne_bytes([value[0], value[1], value[2], value[3]]));
                    }
                    _ => {}
                }
            }
            if has_mac {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Sends one request and collects the answer's messages (until DONE or the ACK).
    fn request(
        &mut self,
        what: &'static str,
        kind: u16,
        flags: u16,
        body: &[u8],
    ) -> Result<Vec<(u16, Vec<u8>)>, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut packet = Vec::with_capacity(NLMSG_HDR_BYTES + body.len());
        packet.extend_from_slice(&((NLMSG_HDR_BYTES + body.len()) as u32).to_ne_bytes());
        packet.extend_from_slice(&kind.to_ne_bytes());
        packet.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        packet.extend_from_slice(&seq.to_ne_bytes());
        packet.extend_from_slice(&0u32.to_ne_bytes());
        packet.extend_from_slice(body);
        self.socket
            .send(&packet)
            .map_err(|source| NetlinkError::Io { what, source })?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = (&self.socket)
                .read(&mut buf)
                .map_err(|source| NetlinkError::Io { what, source })?;
            let mut pos = 0;
            while pos + NLMSG_HDR_BYTES <= n {
                let header = &buf[pos..pos + NLMSG_HDR_BYTES];
                let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
                let msg_kind = u16::from_ne_bytes([header[4], header[5]]);
                let msg_seq = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
                if len < NLMSG_HDR_BYTES || pos + len > n {
                    return Err(NetlinkError::Malformed { what });
                }
                let payload = &buf[pos + NLMSG_HDR_BYTES..pos + len];
                pos += align4(len);
                if msg_seq != seq {
                    continue; // an answer to an earlier, timed-out request
                }
                match msg_kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .ok_or(NetlinkError::Malformed { what })?;
                        if code == 0 {
                            return Ok(out);
                        }
                        return Err(NetlinkError::Kernel {
                            what,
                            source: io::Error::from_raw_os_error(-code),
                        });
                    }
                    _ => out.push((msg_kind, payload.to_vec())),
                }
            }
            if !dump && !out.is_empty() {
                return Ok(out);
            }
        }
    }
}

/// ifaddrmsg + attributes for RTM_NEWADDR / RTM_DELADDR.
fn addr_message(index: u32, ip: IpAddr, prefix_len: u8, flags: u32, add: bool) -> Vec<u8> {
    let family = match ip {
        IpAddr::V4(_) => libc::AF_INET as u8,
        IpAddr::V6(_) => libc::AF_INET6 as u8,
    };
    let mut body = vec![family, prefix_len, (flags & 0xff) as u8, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    match ip {
        IpAddr::V4(v4) => {
            push_attr(&mut body, IFA_LOCAL, &v4.octets());
            push_attr(&mut body, IFA_ADDRESS, &v4.octets());
            if add && prefix_len < 31 {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0);
                let broadcast = Ipv4Addr::from(u32::from(v4) | !mask);
                push_attr(&mut body, IFA_BROADCAST, &broadcast.octets());
            }
        }
        IpAddr::V6(v6) => push_attr(&mut body, IFA_ADDRESS, &v6.octets()),
    }
    if add && flags != 0 {
        push_attr(&mut body, IFA_FLAGS, &flags.to_ne_bytes());
    }
    body
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + align4(len) - len, 0);
}

/// Iterates over (type, value) of route attributes.
fn attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = &data[align4(len).min(data.len())..];
    }
    out
}

fn parse_ip(family: i32, value: &[u8]) -> Option<IpAddr> {
    match (family, value.len()) {
        (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(
            value[0], value[1], value[2], value[3],
        ))),
        (libc::AF_INET6, 16) => {
            let octets: [u8; 16] = value.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_message_carries_local_address_and_broadcast() {
        let body = addr_message(7, "10.0.0.5".parse().unwrap(), 24, 0, true);
        assert_eq!(&body[..4], &[libc::AF_INET as u8, 24, 0, 0]);
        let found: Vec<_> = attrs(&body[8..])
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect();
        assert!(found.contains(&(IFA_LOCAL, vec![10, 0, 0, 5])));
        assert!(found.contains(&(IFA_BROADCAST, vec![10, 0, 0, 255])));
    }

    #[test]
    fn attribute_walk_stops_at_garbage() {
        let mut buf = Vec::new();
        push_attr(&mut buf, 3, b"eth0\0");
        buf.extend_from_slice(&[200, 0, 1, 0]); // claims 200 bytes
        let found = attrs(&buf);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, b"eth0\0");
    }
}
