//! herd's native agents (`ocf:herd:TYPE`, crate herd-agents), run in-process under the same
//! timeout, cancellation, history and limits as script agents. Each resource instance gets
//! its own runtime directory `RUNTIME_ROOT/INSTANCE` (the id escaped into one path component).
//!
//! I/O: creates that directory; the agents do their own (see herd-agents).

use std::path::PathBuf;
use std::time::Duration;

use herd_agents::{AgentRequest, NativeAgent};

use crate::class::{Call, RawResult};
use crate::config::ExecConfig;
use crate::op::{Action, ExecStatus};
use crate::rc::OcfRc;

/// The native agent of a type, if herd has one.
pub(crate) fn lookup(kind: &str) -> Option<&'static dyn NativeAgent> {
    herd_agents::lookup(kind)
}

/// The names of all native agents.
pub(crate) fn names() -> Vec<&'static str> {
    herd_agents::all()
        .into_iter()
        .map(|agent| agent.name())
        .collect()
}

/// The runtime directory of one resource instance.
pub(crate) fn runtime_dir(config: &ExecConfig, instance: &str) -> PathBuf {
    config
        .runtime_root
        .join(crate::history::escape_id(instance))
}

async fn until_aborted(mut abort: tokio::sync::watch::Receiver<bool>) {
    if abort.wait_for(|aborted| *aborted).await.is_err() {
        std::future::pending::<()>().await;
    }
}

pub(crate) async fn run(call: &Call<'_>) -> RawResult {
    let kind = &call.request.agent.kind;
    let Some(agent) = lookup(kind) else {
        return RawResult::own(
            OcfRc::NotInstalled,
            ExecStatus::NotInstalled,
            format!(
                "herd has no native agent {kind:?} (native agents: {})",
                names().join(", ")
            ),
        );
    };
    if call.request.action == Action::MetaData {
        return RawResult::text(agent.metadata());
    }
    let dir = runtime_dir(call.config, &call.request.resource);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return RawResult::own(
            OcfRc::ErrPerm,
            ExecStatus::Error,
            format!("cannot create the runtime directory {}: {e}", dir.display()),
        );
    }
    let timeout = Duration::from_millis(call.timeout_ms);
    let request = AgentRequest {
        action: call.request.action.as_str(),
        instance: &call.request.resource,
        params: &call.request.params,
        timeout,
        runtime_dir: &dir,
    };
    tokio::select! {
        outcome = agent.run(request) => RawResult {
            rc: outcome.rc,
            status: ExecStatus::Done,
            exit_reason: outcome.exit_reason,
            stdout: outcome.output,
            stderr: String::new(),
        },
        () = tokio::time::sleep(timeout) => RawResult::own(
            OcfRc::ErrGeneric,
            ExecStatus::TimedOut,
            format!("timed out after {} ms; the native agent's action was abandoned", call.timeout_ms),
        ),
        () = until_aborted(call.abort.clone()) => RawResult::own(
            OcfRc::ErrGeneric,
            ExecStatus::Cancelled,
            "cancelled while running".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_dirs_stay_one_level_under_the_runtime_root() {
        let config = ExecConfig::default();
        let root = &config.runtime_root;
        assert_eq!(root.join("web:0"), runtime_dir(&config, "web:0"));
        for hostile in ["..", ".", "", "a/../../b", "/etc"] {
            let dir = runtime_dir(&config, hostile);
            assert_eq!(Some(root.as_path()), dir.parent(), "{hostile:?} -> {dir:?}");
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with('.') && !name.contains('/'), "{name}");
        }
    }
}
