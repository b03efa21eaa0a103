//! Timing profiles (`timing = "default" | "fast" | "wan"`) and the `[timing]` table.
//!
//! A profile fills every knob; a `[timing]` table may name a profile and override single
//! knobs. The relations between knobs (renew < suspect < lost < lease, heartbeat < election
//! timeout, a leader failover fits inside a lease) are checked here so a bad combination is
//! refused at startup rather than showing up as flapping leases. No I/O here.

use crate::error::ConfigError;
use crate::walk::{At, Table};

/// Failure-detection, lease, Raft and link timers, all in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// The profile the values started from: "default", "fast" or "wan".
    pub profile: String,
    /// A node asks the DC to renew its lease this often (R).
    pub lease_renew_ms: u64,
    /// The DC marks a node suspect after this long without a renewal.
    pub suspect_ms: u64,
    /// The DC marks a node lost after this long without a renewal.
    pub lost_ms: u64,
    /// A granted lease lasts this long from the node's send time (L).
    pub lease_ms: u64,
    /// Raft leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Raft election timeout, lower bound (randomized between min and max).
    pub election_timeout_min_ms: u64,
    /// Raft election timeout, upper bound.
    pub election_timeout_max_ms: u64,
    /// Election timeout bounds for a witness node (longer, so real nodes win).
    pub witness_election_timeout_min_ms: u64,
    pub witness_election_timeout_max_ms: u64,
    /// Each link is pinged this often.
    pub link_ping_ms: u64,
    /// A link with no traffic for this long is down (and the other link takes over).
    pub link_timeout_ms: u64,
}

/// The profile names, in the order messages list them.
pub const PROFILES: [&str; 3] = ["default", "fast", "wan"];

const KEYS: [&str; 12] = [
    "profile",
    "lease_renew_ms",
    "suspect_ms",
    "lost_ms",
    "lease_ms",
    "heartbeat_ms",
    "election_timeout_min_ms",
    "election_timeout_max_ms",
    "witness_election_timeout_min_ms",
    "witness_election_timeout_max_ms",
    "link_ping_ms",
    "link_timeout_ms",
];

/// The largest value any timer may take (10 minutes).
const TIMER_MS_MAX: u64 = 600_000;

impl Timing {
    /// The LAN defaults of CLUSTER.md §6.11.
    pub fn default_profile() -> Timing {
        Timing {
            profile: "default".to_string(),
            lease_renew_ms: 200,
            suspect_ms: 600,
            lost_ms: 900,
            lease_ms: 1500,
            heartbeat_ms: 100,
            election_timeout_min_ms: 400,
            election_timeout_max_ms: 600,
            witness_election_timeout_min_ms: 1200,
            witness_election_timeout_max_ms: 1800,
            link_ping_ms: 100,
            link_timeout_ms: 300,
        }
    }

    /// A named profile: "default" (LAN), "fast" (half, for tests on loopback) or "wan"
    /// (three times the LAN values, for VMs and WAN links).
    pub fn profile(name: &str) -> Option<Timing> {
        let scale = |num: u64, den: u64| {
            let base = Timing::default_profile();
            let f = |ms: u64| ms * num / den;
            Timing {
                profile: name.to_string(),
                lease_renew_ms: f(base.lease_renew_ms),
                suspect_ms: f(base.suspect_ms),
                lost_ms: f(base.lost_ms),
                lease_ms: f(base.lease_ms),
                heartbeat_ms: f(base.heartbeat_ms),
                election_timeout_min_ms: f(base.election_timeout_min_ms),
                election_timeout_max_ms: f(base.election_timeout_max_ms),
                witness_election_timeout_min_ms: f(base.witness_election_timeout_min_ms),
                witness_election_timeout_max_ms: f(base.witness_election_timeout_max_ms),
                link_ping_ms: f(base.link_ping_ms),
                link_timeout_ms: f(base.link_timeout_ms),
            }
        };
        match name {
            "default" => Some(Timing::default_profile()),
            "fast" => Some(scale(1, 2)),
            "wan" => Some(scale(3, 1)),
            _ => None,
        }
    }

