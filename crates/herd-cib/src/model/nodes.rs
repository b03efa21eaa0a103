//! The `nodes` section: cluster members, remote nodes and ping nodes with their attributes.
//!
//! Node attributes stay nvpair sets (they may carry rules such as per-time standby); the
//! scheduler evaluates them. No I/O.

use crate::dom::{Attrs, Line, RawElement};
use crate::model::nvset::{NvSet, first_value};
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};
use crate::values::NodeType;

/// A `node` of the configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    pub line: Line,
    pub id: String,
    pub uname: String,
    /// `None` when absent (a member).
    pub node_type: Option<NodeType>,
    pub description: Option<String>,
    pub instance_attributes: Vec<NvSet>,
    pub utilization: Vec<NvSet>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl Node {
    /// The node's kind, member unless said otherwise.
    pub fn kind(&self) -> NodeType {
        self.node_type.unwrap_or(NodeType::Member)
    }

    /// Attribute `name` from the first set that has it, rules ignored.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        first_value(&self.instance_attributes, name)
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> Node {
        let mut el = El::new(raw);
        let mut node = Node {
            line: el.line,
            id: el.required(cx, "id"),
            uname: el.required(cx, "uname"),
            node_type: el.parsed(cx, "type", "member, remote or ping", NodeType::parse),
            description: el.string("description"),
            ..Node::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "instance_attributes" => node.instance_attributes.push(NvSet::read(cx, child)),
                "utilization" => node.utilization.push(NvSet::read(cx, child)),
                _ => node.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        node.extra = el.finish();
        node
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        let mut element = out("node");
        element.push_attr("id", self.id.clone());
        element.push_attr("uname", self.uname.clone());
        element.push_opt("type", self.node_type);
        element.push_opt("description", self.description.as_ref());
        let mut element = finish_out(element, &self.extra);
        for set in self.instance_attributes.iter().chain(&self.utilization) {
            element.push_child(set.write(wx));
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}
