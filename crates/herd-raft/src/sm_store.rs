//! The state machine store: applies committed entries to [`ClusterState`] and keeps the
//! latest snapshot in `raft/snapshot` (versioned header, one CRC-checked record, written
//! atomically).
//!
//! On start the state is the snapshot's; openraft replays the committed log after it. Every
//! applied change is published on a `watch` channel so the daemon can read the state without
//! locking. File I/O is in [`SmStore::open`] and [`SmStore::persist_snapshot`].

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

use crate::error::StoreError;
use crate::format;
use crate::state::{ClusterState, Response};
use crate::types::{HerdNode, TypeConfig};

const SNAPSHOT_MAGIC: &[u8; 8] = b"HERDSNAP";
/// Version 1: one postcard-encoded [`SnapshotFile`] record.
const SNAPSHOT_VERSION: u32 = 1;

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
}

/// Builds snapshots from a copy of the state.
pub(crate) struct SnapshotBuilder {
    path: PathBuf,
    applied: Applied,
    snapshot: SharedSnapshot,
}

type SharedSnapshot = Arc<Mutex<Option<Arc<SnapshotFile>>>>;

fn set_snapshot(shared: &SharedSnapshot, file: SnapshotFile) {
    *shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(file));
}

impl SmStore {
    /// Opens the state machine stored at `path` (the snapshot file; absent on a fresh node).
    pub(crate) fn open(
        path: &Path,
    ) -> Result<(SmStore, watch::Receiver<Arc<Applied>>), StoreError> {
        let mut applied = Applied::default();
        let mut snapshot = None;
        if path.exists() {
            let bytes = format::read_file(path)?;
            let body = format::check_header(path, &bytes, SNAPSHOT_MAGIC, SNAPSHOT_VERSION)?;
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
            let file: SnapshotFile = postcard::from_bytes(record).map_err(decode_err)?;
            applied.state = postcard::from_bytes(&file.data).map_err(decode_err)?;
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
            },
            receiver,
        ))
    }
}

fn persist_snapshot(path: &Path, file: &SnapshotFile) -> Result<(), StoreError> {
    let mut bytes = format::header(SNAPSHOT_MAGIC, SNAPSHOT_VERSION).to_vec();
    let payload = postcard::to_allocvec(file).expect("snapshots always serialize");
    format::encode_record(&payload, &mut bytes);
    format::write_atomic(path, &bytes)
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
        persist_snapshot(&self.path, &file)
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
        persist_snapshot(&self.path, &file).map_err(|e| {
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
