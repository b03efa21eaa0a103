//! The resource classes: how an [`OpRequest`] becomes a process (OCF, LSB, systemd) or a
//! call into a native agent, and how its end becomes an OCF rc.
//!
//! The process I/O is in [`crate::process`]; each class module builds the invocation.

pub(crate) mod lsb;
pub(crate) mod native;
pub(crate) mod ocf;
pub(crate) mod systemd;

use std::time::Duration;

use tokio::sync::watch;

use crate::config::ExecConfig;
use crate::op::{ExecStatus, OpRequest};
use crate::process::{self, Exit, Invocation};
use crate::rc::OcfRc;
use crate::spec::Class;

/// What an agent answered, before the executor adds timing and a call id.
#[derive(Debug, Clone)]
pub(crate) struct RawResult {
    pub(crate) rc: i32,
    pub(crate) status: ExecStatus,
    pub(crate) exit_reason: Option<String>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl RawResult {
    /// A result the executor makes up itself (no process ran).
    pub(crate) fn own(rc: OcfRc, status: ExecStatus, reason: String) -> RawResult {
        RawResult {
            rc: rc.code(),
            status,
            exit_reason: Some(reason),
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    /// A successful result carrying `stdout` (synthesized meta-data).
    pub(crate) fn text(stdout: String) -> RawResult {
        RawResult {
            rc: 0,
            status: ExecStatus::Done,
            exit_reason: None,
            stdout,
            stderr: String::new(),
        }
    }
}

/// One action to carry out, with everything the classes need.
pub(crate) struct Call<'a> {
    pub(crate) config: &'a ExecConfig,
    pub(crate) request: &'a OpRequest,
    pub(crate) timeout_ms: u64,
    pub(crate) abort: watch::Receiver<bool>,
    /// Time between SIGTERM and SIGKILL after the timeout.
    pub(crate) grace_ms: u64,
}

impl Call<'_> {
    /// Runs a process for this call and maps its exit code with `map`.
    pub(crate) async fn spawn(
        &self,
        invocation: &Invocation,
        map: impl Fn(i32) -> OcfRc,
    ) -> RawResult {
        let grace = Duration::from_millis(self.grace_ms);
        let timeout = Duration::from_millis(self.timeout_ms);
        let outcome = process::run(invocation, timeout, grace, self.abort.clone()).await;
        let agent = invocation.program.display();
        let (rc, status, reason) = match outcome.exit {
            Exit::Code(code) => (
                map(code).code(),
                ExecStatus::Done,
                process::exit_reason(&outcome.stderr),
            ),
            Exit::Signal(signal) => (
                1,
                ExecStatus::Error,
                Some(format!("{agent} was killed by signal {signal}")),
            ),
            Exit::TimedOut { escalated } => {
                let how = if escalated {
                    format!(
                        "it ignored SIGTERM and was killed with SIGKILL after {} ms more",
                        self.grace_ms
                    )
                } else {
                    "it was terminated with SIGTERM".to_owned()
                };
                (
                    1,
                    ExecStatus::TimedOut,
                    Some(format!("timed out after {} ms; {how}", self.timeout_ms)),
                )
            }
            Exit::Aborted => (
                1,
                ExecStatus::Cancelled,
                Some("cancelled while running; the agent was terminated".to_owned()),
            ),
            Exit::SpawnFailed(std::io::ErrorKind::NotFound, why) => (
                5,
                ExecStatus::NotInstalled,
                Some(format!("cannot run the agent: {why}")),
            ),
            Exit::SpawnFailed(std::io::ErrorKind::PermissionDenied, why) => (
                5,
                ExecStatus::NotInstalled,
                Some(format!("cannot run the agent (is it executable?): {why}")),
            ),
            Exit::SpawnFailed(_, why) => (
                1,
                ExecStatus::Error,
                Some(format!("cannot run the agent: {why}")),
            ),
        };
        RawResult {
            rc,
            status,
            exit_reason: reason,
            stdout: outcome.stdout,
            stderr: outcome.stderr,
        }
    }
}

/// Carries out a call with the class its agent belongs to.
pub(crate) async fn run(call: Call<'_>) -> RawResult {
    let agent = &call.request.agent;
    match agent.class {
        Class::Ocf if agent.is_native() => native::run(&call).await,
        Class::Ocf => ocf::run(&call).await,
        Class::Lsb => lsb::run(&call).await,
        Class::Systemd => systemd::run(&call).await,
        Class::Service if lsb::script_path(call.config, &agent.kind).is_file() => {
            lsb::run(&call).await
        }
        Class::Service => systemd::run(&call).await,
    }
}
