//! Actions: creates each primitive's start/stop/promote/demote/migrate actions from its
//! current and next role and node, decides which are required and runnable, and propagates
//! both through orderings (group members, clones, order constraints) to a fixpoint.
//!
//! Not the text of the summary (`summary`). No I/O.

use crate::cluster::{Cluster, NodeIx, Role, RscIx, Task, Variant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Action {
    pub rsc: String,
    pub task: Task,
    pub node: Option<String>,
    pub optional: bool,
    pub runnable: bool,
    pub pseudo: bool,
    pub reason: Option<String>,
    #[serde(skip)]
    pub(crate) rsc_ix: usize,
    #[serde(skip)]
    pub(crate) node_ix: Option<NodeIx>,
}

/// Which resource-level action an ordering endpoint stands for.
struct Endpoint {
    actions: Vec<usize>,
    any: bool,
    /// How many first actions must be runnable (for `any`).
    min: usize,
    label: String,
}

pub(crate) struct Plan {
    pub(crate) actions: Vec<Action>,
    /// (first, then) pairs by action index, for display.
    pub(crate) orderings: Vec<(usize, usize)>,
}

fn new_action(c: &Cluster, r: RscIx, task: Task, node: Option<NodeIx>, optional: bool) -> Action {
    Action {
        rsc: c.rscs[r].id.clone(),
        task,
        node: node.map(|n| c.nodes[n].name.clone()),
        optional,
        runnable: true,
        pseudo: false,
        reason: None,
        rsc_ix: r,
        node_ix: node,
    }
}

fn quorum_block(c: &Cluster, r: RscIx) -> Option<&'static str> {
    if c.options.have_quorum || !c.rscs[r].needs_quorum {
        return None;
    }
    match c.options.no_quorum_policy.as_str() {
        "ignore" => None,
        "freeze" => {
            let rsc = &c.rscs[r];
            if rsc.running_on.is_empty() || rsc.next_role.unwrap_or(Role::Stopped) > rsc.role {
                Some("quorum freeze")
            } else {
                None
            }
        }
        "demote" => None,
        _ => Some("no quorum"),
    }
}

pub(crate) fn create(c: &Cluster) -> Plan {
    let mut actions = vec![];
    let mut index: std::collections::HashMap<(RscIx, Task), Vec<usize>> =
        std::collections::HashMap::new();
    for r in 0..c.rscs.len() {
        if c.rscs[r].variant != Variant::Primitive {
            continue;
        }
        for a in primitive_actions(c, r) {
            index.entry((r, a.task)).or_default().push(actions.len());
            actions.push(a);
        }
    }
    let mut plan = Plan {
        actions,
        orderings: vec![],
    };
    let edges = build_edges(c, &index);
    propagate(c, &mut plan, &edges);
    for e in &edges {
        for &f in &e.first.actions {
            for &t in &e.then {
                plan.orderings.push((f, t));
            }
        }
    }
    plan
}

