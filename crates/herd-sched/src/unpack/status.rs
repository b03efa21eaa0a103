//! Unpacks the status section: node membership (online, unclean, standby, shutdown),
//! transient attributes, and each resource's operation history (current role, location,
//! failures with their on-fail handling, pending operations, fail counts).
//!
//! Not placement. No I/O.

use herd_types::Score;

use super::history::{OnFail, num, replay};
use super::is_true;
use crate::cluster::{Cluster, NodeIx, Role, Rsc, RscIx, Variant};
use crate::input::{Input, LrmOp, LrmResource, NodeStateDef};

pub(crate) fn unpack_status(input: &Input, cluster: &mut Cluster) {
    let mut states: Vec<(NodeIx, &NodeStateDef)> = vec![];
    for ns in &input.node_states {
        let ix = cluster
            .nodes
            .iter()
            .position(|n| n.id == ns.id)
            .or_else(|| ns.uname.as_deref().and_then(|u| cluster.node_by_name(u)));
        match ix {
            Some(ix) => states.push((ix, ns)),
            None => cluster.diag(
                ns.line,
                &ns.id,
                format!("node_state {} names no configured node", ns.id),
            ),
        }
    }
    for &(ix, ns) in &states {
        unpack_node_state(cluster, ix, ns);
    }
    let fencing = cluster.options.stonith_enabled;
    for node in &mut cluster.nodes {
        if !node.seen && !node.remote && fencing && cluster.options.startup_fencing {
            node.unclean = true;
            node.fence_reason
                .get_or_insert_with(|| "node is unclean".into());
        }
    }
    let index = instance_index(cluster);
    for &(ix, ns) in &states {
        // With fencing on, every cluster node's history in status order (instance
        // numbers follow it); else online nodes only. Remote nodes' come last.
        let node = &cluster.nodes[ix];
        if node.online || (fencing && !node.remote) {
            for lrm in &ns.resources {
                unpack_lrm_resource(cluster, &index, ix, lrm);
            }
        }
    }
    // Remote and guest nodes are up when their connection (and container) runs healthy.
    let mut failed_connections = vec![];
    for n in 0..cluster.nodes.len() {
        let Some(conn) = cluster.nodes[n].connection.clone() else {
            continue;
        };
        let Some(&r) = cluster.by_id.get(&conn) else {
            continue;
        };
        let rsc = &cluster.rscs[r];
        let mut up = rsc.role == Role::Started && !rsc.failed && !rsc.running_on.is_empty();
        let mut failed = rsc.failed && !rsc.running_on.is_empty();
        if let Some(k) = cluster.nodes[n]
            .container
            .as_ref()
            .and_then(|k| cluster.by_id.get(k))
        {
            let container = &cluster.rscs[*k];
            up &= container.role >= Role::Started && !container.failed;
            failed |= container.failed;
        }
        let guest = cluster.nodes[n].guest;
        cluster.nodes[n].online = up;
        if failed {
            failed_connections.push((n, guest));
        }
    }
    for &(ix, ns) in &states {
        if cluster.nodes[ix].remote && cluster.nodes[ix].online {
            for lrm in &ns.resources {
                unpack_lrm_resource(cluster, &index, ix, lrm);
            }
        }
    }
    for &(ix, ns) in &states {
        // With fencing on, offline nodes' histories are read too (what they still run
        // makes them unclean).
        let node = &cluster.nodes[ix];
        if node.online || !fencing || !node.remote {
            continue;
        }
        for lrm in &ns.resources {
            unpack_lrm_resource(cluster, &index, ix, lrm);
        }
    }
    // A failed connection leaves the resources active there in doubt: fence the node.
    for (n, guest) in failed_connections {
        if cluster.rscs.iter().any(|r| r.running_on.contains(&n)) {
            let node = &mut cluster.nodes[n];
            node.unclean = true;
            node.fence_reason.get_or_insert_with(|| {
                if guest {
                    "guest is unclean"
                } else {
                    "remote connection is unrecoverable"
                }
                .to_owned()
            });
        }
    }
    apply_fail_counts(cluster);
}

