//! Colocation: how a primary's placement changes a dependent's node scores (mandatory and
//! optional, by role, by node attribute), and how dependents' preferences flow back into a
//! primary's scores ("influence"), with attenuation by score/INFINITY.
//!
//! Not the assignment loop (`placement`). No I/O.

use herd_types::Score;

use crate::cluster::{Cluster, Colocation, NodeIx, Role, RscIx, Variant};

pub(crate) enum Affects {
    Nothing,
    Location,
    Role,
}

/// The role a resource (or a collective's instances) will have.
fn next_role(c: &Cluster, r: RscIx) -> Role {
    c.rscs[r].next_role.unwrap_or(Role::Unknown)
}

pub(crate) fn colocation_affects(
    c: &Cluster,
    dep: RscIx,
    pri: RscIx,
    col: &Colocation,
    preview: bool,
) -> Affects {
    if !preview && c.rscs[pri].provisional && c.rscs[pri].variant != Variant::Clone {
        return Affects::Nothing;
    }
    let dep_parent_promotable = c.rscs[dep].parent.is_some_and(|p| c.rscs[p].promotable);
    if col.dependent_role >= Role::Unpromoted && dep_parent_promotable && !c.rscs[dep].provisional {
        return Affects::Role;
    }
    if !preview && !c.rscs[dep].provisional {
        return Affects::Nothing;
    }
    let s = col.score.value();
    if s > 0
        && col.dependent_role != Role::Unknown
        && col.dependent_role != next_role(c, dep)
        && c.rscs[dep].variant != Variant::Clone
        && !dep_parent_promotable
    {
        return Affects::Nothing;
    }
    if s > 0
        && col.primary_role != Role::Unknown
        && c.rscs[pri].variant != Variant::Clone
        && col.primary_role != next_role(c, pri)
    {
        return Affects::Nothing;
    }
    if s < 0 && col.dependent_role != Role::Unknown && col.dependent_role == next_role(c, dep) {
        return Affects::Nothing;
    }
    if s < 0
        && col.primary_role != Role::Unknown
        && c.rscs[pri].variant != Variant::Clone
        && col.primary_role == next_role(c, pri)
    {
        return Affects::Nothing;
    }
    Affects::Location
}

fn attr_value<'a>(c: &'a Cluster, n: NodeIx, attr: Option<&str>) -> Option<&'a str> {
    match attr {
        None => Some(c.nodes[n].name.as_str()),
        Some("#uname") => Some(c.nodes[n].name.as_str()),
        Some(a) => c.nodes[n].attrs.get(a).map(String::as_str),
    }
}

/// The nodes where the primary will be (for a clone: its instances' nodes, by role).
pub(crate) fn primary_nodes(c: &Cluster, pri: RscIx, role: Role) -> Option<Vec<NodeIx>> {
    let rsc = &c.rscs[pri];
    match rsc.variant {
        Variant::Clone => {
            let mut out = vec![];
            for &inst in &rsc.children {
                let i = &c.rscs[inst];
                // A blocked instance is no partner for colocation.
                if c.primitives(inst).iter().any(|&p| c.rscs[p].blocked) {
                    continue;
                }
                let assigned = match i.variant {
                    Variant::Group => i
                        .children
                        .first()
                        .and_then(|&m| c.rscs[m].assigned)
                        .filter(|_| i.children.iter().all(|&m| c.rscs[m].assigned.is_some())),
                    _ => i.assigned,
                };
                if let Some(n) = assigned
                    && (role == Role::Unknown
                        || next_role(c, inst) == role
                        || (i.variant == Variant::Group
                            && i.children.first().is_some_and(|&m| next_role(c, m) == role)))
                {
                    out.push(n);
                }
            }
            if out.is_empty() { None } else { Some(out) }
        }
        _ => rsc.assigned.map(|n| vec![n]),
    }
}

