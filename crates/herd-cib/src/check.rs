//! Whole-document checks that need more than one element: duplicate ids in the
//! configuration and constraints or primitives that name resources that do not exist.
//!
//! Each finding is a diagnostic; nothing is removed from the model (the scheduler decides
//! what to ignore, as Pacemaker does). No I/O.

use std::collections::{HashMap, HashSet};

use crate::dom::{Line, RawElement, RawNode};
use crate::error::Severity;
use crate::model::Cib;
use crate::model::constraints::Constraint;
use crate::model::resources::Resource;
use crate::read::Cx;

/// Reports ids defined twice inside `configuration` (the raw tree, before typing). Elements
/// whose `id` is a reference (`resource_ref`, `obj_ref`), node ids (a remote node shares its
/// id with its connection resource) and the ACL section are skipped.
pub(crate) fn duplicate_ids(cx: &mut Cx<'_>, root: &RawElement) {
    let Some(configuration) = root.elements().find(|e| e.name == "configuration") else {
        return;
    };
    let mut first_line: HashMap<&str, Line> = HashMap::new();
    let mut pending = vec![configuration];
    while let Some(element) = pending.pop() {
        if element.name == "acls" {
            continue;
        }
        if !matches!(element.name.as_str(), "resource_ref" | "obj_ref" | "node")
            && let Some(id) = element.attrs.get("id")
        {
            if let Some(line) = first_line.get(id) {
                cx.report(
                    Severity::Error,
                    element.line,
                    &element.name,
                    Some(id),
                    format!(
                        "id {id:?} is already used on line {}; Pacemaker rejects such a CIB \
                         (give each element its own id)",
                        line.0
                    ),
                );
            } else {
                first_line.insert(id, element.line);
            }
        }
        // Children pushed in reverse so that the walk follows document order.
        for child in element.children.iter().rev() {
            if let RawNode::Element(child) = child {
                pending.push(child);
            }
        }
    }
}

/// Reports constraints, tags and primitives that name resources, templates or tags that do
/// not exist.
pub(crate) fn references(cx: &mut Cx<'_>, cib: &Cib) {
    let config = &cib.configuration;
    let mut known: HashSet<&str> = HashSet::new();
    let mut templates: HashSet<&str> = HashSet::new();
    for resource in config.resources.iter() {
        collect_ids(resource, &mut known, &mut templates);
    }
    for tag in config.tags.iter() {
        known.insert(&tag.id);
    }
    for resource in config.resources.iter() {
        for primitive in resource.primitives() {
            if let Some(template) = &primitive.template
                && !templates.contains(template.as_str())
            {
                cx.report(
                    Severity::Error,
                    primitive.line,
                    "primitive",
                    Some(&primitive.id),
                    format!("template {template:?} does not exist (define it or fix the name)"),
                );
            }
        }
    }
    for constraint in config.constraints.iter() {
        let (element, named) = referenced(constraint);
        for (attribute, id) in named {
            if !known.contains(id) {
                cx.report(
                    Severity::Warning,
                    constraint.line(),
                    element,
                    Some(constraint.id()),
                    format!(
                        "{attribute} {id:?} names no resource, template or tag; the constraint \
                         does not apply to it (define it or fix the name)"
                    ),
                );
            }
        }
    }
}

fn collect_ids<'a>(
    resource: &'a Resource,
    known: &mut HashSet<&'a str>,
    templates: &mut HashSet<&'a str>,
) {
    known.insert(resource.id());
    match resource {
        Resource::Template(template) => {
            templates.insert(&template.id);
        }
        Resource::Group(group) => {
            for member in &group.members {
                known.insert(&member.id);
            }
        }
        Resource::Clone(clone) => {
            if let Some(child) = &clone.child {
                collect_ids(child, known, templates);
            }
        }
        Resource::Bundle(bundle) => {
            if let Some(primitive) = &bundle.primitive {
                known.insert(&primitive.id);
            }
        }
        Resource::Primitive(_) => {}
    }
}

/// The element name and the (attribute, id) pairs a constraint refers to.
fn referenced(constraint: &Constraint) -> (&'static str, Vec<(&'static str, &str)>) {
    let mut named = Vec::new();
    let element = match constraint {
        Constraint::Location(c) => {
            named.extend(c.rsc.as_deref().map(|id| ("rsc", id)));
            "rsc_location"
        }
        Constraint::Colocation(c) => {
            named.extend(c.rsc.as_deref().map(|id| ("rsc", id)));
            named.extend(c.with_rsc.as_deref().map(|id| ("with-rsc", id)));
            "rsc_colocation"
        }
        Constraint::Order(c) => {
            named.extend(c.first.as_deref().map(|id| ("first", id)));
            named.extend(c.then.as_deref().map(|id| ("then", id)));
            "rsc_order"
        }
        Constraint::Ticket(c) => {
            named.extend(c.rsc.as_deref().map(|id| ("rsc", id)));
            "rsc_ticket"
        }
    };
    for set in constraint.resource_sets() {
        for reference in &set.resources {
            named.push(("resource_ref", reference.id.as_str()));
        }
    }
    (element, named)
}