fn unpack_node_state(cluster: &mut Cluster, ix: NodeIx, ns: &NodeStateDef) {
    let fencing = cluster.options.stonith_enabled;
    let quorate = cluster.options.have_quorum;
    let suicide = cluster.options.no_quorum_policy == "suicide";
    let node = &mut cluster.nodes[ix];
    node.seen = true;
    for (k, v) in &ns.attrs {
        node.attrs.insert(k.clone(), v.clone());
    }
    let attr_true = |k: &str| node.attrs.get(k).is_some_and(|v| is_true(v));
    node.standby = attr_true("standby");
    node.maintenance = attr_true("maintenance");
    node.shutdown = node
        .attrs
        .get("shutdown")
        .is_some_and(|v| !v.is_empty() && v != "0");
    if node.remote || ns.remote_node.as_deref().is_some_and(is_true) {
        node.remote = true;
        return;
    }
    let in_cluster = ns.in_ccm.as_deref().map(is_true);
    let peer_online = ns
        .crmd
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("online"));
    let join = ns.join.as_deref().unwrap_or("");
    let expected = ns.expected.as_deref().unwrap_or("down");
    let terminate = node
        .attrs
        .get("terminate")
        .is_some_and(|t| is_true(t) || t.starts_with(|c: char| c.is_ascii_digit() && c != '0'));
    if !fencing {
        node.online = in_cluster == Some(true) && peer_online && join == "member";
        if in_cluster == Some(true) && peer_online && join != "member" {
            node.pending = true;
        }
        return;
    }
    let mut online = in_cluster == Some(true);
    let fence = |node: &mut crate::cluster::Node, reason: &str| {
        node.unclean = true;
        node.fence_reason.get_or_insert_with(|| reason.to_owned());
    };
    if node.shutdown {
        online = peer_online;
    } else if in_cluster.is_none() {
        fence(node, "peer has not been seen by the cluster");
    } else if join == "banned" {
        fence(node, "peer failed Pacemaker membership criteria");
    } else if !terminate && expected == "down" {
        if in_cluster == Some(true) || peer_online {
            node.standby = true;
            node.pending = true;
        }
    } else if terminate && join == "down" && in_cluster != Some(true) && !peer_online {
        online = false;
    } else if in_cluster != Some(true) {
        fence(node, "peer is no longer part of the cluster");
    } else if !peer_online {
        fence(node, "peer process is no longer available");
    } else if terminate {
        fence(node, "termination was requested");
    } else if join == "member" {
    } else if join == "pending" || join == "down" {
        node.standby = true;
        node.pending = true;
    } else {
        fence(node, "peer was in an unknown state");
    }
    // An unclean node may still be online (its history is then read first); it cannot
    // run resources either way.
    node.online = online;
    if online && !node.unclean && !quorate && suicide {
        node.unclean = true;
        node.fence_reason = Some("cluster does not have quorum".into());
    }
}

/// Clone instance primitives by their configured (base) id.
pub(crate) type InstanceIndex = std::collections::HashMap<String, Vec<RscIx>>;

fn instance_index(cluster: &Cluster) -> InstanceIndex {
    let mut map: InstanceIndex = std::collections::HashMap::new();
    for (i, r) in cluster.rscs.iter().enumerate() {
        if r.variant == Variant::Primitive && r.is_clone_instance() {
            map.entry(r.base_id.clone()).or_default().push(i);
        }
    }
    map
}

