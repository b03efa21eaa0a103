//! herd's configuration file, `herd.toml`: one file per node, read by `herd agent` and by
//! every admin command.
//!
//! ```toml
//! cluster = "web"
//! node = "n1"                     # which entry of [[nodes]] this machine is
//! data_dir = "/var/lib/herd"
//! key_file = "/etc/herd/cluster.key"
//! timing = "default"              # or "fast", "wan", or a [timing] table
//! [[nodes]]
//! name = "n1"
//! addrs = ["10.0.0.1:7400", "192.168.1.1:7400"]   # one or two links
//! [[nodes]]
//! name = "w"
//! addrs = ["10.0.0.9:7400"]
//! witness = true
//! ```
//!
//! Parsing keeps the line of every key, so an unknown key or a bad value is an error that
//! names the file, the line and the key (`herd.toml:7: unknown key 'adrs' in [[nodes]] (did
//! you mean 'addrs'?)`). This crate is not pure in the tidy sense only because
//! [`Config::load`] reads the file and [`locate`] reads `HERD_CONFIG`; [`Config::parse`] does
//! no I/O. It knows nothing of sockets, keys or Raft.

use std::path::{Path, PathBuf};

mod error;
mod executor;
mod nodes;
mod storage;
mod timing;
mod walk;

pub use error::ConfigError;
pub use executor::ExecutorConfig;
pub use nodes::{DEFAULT_PORT, LINKS_PER_NODE_MAX, NODES_MAX, NodeConfig};
pub use storage::{MIN_FREE_MB_DEFAULT, StorageConfig};
pub use timing::{PROFILES, Timing};

use walk::{Doc, Table};

/// Where the configuration is read from when neither `--config` nor `HERD_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/herd/herd.toml";

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "HERD_CONFIG";

/// The largest configuration file read, in bytes.
pub const CONFIG_BYTES_MAX: u64 = 1024 * 1024;

/// The file name of the admin Unix socket inside `data_dir`.
pub const SOCKET_FILE_NAME: &str = "herd.sock";

/// A checked configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from (as given).
    pub path: PathBuf,
    /// The cluster's name; nodes of another cluster are refused even with the same key.
    pub cluster: String,
    /// This machine's entry in `nodes`.
    pub node: String,
    /// Raft log, state and the admin socket live here (default /var/lib/herd).
    pub data_dir: PathBuf,
    /// The cluster key written by `herd keygen` (default /etc/herd/cluster.key).
    pub key_file: PathBuf,
    /// Every node of the cluster, this one included.
    pub nodes: Vec<NodeConfig>,
    pub timing: Timing,
    /// Members of this group may use the admin socket besides root.
    pub admin_group: Option<String>,
    pub executor: ExecutorConfig,
    /// The `[storage]` table: the free-space reserve of `data_dir`.
    pub storage: StorageConfig,
}

const TOP_KEYS: [&str; 10] = [
    "cluster",
    "node",
    "data_dir",
    "key_file",
    "nodes",
    "timing",
    "admin_group",
    "executor",
    "version",
    "storage",
];

/// The path of the configuration file: `explicit` (the --config flag), else `$HERD_CONFIG`,
/// else /etc/herd/herd.toml.
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(DEFAULT_CONFIG_PATH),
    }
}

impl Config {
    /// Reads and checks the file at `path`. Relative `data_dir` and `key_file` are taken
    /// relative to the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        use std::io::Read;
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(CONFIG_BYTES_MAX + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > CONFIG_BYTES_MAX {
            return Err(read_error(std::io::Error::other(format!(
                "larger than {CONFIG_BYTES_MAX} bytes"
            ))));
        }
        Config::parse(&text, path)
    }

    /// Checks the text of a configuration file; `path` names it in errors and anchors
    /// relative paths. No I/O.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let doc = Doc::new(path, text);
        let parsed = toml::de::DeTable::parse(text).map_err(|err| {
            let line = err.span().map_or(1, |span| doc.line_of(span.start));
            let message = err.message().trim().to_string();
            doc.error(line, "", format!("not valid TOML: {message}"))
        })?;
        let top = Table {
            doc: &doc,
            table: parsed.get_ref(),
            title: "the top level".to_string(),
            prefix: String::new(),
            line: 1,
        };
        top.check_keys(&TOP_KEYS)?;
        if let Some(version) = top.integer("version", u64::MAX)?
            && version.value != 1
        {
            return Err(top.invalid(
                "version",
                version.line,
                format!(
                    "configuration version {} is not supported by this herd (use version = 1)",
                    version.value
                ),
            ));
        }
        let cluster =
            top.required_string("cluster", "the cluster's name, e.g. cluster = \"web\"")?;
        nodes::check_name(&top, "cluster", &cluster.value, cluster.line)?;
        let node = top.required_string(
            "node",
            "which [[nodes]] entry this machine is, e.g. node = \"n1\"",
        )?;
        let nodes = nodes::read(&top)?;
        if !nodes.iter().any(|entry| entry.name == node.value) {
            let names: Vec<&str> = nodes.iter().map(|entry| entry.name.as_str()).collect();
            return Err(top.invalid(
                "node",
                node.line,
                format!(
                    "node '{}' is not listed in [[nodes]] (listed: {})",
                    node.value,
                    names.join(", ")
                ),
            ));
        }
        let base = path.parent().unwrap_or(Path::new(""));
        let data_dir = read_path(&top, "data_dir", "/var/lib/herd", base)?;
        let key_file = read_path(&top, "key_file", "/etc/herd/cluster.key", base)?;
        let admin_group = match top.string("admin_group")? {
            Some(group) if group.value.is_empty() || group.value.contains(char::is_whitespace) => {
                return Err(top.invalid("admin_group", group.line, format!(
                    "invalid group name {:?} (use an existing Unix group, or leave the key out)",
                    group.value)));
            }
            group => group.map(|group| group.value),
        };
        Ok(Config {
            path: path.to_path_buf(),
            cluster: cluster.value,
            node: node.value,
            data_dir,
            key_file,
            nodes,
            timing: timing::read(&top)?,
            admin_group,
            executor: executor::read(&top)?,
            storage: storage::read(&top)?,
        })
    }

    /// This machine's entry of `nodes`.
    pub fn local_node(&self) -> &NodeConfig {
        self.nodes
            .iter()
            .find(|entry| entry.name == self.node)
            .expect("parse checks that `node` is listed in [[nodes]]")
    }

    /// Every node but this one.
    pub fn peers(&self) -> impl Iterator<Item = &NodeConfig> {
        self.nodes
            .iter()
            .filter(move |entry| entry.name != self.node)
    }

    /// The node named `name`, if listed.
    pub fn node_named(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|entry| entry.name == name)
    }

    /// The admin Unix socket, inside `data_dir`.
    pub fn socket_path(&self) -> PathBuf {
        self.data_dir.join(SOCKET_FILE_NAME)
    }
}

fn read_path(
    top: &Table<'_, '_>,
    key: &str,
    default: &str,
    base: &Path,
) -> Result<PathBuf, ConfigError> {
    let Some(text) = top.string(key)? else {
        return Ok(PathBuf::from(default));
    };
    if text.value.is_empty() {
        return Err(top.invalid(
            key,
            text.line,
            format!("'{key}' is empty (give a path or leave the key out)"),
        ));
    }
    let path = PathBuf::from(&text.value);
    Ok(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}
