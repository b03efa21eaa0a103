//! Attribute values the Pacemaker way: booleans, intervals, roles and the other small enums.
//!
//! The parsers return `None` for text Pacemaker would not accept; the reader turns that into
//! a diagnostic and keeps the text as an unknown attribute. They are public because the
//! scheduler reads the same spellings from nvpairs (`is-managed`, `failure-timeout`, ...).
//! No I/O.

use std::fmt;

/// Reads a Pacemaker boolean: `true/yes/y/on/1` or `false/no/n/off/0`, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    const TRUE: [&str; 5] = ["true", "yes", "y", "on", "1"];
    const FALSE: [&str; 5] = ["false", "no", "n", "off", "0"];
    if TRUE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(true)
    } else if FALSE.iter().any(|word| text.eq_ignore_ascii_case(word)) {
        Some(false)
    } else {
        None
    }
}

/// Reads an interval or timeout into milliseconds: an ISO 8601 duration (`PT10S`, `P1D`,
/// also Pacemaker's lenient `P10S`), or a number with an optional unit (`10`, `10s`,
/// `500ms`, `2min`, `1h`, `100us`); a bare number means seconds.
pub fn parse_interval_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('P') {
        return parse_iso_duration_ms(rest);
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return None;
    }
    let number: u64 = text[..digits_end].parse().ok()?;
    let unit = text[digits_end..].trim();
    let (multiplier, divisor) = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => (1000, 1),
        "ms" | "msec" | "msecs" => (1, 1),
        "us" | "usec" | "usecs" => (1, 1000),
        "m" | "min" | "mins" | "minute" | "minutes" => (60_000, 1),
        "h" | "hr" | "hrs" | "hour" | "hours" => (3_600_000, 1),
        _ => return None,
    };
    Some(number.saturating_mul(multiplier) / divisor)
}

/// The part of an ISO 8601 duration after `P`: `nYnMnWnDTnHnMnS`. Months count 30 days and
/// years 365, as Pacemaker does when it turns a duration into seconds.
fn parse_iso_duration_ms(rest: &str) -> Option<u64> {
    let mut seconds: u64 = 0;
    let mut in_time = false;
    let mut number: Option<u64> = None;
    let mut any = false;
    for ch in rest.chars() {
        if let Some(digit) = ch.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(digit))?,
            );
            continue;
        }
        if ch == 'T' && number.is_none() {
            in_time = true;
            continue;
        }
        let amount = number.take()?;
        let unit_seconds: u64 = match ch {
            'Y' => 365 * 86_400,
            'M' if in_time => 60,
            'M' => 30 * 86_400,
            'W' => 7 * 86_400,
            'D' => 86_400,
            'H' => 3600,
            'S' => 1,
            _ => return None,
        };
        seconds = seconds.checked_add(amount.checked_mul(unit_seconds)?)?;
        any = true;
    }
    if number.is_some() || !any {
        return None;
    }
    seconds.checked_mul(1000)
}

/// Prints milliseconds the way the writer stores intervals: `10s` when whole seconds,
/// else `250ms`.
pub fn format_interval_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Reads the Pacemaker spelling (any case, legacy aliases accepted).
            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim();
                $(
                    if text.eq_ignore_ascii_case($text) $(|| text.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The current Pacemaker spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// A resource role; the legacy `Master`/`Slave` are read as `Promoted`/`Unpromoted`.
    Role {
        Stopped => "Stopped",
        Started => "Started",
        Unpromoted => "Unpromoted" | "Slave",
        Promoted => "Promoted" | "Master",
    }
}

impl Role {
    /// The pre-3.7 spelling, for documents whose schema predates `Promoted`.
    pub fn legacy_str(self) -> &'static str {
        match self {
            Role::Unpromoted => "Slave",
            Role::Promoted => "Master",
            other => other.as_str(),
        }
    }
}

text_enum! {
    /// How a rule combines its conditions.
    BoolOp { And => "and", Or => "or" }
}

text_enum! {
    /// The comparison of an `expression`.
    ExprOp {
        Lt => "lt", Gt => "gt", Lte => "lte", Gte => "gte", Eq => "eq", Ne => "ne",
        Defined => "defined", NotDefined => "not_defined",
    }
}

text_enum! {
    /// How an `expression` compares values.
    ExprType { String => "string", Integer => "integer", Number => "number", Version => "version" }
}

text_enum! {
    /// Where an `expression` takes its comparison value from.
    ValueSource { Literal => "literal", Param => "param", Meta => "meta" }
}

text_enum! {
    /// The test of a `date_expression`.
    DateOp { InRange => "in_range", Gt => "gt", Lt => "lt", DateSpec => "date_spec" }
}

text_enum! {
    /// The strength of an ordering.
    OrderKind { Mandatory => "Mandatory", Optional => "Optional", Serialize => "Serialize" }
}

text_enum! {
    /// `resource-discovery` of a location constraint.
    ResourceDiscovery { Always => "always", Never => "never", Exclusive => "exclusive" }
}

text_enum! {
    /// What a cluster node is; the legacy `normal` is a member.
    NodeType { Member => "member" | "normal", Remote => "remote", Ping => "ping" }
}

text_enum! {
    /// The container technology of a bundle.
    ContainerKind { Docker => "docker", Podman => "podman", Rkt => "rkt" }
}

text_enum! {
    /// An action named by an ordering, a resource set or a ticket.
    RscAction {
        Start => "start", Stop => "stop", Promote => "promote", Demote => "demote",
    }
}

text_enum! {
    /// `loss-policy` of a ticket constraint.
    LossPolicy { Stop => "stop", Demote => "demote", Fence => "fence", Freeze => "freeze" }
}

/// A node_state's `in_ccm` or `crmd`: a boolean or online/offline in older CIBs, the time
/// the node joined in newer ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    Online,
    Offline,
    /// Up since this many seconds after the epoch (`0` is treated as offline by Pacemaker).
    Since(i64),
}

impl Presence {
    pub fn parse(text: &str) -> Option<Presence> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("online") {
            return Some(Presence::Online);
        }
        if text.eq_ignore_ascii_case("offline") {
            return Some(Presence::Offline);
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() > 1 {
            return text.parse().ok().map(Presence::Since);
        }
        parse_bool(text).map(|up| {
            if up {
                Presence::Online
            } else {
                Presence::Offline
            }
        })
    }

    /// True unless offline or a zero timestamp.
    pub fn is_up(self) -> bool {
        match self {
            Presence::Online => true,
            Presence::Offline => false,
            Presence::Since(seconds) => seconds > 0,
        }
    }
}

/// A node_state's `join` or `expected`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum JoinState {
    Member,
    Down,
    Pending,
    Banned,
    Other(String),
}

impl JoinState {
    pub fn parse(text: &str) -> JoinState {
        match text {
            "member" => JoinState::Member,
            "down" => JoinState::Down,
            "pending" => JoinState::Pending,
            "banned" => JoinState::Banned,
            other => JoinState::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            JoinState::Member => "member",
            JoinState::Down => "down",
            JoinState::Pending => "pending",
            JoinState::Banned => "banned",
            JoinState::Other(text) => text,
        }
    }
}
