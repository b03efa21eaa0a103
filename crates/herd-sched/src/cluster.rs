//! The scheduler's working model: nodes with their state, the resource tree flattened into
//! an arena, and colocations, as `unpack` builds them and the placement and action stages
//! update them.
//!
//! Not the input format (see `input`) and not the output (see `transition`). No I/O.

use std::collections::BTreeMap;

use herd_types::Score;

pub(crate) type NodeIx = usize;
pub(crate) type RscIx = usize;

/// A resource role, ordered as Pacemaker orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Role {
    Unknown,
    Stopped,
    Started,
    Unpromoted,
    Promoted,
}

impl Role {
    /// Reads a role name, old spellings included.
    pub(crate) fn parse(text: &str) -> Option<Role> {
        Some(match text.to_ascii_lowercase().as_str() {
            "stopped" => Role::Stopped,
            "started" => Role::Started,
            "unpromoted" | "slave" => Role::Unpromoted,
            "promoted" | "master" => Role::Promoted,
            "unknown" => Role::Unknown,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Unknown => "Unknown",
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) online: bool,
    pub(crate) unclean: bool,
    pub(crate) standby: bool,
    pub(crate) pending: bool,
    pub(crate) maintenance: bool,
    pub(crate) shutdown: bool,
    pub(crate) remote: bool,
    /// For a Pacemaker Remote or guest node: the id of its connection resource.
    pub(crate) connection: Option<String>,
    /// A guest node (its connection is a resource's `remote-node`).
    pub(crate) guest: bool,
    /// A guest node's container resource.
    pub(crate) container: Option<String>,
    /// Node is expected to be fenced already (a stonith action will be scheduled).
    pub(crate) fence_reason: Option<String>,
    pub(crate) attrs: BTreeMap<String, String>,
    pub(crate) utilization: BTreeMap<String, i64>,
    /// Resources assigned here so far (for tie-breaking).
    pub(crate) num_resources: usize,
    /// A `node_state` exists for the node.
    pub(crate) seen: bool,
}

impl Node {
    /// Can run resources at all (ignoring scores).
    pub(crate) fn available(&self) -> bool {
        self.online
            && !self.shutdown
            && !self.unclean
            && !self.standby
            && !self.maintenance
            && !self.pending
    }
}

/// The kind of resource, ordered as Pacemaker orders variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Variant {
    Primitive,
    Group,
    Clone,
    Bundle,
}

#[derive(Debug, Clone)]
pub(crate) struct Rsc {
    pub(crate) id: String,
    /// Configured id without the `:N` instance suffix.
    pub(crate) base_id: String,
    pub(crate) variant: Variant,
    pub(crate) parent: Option<RscIx>,
    pub(crate) children: Vec<RscIx>,
    pub(crate) class: String,
    pub(crate) provider: Option<String>,
    pub(crate) agent: String,
    pub(crate) meta: BTreeMap<String, String>,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) utilization: BTreeMap<String, i64>,
    pub(crate) managed: bool,
    pub(crate) failed: bool,
    /// Must restart in place (e.g. the container of a failed resource).
    pub(crate) force_restart: bool,
    /// A failure with on-fail=demote: demote in place, do not promote again now.
    pub(crate) demote_on_failure: bool,
    pub(crate) orphan: bool,
    pub(crate) blocked: bool,
    pub(crate) unique: bool,
    pub(crate) promotable: bool,
    pub(crate) interleave: bool,
    pub(crate) ordered: bool,
    pub(crate) stickiness: i64,
    pub(crate) priority: i64,
    pub(crate) migration_threshold: i64,
    pub(crate) failure_timeout: i64,
    pub(crate) allow_migrate: bool,
    pub(crate) requires_fencing: bool,
    pub(crate) needs_quorum: bool,
    pub(crate) clone_max: usize,
    pub(crate) clone_node_max: usize,
    pub(crate) promoted_max: usize,
    pub(crate) promoted_node_max: usize,
    pub(crate) role: Role,
    pub(crate) next_role: Option<Role>,
    pub(crate) target_role: Option<Role>,
    pub(crate) running_on: Vec<NodeIx>,
    /// The node that counts as current when active on several (see `current`).
    pub(crate) current_pick: Option<NodeIx>,
    /// Node scores; `None` = not in the allowed table at all.
    pub(crate) allowed: Vec<Option<Score>>,
    pub(crate) assigned: Option<NodeIx>,
    pub(crate) provisional: bool,
    pub(crate) allocating: bool,
    pub(crate) merging: bool,
    /// Colocations where this resource is the dependent.
    pub(crate) this_with: Vec<usize>,
    /// Colocations where this resource is the primary.
    pub(crate) with_this: Vec<usize>,
    /// Instance counts per node (clones only, for clone-node-max).
    pub(crate) counts: Vec<usize>,
    pub(crate) partial_migration_target: Option<NodeIx>,
    pub(crate) pending_task: Option<(String, NodeIx)>,
    /// Restart because the definition changed (digest mismatch).
    pub(crate) restart_reason: Option<String>,
    /// Nodes where the history says the resource was probed/known (any result).
    pub(crate) known_on: Vec<NodeIx>,
    pub(crate) multiply_active_policy: String,
    pub(crate) line: u32,
    /// The name the resource has in the status history (`rsc:3` for a clone instance).
    pub(crate) history_name: Option<String>,
}