fn primitive_actions(c: &Cluster, r: RscIx) -> Vec<Action> {
    let rsc = &c.rscs[r];
    let mut out = vec![];
    let next_role = rsc.next_role.unwrap_or(Role::Stopped);
    let next = if next_role > Role::Stopped {
        rsc.assigned
    } else {
        None
    };
    let moving = matches!((rsc.current_node(), next), (Some(a), Some(b)) if a != b);
    let multiple = crate::current::multiply_active(c, r);
    let mut need_stop =
        rsc.failed || moving || multiple || rsc.restart_reason.is_some() || rsc.force_restart;
    if next.is_none() && rsc.role > Role::Stopped {
        need_stop = true;
    }
    if !rsc.managed {
        need_stop = false;
    }
    let in_clone = rsc
        .parent
        .is_some_and(|p| c.rscs[p].variant == Variant::Clone);
    let migrating = moving
        && rsc.allow_migrate
        && !rsc.failed
        && rsc.managed
        && !in_clone
        && rsc.running_on.len() == 1
        && rsc.role == Role::Started
        && next_role == Role::Started
        && rsc
            .current_node()
            .is_some_and(|n| c.nodes[n].online && !c.nodes[n].unclean);
    if migrating {
        need_stop = false;
    }
    let active = rsc.role > Role::Stopped && !rsc.running_on.is_empty();
    if active {
        for &n in &rsc.running_on {
            if rsc.partial_migration_target == Some(n) && next == Some(n) {
                continue;
            }
            // multiple-active=stop_unexpected keeps the instance where it belongs.
            let unexpected_only = multiple && rsc.multiply_active_policy == "stop_unexpected";
            if unexpected_only && next == Some(n) {
                continue;
            }
            let mut a = new_action(c, r, Task::Stop, Some(n), !need_stop);
            if unexpected_only && next.is_some() {
                a.reason = Some("being multiply active".into());
            }
            if rsc.role == Role::Promoted {
                let mut d = new_action(c, r, Task::Demote, Some(n), !need_stop);
                stop_runnable(c, r, &mut d, n);
                out.push(d);
            }
            if next.is_none() {
                a.reason = Some("node availability".into());
            }
            stop_runnable(c, r, &mut a, n);
            out.push(a);
        }
    }
    // A start always exists so orderings can refer to it; unassigned means unrunnable.
    // A start with nowhere to go is required (and unrunnable) when the resource is active
    // now: what is ordered after it has to stop too.
    let start_optional = if next.is_none() {
        rsc.running_on.is_empty() || !rsc.managed
    } else {
        !(rsc.role <= Role::Stopped || rsc.running_on.is_empty() || need_stop)
    };
    if migrating {
        out.push(new_action(c, r, Task::MigrateTo, rsc.current_node(), false));
        out.push(new_action(c, r, Task::MigrateFrom, next, false));
    }
    let mut s = new_action(c, r, Task::Start, next, start_optional);
    if next.is_none() {
        s.runnable = false;
    } else if let Some(n) = next {
        if !c.nodes[n].online || c.nodes[n].unclean {
            s.runnable = false;
        }
        if crate::pending::start_blocked_by_pending_probe(c, r) {
            s.runnable = false;
        }
        if let Some(q) = quorum_block(c, r) {
            s.runnable = false;
            s.reason = Some(q.into());
        }
    }
    if !rsc.managed {
        s.optional = true;
    }
    if let Some(reason) = &rsc.restart_reason
        && next.is_some()
        && !moving
    {
        s.reason = Some(reason.clone());
    }
    out.push(s);
    if let Some(n) = next {
        if next_role == Role::Promoted && (rsc.role < Role::Promoted || need_stop) {
            let mut p = new_action(c, r, Task::Promote, Some(n), false);
            if let Some(q) = quorum_block(c, r) {
                p.runnable = false;
                p.reason = Some(q.into());
            }
            if !rsc.managed {
                p.optional = true;
            }
            out.push(p);
        }
        if rsc.role == Role::Promoted && next_role < Role::Promoted && !need_stop {
            out.push(new_action(
                c,
                r,
                Task::Demote,
                rsc.current_node(),
                !rsc.managed,
            ));
        }
    }
    out
}

fn stop_runnable(c: &Cluster, r: RscIx, a: &mut Action, n: NodeIx) {
    let node = &c.nodes[n];
    if !c.rscs[r].managed {
        a.runnable = false;
        a.optional = true;
    } else if node.unclean && c.can_fence(node) {
        a.pseudo = true;
    } else if !node.online {
        if node.unclean && c.can_fence(node) {
            a.pseudo = true;
        } else {
            a.runnable = false;
        }
    }
}

struct Edge {
    first: Endpoint,
    then: Vec<usize>,
    runnable_left: bool,
    implies_then: bool,
    implies_first: bool,
    asymmetric: bool,
}

fn endpoint(
    c: &Cluster,
    index: &std::collections::HashMap<(RscIx, Task), Vec<usize>>,
    r: RscIx,
    task: Task,
    as_first: bool,
) -> Endpoint {
    let rsc = &c.rscs[r];
    let prim_task = match task {
        Task::Started => Task::Start,
        Task::Stopped => Task::Stop,
        Task::Promoted => Task::Promote,
        Task::Demoted => Task::Demote,
        t => t,
    };
    let members: Vec<RscIx> = match rsc.variant {
        Variant::Primitive => vec![r],
        Variant::Group if !as_first => {
            // Entering a group: its first member starts first, its last member stops first.
            match prim_task {
                Task::Stop | Task::Demote => rsc
                    .children
                    .last()
                    .copied()
                    .into_iter()
                    .flat_map(|m| c.primitives(m))
                    .collect(),
                _ => rsc
                    .children
                    .first()
                    .copied()
                    .into_iter()
                    .flat_map(|m| c.primitives(m))
                    .collect(),
            }
        }
        _ => c.primitives(r),
    };
    let actions = members
        .iter()
        .flat_map(|&m| index.get(&(m, prim_task)).cloned().unwrap_or_default())
        .collect();
    let label = if rsc.variant == Variant::Primitive {
        format!("{} {}", rsc.id, prim_task.name())
    } else {
        let pseudo = match prim_task {
            Task::Start => "running",
            Task::Stop => "stopped",
            Task::Promote => "promoted",
            Task::Demote => "demoted",
            t => t.name(),
        };
        format!("{} {}", rsc.id, pseudo)
    };
    Endpoint {
        actions,
        any: rsc.variant == Variant::Clone,
        min: 1,
        label,
    }
}

