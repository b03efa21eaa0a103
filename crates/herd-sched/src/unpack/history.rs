//! Replaying one resource's operation history on one node: the resulting role, and the
//! most severe on-fail reaction still in force (failures, expiry, hard and fatal errors,
//! masked probe failures, pending operations).
//!
//! Not the mapping of history entries to resources (`status`). No I/O.

use herd_types::Score;

use super::parse_interval_ms;
use super::status::anonymous_instance;
use crate::cluster::{Cluster, NodeIx, Role, RscIx};
use crate::input::LrmOp;

/// How to react to a failed operation, from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OnFail {
    Ignore,
    Demote,
    Recover,
    Migrate,
    Block,
    Stop,
    Standby,
    Fence,
}

fn target_rc(op: &LrmOp) -> Option<i64> {
    let key = op.transition_key.as_deref().or_else(|| {
        op.transition_magic
            .as_deref()
            .and_then(|m| m.split_once(';').map(|(_, k)| k))
    })?;
    key.split(':').nth(2)?.parse().ok()
}

fn is_probe(op: &LrmOp) -> bool {
    op.operation == "monitor"
        && op
            .interval
            .as_deref()
            .is_none_or(|i| parse_interval_ms(i) == 0)
}

pub(super) fn num(text: &Option<String>) -> i64 {
    text.as_deref()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// Configured on-fail for an operation, else the default.
fn on_fail_for(cluster: &Cluster, ix: RscIx, op: &LrmOp) -> OnFail {
    let configured = cluster
        .rscs
        .get(ix)
        .and_then(|r| r.meta.get(&format!("#on-fail:{}", op.operation)));
    let fencing = cluster.options.stonith_enabled;
    match configured.map(String::as_str) {
        Some("ignore") => OnFail::Ignore,
        Some("block") => OnFail::Block,
        Some("stop") => OnFail::Stop,
        Some("standby") => OnFail::Standby,
        Some("fence") if fencing => OnFail::Fence,
        Some("fence") => OnFail::Block,
        Some("demote") => OnFail::Demote,
        Some(_) => OnFail::Recover,
        None if op.operation == "stop" => {
            if fencing {
                OnFail::Fence
            } else {
                OnFail::Block
            }
        }
        None => OnFail::Recover,
    }
}

/// Replays a resource's history on one node; returns the final role and on-fail.
pub(super) fn replay(
    cluster: &mut Cluster,
    ix: RscIx,
    node: NodeIx,
    ops: &[&LrmOp],
    dry: bool,
) -> (Role, OnFail) {
    let mut role = Role::Unknown;
    let mut on_fail = OnFail::Ignore;
    let now = cluster.options.now;
    let failure_timeout = cluster.rscs.get(ix).map_or(0, |r| r.failure_timeout);
    for op in ops {
        let task = op.operation.as_str();
        if task == "notify" || task == "meta-data" {
            continue;
        }
        // Degraded results count as success (190 -> 0, 191 -> 8).
        let rc = match num(&op.rc_code) {
            190 => 0,
            191 => 8,
            rc => rc,
        };
        let status = num(&op.op_status);
        let probe = is_probe(op);
        let target = target_rc(op).unwrap_or(if probe { 7 } else { 0 });
        let interval = op.interval.as_deref().map_or(0, parse_interval_ms);
        // Expired failures are ignored (one-shot operations only).
        let last_change = op
            .last_rc_change
            .as_deref()
            .or(op.last_run.as_deref())
            .and_then(|t| t.parse::<i64>().ok());
        let expired = failure_timeout > 0
            && rc != target
            && last_change.is_some_and(|t| t + failure_timeout <= now);
        if expired && interval == 0 && !(probe && (rc == 0 || rc == 7 || rc == 8)) {
            continue;
        }
        if status == -1 || op.call_id.as_deref() == Some("-1") {
            match task {
                "start" | "migrate_from" => role = role.max(Role::Started),
                "promote" => role = Role::Promoted,
                "stop" | "demote" if role == Role::Unknown => role = Role::Started,
                _ => {}
            }
            if !dry && ix != usize::MAX && task != "monitor" {
                cluster.rscs[ix].pending_task = Some((task.to_owned(), node));
            }
            continue;
        }
        // Cancelled operations say nothing about the resource.
        if status == 1 {
            continue;
        }
        // Probe that could not run here: masked, treated as not running and banned.
        if probe && (rc == 5 || rc == 2) {
            role = Role::Stopped;
            if !dry && ix != usize::MAX {
                let top = if !anonymous_instance(cluster, ix) {
                    ix
                } else {
                    cluster.top_of(ix)
                };
                for p in cluster.primitives(top) {
                    cluster.rscs[p].allowed[node] = Some(Score::MINUS_INFINITY);
                }
            }
            continue;
        }
        // Only "done" and "error" results are judged by their exit code.
        let managed = ix == usize::MAX || cluster.rscs[ix].managed;
        let ok = (status == 0 || status == 4)
            && (rc == target
                || (rc == 7 && !managed)
                || (probe && (rc == 0 || rc == 7 || rc == 8))
                || (rc == 7 && task == "stop"));
        if ok || expired {
            let effective = if ok { rc } else { target };
            let clear = apply_success(&mut role, task, effective);
            // Success clears recoverable failures (not bans, stops, standby or fencing).
            if clear && matches!(on_fail, OnFail::Demote | OnFail::Recover | OnFail::Block) {
                on_fail = OnFail::Ignore;
            }
            continue;
        }
        // A failure.
        let this_fail = if ix == usize::MAX {
            OnFail::Recover
        } else {
            on_fail_for(cluster, ix, op)
        };
        if this_fail == OnFail::Ignore {
            let _ = apply_success(&mut role, task, target);
            continue;
        }
        if this_fail > on_fail {
            on_fail = this_fail;
        }
        let hard = status == 5
            || status == 7
            || status == 6
            || matches!(rc, 2 | 4 | 5 | 6)
            || (rc == 3 && interval == 0);
        match task {
            "stop" if !dry && ix != usize::MAX => {
                cluster.rscs[ix].allowed[node] = Some(Score::MINUS_INFINITY);
            }
            "promote" => role = Role::Promoted,
            // A blocked failed demote leaves the resource promoted (and stuck).
            "demote" if this_fail == OnFail::Block => role = Role::Promoted,
            "demote" => {
                role = if rc == 7 {
                    Role::Stopped
                } else {
                    Role::Unpromoted
                }
            }
            _ => {}
        }
        if rc == 8 || rc == 9 {
            role = Role::Promoted;
        }
        if probe && rc == 5 {
            role = Role::Stopped;
        } else if role < Role::Started {
            role = Role::Started;
        }
        if hard && !dry && ix != usize::MAX {
            let top = if !anonymous_instance(cluster, ix) {
                ix
            } else {
                cluster.top_of(ix)
            };
            let fatal = rc == 6;
            for p in cluster.primitives(top) {
                if fatal {
                    for s in cluster.rscs[p].allowed.iter_mut() {
                        *s = Some(Score::MINUS_INFINITY);
                    }
                } else {
                    cluster.rscs[p].allowed[node] = Some(Score::MINUS_INFINITY);
                }
            }
        }
    }
    if role == Role::Unknown {
        role = Role::Stopped;
    }
    (role, on_fail)
}

/// Applies a successful result; returns whether it clears past failures.
fn apply_success(role: &mut Role, task: &str, rc: i64) -> bool {
    if rc == 7 {
        *role = Role::Stopped;
        return true;
    }
    match task {
        "monitor" => {
            if rc == 8 {
                *role = Role::Promoted;
            } else if *role < Role::Started {
                *role = Role::Started;
            }
            false
        }
        "start" => {
            *role = Role::Started;
            true
        }
        "stop" => {
            *role = Role::Stopped;
            true
        }
        "promote" => {
            *role = Role::Promoted;
            true
        }
        "demote" => {
            *role = Role::Unpromoted;
            false
        }
        "migrate_from" => {
            *role = Role::Started;
            true
        }
        "migrate_to" => {
            if *role < Role::Started {
                *role = Role::Started;
            }
            false
        }
        _ => {
            if *role < Role::Started {
                *role = Role::Started;
            }
            false
        }
    }
}
