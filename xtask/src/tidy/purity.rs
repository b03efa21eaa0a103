//! The purity rule: crates declared pure reach no I/O, through dependencies or std.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};

/// Crates that do I/O (runtimes, sockets, files, processes, the OS clock or entropy).
/// A pure crate may not depend on any of them, even transitively.
pub(crate) const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-util",
    "mio",
    "socket2",
    "nix",
    "rustix",
    "async-std",
    "smol",
    "hyper",
    "axum",
    "reqwest",
    "openraft",
    "redb",
    "rtnetlink",
    "netlink-sys",
    "zbus",
    "tempfile",
    "walkdir",
    "getrandom",
    "tracing-subscriber",
];

/// Names in source that mean the code touches the outside world.
pub(crate) const IO_CALLS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "std::env::var",
    "SystemTime::now",
    "Instant::now",
    "thread_rng",
    "rand::rng()",
];

/// One workspace member.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) manifest_path: PathBuf,
}

/// The resolved normal (non-dev, non-build) dependency graph, by package name.
#[derive(Debug, Default)]
pub(crate) struct DependencyGraph {
    pub(crate) members: Vec<Member>,
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl DependencyGraph {
    /// Reads the graph out of `cargo metadata --format-version 1` output.
    pub(crate) fn from_metadata(metadata: &serde_json::Value) -> Result<DependencyGraph> {
        let packages = metadata["packages"]
            .as_array()
            .context("metadata has no packages")?;
        let id_to_name: BTreeMap<&str, &str> = packages
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
            .collect();
        let member_ids: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .context("metadata has no workspace_members")?
            .iter()
            .filter_map(|id| id.as_str())
            .collect();
        let members = packages
            .iter()
            .filter(|p| p["id"].as_str().is_some_and(|id| member_ids.contains(id)))
            .map(|p| Member {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                manifest_path: PathBuf::from(p["manifest_path"].as_str().unwrap_or_default()),
            })
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let nodes = metadata["resolve"]["nodes"]
            .as_array()
            .context("metadata has no resolve")?;
        for node in nodes {
            let Some(from) = node["id"].as_str().and_then(|id| id_to_name.get(id)) else {
                continue;
            };
            let targets = edges.entry((*from).to_owned()).or_default();
            for dep in node["deps"].as_array().into_iter().flatten() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind["kind"].is_null());
                if let Some(to) = dep["pkg"].as_str().and_then(|id| id_to_name.get(id))
                    && normal
                {
                    targets.insert((*to).to_owned());
                }
            }
        }
        Ok(DependencyGraph { members, edges })
    }

    /// Adds an edge; for tests.
    #[cfg(test)]
    pub(crate) fn add_edge(&mut self, from: &str, to: &str) {
        self.edges
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned());
    }

    /// The I/O crates reachable from `root`, each with the path that reaches it.
    pub(crate) fn forbidden_dependencies(&self, root: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut seen = BTreeSet::new();
        let mut pending = vec![vec![root.to_owned()]];
        while let Some(path) = pending.pop() {
            let last = path.last().expect("paths are never empty");
            for next in self.edges.get(last).into_iter().flatten() {
                if !seen.insert(next.clone()) {
                    continue;
                }
                let mut longer = path.clone();
                longer.push(next.clone());
                if IO_CRATES.contains(&next.as_str()) {
                    found.push(longer.join(" -> "));
                } else {
                    pending.push(longer);
                }
            }
        }
        found.sort();
        found
    }
}

/// Whether a manifest declares `[package.metadata.herd] pure = true`.
pub(crate) fn declared_pure(manifest: &str) -> Result<bool> {
    let value: toml::Table = manifest.parse().context("parsing Cargo.toml")?;
    Ok(value
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("herd"))
        .and_then(|h| h.get("pure"))
        .and_then(toml::Value::as_bool)
        .unwrap_or(false))
}

/// The I/O names used in a source file, with 1-based line numbers. Comments and the
/// `#[cfg(test)]` module at the end of a file are not checked: tests may read fixtures.
pub(crate) fn forbidden_calls(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        for call in IO_CALLS {
            if code.contains(call) {
                found.push((index + 1, *call));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_an_io_crate_behind_an_innocent_one() {
        let mut graph = DependencyGraph::default();
        graph.add_edge("herd-sched", "herd-cib");
        graph.add_edge("herd-cib", "quick-xml");
        graph.add_edge("quick-xml", "tokio");
        assert_eq!(
            graph.forbidden_dependencies("herd-sched"),
            vec!["herd-sched -> herd-cib -> quick-xml -> tokio".to_owned()]
        );
    }

    #[test]
    fn a_clean_graph_has_no_findings() {
        let mut graph = DependencyGraph::default();
        graph.add_edge("herd-types", "serde");
        graph.add_edge("serde", "serde_derive");
        assert!(graph.forbidden_dependencies("herd-types").is_empty());
    }

    #[test]
    fn reads_the_pure_flag_from_the_manifest() {
        let pure = "[package]\nname = \"a\"\n[package.metadata.herd]\npure = true\n";
        assert!(declared_pure(pure).expect("valid toml"));
        assert!(!declared_pure("[package]\nname = \"a\"\n").expect("valid toml"));
    }

    #[test]
    fn flags_io_calls_but_not_comments_or_tests() {
        let text = "//! doc\nuse std::fs::File;\n// std::net is fine in a comment\nfn f() { \
                    let t = std::time::Instant::now(); }\n#[cfg(test)]\nmod tests { use std::fs; }\n";
        assert_eq!(
            forbidden_calls(text),
            vec![(2, "std::fs"), (4, "Instant::now")]
        );
    }
}
