//! herd's executor: runs resource agents on this node exactly as Pacemaker's execd does.
//!
//! - OCF agents (`ocf:PROVIDER:TYPE`, `$OCF_ROOT/resource.d/PROVIDER/TYPE ACTION`) with
//!   `OCF_ROOT`, `OCF_RESKEY_*` and `OCF_RESKEY_CRM_meta_*` in the environment
//!   (module `env`); herd's native agents as `ocf:herd:TYPE` (crate herd-agents);
//!   LSB init scripts; systemd units through `systemctl`.
//! - Exit codes as OCF rcs ([`OcfRc`]), `ocf-exit-reason:` lines, timeouts enforced on the
//!   whole process group (SIGTERM, grace, SIGKILL).
//! - One action at a time per resource, at most `max_concurrent_actions` per node,
//!   recurring monitors that report changes, an on-disk history per resource so that a
//!   restarted executor still knows what runs here, and [`Executor::stop_all_active`] for
//!   a lost lease.
//!
//! Not here: deciding what to run (herd-sched), fail counts and recovery (the controller).
//! I/O: processes in `process`, history files in `history`, directory listings in `list`;
//! `spec`, `rc`, `op`, `env`, `metadata` and `suggest` are pure.

mod class;
mod config;
mod env;
mod error;
mod executor;
mod history;
mod list;
mod metadata;
mod op;
mod process;
mod rc;
mod recurring;
mod spec;
mod stop_all;
mod suggest;

pub use config::{
    AGENT_TIMEOUT_MS_DEFAULT, ExecConfig, HISTORY_OPS_MAX, KILL_GRACE_MS_DEFAULT,
    LEASE_LOSS_STOP_TIMEOUT_MS_DEFAULT, LSB_DIR_DEFAULT, MAX_CONCURRENT_ACTIONS_DEFAULT,
    OCF_ROOT_DEFAULT, OUTPUT_BYTES_MAX, RUNTIME_ROOT_DEFAULT,
};
pub use error::ExecError;
pub use executor::Executor;
pub use history::{HISTORY_FORMAT, OpRecord, ResourceHistory};
pub use list::AgentList;
pub use metadata::{ActionInfo, Metadata, ParamInfo, parse_duration_ms, parse_metadata};
pub use op::{Action, ExecStatus, OpRequest, OpResult};
pub use rc::{OcfRc, ResourceState, lsb_to_ocf};
pub use recurring::MonitorEvent;
pub use spec::{AgentSpec, Class};
pub use stop_all::{StopAllReport, StopFailure};
pub use suggest::closest;
