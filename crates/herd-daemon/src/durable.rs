//! Small files the agent must find again after a crash or power cut: written whole or not at
//! all, and on disk before the caller goes on.
//!
//! The incarnation counter, the removal marker and the lease-loss report. Each write goes to
//! a temporary file in the same directory, is fsynced, renamed over the old file, and then
//! the directory is fsynced so the rename itself survives a power cut. I/O: the file system.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `contents` atomically and durably.
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = dir.join(name);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("incarnation");
        write_file(&path, b"41\n").unwrap();
        write_file(&path, b"42\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"42\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("incarnation")]);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("incarnation");
        assert!(write_file(&path, b"1\n").is_err());
    }
}
