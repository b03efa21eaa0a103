//! Test-only loader: reads a CIB XML file into `herd_sched::input::Input` with quick-xml,
//! so the corpus can be measured without herd-cib. Not the production path (that is
//! `herd_sched::from_cib`). Reads files (test I/O only).

use herd_sched::input::*;
use quick_xml::events::Event;

#[derive(Debug, Default, Clone)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
}

impl El {
    pub fn get(&self, k: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.clone())
    }
    fn s(&self, k: &str) -> String {
        self.get(k).unwrap_or_default()
    }
    fn kids<'a>(&'a self, n: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == n)
    }
    fn kid(&self, n: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == n)
    }
}

pub fn parse_tree(text: &str) -> El {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if false => drop(e),
            Event::Start(e) => stack.push(mk(&e)),
            Event::Empty(e) => {
                let el = mk(&e);
                stack.last_mut().unwrap().children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(el);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    stack.pop().unwrap().children.into_iter().next().unwrap()
}

fn mk(e: &quick_xml::events::BytesStart<'_>) -> El {
    let name = e.name().into_inner().to_owned();
    let attrs = e
        .attributes()
        .flatten()
        .map(|a| {
            (
                a.key.into_inner().to_owned(),
                a.unescape_value()
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    El {
        name,
        attrs,
        children: vec![],
    }
}

fn nvsets(el: &El, name: &str) -> Vec<NvSet> {
    el.kids(name).map(nvset).collect()
}

fn nvset(s: &El) -> NvSet {
    NvSet {
        id: s.s("id"),
        score: s.get("score"),
        rule: s.kid("rule").map(rule),
        pairs: s
            .kids("nvpair")
            .map(|p| (p.s("name"), p.s("value")))
            .collect(),
    }
}

fn rule(r: &El) -> Rule {
    Rule {
        id: r.s("id"),
        score: r.get("score"),
        score_attribute: r.get("score-attribute"),
        boolean_op: r.get("boolean-op"),
        role: r.get("role"),
        exprs: r.children.iter().filter_map(expr).collect(),
    }
}

fn expr(e: &El) -> Option<Expr> {
    Some(match e.name.as_str() {
        "expression" => Expr::Attr {
            attribute: e.s("attribute"),
            operation: e.s("operation"),
            value: e.get("value"),
            kind: e.get("type"),
            value_source: e.get("value-source"),
        },
        "date_expression" => Expr::Date {
            operation: e.get("operation").unwrap_or_else(|| "in_range".into()),
            start: e.get("start"),
            end: e.get("end"),
            spec: e
                .kid("date_spec")
                .map(|d| d.attrs.clone())
                .unwrap_or_default(),
            duration: e
                .kid("duration")
                .map(|d| d.attrs.clone())
                .unwrap_or_default(),
        },
        "rsc_expression" => Expr::Rsc {
            class: e.get("class"),
            provider: e.get("provider"),
            kind: e.get("type"),
        },
        "op_expression" => Expr::Op {
            name: e.s("name"),
            interval: e.get("interval"),
        },
        "rule" => Expr::Rule(rule(e)),
        _ => return None,
    })
}

fn rsc(e: &El) -> Option<RscDef> {
    let kind = match e.name.as_str() {
        "primitive" => RscKind::Primitive,
        "group" => RscKind::Group,
        "clone" => RscKind::Clone,
        "master" => RscKind::Master,
        "bundle" => RscKind::Bundle,
        "template" => RscKind::Primitive,
        _ => return None,
    };
    let ops = e
        .kid("operations")
        .map(|o| {
            o.kids("op")
                .map(|op| OpDef {
                    id: op.s("id"),
                    name: op.s("name"),
                    interval: op.get("interval").unwrap_or_else(|| "0".into()),
                    role: op.get("role"),
                    on_fail: op.get("on-fail"),
                    enabled: op.get("enabled"),
                    attrs: op.attrs.clone(),
                    meta: nvsets(op, "meta_attributes"),
                })
                .collect()
        })
        .unwrap_or_default();
    let bundle = if kind == RscKind::Bundle {
        let c = e
            .children
            .iter()
            .find(|c| matches!(c.name.as_str(), "docker" | "podman" | "rkt"));
        Some(BundleDef {
            container_kind: c.map(|c| c.name.clone()).unwrap_or_default(),
            replicas: c.and_then(|c| c.get("replicas")),
            replicas_per_host: c.and_then(|c| c.get("replicas-per-host")),
            promoted_max: c.and_then(|c| c.get("promoted-max").or(c.get("masters"))),
            ip_range_start: e.kid("network").and_then(|n| n.get("ip-range-start")),
            control_port: e.kid("network").and_then(|n| n.get("control-port")),
        })
    } else {
        None
    };
    Some(RscDef {
        kind,
        id: e.s("id"),
        class: e.get("class"),
        provider: e.get("provider"),
        agent: e.get("type"),
        template: e.get("template"),
        meta: nvsets(e, "meta_attributes"),
        instance: nvsets(e, "instance_attributes"),
        utilization: nvsets(e, "utilization"),
        ops,
        children: e
            .children
            .iter()
            .filter(|c| c.name != "template")
            .filter_map(rsc)
            .collect(),
        bundle,
        line: 0,
    })
}

fn sets(e: &El) -> Vec<RscSet> {
    e.kids("resource_set")
        .map(|s| RscSet {
            id: s.s("id"),
            resources: s.kids("resource_ref").map(|r| r.s("id")).collect(),
            sequential: s.get("sequential"),
            require_all: s.get("require-all"),
            ordered: s.get("ordered"),
            action: s.get("action"),
            role: s.get("role"),
            score: s.get("score"),
            kind: s.get("kind"),
        })
        .collect()
}

fn constraint(e: &El) -> Option<ConstraintDef> {
    Some(match e.name.as_str() {
        "rsc_location" => ConstraintDef::Location(LocationDef {
            id: e.s("id"),
            rsc: e.get("rsc"),
            rsc_pattern: e.get("rsc-pattern"),
            role: e.get("role"),
            node: e.get("node"),
            score: e.get("score"),
            resource_discovery: e.get("resource-discovery"),
            rules: e.kids("rule").map(rule).collect(),
            sets: sets(e),
            line: 0,
        }),
        "rsc_colocation" => ConstraintDef::Colocation(ColocationDef {
            id: e.s("id"),
            rsc: e.get("rsc").or(e.get("from")),
            with_rsc: e.get("with-rsc").or(e.get("to")),
            rsc_role: e.get("rsc-role").or(e.get("from_role")),
            with_rsc_role: e.get("with-rsc-role").or(e.get("to_role")),
            score: e.get("score"),
            node_attribute: e.get("node-attribute"),
            influence: e.get("influence"),
            rsc_instance: e.get("rsc-instance"),
            with_rsc_instance: e.get("with-rsc-instance"),
            sets: sets(e),
            line: 0,
        }),
        "rsc_order" => ConstraintDef::Order(OrderDef {
            id: e.s("id"),
            first: e.get("first").or(e.get("from")),
            then: e.get("then").or(e.get("to")),
            first_action: e.get("first-action").or(e.get("action")),
            then_action: e.get("then-action").or(e.get("to_action")),
            kind: e.get("kind"),
            score: e.get("score"),
            symmetrical: e.get("symmetrical"),
            require_all: e.get("require-all"),
            sets: sets(e),
            line: 0,
        }),
        "rsc_ticket" => ConstraintDef::Ticket(TicketDef {
            id: e.s("id"),
            rsc: e.get("rsc"),
            rsc_role: e.get("rsc-role"),
            ticket: e.s("ticket"),
            loss_policy: e.get("loss-policy"),
            sets: sets(e),
            line: 0,
        }),
        _ => return None,
    })
}

pub fn load(text: &str) -> Input {
    let cib = parse_tree(text);
    let mut input = Input {
        have_quorum: matches!(cib.get("have-quorum").as_deref(), Some("1" | "true")),
        execution_date: cib.get("execution-date").and_then(|d| d.parse().ok()),
        dc_uuid: cib.get("dc-uuid"),
        ..Input::default()
    };
    if let Some(conf) = cib.kid("configuration") {
        if let Some(c) = conf.kid("crm_config") {
            input.crm_config = nvsets(c, "cluster_property_set");
        }
        if let Some(c) = conf.kid("rsc_defaults") {
            input.rsc_defaults = nvsets(c, "meta_attributes");
        }
        if let Some(c) = conf.kid("op_defaults") {
            input.op_defaults = nvsets(c, "meta_attributes");
        }
        if let Some(n) = conf.kid("nodes") {
            input.nodes = n
                .kids("node")
                .map(|n| NodeDef {
                    id: n.s("id"),
                    uname: n.get("uname").unwrap_or_else(|| n.s("id")),
                    kind: n.s("type"),
                    attrs: nvsets(n, "instance_attributes"),
                    utilization: nvsets(n, "utilization"),
                    line: 0,
                })
                .collect();
        }
        if let Some(r) = conf.kid("resources") {
            input.resources = r
                .children
                .iter()
                .filter(|c| c.name != "template")
                .filter_map(rsc)
                .collect();
            input.templates = r.kids("template").filter_map(rsc).collect();
        }
        if let Some(c) = conf.kid("constraints") {
            input.constraints = c.children.iter().filter_map(constraint).collect();
        }
        if let Some(t) = conf.kid("tags") {
            for tag in t.kids("tag") {
                input.tags.insert(
                    tag.s("id"),
                    tag.kids("obj_ref").map(|o| o.s("id")).collect(),
                );
            }
        }
    }
    if let Some(st) = cib.kid("status") {
        for ns in st.kids("node_state") {
            let mut attrs = vec![];
            for t in ns.kids("transient_attributes") {
                for s in t.kids("instance_attributes") {
                    attrs.extend(s.kids("nvpair").map(|p| (p.s("name"), p.s("value"))));
                }
            }
            let resources = ns
                .kid("lrm")
                .and_then(|l| l.kid("lrm_resources"))
                .map(|l| {
                    l.kids("lrm_resource")
                        .map(|r| LrmResource {
                            id: r.s("id"),
                            class: r.get("class"),
                            provider: r.get("provider"),
                            agent: r.get("type"),
                            container: r.get("container"),
                            ops: r
                                .kids("lrm_rsc_op")
                                .map(|o| LrmOp {
                                    id: o.s("id"),
                                    operation: o.s("operation"),
                                    call_id: o.get("call-id"),
                                    rc_code: o.get("rc-code"),
                                    op_status: o.get("op-status"),
                                    interval: o.get("interval"),
                                    last_rc_change: o.get("last-rc-change"),
                                    last_run: o.get("last-run"),
                                    on_node: o.get("on_node"),
                                    migrate_source: o.get("migrate_source"),
                                    migrate_target: o.get("migrate_target"),
                                    transition_key: o.get("transition-key"),
                                    transition_magic: o.get("transition-magic"),
                                    op_digest: o.get("op-digest"),
                                    exit_reason: o.get("exit-reason"),
                                })
                                .collect(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            input.node_states.push(NodeStateDef {
                id: ns.s("id"),
                uname: ns.get("uname"),
                in_ccm: ns.get("in_ccm"),
                crmd: ns.get("crmd"),
                join: ns.get("join"),
                expected: ns.get("expected"),
                ha: ns.get("ha"),
                shutdown: ns.get("shutdown"),
                remote_node: ns.get("remote_node"),
                attrs,
                resources,
                line: 0,
            });
        }
        if let Some(t) = st.kid("tickets") {
            for ts in t.kids("ticket_state") {
                input.tickets.push(TicketState {
                    id: ts.s("id"),
                    granted: ts.get("granted"),
                    standby: ts.get("standby"),
                    last_granted: ts.get("last-granted"),
                });
            }
        }
    }
    input
}