/// Applies a colocation's score to the dependent's node table (assignment time).
#[allow(clippy::needless_range_loop)]
pub(crate) fn apply_coloc_score(c: &mut Cluster, dep: RscIx, col: &Colocation) {
    let score = col.score;
    let attr = col.node_attribute.as_deref();
    let prim = primary_nodes(c, col.primary, col.primary_role);
    if prim.is_none() && score.value() < 0 {
        return;
    }
    let mut work = c.rscs[dep].allowed.clone();
    let values: Vec<Option<String>> = prim
        .as_ref()
        .map(|p| {
            p.iter()
                .map(|&n| attr_value(c, n, attr).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for n in 0..c.nodes.len() {
        let Some(w) = work[n] else { continue };
        let new = match &prim {
            None => w + Score::new(-score.value()),
            Some(_) => {
                let v = attr_value(c, n, attr);
                let matches = v.is_some() && values.iter().any(|x| x.as_deref() == v);
                if matches {
                    if score < Score::INFINITY {
                        w + score
                    } else {
                        w
                    }
                } else if score >= Score::INFINITY {
                    w + Score::MINUS_INFINITY
                } else {
                    w
                }
            }
        };
        work[n] = Some(new);
    }
    let any = (0..c.nodes.len())
        .any(|n| c.nodes[n].available() && work[n].is_some_and(|s| s.value() >= 0));
    if score.is_infinity() || score.is_minus_infinity() || any {
        c.rscs[dep].allowed = work;
    }
}

#[allow(clippy::needless_range_loop)]
fn best_score_matching(c: &Cluster, r: RscIx, attr: Option<&str>, value: Option<&str>) -> Score {
    let table = table_of(c, r);
    let mut best = Score::MINUS_INFINITY;
    for n in 0..c.nodes.len() {
        let Some(w) = table[n] else { continue };
        if w > best && c.nodes[n].available() && attr_value(c, n, attr) == value && value.is_some()
        {
            best = w;
        }
    }
    best
}

/// The node table that represents a resource for colocation purposes.
fn table_of(c: &Cluster, r: RscIx) -> Vec<Option<Score>> {
    c.rscs[r].allowed.clone()
}

const INFINITY_HACK: i64 = -100_000_000;

/// Adds `r`'s (and, recursively, its dependents') preferences to `nodes`, scaled by `factor`.
#[allow(clippy::needless_range_loop)]
pub(crate) fn add_colocated_scores(
    c: &mut Cluster,
    r: RscIx,
    nodes: &mut Vec<Option<Score>>,
    attr: Option<&str>,
    factor: f64,
    nonnegative: bool,
    active: bool,
) {
    if c.rscs[r].merging {
        return;
    }
    // A group is represented by its first member.
    let rep = if c.rscs[r].variant == Variant::Group {
        match c.rscs[r].children.first() {
            Some(&m) => m,
            None => return,
        }
    } else {
        r
    };
    c.rscs[r].merging = true;
    let mut work: Vec<Option<i64>> = nodes.iter().map(|s| s.map(|x| x.value())).collect();
    if rep != r {
        let mut t = nodes.clone();
        c.rscs[r].merging = false;
        add_colocated_scores(c, rep, &mut t, attr, factor, nonnegative, active);
        c.rscs[r].merging = true;
        work = t.iter().map(|s| s.map(|x| x.value())).collect();
    } else {
        for n in 0..c.nodes.len() {
            let Some(w) = work[n] else { continue };
            let value = attr_value(c, n, attr).map(str::to_owned);
            let score = best_score_matching(c, r, attr, value.as_deref()).value();
            if factor < 0.0 && score < 0 {
                continue;
            }
            if w == INFINITY_HACK {
                continue;
            }
            let f = factor * score as f64;
            let mut weight = if f < 0.0 {
                (f - 0.5) as i64
            } else {
                (f + 0.5) as i64
            };
            if weight == 0 && score != 0 {
                weight = if factor > 0.0 {
                    1
                } else if factor < 0.0 {
                    -1
                } else {
                    0
                };
            }
            let new = (Score::new(weight) + Score::new(w)).value();
            if nonnegative && new < 0 && w > 0 {
                work[n] = Some(INFINITY_HACK);
                continue;
            }
            if nonnegative && new < 0 && w == 0 {
                continue;
            }
            work[n] = Some(new);
        }
    }
    let available =
        (0..c.nodes.len()).any(|n| c.nodes[n].available() && work[n].is_some_and(|w| w >= 0));
    if available {
        let multiplier = if factor < 0.0 { -1.0 } else { 1.0 };
        let deps: Vec<usize> = c.rscs[r].with_this.clone();
        for ci in deps {
            if !crate::placement::has_influence(c, ci) {
                continue;
            }
            let col = c.colocations[ci].clone();
            let f = multiplier * col.score.value() as f64 / 1_000_000.0;
            let mut t: Vec<Option<Score>> = work
                .iter()
                .map(|w| {
                    w.map(|x| {
                        if x == INFINITY_HACK {
                            Score::MINUS_INFINITY
                        } else {
                            Score::new(x)
                        }
                    })
                })
                .collect();
            // Keep the hack marker distinguishable.
            let hacks: Vec<bool> = work.iter().map(|w| *w == Some(INFINITY_HACK)).collect();
            add_colocated_scores(
                c,
                col.dependent,
                &mut t,
                col.node_attribute.as_deref(),
                f,
                nonnegative,
                true,
            );
            for n in 0..work.len() {
                work[n] = if hacks[n] {
                    Some(INFINITY_HACK)
                } else {
                    t[n].map(|s| s.value())
                };
            }
        }
    } else if active {
        c.rscs[r].merging = false;
        return;
    }
    if nonnegative {
        for w in work.iter_mut().flatten() {
            if *w == INFINITY_HACK {
                *w = 0;
            }
        }
    }
    *nodes = work.into_iter().map(|w| w.map(Score::new)).collect();
    c.rscs[r].merging = false;
}