fn build_edges(
    c: &Cluster,
    index: &std::collections::HashMap<(RscIx, Task), Vec<usize>>,
) -> Vec<Edge> {
    let mut edges = vec![];
    // Group members: each starts after the previous and stops before it.
    for g in 0..c.rscs.len() {
        if c.rscs[g].variant != Variant::Group {
            continue;
        }
        let members = c.rscs[g].children.clone();
        for w in members.windows(2) {
            let a = endpoint(c, index, w[0], Task::Start, true);
            let b = endpoint(c, index, w[1], Task::Start, false).actions;
            edges.push(Edge {
                first: a,
                then: b,
                runnable_left: true,
                implies_then: true,
                implies_first: false,
                asymmetric: false,
            });
            let a = endpoint(c, index, w[1], Task::Stop, true);
            let b = endpoint(c, index, w[0], Task::Stop, false).actions;
            edges.push(Edge {
                first: a,
                then: b,
                // A member cannot stop while the next one's stop is blocked.
                runnable_left: true,
                implies_then: false,
                implies_first: true,
                asymmetric: false,
            });
            // A member that restarts forces later members to restart.
            let a = endpoint(c, index, w[0], Task::Stop, true);
            let b = endpoint(c, index, w[1], Task::Stop, false).actions;
            edges.push(Edge {
                first: a,
                then: b,
                runnable_left: false,
                implies_then: true,
                implies_first: false,
                asymmetric: false,
            });
        }
    }
    // Resources on a guest node start after its container and stop before it; on a
    // remote node, likewise with the connection.
    for r in 0..c.rscs.len() {
        if c.rscs[r].variant != Variant::Primitive {
            continue;
        }
        let nodes = c.rscs[r].running_on.iter().chain(c.rscs[r].assigned.iter());
        let Some(host) = nodes.copied().find(|&n| c.nodes[n].remote) else {
            continue;
        };
        let node = &c.nodes[host];
        let Some(via) = node
            .container
            .as_ref()
            .or(node.connection.as_ref())
            .and_then(|id| c.by_id.get(id))
        else {
            continue;
        };
        let first = endpoint(c, index, *via, Task::Start, true);
        let then = endpoint(c, index, r, Task::Start, false).actions;
        edges.push(Edge {
            first,
            then,
            runnable_left: true,
            implies_then: true,
            implies_first: false,
            asymmetric: false,
        });
        let first = endpoint(c, index, r, Task::Stop, true);
        let then = endpoint(c, index, *via, Task::Stop, false).actions;
        edges.push(Edge {
            first,
            then,
            runnable_left: false,
            implies_then: false,
            implies_first: true,
            asymmetric: false,
        });
    }
    for o in &c.set_orderings {
        let mut actions = vec![];
        for &f in &o.firsts {
            actions.extend(endpoint(c, index, f, o.first_task, true).actions);
        }
        let first = Endpoint {
            actions,
            any: true,
            min: 1,
            label: o.label.clone(),
        };
        let then: Vec<usize> = o
            .thens
            .iter()
            .flat_map(|&t| endpoint(c, index, t, o.then_task, false).actions)
            .collect();
        edges.push(Edge {
            first,
            then,
            runnable_left: true,
            implies_then: false,
            implies_first: false,
            asymmetric: false,
        });
    }
    for o in &c.orderings {
        if o.mandatory && o.one_or_more.is_none() && interleaved(c, o.first, o.then) {
            interleave_edges(c, index, o, &mut edges);
            continue;
        }
        let mut first = endpoint(c, index, o.first, o.first_task, true);
        if let Some(min) = o.one_or_more {
            first.min = min;
            first.label = format!("clone-one-or-more:{}", o.id);
            let then = endpoint(c, index, o.then, o.then_task, false).actions;
            edges.push(Edge {
                first,
                then,
                runnable_left: o.mandatory,
                implies_then: false,
                implies_first: false,
                asymmetric: false,
            });
            continue;
        }
        let then = endpoint(c, index, o.then, o.then_task, false).actions;
        let is_up = matches!(
            o.then_task,
            Task::Start | Task::Promote | Task::Started | Task::Promoted
        );
        let first_up = matches!(
            o.first_task,
            Task::Start | Task::Promote | Task::Started | Task::Promoted
        );
        if !o.mandatory {
            edges.push(Edge {
                first,
                then,
                runnable_left: false,
                implies_then: false,
                implies_first: false,
                asymmetric: false,
            });
            continue;
        }
        if o.asymmetric {
            edges.push(Edge {
                first,
                then,
                runnable_left: false,
                implies_then: false,
                implies_first: false,
                asymmetric: true,
            });
            continue;
        }
        edges.push(Edge {
            first,
            then,
            // A stop that must wait for a blocked stop is blocked too.
            runnable_left: (is_up && first_up) || (!is_up && !first_up),
            implies_then: is_up,
            implies_first: !is_up,
            asymmetric: false,
        });
    }
    edges
}

