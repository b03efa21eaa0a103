//! Unpacks constraints: locations (scores, rules, roles, patterns), colocations and
//! orderings (plain and with resource sets), tickets, with tags expanded.
//!
//! Unknown references become diagnostics naming the constraint. No I/O.

use herd_types::Score;

use super::{is_true, parse_score};
use crate::cluster::{Cluster, Colocation, Ordering, Role, RscIx, Task};
use crate::input::{
    ColocationDef, ConstraintDef, Input, LocationDef, OrderDef, RscSet, Rule, TicketDef,
};
use crate::rules::{self, RuleContext};

pub(crate) fn unpack_constraints(input: &Input, cluster: &mut Cluster) {
    group_internal(cluster);
    guest_connections(cluster);
    containers(cluster);
    for c in &input.constraints {
        match c {
            ConstraintDef::Location(l) => location(input, cluster, l),
            ConstraintDef::Colocation(c) => colocation(input, cluster, c),
            ConstraintDef::Order(o) => order(input, cluster, o),
            ConstraintDef::Ticket(t) => ticket(input, cluster, t),
        }
    }
    sort_colocation_lists(cluster);
}

/// Orders each resource's colocations as Pacemaker applies them: "this with" ones by the
/// primary, "with this" ones by the dependent (higher priority first, then clones before
/// groups before primitives, promotable clones first, then by id; else as configured).
fn sort_colocation_lists(cluster: &mut Cluster) {
    let key = |c: &Cluster, r: RscIx| {
        let rsc = &c.rscs[r];
        (
            std::cmp::Reverse(rsc.priority),
            std::cmp::Reverse(rsc.variant),
            !(rsc.variant == crate::cluster::Variant::Clone && rsc.promotable),
        )
    };
    for r in 0..cluster.rscs.len() {
        let mut this_with = std::mem::take(&mut cluster.rscs[r].this_with);
        let c = &*cluster;
        this_with.sort_by(|&a, &b| {
            let (pa, pb) = (c.colocations[a].primary, c.colocations[b].primary);
            key(c, pa)
                .cmp(&key(c, pb))
                .then_with(|| c.rscs[pa].id.cmp(&c.rscs[pb].id))
        });
        let mut with_this = std::mem::take(&mut cluster.rscs[r].with_this);
        let c = &*cluster;
        with_this.sort_by(|&a, &b| {
            let (da, db) = (c.colocations[a].dependent, c.colocations[b].dependent);
            key(c, da)
                .cmp(&key(c, db))
                .then_with(|| c.rscs[da].id.cmp(&c.rscs[db].id))
        });
        cluster.rscs[r].this_with = this_with;
        cluster.rscs[r].with_this = with_this;
    }
}

/// Resolves an id (or tag) to resources; reports unknown ids.
fn resolve(input: &Input, cluster: &mut Cluster, id: &str, line: u32, cons: &str) -> Vec<RscIx> {
    if let Some(&ix) = cluster.by_id.get(id) {
        return vec![ix];
    }
    if input.templates.iter().any(|t| t.id == id) {
        let mut out = vec![];
        fn walk(defs: &[crate::input::RscDef], id: &str, out: &mut Vec<String>) {
            for d in defs {
                if d.template.as_deref() == Some(id) {
                    out.push(d.id.clone());
                }
                walk(&d.children, id, out);
            }
        }
        walk(&input.resources, id, &mut out);
        return out
            .iter()
            .filter_map(|r| cluster.by_id.get(r).copied())
            .collect();
    }
    if let Some(refs) = input.tags.get(id) {
        let refs = refs.clone();
        return refs
            .iter()
            .flat_map(|r| resolve(input, cluster, r, line, cons))
            .collect();
    }
    cluster.diag(
        line,
        cons,
        format!("constraint {cons} references unknown resource {id}"),
    );
    vec![]
}

fn add_location(cluster: &mut Cluster, rsc: RscIx, node: usize, score: Score, role: Option<Role>) {
    if let Some(role) = role.filter(|r| *r == Role::Promoted || *r == Role::Unpromoted) {
        cluster.role_locations.push((rsc, node, score, role));
        return;
    }
    let mut stack = vec![rsc];
    while let Some(r) = stack.pop() {
        let slot = &mut cluster.rscs[r].allowed[node];
        *slot = Some(slot.unwrap_or(Score::ZERO) + score);
        stack.extend(cluster.rscs[r].children.iter().copied());
    }
}

