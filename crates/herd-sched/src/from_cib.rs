//! Fills the scheduler's [`Input`] from herd-cib's typed model: a field-by-field mapping,
//! nothing interpreted (meaning is `unpack`'s job).
//!
//! Not XML: herd-cib parsed it. No I/O.

use herd_cib as cib;

use crate::input::*;

fn sc(s: &Option<cib::Score>) -> Option<String> {
    s.map(|s| s.to_string())
}

fn nvsets(sets: &[cib::NvSet]) -> Vec<NvSet> {
    sets.iter()
        .map(|s| NvSet {
            id: s.id.clone().unwrap_or_default(),
            score: sc(&s.score),
            rule: s.rules.first().map(rule),
            pairs: s
                .nvpairs
                .iter()
                .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
                .collect(),
        })
        .collect()
}

fn rule(r: &cib::Rule) -> Rule {
    Rule {
        id: r.id.clone().unwrap_or_default(),
        score: sc(&r.score),
        score_attribute: r.score_attribute.clone(),
        boolean_op: r.boolean_op.map(|b| b.to_string()),
        role: r.role.map(|x| x.to_string()),
        exprs: r.conditions.iter().filter_map(condition).collect(),
    }
}

fn condition(c: &cib::Condition) -> Option<Expr> {
    Some(match c {
        cib::Condition::Expression(e) => Expr::Attr {
            attribute: e.attribute.clone(),
            operation: e.operation.map(|o| o.to_string()).unwrap_or_default(),
            value: e.value.clone(),
            kind: e.value_type.map(|t| t.to_string()),
            value_source: e.value_source.map(|v| v.to_string()),
        },
        cib::Condition::Date(d) => Expr::Date {
            operation: d
                .operation
                .map_or_else(|| "in_range".to_owned(), |o| o.to_string()),
            start: d.start.clone(),
            end: d.end.clone(),
            spec: d
                .date_spec
                .as_ref()
                .map(|s| attrs(&s.fields))
                .unwrap_or_default(),
            duration: d
                .duration
                .as_ref()
                .map(|s| attrs(&s.fields))
                .unwrap_or_default(),
        },
        cib::Condition::Resource(r) => Expr::Rsc {
            class: r.class.clone(),
            provider: r.provider.clone(),
            kind: r.agent_type.clone(),
        },
        cib::Condition::Op(o) => Expr::Op {
            name: o.name.clone(),
            interval: o.interval_ms.map(|ms| format!("{ms}ms")),
        },
        cib::Condition::Rule(r) => Expr::Rule(rule(r)),
        cib::Condition::Unknown(_) => return None,
    })
}

