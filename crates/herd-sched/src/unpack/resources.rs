//! Unpacks the resource tree: primitives, groups, clones (instances expanded as `id:N`),
//! meta-attribute inheritance (defaults < parent < own) and the derived flags.
//!
//! Bundles are recorded but not expanded (not supported yet). No I/O.

use std::collections::BTreeMap;

use super::{is_true, parse_interval_ms, parse_score, resolve_sets};
use crate::cluster::{Cluster, Role, Rsc, RscIx, Variant};
use crate::input::{Input, RscDef, RscKind};
use crate::rules::RuleContext;

pub(crate) fn unpack_resources(input: &Input, cluster: &mut Cluster) {
    let now = cluster.options.now;
    for def in &input.resources {
        let mut defaults = BTreeMap::new();
        let agent = (
            def.class.clone().unwrap_or_default(),
            def.provider.clone(),
            def.agent.clone().unwrap_or_default(),
        );
        let ctx = RuleContext {
            rsc: Some((&agent.0, agent.1.as_deref(), &agent.2)),
            ..RuleContext::plain(now)
        };
        resolve_sets(&input.rsc_defaults, &ctx, &mut defaults);
        let ix = add(input, cluster, def, None, &defaults, None);
        cluster.top.push(ix);
    }
    // Implicit connection resources of guest nodes, after the configured resources.
    let n = cluster.nodes.len();
    for node in 0..n {
        if !cluster.nodes[node].guest {
            continue;
        }
        let Some(id) = cluster.nodes[node].connection.clone() else {
            continue;
        };
        if cluster.by_id.contains_key(&id) {
            continue;
        }
        let mut rsc = Rsc::new(&id, Variant::Primitive, n);
        if cluster.options.symmetric {
            rsc.allowed = vec![Some(herd_types::Score::ZERO); n];
        }
        rsc.class = "ocf".into();
        rsc.provider = Some("pacemaker".into());
        rsc.agent = "remote".into();
        rsc.needs_quorum = false;
        let ix = cluster.rscs.len();
        cluster.rscs.push(rsc);
        cluster.by_id.insert(id, ix);
        cluster.top.push(ix);
    }
    cluster.options.have_stonith_resource = cluster
        .rscs
        .iter()
        .any(|r| r.variant == Variant::Primitive && r.class == "stonith");
}

fn template<'a>(input: &'a Input, def: &RscDef) -> Option<&'a RscDef> {
    let t = def.template.as_deref()?;
    input.templates.iter().find(|x| x.id == t)
}