impl Rsc {
    pub(crate) fn new(id: &str, variant: Variant, nodes: usize) -> Rsc {
        Rsc {
            id: id.to_owned(),
            base_id: id.to_owned(),
            variant,
            parent: None,
            children: vec![],
            class: String::new(),
            provider: None,
            agent: String::new(),
            meta: BTreeMap::new(),
            params: BTreeMap::new(),
            utilization: BTreeMap::new(),
            managed: true,
            failed: false,
            force_restart: false,
            demote_on_failure: false,
            orphan: false,
            blocked: false,
            unique: false,
            promotable: false,
            interleave: false,
            ordered: false,
            stickiness: 0,
            priority: 0,
            migration_threshold: 1_000_000,
            failure_timeout: 0,
            allow_migrate: false,
            requires_fencing: true,
            needs_quorum: true,
            clone_max: 0,
            clone_node_max: 1,
            promoted_max: 1,
            promoted_node_max: 1,
            role: Role::Stopped,
            next_role: None,
            target_role: None,
            running_on: vec![],
            current_pick: None,
            allowed: vec![None; nodes],
            assigned: None,
            provisional: true,
            allocating: false,
            merging: false,
            this_with: vec![],
            with_this: vec![],
            counts: vec![0; nodes],
            partial_migration_target: None,
            pending_task: None,
            restart_reason: None,
            known_on: vec![],
            multiply_active_policy: "stop_start".to_owned(),
            line: 0,
            history_name: None,
        }
    }

    pub(crate) fn current_node(&self) -> Option<NodeIx> {
        self.current_pick
            .filter(|n| self.running_on.contains(n))
            .or_else(|| self.running_on.first().copied())
    }

    pub(crate) fn is_clone_instance(&self) -> bool {
        self.base_id != self.id
    }
}

/// A colocation between two resources (sets are expanded into these).
#[derive(Debug, Clone)]
pub(crate) struct Colocation {
    /// The constraint's id, for diagnostics.
    #[allow(dead_code)]
    pub(crate) id: String,
    pub(crate) dependent: RscIx,
    pub(crate) primary: RscIx,
    pub(crate) dependent_role: Role,
    pub(crate) primary_role: Role,
    pub(crate) score: Score,
    pub(crate) node_attribute: Option<String>,
    pub(crate) influence: bool,
}

/// Which action an ordering refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Task {
    Start,
    Stop,
    Promote,
    Demote,
    /// Completion points of collectives (`running`, `stopped`, `promoted`, `demoted`).
    Started,
    Stopped,
    Promoted,
    Demoted,
    MigrateTo,
    MigrateFrom,
    Monitor,
}

impl Task {
    pub(crate) fn parse(text: &str) -> Option<Task> {
        Some(match text {
            "start" => Task::Start,
            "stop" => Task::Stop,
            "promote" => Task::Promote,
            "demote" => Task::Demote,
            "running" => Task::Started,
            "stopped" => Task::Stopped,
            "promoted" => Task::Promoted,
            "demoted" => Task::Demoted,
            _ => return None,
        })
    }