fn attrs(a: &cib::Attrs) -> Vec<(String, String)> {
    a.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn primitive(p: &cib::Primitive) -> RscDef {
    RscDef {
        kind: RscKind::Primitive,
        id: p.id.clone(),
        class: p.class.clone(),
        provider: p.provider.clone(),
        agent: p.agent_type.clone(),
        template: p.template.clone(),
        meta: nvsets(&p.sets.meta_attributes),
        instance: nvsets(&p.sets.instance_attributes),
        utilization: nvsets(&p.sets.utilization),
        ops: p
            .operations
            .ops
            .iter()
            .map(|o| OpDef {
                id: o.id.clone().unwrap_or_default(),
                name: o.name.clone(),
                interval: format!("{}ms", o.interval_ms),
                role: o.role.map(|r| r.to_string()),
                on_fail: o.on_fail.clone(),
                enabled: o.enabled.map(|e| e.to_string()),
                attrs: vec![],
                meta: nvsets(&o.meta_attributes),
            })
            .collect(),
        children: vec![],
        bundle: None,
        line: p.line.0,
    }
}

fn resource(r: &cib::Resource) -> Option<RscDef> {
    Some(match r {
        cib::Resource::Primitive(p) | cib::Resource::Template(p) => primitive(p),
        cib::Resource::Group(g) => RscDef {
            kind: RscKind::Group,
            id: g.id.clone(),
            meta: nvsets(&g.sets.meta_attributes),
            instance: nvsets(&g.sets.instance_attributes),
            utilization: nvsets(&g.sets.utilization),
            children: g.members.iter().map(primitive).collect(),
            line: g.line.0,
            ..empty(RscKind::Group)
        },
        cib::Resource::Clone(c) => RscDef {
            kind: if c.legacy_master {
                RscKind::Master
            } else {
                RscKind::Clone
            },
            id: c.id.clone(),
            meta: nvsets(&c.sets.meta_attributes),
            instance: nvsets(&c.sets.instance_attributes),
            utilization: nvsets(&c.sets.utilization),
            children: c.child.as_deref().and_then(resource).into_iter().collect(),
            line: c.line.0,
            ..empty(RscKind::Clone)
        },
        cib::Resource::Bundle(b) => RscDef {
            kind: RscKind::Bundle,
            id: b.id.clone(),
            meta: nvsets(&b.sets.meta_attributes),
            children: b.primitive.iter().map(primitive).collect(),
            bundle: Some(BundleDef {
                container_kind: b
                    .container
                    .as_ref()
                    .map(|c| c.kind.to_string())
                    .unwrap_or_default(),
                replicas: b
                    .container
                    .as_ref()
                    .and_then(|c| c.replicas)
                    .map(|v| v.to_string()),
                replicas_per_host: b
                    .container
                    .as_ref()
                    .and_then(|c| c.replicas_per_host)
                    .map(|v| v.to_string()),
                promoted_max: b
                    .container
                    .as_ref()
                    .and_then(|c| c.promoted_max)
                    .map(|v| v.to_string()),
                ip_range_start: b.network.as_ref().and_then(|n| n.ip_range_start.clone()),
                control_port: b
                    .network
                    .as_ref()
                    .and_then(|n| n.control_port)
                    .map(|v| v.to_string()),
            }),
            line: b.line.0,
            ..empty(RscKind::Bundle)
        },
    })
}

fn empty(kind: RscKind) -> RscDef {
    RscDef {
        kind,
        id: String::new(),
        class: None,
        provider: None,
        agent: None,
        template: None,
        meta: vec![],
        instance: vec![],
        utilization: vec![],
        ops: vec![],
        children: vec![],
        bundle: None,
        line: 0,
    }
}

fn sets(s: &[cib::ResourceSet]) -> Vec<RscSet> {
    s.iter()
        .map(|s| RscSet {
            id: s.id.clone().unwrap_or_default(),
            resources: s.resources.iter().map(|r| r.id.clone()).collect(),
            sequential: s.sequential.map(|b| b.to_string()),
            require_all: s.require_all.map(|b| b.to_string()),
            ordered: s.ordered.map(|b| b.to_string()),
            action: s.action.map(|a| a.to_string()),
            role: s.role.map(|r| r.to_string()),
            score: sc(&s.score),
            kind: s.kind.map(|k| k.to_string()),
        })
        .collect()
}

fn constraint(c: &cib::Constraint) -> ConstraintDef {
    match c {
        cib::Constraint::Location(l) => ConstraintDef::Location(LocationDef {
            id: l.id.clone(),
            rsc: l.rsc.clone(),
            rsc_pattern: l.rsc_pattern.clone(),
            role: l.role.map(|r| r.to_string()),
            node: l.node.clone(),
            score: sc(&l.score),
            resource_discovery: l.resource_discovery.map(|r| r.to_string()),
            rules: l.rules.iter().map(rule).collect(),
            sets: sets(&l.resource_sets),
            line: l.line.0,
        }),
        cib::Constraint::Colocation(c) => ConstraintDef::Colocation(ColocationDef {
            id: c.id.clone(),
            rsc: c.rsc.clone(),
            with_rsc: c.with_rsc.clone(),
            rsc_role: c.rsc_role.map(|r| r.to_string()),
            with_rsc_role: c.with_rsc_role.map(|r| r.to_string()),
            score: sc(&c.score),
            node_attribute: c.node_attribute.clone(),
            influence: c.influence.map(|b| b.to_string()),
            rsc_instance: None,
            with_rsc_instance: None,
            sets: sets(&c.resource_sets),
            line: c.line.0,
        }),
        cib::Constraint::Order(o) => ConstraintDef::Order(OrderDef {
            id: o.id.clone(),
            first: o.first.clone(),
            then: o.then.clone(),
            first_action: o.first_action.map(|a| a.to_string()),
            then_action: o.then_action.map(|a| a.to_string()),
            kind: o.kind.map(|k| k.to_string()),
            score: sc(&o.score),
            symmetrical: o.symmetrical.map(|b| b.to_string()),
            require_all: o.require_all.map(|b| b.to_string()),
            sets: sets(&o.resource_sets),
            line: o.line.0,
        }),
        cib::Constraint::Ticket(t) => ConstraintDef::Ticket(TicketDef {
            id: t.id.clone(),
            rsc: t.rsc.clone(),
            rsc_role: t.rsc_role.map(|r| r.to_string()),
            ticket: t.ticket.clone(),
            loss_policy: t.loss_policy.map(|l| l.to_string()),
            sets: sets(&t.resource_sets),
            line: t.line.0,
        }),
    }
}

fn node_state(ns: &cib::NodeState) -> NodeStateDef {
    let mut attrs = vec![];
    for t in &ns.transient_attributes {
        for s in &t.sets {
            attrs.extend(
                s.nvpairs
                    .iter()
                    .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default())),
            );
        }
    }
    let resources = ns
        .lrm
        .as_ref()
        .map(|l| {
            l.resources
                .iter()
                .map(|r| LrmResource {
                    id: r.id.clone(),
                    class: r.class.clone(),
                    provider: r.provider.clone(),
                    agent: r.agent_type.clone(),
                    container: r.container.clone(),
                    shutdown_lock: r.shutdown_lock,
                    ops: r
                        .ops
                        .iter()
                        .map(|o| LrmOp {
                            id: o.id.clone(),
                            operation: o.operation.clone(),
                            call_id: o.call_id.map(|v| v.to_string()),
                            rc_code: o.rc_code.map(|v| v.to_string()),
                            op_status: o.op_status.map(|v| v.to_string()),
                            interval: Some(format!("{}ms", o.interval_ms)),
                            last_rc_change: o.last_rc_change.map(|v| v.to_string()),
                            last_run: o.last_run.map(|v| v.to_string()),
                            on_node: o.on_node.clone(),
                            migrate_source: o.migrate_source.clone(),
                            migrate_target: o.migrate_target.clone(),
                            transition_key: o.transition_key.clone(),
                            transition_magic: o.transition_magic.clone(),
                            op_digest: o.op_digest.clone(),
                            exit_reason: o.exit_reason.clone(),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    NodeStateDef {
        id: ns.id.clone(),
        uname: ns.uname.clone(),
        in_ccm: ns.in_ccm.map(|p| p.is_up().to_string()),
        crmd: ns.crmd.map(|p| {
            if p.is_up() {
                "online".to_owned()
            } else {
                "offline".to_owned()
            }
        }),
        join: ns.join.as_ref().map(|j| j.as_str().to_owned()),
        expected: ns.expected.as_ref().map(|j| j.as_str().to_owned()),
        ha: ns.ha.clone(),
        shutdown: ns.shutdown.map(|v| v.to_string()),
        remote_node: ns.remote_node.map(|b| b.to_string()),
        attrs,
        resources,
        line: ns.line.0,
    }
}

/// Maps herd-cib's model to the scheduler's input.
pub fn input_from_cib(c: &cib::Cib) -> Input {
    let conf = &c.configuration;
    let mut input = Input {
        have_quorum: c.have_quorum.unwrap_or(false),
        execution_date: c.execution_date,
        dc_uuid: c.dc_uuid.clone(),
        no_quorum_panic: cib::is_true(c.extra.get("no-quorum-panic")),
        crm_config: nvsets(&conf.crm_config.items),
        rsc_defaults: nvsets(&conf.rsc_defaults.items),
        op_defaults: nvsets(&conf.op_defaults.items),
        ..Input::default()
    };
    input.nodes = conf
        .nodes
        .items
        .iter()
        .map(|n| NodeDef {
            id: n.id.clone(),
            uname: if n.uname.is_empty() {
                n.id.clone()
            } else {
                n.uname.clone()
            },
            kind: n.node_type.map(|t| t.to_string()).unwrap_or_default(),
            attrs: nvsets(&n.instance_attributes),
            utilization: nvsets(&n.utilization),
            line: n.line.0,
        })
        .collect();
    for r in &conf.resources.items {
        match r {
            cib::Resource::Template(p) => input.templates.push(primitive(p)),
            other => input.resources.extend(resource(other)),
        }
    }
    input.constraints = conf.constraints.items.iter().map(constraint).collect();
    for t in &conf.tags.items {
        input.tags.insert(t.id.clone(), t.refs.clone());
    }
    input.node_states = c.status.node_states.iter().map(node_state).collect();
    input.tickets = c
        .status
        .tickets
        .iter()
        .map(|t| TicketState {
            id: t.id.clone(),
            granted: t.granted.map(|b| b.to_string()),
            standby: t.standby.map(|b| b.to_string()),
            last_granted: t.last_granted.map(|v| v.to_string()),
        })
        .collect();
    input
}
