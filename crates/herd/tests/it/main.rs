//! Integration tests of the `herd` binary: real `herd agent` processes and CLI calls.
//!
//! `agents` is the shared harness (configs, ports, processes, status polling, waiting for a
//! formed cluster, network namespaces for `netns` and `links`); `cluster` covers
//! formation, failure detection, DC failover, restart and damaged files on loopback;
//! `membership` covers `herd cluster init`, `herd node add/remove`, removal notice, graceful
//! leave and the witness; `membership_failure` covers membership changes under failure and a
//! cold start;
//! `lease_loss` shows a node stopping its resources when its lease runs out; `pause` freezes
//! an agent with SIGSTOP for 5 s (a follower: lost, lease loss on resume, rejoin; the DC:
//! replaced, and it does not act on resume); `watch` samples every node's DC and term;
//! `netns` covers partitions between network-namespace hosts (root only); `asymmetric` drops
//! one direction of a link between them (no leader ping-pong); `bad_input` shows
//! wrong keys, garbage, oversized frames and unknown nodes refused with one log line each;
//! `links` cuts one of a node's two links (nothing happens) and then both (the node is lost);
//! `admin_cli` shows the agent's and the admin commands' errors printed once, named by command;
//! `records` shows resource results, fail counts, the storage epoch, node attributes and the
//! CIB in the replicated state, also across a full restart;
//! `disk_faults` fills a node's tmpfs data_dir (follower, DC), refuses admin writes below
//! `[storage] min_free_mb` and slows one node's fsync; `clock` steps one agent's wall clock
//! ±1 h under libfaketime (nothing happens); `state_files` damages every file in a data_dir
//! (log, snapshot, incarnation, removed marker, executor history) and shows one error line
//! naming it.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod admin_cli;
mod agents;
mod asymmetric;
mod bad_input;
mod clock;
mod cluster;
mod disk_faults;
mod lease_loss;
mod links;
mod membership;
mod membership_failure;
mod netns;
mod pause;
mod records;
mod simulate;
mod state_files;
mod watch;