    /// The Pacemaker name of the task (`start`, `running`, `migrate_to`...).
    pub fn name(self) -> &'static str {
        match self {
            Task::Start => "start",
            Task::Stop => "stop",
            Task::Promote => "promote",
            Task::Demote => "demote",
            Task::Started => "running",
            Task::Stopped => "stopped",
            Task::Promoted => "promoted",
            Task::Demoted => "demoted",
            Task::MigrateTo => "migrate_to",
            Task::MigrateFrom => "migrate_from",
            Task::Monitor => "monitor",
        }
    }
}

/// An ordering constraint between resource-level tasks.
#[derive(Debug, Clone)]
pub(crate) struct Ordering {
    pub(crate) id: String,
    pub(crate) first: RscIx,
    pub(crate) first_task: Task,
    pub(crate) then: RscIx,
    pub(crate) then_task: Task,
    /// Mandatory (`kind=Mandatory` or score > 0) vs optional/serialize.
    pub(crate) mandatory: bool,
    /// From a `symmetrical=false` order: only blocks 'then' when it still has to happen.
    pub(crate) asymmetric: bool,
    /// `clone-one-or-more`: at least this many instances of the first clone suffice.
    pub(crate) one_or_more: Option<usize>,
}

/// An ordering from a `require-all=false` set: any one first suffices.
#[derive(Debug, Clone)]
pub(crate) struct SetOrdering {
    pub(crate) firsts: Vec<RscIx>,
    pub(crate) first_task: Task,
    pub(crate) thens: Vec<RscIx>,
    pub(crate) then_task: Task,
    pub(crate) label: String,
}

/// Cluster-wide options from `crm_config`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) stonith_enabled: bool,
    pub(crate) symmetric: bool,
    pub(crate) no_quorum_policy: String,
    pub(crate) have_quorum: bool,
    pub(crate) stop_all: bool,
    pub(crate) maintenance_mode: bool,
    pub(crate) placement_strategy: String,
    pub(crate) stonith_action: String,
    pub(crate) startup_fencing: bool,
    /// `shutdown-lock` and `shutdown-lock-limit` (seconds, 0 = none).
    pub(crate) shutdown_lock: bool,
    pub(crate) shutdown_lock_limit: i64,
    pub(crate) have_stonith_resource: bool,
    pub(crate) now: i64,
}

/// The whole working state.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Node>,
    pub(crate) rscs: Vec<Rsc>,
    /// Top-level resources in configuration order (orphans appended).
    pub(crate) top: Vec<RscIx>,
    pub(crate) colocations: Vec<Colocation>,
    pub(crate) orderings: Vec<Ordering>,
    pub(crate) set_orderings: Vec<SetOrdering>,
    pub(crate) options: Options,
    pub(crate) by_id: BTreeMap<String, RscIx>,
    pub(crate) diagnostics: Vec<crate::Diagnostic>,
    /// Role-specific location scores (`role=Promoted`): rsc, node, score, role.
    pub(crate) role_locations: Vec<(RscIx, NodeIx, Score, Role)>,
    /// Tickets: id -> (granted, standby).
    pub(crate) tickets: BTreeMap<String, (bool, bool)>,
}

impl Cluster {
    pub(crate) fn node_by_name(&self, name: &str) -> Option<NodeIx> {
        self.nodes
            .iter()
            .position(|n| n.name == name || n.id == name)
    }

    /// All primitive descendants of `rsc` (itself if primitive), in tree order.
    pub(crate) fn primitives(&self, rsc: RscIx) -> Vec<RscIx> {
        let mut out = vec![];
        self.collect_primitives(rsc, &mut out);
        out
    }

    fn collect_primitives(&self, rsc: RscIx, out: &mut Vec<RscIx>) {
        if self.rscs[rsc].variant == Variant::Primitive {
            out.push(rsc);
        } else {
            for &c in &self.rscs[rsc].children {
                self.collect_primitives(c, out);
            }
        }
    }

    pub(crate) fn top_of(&self, mut rsc: RscIx) -> RscIx {
        while let Some(p) = self.rscs[rsc].parent {
            rsc = p;
        }
        rsc
    }

    /// Whether an unclean node can be fenced (fencing on, and quorum or no need of it).
    pub(crate) fn can_fence(&self, n: &Node) -> bool {
        self.options.stonith_enabled
            && (self.options.have_quorum || self.options.no_quorum_policy == "ignore" || n.online)
    }

    pub(crate) fn diag(&mut self, line: u32, id: &str, message: String) {
        self.diagnostics.push(crate::Diagnostic {
            line,
            id: id.to_owned(),
            message,
        });
    }
}
