//! The cluster key: 32 random bytes every node of one cluster shares, written by
//! `herd keygen` and read by `herd agent`.
//!
//! File format (text, one line): `herd-cluster-key-v1 <64 hex digits>`. The file must be
//! readable by its owner only (mode 0600); a key readable by others is refused with the
//! command that fixes it. I/O: `load` and `write` touch the file system; the randomness
//! comes from the operating system (getrandom).

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Bytes of a cluster key (the Noise pre-shared key length).
pub const CLUSTER_KEY_BYTES: usize = 32;

/// The first word of a key file; the version of its format.
const KEY_FILE_TAG: &str = "herd-cluster-key-v1";

/// The largest key file read, in bytes.
const KEY_FILE_BYTES_MAX: u64 = 4096;

/// The shared secret of one cluster. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterKey([u8; CLUSTER_KEY_BYTES]);

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: cannot read the cluster key: {source} (create one with `herd keygen {}`)", path.display(), path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a herd cluster key: {reason} (copy the file from another node, or create a new one with `herd keygen`)", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("{}: the cluster key is readable by others (mode {mode:04o}); run `chmod 600 {}`", path.display(), path.display())]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{}: already exists; refusing to overwrite a cluster key (use --force to replace it)", path.display())]
    Exists { path: PathBuf },
    #[error(
        "{}: cannot write the cluster key: {source}{}",
        path.display(),
        if source.kind() == std::io::ErrorKind::NotFound { " (create its directory first)" } else { "" }
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}

impl ClusterKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<ClusterKey, KeyError> {
        let mut bytes = [0; CLUSTER_KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|err| KeyError::Random(err.to_string()))?;
        Ok(ClusterKey(bytes))
    }

    /// A key from known bytes (tests, or keys kept elsewhere).
    pub fn from_bytes(bytes: [u8; CLUSTER_KEY_BYTES]) -> ClusterKey {
        ClusterKey(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; CLUSTER_KEY_BYTES] {
        &self.0
    }

    /// Reads a key file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<ClusterKey, KeyError> {
        use std::io::Read;
        let read_error = |source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mode = file.metadata().map_err(read_error)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
        let mut text = String::new();
        file.take(KEY_FILE_BYTES_MAX)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        ClusterKey::parse(&text).map_err(|reason| KeyError::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Writes the key to a new file with mode 0600. An existing file is an error unless
    /// `force`, in which case it is replaced atomically (write aside, then rename).
    pub fn write(&self, path: &Path, force: bool) -> Result<(), KeyError> {
        let write_error = |source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        };
        if !force {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|source| match source.kind() {
                    std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                        path: path.to_path_buf(),
                    },
                    _ => write_error(source),
                })?;
            return self.fill(file).map_err(write_error);
        }
        let mut aside = path.as_os_str().to_owned();
        aside.push(".new");
        let aside = PathBuf::from(aside);
        let _ = std::fs::remove_file(&aside);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)
            .map_err(write_error)?;
        self.fill(file).map_err(write_error)?;
        std::fs::rename(&aside, path).map_err(write_error)
    }

    fn fill(&self, mut file: std::fs::File) -> std::io::Result<()> {
        // The mode given at open is filtered by the umask; set it explicitly.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(self.to_text().as_bytes())?;
        file.sync_all()
    }

    fn to_text(&self) -> String {
        let hex: String = self.0.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{KEY_FILE_TAG} {hex}\n")
    }

    fn parse(text: &str) -> Result<ClusterKey, String> {
        let mut words = text.split_whitespace();
        match words.next() {
            Some(KEY_FILE_TAG) => {}
            Some(other) if other.starts_with("herd-cluster-key-") => {
                return Err(format!("key format {other:?} is newer than this herd"));
            }
            _ => return Err(format!("the file does not start with {KEY_FILE_TAG:?}")),
        }
        let hex = words.next().ok_or("the key is missing after the tag")?;
        if words.next().is_some() {
            return Err("unexpected text after the key".to_string());
        }
        if hex.len() != CLUSTER_KEY_BYTES * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "the key must be {} hex digits",
                CLUSTER_KEY_BYTES * 2
            ));
        }
        let mut bytes = [0; CLUSTER_KEY_BYTES];
        for (idx, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[idx * 2..idx * 2 + 2], 16)
                .map_err(|_| "the key must be hex digits".to_string())?;
        }
        Ok(ClusterKey(bytes))
    }
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let key = ClusterKey::from_bytes([7; 32]);
        assert_eq!(ClusterKey::parse(&key.to_text()), Ok(key));
    }

    #[test]
    fn bad_texts_are_refused() {
        assert!(ClusterKey::parse("").is_err());
        assert!(ClusterKey::parse("herd-cluster-key-v1 abcd").is_err());
        assert!(ClusterKey::parse(&format!("herd-cluster-key-v1 {}", "zz".repeat(32))).is_err());
        assert!(
            ClusterKey::parse(&format!("herd-cluster-key-v2 {}", "00".repeat(32)))
                .unwrap_err()
                .contains("newer")
        );
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", ClusterKey::from_bytes([1; 32])),
            "ClusterKey(..)"
        );
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            ClusterKey::generate().unwrap(),
            ClusterKey::generate().unwrap()
        );
    }
}