fn location(input: &Input, cluster: &mut Cluster, l: &LocationDef) {
    let mut targets: Vec<RscIx> = vec![];
    if let Some(r) = &l.rsc {
        targets = resolve(input, cluster, r, l.line, &l.id);
    } else if let Some(p) = &l.rsc_pattern {
        let pat = p.trim_start_matches('^').trim_end_matches('$');
        let tops = cluster.top.clone();
        targets = tops
            .into_iter()
            .filter(|&t| simple_match(pat, &cluster.rscs[t].id))
            .collect();
    }
    for s in &l.sets {
        for r in &s.resources {
            targets.extend(resolve(input, cluster, r, l.line, &l.id));
        }
    }
    let role = l.role.as_deref().and_then(Role::parse);
    for rsc in targets {
        if let Some(node) = &l.node {
            let Some(n) = cluster.node_by_name(node) else {
                continue;
            };
            let score = parse_score(l.score.as_deref()).unwrap_or(Score::ZERO);
            add_location(cluster, rsc, n, score, role);
        }
        for rule in &l.rules {
            location_rule(cluster, rsc, rule, role);
        }
    }
}

/// A tiny regex subset for `rsc-pattern`: literal text with `.`, `.*` and `[...]`-free.
fn simple_match(pat: &str, text: &str) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'.', b'*', rest @ ..] => (0..=t.len()).any(|i| m(rest, &t[i..])),
            [c, b'*', rest @ ..] => {
                let mut i = 0;
                loop {
                    if m(rest, &t[i..]) {
                        return true;
                    }
                    if i < t.len() && (t[i] == *c || *c == b'.') {
                        i += 1;
                    } else {
                        return false;
                    }
                }
            }
            [b'.', rest @ ..] => !t.is_empty() && m(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && m(rest, &t[1..]),
        }
    }
    m(pat.as_bytes(), text.as_bytes())
}

fn location_rule(cluster: &mut Cluster, rsc: RscIx, rule: &Rule, role: Option<Role>) {
    let role = rule.role.as_deref().and_then(Role::parse).or(role);
    let now = cluster.options.now;
    for n in 0..cluster.nodes.len() {
        let ctx = RuleContext {
            attrs: Some(&cluster.nodes[n].attrs),
            ..RuleContext::plain(now)
        };
        if !rules::eval(rule, &ctx) {
            continue;
        }
        let score = match &rule.score_attribute {
            Some(attr) => match cluster.nodes[n]
                .attrs
                .get(attr)
                .and_then(|v| parse_score(Some(v)))
            {
                Some(s) => s,
                None => continue,
            },
            None => parse_score(rule.score.as_deref()).unwrap_or(Score::ZERO),
        };
        add_location(cluster, rsc, n, score, role);
    }
}

fn role_of(text: &Option<String>) -> Role {
    text.as_deref()
        .and_then(Role::parse)
        .filter(|r| *r != Role::Started)
        .unwrap_or(Role::Unknown)
}

fn push_colocation(cluster: &mut Cluster, mut c: Colocation) {
    // A group follows its first member: colocating the group colocates that member; a
    // mandatory colocation binds every member (one that cannot move must not drag the
    // others along).
    if cluster.rscs[c.dependent].variant == crate::cluster::Variant::Group
        && (c.score.is_infinity() || c.score.is_minus_infinity())
    {
        let members = cluster.rscs[c.dependent].children.clone();
        for m in members.into_iter().skip(1) {
            let mut each = c.clone();
            each.dependent = m;
            push_colocation(cluster, each);
        }
    }
    while cluster.rscs[c.dependent].variant == crate::cluster::Variant::Group {
        match cluster.rscs[c.dependent].children.first() {
            Some(&m) => c.dependent = m,
            None => return,
        }
    }
    if c.dependent == c.primary {
        return;
    }
    let ix = cluster.colocations.len();
    let (d, p) = (c.dependent, c.primary);
    cluster.colocations.push(c);
    cluster.rscs[d].this_with.push(ix);
    cluster.rscs[p].with_this.push(ix);
}

