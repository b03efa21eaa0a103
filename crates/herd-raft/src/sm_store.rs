//! The state machine store: applies committed entries to [`ClusterState`] and keeps the
//! latest snapshot in `raft/snapshot` (versioned header, one CRC-checked record, written
//! atomically).
//!
//! On start the state is the snapshot's; openraft replays the committed log after it. Every
//! applied change is published on a `watch` channel so the daemon can read the state without
//! locking. File I/O is in [`SmStore::open`] and [`SmStore::persist_snapshot`].

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::disk_health::{DiskFault, DiskHealth};
use crate::error::StoreError;
use crate::format;
use crate::state::{ClusterState, FailCount, NodeRecord, ResourceOp, Response};
use crate::types::{DcEpoch, HerdNode, TypeConfig};

const SNAPSHOT_MAGIC: &[u8; 8] = b"HERDSNAP";
/// Version 2: one postcard-encoded [`SnapshotFile`] record whose data is a [`ClusterState`].
/// Version 1 (still read) had no `storage_members` in the state ([`ClusterStateV1`]).
const SNAPSHOT_VERSION: u32 = 2;
const SNAPSHOT_VERSION_OLDEST: u32 = 1;

/// What the daemon reads: the applied state and where it stands in the log.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub state: ClusterState,
    pub last_applied: Option<LogId<u64>>,
    pub membership: StoredMembership<u64, HerdNode>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<u64, HerdNode>,
    /// postcard of [`ClusterState`].
    data: Vec<u8>,
}

/// The state machine handed to openraft.
pub(crate) struct SmStore {
    path: PathBuf,
    applied: Applied,
    snapshot: SharedSnapshot,
    publish: watch::Sender<Arc<Applied>>,
    /// A snapshot that cannot be written is a disk fault like a log write (disk_health.rs).
    health: DiskHealth,
}

/// Builds snapshots from a copy of the state.
pub(crate) struct SnapshotBuilder {
    path: PathBuf,
    applied: Applied,
    snapshot: SharedSnapshot,
    health: DiskHealth,
}

type SharedSnapshot = Arc<Mutex<Option<Arc<SnapshotFile>>>>;

fn set_snapshot(shared: &SharedSnapshot, file: SnapshotFile) {
    *shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(file));
}

impl SmStore {
    /// Opens the state machine stored at `path` (the snapshot file; absent on a fresh node);
    /// a snapshot write that fails is recorded in `health`.
    pub(crate) fn open(
        path: &Path,
        health: DiskHealth,
    ) -> Result<(SmStore, watch::Receiver<Arc<Applied>>), StoreError> {
        let mut applied = Applied::default();
        let mut snapshot = None;
        if path.exists() {
            let bytes = format::read_file(path)?;
            let (version, body) = format::check_header_versions(
                path,
                &bytes,
                SNAPSHOT_MAGIC,
                SNAPSHOT_VERSION_OLDEST..=SNAPSHOT_VERSION,
            )?;
            let records = format::decode_records(path, body, format::HEADER_BYTES)?;
            let [record] = records.as_slice() else {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    offset: format::HEADER_BYTES as u64,
                    what: format!("expected one snapshot record, found {}", records.len()),
                });
            };
            let decode_err = |e: postcard::Error| StoreError::Decode {
                path: path.to_path_buf(),
                offset: format::HEADER_BYTES as u64,
                message: e.to_string(),
            };
            let mut file: SnapshotFile = postcard::from_bytes(record).map_err(decode_err)?;
            applied.state = if version == SNAPSHOT_VERSION_OLDEST {
                let old: ClusterStateV1 = postcard::from_bytes(&file.data).map_err(decode_err)?;
                let state = ClusterState::from(old);
                // Served to peers (install_snapshot) in today's encoding.
                file.data = postcard::to_allocvec(&state).expect("state always serializes");
                state
            } else {
                postcard::from_bytes(&file.data).map_err(decode_err)?
            };
            applied.last_applied = file.meta.last_log_id;
            applied.membership = file.meta.last_membership.clone();
            snapshot = Some(Arc::new(file));
        }
        let (publish, receiver) = watch::channel(Arc::new(applied.clone()));
        let snapshot = Arc::new(Mutex::new(snapshot));
        Ok((
            SmStore {
                path: path.to_path_buf(),
                applied,
                snapshot,
                publish,
                health,
            },
            receiver,
        ))
    }
}

