//! Utilization: node capacities and resource requirements for `placement-strategy`
//! (`utilization`, `minimal`, `balanced`): bans nodes without enough free capacity and
//! compares remaining capacity for `balanced`.
//!
//! No I/O.

use herd_types::Score;

use crate::cluster::{Cluster, NodeIx, RscIx};

fn free(c: &Cluster, n: NodeIx, key: &str) -> i64 {
    c.nodes[n].utilization.get(key).copied().unwrap_or(0)
}

/// Compares two nodes by free capacity (more free sorts first).
pub(crate) fn compare_capacity(c: &Cluster, a: NodeIx, b: NodeIx) -> std::cmp::Ordering {
    let mut score = 0i64;
    let keys: std::collections::BTreeSet<&String> = c.nodes[a]
        .utilization
        .keys()
        .chain(c.nodes[b].utilization.keys())
        .collect();
    for k in keys {
        let (fa, fb) = (free(c, a, k), free(c, b, k));
        if fa > fb {
            score -= 1;
        } else if fa < fb {
            score += 1;
        }
    }
    score.cmp(&0)
}

/// Bans nodes that cannot hold the resource's requirements (strategies other than default).
pub(crate) fn ban_insufficient(c: &mut Cluster, r: RscIx) {
    if c.options.placement_strategy == "default" {
        return;
    }
    // The first member of a group brings the whole group's requirements.
    let mut need = c.rscs[r].utilization.clone();
    let group = c.rscs[r]
        .parent
        .filter(|&g| c.rscs[g].variant == crate::cluster::Variant::Group);
    if let Some(g) = group.filter(|&g| c.rscs[g].children.first() == Some(&r)) {
        for &m in &c.rscs[g].children[1..] {
            if c.rscs[m].provisional {
                for (k, v) in &c.rscs[m].utilization {
                    *need.entry(k.clone()).or_insert(0) += v;
                }
            }
        }
    }
    if need.is_empty() {
        return;
    }
    for n in 0..c.nodes.len() {
        let fits = need.iter().all(|(k, v)| *v <= 0 || free(c, n, k) >= *v);
        if !fits {
            c.rscs[r].allowed[n] = Some(Score::MINUS_INFINITY);
        }
    }
}

pub(crate) fn consume(c: &mut Cluster, r: RscIx, n: NodeIx) {
    if c.options.placement_strategy == "default" {
        return;
    }
    let reqs: Vec<(String, i64)> = c.rscs[r]
        .utilization
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for (k, v) in reqs {
        if let Some(cap) = c.nodes[n].utilization.get_mut(&k) {
            *cap -= v;
        }
    }
}

pub(crate) fn release(c: &mut Cluster, r: RscIx, n: NodeIx) {
    if c.options.placement_strategy == "default" {
        return;
    }
    let reqs: Vec<(String, i64)> = c.rscs[r]
        .utilization
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    for (k, v) in reqs {
        if let Some(cap) = c.nodes[n].utilization.get_mut(&k) {
            *cap += v;
        }
    }
}
