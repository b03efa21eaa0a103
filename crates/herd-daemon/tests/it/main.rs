//! Integration tests of herd-daemon (one binary): the executor hooks with real agents.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod executor_hooks;
