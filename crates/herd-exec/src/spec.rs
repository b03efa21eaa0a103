//! Agent specifications: `class:provider:type` strings such as `ocf:heartbeat:IPaddr2`,
//! `lsb:nginx`, `systemd:haproxy` or `service:ssh`, parsed into [`AgentSpec`].
//!
//! Pure: no I/O here; whether the agent exists is the executor's question.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ExecError;

/// The resource classes herd runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// An OCF agent `$OCF_ROOT/resource.d/PROVIDER/TYPE`; provider `herd` is a native agent.
    Ocf,
    /// An LSB init script `/etc/init.d/TYPE`.
    Lsb,
    /// A systemd unit (`TYPE` or `TYPE.service`).
    Systemd,
    /// LSB when an init script exists, else systemd.
    Service,
}

impl Class {
    /// The class as written in a spec (`ocf`, `lsb`, `systemd`, `service`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Ocf => "ocf",
            Class::Lsb => "lsb",
            Class::Systemd => "systemd",
            Class::Service => "service",
        }
    }
}

/// Which agent runs a resource: class, provider (OCF only) and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentSpec {
    /// The class (`ocf`, `lsb`, `systemd`, `service`).
    pub class: Class,
    /// The OCF provider (`heartbeat`, `pacemaker`, `herd`...); `None` for other classes.
    pub provider: Option<String>,
    /// The agent type: the script, unit or native agent name.
    pub kind: String,
}

impl AgentSpec {
    /// An OCF agent spec.
    pub fn ocf(provider: &str, kind: &str) -> AgentSpec {
        AgentSpec {
            class: Class::Ocf,
            provider: Some(provider.to_owned()),
            kind: kind.to_owned(),
        }
    }

    /// True for `ocf:herd:TYPE`, herd's built-in agents.
    pub fn is_native(&self) -> bool {
        self.class == Class::Ocf && self.provider.as_deref() == Some("herd")
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(provider) => write!(f, "{}:{}:{}", self.class.as_str(), provider, self.kind),
            None => write!(f, "{}:{}", self.class.as_str(), self.kind),
        }
    }
}

fn valid_word(word: &str) -> bool {
    !word.is_empty()
        && word != "."
        && word != ".."
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

impl FromStr for AgentSpec {
    type Err = ExecError;

    /// Parses `ocf:PROVIDER:TYPE`, `lsb:TYPE`, `systemd:TYPE`, `service:TYPE`, or a bare
    /// `TYPE` (which means `ocf:heartbeat:TYPE`, as crmsh reads it).
    fn from_str(text: &str) -> Result<AgentSpec, ExecError> {
        let bad = |why: &str| ExecError::BadSpec {
            spec: text.to_owned(),
            why: why.to_owned(),
        };
        let parts: Vec<&str> = text.split(':').collect();
        let spec = match parts.as_slice() {
            [kind] => AgentSpec::ocf("heartbeat", kind),
            ["ocf", provider, kind] => AgentSpec::ocf(provider, kind),
            ["ocf", _] => return Err(bad("an OCF agent needs a provider: ocf:PROVIDER:TYPE")),
            [class @ ("lsb" | "systemd" | "service"), kind] => AgentSpec {
                class: match *class {
                    "lsb" => Class::Lsb,
                    "systemd" => Class::Systemd,
                    _ => Class::Service,
                },
                provider: None,
                kind: (*kind).to_owned(),
            },
            [class, ..] if !matches!(*class, "ocf" | "lsb" | "systemd" | "service") => {
                return Err(bad("unknown class (use ocf, lsb, systemd or service)"));
            }
            _ => return Err(bad("expected ocf:PROVIDER:TYPE or CLASS:TYPE")),
        };
        if !valid_word(&spec.kind) || !spec.provider.as_deref().is_none_or(valid_word) {
            return Err(bad(
                "names may hold only letters, digits, '-', '_', '.' and '@'",
            ));
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_bare_type_means_heartbeat() {
        for text in [
            "ocf:heartbeat:IPaddr2",
            "lsb:nginx",
            "systemd:haproxy",
            "ocf:herd:vip",
        ] {
            assert_eq!(text, text.parse::<AgentSpec>().unwrap().to_string());
        }
        assert_eq!(
            "ocf:heartbeat:Dummy",
            "Dummy".parse::<AgentSpec>().unwrap().to_string()
        );
        assert!("ocf:herd:vip".parse::<AgentSpec>().unwrap().is_native());
    }

    #[test]
    fn bad_specs_are_refused_with_a_reason() {
        for text in [
            "",
            "ocf:heartbeat",
            "foo:bar",
            "ocf:../x:y",
            "ocf:a:b:c",
            "lsb:../../bin/sh",
        ] {
            let err = text.parse::<AgentSpec>().unwrap_err().to_string();
            assert!(err.contains(text), "{err}");
        }
    }
}
