//! OCF agents: `$OCF_ROOT/resource.d/PROVIDER/TYPE ACTION`, parameters in the environment
//! ([`crate::env`]), exit code = OCF rc.
//!
//! I/O: checks that the script exists; the run goes through [`crate::process`].

use std::path::PathBuf;

use crate::class::{Call, RawResult};
use crate::config::ExecConfig;
use crate::env::ocf_env;
use crate::op::ExecStatus;
use crate::process::Invocation;
use crate::rc::OcfRc;
use crate::spec::AgentSpec;

/// Where an OCF agent's executable is.
pub(crate) fn agent_path(config: &ExecConfig, spec: &AgentSpec) -> PathBuf {
    config
        .ocf_root
        .join("resource.d")
        .join(spec.provider.as_deref().unwrap_or("heartbeat"))
        .join(&spec.kind)
}

pub(crate) async fn run(call: &Call<'_>) -> RawResult {
    let path = agent_path(call.config, &call.request.agent);
    if !path.is_file() {
        return RawResult::own(
            OcfRc::NotInstalled,
            ExecStatus::NotInstalled,
            format!(
                "agent {} is not installed: no file {}",
                call.request.agent,
                path.display()
            ),
        );
    }
    let invocation = Invocation {
        program: path,
        args: vec![call.request.action.as_str().to_owned()],
        env: ocf_env(call.config, call.request, call.timeout_ms),
    };
    call.spawn(&invocation, OcfRc::from_code).await
}
