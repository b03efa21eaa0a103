//! Listing the agents installed on this host: OCF agents under `OCF_ROOT/resource.d`,
//! herd's native agents (`ocf:herd:*`), LSB init scripts, and systemd services when systemd
//! runs. I/O: directory reads and one `systemctl list-unit-files`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::class::{native, systemd};
use crate::error::ExecError;
use crate::executor::Executor;
use crate::spec::{AgentSpec, Class};

/// The agents found, and notes on classes that could not be listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentList {
    pub agents: Vec<AgentSpec>,
    pub notes: Vec<String>,
}

fn executables(dir: &Path) -> Result<Vec<String>, ExecError> {
    let entries = fs::read_dir(dir).map_err(|e| ExecError::List {
        path: dir.to_path_buf(),
        why: format!("cannot list: {e}"),
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| {
            let executable = entry
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            executable && !entry.file_name().to_string_lossy().starts_with('.')
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn providers(root: &Path) -> Result<Vec<String>, ExecError> {
    let dir = root.join("resource.d");
    let entries = fs::read_dir(&dir).map_err(|e| ExecError::List {
        path: dir.clone(),
        why: format!("cannot list: {e}"),
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

fn systemd_units() -> Result<Vec<String>, String> {
    let output = std::process::Command::new("systemctl")
        .args([
            "list-unit-files",
            "--type=service",
            "--no-legend",
            "--no-pager",
        ])
        .output()
        .map_err(|e| format!("systemctl: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|unit| !unit.contains('@'))
        .map(|unit| unit.trim_end_matches(".service").to_owned())
        .collect())
}

/// The OCF agents under `ocf_root` plus herd's native ones, of one provider or all; an
/// unknown provider is an error that lists the providers there are.
fn ocf_agents(ocf_root: &Path, provider: Option<&str>) -> Result<Vec<AgentSpec>, ExecError> {
    let mut names = providers(ocf_root).unwrap_or_default();
    names.push("herd".to_owned());
    names.sort();
    names.dedup();
    if let Some(want) = provider
        && !names.iter().any(|p| p == want)
    {
        return Err(ExecError::UnknownAgent {
            spec: format!("ocf:{want}"),
            why: format!(
                "unknown OCF provider {want:?} (providers here: {})",
                names.join(", ")
            ),
        });
    }
    let mut agents = Vec::new();
    for name in names
        .iter()
        .filter(|p| provider.is_none_or(|want| want == p.as_str()))
    {
        let kinds = if name == "herd" {
            native::names().into_iter().map(str::to_owned).collect()
        } else {
            executables(&ocf_root.join("resource.d").join(name))?
        };
        agents.extend(kinds.iter().map(|kind| AgentSpec::ocf(name, kind)));
    }
    Ok(agents)
}

impl Executor {
    /// Lists agents; `filter` is `CLASS` or `ocf:PROVIDER` (`None`: everything).
    pub fn list_agents(&self, filter: Option<&str>) -> Result<AgentList, ExecError> {
        let (class, provider) =
            match filter.map(|f| f.split_once(':').map_or((f, None), |(c, p)| (c, Some(p)))) {
                None => (None, None),
                Some(("ocf", provider)) => (Some(Class::Ocf), provider),
                Some(("lsb", None)) => (Some(Class::Lsb), None),
                Some(("systemd" | "service", None)) => (Some(Class::Systemd), None),
                Some(_) => {
                    return Err(ExecError::BadSpec {
                        spec: filter.unwrap_or_default().to_owned(),
                        why: "not a class; list takes ocf, ocf:PROVIDER, lsb or systemd".to_owned(),
                    });
                }
            };
        let wants = |c: Class| class.as_ref().is_none_or(|want| *want == c);
        let config = self.config();
        let mut list = AgentList::default();
        if wants(Class::Ocf) {
            list.agents.extend(ocf_agents(&config.ocf_root, provider)?);
        }
        if wants(Class::Lsb) {
            let scripts = executables(&config.lsb_dir).unwrap_or_default();
            list.agents
                .extend(scripts.into_iter().map(|kind| AgentSpec {
                    class: Class::Lsb,
                    provider: None,
                    kind,
                }));
        }
        if wants(Class::Systemd) {
            let units = match systemd::systemd_missing() {
                Some(why) if class.is_some() => {
                    return Err(ExecError::ClassUnavailable {
                        class: "systemd".to_owned(),
                        why,
                    });
                }
                Some(why) => Err(why),
                None => systemd_units(),
            };
            match units {
                Ok(units) => list.agents.extend(units.into_iter().map(|kind| AgentSpec {
                    class: Class::Systemd,
                    provider: None,
                    kind,
                })),
                Err(why) => list.notes.push(why),
            }
        }
        Ok(list)
    }
}
