//! The `resources` section: primitives, templates, groups, clones (and the legacy `master`),
//! bundles, and the operations of a resource.
//!
//! Typed so the scheduler can walk the tree without looking at XML; meta attributes stay
//! nvpair sets because their meaning depends on rules and defaults the scheduler applies.
//! No I/O.

use crate::dom::{Attrs, Line, RawElement};
use crate::error::Severity;
use crate::model::bundle::Bundle;
use crate::model::nvset::{NvSet, first_value};
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::{Role, format_interval_ms};

/// A node of the resource tree, in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    Primitive(Primitive),
    /// A `template`: a primitive that others reference with `template="id"`.
    Template(Primitive),
    Group(Group),
    /// A `clone`, or the legacy `master` (see [`Clone::legacy_master`]).
    Clone(Clone),
    /// Boxed: bundles are rare and large.
    Bundle(Box<Bundle>),
}

/// The sets every resource kind carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sets {
    pub instance_attributes: Vec<NvSet>,
    pub meta_attributes: Vec<NvSet>,
    pub utilization: Vec<NvSet>,
}

impl Sets {
    /// Meta attribute `name` from the first set that has it, rules ignored.
    pub fn meta(&self, name: &str) -> Option<&str> {
        first_value(&self.meta_attributes, name)
    }

    /// Instance attribute `name` from the first set that has it, rules ignored.
    pub fn instance(&self, name: &str) -> Option<&str> {
        first_value(&self.instance_attributes, name)
    }

    /// Takes the child if it is one of the three sets.
    pub(crate) fn read_child(&mut self, cx: &mut Cx<'_>, child: RawElement) -> Option<RawElement> {
        match child.name.as_str() {
            "instance_attributes" => self.instance_attributes.push(NvSet::read(cx, child)),
            "meta_attributes" => self.meta_attributes.push(NvSet::read(cx, child)),
            "utilization" => self.utilization.push(NvSet::read(cx, child)),
            _ => return Some(child),
        }
        None
    }

    pub(crate) fn write_into(&self, element: &mut RawElement, wx: Wx) {
        for set in self
            .meta_attributes
            .iter()
            .chain(&self.instance_attributes)
            .chain(&self.utilization)
        {
            element.push_child(set.write(wx));
        }
    }
}

