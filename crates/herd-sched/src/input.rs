//! The scheduler's input: a CIB-shaped, already-typed description of configuration and
//! status, independent of any XML parser.
//!
//! `from_cib` fills it from herd-cib's model; tests may build it by hand. Nothing here
//! interprets meaning (defaults, rules, history): that is `unpack`'s job. No I/O.

use std::collections::BTreeMap;

/// Everything the scheduler reads.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `have-quorum` on the `cib` element.
    pub have_quorum: bool,
    /// `execution-date` (seconds since the epoch) when the CIB records one.
    pub execution_date: Option<i64>,
    /// `dc-uuid`.
    pub dc_uuid: Option<String>,
    /// `no-quorum-panic` on the `cib` element (lets no-quorum-policy=suicide act).
    pub no_quorum_panic: bool,
    /// `cluster_property_set`s of `crm_config`.
    pub crm_config: Vec<NvSet>,
    pub rsc_defaults: Vec<NvSet>,
    pub op_defaults: Vec<NvSet>,
    pub nodes: Vec<NodeDef>,
    pub resources: Vec<RscDef>,
    /// Primitive templates by id.
    pub templates: Vec<RscDef>,
    pub constraints: Vec<ConstraintDef>,
    /// `tag id` -> referenced object ids.
    pub tags: BTreeMap<String, Vec<String>>,
    pub node_states: Vec<NodeStateDef>,
    /// Ticket states from `status/tickets`.
    pub tickets: Vec<TicketState>,
}

/// A set of name/value pairs (`instance_attributes`, `meta_attributes`, ...), optionally
/// conditional on a rule.
#[derive(Debug, Clone, Default)]
pub struct NvSet {
    pub id: String,
    pub score: Option<String>,
    pub rule: Option<Rule>,
    pub pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub id: String,
    pub score: Option<String>,
    pub score_attribute: Option<String>,
    /// `and` (default) or `or`.
    pub boolean_op: Option<String>,
    pub role: Option<String>,
    pub exprs: Vec<Expr>,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Attr {
        attribute: String,
        operation: String,
        value: Option<String>,
        kind: Option<String>,
        value_source: Option<String>,
    },
    Date {
        operation: String,
        start: Option<String>,
        end: Option<String>,
        /// `date_spec` fields (hours, weekdays, ...).
        spec: Vec<(String, String)>,
        duration: Vec<(String, String)>,
    },
    Rsc {
        class: Option<String>,
        provider: Option<String>,
        kind: Option<String>,
    },
    Op {
        name: String,
        interval: Option<String>,
    },
    Rule(Rule),
}

#[derive(Debug, Clone, Default)]
pub struct NodeDef {
    pub id: String,
    pub uname: String,
    /// `member`, `remote`, `ping`...; empty means member.
    pub kind: String,
    pub attrs: Vec<NvSet>,
    pub utilization: Vec<NvSet>,
    pub line: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RscKind {
    Primitive,
    Group,
    Clone,
    /// Legacy `master`: a promotable clone.
    Master,
    Bundle,
}

#[derive(Debug, Clone)]
pub struct RscDef {
    pub kind: RscKind,
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent: Option<String>,
    pub template: Option<String>,
    pub meta: Vec<NvSet>,
    pub instance: Vec<NvSet>,
    pub utilization: Vec<NvSet>,
    pub ops: Vec<OpDef>,
    pub children: Vec<RscDef>,
    /// Bundle only: replicas etc. from the container element.
    pub bundle: Option<BundleDef>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct BundleDef {
    pub container_kind: String,
    pub replicas: Option<String>,
    pub replicas_per_host: Option<String>,
    pub promoted_max: Option<String>,
    pub ip_range_start: Option<String>,
    pub control_port: Option<String>,
}

/// An `op` in a resource's `operations`.
#[derive(Debug, Clone, Default)]
pub struct OpDef {
    pub id: String,
    pub name: String,
    pub interval: String,
    pub role: Option<String>,
    pub on_fail: Option<String>,
    pub enabled: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub meta: Vec<NvSet>,
}

/// One member list of a constraint that uses `resource_set`s.
#[derive(Debug, Clone, Default)]
pub struct RscSet {
    pub id: String,
    pub resources: Vec<String>,
    pub sequential: Option<String>,
    pub require_all: Option<String>,
    pub ordered: Option<String>,
    pub action: Option<String>,
    pub role: Option<String>,
    pub score: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ConstraintDef {
    Location(LocationDef),
    Colocation(ColocationDef),
    Order(OrderDef),
    Ticket(TicketDef),
}

#[derive(Debug, Clone, Default)]
pub struct LocationDef {
    pub id: String,
    pub rsc: Option<String>,
    pub rsc_pattern: Option<String>,
    pub role: Option<String>,
    pub node: Option<String>,
    pub score: Option<String>,
    pub resource_discovery: Option<String>,
    pub rules: Vec<Rule>,
    pub sets: Vec<RscSet>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct ColocationDef {
    pub id: String,
    pub rsc: Option<String>,
    pub with_rsc: Option<String>,
    pub rsc_role: Option<String>,
    pub with_rsc_role: Option<String>,
    pub score: Option<String>,
    pub node_attribute: Option<String>,
    pub influence: Option<String>,
    pub rsc_instance: Option<String>,
    pub with_rsc_instance: Option<String>,
    pub sets: Vec<RscSet>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct OrderDef {
    pub id: String,
    pub first: Option<String>,
    pub then: Option<String>,
    pub first_action: Option<String>,
    pub then_action: Option<String>,
    pub kind: Option<String>,
    pub score: Option<String>,
    pub symmetrical: Option<String>,
    pub require_all: Option<String>,
    pub sets: Vec<RscSet>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct TicketDef {
    pub id: String,
    pub rsc: Option<String>,
    pub rsc_role: Option<String>,
    pub ticket: String,
    pub loss_policy: Option<String>,
    pub sets: Vec<RscSet>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct TicketState {
    pub id: String,
    pub granted: Option<String>,
    pub standby: Option<String>,
    pub last_granted: Option<String>,
}

/// A `node_state` from the status section.
#[derive(Debug, Clone, Default)]
pub struct NodeStateDef {
    pub id: String,
    pub uname: Option<String>,
    pub in_ccm: Option<String>,
    pub crmd: Option<String>,
    pub join: Option<String>,
    pub expected: Option<String>,
    pub ha: Option<String>,
    pub shutdown: Option<String>,
    pub remote_node: Option<String>,
    /// Transient attributes (all sets merged, in document order).
    pub attrs: Vec<(String, String)>,
    pub resources: Vec<LrmResource>,
    pub line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct LrmResource {
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent: Option<String>,
    pub container: Option<String>,
    /// `shutdown-lock`: when the node's shutdown locked the resource there.
    pub shutdown_lock: Option<i64>,
    pub ops: Vec<LrmOp>,
}

/// One `lrm_rsc_op`: an operation result recorded in the history.
#[derive(Debug, Clone, Default)]
pub struct LrmOp {
    pub id: String,
    pub operation: String,
    pub call_id: Option<String>,
    pub rc_code: Option<String>,
    pub op_status: Option<String>,
    pub interval: Option<String>,
    pub last_rc_change: Option<String>,
    pub last_run: Option<String>,
    pub on_node: Option<String>,
    pub migrate_source: Option<String>,
    pub migrate_target: Option<String>,
    pub transition_key: Option<String>,
    pub transition_magic: Option<String>,
    pub op_digest: Option<String>,
    pub exit_reason: Option<String>,
}
