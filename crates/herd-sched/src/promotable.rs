//! Promotable clones: promotion scores (`master-<rsc>` node attributes), promoted-role
//! location scores and colocations, and choosing which instances are promoted
//! (promoted-max, promoted-node-max).
//!
//! Not instance placement (`clone`). No I/O.

use herd_types::Score;

use crate::cluster::{Cluster, NodeIx, Role, RscIx, Variant};

/// The promotion score of an instance on a node, and whether it was a default.
pub(crate) fn promotion_score(c: &Cluster, inst: RscIx, node: NodeIx) -> (i64, bool) {
    if c.rscs[inst].variant == Variant::Group {
        let mut total = 0;
        let mut default = true;
        for &m in &c.rscs[inst].children {
            let (s, d) = promotion_score(c, m, node);
            total += s;
            default &= d;
        }
        return (total, default);
    }
    let r = &c.rscs[inst];
    let attrs = &c.nodes[node].attrs;
    let lookup = |name: &str| {
        attrs
            .get(&format!("master-{name}"))
            .or_else(|| attrs.get(&format!("promotion-{name}")))
    };
    let name = r.history_name.as_deref().unwrap_or(&r.id);
    let value = lookup(name).or_else(|| if r.unique { None } else { lookup(&r.base_id) });
    match value.and_then(|v| crate::unpack::parse_score(Some(v))) {
        Some(s) => (s.value(), false),
        None => (0, true),
    }
}

fn assigned_node(c: &Cluster, inst: RscIx) -> Option<NodeIx> {
    let prims = c.primitives(inst);
    let first = c.rscs[*prims.first()?].assigned?;
    prims
        .iter()
        .all(|&p| c.rscs[p].assigned == Some(first))
        .then_some(first)
}

fn current_role(c: &Cluster, inst: RscIx) -> Role {
    c.primitives(inst)
        .iter()
        .map(|&p| c.rscs[p].role)
        .max()
        .unwrap_or(Role::Stopped)
}

fn failed(c: &Cluster, inst: RscIx) -> bool {
    c.primitives(inst).iter().any(|&p| c.rscs[p].failed)
}

fn set_next(c: &mut Cluster, inst: RscIx, role: Role) {
    for p in c.primitives(inst) {
        if c.rscs[p].assigned.is_some() {
            c.rscs[p].next_role = Some(role);
        } else {
            c.rscs[p].next_role = Some(Role::Stopped);
        }
    }
}

pub(crate) fn set_roles(c: &mut Cluster, clone: RscIx) {
    let instances = c.rscs[clone].children.clone();
    for p in c.primitives(clone) {
        if c.rscs[p].role == Role::Started {
            c.rscs[p].role = Role::Unpromoted;
        }
    }
    let mut prio: Vec<(RscIx, i64, Option<NodeIx>)> = vec![];
    for &inst in &instances {
        let Some(node) = assigned_node(c, inst) else {
            prio.push((inst, i64::MIN, None));
            continue;
        };
        let (score, default) = promotion_score(c, inst, node);
        let mut p = if default {
            Score::new(-1)
        } else {
            Score::new(score)
        };
        let target = c.rscs[inst].target_role.or(c.rscs[clone].target_role);
        if c.primitives(inst)
            .iter()
            .any(|&p| c.rscs[p].demote_on_failure)
        {
            p = Score::MINUS_INFINITY;
        }
        if target == Some(Role::Unpromoted)
            || !c.rscs[inst].managed && current_role(c, inst) != Role::Promoted
        {
            p = Score::MINUS_INFINITY;
        }
        // An unmanaged (blocked) promoted instance stays promoted and counts first.
        let frozen = c.primitives(inst).iter().any(|&x| !c.rscs[x].managed);
        if frozen && current_role(c, inst) == Role::Promoted {
            prio.push((inst, Score::INFINITY.value(), Some(node)));
            continue;
        }
        for &(r, n, s, role) in &c.role_locations {
            if role == Role::Promoted
                && n == node
                && (r == clone || r == inst || c.primitives(inst).contains(&r))
            {
                p += s;
            }
        }
        // Colocations of the clone's promoted role with other resources.
        for &ci in &c.rscs[clone].this_with {
            let col = &c.colocations[ci];
            if col.dependent_role != Role::Promoted {
                continue;
            }
            let prim = crate::colocation::primary_nodes(c, col.primary, col.primary_role);
            let on = prim.as_ref().is_some_and(|v| v.contains(&node));
            if on {
                p += col.score;
            } else if col.score.is_infinity() {
                p = Score::MINUS_INFINITY;
            }
        }
        // Resources that want to run with the promoted instance pull promotion towards
        // the nodes they prefer.
        for ci in c.rscs[clone].with_this.clone() {
            let col = c.colocations[ci].clone();
            if col.primary_role != Role::Promoted || !col.influence {
                continue;
            }
            let mut table = vec![Some(Score::ZERO); c.nodes.len()];
            let factor = col.score.value() as f64 / 1e6;
            crate::colocation::add_colocated_scores(
                c,
                col.dependent,
                &mut table,
                col.node_attribute.as_deref(),
                factor,
                true,
                true,
            );
            p += table[node].unwrap_or(Score::ZERO);
        }
        prio.push((inst, p.value(), Some(node)));
    }
    prio.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| current_role(c, b.0).cmp(&current_role(c, a.0)))
            .then_with(|| failed(c, a.0).cmp(&failed(c, b.0)))
            .then(a.0.cmp(&b.0))
    });
    let max = c.rscs[clone].promoted_max;
    let node_max = c.rscs[clone].promoted_node_max.max(1);
    let mut per_node = vec![0usize; c.nodes.len()];
    let mut promoted = 0;
    let freeze = !c.options.have_quorum && c.options.no_quorum_policy == "freeze";
    for (inst, p, node) in prio {
        let Some(node) = node else {
            set_next(c, inst, Role::Stopped);
            continue;
        };
        let frozen =
            p >= Score::INFINITY.value() && c.primitives(inst).iter().any(|&x| !c.rscs[x].managed);
        let ok = frozen
            || p >= 0
                && promoted < max
                && per_node[node] < node_max
                && c.nodes[node].available()
                && !(freeze && current_role(c, inst) < Role::Promoted);
        if ok {
            per_node[node] += 1;
            promoted += 1;
            set_next(c, inst, Role::Promoted);
        } else {
            set_next(c, inst, Role::Unpromoted);
        }
    }
}
