//! Placement: assigns every resource to at most one node (clone instances each to one),
//! from node scores (locations, stickiness, colocations, influence), the way Pacemaker's
//! assignment does: best score, then fewest assigned resources, then current node, then name.
//!
//! Not roles of promotable clones (`promotable`) or actions (`actions`). No I/O.

use herd_types::Score;

use crate::cluster::{Cluster, NodeIx, Role, RscIx, Variant};
use crate::colocation::{Affects, add_colocated_scores, apply_coloc_score, colocation_affects};

pub(crate) fn assign_all(c: &mut Cluster) {
    apply_stickiness(c);
    let order = c.top.clone();
    // Highest priority first; then the best score on the current node; then the best
    // score on any node (nodes in name order); else configuration order.
    let n = c.nodes.len();
    let tables: Vec<Vec<Score>> = order
        .iter()
        .map(|&r| {
            let t = crate::utilization::sort_scores(c, r);
            t.into_iter()
                .map(|s| s.unwrap_or(Score::MINUS_INFINITY))
                .collect()
        })
        .collect();
    let current: Vec<Option<NodeIx>> = order
        .iter()
        .map(|&r| {
            c.primitives(r)
                .iter()
                .find_map(|&p| c.rscs[p].current_node())
        })
        .collect();
    // Nodes in the order Pacemaker lists them for this: most free capacity first under
    // `balanced`, then by name.
    let mut node_order: Vec<NodeIx> = (0..n).collect();
    node_order.sort_by(|&a, &b| {
        // Nodes that cannot run resources (standby, offline...) come last.
        let usable = c.nodes[b].available().cmp(&c.nodes[a].available());
        let cap = if usable.is_ne() {
            usable
        } else if c.options.placement_strategy == "balanced" {
            crate::utilization::compare_capacity(c, a, b)
        } else {
            std::cmp::Ordering::Equal
        };
        cap.then_with(|| c.nodes[a].name.cmp(&c.nodes[b].name))
    });
    let mut idx: Vec<usize> = (0..order.len()).collect();
    // Resources are kept sorted by priority; only a placement strategy other than
    // `default` sorts further by scores.
    let by_scores = c.options.placement_strategy != "default";
    idx.sort_by(|&a, &b| {
        let (ra, rb) = (&c.rscs[order[a]], &c.rscs[order[b]]);
        rb.priority
            .cmp(&ra.priority)
            .then_with(|| {
                if !by_scores {
                    return std::cmp::Ordering::Equal;
                }
                let wa = current[a].map_or(Score::MINUS_INFINITY, |x| tables[a][x]);
                let wb = current[b].map_or(Score::MINUS_INFINITY, |x| tables[b][x]);
                wb.cmp(&wa)
            })
            .then_with(|| {
                if !by_scores {
                    return std::cmp::Ordering::Equal;
                }
                for &x in &node_order {
                    let o = tables[b][x].cmp(&tables[a][x]);
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            })
    });
    // Pacemaker keeps its resource list in this order, so the summary follows it too.
    c.top = idx.iter().map(|&i| order[i]).collect();
    // Remote connections first: where they go decides whether their nodes are up.
    let connections: Vec<(NodeIx, RscIx)> = (0..c.nodes.len())
        .filter_map(|n| {
            let conn = c.nodes[n].connection.as_ref()?;
            c.by_id.get(conn).map(|&r| (n, r))
        })
        .collect();
    // Neither connections nor fence devices run on remote nodes.
    let remote_nodes: Vec<NodeIx> = (0..c.nodes.len()).filter(|&x| c.nodes[x].remote).collect();
    for r in 0..c.rscs.len() {
        let connection = connections.iter().any(|&(_, x)| x == r);
        if connection || c.rscs[r].class == "stonith" {
            for &x in &remote_nodes {
                c.rscs[r].allowed[x] = Some(Score::MINUS_INFINITY);
            }
        }
    }
    for &(n, r) in &connections {
        if c.rscs[r].parent.is_none() {
            assign(c, r, None);
            let up = c.rscs[r].assigned.is_some()
                && c.rscs[r].next_role.unwrap_or(Role::Stopped) > Role::Stopped;
            if up {
                c.nodes[n].online = true;
            } else {
                c.nodes[n].shutdown = true;
            }
        }
    }
    for i in idx {
        assign(c, order[i], None);
    }
}

fn apply_stickiness(c: &mut Cluster) {
    for r in 0..c.rscs.len() {
        let rsc = &c.rscs[r];
        if rsc.variant != Variant::Primitive
            || !rsc.managed
            || rsc.stickiness < 1
            || rsc.running_on.len() != 1
        {
            continue;
        }
        let node = rsc.running_on[0];
        let stick = Score::new(rsc.stickiness);
        if let Some(s) = c.rscs[r].allowed[node] {
            c.rscs[r].allowed[node] = Some(s + stick);
        } else if c.options.symmetric {
            c.rscs[r].allowed[node] = Some(stick);
        }
    }
}

/// Assigns a resource of any variant.
pub(crate) fn assign(c: &mut Cluster, r: RscIx, prefer: Option<NodeIx>) -> Option<NodeIx> {
    match c.rscs[r].variant {
        Variant::Primitive => assign_primitive(c, r, prefer),
        Variant::Group => assign_group(c, r, prefer),
        Variant::Clone => {
            crate::clone::assign_clone(c, r);
            None
        }
        Variant::Bundle => None,
    }
}

fn assign_group(c: &mut Cluster, g: RscIx, prefer: Option<NodeIx>) -> Option<NodeIx> {
    if !c.rscs[g].provisional {
        return c.rscs[g].assigned;
    }
    if c.rscs[g].allocating {
        return None;
    }
    c.rscs[g].allocating = true;
    let members = c.rscs[g].children.clone();
    let mut first = None;
    for (i, &m) in members.iter().enumerate() {
        let n = assign(c, m, prefer);
        if i == 0 {
            first = n;
        }
    }
    let g_rsc = &mut c.rscs[g];
    g_rsc.allocating = false;
    g_rsc.provisional = false;
    g_rsc.assigned = first;
    first
}

pub(crate) fn node_weight(c: &Cluster, r: RscIx, n: NodeIx) -> Score {
    if !c.nodes[n].available() {
        return Score::MINUS_INFINITY;
    }
    c.rscs[r].allowed[n].unwrap_or(Score::MINUS_INFINITY)
}

/// Nodes in preference order for `r` (best first).
pub(crate) fn sorted_nodes(c: &Cluster, r: RscIx, active: Option<NodeIx>) -> Vec<NodeIx> {
    let mut nodes: Vec<NodeIx> = (0..c.nodes.len())
        .filter(|&n| c.rscs[r].allowed[n].is_some())
        .collect();
    nodes.sort_by(|&a, &b| compare_nodes(c, r, a, b, active));
    nodes
}

pub(crate) fn compare_nodes(
    c: &Cluster,
    r: RscIx,
    a: NodeIx,
    b: NodeIx,
    active: Option<NodeIx>,
) -> std::cmp::Ordering {
    let (wa, wb) = (node_weight(c, r, a), node_weight(c, r, b));
    wb.cmp(&wa)
        .then_with(|| {
            if c.options.placement_strategy == "minimal" {
                // Only the name breaks ties.
                return std::cmp::Ordering::Equal;
            }
            let mut o = std::cmp::Ordering::Equal;
            if c.options.placement_strategy == "balanced" {
                o = crate::utilization::compare_capacity(c, a, b);
            }
            o.then(c.nodes[a].num_resources.cmp(&c.nodes[b].num_resources))
                .then_with(|| match active {
                    Some(x) if x == a => std::cmp::Ordering::Less,
                    Some(x) if x == b => std::cmp::Ordering::Greater,
                    _ => std::cmp::Ordering::Equal,
                })
        })
        .then_with(|| c.nodes[a].name.cmp(&c.nodes[b].name))
}

fn assign_primitive(c: &mut Cluster, r: RscIx, prefer: Option<NodeIx>) -> Option<NodeIx> {
    if let Some(p) = c.rscs[r].parent
        && !c.rscs[p].allocating
        && c.rscs[p].provisional
        && c.rscs[p].variant != Variant::Clone
    {
        assign(c, p, prefer);
    }
    if !c.rscs[r].provisional {
        return c.rscs[r].assigned;
    }
    if c.rscs[r].allocating {
        return None;
    }
    c.rscs[r].allocating = true;
    for ci in c.rscs[r].this_with.clone() {
        apply_this_with(c, r, ci);
    }
    let mut with_this = c.rscs[r].with_this.clone();
    // Dependents of a group pull on its first member.
    if let Some(p) = c.rscs[r]
        .parent
        .filter(|&p| c.rscs[p].variant == Variant::Group && c.rscs[p].children.first() == Some(&r))
    {
        with_this.extend(c.rscs[p].with_this.iter().copied());
    }
    for ci in with_this {
        let col = c.colocations[ci].clone();
        if !has_influence(c, ci) {
            continue;
        }
        let factor = col.score.value() as f64 / 1_000_000.0;
        let mut table = c.rscs[r].allowed.clone();
        add_colocated_scores(
            c,
            col.dependent,
            &mut table,
            col.node_attribute.as_deref(),
            factor,
            false,
            true,
        );
        c.rscs[r].allowed = table;
    }
    let next_stopped =
        c.rscs[r].next_role == Some(Role::Stopped) || c.rscs[r].target_role == Some(Role::Stopped);
    if next_stopped {
        for s in c.rscs[r].allowed.iter_mut() {
            *s = Some(Score::MINUS_INFINITY);
        }
    }
    let stonith_missing = c.options.stonith_enabled && !c.options.have_stonith_resource;
    if stonith_missing {
        c.rscs[r].managed = false;
    }
    if !c.rscs[r].managed {
        let cur = c.rscs[r].current_node();
        let role = c.rscs[r].role;
        c.rscs[r].next_role = Some(role);
        finalize(c, r, cur, true);
    } else if c.options.stop_all {
        finalize(c, r, None, true);
    } else {
        let chosen = choose_node(c, r, prefer);
        finalize(c, r, chosen, false);
    }
    c.rscs[r].allocating = false;
    c.rscs[r].assigned
}

pub(crate) fn has_influence(c: &Cluster, ci: usize) -> bool {
    let col = &c.colocations[ci];
    col.influence
}

fn apply_this_with(c: &mut Cluster, r: RscIx, ci: usize) {
    let col = c.colocations[ci].clone();
    let archive = if col.dependent_role >= Role::Promoted
        || (col.score.value() < 0 && col.score > Score::MINUS_INFINITY)
    {
        Some(c.rscs[r].allowed.clone())
    } else {
        None
    };
    assign(c, col.primary, None);
    match colocation_affects(c, r, col.primary, &col, false) {
        Affects::Location => apply_coloc_score(c, r, &col),
        Affects::Role | Affects::Nothing => {}
    }
    if let Some(a) = archive {
        let any = (0..c.nodes.len()).any(|n| {
            c.nodes[n].available() && c.rscs[r].allowed[n].is_some_and(|s| s.value() >= 0)
        });
        if !any {
            c.rscs[r].allowed = a;
        }
    }
}

fn choose_node(c: &mut Cluster, r: RscIx, prefer: Option<NodeIx>) -> Option<NodeIx> {
    // With no node able to hold everything colocated, the one with most room is preferred.
    let most_free = crate::utilization::ban_insufficient(c, r);
    let prefer = prefer.or(most_free);
    let c = &*c;
    let current = c.rscs[r].current_node();
    let nodes = sorted_nodes(c, r, current);
    let best = *nodes.first()?;
    if let Some(p) = prefer
        && c.rscs[r].allowed[p].is_some()
        && node_weight(c, r, p) >= node_weight(c, r, best)
        && node_weight(c, r, p).value() >= 0
    {
        return Some(p);
    }
    let mut chosen = best;
    let unique_instance = c.rscs[r]
        .parent
        .is_some_and(|p| c.rscs[p].variant == Variant::Clone && c.rscs[p].unique);
    let bw = node_weight(c, r, best);
    if !unique_instance
        && bw.value() > 0
        && let Some(cur) = current
        && c.nodes[cur].available()
        && node_weight(c, r, cur) == bw
    {
        chosen = cur;
    }
    Some(chosen)
}

/// Records the assignment (or none), counting the node's load.
pub(crate) fn finalize(c: &mut Cluster, r: RscIx, chosen: Option<NodeIx>, force: bool) {
    c.rscs[r].provisional = false;
    let ok =
        chosen.filter(|&n| force || (c.nodes[n].available() && node_weight(c, r, n).value() >= 0));
    let ok = if force { chosen } else { ok };
    c.rscs[r].assigned = ok;
    match ok {
        None => {
            if c.rscs[r].next_role.is_none() || !force {
                c.rscs[r].next_role = Some(Role::Stopped);
            }
        }
        Some(n) => {
            c.nodes[n].num_resources += 1;
            crate::utilization::consume(c, r, n);
            if c.rscs[r].next_role.is_none() {
                let next = match c.rscs[r].target_role {
                    Some(Role::Unpromoted) | Some(Role::Started) | None => {
                        if c.rscs[r].parent.is_some_and(|p| c.rscs[p].promotable) {
                            Role::Unpromoted
                        } else {
                            Role::Started
                        }
                    }
                    Some(t) => t,
                };
                c.rscs[r].next_role = Some(if next == Role::Promoted {
                    Role::Unpromoted
                } else {
                    next
                });
            }
        }
    }
}
