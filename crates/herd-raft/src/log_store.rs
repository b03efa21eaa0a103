//! The Raft log store: one append-only journal file, `raft/log`, with a CRC per record.
//!
//! Every change (vote, committed id, appended entries, truncation, purge) is one record appended
//! and fsynced before openraft is told it is durable. Opening replays the journal into memory;
//! a damaged or truncated journal is refused with an error naming the file and offset. When the
//! journal has grown well past the live entries it is rewritten atomically (temporary file,
//! fsync, rename). The file I/O is here and in `format.rs`.
//!
//! Every write is timed (write + fsync) into the shared [`DiskHealth`]; a failed write (disk
//! full or another I/O error) is recorded there, and the file is cut back to its last whole
//! record so a partial record never stays behind (the journal still replays). The test-only
//! environment variable `HERD_FAULT_FSYNC_DELAY_MS`, read once at open, adds that many
//! milliseconds to every fsync to stand in for a slow disk.
//!
//! A slow disk must stall only Raft, not the agent: the entries sit under their own lock
//! (readers never wait for an fsync), and on a multi-threaded runtime the write runs under
//! `block_in_place`, so the worker's other tasks (renewals, hellos, links) move to another
//! thread. On a current-thread runtime (tests, the deterministic simulation) it runs inline.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};
use serde::{Deserialize, Serialize};

use crate::disk_health::{DiskFault, DiskHealth};
use crate::error::StoreError;
use crate::format;
use crate::types::TypeConfig;

const LOG_MAGIC: &[u8; 8] = b"HERDRLOG";
/// Version 1: postcard-encoded [`Record`]s.
const LOG_VERSION: u32 = 1;
/// Rewrite the journal when it holds this many records more than live entries.
const COMPACT_RECORDS_MIN: usize = 4096;
/// Test-only: milliseconds added to every fsync of the journal (a slow disk without dm-delay).
pub const FSYNC_DELAY_ENV: &str = "HERD_FAULT_FSYNC_DELAY_MS";

#[derive(Debug, Serialize, Deserialize)]
enum Record {
    Vote(Vote<u64>),
    Committed(Option<LogId<u64>>),
    Entry(Entry<TypeConfig>),
    /// Remove entries with index >= this.
    Truncate(u64),
    /// Entries up to and including this id are purged.
    Purge(LogId<u64>),
}

#[derive(Debug, Default)]
struct LogData {
    vote: Option<Vote<u64>>,
    committed: Option<LogId<u64>>,
    purged: Option<LogId<u64>>,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    n_records: usize,
}

struct Journal {
    path: PathBuf,
    file: File,
    /// The file's length after the last whole record written.
    len: u64,
    /// The entries and votes; locked briefly, never across file I/O.
    data: Arc<Mutex<LogData>>,
    health: DiskHealth,
    fsync_delay: Option<Duration>,
    /// `data.n_records` when a rewrite last failed (0: never).
    compact_failed_at: usize,
}

/// The log store handed to openraft; cheap to clone (readers share it).
#[derive(Clone)]
pub(crate) struct LogStore {
    /// The file: held by one writer for its write and fsync.
    io: Arc<Mutex<Journal>>,
    data: Arc<Mutex<LogData>>,
}

impl LogStore {
    /// Opens (or creates) the journal at `path`, replaying it; writes are timed into `health`.
    pub(crate) fn open(path: &Path, health: DiskHealth) -> Result<LogStore, StoreError> {
        let data = if path.exists() {
            replay(path)?
        } else {
            create(path)?
        };
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let len = file
            .metadata()
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let data = Arc::new(Mutex::new(data));
        let journal = Journal {
            path: path.to_path_buf(),
            file,
            len,
            data: data.clone(),
            health,
            fsync_delay: fsync_delay_from_env(),
            compact_failed_at: 0,
        };
        Ok(LogStore {
            io: Arc::new(Mutex::new(journal)),
            data,
        })
    }

