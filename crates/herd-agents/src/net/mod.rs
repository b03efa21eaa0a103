//! Networking for the `vip` agent: netlink (links, addresses, bridge FDB), Ethernet frames
//! for ARP and neighbour discovery, and the raw socket that sends and hears them.
//!
//! `frames` is pure; `netlink` and `packet` do I/O in the calling thread's network namespace.

pub(crate) mod frames;
pub(crate) mod netlink;
pub(crate) mod packet;
