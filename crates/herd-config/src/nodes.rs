//! The `[[nodes]]` list: names, one or two link addresses, and the witness kind.
//!
//! Checks what can be checked without the network: unique names, unique addresses, one or
//! two links per node, at least one node that can run resources. No I/O here (addresses are
//! IP literals; host names are refused rather than resolved).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use toml::de::DeValue;

use crate::error::ConfigError;
use crate::walk::Table;

/// The port used when an address in `addrs` has none.
pub const DEFAULT_PORT: u16 = 7400;

/// How many links (addresses) a node may have.
pub const LINKS_PER_NODE_MAX: usize = 2;

/// The most nodes one cluster file may list.
pub const NODES_MAX: usize = 64;

/// One entry of `[[nodes]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub name: String,
    /// One or two link addresses, in order of preference.
    pub addrs: Vec<SocketAddr>,
    /// A witness votes in Raft but never runs resources and never stays DC.
    pub witness: bool,
}

const NODE_KEYS: [&str; 3] = ["name", "addrs", "witness"];

/// Reads and checks the `[[nodes]]` array of tables.
pub(crate) fn read(top: &Table<'_, '_>) -> Result<Vec<NodeConfig>, ConfigError> {
    let Some(value) = top.get("nodes") else {
        return Err(top.missing(
            "nodes",
            "add one [[nodes]] table per machine, with name and addrs",
        ));
    };
    let DeValue::Array(entries) = value.get_ref() else {
        return Err(top.wrong_type("nodes", value, "a list of [[nodes]] tables"));
    };
    if entries.len() > NODES_MAX {
        return Err(top.invalid(
            "nodes",
            top.line_of(value),
            format!(
                "{} nodes listed; herd supports at most {NODES_MAX}",
                entries.len()
            ),
        ));
    }
    let mut seen = Seen::default();
    let mut nodes = Vec::with_capacity(entries.len());
    for (idx, entry) in entries.iter().enumerate() {
        let DeValue::Table(table) = entry.get_ref() else {
            return Err(top.wrong_type("nodes", entry, "a list of [[nodes]] tables"));
        };
        let table = Table {
            doc: top.doc,
            table,
            title: "[[nodes]]".to_string(),
            prefix: format!("nodes[{idx}]."),
            line: top.line_of(entry),
        };
        nodes.push(read_node(&table, &mut seen)?);
    }
    if !nodes.iter().any(|node| !node.witness) {
        return Err(top.invalid(
            "nodes",
            top.line_of(value),
            "every node is a witness; at least one node must run resources (drop witness = true)",
        ));
    }
    if nodes.iter().filter(|node| node.witness).count() > 1 {
        return Err(top.invalid(
            "nodes",
            top.line_of(value),
            "more than one node has witness = true; a cluster has at most one witness",
        ));
    }
    Ok(nodes)
}

/// Names and addresses already listed, with their lines.
#[derive(Default)]
struct Seen {
    names: HashMap<String, usize>,
    addrs: HashMap<SocketAddr, (String, usize)>,
}

/// Reads one `[[nodes]]` table, refusing a name or address listed before.
fn read_node(table: &Table<'_, '_>, seen: &mut Seen) -> Result<NodeConfig, ConfigError> {
    table.check_keys(&NODE_KEYS)?;
    let name = table.required_string("name", "the node's name, e.g. name = \"n1\"")?;
    check_name(table, "name", &name.value, name.line)?;
    if let Some(first) = seen.names.insert(name.value.clone(), name.line) {
        return Err(table.invalid(
            "name",
            name.line,
            format!(
                "node '{}' is listed twice (first on line {first}); node names must be unique",
                name.value
            ),
        ));
    }
    let node_addrs = read_addrs(table)?;
    for (addr, line) in &node_addrs {
        if let Some((other, first)) = seen.addrs.insert(*addr, (name.value.clone(), *line)) {
            return Err(table.invalid(
                "addrs",
                *line,
                format!(
                    "address {addr} is already used by node '{other}' (line {first}); \
                     every link address must be unique"
                ),
            ));
        }
    }
    let witness = table.bool("witness")?.is_some_and(|flag| flag.value);
    Ok(NodeConfig {
        name: name.value,
        addrs: node_addrs.into_iter().map(|(addr, _)| addr).collect(),
        witness,
    })
}

/// Checks a node name: what may appear in status output, file names and the CIB.
pub(crate) fn check_name(
    table: &Table<'_, '_>,
    key: &str,
    name: &str,
    line: usize,
) -> Result<(), ConfigError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['-', '.']);
    if valid {
        Ok(())
    } else {
        Err(table.invalid(key, line, format!(
            "invalid name {name:?} (use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.')")))
    }
}

fn read_addrs(table: &Table<'_, '_>) -> Result<Vec<(SocketAddr, usize)>, ConfigError> {
    let hint = "one or two links, e.g. addrs = [\"10.0.0.1:7400\"]";
    let Some(value) = table.get("addrs") else {
        return Err(table.missing("addrs", hint));
    };
    let DeValue::Array(items) = value.get_ref() else {
        return Err(table.wrong_type(
            "addrs",
            value,
            "a list of addresses, e.g. [\"10.0.0.1:7400\"]",
        ));
    };
    if items.is_empty() || items.len() > LINKS_PER_NODE_MAX {
        return Err(table.invalid(
            "addrs",
            table.line_of(value),
            format!(
                "{} addresses given; a node has 1 to {LINKS_PER_NODE_MAX} links",
                items.len()
            ),
        ));
    }
    let mut out: Vec<(SocketAddr, usize)> = Vec::with_capacity(items.len());
    for item in items.iter() {
        let line = table.line_of(item);
        let Some(text) = item.get_ref().as_str() else {
            return Err(table.wrong_type(
                "addrs",
                item,
                "a list of strings like \"10.0.0.1:7400\"",
            ));
        };
        let addr = parse_addr(text).ok_or_else(|| {
            let message = if has_bad_port(text) {
                format!("invalid port in {text:?} (use a port from 1 to 65535)")
            } else {
                format!(
                    "invalid address {text:?} (use IP:PORT such as \"10.0.0.1:7400\" or \
                     \"[fd00::1]:7400\"; host names are not resolved)"
                )
            };
            table.invalid("addrs", line, message)
        })?;
        if addr.port() == 0 || addr.ip().is_unspecified() {
            return Err(table.invalid("addrs", line, format!(
                "address {addr} cannot be dialed (use the node's real address and a nonzero port)")));
        }
        if out.iter().any(|(seen, _)| *seen == addr) {
            return Err(table.invalid("addrs", line, format!("address {addr} is listed twice")));
        }
        out.push((addr, line));
    }
    Ok(out)
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 7400).
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
}

/// An IP address followed by something that is not a port number.
fn has_bad_port(text: &str) -> bool {
    let Some((host, port)) = text.trim().rsplit_once(':') else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.parse::<IpAddr>().is_ok() && port.parse::<u16>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_ip_gets_default_port() {
        assert_eq!(parse_addr("10.0.0.1"), "10.0.0.1:7400".parse().ok());
        assert_eq!(parse_addr("[fd00::1]"), "[fd00::1]:7400".parse().ok());
        assert_eq!(parse_addr("[fd00::1]:99"), "[fd00::1]:99".parse().ok());
        assert_eq!(parse_addr("node1:7400"), None);
        assert!(has_bad_port("127.0.0.1:405591"));
        assert!(has_bad_port("[fd00::1]:x"));
        assert!(!has_bad_port("node1:7400"));
    }
}
