//! The `status` section: per-node state (`node_state`), transient attributes, the operation
//! history (`lrm_resource` / `lrm_rsc_op`) and `tickets`.
//!
//! This is what the cluster recorded, not what it should do; the scheduler reads it to learn
//! where resources run and what failed. Old spellings (`last_rc_change`, `exec_time`, ...)
//! are read into the same fields. No I/O.

use crate::dom::{Attrs, Line, RawElement};
use crate::model::nvset::{NvSet, first_value};
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::{JoinState, Presence};

/// The `status` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub line: Line,
    pub node_states: Vec<NodeState>,
    pub tickets: Vec<TicketState>,
    /// The `tickets` element's own attributes and unknown children.
    pub tickets_extra: Attrs,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `node_state`: one node's membership and history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeState {
    pub line: Line,
    pub id: String,
    pub uname: Option<String>,
    pub in_ccm: Option<Presence>,
    pub crmd: Option<Presence>,
    pub join: Option<JoinState>,
    pub expected: Option<JoinState>,
    /// Seconds since the epoch when shutdown was requested; 0 or absent means none.
    pub shutdown: Option<i64>,
    pub ha: Option<String>,
    pub crm_debug_origin: Option<String>,
    pub remote_node: Option<bool>,
    pub transient_attributes: Vec<TransientAttributes>,
    /// `None` when the node has no `lrm` element (nothing known about its resources).
    pub lrm: Option<Lrm>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// `transient_attributes`: node attributes that do not survive a restart (fail counts,
