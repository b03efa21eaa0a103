//! Client commands die quietly on a closed pipe, like every Unix tool (`herd status | head`).
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe returns EPIPE and `println!` panics with
//! "failed printing to stdout". For client subcommands we restore the default action: the
//! process ends by SIGPIPE, silently, as `cat` does. The daemon (`herd agent`) keeps SIGPIPE
//! ignored: a peer closing a socket must be an error it handles, never its death.
//!
//! The binary's only unsafe code: std offers no stable way to set a signal disposition.
#![allow(unsafe_code)]

/// Restores SIGPIPE's default action (terminate) for this process.
pub(crate) fn restore_default() {
    // SAFETY: signal(2) with SIG_DFL installs no handler code; it is called before any thread
    // is spawned, and only changes how this process reacts to SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