    /// The first broken relation between the knobs, as (the key to blame, why).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let rules: [(bool, &'static str, String); 8] = [
            (
                self.lease_renew_ms > 0,
                "lease_renew_ms",
                "must be above 0".to_string(),
            ),
            (
                self.lease_renew_ms < self.suspect_ms,
                "suspect_ms",
                format!(
                    "suspect_ms ({}) must be above lease_renew_ms ({})",
                    self.suspect_ms, self.lease_renew_ms
                ),
            ),
            (
                self.suspect_ms < self.lost_ms,
                "lost_ms",
                format!(
                    "lost_ms ({}) must be above suspect_ms ({})",
                    self.lost_ms, self.suspect_ms
                ),
            ),
            (
                self.lost_ms < self.lease_ms,
                "lease_ms",
                format!(
                    "lease_ms ({}) must be above lost_ms ({})",
                    self.lease_ms, self.lost_ms
                ),
            ),
            (
                self.heartbeat_ms > 0 && self.heartbeat_ms < self.election_timeout_min_ms,
                "election_timeout_min_ms",
                format!(
                    "election_timeout_min_ms ({}) must be above heartbeat_ms ({}) and heartbeat_ms above 0",
                    self.election_timeout_min_ms, self.heartbeat_ms
                ),
            ),
            (
                self.election_timeout_min_ms < self.election_timeout_max_ms
                    && self.witness_election_timeout_min_ms < self.witness_election_timeout_max_ms,
                "election_timeout_max_ms",
                format!(
                    "each election timeout max ({}, witness {}) must be above its min ({}, witness {})",
                    self.election_timeout_max_ms,
                    self.witness_election_timeout_max_ms,
                    self.election_timeout_min_ms,
                    self.witness_election_timeout_min_ms
                ),
            ),
            // CLUSTER.md §6.4: a leader failover plus one renewal must fit in a lease, or a DC
            // crash expires every healthy node's lease.
            (
                self.election_timeout_max_ms + self.lease_renew_ms < self.lease_ms,
                "lease_ms",
                format!(
                    "lease_ms ({}) must be above election_timeout_max_ms + lease_renew_ms ({}), \
                 or a DC failover expires healthy nodes' leases",
                    self.lease_ms,
                    self.election_timeout_max_ms + self.lease_renew_ms
                ),
            ),
            (
                self.link_ping_ms > 0
                    && self.link_ping_ms < self.link_timeout_ms
                    && self.link_timeout_ms < self.suspect_ms,
                "link_timeout_ms",
                format!(
                    "link_timeout_ms ({}) must be above link_ping_ms ({}) and below suspect_ms ({}) \
                 so a link fails over before the node is suspected",
                    self.link_timeout_ms, self.link_ping_ms, self.suspect_ms
                ),
            ),
        ];
        for (ok, key, message) in rules {
            if !ok {
                return Err((key, message));
            }
        }
        Ok(())
    }
}

impl Default for Timing {
    fn default() -> Timing {
        Timing::default_profile()
    }
}

/// Reads `timing = "NAME"` or a `[timing]` table from the top-level table.
pub(crate) fn read(top: &Table<'_, '_>) -> Result<Timing, ConfigError> {
    let Some(value) = top.get("timing") else {
        return Ok(Timing::default_profile());
    };
    let line = top.line_of(value);
    if let Some(name) = value.get_ref().as_str() {
        return named(
            top,
            "timing",
            &At {
                value: name.to_string(),
                line,
            },
        );
    }
    let table = top
        .table("timing", "[timing]")
        .map_err(|_| top.wrong_type("timing", value, "a profile name or a [timing] table"))?
        .ok_or_else(|| top.missing("timing", "internal"))?;
    table.check_keys(&KEYS)?;
    let mut timing = match table.string("profile")? {
        Some(name) => named(&table, "profile", &name)?,
        None => Timing::default_profile(),
    };
    let mut last_line = table.line;
    let knobs: [(&str, &mut u64); 11] = [
        ("lease_renew_ms", &mut timing.lease_renew_ms),
        ("suspect_ms", &mut timing.suspect_ms),
        ("lost_ms", &mut timing.lost_ms),
        ("lease_ms", &mut timing.lease_ms),
        ("heartbeat_ms", &mut timing.heartbeat_ms),
        (
            "election_timeout_min_ms",
            &mut timing.election_timeout_min_ms,
        ),
        (
            "election_timeout_max_ms",
            &mut timing.election_timeout_max_ms,
        ),
        (
            "witness_election_timeout_min_ms",
            &mut timing.witness_election_timeout_min_ms,
        ),
        (
            "witness_election_timeout_max_ms",
            &mut timing.witness_election_timeout_max_ms,
        ),
        ("link_ping_ms", &mut timing.link_ping_ms),
        ("link_timeout_ms", &mut timing.link_timeout_ms),
    ];
    let mut lines = std::collections::HashMap::new();
    for (key, slot) in knobs {
        if let Some(number) = table.integer(key, TIMER_MS_MAX)? {
            *slot = number.value;
            lines.insert(key, number.line);
            last_line = last_line.max(number.line);
        }
    }
    if let Err((key, message)) = timing.check() {
        let line = lines.get(key).copied().unwrap_or(last_line);
        return Err(table.invalid(key, line, message));
    }
    Ok(timing)
}

fn named(table: &Table<'_, '_>, key: &str, name: &At<String>) -> Result<Timing, ConfigError> {
    Timing::profile(&name.value).ok_or_else(|| {
        table.invalid(
            key,
            name.line,
            format!(
                "unknown timing profile '{}' (use {})",
                name.value,
                PROFILES.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_consistent() {
        for name in PROFILES {
            let timing = Timing::profile(name).expect("listed profile exists");
            assert_eq!(timing.check(), Ok(()), "profile {name}");
        }
    }

    #[test]
    fn default_profile_matches_design_defaults() {
        let timing = Timing::default_profile();
        assert_eq!(
            (
                timing.lease_renew_ms,
                timing.suspect_ms,
                timing.lost_ms,
                timing.lease_ms
            ),
            (200, 600, 900, 1500)
        );
    }
}