    fn data(&self) -> std::sync::MutexGuard<'_, LogData> {
        lock(&self.data)
    }

    /// Appends and fsyncs `records`, then applies them; off the async workers when possible.
    fn write(&self, records: Vec<Record>) -> Result<(), StoreError> {
        let write = || lock(&self.io).write(records);
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(write),
            _ => write(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads [`FSYNC_DELAY_ENV`] (test-only); absent, empty, zero or unreadable means none.
fn fsync_delay_from_env() -> Option<Duration> {
    let ms: u64 = std::env::var(FSYNC_DELAY_ENV).ok()?.trim().parse().ok()?;
    if ms == 0 {
        return None;
    }
    tracing::warn!(
        delay_ms = ms,
        "{FSYNC_DELAY_ENV} is set: every Raft log fsync is delayed (fault injection for tests)"
    );
    Some(Duration::from_millis(ms))
}

fn create(path: &Path) -> Result<LogData, StoreError> {
    format::write_atomic(path, &format::header(LOG_MAGIC, LOG_VERSION))?;
    Ok(LogData::default())
}

fn replay(path: &Path) -> Result<LogData, StoreError> {
    let bytes = format::read_file(path)?;
    let body = format::check_header(path, &bytes, LOG_MAGIC, LOG_VERSION)?;
    let mut data = LogData::default();
    let mut offset = format::HEADER_BYTES;
    for payload in format::decode_records(path, body, format::HEADER_BYTES)? {
        let record: Record = postcard::from_bytes(payload).map_err(|e| StoreError::Decode {
            path: path.to_path_buf(),
            offset: offset as u64,
            message: e.to_string(),
        })?;
        offset += 8 + payload.len();
        data.apply(record);
    }
    Ok(data)
}

impl LogData {
    fn apply(&mut self, record: Record) {
        self.n_records += 1;
        match record {
            Record::Vote(vote) => self.vote = Some(vote),
            Record::Committed(committed) => self.committed = committed,
            Record::Entry(entry) => {
                self.entries.insert(entry.log_id.index, entry);
            }
            Record::Truncate(since) => {
                self.entries.split_off(&since);
            }
            Record::Purge(log_id) => {
                self.entries = self.entries.split_off(&(log_id.index + 1));
                self.purged = Some(log_id);
            }
        }
    }
}

impl Journal {
    /// Appends records, fsyncs, then applies them in memory. On a failed write the file is
    /// cut back to its last whole record and the fault is recorded; memory is unchanged.
    fn write(&mut self, records: Vec<Record>) -> Result<(), StoreError> {
        let mut buf = Vec::new();
        for record in &records {
            encode(record, &mut buf);
        }
        let began = Instant::now();
        if let Err(source) = self.write_and_sync(&buf) {
            self.health
                .record_fault(DiskFault::from_io(&self.path, &source));
            // Cutting back needs no space; if even that fails, replay reports the partial
            // record with its offset instead of reading it.
            if let Err(e) = self.file.set_len(self.len) {
                tracing::error!(path = %self.path.display(), error = %e,
                    "cannot cut the journal back to its last whole record");
            }
            return Err(StoreError::Io {
                path: self.path.clone(),
                source,
            });
        }
        let ended = Instant::now();
        self.health.record_write(ended, ended - began);
        self.len += buf.len() as u64;
        let n_records = {
            let mut data = lock(&self.data);
            for record in records {
                data.apply(record);
            }
            (data.n_records > data.entries.len() + COMPACT_RECORDS_MIN).then_some(data.n_records)
        };
        // The records are durable already; a rewrite that fails before it replaces the
        // journal only leaves the journal long. Retried only after as many records again, so
        // a full disk warns once per round. One that fails after the replacement is fatal.
        if let Some(n_records) = n_records
            && n_records > self.compact_failed_at + COMPACT_RECORDS_MIN
        {
            match self.compact() {
                Ok(()) => {}
                Err(Compaction::NotReplaced(e)) => {
                    tracing::warn!(error = %e, "cannot rewrite the Raft journal; it keeps growing");
                    self.compact_failed_at = n_records;
                }
                Err(Compaction::Replaced(e)) => {
                    if let StoreError::Io { path, source } = &e {
                        self.health.record_fault(DiskFault::from_io(path, source));
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn write_and_sync(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)?;
        self.file.sync_data()?;
        if let Some(delay) = self.fsync_delay {
            std::thread::sleep(delay);
        }
        Ok(())
    }

    /// Rewrites the journal with only the live state: a new file is written and fsynced
    /// beside it, opened for appending, renamed over the journal, and the directory fsynced.
    /// Up to the rename the old journal stands untouched; after it, this handle and length
    /// follow the new file, and a failure (the rename may not survive a power cut) must stop
    /// Raft: later appends could otherwise be acknowledged into a file that is not the journal.
    fn compact(&mut self) -> Result<(), Compaction> {
        // Only writers change the data, and this one holds the file: the copy stays current.
        let (buf, n_records) = {
            let data = lock(&self.data);
            let mut records = Vec::new();
            if let Some(vote) = data.vote {
                records.push(Record::Vote(vote));
            }
            records.push(Record::Committed(data.committed));
            if let Some(purged) = data.purged {
                records.push(Record::Purge(purged));
            }
            let mut buf = format::header(LOG_MAGIC, LOG_VERSION).to_vec();
            for record in &records {
                encode(record, &mut buf);
            }
            for entry in data.entries.values() {
                encode(&Record::Entry(entry.clone()), &mut buf);
            }
            (buf, records.len() + data.entries.len())
        };
        let tmp = self.path.with_extension("tmp");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let new_file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .and_then(|mut file| {
                file.write_all(&buf)?;
                file.sync_all()?;
                Ok(file)
            })
            .and_then(|_| OpenOptions::new().append(true).open(&tmp))
            .and_then(|file| std::fs::rename(&tmp, &self.path).map(|()| file));
        let new_file = match new_file {
            Ok(file) => file,
            Err(source) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(Compaction::NotReplaced(io(&tmp)(source)));
            }
        };
        self.file = new_file;
        self.len = buf.len() as u64;
        lock(&self.data).n_records = n_records;
        format::sync_dir(&self.path).map_err(Compaction::Replaced)
    }
}

/// How a journal rewrite failed.
enum Compaction {
    /// Before the rename: the old journal stands, nothing is lost.
    NotReplaced(StoreError),
    /// After the rename: the new journal's directory entry may not be durable.
    Replaced(StoreError),
}

fn encode(record: &Record, buf: &mut Vec<u8>) {
    let payload = postcard::to_allocvec(record).expect("log records always serialize");
    format::encode_record(&payload, buf);
}

fn io_err(e: StoreError) -> StorageError<u64> {
    StorageIOError::write_logs(&e).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<u64>> {
        let data = self.data();
        Ok(data.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<u64>> {
        let data = self.data();
        let last = data.entries.values().next_back().map(|e| e.log_id);
        let last_purged_log_id = data.purged;
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError<u64>> {
        self.write(vec![Record::Vote(*vote)]).map_err(io_err)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError<u64>> {
        Ok(self.data().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<u64>>,
    ) -> Result<(), StorageError<u64>> {
        self.write(vec![Record::Committed(committed)])
            .map_err(io_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, StorageError<u64>> {
        Ok(self.data().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<u64>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let records = entries.into_iter().map(Record::Entry).collect();
        let result = self.write(records);
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                callback.log_io_completed(Err(std::io::Error::other(e.to_string())));
                Err(io_err(e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.write(vec![Record::Truncate(log_id.index)])
            .map_err(io_err)
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        self.write(vec![Record::Purge(log_id)]).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records_to_compact() -> Vec<Record> {
        (0..COMPACT_RECORDS_MIN + 10)
            .map(|_| Record::Committed(None))
            .collect()
    }

    #[test]
    fn a_rewrite_keeps_the_live_state_and_later_appends_go_to_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let store = LogStore::open(&path, DiskHealth::default()).unwrap();
        store.write(records_to_compact()).unwrap();
        let compacted = std::fs::metadata(&path).unwrap().len();
        assert!(
            compacted < 200,
            "the journal was not rewritten: {compacted} bytes"
        );
        store.write(vec![Record::Committed(None)]).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > compacted);
        drop(store);
        let replayed = replay(&path).unwrap();
        assert!(replayed.n_records < 10, "{} records", replayed.n_records);
    }

    #[test]
    fn a_rewrite_that_cannot_start_leaves_the_journal_whole_and_writable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let store = LogStore::open(&path, DiskHealth::default()).unwrap();
        // The rewrite's temporary file cannot be created: a directory stands in its way.
        std::fs::create_dir(path.with_extension("tmp")).unwrap();
        let records = records_to_compact();
        let n = records.len();
        store.write(records).unwrap();
        store.write(vec![Record::Committed(None)]).unwrap();
        drop(store);
        assert_eq!(replay(&path).unwrap().n_records, n + 1);
    }
}
