//! The `[executor]` table: limits of the node's local resource manager.
//!
//! Only the values live here; herd-exec applies them. No I/O here.

use crate::error::ConfigError;
use crate::walk::Table;

/// Limits of the executor that runs resource agents on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// At most this many agent actions run at once on the node.
    pub max_concurrent_actions: u32,
    /// When the node's lease is lost, every active resource gets this long to stop.
    pub lease_loss_stop_timeout_ms: u64,
    /// The timeout of an agent action whose operation names none.
    pub agent_timeout_ms_default: u64,
}

impl Default for ExecutorConfig {
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            max_concurrent_actions: 8,
            // CLUSTER.md §6.4: stop-on-isolation timeout <= watchdog (2 s) - 0.5 s.
            lease_loss_stop_timeout_ms: 1500,
            // Pacemaker's default operation timeout.
            agent_timeout_ms_default: 20_000,
        }
    }
}

const KEYS: [&str; 3] = [
    "max_concurrent_actions",
    "lease_loss_stop_timeout_ms",
    "agent_timeout_ms_default",
];

pub(crate) fn read(top: &Table<'_, '_>) -> Result<ExecutorConfig, ConfigError> {
    let mut executor = ExecutorConfig::default();
    let Some(table) = top.table("executor", "[executor]")? else {
        return Ok(executor);
    };
    table.check_keys(&KEYS)?;
    if let Some(max) = table.integer("max_concurrent_actions", 1024)? {
        if max.value == 0 {
            return Err(table.invalid(
                "max_concurrent_actions",
                max.line,
                "max_concurrent_actions must be at least 1",
            ));
        }
        executor.max_concurrent_actions = u32::try_from(max.value).expect("bounded by 1024 above");
    }
    if let Some(ms) = table.integer("lease_loss_stop_timeout_ms", 3_600_000)? {
        if ms.value == 0 {
            return Err(table.invalid(
                "lease_loss_stop_timeout_ms",
                ms.line,
                "lease_loss_stop_timeout_ms must be above 0",
            ));
        }
        executor.lease_loss_stop_timeout_ms = ms.value;
    }
    if let Some(ms) = table.integer("agent_timeout_ms_default", 86_400_000)? {
        if ms.value == 0 {
            return Err(table.invalid(
                "agent_timeout_ms_default",
                ms.line,
                "agent_timeout_ms_default must be above 0",
            ));
        }
        executor.agent_timeout_ms_default = ms.value;
    }
    Ok(executor)
}
