//! Integration tests of herd's native agents against the real kernel and real daemons.
//!
//! Hosts are network namespaces joined by a bridge in a "switch" namespace (see `lab`);
//! agents run in-process on a thread that entered the host's namespace. haproxy and
//! dnsmasq are Debian's packages (scripts/test installs them).

mod daemons;
mod dhcp;
mod figures;
mod lab;
mod metadata;
mod vip;
