//! Integration tests of herd-daemon (one binary): the executor hooks with real agents.

mod executor_hooks;