fn suffix(id: &str) -> Option<&str> {
    id.rsplit_once(':')
        .map(|(_, n)| n)
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// Finds the resource (clone instance included) a history entry belongs to.
fn find_resource(
    cluster: &Cluster,
    index: &InstanceIndex,
    node: NodeIx,
    lrm: &LrmResource,
) -> Option<RscIx> {
    if let Some(&ix) = cluster.by_id.get(&lrm.id) {
        let r = &cluster.rscs[ix];
        if r.variant == Variant::Primitive
            && r.parent.is_none_or(|p| !in_anonymous_clone(cluster, p))
        {
            return Some(ix);
        }
    }
    let base = match suffix(&lrm.id) {
        Some(n) => &lrm.id[..lrm.id.len() - n.len() - 1],
        None => lrm.id.as_str(),
    };
    let candidates = index.get(base)?;
    let clone = clone_of(cluster, *candidates.first()?)?;
    if cluster.rscs[clone].unique {
        return candidates
            .iter()
            .copied()
            .find(|&c| cluster.rscs[c].id == lrm.id);
    }
    let instance_of = |c: RscIx| match cluster.rscs[c].parent {
        Some(p) if p != clone => p,
        _ => c,
    };
    // An instance already active here takes this entry (a cloned group's other member);
    // if the entry's own resource is already active, the entry is an extra: an orphan.
    for &c in candidates {
        let inst = instance_of(c);
        let here = cluster
            .primitives(inst)
            .iter()
            .any(|&p| cluster.rscs[p].running_on.contains(&node));
        if here {
            if cluster.rscs[c].running_on.is_empty() {
                return Some(c);
            }
            return None;
        }
    }
    // Otherwise the first instance not active anywhere.
    let found = candidates.iter().copied().find(|&c| {
        let inst = instance_of(c);
        cluster
            .primitives(inst)
            .iter()
            .all(|&p| cluster.rscs[p].running_on.is_empty())
    })?;
    // An instance that needs no fencing gets no number on an offline or unclean node
    // (unless the clone runs on every node): it is an orphan there.
    let n = &cluster.nodes[node];
    if !cluster.rscs[found].requires_fencing
        && (!n.online || n.unclean)
        && !n.remote
        && cluster.rscs[clone].clone_max != cluster.nodes.len()
    {
        return None;
    }
    Some(found)
}

fn in_anonymous_clone(cluster: &Cluster, rsc: RscIx) -> bool {
    clone_of(cluster, rsc).is_some()
}

/// An instance of an anonymous clone (failures there ban the whole clone).
pub(super) fn anonymous_instance(cluster: &Cluster, ix: RscIx) -> bool {
    clone_of(cluster, ix).is_some_and(|c| !cluster.rscs[c].unique)
}

pub(crate) fn clone_of(cluster: &Cluster, mut rsc: RscIx) -> Option<RscIx> {
    loop {
        if cluster.rscs[rsc].variant == Variant::Clone {
            return Some(rsc);
        }
        rsc = cluster.rscs[rsc].parent?;
    }
}

fn create_orphan(cluster: &mut Cluster, lrm: &LrmResource) -> RscIx {
    let mut rsc = Rsc::new(&lrm.id, Variant::Primitive, cluster.nodes.len());
    rsc.orphan = true;
    rsc.class = lrm.class.clone().unwrap_or_default();
    rsc.provider = lrm.provider.clone();
    rsc.agent = lrm.agent.clone().unwrap_or_default();
    rsc.needs_quorum = false;
    for s in rsc.allowed.iter_mut() {
        *s = Some(Score::MINUS_INFINITY);
    }
    let ix = cluster.rscs.len();
    cluster.rscs.push(rsc);
    cluster.by_id.insert(lrm.id.clone(), ix);
    cluster.top.push(ix);
    ix
}

fn unpack_lrm_resource(
    cluster: &mut Cluster,
    index: &InstanceIndex,
    node: NodeIx,
    lrm: &LrmResource,
) {
    let ix = match find_resource(cluster, index, node, lrm) {
        Some(ix) => ix,
        None => {
            if lrm.container.is_some()
                || cluster
                    .rscs
                    .iter()
                    .any(|r| r.variant == Variant::Bundle && lrm.id.starts_with(&r.id))
            {
                return;
            }
            let mut ops: Vec<&LrmOp> = lrm.ops.iter().collect();
            ops.sort_by_key(|o| num(&o.call_id));
            let (role, _) = replay(cluster, usize::MAX, node, &ops, true);
            if role <= Role::Stopped {
                return;
            }
            let base =
                suffix(&lrm.id).map_or(lrm.id.as_str(), |n| &lrm.id[..lrm.id.len() - n.len() - 1]);
            let clone = index
                .get(base)
                .and_then(|c| c.first().copied())
                .and_then(|c| clone_of(cluster, c));
            let o = create_orphan(cluster, lrm);
            if let Some(clone) = clone {
                // An extra instance of a clone: numbered after the existing instances and
                // listed with them.
                cluster.top.pop();
                let id = format!("{base}:{}", cluster.rscs[clone].children.len());
                cluster.by_id.insert(id.clone(), o);
                cluster.rscs[o].id = id;
                cluster.rscs[o].base_id = base.to_owned();
                cluster.rscs[o].parent = Some(clone);
                cluster.rscs[clone].children.push(o);
            }
            o
        }
    };
    let mut ops: Vec<&LrmOp> = lrm.ops.iter().collect();
    ops.sort_by_key(|o| {
        let c = num(&o.call_id);
        if c < 0 { i64::MAX } else { c }
    });
    let (role, mut on_fail) = replay(cluster, ix, node, &ops, false);
    // Active on a node that is down: fencing takes care of it, no failure handling.
    let down = !cluster.nodes[node].online && !cluster.nodes[node].maintenance;
    if role > Role::Stopped && down && cluster.rscs[ix].managed {
        on_fail = OnFail::Ignore;
    }
    let rsc = &mut cluster.rscs[ix];
    // The last history entry mapped to an instance names it (promotion scores use it).
    rsc.history_name = Some(lrm.id.clone());
    if !rsc.known_on.contains(&node) {
        rsc.known_on.push(node);
    }
    if role > Role::Stopped {
        let n = &cluster.nodes[node];
        if !n.online
            && !n.maintenance
            && !n.remote
            && rsc.managed
            && cluster.options.stonith_enabled
        {
            let reason = format!("{} is thought to be active there", rsc.id);
            let n = &mut cluster.nodes[node];
            n.unclean = true;
            n.fence_reason.get_or_insert(reason);
        }
        let rsc = &mut cluster.rscs[ix];
        if !rsc.running_on.contains(&node) {
            rsc.running_on.push(node);
        }
        if role > rsc.role || rsc.role == Role::Stopped {
            rsc.role = role;
        }
    }
    // shutdown-lock: a resource on a node shutting down (or recorded as locked to a node
    // that shut down, until the lock expires) may run only there.
    if cluster.options.shutdown_lock
        && clone_of(cluster, ix).is_none()
        && cluster.rscs[ix].class != "stonith"
    {
        let now = cluster.options.now;
        let limit = cluster.options.shutdown_lock_limit;
        let recorded = lrm
            .shutdown_lock
            .is_some_and(|t| limit == 0 || now < t + limit);
        let shutting_down = role > Role::Stopped && cluster.nodes[node].shutdown;
        if recorded || shutting_down {
            let top = cluster.top_of(ix);
            for p in cluster.primitives(top) {
                for n in 0..cluster.nodes.len() {
                    if n != node {
                        cluster.rscs[p].allowed[n] = Some(Score::MINUS_INFINITY);
                    }
                }
            }
        }
    }
    // Resources active on a node in maintenance are left alone.
    if role > Role::Stopped && cluster.nodes[node].maintenance {
        cluster.rscs[ix].managed = false;
    }
    let rsc = &mut cluster.rscs[ix];
    if rsc.running_on.len() > 1 {
        match rsc.multiply_active_policy.as_str() {
            "block" => {
                rsc.managed = false;
                rsc.blocked = true;
            }
            "stop_only" => rsc.next_role = Some(Role::Stopped),
            _ => {}
        }
    }
    if on_fail > OnFail::Ignore && role > Role::Stopped || on_fail >= OnFail::Migrate {
        process_failure(cluster, ix, node, on_fail, role);
    }
}

fn process_failure(cluster: &mut Cluster, ix: RscIx, node: NodeIx, on_fail: OnFail, role: Role) {
    let active = role > Role::Stopped;
    match on_fail {
        OnFail::Ignore => {}
        OnFail::Demote => {
            if role == Role::Promoted {
                cluster.rscs[ix].demote_on_failure = true;
            } else if active {
                cluster.rscs[ix].failed = true;
            }
        }
        OnFail::Recover => {
            if active {
                cluster.rscs[ix].failed = true;
                // A contained resource's failure restarts its container too.
                let container = cluster.rscs[ix]
                    .meta
                    .get("container")
                    .and_then(|k| cluster.by_id.get(k))
                    .copied();
                if let Some(k) = container.filter(|&k| k != ix) {
                    cluster.rscs[k].force_restart = true;
                }
            }
        }
        OnFail::Migrate => {
            cluster.rscs[ix].failed = active;
            cluster.rscs[ix].allowed[node] = Some(Score::MINUS_INFINITY);
        }
        OnFail::Block => {
            cluster.rscs[ix].failed = true;
            if active {
                cluster.rscs[ix].blocked = true;
                cluster.rscs[ix].managed = false;
            }
        }
        OnFail::Stop => {
            cluster.rscs[ix].failed = true;
            cluster.rscs[ix].next_role = Some(Role::Stopped);
        }
        OnFail::Standby => {
            cluster.rscs[ix].failed = true;
            cluster.nodes[node].standby = true;
        }
        OnFail::Fence => {
            cluster.rscs[ix].failed = true;
            if active {
                let reason = format!("{} failed there", cluster.rscs[ix].id);
                let n = &mut cluster.nodes[node];
                if !n.unclean {
                    n.unclean = true;
                    n.online = false;
                    n.fence_reason = Some(reason);
                }
            }
        }
    }
}

/// Bans resources from nodes where their fail count reached migration-threshold.
fn apply_fail_counts(cluster: &mut Cluster) {
    let now = cluster.options.now;
    for node in 0..cluster.nodes.len() {
        let attrs: Vec<(String, String)> = cluster.nodes[node]
            .attrs
            .iter()
            .filter(|(k, _)| k.starts_with("fail-count-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if attrs.is_empty() {
            continue;
        }
        for ix in 0..cluster.rscs.len() {
            let r = &cluster.rscs[ix];
            if r.variant != Variant::Primitive {
                continue;
            }
            let names = if !anonymous_instance(cluster, ix) {
                vec![r.id.clone()]
            } else {
                vec![r.base_id.clone(), r.id.clone()]
            };
            let mut count = Score::ZERO;
            for (k, v) in &attrs {
                let rest = &k["fail-count-".len()..];
                let name = rest.split('#').next().unwrap_or(rest);
                if !names.iter().any(|n| n == name) {
                    continue;
                }
                let last_key = format!("last-failure-{rest}");
                let last = cluster.nodes[node]
                    .attrs
                    .get(&last_key)
                    .and_then(|t| t.parse::<i64>().ok());
                if r.failure_timeout > 0 && last.is_some_and(|l| l + r.failure_timeout <= now) {
                    continue;
                }
                count += v.parse::<Score>().unwrap_or(Score::ZERO);
            }
            if count.value() <= 0 {
                continue;
            }
            if count.value() >= r.migration_threshold {
                let target = if !anonymous_instance(cluster, ix) {
                    ix
                } else {
                    cluster.top_of(ix)
                };
                // The ban covers the resource banned and everything inside it.
                let mut stack = vec![target];
                while let Some(x) = stack.pop() {
                    cluster.rscs[x].allowed[node] = Some(Score::MINUS_INFINITY);
                    stack.extend(cluster.rscs[x].children.iter().copied());
                }
            }
        }
    }
}