fn colocation(input: &Input, cluster: &mut Cluster, c: &ColocationDef) {
    let score = parse_score(c.score.as_deref()).unwrap_or(Score::ZERO);
    let influence = c.influence.as_deref().is_none_or(is_true);
    let mk = |d, p, dr, pr, s| Colocation {
        id: c.id.clone(),
        dependent: d,
        primary: p,
        dependent_role: dr,
        primary_role: pr,
        score: s,
        node_attribute: c.node_attribute.clone(),
        influence,
    };
    if c.sets.is_empty() {
        let (Some(r), Some(w)) = (&c.rsc, &c.with_rsc) else {
            cluster.diag(
                c.line,
                &c.id,
                format!("colocation {} needs rsc and with-rsc", c.id),
            );
            return;
        };
        let ds = resolve(input, cluster, r, c.line, &c.id);
        let ps = resolve(input, cluster, w, c.line, &c.id);
        for &d in &ds {
            for &p in &ps {
                push_colocation(
                    cluster,
                    mk(d, p, role_of(&c.rsc_role), role_of(&c.with_rsc_role), score),
                );
            }
        }
        return;
    }
    let sets: Vec<(Vec<RscIx>, &RscSet)> = c
        .sets
        .iter()
        .map(|s| {
            (
                s.resources
                    .iter()
                    .flat_map(|r| resolve(input, cluster, r, c.line, &c.id))
                    .collect(),
                s,
            )
        })
        .collect();
    for (members, set) in &sets {
        let s = set
            .score
            .as_deref()
            .and_then(|v| parse_score(Some(v)))
            .unwrap_or(score);
        let role = role_of(&set.role);
        if set.sequential.as_deref().is_none_or(is_true) {
            for w in members.windows(2) {
                push_colocation(cluster, mk(w[1], w[0], role, role, s));
            }
        }
    }
    for pair in sets.windows(2) {
        let (a, sa) = &pair[0];
        let (b, sb) = &pair[1];
        // The earlier set depends on the later one: its first member (or every member
        // when unordered) with the later set's last member (or every member).
        let (dr, pr) = (role_of(&sa.role), role_of(&sb.role));
        let primaries: Vec<RscIx> = if sb.sequential.as_deref().is_none_or(is_true) {
            b.last().copied().into_iter().collect()
        } else {
            b.clone()
        };
        let dependents: Vec<RscIx> = if sa.sequential.as_deref().is_none_or(is_true) {
            a.first().copied().into_iter().collect()
        } else {
            a.clone()
        };
        for &d in &dependents {
            for &p in &primaries {
                push_colocation(cluster, mk(d, p, dr, pr, score));
            }
        }
    }
}

/// A guest node's connection runs with its container, and starts after it.
fn guest_connections(cluster: &mut Cluster) {
    for n in 0..cluster.nodes.len() {
        let node = &cluster.nodes[n];
        let (Some(conn), Some(container)) = (node.connection.clone(), node.container.clone())
        else {
            continue;
        };
        let (Some(&c), Some(&k)) = (cluster.by_id.get(&conn), cluster.by_id.get(&container)) else {
            continue;
        };
        push_colocation(
            cluster,
            Colocation {
                id: format!("{conn}-with-container"),
                dependent: c,
                primary: k,
                dependent_role: Role::Unknown,
                primary_role: Role::Unknown,
                score: Score::INFINITY,
                node_attribute: None,
                influence: true,
            },
        );
        push_order(
            cluster,
            &format!("{conn}-after-container"),
            k,
            Task::Start,
            c,
            Task::Start,
            true,
            true,
        );
    }
}

/// A resource with a `container` meta attribute runs inside it: with it, after it.
fn containers(cluster: &mut Cluster) {
    for r in 0..cluster.rscs.len() {
        if cluster.rscs[r].variant != crate::cluster::Variant::Primitive {
            continue;
        }
        let Some(k) = cluster.rscs[r]
            .meta
            .get("container")
            .and_then(|k| cluster.by_id.get(k))
            .copied()
        else {
            continue;
        };
        // A guest node's container hosts resources on the guest, not beside it.
        let hosts_guest = cluster
            .nodes
            .iter()
            .any(|n| n.container.as_deref() == Some(cluster.rscs[k].id.as_str()));
        if k == r || hosts_guest {
            continue;
        }
        let id = format!("{}-container", cluster.rscs[r].id);
        push_colocation(
            cluster,
            Colocation {
                id: id.clone(),
                dependent: r,
                primary: k,
                dependent_role: Role::Unknown,
                primary_role: Role::Unknown,
                score: Score::INFINITY,
                node_attribute: None,
                influence: true,
            },
        );
        push_order(cluster, &id, k, Task::Start, r, Task::Start, true, true);
    }
}

