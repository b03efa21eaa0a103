//! Operation requests and results: what the executor is asked to do and what came of it.
//!
//! Pure data; the executor ([`crate::Executor`]) does the I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ExecError;
use crate::rc::OcfRc;
use crate::spec::AgentSpec;

/// The actions an agent can be asked to carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "start")]
    Start,
    #[serde(rename = "stop")]
    Stop,
    #[serde(rename = "monitor")]
    Monitor,
    #[serde(rename = "promote")]
    Promote,
    #[serde(rename = "demote")]
    Demote,
    #[serde(rename = "migrate_to")]
    MigrateTo,
    #[serde(rename = "migrate_from")]
    MigrateFrom,
    #[serde(rename = "reload")]
    Reload,
    #[serde(rename = "reload-agent")]
    ReloadAgent,
    #[serde(rename = "notify")]
    Notify,
    #[serde(rename = "meta-data")]
    MetaData,
    #[serde(rename = "validate-all")]
    ValidateAll,
}

impl Action {
    /// Every action, in the order `herd ra` lists them.
    pub const ALL: [Action; 12] = [
        Action::Start,
        Action::Stop,
        Action::Monitor,
        Action::Promote,
        Action::Demote,
        Action::MigrateTo,
        Action::MigrateFrom,
        Action::Reload,
        Action::ReloadAgent,
        Action::Notify,
        Action::MetaData,
        Action::ValidateAll,
    ];

    /// The action as the agent receives it (its one argument).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::MigrateTo => "migrate_to",
            Action::MigrateFrom => "migrate_from",
            Action::Reload => "reload",
            Action::ReloadAgent => "reload-agent",
            Action::Notify => "notify",
            Action::MetaData => "meta-data",
            Action::ValidateAll => "validate-all",
        }
    }

    /// True for the actions that leave the resource's state as it was (so a history of
    /// them need not be replayed): monitor, meta-data, validate-all, notify.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Action::Monitor | Action::MetaData | Action::ValidateAll | Action::Notify
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = ExecError;

    fn from_str(text: &str) -> Result<Action, ExecError> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .or(match text {
                "status" => Some(Action::Monitor),
                "meta_data" | "metadata" => Some(Action::MetaData),
                "validate" => Some(Action::ValidateAll),
                _ => None,
            })
            .ok_or_else(|| ExecError::BadAction {
                action: text.to_owned(),
            })
    }
}

/// One action to run on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRequest {
    /// The resource instance id (`OCF_RESOURCE_INSTANCE`; clone instances as `id:N`).
    pub resource: String,
    /// Which agent runs it.
    pub agent: AgentSpec,
    /// What to do.
    pub action: Action,
    /// Instance attributes, exported as `OCF_RESKEY_<name>`.
    pub params: BTreeMap<String, String>,
    /// Meta and op attributes, exported as `OCF_RESKEY_CRM_meta_<name>` (dashes become
    /// underscores). `timeout`, `interval` and `name` are set by the executor.
    pub meta: BTreeMap<String, String>,
    /// The recurrence in milliseconds; 0 for one-shot actions (a monitor with 0 is a probe).
    pub interval_ms: u64,
    /// The time limit in milliseconds; `None` takes the executor's default.
    pub timeout_ms: Option<u64>,
}

impl OpRequest {
    /// A one-shot request with no parameters, meta attributes or explicit timeout.
    pub fn new(resource: &str, agent: AgentSpec, action: Action) -> OpRequest {
        OpRequest {
            resource: resource.to_owned(),
            agent,
            action,
            params: BTreeMap::new(),
            meta: BTreeMap::new(),
            interval_ms: 0,
            timeout_ms: None,
        }
    }

