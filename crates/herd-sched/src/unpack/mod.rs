//! Unpacking: turns the typed [`Input`](crate::input::Input) into the working
//! [`Cluster`](crate::cluster::Cluster): options, nodes, the resource tree (clone instances
//! expanded), then status (`status`) and constraints (`constraints`).
//!
//! Not placement or actions. Problems become diagnostics; nothing panics. No I/O.

mod constraints;
mod history;
mod resources;
mod status;

use std::collections::BTreeMap;

use herd_types::Score;

use crate::cluster::{Cluster, Node, Options};
use crate::input::{Input, NvSet};
use crate::rules::{self, RuleContext};

/// Compares node names as Pacemaker lists nodes: case-insensitive, digit runs by value
/// (`node2` before `node10`).
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let vx: u128 = std::str::from_utf8(&x[..nx])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let vy: u128 = std::str::from_utf8(&y[..ny])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if vx != vy {
                    return vx.cmp(&vy);
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                let o = c.to_ascii_lowercase().cmp(&d.to_ascii_lowercase());
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// Reads a boolean the way Pacemaker does (`true`, `yes`, `on`, `y`, `1`).
pub(crate) fn is_true(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "y" | "1"
    )
}

/// Parses an interval (`10s`, `1min`, `2h`, `PT1M`, plain seconds) into milliseconds.
pub(crate) fn parse_interval_ms(text: &str) -> i64 {
    let t = text.trim();
    if let Some(iso) = t.strip_prefix('P') {
        let mut total = 0i64;
        let mut num = String::new();
        let mut in_time = false;
        for c in iso.chars() {
            match c {
                'T' => in_time = true,
                '0'..='9' => num.push(c),
                _ => {
                    let n: i64 = num.parse().unwrap_or(0);
                    num.clear();
                    total += n * match (c, in_time) {
                        ('Y', _) => 365 * 86400,
                        ('M', false) => 30 * 86400,
                        ('W', _) => 7 * 86400,
                        ('D', _) => 86400,
                        ('H', _) => 3600,
                        ('M', true) => 60,
                        ('S', _) => 1,
                        _ => 0,
                    };
                }
            }
        }
        return total * 1000;
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: i64 = t[..split].parse().unwrap_or(0);
    let unit = t[split..].trim().to_ascii_lowercase();
    n * match unit.as_str() {
        "ms" | "msec" => 1,
        "us" | "usec" => 0,
        "m" | "min" | "mins" => 60_000,
        "h" | "hr" | "hour" | "hours" => 3_600_000,
        _ => 1000,
    }
}

pub(crate) fn parse_score(text: Option<&str>) -> Option<Score> {
    let t = text?.trim();
    match t.to_ascii_lowercase().as_str() {
        "red" | "yellow" | "green" => return Some(Score::ZERO),
        _ => {}
    }
    if let Ok(s) = t.parse::<Score>() {
        return Some(s);
    }
    // Like strtol: a leading integer ("2.0" is 2); nothing numeric is 0.
    let bytes = t.as_bytes();
    let mut end = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    t[..end].parse::<Score>().ok()
}

/// Resolves name/value sets: higher `score` first, the first set to name a key wins;
/// sets whose rule fails are skipped.
pub(crate) fn resolve_sets(
    sets: &[NvSet],
    ctx: &RuleContext<'_>,
    into: &mut BTreeMap<String, String>,
) {
    let mut order: Vec<&NvSet> = sets.iter().collect();
    order
        .sort_by_key(|s| std::cmp::Reverse(parse_score(s.score.as_deref()).unwrap_or(Score::ZERO)));
    for set in order {
        if set.rule.as_ref().is_some_and(|r| !rules::eval(r, ctx)) {
            continue;
        }
        for (k, v) in &set.pairs {
            into.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// Builds the working cluster from the input.
pub(crate) fn unpack(input: &Input, now: i64) -> Cluster {
    let mut config = BTreeMap::new();
    resolve_sets(&input.crm_config, &RuleContext::plain(now), &mut config);
    let get = |k: &str| config.get(k).map(String::as_str);
    let options = Options {
        stonith_enabled: get("stonith-enabled").is_none_or(is_true),
        symmetric: get("symmetric-cluster").is_none_or(is_true),
        no_quorum_policy: get("no-quorum-policy")
            .unwrap_or("stop")
            .to_ascii_lowercase(),
        have_quorum: input.have_quorum,
        stop_all: get("stop-all-resources").is_some_and(is_true),
        maintenance_mode: get("maintenance-mode").is_some_and(is_true),
        placement_strategy: get("placement-strategy")
            .unwrap_or("default")
            .to_ascii_lowercase(),
        stonith_action: get("stonith-action").unwrap_or("reboot").to_owned(),
        startup_fencing: get("startup-fencing").is_none_or(is_true),
        shutdown_lock: get("shutdown-lock").is_some_and(is_true),
        shutdown_lock_limit: get("shutdown-lock-limit").map_or(0, |v| parse_interval_ms(v) / 1000),
        have_stonith_resource: false,
        now,
    };
    // Suicide needs fencing and a cluster that has had quorum (or says to panic).
    let mut options = options;
    if options.no_quorum_policy == "suicide"
        && !(options.stonith_enabled && (input.no_quorum_panic || options.have_quorum))
    {
        options.no_quorum_policy = "stop".into();
    }
    let mut cluster = Cluster {
        nodes: vec![],
        rscs: vec![],
        top: vec![],
        colocations: vec![],
        orderings: vec![],
        set_orderings: vec![],
        options,
        by_id: BTreeMap::new(),
        diagnostics: vec![],
        tickets: BTreeMap::new(),
        role_locations: vec![],
    };
    unpack_nodes(input, &mut cluster, &config);
    add_remote_nodes(input, &mut cluster);
    resources::unpack_resources(input, &mut cluster);
    status::unpack_status(input, &mut cluster);
    for t in &input.tickets {
        let granted = t.granted.as_deref().is_some_and(is_true);
        let standby = t.standby.as_deref().is_some_and(is_true);
        cluster.tickets.insert(t.id.clone(), (granted, standby));
    }
    constraints::unpack_constraints(input, &mut cluster);
    apply_node_health(&mut cluster, &config);
    cluster
}

/// Node health (`#health-*` attributes) as a location score for every resource, per
/// `node-health-strategy`.
fn apply_node_health(cluster: &mut Cluster, config: &BTreeMap<String, String>) {
    let strategy = config
        .get("node-health-strategy")
        .map_or("none", String::as_str);
    let get = |k: &str, d: Score| {
        config
            .get(k)
            .and_then(|v| parse_score(Some(v)))
            .unwrap_or(d)
    };
    let (red, yellow, green) = match strategy {
        "migrate-on-red" => (Score::MINUS_INFINITY, Score::ZERO, Score::ZERO),
        "only-green" => (Score::MINUS_INFINITY, Score::MINUS_INFINITY, Score::ZERO),
        "progressive" | "custom" => (
            get("node-health-red", Score::MINUS_INFINITY),
            get("node-health-yellow", Score::ZERO),
            get("node-health-green", Score::ZERO),
        ),
        _ => return,
    };
    let base = if strategy == "progressive" {
        get("node-health-base", Score::ZERO)
    } else {
        Score::ZERO
    };
    for n in 0..cluster.nodes.len() {
        let mut health = base;
        for (k, v) in &cluster.nodes[n].attrs {
            if !k.starts_with("#health") {
                continue;
            }
            health += match v.to_ascii_lowercase().as_str() {
                "red" => red,
                "yellow" => yellow,
                "green" => green,
                other => parse_score(Some(other)).unwrap_or(Score::ZERO),
            };
        }
        if health == Score::ZERO {
            continue;
        }
        for r in 0..cluster.rscs.len() {
            if health.value() < 0
                && cluster.rscs[r]
                    .meta
                    .get("allow-unhealthy-nodes")
                    .is_some_and(|v| is_true(v))
            {
                continue;
            }
            let slot = &mut cluster.rscs[r].allowed[n];
            if slot.is_some() || cluster.options.symmetric {
                *slot = Some(slot.unwrap_or(Score::ZERO) + health);
            }
        }
    }
}

/// Pacemaker Remote nodes named by `ocf:pacemaker:remote` primitives, and guest nodes
/// named by a primitive's `remote-node` meta attribute; nodes stay sorted by name.
fn add_remote_nodes(input: &Input, cluster: &mut Cluster) {
    fn walk(defs: &[crate::input::RscDef], out: &mut Vec<(String, String, bool)>) {
        for d in defs {
            let remote = d.class.as_deref() == Some("ocf")
                && d.provider.as_deref() == Some("pacemaker")
                && d.agent.as_deref() == Some("remote");
            if remote {
                out.push((d.id.clone(), d.id.clone(), false));
            }
            for set in &d.meta {
                if let Some((_, name)) = set.pairs.iter().find(|(k, _)| k == "remote-node") {
                    out.push((name.clone(), d.id.clone(), true));
                }
            }
            walk(&d.children, out);
        }
    }
    let mut found = vec![];
    walk(&input.resources, &mut found);
    for (name, connection, guest) in found {
        let ix = match cluster.node_by_name(&name) {
            Some(ix) => ix,
            None => {
                let mut attrs = BTreeMap::new();
                attrs.insert("#uname".into(), name.clone());
                attrs.insert("#id".into(), name.clone());
                cluster.nodes.push(Node {
                    id: name.clone(),
                    name: name.clone(),
                    attrs,
                    ..Node::default()
                });
                cluster.nodes.len() - 1
            }
        };
        let node = &mut cluster.nodes[ix];
        node.remote = true;
        node.guest = guest;
        // A guest's connection is an implicit resource named after the guest node,
        // running with its container.
        if guest {
            node.container = Some(connection);
            node.connection = Some(name.clone());
        } else {
            node.connection = Some(connection);
        }
        node.attrs.insert(
            "#kind".into(),
            if guest { "container" } else { "remote" }.into(),
        );
    }
    cluster.nodes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
}

fn unpack_nodes(input: &Input, cluster: &mut Cluster, config: &BTreeMap<String, String>) {
    let now = cluster.options.now;
    let mut defs: Vec<&crate::input::NodeDef> = input.nodes.iter().collect();
    defs.sort_by(|a, b| natural_cmp(&a.uname, &b.uname));
    for def in defs {
        let mut attrs = BTreeMap::new();
        resolve_sets(&def.attrs, &RuleContext::plain(now), &mut attrs);
        let mut util = BTreeMap::new();
        resolve_sets(&def.utilization, &RuleContext::plain(now), &mut util);
        let remote = def.kind == "remote";
        attrs.insert("#uname".into(), def.uname.clone());
        attrs.insert("#id".into(), def.id.clone());
        attrs.insert(
            "#kind".into(),
            if remote { "remote" } else { "cluster" }.into(),
        );
        if let Some(name) = config.get("cluster-name") {
            attrs.insert("#cluster-name".into(), name.clone());
        }
        cluster.nodes.push(Node {
            id: def.id.clone(),
            name: def.uname.clone(),
            remote,
            attrs,
            utilization: util
                .into_iter()
                .map(|(k, v)| (k, v.trim().parse().unwrap_or(0)))
                .collect(),
            // Until a node_state says otherwise, a node is offline (and unclean when
            // startup fencing applies).
            unclean: false,
            ..Node::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_units_and_iso_durations() {
        assert_eq!(parse_interval_ms("10s"), 10_000);
        assert_eq!(parse_interval_ms("10"), 10_000);
        assert_eq!(parse_interval_ms("1min"), 60_000);
        assert_eq!(parse_interval_ms("PT1M"), 60_000);
        assert_eq!(parse_interval_ms("500ms"), 500);
    }

    #[test]
    fn higher_scored_set_wins_for_a_key() {
        let sets = vec![
            NvSet {
                id: "a".into(),
                score: Some("1".into()),
                rule: None,
                pairs: vec![("k".into(), "low".into())],
            },
            NvSet {
                id: "b".into(),
                score: Some("5".into()),
                rule: None,
                pairs: vec![("k".into(), "high".into())],
            },
        ];
        let mut out = BTreeMap::new();
        resolve_sets(&sets, &RuleContext::plain(0), &mut out);
        assert_eq!(out["k"], "high");
    }
}