/// Members of a (colocated) group run with the previous member.
fn group_internal(cluster: &mut Cluster) {
    for g in 0..cluster.rscs.len() {
        if cluster.rscs[g].variant != crate::cluster::Variant::Group {
            continue;
        }
        let colocated = cluster.rscs[g]
            .meta
            .get("collocated")
            .is_none_or(|v| is_true(v));
        if !colocated {
            continue;
        }
        let members = cluster.rscs[g].children.clone();
        for w in members.windows(2) {
            let id = format!("{}-internal", cluster.rscs[g].id);
            push_colocation(
                cluster,
                Colocation {
                    id,
                    dependent: w[1],
                    primary: w[0],
                    dependent_role: Role::Unknown,
                    primary_role: Role::Unknown,
                    score: Score::INFINITY,
                    node_attribute: None,
                    influence: true,
                },
            );
        }
    }
}

fn push_order(
    cluster: &mut Cluster,
    id: &str,
    first: RscIx,
    ft: Task,
    then: RscIx,
    tt: Task,
    mandatory: bool,
    symmetric: bool,
) {
    cluster.orderings.push(Ordering {
        id: id.to_owned(),
        first,
        first_task: ft,
        then,
        then_task: tt,
        mandatory,
        one_or_more: None,
        asymmetric: !symmetric,
    });
    if symmetric && let (Some(fi), Some(ti)) = (inverse(ft), inverse(tt)) {
        cluster.orderings.push(Ordering {
            id: id.to_owned(),
            first: then,
            first_task: ti,
            then: first,
            then_task: fi,
            mandatory,
            one_or_more: None,
            asymmetric: false,
        });
    }
}

fn inverse(t: Task) -> Option<Task> {
    Some(match t {
        Task::Start => Task::Stop,
        Task::Stop => Task::Start,
        Task::Promote => Task::Demote,
        Task::Demote => Task::Promote,
        Task::Started => Task::Stopped,
        Task::Stopped => Task::Started,
        Task::Promoted => Task::Demoted,
        Task::Demoted => Task::Promoted,
        _ => return None,
    })
}

fn order(input: &Input, cluster: &mut Cluster, o: &OrderDef) {
    let kind = o.kind.as_deref().map(str::to_ascii_lowercase);
    let score = parse_score(o.score.as_deref());
    let mandatory = match kind.as_deref() {
        Some("mandatory") => true,
        Some("optional") | Some("serialize") => false,
        _ => score.is_none_or(|s| s.value() > 0),
    };
    let symmetric = o
        .symmetrical
        .as_deref()
        .map_or(kind.as_deref() != Some("serialize"), is_true);
    if o.sets.is_empty() {
        let (Some(f), Some(t)) = (&o.first, &o.then) else {
            cluster.diag(
                o.line,
                &o.id,
                format!("order {} needs first and then", o.id),
            );
            return;
        };
        let ft = o
            .first_action
            .as_deref()
            .and_then(Task::parse)
            .unwrap_or(Task::Start);
        let tt = o.then_action.as_deref().and_then(Task::parse).unwrap_or(ft);
        let fs = resolve(input, cluster, f, o.line, &o.id);
        let ts = resolve(input, cluster, t, o.line, &o.id);
        for &a in &fs {
            for &b in &ts {
                // "clone-one-or-more": a clone first with clone-min or require-all=false
                // needs only that many instances, and has no inverse.
                let clone_min = cluster.rscs[a]
                    .meta
                    .get("clone-min")
                    .and_then(|v| v.parse::<usize>().ok());
                let require_all = o.require_all.as_deref().is_none_or(is_true);
                if cluster.rscs[a].variant == crate::cluster::Variant::Clone
                    && (clone_min.is_some() || !require_all)
                {
                    cluster.orderings.push(Ordering {
                        id: o.id.clone(),
                        first: a,
                        first_task: ft,
                        then: b,
                        then_task: tt,
                        mandatory,
                        one_or_more: Some(clone_min.unwrap_or(1).max(1)),
                        asymmetric: false,
                    });
                    continue;
                }
                push_order(cluster, &o.id, a, ft, b, tt, mandatory, symmetric);
            }
        }
        return;
    }
    let sets: Vec<(Vec<RscIx>, &RscSet)> = o
        .sets
        .iter()
        .map(|s| {
            (
                s.resources
                    .iter()
                    .flat_map(|r| resolve(input, cluster, r, o.line, &o.id))
                    .collect(),
                s,
            )
        })
        .collect();
    let task = |s: &RscSet| {
        s.action
            .as_deref()
            .and_then(Task::parse)
            .unwrap_or(Task::Start)
    };
    for (members, set) in &sets {
        if set.sequential.as_deref().is_none_or(is_true) {
            for w in members.windows(2) {
                push_order(
                    cluster,
                    &o.id,
                    w[0],
                    task(set),
                    w[1],
                    task(set),
                    mandatory,
                    symmetric,
                );
            }
        }
    }
    for pair in sets.windows(2) {
        let (a, sa) = &pair[0];
        let (b, sb) = &pair[1];
        // require-all=false: any one member of the earlier set is enough.
        if sa.require_all.as_deref().is_some_and(|v| !is_true(v)) {
            let thens: Vec<RscIx> = if sb.sequential.as_deref().is_none_or(is_true) {
                b.first().copied().into_iter().collect()
            } else {
                b.clone()
            };
            cluster.set_orderings.push(crate::cluster::SetOrdering {
                firsts: a.clone(),
                first_task: task(sa),
                thens,
                then_task: task(sb),
                label: format!("one-or-more:{}", sa.id),
            });
            continue;
        }
        let firsts: Vec<RscIx> = if sa.sequential.as_deref().is_none_or(is_true) {
            a.last().copied().into_iter().collect()
        } else {
            a.clone()
        };
        let thens: Vec<RscIx> = if sb.sequential.as_deref().is_none_or(is_true) {
            b.first().copied().into_iter().collect()
        } else {
            b.clone()
        };
        for &f in &firsts {
            for &t in &thens {
                push_order(
                    cluster,
                    &o.id,
                    f,
                    task(sa),
                    t,
                    task(sb),
                    mandatory,
                    symmetric,
                );
            }
        }
    }
}

