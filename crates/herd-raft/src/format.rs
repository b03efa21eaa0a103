//! On-disk framing shared by every herd-raft file: a versioned header, then records of
//! `[len u32 LE][crc32 u32 LE][payload]`, plus the atomic whole-file write used for snapshots.
//!
//! This module knows bytes and files, not Raft. A file whose header, length or CRC does not
//! check out is reported as [`StoreError::Corrupt`] naming the file and the byte offset; nothing
//! here panics on bad input and nothing is silently skipped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// Every herd-raft file starts with 8 magic bytes naming its kind, then a u32 format version.
pub(crate) const HEADER_BYTES: usize = 12;
/// Largest record we accept; anything bigger is corruption, not data (the CIB is small).
pub(crate) const RECORD_BYTES_MAX: u32 = 64 * 1024 * 1024;

/// Builds the 12-byte header for `magic` and `version`.
pub(crate) fn header(magic: &[u8; 8], version: u32) -> [u8; HEADER_BYTES] {
    let mut out = [0u8; HEADER_BYTES];
    out[..8].copy_from_slice(magic);
    out[8..].copy_from_slice(&version.to_le_bytes());
    out
}

/// Checks the header of `bytes` read from `path`; returns the rest.
pub(crate) fn check_header<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: &[u8; 8],
    version: u32,
) -> Result<&'a [u8], StoreError> {
    check_header_versions(path, bytes, magic, version..=version).map(|(_, body)| body)
}

/// Checks the header of `bytes` read from `path` against every version this herd reads
/// (`versions`, the newest last); returns the version found and the rest.
pub(crate) fn check_header_versions<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: &[u8; 8],
    versions: std::ops::RangeInclusive<u32>,
) -> Result<(u32, &'a [u8]), StoreError> {
    if bytes.len() < HEADER_BYTES {
        return Err(corrupt(
            path,
            0,
            "file is shorter than its header (truncated)",
        ));
    }
    if &bytes[..8] != magic {
        return Err(corrupt(
            path,
            0,
            "wrong magic bytes: not a herd file of this kind",
        ));
    }
    let found = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !versions.contains(&found) {
        return Err(StoreError::Version {
            path: path.to_path_buf(),
            found,
            expected: *versions.end(),
        });
    }
    Ok((found, &bytes[HEADER_BYTES..]))
}

/// Frames one payload as a record.
pub(crate) fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).expect("records are bounded by RECORD_BYTES_MAX");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Splits `body` (the bytes after the header, starting at file offset `base`) into record
/// payloads. A short or mismatching record is an error naming the offset.
pub(crate) fn decode_records<'a>(
    path: &Path,
    body: &'a [u8],
    base: usize,
) -> Result<Vec<&'a [u8]>, StoreError> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let offset = base + pos;
        if body.len() - pos < 8 {
            return Err(corrupt(path, offset, "truncated record header"));
        }
        let len = u32::from_le_bytes(body[pos..pos + 4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(body[pos + 4..pos + 8].try_into().expect("4 bytes"));
        if len > RECORD_BYTES_MAX {
            return Err(corrupt(path, offset, "record length is implausible"));
        }
        let start = pos + 8;
        let end = start + len as usize;
        if end > body.len() {
            return Err(corrupt(
                path,
                offset,
                "truncated record (file ends inside it)",
            ));
        }
        let payload = &body[start..end];
        if crc32fast::hash(payload) != crc {
            return Err(corrupt(path, offset, "record checksum mismatch"));
        }
        records.push(payload);
        pos = end;
    }
    Ok(records)
}

/// Reads a whole file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
/// A failed write removes the temporary file (on a full disk it holds the space that is short).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::Io { path: tmp, source });
    }
    std::fs::rename(&tmp, path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    sync_dir(path)
}

/// Fsyncs the directory holding `path`, so a rename or a new file survives power loss.
pub(crate) fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| StoreError::Io { path: dir, source })
}

fn corrupt(path: &Path, offset: usize, what: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        what: what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flipped_byte_is_reported_with_offset() {
        let mut body = Vec::new();
        encode_record(b"hello", &mut body);
        encode_record(b"world", &mut body);
        body[8 + 5 + 8 + 1] ^= 0xff;
        let err = decode_records(Path::new("/x/log"), &body, 12)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/x/log") && err.contains("offset 25"), "{err}");
    }

    #[test]
    fn truncated_tail_is_an_error() {
        let mut body = Vec::new();
        encode_record(b"hello", &mut body);
        body.pop();
        assert!(decode_records(Path::new("log"), &body, 0).is_err());
    }
}
