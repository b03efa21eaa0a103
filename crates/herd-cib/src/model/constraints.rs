//! The `constraints` section: `rsc_location`, `rsc_colocation`, `rsc_order`, `rsc_ticket`,
//! and the `resource_set`s they may use instead of single resources.
//!
//! References (`rsc`, `with-rsc`, `resource_ref`) are kept as ids; checking that they name
//! a resource, tag or template happens in the `check` module. No I/O.

use herd_types::Score;

use crate::dom::{Attrs, Line, RawElement};
use crate::error::Severity;
use crate::model::rules::Rule;
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::{LossPolicy, OrderKind, ResourceDiscovery, Role, RscAction};

/// One constraint, in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    Location(Location),
    Colocation(Colocation),
    Order(Order),
    Ticket(Ticket),
}

/// An `rsc_location`: a score for a resource (or pattern, or sets) on a node or by rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub line: Line,
    pub id: String,
    pub rsc: Option<String>,
    pub rsc_pattern: Option<String>,
    pub node: Option<String>,
    pub score: Option<Score>,
    pub role: Option<Role>,
    pub resource_discovery: Option<ResourceDiscovery>,
    pub rules: Vec<Rule>,
    pub resource_sets: Vec<ResourceSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `rsc_colocation`: `rsc` placed relative to `with-rsc`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Colocation {
    pub line: Line,
    pub id: String,
    pub rsc: Option<String>,
    pub with_rsc: Option<String>,
    pub score: Option<Score>,
    pub rsc_role: Option<Role>,
    pub with_rsc_role: Option<Role>,
    pub node_attribute: Option<String>,
    pub influence: Option<bool>,
    /// `rsc-instance`: one instance of a clone (needs promotable/clone instance syntax).
    pub rsc_instance: Option<String>,
    pub with_rsc_instance: Option<String>,
    pub resource_sets: Vec<ResourceSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `rsc_order`: `then` after `first`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    pub line: Line,
    pub id: String,
    pub first: Option<String>,
    pub then: Option<String>,
    pub first_action: Option<RscAction>,
    pub then_action: Option<RscAction>,
    pub kind: Option<OrderKind>,
    /// Legacy: 0 means optional, anything else mandatory (when `kind` is absent).
    pub score: Option<Score>,
    pub symmetrical: Option<bool>,
    pub require_all: Option<bool>,
    pub resource_sets: Vec<ResourceSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `rsc_ticket`: resources that need a ticket granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    pub line: Line,
    pub id: String,
    pub ticket: String,
    pub rsc: Option<String>,
    pub rsc_role: Option<Role>,
    pub loss_policy: Option<LossPolicy>,
    pub resource_sets: Vec<ResourceSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `resource_set` inside a constraint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceSet {
    pub line: Line,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub sequential: Option<bool>,
    pub require_all: Option<bool>,
    pub ordered: Option<bool>,
    pub action: Option<RscAction>,
    pub role: Option<Role>,
    pub score: Option<Score>,
    pub kind: Option<OrderKind>,
    pub resources: Vec<ResourceRef>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `resource_ref`: names a resource (or tag) by `id`, or points at one with `id-ref`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRef {
    pub line: Line,
    /// The referenced resource; for an `id-ref` element, the id-ref.
    pub id: String,
    /// True when written as `id-ref=` rather than `id=`.
    pub is_id_ref: bool,
    pub extra: Attrs,
}

impl Constraint {
    pub fn id(&self) -> &str {
        match self {
            Constraint::Location(c) => &c.id,
            Constraint::Colocation(c) => &c.id,
            Constraint::Order(c) => &c.id,
            Constraint::Ticket(c) => &c.id,
        }
    }

    pub fn line(&self) -> Line {
        match self {
            Constraint::Location(c) => c.line,
            Constraint::Colocation(c) => c.line,
            Constraint::Order(c) => c.line,
            Constraint::Ticket(c) => c.line,
        }
    }

    pub fn resource_sets(&self) -> &[ResourceSet] {
        match self {
            Constraint::Location(c) => &c.resource_sets,
            Constraint::Colocation(c) => &c.resource_sets,
            Constraint::Order(c) => &c.resource_sets,
            Constraint::Ticket(c) => &c.resource_sets,
        }
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Result<Constraint, RawElement> {
        Ok(match raw.name.as_str() {
            "rsc_location" => Constraint::Location(Location::read(cx, raw)),
            "rsc_colocation" => Constraint::Colocation(Colocation::read(cx, raw)),
            "rsc_order" => Constraint::Order(Order::read(cx, raw)),
            "rsc_ticket" => Constraint::Ticket(Ticket::read(cx, raw)),
            _ => return Err(raw),
        })
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        match self {
            Constraint::Location(c) => c.write(wx),
            Constraint::Colocation(c) => c.write(wx),
            Constraint::Order(c) => c.write(wx),
            Constraint::Ticket(c) => c.write(wx),
        }
    }
}

/// Reads the `resource_set` children (and, for locations, `rule`s); the rest is unknown.
fn read_children(
    cx: &mut Cx<'_>,
    el: &mut El,
    sets: &mut Vec<ResourceSet>,
    mut rules: Option<&mut Vec<Rule>>,
    unknown: &mut Vec<RawElement>,
) {
    for child in el.children(cx) {
        match (child.name.as_str(), rules.as_deref_mut()) {
            ("resource_set", _) => sets.push(ResourceSet::read(cx, child)),
            ("rule", Some(rules)) => rules.push(Rule::read(cx, child)),
            _ => unknown.push(cx.unknown_child(el, child)),
        }
    }
}

/// Reports a constraint that lacks what it needs to mean anything.
fn incomplete(cx: &mut Cx<'_>, el: &El, has_it: bool, what: &str) {
    if !has_it {
        el.report(
            cx,
            Severity::Error,
            format!("constraint needs {what}; Pacemaker ignores it as written (add them)"),
        );
    }
}

fn write_children(element: &mut RawElement, sets: &[ResourceSet], unknown: &[RawElement], wx: Wx) {
    for set in sets {
        element.push_child(set.write(wx));
    }
    push_unknown(element, unknown);
}

impl Location {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Location {
        let mut el = El::new(raw);
        let mut location = Location {
            line: el.line,
            id: el.required(cx, "id"),
            rsc: el.string("rsc"),
            rsc_pattern: el.string("rsc-pattern"),
            node: el.string("node"),
            score: el.score(cx, "score"),
            role: el.role(cx, "role"),
            resource_discovery: el.parsed(
                cx,
                "resource-discovery",
                "always, never or exclusive",
                ResourceDiscovery::parse,
            ),
            ..Location::default()
        };
        read_children(
            cx,
            &mut el,
            &mut location.resource_sets,
            Some(&mut location.rules),
            &mut location.unknown,
        );
        let has_target = location.rsc.is_some()
            || location.rsc_pattern.is_some()
            || !location.resource_sets.is_empty();
        incomplete(cx, &el, has_target, "rsc, rsc-pattern or a resource_set");
        let has_where =
            (location.node.is_some() && location.score.is_some()) || !location.rules.is_empty();
        incomplete(cx, &el, has_where, "node and score, or a rule");
        location.extra = el.finish();
        location
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("rsc_location");
        element.push_attr("id", self.id.clone());
        element.push_opt("rsc", self.rsc.as_ref());
        element.push_opt("rsc-pattern", self.rsc_pattern.as_ref());
        element.push_opt("node", self.node.as_ref());
        element.push_opt("score", self.score);
        element.push_opt("role", self.role.map(|role| wx.role(role)));
        element.push_opt("resource-discovery", self.resource_discovery);
        let mut element = finish_out(element, &self.extra);
        // The schema wants resource sets before rules.
        for set in &self.resource_sets {
            element.push_child(set.write(wx));
        }
        for rule in &self.rules {
            element.push_child(rule.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Colocation {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Colocation {
        let mut el = El::new(raw);
        let mut colocation = Colocation {
            line: el.line,
            id: el.required(cx, "id"),
            rsc: el.string("rsc"),
            with_rsc: el.string("with-rsc"),
            score: el.score(cx, "score"),
            rsc_role: el.role(cx, "rsc-role"),
            with_rsc_role: el.role(cx, "with-rsc-role"),
            node_attribute: el.string("node-attribute"),
            influence: el.bool(cx, "influence"),
            rsc_instance: el.string("rsc-instance"),
            with_rsc_instance: el.string("with-rsc-instance"),
            ..Colocation::default()
        };
        read_children(
            cx,
            &mut el,
            &mut colocation.resource_sets,
            None,
            &mut colocation.unknown,
        );
        let has_pair = colocation.rsc.is_some() && colocation.with_rsc.is_some();
        let has_sets = !colocation.resource_sets.is_empty();
        incomplete(
            cx,
            &el,
            has_pair || has_sets,
            "rsc and with-rsc, or resource_sets",
        );
        if colocation.score.is_none() && colocation.resource_sets.is_empty() {
            el.report(
                cx,
                Severity::Warning,
                "colocation without a score counts as score 0 and does nothing \
                 (add score=\"...\")"
                    .to_owned(),
            );
        }
        colocation.extra = el.finish();
        colocation
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("rsc_colocation");
        element.push_attr("id", self.id.clone());
        element.push_opt("rsc", self.rsc.as_ref());
        element.push_opt("with-rsc", self.with_rsc.as_ref());
        element.push_opt("score", self.score);
        element.push_opt("rsc-role", self.rsc_role.map(|role| wx.role(role)));
        element.push_opt(
            "with-rsc-role",
            self.with_rsc_role.map(|role| wx.role(role)),
        );
        element.push_opt("node-attribute", self.node_attribute.as_ref());
        element.push_opt("influence", self.influence);
        element.push_opt("rsc-instance", self.rsc_instance.as_ref());
        element.push_opt("with-rsc-instance", self.with_rsc_instance.as_ref());
        let mut element = finish_out(element, &self.extra);
        write_children(&mut element, &self.resource_sets, &self.unknown, wx);
        element
    }
}

impl Order {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Order {
        let mut el = El::new(raw);
        let actions = "start, stop, promote or demote";
        let mut order = Order {
            line: el.line,
            id: el.required(cx, "id"),
            first: el.string("first"),
            then: el.string("then"),
            first_action: el.parsed(cx, "first-action", actions, RscAction::parse),
            then_action: el.parsed(cx, "then-action", actions, RscAction::parse),
            kind: el.parsed(
                cx,
                "kind",
                "Mandatory, Optional or Serialize",
                OrderKind::parse,
            ),
            score: el.score(cx, "score"),
            symmetrical: el.bool(cx, "symmetrical"),
            require_all: el.bool(cx, "require-all"),
            ..Order::default()
        };
        read_children(
            cx,
            &mut el,
            &mut order.resource_sets,
            None,
            &mut order.unknown,
        );
        let has_pair = order.first.is_some() && order.then.is_some();
        let has_sets = !order.resource_sets.is_empty();
        incomplete(
            cx,
            &el,
            has_pair || has_sets,
            "first and then, or resource_sets",
        );
        order.extra = el.finish();
        order
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("rsc_order");
        element.push_attr("id", self.id.clone());
        element.push_opt("first", self.first.as_ref());
        element.push_opt("then", self.then.as_ref());
        element.push_opt("first-action", self.first_action);
        element.push_opt("then-action", self.then_action);
        element.push_opt("kind", self.kind);
        element.push_opt("score", self.score);
        element.push_opt("symmetrical", self.symmetrical);
        element.push_opt("require-all", self.require_all);
        let mut element = finish_out(element, &self.extra);
        write_children(&mut element, &self.resource_sets, &self.unknown, wx);
        element
    }
}

impl Ticket {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Ticket {
        let mut el = El::new(raw);
        let mut ticket = Ticket {
            line: el.line,
            id: el.required(cx, "id"),
            ticket: el.required(cx, "ticket"),
            rsc: el.string("rsc"),
            rsc_role: el.role(cx, "rsc-role"),
            loss_policy: el.parsed(
                cx,
                "loss-policy",
                "stop, demote, fence or freeze",
                LossPolicy::parse,
            ),
            ..Ticket::default()
        };
        read_children(
            cx,
            &mut el,
            &mut ticket.resource_sets,
            None,
            &mut ticket.unknown,
        );
        let has_target = ticket.rsc.is_some() || !ticket.resource_sets.is_empty();
        incomplete(cx, &el, has_target, "rsc or a resource_set");
        ticket.extra = el.finish();
        ticket
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("rsc_ticket");
        element.push_attr("id", self.id.clone());
        element.push_attr("ticket", self.ticket.clone());
        element.push_opt("rsc", self.rsc.as_ref());
        element.push_opt("rsc-role", self.rsc_role.map(|role| wx.role(role)));
        element.push_opt("loss-policy", self.loss_policy);
        let mut element = finish_out(element, &self.extra);
        write_children(&mut element, &self.resource_sets, &self.unknown, wx);
        element
    }
}

impl ResourceSet {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> ResourceSet {
        let mut el = El::new(raw);
        let mut set = ResourceSet {
            line: el.line,
            id: el.string("id"),
            id_ref: el.string("id-ref"),
            sequential: el.bool(cx, "sequential"),
            require_all: el.bool(cx, "require-all"),
            ordered: el.bool(cx, "ordered"),
            action: el.parsed(
                cx,
                "action",
                "start, stop, promote or demote",
                RscAction::parse,
            ),
            role: el.role(cx, "role"),
            score: el.score(cx, "score"),
            kind: el.parsed(
                cx,
                "kind",
                "Mandatory, Optional or Serialize",
                OrderKind::parse,
            ),
            ..ResourceSet::default()
        };
        for child in el.children(cx) {
            if child.name == "resource_ref" {
                let mut reference = El::new(child);
                let (id, is_id_ref) = match reference.string("id") {
                    Some(id) => (id, false),
                    None => match reference.string("id-ref") {
                        Some(id) => (id, true),
                        None => (reference.required(cx, "id"), false),
                    },
                };
                let line = reference.line;
                set.unknown.extend(reference.unknown_children(cx));
                set.resources.push(ResourceRef {
                    line,
                    id,
                    is_id_ref,
                    extra: reference.finish(),
                });
            } else {
                set.unknown.push(cx.unknown_child(&el, child));
            }
        }
        set.extra = el.finish();
        set
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("resource_set");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        element.push_opt("sequential", self.sequential);
        element.push_opt("require-all", self.require_all);
        element.push_opt("ordered", self.ordered);
        element.push_opt("action", self.action);
        element.push_opt("role", self.role.map(|role| wx.role(role)));
        element.push_opt("score", self.score);
        element.push_opt("kind", self.kind);
        let mut element = finish_out(element, &self.extra);
        for reference in &self.resources {
            let mut child = out("resource_ref");
            child.push_attr(
                if reference.is_id_ref { "id-ref" } else { "id" },
                reference.id.clone(),
            );
            element.push_child(finish_out(child, &reference.extra));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}
