//! Decides what the cluster should do next, the way Pacemaker's scheduler does.
//!
//! Input: configuration + status ([`input::Input`], filled from herd-cib's model by
//! [`from_cib`]) and "now". Output: a [`Transition`], i.e. actions plus the orderings
//! between them, and the `Transition Summary:` lines. This crate does no I/O and never
//! fails: a bad constraint becomes a [`Diagnostic`] and the affected resource stays put.
//!
//! Stages: `unpack` (input -> working `cluster`), `placement` (+ `colocation`, `clone`,
//! `promotable`, `utilization`), `actions`, `summary`.

mod actions;
mod clone;
mod cluster;
mod colocation;
mod current;
#[cfg(test)]
mod fencing_tests;
pub mod from_cib;
pub mod input;
mod pending;
mod placement;
mod promotable;
mod rules;
mod summary;
mod unpack;
mod utilization;

pub use actions::Action;
pub use cluster::{Role, Task};

/// A configuration problem found while scheduling (the scheduler carries on).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Source line of the element, 0 when unknown.
    pub line: u32,
    /// Id of the element concerned.
    pub id: String,
    pub message: String,
}

/// A resource's state before and after the transition, for status displays.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResourceState {
    pub id: String,
    /// `class[:provider]:type` for primitives, empty for collectives.
    pub agent: String,
    /// `primitive`, `group`, `clone`, `bundle`.
    pub kind: &'static str,
    pub depth: usize,
    pub parent: Option<String>,
    pub unique: bool,
    pub promotable: bool,
    pub managed: bool,
    pub failed: bool,
    pub orphan: bool,
    /// `target-role=Stopped`.
    pub disabled: bool,
    pub role: Role,
    pub nodes: Vec<String>,
    pub next_role: Role,
    pub next_node: Option<String>,
}

/// A node's state, for status displays.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeState {
    pub name: String,
    pub online: bool,
    pub unclean: bool,
    pub standby: bool,
    pub maintenance: bool,
    pub pending: bool,
    pub remote: bool,
    pub will_fence: bool,
}

/// What the scheduler decided.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Transition {
    pub actions: Vec<Action>,
    /// Orderings between actions, as indexes into `actions` (first, then).
    pub orderings: Vec<(usize, usize)>,
    /// Nodes to fence with the reason.
    pub fencing: Vec<(String, String)>,
    pub fence_action: String,
    pub diagnostics: Vec<Diagnostic>,
    pub nodes: Vec<NodeState>,
    pub resources: Vec<ResourceState>,
    /// Whether `execution-date` from the CIB was used as "now".
    pub now: i64,
    summary: Vec<String>,
}

impl Transition {
    /// The `Transition Summary:` lines, normalized (single spaces, no bullet).
    pub fn summary_lines(&self) -> Vec<String> {
        self.summary.clone()
    }

    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

/// Schedules a parsed CIB: uses its `execution-date` as "now" when present, else
/// `wall_clock_now` (seconds since the epoch).
pub fn schedule(cib: &herd_cib::Cib, wall_clock_now: i64) -> Transition {
    schedule_input(&from_cib::input_from_cib(cib), wall_clock_now)
}

/// Schedules from the scheduler's own input model.
pub fn schedule_input(input: &input::Input, wall_clock_now: i64) -> Transition {
    let now = input.execution_date.unwrap_or(wall_clock_now);
    let mut cluster = unpack::unpack(input, now);
    current::pick_current_nodes(&mut cluster);
    placement::assign_all(&mut cluster);
    let plan = actions::create(&cluster);
    let fencing = summary::fence_lines(&cluster, input.dc_uuid.as_deref());
    let mut lines: Vec<String> = fencing
        .iter()
        .map(|(n, r)| format!("Fence ({}) {n} '{r}'", cluster.options.stonith_action))
        .collect();
    lines.extend(summary::resource_lines(&cluster, &plan));
    let nodes = cluster
        .nodes
        .iter()
        .map(|n| NodeState {
            name: n.name.clone(),
            online: n.online,
            unclean: n.unclean,
            standby: n.standby,
            maintenance: n.maintenance,
            pending: n.pending,
            remote: n.remote,
            will_fence: fencing.iter().any(|(f, _)| *f == n.name),
        })
        .collect();
    let resources = resource_states(&cluster);
    Transition {
        actions: plan.actions,
        orderings: plan.orderings,
        fence_action: cluster.options.stonith_action.clone(),
        fencing,
        diagnostics: cluster.diagnostics,
        nodes,
        resources,
        now,
        summary: lines,
    }
}

fn resource_states(c: &cluster::Cluster) -> Vec<ResourceState> {
    let mut out = vec![];
    fn walk(c: &cluster::Cluster, r: usize, depth: usize, out: &mut Vec<ResourceState>) {
        let rsc = &c.rscs[r];
        let agent = if rsc.variant == cluster::Variant::Primitive {
            match &rsc.provider {
                Some(p) => format!("{}:{p}:{}", rsc.class, rsc.agent),
                None => format!("{}:{}", rsc.class, rsc.agent),
            }
        } else {
            String::new()
        };
        out.push(ResourceState {
            id: rsc.id.clone(),
            agent,
            kind: match rsc.variant {
                cluster::Variant::Primitive => "primitive",
                cluster::Variant::Group => "group",
                cluster::Variant::Clone => "clone",
                cluster::Variant::Bundle => "bundle",
            },
            depth,
            parent: rsc.parent.map(|p| c.rscs[p].id.clone()),
            unique: rsc.unique,
            promotable: rsc.promotable,
            managed: rsc.managed,
            failed: rsc.failed,
            orphan: rsc.orphan,
            disabled: rsc.target_role == Some(Role::Stopped),
            role: rsc.role,
            nodes: rsc
                .running_on
                .iter()
                .map(|&n| c.nodes[n].name.clone())
                .collect(),
            next_role: rsc.next_role.unwrap_or(Role::Stopped),
            next_node: rsc
                .assigned
                .filter(|_| rsc.next_role.unwrap_or(Role::Stopped) > Role::Stopped)
                .map(|n| c.nodes[n].name.clone()),
        });
        for &ch in &rsc.children {
            walk(c, ch, depth + 1, out);
        }
    }
    for &t in &c.top {
        walk(c, t, 0, &mut out);
    }
    out
}
