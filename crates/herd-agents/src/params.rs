//! Typed access to an agent's parameters, with defaults from its meta-data (pure).
//!
//! Every error names the parameter and says what is expected; it maps to OCF rc 6
//! (ERR_CONFIGURED) because a bad value is wrong on every node.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::meta::AgentSpec;
use crate::{AgentOutcome, ocf};

/// A parameter problem, reported as rc 6 with this text as the exit reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParamError {
    #[error("parameter {name:?} is required (set {name}=...)")]
    Missing { name: &'static str },
    #[error("parameter {name:?}: {value:?} is not {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl ParamError {
    /// The OCF outcome for this error.
    pub(crate) fn outcome(&self) -> AgentOutcome {
        AgentOutcome::fail(ocf::ERR_CONFIGURED, self.to_string())
    }
}

/// The parameters of one request, read through the agent's spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    spec: &'static AgentSpec,
    values: &'a BTreeMap<String, String>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(spec: &'static AgentSpec, values: &'a BTreeMap<String, String>) -> Self {
        Self { spec, values }
    }

    /// Names given that the agent does not know (typos), for a warning.
    pub(crate) fn unknown(&self) -> Vec<&'a str> {
        self.values
            .keys()
            .filter(|key| self.spec.param(key).is_none())
            .map(String::as_str)
            .collect()
    }

    /// `outcome` with a first line warning about the parameters the agent does not know
    /// (a typo in a CIB resource would otherwise pass silently); meta-data output stays
    /// bare XML.
    pub(crate) fn warn_unknown(&self, action: &str, outcome: AgentOutcome) -> AgentOutcome {
        let unknown = self.unknown();
        if unknown.is_empty() || action == "meta-data" {
            return outcome;
        }
        outcome.with_prefix(&format!(
            "warning: unknown parameters ignored: {}",
            unknown.join(", ")
        ))
    }

    /// The value, falling back to the meta-data default; None when unset and no default.
    pub(crate) fn opt(&self, name: &'static str) -> Option<&'a str> {
        let given = self
            .values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty());
        given.or_else(|| self.spec.param(name).and_then(|param| param.default))
    }

    /// A value that must be there.
    pub(crate) fn req(&self, name: &'static str) -> Result<&'a str, ParamError> {
        self.opt(name).ok_or(ParamError::Missing { name })
    }

    /// An unsigned integer (falls back to the default).
    pub(crate) fn u32(&self, name: &'static str) -> Result<Option<u32>, ParamError> {
        self.opt(name)
            .map(|value| {
                value
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| ParamError::Invalid {
                        name,
                        value: value.to_string(),
                        expected: "a non-negative integer",
                    })
            })
            .transpose()
    }

    /// A duration in milliseconds (a plain number, or with `ms`/`s` suffix).
    pub(crate) fn millis(&self, name: &'static str) -> Result<Option<Duration>, ParamError> {
        self.opt(name)
            .map(|value| {
                parse_duration(value).ok_or(ParamError::Invalid {
                    name,
                    value: value.to_string(),
                    expected: "a duration in milliseconds (e.g. 100, 100ms or 2s)",
                })
            })
            .transpose()
    }

    /// A boolean (`true/false`, `yes/no`, `1/0`, `on/off`).
    pub(crate) fn bool(&self, name: &'static str) -> Result<bool, ParamError> {
        match self.opt(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(value) => match value.as_str() {
                "1" | "true" | "yes" | "on" | "y" => Ok(true),
                "0" | "false" | "no" | "off" | "n" => Ok(false),
                _ => Err(ParamError::Invalid {
                    name,
                    value,
                    expected: "a boolean (true or false)",
                }),
            },
        }
    }
}

/// `250`, `250ms`, `2s` -> Duration; None for anything else.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.trim().parse::<u64>().ok().map(Duration::from_millis);
    }
    if let Some(secs) = text.strip_suffix('s') {
        return secs.trim().parse::<u64>().ok().map(Duration::from_secs);
    }
    text.parse::<u64>().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parameters_are_named_in_a_warning_but_not_in_meta_data() {
        let values = BTreeMap::from([
            ("ip".to_owned(), "10.0.0.5".to_owned()),
            ("interfal".to_owned(), "30s".to_owned()),
        ]);
        let params = Params::new(&crate::vip::SPEC, &values);
        let warned = params.warn_unknown("start", AgentOutcome::ok("started"));
        assert_eq!(
            "warning: unknown parameters ignored: interfal\nstarted",
            warned.output
        );
        let xml = params.warn_unknown("meta-data", AgentOutcome::ok("<resource-agent/>"));
        assert_eq!("<resource-agent/>", xml.output);
    }

    #[test]
    fn durations_accept_plain_milliseconds_and_suffixes() {
        assert_eq!(parse_duration("150"), Some(Duration::from_millis(150)));
        assert_eq!(parse_duration("150ms"), Some(Duration::from_millis(150)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("soon"), None);
    }
}
