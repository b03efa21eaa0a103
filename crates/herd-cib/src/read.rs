//! The reading toolkit shared by the model modules: attribute takers that parse typed values
//! and turn bad ones into diagnostics, and the diagnostic sink.
//!
//! Each model module reads its elements with [`El`]: take the attributes it knows (parsed),
//! take its children, and whatever is left becomes the element's unknown attributes. No I/O.

use herd_types::Score;

use crate::dom::{Attrs, Line, RawElement, RawNode};
use crate::error::{Diagnostic, Severity};
use crate::values::{Role, parse_bool, parse_interval_ms};

/// Collects diagnostics for one document.
pub(crate) struct Cx<'a> {
    pub(crate) file: &'a str,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(file: &'a str) -> Cx<'a> {
        Cx {
            file,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn report(
        &mut self,
        severity: Severity,
        line: Line,
        element: &str,
        id: Option<&str>,
        message: String,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.to_owned(),
            line: line.0,
            element: element.to_owned(),
            id: id.map(str::to_owned),
            message,
        });
    }

    /// Keeps `child` as raw and says that `parent` does not know it.
    pub(crate) fn unknown_child(&mut self, parent: &El, child: RawElement) -> RawElement {
        self.report(
            Severity::Warning,
            child.line,
            &child.name,
            child.attrs.get("id"),
            format!(
                "unknown element inside <{}>; it is kept as written but ignored \
                 (check the spelling or the schema version)",
                parent.name
            ),
        );
        child
    }
}

/// One element being read: attributes are taken out as the model claims them.
pub(crate) struct El {
    pub(crate) name: String,
    pub(crate) line: Line,
    /// The `id` attribute, copied for diagnostics.
    pub(crate) diag_id: Option<String>,
    attrs: Attrs,
    rejected: Vec<(String, String)>,
    children: Vec<RawNode>,
}

impl El {
    pub(crate) fn new(raw: RawElement) -> El {
        El {
            diag_id: raw.attrs.get("id").map(str::to_owned),
            name: raw.name,
            line: raw.line,
            attrs: raw.attrs,
            rejected: Vec::new(),
            children: raw.children,
        }
    }

    pub(crate) fn report(&self, cx: &mut Cx<'_>, severity: Severity, message: String) {
        cx.report(
            severity,
            self.line,
            &self.name,
            self.diag_id.as_deref(),
            message,
        );
    }

    /// Takes a plain string attribute.
    pub(crate) fn string(&mut self, name: &str) -> Option<String> {
        self.attrs.take(name)
    }

    /// Takes an attribute that must be present, reporting when it is not.
    pub(crate) fn required(&mut self, cx: &mut Cx<'_>, name: &str) -> String {
        match self.attrs.take(name) {
            Some(value) => value,
            None => {
                self.report(
                    cx,
                    Severity::Error,
                    format!("missing required attribute {name:?} (add it)"),
                );
                String::new()
            }
        }
    }

    /// Takes an attribute and parses it; bad text is reported and kept as unknown.
    pub(crate) fn parsed<T>(
        &mut self,
        cx: &mut Cx<'_>,
        name: &str,
        what: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let text = self.attrs.take(name)?;
        match parse(&text) {
            Some(value) => Some(value),
            None => {
                self.report(
                    cx,
                    Severity::Warning,
                    format!("invalid {name} {text:?}, ignored (use {what})"),
                );
                self.rejected.push((name.to_owned(), text));
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<bool> {
        self.parsed(cx, name, "true or false", parse_bool)
    }

    pub(crate) fn score(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<Score> {
        self.parsed(cx, name, "an integer or INFINITY", |text| {
            text.parse::<Score>().ok()
        })
    }

    pub(crate) fn interval_ms(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<u64> {
        self.parsed(
            cx,
            name,
            "seconds, a unit such as 10s, or PT10S",
            parse_interval_ms,
        )
    }

    pub(crate) fn role(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<Role> {
        self.parsed(
            cx,
            name,
            "Started, Stopped, Promoted or Unpromoted",
            Role::parse,
        )
    }

    pub(crate) fn int<T: std::str::FromStr>(&mut self, cx: &mut Cx<'_>, name: &str) -> Option<T> {
        self.parsed(cx, name, "an integer", |text| text.trim().parse().ok())
    }

    /// Takes the element children; stray text is reported, comments dropped.
    pub(crate) fn children(&mut self, cx: &mut Cx<'_>) -> Vec<RawElement> {
        let mut elements = Vec::with_capacity(self.children.len());
        for child in std::mem::take(&mut self.children) {
            match child {
                RawNode::Element(element) => elements.push(element),
                RawNode::Text(text) => self.report(
                    cx,
                    Severity::Warning,
                    format!("unexpected text {text:?} inside the element, ignored (remove it)"),
                ),
                RawNode::Comment(_) => {}
            }
        }
        elements
    }

    /// Takes the children of an element that should have none: each is reported and
    /// returned so that the model keeps it.
    pub(crate) fn unknown_children(&mut self, cx: &mut Cx<'_>) -> Vec<RawElement> {
        let children = self.children(cx);
        children
            .into_iter()
            .map(|child| cx.unknown_child(self, child))
            .collect()
    }

    /// The attributes nobody claimed, plus those whose value was rejected.
    pub(crate) fn finish(self) -> Attrs {
        let mut attrs = self.attrs;
        attrs.0.extend(self.rejected);
        attrs
    }
}

/// The writing side: a document-wide choice of spellings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wx {
    /// Write `Master`/`Slave` because the schema predates `Promoted`/`Unpromoted`.
    pub(crate) legacy_roles: bool,
}

impl Wx {
    pub(crate) fn role(self, role: Role) -> &'static str {
        if self.legacy_roles {
            role.legacy_str()
        } else {
            role.as_str()
        }
    }
}

/// Starts a raw element for writing with the given line.
pub(crate) fn out(name: &str) -> RawElement {
    RawElement::new(name)
}

/// Appends the unknown attributes after the known ones. An unknown attribute that has the
/// name of a known one (its text was rejected, so the typed field holds a default) replaces
/// it: the document keeps what it said.
pub(crate) fn finish_out(mut element: RawElement, extra: &Attrs) -> RawElement {
    for (name, value) in &extra.0 {
        match element.attrs.0.iter_mut().find(|(known, _)| known == name) {
            Some(slot) => slot.1.clone_from(value),
            None => element.attrs.0.push((name.clone(), value.clone())),
        }
    }
    element
}

/// Appends raw unknown children, in their order.
pub(crate) fn push_unknown(element: &mut RawElement, unknown: &[RawElement]) {
    element
        .children
        .extend(unknown.iter().cloned().map(RawNode::Element));
}
