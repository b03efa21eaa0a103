//! Name/value sets: `instance_attributes`, `meta_attributes`, `utilization`,
//! `cluster_property_set` and the sets inside `transient_attributes`, with their nvpairs.
//!
//! A set may carry a rule (evaluated by the scheduler, not here), a score that orders it
//! against sibling sets, or an `id-ref` to a set defined elsewhere. No I/O.

use herd_types::Score;

use crate::dom::{Attrs, Line, RawElement};
use crate::error::Severity;
use crate::model::rules::Rule;
use crate::read::{Cx, El, Wx, finish_out, out, push_unknown};

/// One set of nvpairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NvSet {
    pub line: Line,
    /// The element name, e.g. `meta_attributes`; written back as is.
    pub element: String,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    /// Orders sets of the same kind: higher first (Pacemaker's set precedence).
    pub score: Option<Score>,
    /// The set applies only when the rule holds (several rules all must hold).
    pub rules: Vec<Rule>,
    pub nvpairs: Vec<NvPair>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

/// One `nvpair`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NvPair {
    pub line: Line,
    pub id: Option<String>,
    pub id_ref: Option<String>,
    /// Empty only for a pure `id-ref` pair.
    pub name: String,
    /// `None` means the pair unsets the name.
    pub value: Option<String>,
    pub extra: Attrs,
    pub unknown: Vec<RawElement>,
}

impl NvSet {
    /// The value of the first nvpair called `name` (rules not evaluated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.nvpairs
            .iter()
            .find(|pair| pair.name == name)
            .and_then(|pair| pair.value.as_deref())
    }

    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> NvSet {
        let mut el = El::new(raw);
        let id = el.string("id");
        let id_ref = el.string("id-ref");
        if id.is_none() && id_ref.is_none() {
            el.report(
                cx,
                Severity::Warning,
                "set has neither id nor id-ref (add an id)".to_owned(),
            );
        }
        let score = el.score(cx, "score");
        let mut set = NvSet {
            line: el.line,
            element: el.name.clone(),
            id,
            id_ref,
            score,
            ..NvSet::default()
        };
        for child in el.children(cx) {
            match child.name.as_str() {
                "nvpair" => set.nvpairs.push(NvPair::read(cx, child)),
                "rule" => set.rules.push(Rule::read(cx, child)),
                _ => set.unknown.push(cx.unknown_child(&el, child)),
            }
        }
        set.extra = el.finish();
        set
    }

    pub(crate) fn write(&self, wx: Wx) -> RawElement {
        let mut element = out(&self.element);
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        element.push_opt("score", self.score);
        let mut element = finish_out(element, &self.extra);
        for rule in &self.rules {
            element.push_child(rule.write(wx));
        }
        for pair in &self.nvpairs {
            element.push_child(pair.write());
        }
        push_unknown(&mut element, &self.unknown);
        element
    }
}

impl NvPair {
    pub(crate) fn read(cx: &mut Cx<'_>, raw: RawElement) -> NvPair {
        let mut el = El::new(raw);
        let id = el.string("id");
        let id_ref = el.string("id-ref");
        let name = match el.string("name") {
            Some(name) => name,
            None if id_ref.is_some() => String::new(),
            None => {
                el.report(
                    cx,
                    Severity::Error,
                    "nvpair has no name, ignored (add name=\"...\")".to_owned(),
                );
                String::new()
            }
        };
        let value = el.string("value");
        let mut pair = NvPair {
            line: el.line,
            id,
            id_ref,
            name,
            value,
            ..NvPair::default()
        };
        for child in el.children(cx) {
            pair.unknown.push(cx.unknown_child(&el, child));
        }
        pair.extra = el.finish();
        pair
    }

    pub(crate) fn write(&self) -> RawElement {
        let mut element = out("nvpair");
        element.push_opt("id", self.id.as_ref());
        element.push_opt("id-ref", self.id_ref.as_ref());
        if !self.name.is_empty() {
            element.push_attr("name", self.name.clone());
        }
        element.push_opt("value", self.value.as_ref());
        let mut element = finish_out(element, &self.extra);
        push_unknown(&mut element, &self.unknown);
        element
    }
}

/// Reads the sets of a section such as `crm_config` or `rsc_defaults` (any child element is
/// a set; the element name is kept).
pub(crate) fn read_sets(
    cx: &mut Cx<'_>,
    el: &mut El,
    accept: &[&str],
) -> (Vec<NvSet>, Vec<RawElement>) {
    let mut sets = Vec::new();
    let mut unknown = Vec::new();
    for child in el.children(cx) {
        if accept.contains(&child.name.as_str()) {
            sets.push(NvSet::read(cx, child));
        } else {
            unknown.push(cx.unknown_child(el, child));
        }
    }
    (sets, unknown)
}

/// Looks `name` up in `sets`, first set first, ignoring rules.
pub fn first_value<'a>(sets: &'a [NvSet], name: &str) -> Option<&'a str> {
    sets.iter().find_map(|set| set.get(name))
}
