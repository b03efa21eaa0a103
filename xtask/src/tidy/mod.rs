//! The architecture invariants, checked on the repository as it is on disk.
//!
//! - Every Rust file under `crates/` and `xtask/` opens with a `//!` module doc.
//! - A crate whose `Cargo.toml` says `[package.metadata.herd] pure = true` has no I/O
//!   dependency, directly or transitively (tokio, sockets, files, processes, the clock,
//!   randomness from the OS), and its `src/` names none of `std::fs`, `std::net`,
//!   `std::process`, `std::thread`, `SystemTime::now`, `Instant::now`, `thread_rng`.
//! - ARCHITECTURE.md names every crate of the workspace.
//!
//! Reading the files and asking `cargo metadata` is the I/O here; the checks themselves are
//! functions on values ([`purity`], [`docs`]) so that their tests need no fixtures on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

pub(crate) mod docs;
pub(crate) mod purity;

/// The repository root: the parent of this crate's folder.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// Runs every check and returns the violations, one sentence each.
pub(crate) fn run(root: &Path) -> Result<Vec<String>> {
    let metadata = cargo_metadata(root)?;
    let graph = purity::DependencyGraph::from_metadata(&metadata)?;
    let mut violations = Vec::new();

    for member in &graph.members {
        let manifest = std::fs::read_to_string(&member.manifest_path)
            .with_context(|| format!("reading {}", member.manifest_path.display()))?;
        let crate_dir = member
            .manifest_path
            .parent()
            .expect("a manifest has a folder");
        let sources = rust_files(crate_dir)?;
        for (path, text) in &sources {
            if let Some(problem) = docs::missing_module_doc(text) {
                violations.push(format!("{}: {problem}", relative(root, path)));
            }
        }
        if purity::declared_pure(&manifest)? {
            for dependency in graph.forbidden_dependencies(&member.name) {
                violations.push(format!(
                    "crate {} is declared pure but depends on {dependency}",
                    member.name
                ));
            }
            let src_dir = crate_dir.join("src");
            for (path, text) in sources
                .iter()
                .filter(|(path, _)| path.starts_with(&src_dir))
            {
                for (line_no, what) in purity::forbidden_calls(text) {
                    violations.push(format!(
                        "{}:{line_no}: crate {} is declared pure but uses {what}",
                        relative(root, path),
                        member.name
                    ));
                }
            }
        }
    }

    let architecture =
        std::fs::read_to_string(root.join("ARCHITECTURE.md")).context("reading ARCHITECTURE.md")?;
    for member in &graph.members {
        if !architecture.contains(&format!("`{}`", member.name)) {
            violations.push(format!(
                "ARCHITECTURE.md does not name crate `{}`: add it to the code map",
                member.name
            ));
        }
    }
    Ok(violations)
}

fn cargo_metadata(root: &Path) -> Result<serde_json::Value> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    anyhow::ensure!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("parsing cargo metadata output")
}

/// Every `.rs` file below `dir`, skipping build output, with its text.
fn rust_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .with_context(|| format!("listing {}", current.display()))?;
        for entry in entries {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    pending.push(path);
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                files.push((path, text));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn repository_keeps_its_architecture_invariants() {
        let violations = super::run(&super::repo_root()).expect("tidy runs");
        assert!(
            violations.is_empty(),
            "tidy violations:\n{}",
            violations.join("\n")
        );
    }
}
