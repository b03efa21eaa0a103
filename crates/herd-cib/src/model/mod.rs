//! The typed CIB: [`Cib`] with its `configuration` and `status`, read from and written to the
//! raw tree of [`crate::dom`].
//!
//! Every typed element keeps its source line, its unknown attributes (`extra`) and its unknown
//! children (`unknown`, in order), so writing a model back loses nothing the model does not
//! mean. Comments are not kept in typed elements. No I/O.

pub mod bundle;
pub mod constraints;
pub mod nodes;
pub mod nvset;
pub mod resources;
pub mod rules;
pub mod status;

use crate::dom::{Attrs, Line, RawElement, RawNode};
use crate::error::Severity;
use crate::model::constraints::Constraint;
use crate::model::nodes::Node;
use crate::model::nvset::{NvSet, first_value, read_sets};
use crate::model::resources::Resource;
use crate::model::status::Status;
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::parse_bool;

/// A whole CIB document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cib {
    pub line: Line,
    /// The schema, e.g. `pacemaker-3.7`.
    pub validate_with: Option<String>,
    pub admin_epoch: Option<u64>,
    pub epoch: Option<u64>,
    pub num_updates: Option<u64>,
    pub have_quorum: Option<bool>,
    pub dc_uuid: Option<String>,
    /// Seconds since the epoch that stand for "now" when the document was recorded.
    pub execution_date: Option<i64>,
    pub crm_feature_set: Option<String>,
    pub cib_last_written: Option<String>,
    pub update_origin: Option<String>,
    pub update_client: Option<String>,
    pub update_user: Option<String>,
    pub configuration: Configuration,
    pub status: Status,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// The `configuration` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configuration {
    pub line: Line,
    /// `cluster_property_set`s of `crm_config`.
    pub crm_config: Section<NvSet>,
    /// `meta_attributes` of `rsc_defaults`.
    pub rsc_defaults: Section<NvSet>,
    /// `meta_attributes` of `op_defaults`.
    pub op_defaults: Section<NvSet>,
    pub nodes: Section<Node>,
    pub resources: Section<Resource>,
    pub constraints: Section<Constraint>,
    pub tags: Section<Tag>,
    pub fencing_topology: Section<FencingLevel>,
    /// Kept as written; the scheduler does not need them.
    pub acls: Option<RawElement>,
    pub alerts: Option<RawElement>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A section element (`nodes`, `resources`, ...) with its items in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section<T> {
    pub line: Line,
    /// Whether the element was in the document (sections that are absent are not written).
    pub present: bool,
    pub items: Vec<T>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl<T> Default for Section<T> {
    fn default() -> Section<T> {
        Section {
            line: Line::default(),
            present: false,
            items: Vec::new(),
            extra: Attrs::default(),
            unknown: Vec::new(),
        }
    }
}

impl<T> std::ops::Deref for Section<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

/// A `tag`: a name for a list of resources (or other ids), usable in constraints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    pub line: Line,
    pub id: String,
    /// The ids of the `obj_ref` children, in order.
    pub refs: Vec<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// A `fencing-level`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FencingLevel {
    pub line: Line,
    pub id: String,
    pub index: Option<u32>,
    pub target: Option<String>,
    pub target_pattern: Option<String>,
    pub target_attribute: Option<String>,
    pub target_value: Option<String>,
    /// The fencing devices, from the comma-separated `devices`.
    pub devices: Vec<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl Cib {
    /// Cluster property `name` from the first set that has it (rules not evaluated).
    pub fn cluster_property(&self, name: &str) -> Option<&str> {
        first_value(&self.configuration.crm_config, name)
    }

    /// The resource with `id` among the top-level resources (not inside groups or clones).
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.configuration.resources.iter().find(|r| r.id() == id)
    }

    /// The configured node with `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.configuration.nodes.iter().find(|node| node.id == id)
    }

    /// Whether the schema predates the `Promoted`/`Unpromoted` role names (pacemaker-3.7).
    pub fn uses_legacy_roles(&self) -> bool {
        let Some(schema) = self.validate_with.as_deref() else {
            return true;
        };
        let Some(version) = schema.strip_prefix("pacemaker-") else {
            return false;
        };
        let mut parts = version
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        (major, minor) < (3, 7)
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Cib {
        let mut el = El::new(raw);
        let mut cib = Cib {
            line: el.line,
            validate_with: el.string("validate-with"),
            admin_epoch: el.int(cx, "admin_epoch"),
            epoch: el.int(cx, "epoch"),
            num_updates: el.int(cx, "num_updates"),
            have_quorum: el.bool(cx, "have-quorum"),
            dc_uuid: el.string("dc-uuid"),
            execution_date: el.int(cx, "execution-date"),
            crm_feature_set: el.string("crm_feature_set"),
            cib_last_written: el.string("cib-last-written"),
            update_origin: el.string("update-origin"),
            update_client: el.string("update-client"),
            update_user: el.string("update-user"),
            ..Cib::default()
        };
        let mut seen_configuration = false;
        for child in el.children(cx) {
            match child.name.as_str() {
                "configuration" if !seen_configuration => {
                    seen_configuration = true;
                    cib.configuration = Configuration::read(cx, child);
                }
                "status" => cib.status = Status::read(cx, child),
                _ => cib.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        if !seen_configuration {
            el.report(
                cx,
                Severity::Error,
                "no <configuration> section, the cluster has no resources (add one)".to_owned(),
            );
        }
        cib.extra = el.finish();
        cib
    }

    pub(crate) fn write(&self) -> RawElement {
        let wx = Wx {
            legacy_roles: self.uses_legacy_roles(),
        };
        let mut element = out("cib");
        element.push_opt("validate-with", self.validate_with.as_ref());
        element.push_opt("admin_epoch", self.admin_epoch);
        element.push_opt("epoch", self.epoch);
        element.push_opt("num_updates", self.num_updates);
        element.push_opt("have-quorum", self.have_quorum);
        element.push_opt("dc-uuid", self.dc_uuid.as_ref());
        element.push_opt("execution-date", self.execution_date);
        element.push_opt("crm_feature_set", self.crm_feature_set.as_ref());
        element.push_opt("cib-last-written", self.cib_last_written.as_ref());
        element.push_opt("update-origin", self.update_origin.as_ref());
        element.push_opt("update-client", self.update_client.as_ref());
        element.push_opt("update-user", self.update_user.as_ref());
        let mut element = finish_out(element, &self.extra);
        element.push_child(self.configuration.write(wx));
        element.push_child(self.status.write(wx));
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl Configuration {
    fn read(cx: &mut Cx<'_>, raw: RawElement) -> Configuration {
        let mut el = El::new(raw);
        let mut config = Configuration {
            line: el.line,
            ..Configuration::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "crm_config" => {
                    config.crm_config = read_set_section(cx, child, "cluster_property_set")
                }
                "rsc_defaults" => {
                    config.rsc_defaults = read_set_section(cx, child, "meta_attributes")
                }
                "op_defaults" => {
                    config.op_defaults = read_set_section(cx, child, "meta_attributes")
                }
                "nodes" => {
                    config.nodes = read_section(cx, child, |cx, raw| match raw.name.as_str() {
                        "node" => Ok(Node::read(cx, raw)),
                        _ => Err(raw),
                    })
                }
                "resources" => config.resources = read_section(cx, child, Resource::read),
                "constraints" => config.constraints = read_section(cx, child, Constraint::read),
                "tags" => config.tags = read_section(cx, child, read_tag),
                "fencing-topology" => {
                    config.fencing_topology = read_section(cx, child, read_fencing_level);
                }
                "acls" if config.acls.is_none() => config.acls = Some(child),
                "alerts" if config.alerts.is_none() => config.alerts = Some(child),
                _ => config.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        config.extra = el.finish();
        config
    }

    fn write(&self, wx: Wx) -> RawElement {
        let mut element = finish_out(out("configuration"), &self.extra);
        let sets = |set: &NvSet| set.write(wx);
        push_section(&mut element, "crm_config", &self.crm_config, sets);
        push_section(&mut element, "rsc_defaults", &self.rsc_defaults, sets);
        push_section(&mut element, "op_defaults", &self.op_defaults, sets);
        push_section(&mut element, "nodes", &self.nodes, |node| node.write(wx));
        push_section(&mut element, "resources", &self.resources, |r| r.write(wx));
        push_section(&mut element, "constraints", &self.constraints, |c| {
            c.write(wx)
        });
        push_section(
            &mut element,
            "fencing-topology",
            &self.fencing_topology,
            write_fencing_level,
        );
        push_section(&mut element, "tags", &self.tags, write_tag);
        for raw in self.acls.iter().chain(&self.alerts) {
            element.push_child(raw.clone());
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

/// Writes a section if the document had it or it has content.
fn push_section<T>(
    parent: &mut RawElement,
    name: &str,
    section: &Section<T>,
    write_item: impl FnMut(&T) -> RawElement,
) {
    if section.present || !section.items.is_empty() || !section.unknown.is_empty() {
        parent.push_child(write_section(name, section, write_item));
    }
}

fn read_set_section(cx: &mut Cx<'_>, raw: RawElement, set_name: &str) -> Section<NvSet> {
    let mut el = El::new(raw);
    let (items, unknown) = read_sets(cx, &mut el, &[set_name]);
    Section {
        line: el.line,
        present: true,
        items,
        unknown,
        extra: el.finish(),
    }
}

fn read_section<T>(
    cx: &mut Cx<'_>,
    raw: RawElement,
    mut read_item: impl FnMut(&mut Cx<'_>, RawElement) -> Result<T, RawElement>,
) -> Section<T> {
    let mut el = El::new(raw);
    let mut section = Section {
        line: el.line,
        present: true,
        ..Section::default()
    };
    for child in el.children(cx) {
        match read_item(cx, child) {
            Ok(item) => section.items.push(item),
            Err(child) => section.unknown.push(cx.unknown_child(&el, child)),
        }
    }
    section.extra = el.finish();
    section
}

fn write_section<T>(
    name: &str,
    section: &Section<T>,
    mut write_item: impl FnMut(&T) -> RawElement,
) -> RawElement {
    let mut element = finish_out(out(name), &section.extra);
    element
        .children
        .reserve(section.items.len() + section.unknown.len());
    for item in &section.items {
        element.children.push(RawNode::Element(write_item(item)));
    }
    push_unknown(&mut element, &section.unknown);
    element
}

fn read_tag(cx: &mut Cx<'_>, raw: RawElement) -> Result<Tag, RawElement> {
    if raw.name != "tag" {
        return Err(raw);
    }
    let mut el = El::new(raw);
    let mut tag = Tag {
        line: el.line,
        id: el.required(cx, "id"),
        ..Tag::default()
    };
    for child in el.children(cx) {
        if child.name == "obj_ref" {
            let mut reference = El::new(child);
            tag.refs.push(reference.required(cx, "id"));
            tag.unknown.extend(reference.unknown_children(cx));
            if !reference.finish().is_empty() {
                el.report(
                    cx,
                    Severity::Note,
                    "obj_ref has attributes besides id; they are not kept".to_owned(),
                );
            }
        } else {
            tag.unknown.push(cx.unknown_child(&el, child));
        }
    }
    tag.extra = el.finish();
    Ok(tag)
}

fn write_tag(tag: &Tag) -> RawElement {
    let mut element = out("tag");
    element.push_attr("id", tag.id.clone());
    let mut element = finish_out(element, &tag.extra);
    for id in &tag.refs {
        let mut child = out("obj_ref");
        child.push_attr("id", id.clone());
        element.push_child(child);
    }
    push_unknown(&mut element, &tag.unknown);
    element
}

fn read_fencing_level(cx: &mut Cx<'_>, raw: RawElement) -> Result<FencingLevel, RawElement> {
    if raw.name != "fencing-level" {
        return Err(raw);
    }
    let mut el = El::new(raw);
    let level = FencingLevel {
        line: el.line,
        id: el.required(cx, "id"),
        index: el.int(cx, "index"),
        target: el.string("target"),
        target_pattern: el.string("target-pattern"),
        target_attribute: el.string("target-attribute"),
        target_value: el.string("target-value"),
        devices: el
            .required(cx, "devices")
            .split(',')
            .map(str::trim)
            .filter(|device| !device.is_empty())
            .map(str::to_owned)
            .collect(),
        extra: Attrs::default(),
        unknown: Vec::new(),
    };
    let unknown = el.unknown_children(cx);
    Ok(FencingLevel {
        extra: el.finish(),
        unknown,
        ..level
    })
}

fn write_fencing_level(level: &FencingLevel) -> RawElement {
    let mut element = out("fencing-level");
    element.push_attr("id", level.id.clone());
    element.push_opt("index", level.index);
    element.push_opt("target", level.target.as_ref());
    element.push_opt("target-pattern", level.target_pattern.as_ref());
    element.push_opt("target-attribute", level.target_attribute.as_ref());
    element.push_opt("target-value", level.target_value.as_ref());
    element.push_attr("devices", level.devices.join(","));
    let mut element = finish_out(element, &level.extra);
    push_unknown(&mut element, &level.unknown);
    element
}

/// Whether `text` is a Pacemaker "true" (for callers holding raw nvpair values).
pub fn is_true(text: Option<&str>) -> bool {
    text.and_then(parse_bool).unwrap_or(false)
}
