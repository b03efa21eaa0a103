//! The `Transition Summary:` lines, worded as crm_simulate words them (`Start`, `Stop`,
//! `Move`, `Recover`, `Restart`, `Promote`, `Demote`, `Migrate`, `Fence (reboot)`), in
//! Pacemaker's order: fencing first, then resources in configuration order.
//!
//! Lines are already normalized (single spaces). No I/O.

use crate::actions::{Action, Plan};
use crate::cluster::{Cluster, NodeIx, Role, RscIx, Task, Variant};

pub(crate) fn fence_lines(c: &Cluster, dc: Option<&str>) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut dc_line = None;
    // Node actions are listed newest first: the reverse of node order.
    for n in c.nodes.iter().rev() {
        if !n.unclean || !c.options.stonith_enabled {
            continue;
        }
        if !c.can_fence(n) {
            continue;
        }
        let reason = n
            .fence_reason
            .clone()
            .unwrap_or_else(|| "node is unclean".into());
        let name = match (&n.connection, n.guest) {
            (Some(container), true) => format!("{} (resource: {container})", n.name),
            _ => n.name.clone(),
        };
        let line = (name, reason);
        if Some(n.id.as_str()) == dc {
            dc_line = Some(line);
        } else {
            out.push(line);
        }
    }
    if let Some(line) = dc_line {
        let pos = c
            .nodes
            .iter()
            .rev()
            .filter(|n| n.unclean && n.name < line.0)
            .count();
        let _ = pos;
        out.push(line);
        out.sort_by(|a, b| b.0.cmp(&a.0));
    }
    out
}

fn find(plan: &Plan, r: RscIx, task: Task, node: Option<NodeIx>) -> Option<&Action> {
    // Actions are grouped by resource in index order.
    let lo = plan.actions.partition_point(|a| a.rsc_ix < r);
    plan.actions[lo..]
        .iter()
        .take_while(|a| a.rsc_ix == r)
        .find(|a| a.task == task && (node.is_none() || a.node_ix == node))
}

fn details(c: &Cluster, r: RscIx, origin: Option<NodeIx>, dest: Option<NodeIx>) -> String {
    let rsc = &c.rscs[r];
    let role = rsc.role;
    let next = rsc.next_role.unwrap_or(Role::Stopped);
    let need_role = role > Role::Started || next > Role::Unpromoted;
    let name = |n: NodeIx| c.nodes[n].name.as_str();
    let same_host = matches!((origin, dest), (Some(a), Some(b)) if a == b);
    let same_role = role == next;
    match (origin, dest) {
        (None, Some(d)) if need_role => format!("{} -> {} {}", role.name(), next.name(), name(d)),
        (None, Some(d)) => name(d).to_owned(),
        (Some(o), None) if need_role => format!("{} {}", role.name(), name(o)),
        (Some(o), None) => name(o).to_owned(),
        (Some(o), Some(_)) if need_role && same_role && same_host => {
            format!("{} {}", role.name(), name(o))
        }
        (Some(o), Some(_)) if same_role && same_host => name(o).to_owned(),
        (Some(o), Some(d)) if need_role && same_role => {
            format!("{} -> {} {}", name(o), name(d), role.name())
        }
        (Some(o), Some(d)) if same_role => format!("{} -> {}", name(o), name(d)),
        (Some(o), Some(_)) if same_host => {
            format!("{} -> {} {}", role.name(), next.name(), name(o))
        }
        (Some(o), Some(d)) => format!("{} {} -> {} {}", role.name(), name(o), next.name(), name(d)),
        (None, None) => String::new(),
    }
}

fn item(
    c: &Cluster,
    change: &str,
    r: RscIx,
    origin: Option<NodeIx>,
    dest: Option<NodeIx>,
    action: Option<&Action>,
    source: Option<&Action>,
) -> String {
    let d = details(c, r, origin, dest);
    let source = source.or(action);
    let runnable = action.is_none_or(|a| a.runnable);
    let reason = match source.and_then(|s| s.reason.as_deref()) {
        Some(reason) if !runnable => format!(" due to {reason} (blocked)"),
        Some(reason) => format!(" due to {reason}"),
        None if !runnable => " blocked".to_owned(),
        None => String::new(),
    };
    format!("{change} {} ( {d} ){reason}", c.rscs[r].id)
}

