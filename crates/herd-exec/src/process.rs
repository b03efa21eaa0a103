//! Runs one agent process: its own process group, no stdin, cwd `/`, a given environment,
//! stdout and stderr captured size-limited, and a time limit enforced with SIGTERM to the
//! whole group, then SIGKILL after a grace period.
//!
//! This is the only place that spawns processes; the classes decide what to spawn.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::watch;

use crate::config::OUTPUT_BYTES_MAX;

/// The most an aborted (cancelled) action gets between SIGTERM and SIGKILL: aborts come from
/// a cancelled monitor or a lost lease, when waiting out a long grace would hold the lock.
const ABORT_GRACE_MS_MAX: u64 = 200;

/// How long to keep reading an agent's output after it exited (a daemon it started may
/// still hold the pipes open).
const OUTPUT_DRAIN_MS: u64 = 200;

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    /// The whole environment (nothing is inherited).
    pub(crate) env: Vec<(String, String)>,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
    /// Overran its time limit; `escalated` when SIGTERM was not enough and SIGKILL was sent.
    TimedOut {
        escalated: bool,
    },
    /// Stopped on request (cancelled, lease lost): SIGTERM, grace, SIGKILL as for timeouts.
    Aborted,
    SpawnFailed(std::io::ErrorKind, String),
}

/// The process's end and output.
#[derive(Debug, Clone)]
pub(crate) struct RunOutcome {
    pub(crate) exit: Exit,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

type Buffer = Arc<Mutex<Vec<u8>>>;

async fn collect(mut pipe: impl AsyncRead + Unpin, buffer: Buffer) {
    let mut chunk = [0u8; 8192];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut kept = buffer.lock().expect("output buffer lock is never poisoned");
                let room = OUTPUT_BYTES_MAX.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

fn take_text(buffer: &Buffer) -> String {
    let bytes = std::mem::take(&mut *buffer.lock().expect("output buffer lock is never poisoned"));
    // Control characters (but newlines and tabs) become U+FFFD: output ends up on terminals.
    let mut text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    if bytes.len() >= OUTPUT_BYTES_MAX {
        text.push_str("\n[output truncated]");
    }
    text
}

fn signal_group(pgid: Option<u32>, signal: Signal) {
    let Some(pgid) = pgid.and_then(|id| i32::try_from(id).ok()) else {
        return;
    };
    // ESRCH (the group is gone) is the normal case after the agent exited.
    let _ = killpg(Pid::from_raw(pgid), signal);
}

fn exit_of(status: std::io::Result<ExitStatus>) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Signal(0),
        },
        Err(e) => Exit::SpawnFailed(e.kind(), format!("waiting for the agent failed: {e}")),
    }
}

/// SIGTERM to the group, wait up to `grace`, then SIGKILL to the group. Returns true when
/// SIGKILL was needed. Whatever is left of the group is killed in any case: nothing of a
/// timed-out action may linger.
async fn terminate(child: &mut Child, pgid: Option<u32>, grace: Duration) -> bool {
    signal_group(pgid, Signal::SIGTERM);
    let escalated = tokio::time::timeout(grace, child.wait()).await.is_err();
    signal_group(pgid, Signal::SIGKILL);
    if escalated {
        let _ = child.wait().await;
    }
    escalated
}

/// Kills the process group if the run is dropped before the agent ended (its caller gave
/// up on it): nothing of an abandoned action may go on running.
struct GroupGuard {
    pgid: Option<u32>,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group(self.pgid, Signal::SIGKILL);
        }
    }
}

async fn until_aborted(mut abort: watch::Receiver<bool>) {
    if abort.wait_for(|aborted| *aborted).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `invocation` to its end, its time limit, or `abort`.
pub(crate) async fn run(
    invocation: &Invocation,
    timeout: Duration,
    grace: Duration,
    abort: watch::Receiver<bool>,
) -> RunOutcome {
    let mut command = tokio::process::Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .env_clear()
        .envs(invocation.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return RunOutcome {
                exit: Exit::SpawnFailed(e.kind(), format!("{}: {e}", invocation.program.display())),
                stdout: String::new(),
                stderr: String::new(),
            };
        }
    };
    let pgid = child.id();
    let mut guard = GroupGuard { pgid, armed: true };
    let stdout: Buffer = Arc::default();
    let stderr: Buffer = Arc::default();
    let mut readers = Vec::new();
    if let Some(pipe) = child.stdout.take() {
        readers.push(tokio::spawn(collect(pipe, stdout.clone())));
    }
    if let Some(pipe) = child.stderr.take() {
        readers.push(tokio::spawn(collect(pipe, stderr.clone())));
    }
    let exit = tokio::select! {
        status = child.wait() => exit_of(status),
        () = tokio::time::sleep(timeout) => {
            Exit::TimedOut { escalated: terminate(&mut child, pgid, grace).await }
        }
        () = until_aborted(abort) => {
            terminate(&mut child, pgid, grace.min(Duration::from_millis(ABORT_GRACE_MS_MAX))).await;
            Exit::Aborted
        }
    };
    guard.armed = false;
    for reader in readers {
        let abort_handle = reader.abort_handle();
        if tokio::time::timeout(Duration::from_millis(OUTPUT_DRAIN_MS), reader)
            .await
            .is_err()
        {
            abort_handle.abort();
        }
    }
    RunOutcome {
        exit,
        stdout: take_text(&stdout),
        stderr: take_text(&stderr),
    }
}

/// The last `ocf-exit-reason:` line of an agent's stderr, without the prefix.
pub(crate) fn exit_reason(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .rev()
        .filter_map(|line| line.trim_start().strip_prefix("ocf-exit-reason:"))
        .map(str::trim)
        .find(|reason| !reason.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_exit_reason_wins() {
        let stderr = "noise\nocf-exit-reason:first\nmore\nocf-exit-reason: second one\n";
        assert_eq!(Some("second one".to_owned()), exit_reason(stderr));
        assert_eq!(None, exit_reason("nothing here\n"));
    }
}
