//! The crate's only unsafe code: binding an AF_PACKET socket to an interface (and handing it
//! to tokio), and starting a child process in its own session.
//!
//! Each needs a raw C structure or an unsafe API that no safe crate wraps: socket2 builds no
//! `sockaddr_ll`, tokio's `AsyncFd::register` is unsafe, and std has no "setsid in the
//! child" option. Each block is a few lines
//! with its SAFETY argument. I/O: the socket bind and the child's `setsid(2)`.
#![allow(unsafe_code)]

use std::io;

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};
use tokio::io::unix::AsyncFd;

/// Opens a non-blocking AF_PACKET raw socket for EtherType `ethertype`, bound to interface
/// `ifindex` (it sees only that interface's frames and `send` goes out there), registered
/// with the current tokio runtime.
pub(crate) fn packet_socket(ifindex: u32, ethertype: u16) -> io::Result<AsyncFd<Socket>> {
    let protocol = ethertype.to_be();
    let socket = Socket::new(
        Domain::PACKET,
        Type::RAW.cloexec(),
        Some(Protocol::from(i32::from(protocol))),
    )?;
    socket.set_nonblocking(true)?;
    ignore_outgoing(&socket)?;
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index too large"))?;
    let mut storage = SockAddrStorage::zeroed();
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: SockAddrStorage is a sockaddr_storage, larger than and aligned for a
    // sockaddr_ll; the view is written through once and not kept.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as libc::sa_family_t;
    ll.sll_protocol = protocol;
    ll.sll_ifindex = ifindex;
    // SAFETY: the storage holds a fully initialized sockaddr_ll (zeroed, then the three
    // fields set) and `len` is exactly its size.
    let address = unsafe { SockAddr::new(storage, len) };
    socket.bind(&address)?;
    // SAFETY: the Socket owns its descriptor (an OwnedFd it never replaces), and the AsyncFd
    // owns the Socket, so the descriptor stays open and the same for the AsyncFd's lifetime.
    unsafe { AsyncFd::register(socket) }.map_err(io::Error::from)
}

/// PACKET_IGNORE_OUTGOING from linux/if_packet.h (Linux 4.20+); not in the libc crate.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// Asks the kernel not to hand this packet socket the frames this host sends, so any frame
/// from our own MAC that arrives came from another host using it.
fn ignore_outgoing(socket: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: the descriptor is open (borrowed from `socket`), and the option value points at
    // a live c_int whose exact size is passed; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Makes the child started by `command` call `setsid(2)` before exec, so it leads its own
/// session and process group (survives the starter, can be signalled as a group).
pub(crate) fn new_session(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls setsid(2),
    // which is async-signal-safe, allocates nothing and touches no parent state.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