fn own_meta(
    input: &Input,
    def: &RscDef,
    parent_meta: Option<&BTreeMap<String, String>>,
    defaults: &BTreeMap<String, String>,
    now: i64,
) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::new();
    resolve_sets(&def.meta, &RuleContext::plain(now), &mut meta);
    if let Some(t) = template(input, def) {
        resolve_sets(&t.meta, &RuleContext::plain(now), &mut meta);
    }
    if let Some(p) = parent_meta {
        for (k, v) in p {
            meta.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for (k, v) in defaults {
        meta.entry(k.clone()).or_insert_with(|| v.clone());
    }
    meta
}

/// Adds `def` (and its subtree) as one resource; `instance` is the clone instance number.
fn add(
    input: &Input,
    cluster: &mut Cluster,
    def: &RscDef,
    parent: Option<RscIx>,
    defaults: &BTreeMap<String, String>,
    instance: Option<usize>,
) -> RscIx {
    let now = cluster.options.now;
    let n = cluster.nodes.len();
    let variant = match def.kind {
        RscKind::Primitive => Variant::Primitive,
        RscKind::Group => Variant::Group,
        RscKind::Clone | RscKind::Master => Variant::Clone,
        RscKind::Bundle => Variant::Bundle,
    };
    let id = match instance {
        Some(i) => format!("{}:{i}", def.id),
        None => def.id.clone(),
    };
    let mut rsc = Rsc::new(&id, variant, n);
    if cluster.options.symmetric {
        rsc.allowed = vec![Some(herd_types::Score::ZERO); n];
    }
    rsc.base_id = def.id.clone();
    rsc.line = def.line;
    rsc.parent = parent;
    let parent_meta = parent.map(|p| cluster.rscs[p].meta.clone());
    let mut meta = own_meta(input, def, parent_meta.as_ref(), defaults, now);
    if variant == Variant::Clone && !meta.contains_key("resource-stickiness") {
        meta.insert("resource-stickiness".into(), "1".into());
    }
    let tmpl = template(input, def);
    rsc.class = def
        .class
        .clone()
        .or_else(|| tmpl.and_then(|t| t.class.clone()))
        .unwrap_or_default();
    rsc.provider = def
        .provider
        .clone()
        .or_else(|| tmpl.and_then(|t| t.provider.clone()));
    rsc.agent = def
        .agent
        .clone()
        .or_else(|| tmpl.and_then(|t| t.agent.clone()))
        .unwrap_or_default();
    resolve_sets(&def.instance, &RuleContext::plain(now), &mut rsc.params);
    if let Some(t) = tmpl {
        resolve_sets(&t.instance, &RuleContext::plain(now), &mut rsc.params);
    }
    let mut util = BTreeMap::new();
    resolve_sets(&def.utilization, &RuleContext::plain(now), &mut util);
    if let Some(t) = tmpl {
        resolve_sets(&t.utilization, &RuleContext::plain(now), &mut util);
    }
    rsc.utilization = util
        .into_iter()
        .map(|(k, v)| (k, v.trim().parse().unwrap_or(0)))
        .collect();
    let mut op_defaults = BTreeMap::new();
    resolve_sets(
        &input.op_defaults,
        &RuleContext::plain(now),
        &mut op_defaults,
    );
    for op in def
        .ops
        .iter()
        .chain(tmpl.map(|t| t.ops.iter()).into_iter().flatten())
    {
        if let Some(f) = &op.on_fail {
            meta.entry(format!("#on-fail:{}", op.name))
                .or_insert_with(|| f.clone());
        }
    }
    if let Some(f) = op_defaults.get("on-fail") {
        for task in ["start", "stop", "monitor", "promote", "demote"] {
            meta.entry(format!("#on-fail:{task}"))
                .or_insert_with(|| f.clone());
        }
    }
    apply_meta(cluster, &mut rsc, &meta, def.kind == RscKind::Master);
    rsc.meta = meta;
    let ix = cluster.rscs.len();
    cluster.rscs.push(rsc);
    cluster.by_id.entry(id.clone()).or_insert(ix);
    match variant {
        Variant::Primitive | Variant::Bundle => {}
        Variant::Group => {
            for child in &def.children {
                let c = add(input, cluster, child, Some(ix), defaults, instance);
                cluster.rscs[ix].children.push(c);
            }
        }
        Variant::Clone => {
            let Some(child) = def.children.first() else {
                cluster.diag(
                    def.line,
                    &def.id,
                    format!("clone {} has no child resource", def.id),
                );
                return ix;
            };
            // At least one instance exists so that history can be matched to it.
            let max = cluster.rscs[ix].clone_max.max(1);
            for i in 0..max {
                let c = add(input, cluster, child, Some(ix), defaults, Some(i));
                cluster.rscs[ix].children.push(c);
            }
            // The child's own id names the collective too (constraints may use it).
            cluster.by_id.entry(child.id.clone()).or_insert(ix);
        }
    }
    ix
}

fn apply_meta(cluster: &Cluster, rsc: &mut Rsc, meta: &BTreeMap<String, String>, master: bool) {
    let get = |k: &str| meta.get(k).map(String::as_str);
    let num = |k: &str| get(k).and_then(|v| parse_score(Some(v))).map(|s| s.value());
    rsc.priority = num("priority").unwrap_or(0);
    rsc.stickiness = num("resource-stickiness")
        .or_else(|| num("resource_stickiness"))
        .unwrap_or(0);
    if let Some(t) = num("migration-threshold") {
        rsc.migration_threshold = if t < 0 { 1 } else { t };
    }
    if let Some(t) = get("failure-timeout") {
        rsc.failure_timeout = parse_interval_ms(t) / 1000;
    }
    rsc.managed = get("is-managed").is_none_or(is_true)
        && !cluster.options.maintenance_mode
        && !get("maintenance").is_some_and(is_true);
    let remote_connection =
        rsc.class == "ocf" && rsc.provider.as_deref() == Some("pacemaker") && rsc.agent == "remote";
    rsc.allow_migrate = get("allow-migrate").map_or(remote_connection, is_true);
    rsc.unique = get("globally-unique").is_some_and(is_true);
    rsc.promotable = master || get("promotable").is_some_and(is_true);
    rsc.interleave = get("interleave").is_some_and(is_true);
    rsc.ordered = get("ordered").is_some_and(is_true);
    rsc.target_role = get("target-role").and_then(Role::parse);
    if let Some(m) = get("multiple-active") {
        rsc.multiply_active_policy = m.to_owned();
    }
    let nodes = cluster.nodes.len();
    rsc.clone_max = num("clone-max").map(|v| v.max(0) as usize).unwrap_or(nodes);
    rsc.clone_node_max = num("clone-node-max")
        .map(|v| v.max(0) as usize)
        .unwrap_or(1);
    rsc.promoted_max = num("promoted-max")
        .or_else(|| num("master-max"))
        .map(|v| v.max(0) as usize)
        .unwrap_or(1);
    rsc.promoted_node_max = num("promoted-node-max")
        .or_else(|| num("master-node-max"))
        .map(|v| v.max(0) as usize)
        .unwrap_or(1);
    let requires = get("requires");
    rsc.requires_fencing = match requires {
        Some(r) => r == "fencing" || r == "unfencing",
        None => cluster.options.stonith_enabled && rsc.class != "stonith",
    };
    let quorum_free = matches!(requires, Some("nothing"))
        || (requires.is_none()
            && rsc.class != "stonith"
            && !cluster.options.stonith_enabled
            && cluster.options.no_quorum_policy == "ignore");
    rsc.needs_quorum = !quorum_free;
}
