//! Clones: distributing instances over nodes (keep running instances where they are when
//! allowed, then fill up to clone-max with at most clone-node-max per node), and the
//! promotion step of promotable clones (promotion scores, promoted-max).
//!
//! Not primitive assignment (`placement`). No I/O.

use herd_types::Score;

use crate::cluster::{Cluster, NodeIx, Role, RscIx, Variant};
use crate::colocation::{add_colocated_scores, apply_coloc_score};
use crate::placement::{assign, node_weight};

fn instance_current(c: &Cluster, inst: RscIx) -> Option<NodeIx> {
    c.primitives(inst)
        .iter()
        .find_map(|&p| c.rscs[p].current_node())
}

fn instance_failed(c: &Cluster, inst: RscIx) -> bool {
    c.primitives(inst).iter().any(|&p| c.rscs[p].failed)
}

fn instance_assigned(c: &Cluster, inst: RscIx) -> Option<NodeIx> {
    match c.rscs[inst].variant {
        Variant::Group => c.rscs[inst]
            .children
            .first()
            .and_then(|&m| c.rscs[m].assigned),
        _ => c.rscs[inst].assigned,
    }
}

fn unassign(c: &mut Cluster, r: RscIx) {
    if let Some(n) = c.rscs[r].assigned.take()
        && c.rscs[r].variant == Variant::Primitive
    {
        c.nodes[n].num_resources = c.nodes[n].num_resources.saturating_sub(1);
        crate::utilization::release(c, r, n);
    }
    c.rscs[r].provisional = true;
    c.rscs[r].next_role = None;
    for ch in c.rscs[r].children.clone() {
        unassign(c, ch);
    }
}

fn set_all(c: &mut Cluster, r: RscIx, f: &dyn Fn(&mut Vec<Option<Score>>)) {
    for p in c.primitives(r) {
        f(&mut c.rscs[p].allowed);
    }
}

fn ban_everywhere(c: &mut Cluster, r: RscIx) {
    for p in c.primitives(r) {
        for s in c.rscs[p].allowed.iter_mut() {
            *s = Some(Score::MINUS_INFINITY);
        }
        if c.rscs[p].provisional {
            crate::placement::finalize(c, p, None, false);
        }
    }
    if c.rscs[r].variant == Variant::Group {
        c.rscs[r].provisional = false;
        c.rscs[r].assigned = None;
    }
}

pub(crate) fn assign_clone(c: &mut Cluster, clone: RscIx) {
    if !c.rscs[clone].provisional || c.rscs[clone].allocating {
        return;
    }
    c.rscs[clone].allocating = true;
    if c.rscs[clone].promotable {
        add_promotion_scores(c, clone);
    }
    for ci in c.rscs[clone].this_with.clone() {
        let p = c.colocations[ci].primary;
        assign(c, p, None);
    }
    for ci in c.rscs[clone].with_this.clone() {
        if !crate::placement::has_influence(c, ci) {
            continue;
        }
        let col = c.colocations[ci].clone();
        let mut table = c.rscs[clone].allowed.clone();
        add_colocated_scores(
            c,
            col.dependent,
            &mut table,
            col.node_attribute.as_deref(),
            col.score.value() as f64 / 1e6,
            true,
            true,
        );
        c.rscs[clone].allowed = table;
    }
    let mut children = c.rscs[clone].children.clone();
    // Running, healthy instances first; otherwise keep instance order.
    children.sort_by_key(|&i| {
        let cur = instance_current(c, i);
        let avail = cur.is_some_and(|n| c.nodes[n].available());
        (!avail, cur.is_none(), i)
    });
    distribute(c, clone, &children);
    if c.rscs[clone].promotable {
        crate::promotable::set_roles(c, clone);
    }
    c.rscs[clone].provisional = false;
    c.rscs[clone].allocating = false;
}