    /// Adds one instance attribute.
    pub fn param(mut self, name: &str, value: &str) -> OpRequest {
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sets the time limit.
    pub fn timeout_ms(mut self, timeout_ms: u64) -> OpRequest {
        self.timeout_ms = Some(timeout_ms);
        self
    }

    /// Sets the recurrence.
    pub fn interval_ms(mut self, interval_ms: u64) -> OpRequest {
        self.interval_ms = interval_ms;
        self
    }

    /// The same resource, agent and parameters with another action, one-shot.
    pub fn with_action(&self, action: Action) -> OpRequest {
        OpRequest {
            action,
            interval_ms: 0,
            ..self.clone()
        }
    }
}

/// How the executor finished an operation, apart from the agent's rc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecStatus {
    /// The agent ran and exited; `rc` is its answer.
    Done,
    /// The agent ran past its timeout and was killed; `rc` is 1.
    TimedOut,
    /// The agent (or systemd) is not there; `rc` is 5.
    NotInstalled,
    /// The agent could not be run, or died of a signal; `rc` is 1.
    Error,
    /// The operation was cancelled (recurring monitor cancelled, lease lost); `rc` is 1.
    Cancelled,
}

/// The outcome of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// The resource instance id.
    pub resource: String,
    /// The agent, as `class:provider:type`.
    pub agent: String,
    /// What was done.
    pub action: Action,
    /// The recurrence in milliseconds (0 for one-shot).
    pub interval_ms: u64,
    /// The OCF return code (LSB and systemd results are mapped to OCF).
    pub rc: i32,
    /// How the executor finished it.
    pub status: ExecStatus,
    /// The agent's `ocf-exit-reason:` (the last one), or the executor's own reason.
    pub exit_reason: Option<String>,
    /// stdout then stderr, size-limited.
    pub output: String,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// How long it ran.
    pub duration_ms: u64,
    /// A number unique within this executor's lifetime, increasing.
    pub call_id: u64,
}

impl OpResult {
    /// The rc as an [`OcfRc`].
    pub fn ocf(&self) -> OcfRc {
        OcfRc::from_code(self.rc)
    }

    /// True when the result is what the action promises on success: 0 for most actions,
    /// 0, 8, 190 or 191 for monitors (7 only when `expect_stopped`).
    pub fn succeeded(&self, expect_stopped: bool) -> bool {
        if self.status != ExecStatus::Done {
            return false;
        }
        match (self.action, self.ocf()) {
            (Action::Monitor, OcfRc::NotRunning) => expect_stopped,
            (Action::Monitor, rc) => {
                !expect_stopped
                    && matches!(
                        rc,
                        OcfRc::Success
                            | OcfRc::RunningPromoted
                            | OcfRc::Degraded
                            | OcfRc::DegradedPromoted
                    )
            }
            (_, rc) => rc == OcfRc::Success,
        }
    }

    /// Pacemaker's operation key: `RESOURCE_ACTION_INTERVALMS` (`web_monitor_10000`).
    pub fn op_key(&self) -> String {
        format!("{}_{}_{}", self.resource, self.action, self.interval_ms)
    }

    /// One line for people: `r1 monitor: 7 OCF_NOT_RUNNING (not running)` plus the reason.
    pub fn summary(&self) -> String {
        let rc = self.ocf();
        let mut line = format!(
            "{} {}: rc={} {} ({})",
            self.resource,
            self.action,
            self.rc,
            rc.name(),
            rc.describe()
        );
        match self.status {
            ExecStatus::Done => {}
            ExecStatus::TimedOut => line.push_str(" [timed out]"),
            ExecStatus::NotInstalled => line.push_str(" [not installed]"),
            ExecStatus::Error => line.push_str(" [execution error]"),
            ExecStatus::Cancelled => line.push_str(" [cancelled]"),
        }
        if let Some(reason) = &self.exit_reason {
            line.push_str(": ");
            line.push_str(reason);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_with_their_legacy_spellings() {
        for action in Action::ALL {
            assert_eq!(action, action.as_str().parse().unwrap());
        }
        assert_eq!(Action::Monitor, "status".parse().unwrap());
        assert!("frobnicate".parse::<Action>().is_err());
    }
}
