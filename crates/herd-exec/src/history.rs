//! The operation history per resource: what agent and parameters a resource runs with,
//! what the executor believes its state is, and its last operations. Kept in memory and,
//! when a directory is configured, on disk so that a restarted executor still knows what
//! runs here (probes use the recorded parameters; lease loss stops what is recorded active).
//!
//! # Format
//! One JSON file per resource, `HISTORY_DIR/<escaped id>.json`, an object with
//! `"format": 1` first. Files are replaced by write-to-temporary, fsync, rename, fsync of
//! the directory, so a crash leaves the old or the new file, never half of one. A file that
//! does not parse or has an unknown format is an error naming it (the executor does not start):
//! it may be the only record that a resource runs here.
//!
//! The I/O is in [`HistoryStore::load`] and [`write_atomic`].

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::config::HISTORY_OPS_MAX;
use crate::error::ExecError;
use crate::op::{Action, ExecStatus, OpRequest, OpResult};
use crate::rc::{OcfRc, ResourceState};
use crate::spec::AgentSpec;

/// The on-disk format version this executor writes and reads.
pub const HISTORY_FORMAT: u32 = 1;

/// One recorded operation (an [`OpResult`] without its output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRecord {
    pub action: Action,
    pub interval_ms: u64,
    pub rc: i32,
    pub status: ExecStatus,
    pub exit_reason: Option<String>,
    pub started_ms: u64,
    pub duration_ms: u64,
    pub call_id: u64,
}

/// Everything recorded about one resource on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceHistory {
    /// Always [`HISTORY_FORMAT`] when written by this version.
    pub format: u32,
    pub resource: String,
    pub agent: AgentSpec,
    pub params: BTreeMap<String, String>,
    pub meta: BTreeMap<String, String>,
    /// What the last state-changing operation or monitor says.
    pub state: ResourceState,
    /// The most recent operations, oldest first, at most `HISTORY_OPS_MAX`.
    pub ops: Vec<OpRecord>,
}

impl ResourceHistory {
    /// The last recorded operation.
    pub fn last_op(&self) -> Option<&OpRecord> {
        self.ops.last()
    }
}

/// What an operation's result says about the resource's state (`None`: nothing new).
pub(crate) fn next_state(previous: ResourceState, result: &OpResult) -> Option<ResourceState> {
    let ok = result.status == ExecStatus::Done && result.ocf() == OcfRc::Success;
    let failed = Some(ResourceState::Failed);
    match result.action {
        Action::MetaData | Action::ValidateAll | Action::Notify => None,
        Action::Monitor => match result.status {
            ExecStatus::Done if result.interval_ms == 0 && result.ocf() == OcfRc::NotInstalled => {
                Some(ResourceState::Stopped) // a probe's "not installed" means "not running here"
            }
            ExecStatus::Done => Some(result.ocf().monitor_state()),
            ExecStatus::NotInstalled if result.interval_ms == 0 => Some(ResourceState::Stopped),
            ExecStatus::Cancelled => None,
            _ => failed,
        },
        Action::Start | Action::MigrateFrom if ok => Some(ResourceState::Started),
        Action::Stop if ok => Some(ResourceState::Stopped),
        Action::Promote if ok => Some(ResourceState::Promoted),
        Action::Demote if ok => Some(ResourceState::Started),
        Action::MigrateTo | Action::Reload | Action::ReloadAgent if ok => Some(previous),
        _ => failed,
    }
}

/// The history file of a resource: its escaped id plus `.json`.
fn file_name(resource: &str) -> String {
    format!("{}.json", escape_id(resource))
}