/// Lines for one primitive, following Pacemaker's decision order.
fn primitive_lines(c: &Cluster, plan: &Plan, r: RscIx, out: &mut Vec<String>) {
    let rsc = &c.rscs[r];
    let current = rsc.current_node();
    let next_role = rsc.next_role.unwrap_or(Role::Stopped);
    let next = if next_role > Role::Stopped {
        rsc.assigned
    } else {
        None
    };
    if !rsc.managed || (current.is_none() && next.is_none()) {
        return;
    }
    let moving = matches!((current, next), (Some(a), Some(b)) if a != b);
    let start = find(plan, r, Task::Start, next).filter(|a| a.node_ix.is_some() || next.is_none());
    let start_node = if start.is_some_and(|s| s.runnable) {
        current
    } else {
        None
    };
    let unexpected_only = rsc.multiply_active_policy == "stop_unexpected";
    let stop = find(plan, r, Task::Stop, start_node).or_else(|| {
        find(plan, r, Task::Stop, None).filter(|_| start_node.is_none() || unexpected_only)
    });
    let promote = find(plan, r, Task::Promote, next);
    let demote = find(plan, r, Task::Demote, None);
    if rsc.role == next_role {
        let Some(next) = next else { return };
        let start = start.filter(|s| s.node_ix.is_some());
        let migrate = find(plan, r, Task::MigrateFrom, Some(next));
        if migrate.is_some_and(|m| m.runnable) && current.is_some() {
            out.push(item(c, "Migrate", r, current, Some(next), start, None));
        } else if start.is_none_or(|s| s.optional) {
            if let (Some(d), Some(p)) = (demote, promote)
                && !d.optional
                && !p.optional
            {
                out.push(item(
                    c,
                    "Re-promote",
                    r,
                    current,
                    Some(next),
                    Some(p),
                    Some(d),
                ));
            }
        } else if start.is_some_and(|s| !s.runnable) {
            let src = if stop.is_some_and(|s| s.reason.is_some()) {
                stop
            } else {
                start
            };
            out.push(item(c, "Stop", r, current, None, stop, src));
        } else if moving && current.is_some() {
            out.push(item(
                c,
                if rsc.failed { "Recover" } else { "Move" },
                r,
                current,
                Some(next),
                stop,
                None,
            ));
        } else if rsc.failed {
            out.push(item(c, "Recover", r, current, None, stop, None));
        } else {
            out.push(item(c, "Restart", r, current, Some(next), start, None));
        }
        return;
    }
    let start_unrunnable = start.is_some_and(|s| !s.runnable);
    if stop.is_some() && (next_role == Role::Stopped || start_unrunnable) {
        for &n in &rsc.running_on {
            let stop_op = find(plan, r, Task::Stop, Some(n));
            let src = if stop_op.is_some_and(|s| s.reason.is_some()) {
                stop_op
            } else {
                start
            };
            out.push(item(c, "Stop", r, Some(n), None, stop_op, src));
        }
    } else if stop.is_some() && rsc.failed && !stop.is_some_and(|s| s.optional) {
        out.push(item(c, "Recover", r, current, next, stop, start));
    } else if moving {
        out.push(item(c, "Move", r, current, next, stop, None));
    } else if stop.is_some_and(|s| !s.optional) {
        out.push(item(c, "Restart", r, current, next, start, None));
    } else if rsc.role == Role::Promoted {
        out.push(item(c, "Demote", r, current, next, demote, None));
    } else if next_role == Role::Promoted {
        out.push(item(c, "Promote", r, current, next, promote, None));
    } else if rsc.role == Role::Stopped && next_role > Role::Stopped {
        out.push(item(c, "Start", r, current, next, start, None));
    }
}

pub(crate) fn resource_lines(c: &Cluster, plan: &Plan) -> Vec<String> {
    let mut out = vec![];
    for &t in &c.top {
        walk(c, plan, t, &mut out);
    }
    out
}

fn walk(c: &Cluster, plan: &Plan, r: RscIx, out: &mut Vec<String>) {
    match c.rscs[r].variant {
        Variant::Primitive => primitive_lines(c, plan, r, out),
        Variant::Bundle => {}
        _ => {
            for &ch in &c.rscs[r].children {
                walk(c, plan, ch, out);
            }
        }
    }
}