/// A `primitive` (or `template`): one agent instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Primitive {
    pub line: Line,
    pub id: String,
    pub description: Option<String>,
    /// `ocf`, `lsb`, `systemd`, `stonith`, `service`, ... (absent when a template gives it).
    pub class: Option<String>,
    pub provider: Option<String>,
    pub agent_type: Option<String>,
    /// The id of the `template` this primitive inherits from.
    pub template: Option<String>,
    pub sets: Sets,
    pub operations: Operations,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// The `operations` element of a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Operations {
    pub line: Line,
    pub present: bool,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub ops: Vec<Op>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// An `op`: a configured action or recurring monitor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Op {
    pub line: Line,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    pub name: String,
    /// 0 for non-recurring actions (and when absent).
    pub interval_ms: u64,
    pub role: Option<Role>,
    pub timeout_ms: Option<u64>,
    pub on_fail: Option<String>,
    pub enabled: Option<bool>,
    pub start_delay_ms: Option<u64>,
    pub interval_origin: Option<String>,
    pub record_pending: Option<bool>,
    pub requires: Option<String>,
    pub description: Option<String>,
    pub meta_attributes: Vec<NvSet>,
    pub instance_attributes: Vec<NvSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `group`: members start in order and live on one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub line: Line,
    pub id: String,
    pub description: Option<String>,
    pub sets: Sets,
    pub members: Vec<Primitive>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `clone` or legacy `master`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clone {
    pub line: Line,
    pub id: String,
    pub description: Option<String>,
    /// Written as `<master>`: promotable whatever its meta attributes say.
    pub legacy_master: bool,
    pub sets: Sets,
    /// The cloned primitive or group; `None` only in a broken document (reported).
    pub child: Option<Box<Resource>>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl Resource {
    /// The resource's id.
    pub fn id(&self) -> &str {
        match self {
            Resource::Primitive(primitive) | Resource::Template(primitive) => &primitive.id,
            Resource::Group(group) => &group.id,
            Resource::Clone(clone) => &clone.id,
            Resource::Bundle(bundle) => &bundle.id,
        }
    }

    pub fn line(&self) -> Line {
        match self {
            Resource::Primitive(primitive) | Resource::Template(primitive) => primitive.line,
            Resource::Group(group) => group.line,
            Resource::Clone(clone) => clone.line,
            Resource::Bundle(bundle) => bundle.line,
        }
    }

    pub fn sets(&self) -> &Sets {
        match self {
            Resource::Primitive(primitive) | Resource::Template(primitive) => &primitive.sets,
            Resource::Group(group) => &group.sets,
            Resource::Clone(clone) => &clone.sets,
            Resource::Bundle(bundle) => &bundle.sets,
        }
    }

    /// Every primitive in this resource, in document order (a template is not one).
    pub fn primitives(&self) -> Vec<&Primitive> {
        match self {
            Resource::Primitive(primitive) => vec![primitive],
            Resource::Template(_) => Vec::new(),
            Resource::Group(group) => group.members.iter().collect(),
            Resource::Clone(clone) => clone
                .child
                .as_deref()
                .map(Resource::primitives)
                .unwrap_or_default(),
            Resource::Bundle(bundle) => bundle.primitive.iter().collect(),
        }
    }

    /// Reads one child of `resources`, `clone` or `master`; `None` if it is no resource.
    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Result<Resource, RawElement> {
        Ok(match raw.name.as_str() {
            "primitive" => Resource::Primitive(Primitive::read(cx, raw)),
            "template" => Resource::Template(Primitive::read(cx, raw)),
            "group" => Resource::Group(Group::read(cx, raw)),
            "clone" | "master" => Resource::Clone(Clone::read(cx, raw)),
            "bundle" => Resource::Bundle(Box::new(Bundle::read(cx, raw))),
            _ => return Err(raw),
        })
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        match self {
            Resource::Primitive(primitive) => primitive.write("primitive", wx),
            Resource::Template(template) => template.write("template", wx),
            Resource::Group(group) => group.write(wx),
            Resource::Clone(clone) => clone.write(wx),
            Resource::Bundle(bundle) => bundle.write(wx),
        }
    }
}

impl Primitive {
    /// `class:provider:type` as crm_simulate prints it (`ocf:pacemaker:Dummy`).
    pub fn agent(&self) -> String {
        let class = self.class.as_deref().unwrap_or("");
        let agent_type = self.agent_type.as_deref().unwrap_or("");
        match &self.provider {
            Some(provider) => format!("{class}:{provider}:{agent_type}"),
            None => format!("{class}:{agent_type}"),
        }
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Primitive {
        let mut el = El::new(raw);
        let mut primitive = Primitive {
            line: el.line,
            id: el.required(cx, "id"),
            description: el.string("description"),
            class: el.string("class"),
            provider: el.string("provider"),
            agent_type: el.string("type"),
            template: el.string("template"),
            ..Primitive::default()
        };
        if el.name == "primitive" && primitive.template.is_none() {
            if primitive.class.is_none() || primitive.agent_type.is_none() {
                el.report(
                    cx,
                    Severity::Error,
                    "primitive needs class and type, or a template (add them)".to_owned(),
                );
            }
            if primitive.class.as_deref() == Some("ocf") && primitive.provider.is_none() {
                el.report(
                    cx,
                    Severity::Error,
                    "ocf primitive without a provider (add provider=\"...\")".to_owned(),
                );
            }
        }
        for child in el.children(cx) {
            let Some(child) = primitive.sets.read_child(cx, child) else {
                continue;
            };
            if child.name == "operations" {
                primitive.operations = Operations::read(cx, child);
            } else {
                primitive.unknown.push(cx.unknown_child(&el, child));
            }
        }
        primitive.extra = el.finish();
        primitive
    }

    pub(crate) fn write(&self, name: &str, wx: Wx) -> RawElement {
        let mut element = out(name);
        element.push_attr("id", self.id.clone());
        element.push_opt("description", self.description.as_ref());
        element.push_opt("class", self.class.as_ref());
        element.push_opt("provider", self.provider.as_ref());
        element.push_opt("type", self.agent_type.as_ref());
        element.push_opt("template", self.template.as_ref());
        let mut element = finish_out(element, &self.extra);
        self.sets.write_into(&mut element, wx);
        if self.operations.present || !self.operations.ops.is_empty() {
            element.push_child(self.operations.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Operations {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Operations {
        let mut el = El::new(raw);
        let mut operations = Operations {
            line: el.line,
            present: true,
            id: el.string("id"),
            id_ref: el.string("id-ref"),
            ..Operations::default()
        };
        for child in el.children(cx) {
            if child.name == "op" {
                operations.ops.push(Op::read(cx, child));
            } else {
                operations.unknown.push(cx.unknown_child(&el, child));
            }
        }
        operations.extra = el.finish();
        operations
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("operations");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        let mut element = finish_out(element, &self.extra);
        for op in &self.ops {
            element.push_child(op.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Op {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Op {
        let mut el = El::new(raw);
        let mut op = Op {
            line: el.line,
            id: el.string("id"),
            id_ref: el.string("id-ref"),
            ..Op::default()
        };
        op.name = if op.id_ref.is_some() {
            el.string("name").unwrap_or_default()
        } else {
            el.required(cx, "name")
        };
        op.interval_ms = el.interval_ms(cx, "interval").unwrap_or(0);
        op.role = el.role(cx, "role");
        op.timeout_ms = el.interval_ms(cx, "timeout");
        op.on_fail = el.string("on-fail");
        op.enabled = el.bool(cx, "enabled");
        op.start_delay_ms = el.interval_ms(cx, "start-delay");
        op.interval_origin = el.string("interval-origin");
        op.record_pending = el.bool(cx, "record-pending");
        op.requires = el.string("requires");
        op.description = el.string("description");
        for child in el.children(cx) {
            match child.name.as_str() {
                "meta_attributes" => op.meta_attributes.push(NvSet::read(cx, child)),
                "instance_attributes" => op.instance_attributes.push(NvSet::read(cx, child)),
                _ => op.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        op.extra = el.finish();
        op
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("op");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        if !self.name.is_empty() {
            element.push_attr("name", self.name.clone());
        }
        element.push_attr("interval", format_interval_ms(self.interval_ms));
        element.push_opt("role", self.role.map(|role| wx.role(role)));
        element.push_opt("timeout", self.timeout_ms.map(format_interval_ms));
        element.push_opt("on-fail", self.on_fail.as_ref());
        element.push_opt("enabled", self.enabled);
        element.push_opt("start-delay", self.start_delay_ms.map(format_interval_ms));
        element.push_opt("interval-origin", self.interval_origin.as_ref());
        element.push_opt("record-pending", self.record_pending);
        element.push_opt("requires", self.requires.as_ref());
        element.push_opt("description", self.description.as_ref());
        let mut element = finish_out(element, &self.extra);
        for set in self.meta_attributes.iter().chain(&self.instance_attributes) {
            element.push_child(set.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Group {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Group {
        let mut el = El::new(raw);
        let mut group = Group {
            line: el.line,
            id: el.required(cx, "id"),
            description: el.string("description"),
            ..Group::default()
        };
        for child in el.children(cx) {
            let Some(child) = group.sets.read_child(cx, child) else {
                continue;
            };
            if child.name == "primitive" {
                group.members.push(Primitive::read(cx, child));
            } else {
                group.unknown.push(cx.unknown_child(&el, child));
            }
        }
        if group.members.is_empty() {
            el.report(
                cx,
                Severity::Warning,
                "group has no primitives (add some or remove it)".to_owned(),
            );
        }
        group.extra = el.finish();
        group
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("group");
        element.push_attr("id", self.id.clone());
        element.push_opt("description", self.description.as_ref());
        let mut element = finish_out(element, &self.extra);
        self.sets.write_into(&mut element, wx);
        for member in &self.members {
            element.push_child(member.write("primitive", wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Clone {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Clone {
        let mut el = El::new(raw);
        let mut clone = Clone {
            line: el.line,
            id: el.required(cx, "id"),
            description: el.string("description"),
            legacy_master: el.name == "master",
            ..Clone::default()
        };
        for child in el.children(cx) {
            let Some(child) = clone.sets.read_child(cx, child) else {
                continue;
            };
            let allowed = matches!(child.name.as_str(), "primitive" | "group");
            if allowed && clone.child.is_none() {
                if let Ok(resource) = Resource::read(cx, child) {
                    clone.child = Some(Box::new(resource));
                }
            } else {
                clone.unknown.push(cx.unknown_child(&el, child));
            }
        }
        if clone.child.is_none() {
            el.report(
                cx,
                Severity::Error,
                "clone has no primitive or group inside (add one)".to_owned(),
            );
        }
        clone.extra = el.finish();
        clone
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = out(if self.legacy_master {
            "master"
        } else {
            "clone"
        });
        element.push_attr("id", self.id.clone());
        element.push_opt("description", self.description.as_ref());
        let mut element = finish_out(element, &self.extra);
        self.sets.write_into(&mut element, wx);
        if let Some(child) = &self.child {
            element.push_child(child.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}
