//! herd-exec's integration tests: Debian's real agents (ocf:heartbeat:Dummy, IPaddr2 in a
//! network namespace, nginx; ocf:pacemaker:Dummy and Stateful), LSB scripts, the systemd
//! error on a host without systemd, and small test agents for timeouts, limits and garbage.

// Test helpers outside #[test] functions unwrap too: a failed fixture is a failed test.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod bench;
mod classes;
mod debian_agents;
mod history;
mod ipaddr2;
mod limits;
mod stop_all;
mod support;
mod timeouts;
