//! herd's native resource agents: `ocf:herd:vip`, `ocf:herd:haproxy` and `ocf:herd:dnsmasq`.
//!
//! Each agent implements [`NativeAgent`]: it is called with an OCF action, the resource's
//! parameters and a per-instance runtime directory, and answers with an OCF exit code, an
//! optional exit reason and free-form output, exactly what a script agent would give.
//! herd-exec resolves provider `herd` to [`lookup`] and wraps the call in the same timeout,
//! history and serialization as script agents; this crate does not depend on herd-exec.
//!
//! Not here: scheduling, retries, fail counts (the executor and scheduler own those).
//! I/O: the agents do their own (netlink and raw packet sockets in `vip`, child processes
//! and control sockets in `haproxy`/`dnsmasq`); the OCF vocabulary in [`ocf`] and the
//! meta-data builder in `meta` are pure.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

mod daemon;
pub mod dns;
mod dnsmasq;
mod haproxy;
mod meta;
mod net;
pub mod ocf;
mod params;
mod service;
mod sys;
mod vip;

/// One action to run: what the executor hands to a native agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentRequest<'a> {
    /// OCF action name: `start`, `stop`, `monitor`, `meta-data`, `validate-all`, `reload`...
    pub action: &'a str,
    /// Resource instance id (`OCF_RESOURCE_INSTANCE`), e.g. `vip1` or `web:0`.
    pub instance: &'a str,
    /// Instance attributes (`OCF_RESKEY_*` without the prefix).
    pub params: &'a BTreeMap<String, String>,
    /// The operation's timeout; agents budget their own waits inside it.
    pub timeout: Duration,
    /// A directory private to this resource instance (pid files, sockets, state).
    pub runtime_dir: &'a Path,
}

/// What an action came to: the same three things a script agent reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOutcome {
    /// OCF exit code (see [`ocf`]).
    pub rc: i32,
    /// The `ocf-exit-reason:` text, when the action failed or something needs saying.
    pub exit_reason: Option<String>,
    /// Human-readable output (warnings included), like an agent's stdout/stderr.
    pub output: String,
}

impl AgentOutcome {
    /// Success with some output.
    pub fn ok(output: impl Into<String>) -> Self {
        Self {
            rc: ocf::SUCCESS,
            exit_reason: None,
            output: output.into(),
        }
    }

    /// Any rc with a reason (the reason is also the output's last line).
    pub fn fail(rc: i32, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            rc,
            output: reason.clone(),
            exit_reason: Some(reason),
        }
    }

    /// Prepends earlier output (warnings, progress) to this outcome's output.
    pub(crate) fn with_prefix(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.output = if self.output.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}\n{}", self.output)
            };
        }
        self
    }
}

/// A boxed future, as returned by [`NativeAgent::run`].
pub type AgentFuture<'a> = Pin<Box<dyn Future<Output = AgentOutcome> + Send + 'a>>;

/// A resource agent implemented in Rust inside herd.
pub trait NativeAgent: Send + Sync {
    /// The type name: `vip`, `haproxy`, `dnsmasq` (addressed as `ocf:herd:NAME`).
    fn name(&self) -> &'static str;
    /// OCF meta-data XML (ra-api-1 shape), the same as `run` answers for `meta-data`.
    fn metadata(&self) -> String;
    /// Runs one action. Never panics on bad input: bad parameters give rc 2 or 6.
    fn run<'a>(&'a self, request: AgentRequest<'a>) -> AgentFuture<'a>;
}

static VIP: vip::Vip = vip::Vip;
static HAPROXY: haproxy::Haproxy = haproxy::Haproxy;
static DNSMASQ: dnsmasq::Dnsmasq = dnsmasq::Dnsmasq;

/// The agent of type `name` (`vip`, `haproxy`, `dnsmasq`), if herd has one.
pub fn lookup(name: &str) -> Option<&'static dyn NativeAgent> {
    all().into_iter().find(|agent| agent.name() == name)
}

/// Every native agent, in name order.
pub fn all() -> Vec<&'static dyn NativeAgent> {
    vec![&DNSMASQ, &HAPROXY, &VIP]
}