/// Two clones ordered with `interleave=true`: each instance depends only on the
/// instance of the other clone on the same node.
fn interleaved(c: &Cluster, first: RscIx, then: RscIx) -> bool {
    let (f, t) = (&c.rscs[first], &c.rscs[then]);
    f.variant == Variant::Clone && t.variant == Variant::Clone && (t.interleave || f.interleave)
}

fn instance_node(c: &Cluster, inst: RscIx) -> Option<NodeIx> {
    let prims = c.primitives(inst);
    prims
        .iter()
        .find_map(|&p| {
            c.rscs[p]
                .assigned
                .filter(|_| c.rscs[p].next_role.unwrap_or(Role::Stopped) > Role::Stopped)
        })
        .or_else(|| prims.iter().find_map(|&p| c.rscs[p].current_node()))
}

fn interleave_edges(
    c: &Cluster,
    index: &std::collections::HashMap<(RscIx, Task), Vec<usize>>,
    o: &crate::cluster::Ordering,
    edges: &mut Vec<Edge>,
) {
    let is_up = matches!(
        o.then_task,
        Task::Start | Task::Promote | Task::Started | Task::Promoted
    );
    let first_up = matches!(
        o.first_task,
        Task::Start | Task::Promote | Task::Started | Task::Promoted
    );
    for &ti in &c.rscs[o.then].children {
        let Some(node) = instance_node(c, ti) else {
            continue;
        };
        let Some(&fi) = c.rscs[o.first]
            .children
            .iter()
            .find(|&&fi| instance_node(c, fi) == Some(node))
        else {
            continue;
        };
        let first = endpoint(c, index, fi, o.first_task, true);
        let then = endpoint(c, index, ti, o.then_task, false).actions;
        edges.push(Edge {
            first,
            then,
            runnable_left: (is_up && first_up) || (!is_up && !first_up),
            implies_then: is_up,
            implies_first: !is_up,
            asymmetric: false,
        });
    }
}

/// An asymmetric ordering blocks 'then' when 'first' cannot run, unless 'then' has
/// nothing left to do (a stop of a stopped resource, a start of a resource already
/// running there).
fn apply_asymmetric(c: &Cluster, acts: &mut [Action], e: &Edge) -> bool {
    let blocked = if e.first.any {
        e.first
            .actions
            .iter()
            .filter(|&&f| acts[f].runnable && acts[f].node_ix.is_some())
            .count()
            < e.first.min
    } else {
        e.first.actions.iter().any(|&f| !acts[f].runnable)
    };
    if !blocked || e.first.actions.is_empty() {
        return false;
    }
    let mut changed = false;
    for &t in &e.then {
        let r = acts[t].rsc_ix;
        let rsc = &c.rscs[r];
        if !rsc.managed {
            continue;
        }
        if acts[t].task == Task::Stop && rsc.running_on.is_empty() {
            continue;
        }
        let in_place = acts[t].task == Task::Start
            && acts[t].optional
            && rsc.running_on.len() == 1
            && acts[t].node_ix == rsc.running_on.first().copied();
        if in_place {
            continue;
        }
        if acts[t].optional && acts[t].node_ix.is_some() {
            acts[t].optional = false;
            if acts[t].reason.is_none() {
                acts[t].reason = Some(format!("required {}", e.first.label));
            }
            changed = true;
        }
        if acts[t].runnable {
            acts[t].runnable = false;
            if acts[t].reason.is_none() {
                acts[t].reason = Some(format!("unrunnable {}", e.first.label));
            }
            changed = true;
        }
    }
    changed
}

fn migrating(acts: &[Action], r: RscIx) -> bool {
    by_rsc(acts, r).any(|j| acts[j].task == Task::MigrateFrom)
}

/// Indexes of `r`'s actions (actions are created grouped by resource, in index order).
fn by_rsc(acts: &[Action], r: RscIx) -> std::ops::Range<usize> {
    let lo = acts.partition_point(|a| a.rsc_ix < r);
    let hi = acts.partition_point(|a| a.rsc_ix <= r);
    lo..hi
}

