//! OCF exit codes and their meaning, and the LSB status codes mapped onto them.
//!
//! Pure: numbers in, names and roles out.

use serde::{Deserialize, Serialize};

/// An OCF return code, with the names the OCF spec and Pacemaker use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcfRc {
    /// 0: done; for monitor, running (unpromoted).
    Success,
    /// 1: generic failure.
    ErrGeneric,
    /// 2: parameters invalid on this host.
    ErrArgs,
    /// 3: action not implemented.
    Unimplemented,
    /// 4: insufficient privileges.
    ErrPerm,
    /// 5: a needed program or file is not installed on this host.
    NotInstalled,
    /// 6: the configuration is invalid anywhere.
    NotConfigured,
    /// 7: cleanly stopped.
    NotRunning,
    /// 8: running in the promoted role.
    RunningPromoted,
    /// 9: failed in the promoted role.
    FailedPromoted,
    /// 190: active but degraded.
    Degraded,
    /// 191: promoted but degraded.
    DegradedPromoted,
    /// Any other code: a custom failure, treated as soft.
    Other(i32),
}

impl OcfRc {
    /// The code's meaning from its number.
    pub fn from_code(code: i32) -> OcfRc {
        match code {
            0 => OcfRc::Success,
            1 => OcfRc::ErrGeneric,
            2 => OcfRc::ErrArgs,
            3 => OcfRc::Unimplemented,
            4 => OcfRc::ErrPerm,
            5 => OcfRc::NotInstalled,
            6 => OcfRc::NotConfigured,
            7 => OcfRc::NotRunning,
            8 => OcfRc::RunningPromoted,
            9 => OcfRc::FailedPromoted,
            190 => OcfRc::Degraded,
            191 => OcfRc::DegradedPromoted,
            other => OcfRc::Other(other),
        }
    }

    /// The number.
    pub fn code(self) -> i32 {
        match self {
            OcfRc::Success => 0,
            OcfRc::ErrGeneric => 1,
            OcfRc::ErrArgs => 2,
            OcfRc::Unimplemented => 3,
            OcfRc::ErrPerm => 4,
            OcfRc::NotInstalled => 5,
            OcfRc::NotConfigured => 6,
            OcfRc::NotRunning => 7,
            OcfRc::RunningPromoted => 8,
            OcfRc::FailedPromoted => 9,
            OcfRc::Degraded => 190,
            OcfRc::DegradedPromoted => 191,
            OcfRc::Other(code) => code,
        }
    }

    /// The OCF name (`OCF_SUCCESS`, `OCF_NOT_RUNNING`...); `OCF_UNKNOWN` for custom codes.
    pub fn name(self) -> &'static str {
        match self {
            OcfRc::Success => "OCF_SUCCESS",
            OcfRc::ErrGeneric => "OCF_ERR_GENERIC",
            OcfRc::ErrArgs => "OCF_ERR_ARGS",
            OcfRc::Unimplemented => "OCF_ERR_UNIMPLEMENTED",
            OcfRc::ErrPerm => "OCF_ERR_PERM",
            OcfRc::NotInstalled => "OCF_ERR_INSTALLED",
            OcfRc::NotConfigured => "OCF_ERR_CONFIGURED",
            OcfRc::NotRunning => "OCF_NOT_RUNNING",
            OcfRc::RunningPromoted => "OCF_RUNNING_PROMOTED",
            OcfRc::FailedPromoted => "OCF_FAILED_PROMOTED",
            OcfRc::Degraded => "OCF_DEGRADED",
            OcfRc::DegradedPromoted => "OCF_DEGRADED_PROMOTED",
            OcfRc::Other(_) => "OCF_UNKNOWN",
        }
    }

    /// A few words for people (`not running`, `promoted`...).
    pub fn describe(self) -> &'static str {
        match self {
            OcfRc::Success => "ok",
            OcfRc::ErrGeneric => "error",
            OcfRc::ErrArgs => "invalid parameter",
            OcfRc::Unimplemented => "unimplemented feature",
            OcfRc::ErrPerm => "insufficient privileges",
            OcfRc::NotInstalled => "not installed",
            OcfRc::NotConfigured => "not configured",
            OcfRc::NotRunning => "not running",
            OcfRc::RunningPromoted => "promoted",
            OcfRc::FailedPromoted => "promoted (failed)",
            OcfRc::Degraded => "degraded",
            OcfRc::DegradedPromoted => "promoted (degraded)",
            OcfRc::Other(_) => "unknown error",
        }
    }

    /// What a monitor with this result says about the resource.
    pub fn monitor_state(self) -> ResourceState {
        match self {
            OcfRc::Success | OcfRc::Degraded => ResourceState::Started,
            OcfRc::RunningPromoted | OcfRc::DegradedPromoted => ResourceState::Promoted,
            OcfRc::NotRunning => ResourceState::Stopped,
            _ => ResourceState::Failed,
        }
    }
}

/// What the executor believes about a resource on this node, from its last operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceState {
    /// Cleanly stopped (or never started here).
    Stopped,
    /// Running, unpromoted.
    Started,
    /// Running, promoted.
    Promoted,
    /// Failed: may be partly active; must be stopped before anything else.
    Failed,
}

impl ResourceState {
    /// True when the resource may hold anything on this node (so it must be stopped when
    /// the node loses its lease).
    pub fn is_active(self) -> bool {
        self != ResourceState::Stopped
    }
}

/// Maps an LSB init script's exit status to OCF. `status` has its own codes
/// (0 running, 1 dead with a pid file, 2 dead with a lock file, 3 not running, 4 unknown);
/// the other actions use 0..=7 with the same meaning as OCF.
pub fn lsb_to_ocf(action: &str, code: i32) -> OcfRc {
    if action == "status" || action == "monitor" {
        return match code {
            0 => OcfRc::Success,
            3 => OcfRc::NotRunning,
            // 1 and 2: the service died and left files behind; that is a failure to clean up.
            _ => OcfRc::ErrGeneric,
        };
    }
    match code {
        0..=7 => OcfRc::from_code(code),
        _ => OcfRc::ErrGeneric,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_names() {
        for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191, 42] {
            assert_eq!(code, OcfRc::from_code(code).code());
        }
        assert_eq!("OCF_RUNNING_PROMOTED", OcfRc::from_code(8).name());
        assert_eq!("OCF_FAILED_PROMOTED", OcfRc::from_code(9).name());
    }

    #[test]
    fn monitor_results_map_to_states() {
        assert_eq!(ResourceState::Promoted, OcfRc::from_code(8).monitor_state());
        assert_eq!(
            ResourceState::Promoted,
            OcfRc::from_code(191).monitor_state()
        );
        assert_eq!(
            ResourceState::Started,
            OcfRc::from_code(190).monitor_state()
        );
        assert_eq!(ResourceState::Failed, OcfRc::from_code(9).monitor_state());
        assert_eq!(ResourceState::Stopped, OcfRc::from_code(7).monitor_state());
    }

    #[test]
    fn lsb_status_three_is_not_running_and_dead_with_pidfile_is_failed() {
        assert_eq!(OcfRc::NotRunning, lsb_to_ocf("status", 3));
        assert_eq!(OcfRc::ErrGeneric, lsb_to_ocf("status", 1));
        assert_eq!(OcfRc::Success, lsb_to_ocf("status", 0));
        assert_eq!(OcfRc::NotInstalled, lsb_to_ocf("start", 5));
        assert_eq!(OcfRc::ErrGeneric, lsb_to_ocf("start", 150));
    }
}