/// promotion scores, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransientAttributes {
    pub line: Line,
    pub id: Option<String>,
    pub sets: Vec<NvSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// The `lrm` element with its resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lrm {
    pub line: Line,
    pub id: Option<String>,
    pub resources: Vec<LrmResource>,
    pub extra: Attrs,
    /// The `lrm_resources` element's attributes.
    pub resources_extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `lrm_resource`: the history of one resource on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LrmResource {
    pub line: Line,
    pub id: String,
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent_type: Option<String>,
    pub container: Option<String>,
    pub shutdown_lock: Option<i64>,
    pub ops: Vec<LrmRscOp>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `lrm_rsc_op`: one recorded operation result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LrmRscOp {
    pub line: Line,
    pub id: String,
    pub operation: String,
    pub operation_key: Option<String>,
    /// Milliseconds (the status section stores intervals in ms).
    pub interval_ms: u64,
    pub call_id: Option<i64>,
    pub rc_code: Option<i32>,
    pub op_status: Option<i32>,
    pub transition_key: Option<String>,
    pub transition_magic: Option<String>,
    pub last_rc_change: Option<i64>,
    pub last_run: Option<i64>,
    pub exec_time: Option<u64>,
    pub queue_time: Option<u64>,
    pub op_digest: Option<String>,
    pub op_restart_digest: Option<String>,
    pub op_secure_digest: Option<String>,
    pub op_force_restart: Option<String>,
    pub op_secure_params: Option<String>,
    pub migrate_source: Option<String>,
    pub migrate_target: Option<String>,
    pub on_node: Option<String>,
    pub exit_reason: Option<String>,
    pub crm_feature_set: Option<String>,
    pub crm_debug_origin: Option<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `ticket_state` in `tickets`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketState {
    pub line: Line,
    pub id: String,
    pub granted: Option<bool>,
    pub standby: Option<bool>,
    pub last_granted: Option<i64>,
    pub extra: Attrs,
}

impl Status {
    /// The state of node `id` (node_state ids are node ids).
    pub fn node_state(&self, id: &str) -> Option<&NodeState> {
        self.node_states.iter().find(|state| state.id == id)
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Status {
        let mut el = El::new(raw);
        let mut status = Status {
            line: el.line,
            ..Status::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "node_state" => status.node_states.push(NodeState::read(cx, child)),
                "tickets" => status.read_tickets(cx, child),
                _ => status.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        status.extra = el.finish();
        status
    }

    fn read_tickets(&mut self, cx: &mut Cx<'_>, raw: RawElement) {
        let mut el = El::new(raw);
        for child in el.children(cx) {
            if child.name != "ticket_state" {
                self.unknown.push(cx.unknown_child(&el, child));
                continue;
            }
            let mut ticket = El::new(child);
            let state = TicketState {
                line: ticket.line,
                id: ticket.required(cx, "id"),
                granted: ticket.bool(cx, "granted"),
                standby: ticket.bool(cx, "standby"),
                last_granted: ticket.int(cx, "last-granted"),
                extra: Attrs::default(),
            };
            self.unknown.extend(ticket.unknown_children(cx));
            self.tickets.push(TicketState {
                extra: ticket.finish(),
                ..state
            });
        }
        self.tickets_extra.0.extend(el.finish().0);
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        let mut element = finish_out(out("status"), &self.extra);
        for state in &self.node_states {
            element.push_child(state.write(wx));
        }
        if !self.tickets.is_empty() || !self.tickets_extra.is_empty() {
            let mut tickets = finish_out(out("tickets"), &self.tickets_extra);
            for ticket in &self.tickets {
                let mut child = out("ticket_state");
                child.push_attr("id", ticket.id.clone());
                child.push_opt("granted", ticket.granted);
                child.push_opt("standby", ticket.standby);
                child.push_opt("last-granted", ticket.last_granted);
                tickets.push_child(finish_out(child, &ticket.extra));
            }
            element.push_child(tickets);
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl NodeState {
    /// Transient attribute `name` (first set that has it).
    pub fn transient(&self, name: &str) -> Option<&str> {
        self.transient_attributes
            .iter()
            .find_map(|attrs| first_value(&attrs.sets, name))
    }

    /// The resource histories on this node (empty without an `lrm`).
    pub fn lrm_resources(&self) -> &[LrmResource] {
        self.lrm.as_ref().map_or(&[], |lrm| &lrm.resources)
    }

    fn read(cx: &mut Cx<'_>, raw: RawElement) -> NodeState {
        let mut el = El::new(raw);
        let presence = "true, false, online, offline or a timestamp";
        let mut state = NodeState {
            line: el.line,
            id: el.required(cx, "id"),
            uname: el.string("uname"),
            in_ccm: el.parsed(cx, "in_ccm", presence, Presence::parse),
            crmd: el.parsed(cx, "crmd", presence, Presence::parse),
            join: el.string("join").map(|text| JoinState::parse(&text)),
            expected: el.string("expected").map(|text| JoinState::parse(&text)),
            shutdown: el.int(cx, "shutdown"),
            ha: el.string("ha"),
            crm_debug_origin: el.string("crm-debug-origin"),
            remote_node: el.bool(cx, "remote_node"),
            ..NodeState::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "transient_attributes" => {
                    state.transient_attributes.push(read_transient(cx, child));
                }
                "lrm" if state.lrm.is_none() => state.lrm = Some(Lrm::read(cx, child)),
                _ => state.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        state.extra = el.finish();
        state
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("node_state");
        element.push_attr("id", self.id.clone());
        element.push_opt("uname", self.uname.as_ref());
        element.push_opt(
            "in_ccm",
            self.in_ccm.map(|p| presence_text(p, "true", "false")),
        );
        element.push_opt(
            "crmd",
            self.crmd.map(|p| presence_text(p, "online", "offline")),
        );
        element.push_opt("join", self.join.as_ref().map(JoinState::as_str));
        element.push_opt("expected", self.expected.as_ref().map(JoinState::as_str));
        element.push_opt("shutdown", self.shutdown);
        element.push_opt("ha", self.ha.as_ref());
        element.push_opt("crm-debug-origin", self.crm_debug_origin.as_ref());
        element.push_opt("remote_node", self.remote_node);
        let mut element = finish_out(element, &self.extra);
        for transient in &self.transient_attributes {
            let mut child = out("transient_attributes");
            child.push_opt("id", transient.id.as_ref());
            let mut child = finish_out(child, &transient.extra);
            for set in &transient.sets {
                child.push_child(set.write(wx));
            }
            push_unknown(&mut child, &transient.unknown);
            element.push_child(child);
        }
        if let Some(lrm) = &self.lrm {
            element.push_child(lrm.write());
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

fn presence_text(presence: Presence, up: &str, down: &str) -> String {
    match presence {
        Presence::Online => up.to_owned(),
        Presence::Offline => down.to_owned(),
        Presence::Since(seconds) => seconds.to_string(),
    }
}

fn read_transient(cx: &mut Cx<'_>, raw: RawElement) -> TransientAttributes {
    let mut el = El::new(raw);
    let mut transient = TransientAttributes {
        line: el.line,
        id: el.string("id"),
        ..TransientAttributes::default()
    };
    for child in el.children(cx) {
        match child.name.as_str() {
            "instance_attributes" | "utilization" => transient.sets.push(NvSet::read(cx, child)),
            _ => transient.unknown.push(cx.unknown_child(&el, child)),
        }
    }
    transient.extra = el.finish();
    transient
}

impl Lrm {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Lrm {
        let mut el = El::new(raw);
        let mut lrm = Lrm {
            line: el.line,
            id: el.string("id"),
            ..Lrm::default()
        };
        for child in el.children(cx) {
            if child.name != "lrm_resources" {
                lrm.unknown.push(cx.unknown_child(&el, child));
                continue;
            }
            let mut resources = El::new(child);
            for resource in resources.children(cx) {
                if resource.name == "lrm_resource" {
                    lrm.resources.push(LrmResource::read(cx, resource));
                } else {
                    lrm.unknown.push(cx.unknown_child(&resources, resource));
                }
            }
            lrm.resources_extra.0.extend(resources.finish().0);
        }
        lrm.extra = el.finish();
        lrm
    }

    fn write(&self) -> RawElement {
        let mut element = out("lrm");
        element.push_opt("id", self.id.as_ref());
        let mut element = finish_out(element, &self.extra);
        let mut resources = finish_out(out("lrm_resources"), &self.resources_extra);
        for resource in &self.resources {
            resources.push_child(resource.write());
        }
        element.push_child(resources);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl LrmResource {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> LrmResource {
        let mut el = El::new(raw);
        let mut resource = LrmResource {
            line: el.line,
            id: el.required(cx, "id"),
            class: el.string("class"),
            provider: el.string("provider"),
            agent_type: el.string("type"),
            container: el.string("container"),
            shutdown_lock: el.int(cx, "shutdown-lock"),
            ..LrmResource::default()
        };
        for child in el.children(cx) {
            if child.name == "lrm_rsc_op" {
                resource.ops.push(LrmRscOp::read(cx, child));
            } else {
                resource.unknown.push(cx.unknown_child(&el, child));
            }
        }
        resource.extra = el.finish();
        resource
    }

    fn write(&self) -> RawElement {
        let mut element = out("lrm_resource");
        element.push_attr("id", self.id.clone());
        element.push_opt("class", self.class.as_ref());
        element.push_opt("provider", self.provider.as_ref());
        element.push_opt("type", self.agent_type.as_ref());
        element.push_opt("container", self.container.as_ref());
        element.push_opt("shutdown-lock", self.shutdown_lock);
        let mut element = finish_out(element, &self.extra);
        for op in &self.ops {
            element.push_child(op.write());
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl LrmRscOp {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> LrmRscOp {
        let mut el = El::new(raw);
        let mut op = LrmRscOp {
            line: el.line,
            id: el.required(cx, "id"),
            operation: el.required(cx, "operation"),
            operation_key: el.string("operation_key"),
            interval_ms: el.int(cx, "interval").unwrap_or(0),
            call_id: el.int(cx, "call-id"),
            rc_code: el.int(cx, "rc-code"),
            op_status: el.int(cx, "op-status"),
            transition_key: el.string("transition-key"),
            transition_magic: el.string("transition-magic"),
            last_rc_change: int_either(&mut el, cx, "last-rc-change", "last_rc_change"),
            last_run: int_either(&mut el, cx, "last-run", "last_run"),
            exec_time: int_either(&mut el, cx, "exec-time", "exec_time"),
            queue_time: int_either(&mut el, cx, "queue-time", "queue_time"),
            op_digest: el.string("op-digest"),
            op_restart_digest: el.string("op-restart-digest"),
            op_secure_digest: el.string("op-secure-digest"),
            op_force_restart: el.string("op-force-restart"),
            op_secure_params: el.string("op-secure-params"),
            migrate_source: el.string("migrate_source"),
            migrate_target: el.string("migrate_target"),
            on_node: el.string("on_node"),
            exit_reason: el.string("exit-reason"),
            crm_feature_set: el.string("crm_feature_set"),
            crm_debug_origin: el.string("crm-debug-origin"),
            extra: Attrs::default(),
            unknown: Vec::new(),
        };
        op.unknown = el.unknown_children(cx);
        op.extra = el.finish();
        op
    }

    fn write(&self) -> RawElement {
        let mut e = out("lrm_rsc_op");
        e.push_attr("id", self.id.clone());
        e.push_attr("operation", self.operation.clone());
        e.push_opt("operation_key", self.operation_key.as_ref());
        e.push_attr("interval", self.interval_ms.to_string());
        e.push_opt("call-id", self.call_id);
        e.push_opt("rc-code", self.rc_code);
        e.push_opt("op-status", self.op_status);
        e.push_opt("transition-key", self.transition_key.as_ref());
        e.push_opt("transition-magic", self.transition_magic.as_ref());
        e.push_opt("last-rc-change", self.last_rc_change);
        e.push_opt("last-run", self.last_run);
        e.push_opt("exec-time", self.exec_time);
        e.push_opt("queue-time", self.queue_time);
        e.push_opt("op-digest", self.op_digest.as_ref());
        e.push_opt("op-restart-digest", self.op_restart_digest.as_ref());
        e.push_opt("op-secure-digest", self.op_secure_digest.as_ref());
        e.push_opt("op-force-restart", self.op_force_restart.as_ref());
        e.push_opt("op-secure-params", self.op_secure_params.as_ref());
        e.push_opt("migrate_source", self.migrate_source.as_ref());
        e.push_opt("migrate_target", self.migrate_target.as_ref());
        e.push_opt("on_node", self.on_node.as_ref());
        e.push_opt("exit-reason", self.exit_reason.as_ref());
        e.push_opt("crm_feature_set", self.crm_feature_set.as_ref());
        e.push_opt("crm-debug-origin", self.crm_debug_origin.as_ref());
        let mut e = finish_out(e, &self.extra);
        push_unknown(&mut e, &self.unknown);
        e
    }
}

/// Reads an integer attribute under its current name or its old underscore spelling.
fn int_either<T: std::str::FromStr>(
    el: &mut El,
    cx: &mut Cx<'_>,
    name: &str,
    old: &str,
) -> Option<T> {
    el.int(cx, name).or_else(|| el.int(cx, old))
}