/// Percent-escapes a resource id into one safe path component (ids may hold `:` for clone
/// instances): never empty, never `.` or `..`, never a `/`. Used for history files and the
/// native agents' runtime directories.
pub(crate) fn escape_id(resource: &str) -> String {
    if resource.is_empty() {
        return "%".to_owned();
    }
    let mut name = String::new();
    for (i, byte) in resource.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b':')
            || (byte == b'.' && i > 0);
        if plain {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

/// Writes `bytes` to `path` crash-safely: temporary file, fsync, rename, fsync directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp"));
    {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    fs::File::open(dir)?.sync_all()
}

/// The histories of all resources, in memory and optionally on disk.
pub(crate) struct HistoryStore {
    dir: Option<PathBuf>,
    map: Mutex<HashMap<String, ResourceHistory>>,
}

impl HistoryStore {
    /// Loads every history file of `dir` (created when missing).
    pub(crate) fn load(dir: Option<&Path>) -> Result<HistoryStore, ExecError> {
        let store = HistoryStore {
            dir: dir.map(Path::to_path_buf),
            map: Mutex::default(),
        };
        let Some(dir) = dir else { return Ok(store) };
        let error = |why: String| ExecError::History {
            path: dir.to_path_buf(),
            why,
        };
        fs::create_dir_all(dir).map_err(|e| error(format!("cannot create the directory: {e}")))?;
        // Parameters may hold secrets (passwords of database agents): owner only.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| error(format!("cannot restrict the directory to its owner: {e}")))?;
        let entries =
            fs::read_dir(dir).map_err(|e| error(format!("cannot list the directory: {e}")))?;
        let mut map = store.map.lock().expect("history lock is never poisoned");
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "json")
                || entry.file_name().to_string_lossy().starts_with('.')
            {
                continue;
            }
            // A damaged file is not skipped: it may be the only record that a resource runs
            // here (what a lease loss stops), so the operator decides.
            let history = read_history(&path).map_err(|why| ExecError::History {
                path: path.clone(),
                why: format!(
                    "{why}; restore the file, or make sure the resource it names is stopped on \
                     this node and remove the file"
                ),
            })?;
            map.insert(history.resource.clone(), history);
        }
        drop(map);
        Ok(store)
    }

    pub(crate) fn get(&self, resource: &str) -> Option<ResourceHistory> {
        self.map
            .lock()
            .expect("history lock is never poisoned")
            .get(resource)
            .cloned()
    }

    pub(crate) fn all(&self) -> Vec<ResourceHistory> {
        let map = self.map.lock().expect("history lock is never poisoned");
        let mut all: Vec<ResourceHistory> = map.values().cloned().collect();
        all.sort_by(|a, b| a.resource.cmp(&b.resource));
        all
    }

    /// Records a result; writes the file when something changed (a recurring monitor that
    /// keeps answering the same is not rewritten every interval).
    pub(crate) async fn record(
        &self,
        request: &OpRequest,
        result: &OpResult,
    ) -> Result<(), ExecError> {
        match self.apply(request, result) {
            Some(snapshot) => self.persist(snapshot).await,
            None => Ok(()),
        }
    }

    /// Records, synchronously, an action whose caller dropped it while it ran (its agent
    /// was killed): a state-changing action leaves the resource failed, so that a lease
    /// loss still stops it. Used from `Drop`, hence no async and no error but a log line.
    pub(crate) fn record_abandoned(&self, request: &OpRequest, result: &OpResult) {
        let Some(snapshot) = self.apply(request, result) else {
            return;
        };
        let Some(dir) = &self.dir else { return };
        let path = dir.join(file_name(&snapshot.resource));
        let bytes = serde_json::to_vec_pretty(&snapshot).expect("a history always serializes");
        if let Err(e) = write_atomic(&path, &bytes) {
            tracing::error!(path = %path.display(), error = %e, "operation history not written");
        }
    }

    /// Updates the in-memory history; returns the new history when it should be written.
    fn apply(&self, request: &OpRequest, result: &OpResult) -> Option<ResourceHistory> {
        if result.action == Action::MetaData {
            return None;
        }
        let snapshot = {
            let mut map = self.map.lock().expect("history lock is never poisoned");
            let history = map
                .entry(request.resource.clone())
                .or_insert_with(|| ResourceHistory {
                    format: HISTORY_FORMAT,
                    resource: request.resource.clone(),
                    agent: request.agent.clone(),
                    params: request.params.clone(),
                    meta: request.meta.clone(),
                    state: ResourceState::Stopped,
                    ops: Vec::new(),
                });
            let repeat = result.action == Action::Monitor
                && result.interval_ms > 0
                && history
                    .ops
                    .iter()
                    .rev()
                    .find(|op| op.action == Action::Monitor && op.interval_ms == result.interval_ms)
                    .is_some_and(|op| op.rc == result.rc && op.status == result.status);
            let state = next_state(history.state, result).unwrap_or(history.state);
            if repeat && state == history.state {
                return None;
            }
            history.agent = request.agent.clone();
            history.params = request.params.clone();
            history.meta = request.meta.clone();
            history.state = state;
            history.ops.push(OpRecord {
                action: result.action,
                interval_ms: result.interval_ms,
                rc: result.rc,
                status: result.status,
                exit_reason: result.exit_reason.clone(),
                started_ms: result.started_ms,
                duration_ms: result.duration_ms,
                call_id: result.call_id,
            });
            let excess = history.ops.len().saturating_sub(HISTORY_OPS_MAX);
            history.ops.drain(..excess);
            history.clone()
        };
        Some(snapshot)
    }

    /// Forgets a resource (after a cleanup): memory and file.
    pub(crate) fn forget(&self, resource: &str) -> Result<(), ExecError> {
        self.map
            .lock()
            .expect("history lock is never poisoned")
            .remove(resource);
        let Some(dir) = &self.dir else { return Ok(()) };
        let path = dir.join(file_name(resource));
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ExecError::History {
                path,
                why: format!("cannot remove: {e}"),
            }),
        }
    }

    async fn persist(&self, history: ResourceHistory) -> Result<(), ExecError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let path = dir.join(file_name(&history.resource));
        let bytes = serde_json::to_vec_pretty(&history).expect("a history always serializes");
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomic(&target, &bytes)).await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ExecError::History {
                path,
                why: format!("cannot write: {e}"),
            }),
            Err(e) => Err(ExecError::History {
                path,
                why: format!("writer task failed: {e}"),
            }),
        }
    }
}

fn read_history(path: &Path) -> Result<ResourceHistory, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(HISTORY_FORMAT)) {
        return Err(format!(
            "format {format:?} is not {HISTORY_FORMAT} (written by another herd version)"
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("bad history: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_escape_to_safe_file_names() {
        assert_eq!("web:1.json", file_name("web:1"));
        assert_eq!("%2E.%2Fx.json", file_name("../x"));
        assert_eq!("a%20b.json", file_name("a b"));
    }
}