fn propagate(c: &Cluster, plan: &mut Plan, edges: &[Edge]) {
    let acts = &mut plan.actions;
    for _round in 0..50 {
        let mut changed = false;
        for e in edges {
            if e.first.actions.is_empty() && !e.runnable_left {
                continue;
            }
            if e.implies_then {
                let required: Vec<&usize> = e
                    .first
                    .actions
                    .iter()
                    // A clone's "running" is required only by instances that will start.
                    .filter(|&&f| !acts[f].optional && (!e.first.any || acts[f].runnable))
                    .collect();
                if !required.is_empty() {
                    for &t in &e.then {
                        if acts[t].optional
                            && acts[t].node_ix.is_some()
                            && c.rscs[acts[t].rsc_ix].managed
                        {
                            acts[t].optional = false;
                            if acts[t].reason.is_none()
                                && acts[t].rsc_ix != acts[*required[0]].rsc_ix
                                && !migrating(acts, acts[t].rsc_ix)
                            {
                                acts[t].reason = Some(format!("required {}", e.first.label));
                            }
                            changed = true;
                        }
                    }
                }
            }
            if e.runnable_left {
                let runnable = if e.first.actions.is_empty() {
                    true
                } else if e.first.any {
                    e.first
                        .actions
                        .iter()
                        .filter(|&&f| acts[f].runnable && acts[f].node_ix.is_some())
                        .count()
                        >= e.first.min
                } else {
                    e.first.actions.iter().all(|&f| acts[f].runnable)
                };
                if !runnable {
                    for &t in &e.then {
                        if acts[t].runnable && c.rscs[acts[t].rsc_ix].managed {
                            acts[t].runnable = false;
                            if acts[t].reason.is_none() {
                                acts[t].reason = Some(format!("unrunnable {}", e.first.label));
                            }
                            changed = true;
                        }
                    }
                }
            }
            if e.asymmetric {
                changed |= apply_asymmetric(c, acts, e);
            }
            if e.implies_first {
                let required = e.then.iter().any(|&t| !acts[t].optional);
                if required {
                    for &f in &e.first.actions {
                        if acts[f].optional
                            && acts[f].node_ix.is_some()
                            && c.rscs[acts[f].rsc_ix].managed
                        {
                            acts[f].optional = false;
                            changed = true;
                        }
                    }
                }
            }
        }
        // A migration needs its start to be possible.
        for i in 0..acts.len() {
            if !matches!(acts[i].task, Task::MigrateFrom | Task::MigrateTo) || !acts[i].runnable {
                continue;
            }
            let r = acts[i].rsc_ix;
            let start_blocked =
                by_rsc(acts, r).any(|j| acts[j].task == Task::Start && !acts[j].runnable);
            if start_blocked {
                acts[i].runnable = false;
                changed = true;
            }
        }
        // A resource that stays but cannot be started again must stop.
        for i in 0..acts.len() {
            if acts[i].task != Task::Start || acts[i].runnable || acts[i].node_ix.is_none() {
                continue;
            }
            let r = acts[i].rsc_ix;
            if !c.rscs[r].managed || c.rscs[r].running_on.is_empty() {
                continue;
            }
            for j in by_rsc(acts, r) {
                if acts[j].task == Task::Stop && acts[j].optional {
                    acts[j].optional = false;
                    changed = true;
                }
            }
            if acts[i].optional {
                acts[i].optional = false;
                changed = true;
            }
        }
        // A required stop that cannot run keeps the resource's required start from running.
        for i in 0..acts.len() {
            let r = acts[i].rsc_ix;
            if acts[i].task != Task::Stop || acts[i].optional || acts[i].runnable {
                continue;
            }
            if !c.rscs[r].managed {
                continue;
            }
            for j in by_rsc(acts, r) {
                if acts[j].task == Task::Start && acts[j].runnable && !acts[j].optional {
                    acts[j].runnable = false;
                    changed = true;
                }
            }
        }
        // A required stop of a resource that stays forces its start (restart), and a
        // required start of a running resource forces its stop.
        for i in 0..acts.len() {
            let r = acts[i].rsc_ix;
            if acts[i].optional {
                continue;
            }
            for j in by_rsc(acts, r) {
                if !acts[j].optional || i == j {
                    continue;
                }
                let pair = matches!(
                    (acts[i].task, acts[j].task),
                    (Task::Stop, Task::Start) | (Task::Start, Task::Stop)
                );
                if pair && acts[j].node_ix.is_some() && c.rscs[r].managed {
                    acts[j].optional = false;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}
