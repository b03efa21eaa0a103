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
    // A resource is placed together with everything mandatorily colocated with it (in
    // either direction, transitively) that is not placed yet: all must fit.
    let mut need = std::collections::BTreeMap::new();
    let mut seen = vec![r];
    let mut stack = vec![r];
    while let Some(x) = stack.pop() {
        if c.rscs[x].provisional || x == r {
            for (k, v) in &c.rscs[x].utilization {
                *need.entry(k.clone()).or_insert(0) += v;
            }
        }
        let links = c.rscs[x].this_with.iter().chain(c.rscs[x].with_this.iter());
        for &ci in links {
            let col = &c.colocations[ci];
            if !col.score.is_infinity() {
                continue;
            }
            for y in c
                .primitives(col.primary)
                .into_iter()
                .chain(c.primitives(col.dependent))
            {
                if !seen.contains(&y) {
                    seen.push(y);
                    stack.push(y);
                }
            }
        }
    }
    // If no allowed node holds them all, only the resource's own needs count.
    let fits = |c: &Cluster, n: NodeIx, need: &std::collections::BTreeMap<String, i64>| {
        need.iter().all(|(k, v)| *v <= 0 || free(c, n, k) >= *v)
    };
    let usable = |c: &Cluster, n: NodeIx| {
        c.nodes[n].available() && c.rscs[r].allowed[n].is_some_and(|s| s.value() >= 0)
    };
    let any = (0..c.nodes.len()).any(|n| usable(c, n) && fits(c, n, &need));
    let need = if any {
        need
    } else {
        c.rscs[r].utilization.clone()
    };
    for n in 0..c.nodes.len() {
        if usable(c, n) && !fits(c, n, &need) {
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