/// The state as snapshot format 1 stored it (no `storage_members`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ClusterStateV1 {
    cib_xml: String,
    config_epoch: u64,
    nodes: BTreeMap<String, NodeRecord>,
    resources: BTreeMap<String, BTreeMap<String, ResourceOp>>,
    fail_counts: BTreeMap<(String, String, String), FailCount>,
    node_attrs: BTreeMap<String, BTreeMap<String, String>>,
    storage_epoch: u64,
    dc_epoch: DcEpoch,
}

impl From<ClusterStateV1> for ClusterState {
    fn from(old: ClusterStateV1) -> ClusterState {
        ClusterState {
            cib_xml: old.cib_xml,
            config_epoch: old.config_epoch,
            nodes: old.nodes,
            resources: old.resources,
            fail_counts: old.fail_counts,
            node_attrs: old.node_attrs,
            storage_epoch: old.storage_epoch,
            dc_epoch: old.dc_epoch,
            storage_members: Default::default(),
        }
    }
}

fn persist_snapshot(
    path: &Path,
    file: &SnapshotFile,
    health: &DiskHealth,
) -> Result<(), StoreError> {
    let mut bytes = format::header(SNAPSHOT_MAGIC, SNAPSHOT_VERSION).to_vec();
    let payload = postcard::to_allocvec(file).expect("snapshots always serialize");
    format::encode_record(&payload, &mut bytes);
    let written = format::write_atomic(path, &bytes);
    if let Err(StoreError::Io { path, source }) = &written {
        health.record_fault(DiskFault::from_io(path, source));
    }
    written
}

fn snapshot_id(meta_last: Option<LogId<u64>>) -> String {
    match meta_last {
        Some(id) => format!(
            "{}-{}-{}",
            id.leader_id.term, id.leader_id.node_id, id.index
        ),
        None => "empty".to_string(),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let data = postcard::to_allocvec(&self.applied.state).expect("state always serializes");
        let meta = SnapshotMeta {
            last_log_id: self.applied.last_applied,
            last_membership: self.applied.membership.clone(),
            snapshot_id: snapshot_id(self.applied.last_applied),
        };
        let file = SnapshotFile {
            meta: meta.clone(),
            data: data.clone(),
        };
        persist_snapshot(&self.path, &file, &self.health)
            .map_err(|e| StorageError::from(StorageIOError::write_snapshot(None, &e)))?;
        set_snapshot(&self.snapshot, file);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for SmStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, HerdNode>), StorageError<u64>> {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            self.applied.last_applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => Response::Ok,
                EntryPayload::Normal(command) => self.applied.state.apply(&command),
                EntryPayload::Membership(membership) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Response::Ok
                }
            };
            responses.push(response);
        }
        self.publish.send_replace(Arc::new(self.applied.clone()));
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            path: self.path.clone(),
            applied: self.applied.clone(),
            snapshot: self.snapshot.clone(),
            health: self.health.clone(),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, HerdNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        let data = snapshot.into_inner();
        let state: ClusterState = postcard::from_bytes(&data).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e))
        })?;
        let file = SnapshotFile {
            meta: meta.clone(),
            data,
        };
        persist_snapshot(&self.path, &file, &self.health).map_err(|e| {
            StorageError::from(StorageIOError::write_snapshot(Some(meta.signature()), &e))
        })?;
        self.applied = Applied {
            state,
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        set_snapshot(&self.snapshot, file);
        self.publish.send_replace(Arc::new(self.applied.clone()));
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        let current = self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(current.map(|file| Snapshot {
            meta: file.meta.clone(),
            snapshot: Box::new(Cursor::new(file.data.clone())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_format_1_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot");
        let old = ClusterStateV1 {
            cib_xml: "<cib/>".into(),
            config_epoch: 3,
            storage_epoch: 2,
            ..ClusterStateV1::default()
        };
        let file = SnapshotFile {
            meta: SnapshotMeta::default(),
            data: postcard::to_allocvec(&old).unwrap(),
        };
        let mut bytes = format::header(SNAPSHOT_MAGIC, 1).to_vec();
        format::encode_record(&postcard::to_allocvec(&file).unwrap(), &mut bytes);
        std::fs::write(&path, bytes).unwrap();
        let (store, _) = SmStore::open(&path, DiskHealth::default()).unwrap();
        assert_eq!(store.applied.state.cib_xml, "<cib/>");
        assert_eq!(store.applied.state.config_epoch, 3);
        assert_eq!(store.applied.state.storage_epoch, 2);
        assert!(store.applied.state.storage_members.is_empty());
    }

    #[test]
    fn snapshot_of_a_newer_format_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot");
        std::fs::write(&path, format::header(SNAPSHOT_MAGIC, 99)).unwrap();
        let err = SmStore::open(&path, DiskHealth::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("format version 99") && err.contains("snapshot"),
            "{err}"
        );
    }
}
