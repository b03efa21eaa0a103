//! The one error type of herd-config: where in which file, and what to do about it.

use std::path::PathBuf;

/// Why a configuration file could not be used. Every variant names the file; problems
/// inside the file also name the line (1-based) and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error(
        "{}: cannot read the configuration file: {source} (pass --config FILE, set HERD_CONFIG, \
         or create /etc/herd/herd.toml)",
        path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key or value is wrong.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// The dotted key the problem is about (`nodes[1].addrs`), empty for syntax errors.
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the error points at, if it is about the file's content.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid { line, .. } => Some(*line),
        }
    }

    /// The key the error is about (empty for syntax errors and unreadable files).
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Read { .. } => "",
            ConfigError::Invalid { key, .. } => key,
        }
    }
}
