//! Rule evaluation: attribute expressions against node attributes, date expressions against
//! "now", resource and operation expressions, nested rules with `and`/`or`.
//!
//! Not rule parsing (the input is already typed). No I/O; "now" is an argument.

use std::collections::BTreeMap;

use crate::input::{Expr, Rule};

/// What a rule is evaluated against.
pub(crate) struct RuleContext<'a> {
    pub(crate) attrs: Option<&'a BTreeMap<String, String>>,
    pub(crate) now: i64,
    pub(crate) rsc: Option<(&'a str, Option<&'a str>, &'a str)>,
    pub(crate) op: Option<(&'a str, i64)>,
    /// Resource meta/params used for `value-source`.
    pub(crate) params: Option<&'a BTreeMap<String, String>>,
    pub(crate) meta: Option<&'a BTreeMap<String, String>>,
}

impl<'a> RuleContext<'a> {
    pub(crate) fn plain(now: i64) -> RuleContext<'a> {
        RuleContext {
            attrs: None,
            now,
            rsc: None,
            op: None,
            params: None,
            meta: None,
        }
    }
}

/// Evaluates a rule; an empty rule passes.
pub(crate) fn eval(rule: &Rule, ctx: &RuleContext<'_>) -> bool {
    let or = rule
        .boolean_op
        .as_deref()
        .is_some_and(|o| o.eq_ignore_ascii_case("or"));
    if rule.exprs.is_empty() {
        return true;
    }
    if or {
        rule.exprs.iter().any(|e| eval_expr(e, ctx))
    } else {
        rule.exprs.iter().all(|e| eval_expr(e, ctx))
    }
}

fn eval_expr(expr: &Expr, ctx: &RuleContext<'_>) -> bool {
    match expr {
        Expr::Rule(r) => eval(r, ctx),
        Expr::Attr {
            attribute,
            operation,
            value,
            kind,
            value_source,
        } => {
            let actual = ctx.attrs.and_then(|a| a.get(attribute)).map(String::as_str);
            let wanted = match (value_source.as_deref(), value) {
                (Some("param"), Some(v)) => ctx.params.and_then(|p| p.get(v)).cloned(),
                (Some("meta"), Some(v)) => ctx.meta.and_then(|p| p.get(v)).cloned(),
                _ => value.clone(),
            };
            compare(actual, operation, wanted.as_deref(), kind.as_deref())
        }
        Expr::Date {
            operation,
            start,
            end,
            spec,
            duration,
        } => eval_date(
            operation,
            start.as_deref(),
            end.as_deref(),
            spec,
            duration,
            ctx.now,
        ),
        Expr::Rsc {
            class,
            provider,
            kind,
        } => match ctx.rsc {
            None => false,
            Some((c, p, t)) => {
                class.as_deref().is_none_or(|x| x == c)
                    && provider.as_deref().is_none_or(|x| Some(x) == p)
                    && kind.as_deref().is_none_or(|x| x == t)
            }
        },
        Expr::Op { name, interval } => match ctx.op {
            None => false,
            Some((n, i)) => {
                n == name
                    && interval
                        .as_deref()
                        .is_none_or(|x| crate::unpack::parse_interval_ms(x) == i)
            }
        },
    }
}

fn compare(actual: Option<&str>, op: &str, wanted: Option<&str>, kind: Option<&str>) -> bool {
    match op {
        "defined" => return actual.is_some(),
        "not_defined" => return actual.is_none(),
        _ => {}
    }
    let (Some(a), Some(w)) = (actual, wanted) else {
        return op == "ne" && actual.is_none() != wanted.is_none();
    };
    let kind = kind.unwrap_or_else(|| {
        if a.parse::<f64>().is_ok() && w.parse::<f64>().is_ok() && op != "eq" && op != "ne" {
            "number"
        } else {
            "string"
        }
    });
    let ord = match kind {
        "integer" => match (leading_integer(a), leading_integer(w)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(a.cmp(w)),
        },
        "number" => match (a.trim().parse::<f64>(), w.trim().parse::<f64>()) {
            (Ok(x), Ok(y)) => x.partial_cmp(&y),
            _ => Some(a.cmp(w)),
        },
        "version" => Some(compare_versions(a, w)),
        _ => Some(a.to_ascii_lowercase().cmp(&w.to_ascii_lowercase())),
    };
    let Some(ord) = ord else { return false };
    match op {
        "eq" => ord.is_eq(),
        "ne" => ord.is_ne(),
        "lt" => ord.is_lt(),
        "lte" => ord.is_le(),
        "gt" => ord.is_gt(),
        "gte" => ord.is_ge(),
        _ => false,
    }
}

/// The integer a value starts with ("3.6" is 3), as strtoll reads it.
fn leading_integer(text: &str) -> Option<i64> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(i, ch)| !(ch.is_ascii_digit() || (i == 0 && (ch == '-' || ch == '+'))))
        .map_or(t.len(), |(i, _)| i);
    t[..end].parse().ok()
}

fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let pa: Vec<i64> = a.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    let pb: Vec<i64> = b.split('.').map(|x| x.parse().unwrap_or(0)).collect();
    pa.cmp(&pb)
}

fn eval_date(
    op: &str,
    start: Option<&str>,
    end: Option<&str>,
    spec: &[(String, String)],
    duration: &[(String, String)],
    now: i64,
) -> bool {
    let start = start.and_then(parse_date);
    let mut end = end.and_then(parse_date);
    if end.is_none()
        && !duration.is_empty()
        && let Some(s) = start
    {
        end = Some(s + duration_seconds(duration));
    }
    match op {
        "in_range" => start.is_none_or(|s| now >= s) && end.is_none_or(|e| now <= e),
        "gt" => start.is_some_and(|s| now > s),
        "lt" => end.is_some_and(|e| now < e),
        "date_spec" => date_spec_matches(spec, now),
        _ => false,
    }
}

fn duration_seconds(d: &[(String, String)]) -> i64 {
    let mut total = 0;
    for (k, v) in d {
        let n: i64 = v.parse().unwrap_or(0);
        total += n * match k.as_str() {
            "years" => 365 * 86400,
            "months" => 30 * 86400,
            "weeks" => 7 * 86400,
            "days" => 86400,
            "hours" => 3600,
            "minutes" => 60,
            "seconds" => 1,
            _ => 0,
        };
    }
    total
}

fn in_spec_range(value: i64, spec: &str) -> bool {
    match spec.split_once('-') {
        Some((a, b)) => {
            let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
                return false;
            };
            value >= a && value <= b
        }
        None => spec.trim().parse::<i64>().is_ok_and(|v| v == value),
    }
}

fn date_spec_matches(spec: &[(String, String)], now: i64) -> bool {
    let (y, m, d, hh, mm, ss) = civil_from_epoch(now);
    let days = now.div_euclid(86400);
    let weekday = (days + 3).rem_euclid(7) + 1; // 1 = Monday
    let yday = days - days_from_civil(y, 1, 1) + 1;
    spec.iter().all(|(k, v)| match k.as_str() {
        "hours" => in_spec_range(hh, v),
        "minutes" => in_spec_range(mm, v),
        "seconds" => in_spec_range(ss, v),
        "monthdays" => in_spec_range(d, v),
        "weekdays" => in_spec_range(weekday, v),
        "yeardays" => in_spec_range(yday, v),
        "months" => in_spec_range(m, v),
        "years" => in_spec_range(y, v),
        _ => true,
    })
}

pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_epoch(t: i64) -> (i64, i64, i64, i64, i64, i64) {
    let z = t.div_euclid(86400) + 719_468;
    let secs = t.rem_euclid(86400);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, (secs % 3600) / 60, secs % 60)
}

/// Parses the ISO 8601 forms seen in CIBs: `2005-001` (ordinal), `2019-09-23`,
/// `2019-09-23 18:00:00`, `2019-09-23T18:00:00Z`, with an optional `+hh:mm` offset.
pub(crate) fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], text[i + 1..].trim()),
        None => (text, ""),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let days = match parts.as_slice() {
        [y, doy] if doy.len() == 3 => {
            days_from_civil(y.parse().ok()?, 1, 1) + doy.parse::<i64>().ok()? - 1
        }
        [y, m, d] => days_from_civil(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?),
        [y] => days_from_civil(y.parse().ok()?, 1, 1),
        _ => return None,
    };
    let mut secs = days * 86400;
    if !rest.is_empty() {
        let (time, offset) = match rest.find(['+', '-', ' ', 'Z']) {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, ""),
        };
        let mut hms = time.split(':').map(|x| x.parse::<i64>().unwrap_or(0));
        secs +=
            hms.next().unwrap_or(0) * 3600 + hms.next().unwrap_or(0) * 60 + hms.next().unwrap_or(0);
        let offset = offset.trim_start_matches('Z').trim();
        if let Some(sign) = offset.chars().next().filter(|c| *c == '+' || *c == '-') {
            let mut hm = offset[1..]
                .split(':')
                .map(|x| x.parse::<i64>().unwrap_or(0));
            let off = hm.next().unwrap_or(0) * 3600 + hm.next().unwrap_or(0) * 60;
            secs -= if sign == '-' { -off } else { off };
        }
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinal_dates_parse_as_day_of_year() {
        assert_eq!(parse_date("2005-001"), parse_date("2005-01-01"));
        assert_eq!(parse_date("1970-01-02"), Some(86400));
    }

    #[test]
    fn date_offsets_shift_to_utc() {
        assert_eq!(parse_date("1970-01-01 01:00:00 +01:00"), Some(0));
    }

    #[test]
    fn numeric_comparison_used_for_numbers() {
        assert!(compare(Some("10"), "gt", Some("9"), None));
        assert!(!compare(Some("10"), "gt", Some("9"), Some("string")));
    }
}