fn distribute(c: &mut Cluster, clone: RscIx, children: &[RscIx]) {
    let max = c.rscs[clone].clone_max;
    let per_host = c.rscs[clone].clone_node_max.max(1);
    let available = (0..c.nodes.len())
        .filter(|&n| c.nodes[n].available())
        .count();
    let all_coloc = max < available;
    let loop_max = max.checked_div(available).unwrap_or(1).max(1);
    c.rscs[clone].counts = vec![0; c.nodes.len()];
    let mut allocated = 0;
    for &child in children {
        if allocated >= max {
            break;
        }
        let Some(cur) = instance_current(c, child) else {
            continue;
        };
        if !c.rscs[child].provisional || instance_failed(c, child) {
            continue;
        }
        if !c.nodes[cur].available() || c.rscs[clone].allowed[cur].is_none_or(|s| s.value() < 0) {
            continue;
        }
        if c.rscs[clone].counts[cur] >= loop_max {
            continue;
        }
        if allocate_instance(c, clone, child, Some(cur), all_coloc, per_host).is_some() {
            allocated += 1;
        }
    }
    for &child in children {
        if !c.rscs[child].provisional && instance_assigned(c, child).is_some()
            || !is_provisional(c, child)
        {
            continue;
        }
        if allocated >= max {
            ban_everywhere(c, child);
        } else if allocate_instance(c, clone, child, None, all_coloc, per_host).is_some() {
            allocated += 1;
        }
    }
}

fn is_provisional(c: &Cluster, r: RscIx) -> bool {
    c.primitives(r).iter().any(|&p| c.rscs[p].provisional)
}

fn allocate_instance(
    c: &mut Cluster,
    clone: RscIx,
    child: RscIx,
    prefer: Option<NodeIx>,
    all_coloc: bool,
    limit: usize,
) -> Option<NodeIx> {
    let first = c.primitives(child).first().copied()?;
    if let Some(p) = prefer
        && c.rscs[first].allowed[p].is_none_or(|s| s.value() < 0)
    {
        return None;
    }
    // can_run_instance: ban nodes that are unavailable, banned for the clone or full.
    let n_nodes = c.nodes.len();
    for n in 0..n_nodes {
        let top = c.rscs[clone].allowed[n];
        let ban = !c.nodes[n].available() || c.rscs[child].orphan || top.is_none();
        let full = c.rscs[clone].counts[n] >= limit;
        let neg = top.filter(|s| s.value() < 0);
        if ban || full {
            set_all(c, child, &|t| t[n] = Some(Score::MINUS_INFINITY));
        } else if let Some(s) = neg {
            set_all(c, child, &|t| t[n] = Some(t[n].unwrap_or(Score::ZERO) + s));
        }
    }
    // The clone's colocations apply to each instance.
    let backup: Vec<(RscIx, Vec<Option<Score>>)> = c
        .primitives(child)
        .into_iter()
        .map(|p| (p, c.rscs[p].allowed.clone()))
        .collect();
    for ci in c.rscs[clone].this_with.clone() {
        let col = c.colocations[ci].clone();
        if all_coloc || col.score.value() < 0 || col.score.is_infinity() {
            if col.dependent_role >= Role::Unpromoted {
                continue;
            }
            apply_coloc_score(c, first, &col);
        }
    }
    let chosen = assign(c, child, prefer);
    let chosen = match c.rscs[child].variant {
        Variant::Group => instance_assigned(c, child),
        _ => chosen,
    };
    if let (Some(ch), Some(p)) = (chosen, prefer)
        && ch != p
    {
        for (r, t) in backup {
            c.rscs[r].allowed = t;
        }
        unassign(c, child);
        return None;
    }
    if let Some(ch) = chosen {
        c.rscs[clone].counts[ch] += 1;
    }
    chosen
}

/// Adds positive promotion scores to instances' node preferences.
fn add_promotion_scores(c: &mut Cluster, clone: RscIx) {
    for inst in c.rscs[clone].children.clone() {
        for n in 0..c.nodes.len() {
            if !c.nodes[n].available() {
                continue;
            }
            let (score, _) = crate::promotable::promotion_score(c, inst, n);
            if score > 0 {
                for p in c.primitives(inst) {
                    if let Some(w) = c.rscs[p].allowed[n] {
                        c.rscs[p].allowed[n] = Some(w + Score::new(score));
                    }
                }
            }
        }
    }
    let _ = node_weight;
}
