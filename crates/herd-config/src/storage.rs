//! The `[storage]` table: how much free space the data directory must keep.
//!
//! ```toml
//! [storage]
//! min_free_mb = 64    # refuse configuration and admin writes below this much free space
//! ```
//!
//! Only the values live here; the agent measures the free space. No I/O here.

use crate::error::ConfigError;
use crate::walk::Table;

/// Limits on the node's data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Configuration and admin writes are refused while the file system holding `data_dir`
    /// has less free space than this (MiB), before the Raft log runs out of room; 0 turns
    /// the check off.
    pub min_free_mb: u64,
}

/// The default reserve: many thousands of log entries and a few snapshots of a large CIB.
pub const MIN_FREE_MB_DEFAULT: u64 = 64;

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            min_free_mb: MIN_FREE_MB_DEFAULT,
        }
    }
}

const KEYS: [&str; 1] = ["min_free_mb"];

pub(crate) fn read(top: &Table<'_, '_>) -> Result<StorageConfig, ConfigError> {
    let mut storage = StorageConfig::default();
    let Some(table) = top.table("storage", "[storage]")? else {
        return Ok(storage);
    };
    table.check_keys(&KEYS)?;
    // Up to 1 TiB: a larger reserve is a typo.
    if let Some(mb) = table.integer("min_free_mb", 1024 * 1024)? {
        storage.min_free_mb = mb.value;
    }
    Ok(storage)
}
