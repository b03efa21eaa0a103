//! The executor's configuration: where agents and history live, and its limits.
//!
//! Plain data; the daemon fills it from the `[executor]` table of herd.toml.

use std::path::{Path, PathBuf};

/// Where the stock OCF agents live (`OCF_ROOT`).
pub const OCF_ROOT_DEFAULT: &str = "/usr/lib/ocf";
/// Where LSB init scripts live.
pub const LSB_DIR_DEFAULT: &str = "/etc/init.d";
/// Per-instance runtime directories of native agents.
pub const RUNTIME_ROOT_DEFAULT: &str = "/run/herd/agents";
/// Pacemaker's default operation timeout.
pub const AGENT_TIMEOUT_MS_DEFAULT: u64 = 20_000;
/// Time between SIGTERM and SIGKILL when an agent overruns its timeout.
pub const KILL_GRACE_MS_DEFAULT: u64 = 2_000;
/// Actions run at once on one node.
pub const MAX_CONCURRENT_ACTIONS_DEFAULT: usize = 8;
/// How long stopping everything may take after the lease is lost (herd-config's default:
/// the watchdog's 2 s less a margin).
pub const LEASE_LOSS_STOP_TIMEOUT_MS_DEFAULT: u64 = 1_500;
/// Bytes of stdout and of stderr kept from one agent run.
pub const OUTPUT_BYTES_MAX: usize = 64 * 1024;
/// Operations kept per resource in the on-disk history.
pub const HISTORY_OPS_MAX: usize = 32;

/// How the executor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecConfig {
    /// `OCF_ROOT`: agents are `OCF_ROOT/resource.d/PROVIDER/TYPE`.
    pub ocf_root: PathBuf,
    /// Directory of LSB init scripts.
    pub lsb_dir: PathBuf,
    /// Per-resource runtime directories for native agents (`RUNTIME_ROOT/INSTANCE`).
    pub runtime_root: PathBuf,
    /// Where the operation history is kept; `None` keeps none (one-shot `herd ra exec`).
    pub history_dir: Option<PathBuf>,
    /// At most this many actions run at once (stops after a lease loss are exempt).
    pub max_concurrent_actions: usize,
    /// Timeout of an action whose request names none.
    pub agent_timeout_ms_default: u64,
    /// Grace between SIGTERM and SIGKILL.
    pub kill_grace_ms: u64,
    /// The bound the daemon uses for [`crate::Executor::stop_all_active`].
    pub lease_loss_stop_timeout_ms: u64,
    /// The node name exported as `OCF_RESKEY_CRM_meta_on_node`, when known.
    pub node_name: Option<String>,
}

impl Default for ExecConfig {
    fn default() -> ExecConfig {
        ExecConfig {
            ocf_root: PathBuf::from(OCF_ROOT_DEFAULT),
            lsb_dir: PathBuf::from(LSB_DIR_DEFAULT),
            runtime_root: PathBuf::from(RUNTIME_ROOT_DEFAULT),
            history_dir: None,
            max_concurrent_actions: MAX_CONCURRENT_ACTIONS_DEFAULT,
            agent_timeout_ms_default: AGENT_TIMEOUT_MS_DEFAULT,
            kill_grace_ms: KILL_GRACE_MS_DEFAULT,
            lease_loss_stop_timeout_ms: LEASE_LOSS_STOP_TIMEOUT_MS_DEFAULT,
            node_name: None,
        }
    }
}

impl ExecConfig {
    /// The configuration of a node's daemon: history under `DATA_DIR/exec/history`, the
    /// node's name for `OCF_RESKEY_CRM_meta_on_node`, every limit at its default (the daemon
    /// then copies the `[executor]` table of herd.toml over them).
    pub fn for_node(data_dir: &Path, node: &str) -> ExecConfig {
        ExecConfig {
            history_dir: Some(data_dir.join("exec").join("history")),
            node_name: Some(node.to_owned()),
            ..ExecConfig::default()
        }
    }
}