fn ticket(input: &Input, cluster: &mut Cluster, t: &TicketDef) {
    let (granted, standby) = cluster
        .tickets
        .get(&t.ticket)
        .copied()
        .unwrap_or((false, false));
    if granted && !standby {
        return;
    }
    let mut targets: Vec<(RscIx, Option<Role>)> = vec![];
    let role = t.rsc_role.as_deref().and_then(Role::parse);
    if let Some(r) = &t.rsc {
        for ix in resolve(input, cluster, r, t.line, &t.id) {
            targets.push((ix, role));
        }
    }
    for s in &t.sets {
        let set_role = s.role.as_deref().and_then(Role::parse).or(role);
        for r in &s.resources {
            for ix in resolve(input, cluster, r, t.line, &t.id) {
                targets.push((ix, set_role));
            }
        }
    }
    let policy = t
        .loss_policy
        .as_deref()
        .unwrap_or("stop")
        .to_ascii_lowercase();
    for (rsc, role) in targets {
        let prims = cluster.primitives(rsc);
        let running: Vec<usize> = prims
            .iter()
            .flat_map(|&p| cluster.rscs[p].running_on.clone())
            .collect();
        if !granted && policy == "freeze" {
            if running.is_empty() {
                for n in 0..cluster.nodes.len() {
                    add_location(cluster, rsc, n, Score::MINUS_INFINITY, None);
                }
            }
            continue;
        }
        // Promoted-role tickets under loss-policy=demote only forbid promotion; so does
        // loss-policy=fence while the resource is not promoted. Otherwise losing the
        // ticket stops the resource.
        let promoted_now = prims
            .iter()
            .any(|&p| cluster.rscs[p].role == Role::Promoted);
        let fence_filtered = policy == "fence" && !granted && !promoted_now;
        if role == Some(Role::Promoted) && (policy == "demote" || fence_filtered) {
            for n in 0..cluster.nodes.len() {
                add_location(cluster, rsc, n, Score::MINUS_INFINITY, Some(Role::Promoted));
            }
            continue;
        }
        for n in 0..cluster.nodes.len() {
            add_location(cluster, rsc, n, Score::MINUS_INFINITY, None);
        }
        if !granted && policy == "fence" {
            for n in running {
                let node = &mut cluster.nodes[n];
                if !node.unclean {
                    node.unclean = true;
                    node.online = false;
                    node.fence_reason = Some("deadman ticket was lost".into());
                }
            }
        }
    }
}
