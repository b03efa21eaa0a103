//! Errors of the executor's API. Agent failures are not errors: they are [`crate::OpResult`]s
//! with an OCF rc; these are the cases where no action could be attempted at all.

use std::path::PathBuf;

/// Why the executor could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A `class:provider:type` string that does not parse.
    #[error("agent {spec:?}: {why}")]
    BadSpec { spec: String, why: String },
    /// An action name the executor does not know.
    #[error(
        "unknown action {action:?} (use start, stop, monitor, promote, demote, migrate_to, migrate_from, reload, reload-agent, notify, meta-data or validate-all)"
    )]
    BadAction { action: String },
    /// The agent does not exist on this host (`why` names it and where it was looked for).
    #[error("{why}")]
    UnknownAgent { spec: String, why: String },
    /// A whole class cannot be used on this host (systemd units where systemd does not run).
    #[error("{why}")]
    ClassUnavailable { class: String, why: String },
    /// The agent's meta-data could not be read or parsed.
    #[error("meta-data of {spec}: {why}")]
    Metadata { spec: String, why: String },
    /// A required parameter (per the agent's meta-data) was not given.
    #[error("{spec}: missing required parameter {names} (give it as NAME=VALUE; `herd ra info {spec}` lists the parameters)", names = .names.join(", "))]
    MissingParams { spec: String, names: Vec<String> },
    /// Parameter names the agent's meta-data does not declare (typos), each with the closest
    /// declared name when one is near.
    #[error("{spec}: unknown parameter {names} ({advice})", names = describe_unknown(.names),
        advice = if *.takes_none { "the agent takes no parameters".to_owned() }
            else { format!("`herd ra info {spec}` lists the parameters") })]
    UnknownParams {
        spec: String,
        names: Vec<(String, Option<String>)>,
        /// The agent declares no parameters at all (LSB scripts, systemd units).
        takes_none: bool,
    },
    /// A history file could not be read or written.
    #[error("operation history {path}: {why}")]
    History { path: PathBuf, why: String },
    /// No history is recorded for a resource that a probe asked about.
    #[error(
        "resource {resource:?}: no operation history on this node (run it once, or probe it with its agent and parameters)"
    )]
    NoHistory { resource: String },
    /// A recurring operation that cannot be scheduled.
    #[error("resource {resource:?}: {why}")]
    Recurring { resource: String, why: String },
    /// Listing agents failed.
    #[error("{path}: {why}")]
    List { path: PathBuf, why: String },
}

/// `"ipp" (did you mean ip?), "x"`: the unknown names with their hints.
fn describe_unknown(names: &[(String, Option<String>)]) -> String {
    let described: Vec<String> = names
        .iter()
        .map(|(name, hint)| match hint {
            Some(hint) => format!("{name:?} (did you mean {hint}?)"),
            None => format!("{name:?}"),
        })
        .collect();
    described.join(", ")
}
