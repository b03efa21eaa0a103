//! A minimal XML tree with source lines: the layer between quick-xml and the typed model.
//!
//! [`read_document`] turns text into a [`RawElement`] tree (whitespace-only text and the
//! prolog dropped, comments kept), [`write_element`] prints one back with two-space indent.
//! Elements the typed model does not know stay in this form so that writing loses nothing.
//! Not a general XML library: no namespaces, no DTDs. No I/O.

use std::fmt::Write as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::error::CibError;

/// Elements deeper than this are refused; real CIBs are about 10 deep.
pub const ELEMENT_DEPTH_MAX: usize = 256;

/// A 1-based source line. Lines are where an element came from, not what it says, so two
/// lines always compare equal: a model re-read from written text equals the original.
#[derive(Clone, Copy, Default)]
pub struct Line(pub u32);

impl PartialEq for Line {
    fn eq(&self, _other: &Line) -> bool {
        true
    }
}
impl Eq for Line {}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L{}", self.0)
    }
}

/// Attributes in document order: the unknown ones of a typed element, or all of a raw one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs(pub Vec<(String, String)>);

impl Attrs {
    /// The value of attribute `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Removes and returns attribute `name`.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let index = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.remove(index).1)
    }
}

/// An element kept as it was written (unknown to the model, or deliberately untyped such
/// as `acls` and `alerts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawElement {
    pub line: Line,
    pub name: String,
    pub attrs: Attrs,
    pub children: Vec<RawNode>,
}

/// A child of a [`RawElement`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawNode {
    Element(RawElement),
    /// Character data, trimmed; whitespace-only text is not kept.
    Text(String),
    Comment(String),
}

impl RawElement {
    pub fn new(name: &str) -> RawElement {
        RawElement {
            name: name.to_owned(),
            ..RawElement::default()
        }
    }

    /// The element children, skipping text and comments.
    pub fn elements(&self) -> impl Iterator<Item = &RawElement> {
        self.children.iter().filter_map(|child| match child {
            RawNode::Element(element) => Some(element),
            _ => None,
        })
    }

    pub(crate) fn push_attr(&mut self, name: &str, value: impl Into<String>) {
        self.attrs.0.push((name.to_owned(), value.into()));
    }

    pub(crate) fn push_opt(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(value) = value {
            self.attrs.0.push((name.to_owned(), value.to_string()));
        }
    }

    pub(crate) fn push_child(&mut self, child: RawElement) {
        self.children.push(RawNode::Element(child));
    }
}

/// Parses `text` into its root element.
pub fn read_document(text: &str, file: &str) -> Result<RawElement, CibError> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut lines = LineCounter::default();
    let mut stack: Vec<RawElement> = Vec::new();
    let mut root: Option<RawElement> = None;
    // Non-blank text outside any element: the file is not XML at all (e.g. notes.txt).
    let mut stray_text = false;
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event()
            .map_err(|error| xml_error(text, file, &reader, &error.to_string()))?;
        let line = Line(lines.line_at(text, start));
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(error_at(
                    text,
                    file,
                    start,
                    "content after the root element",
                ));
            }
            Event::Start(tag) => {
                if stack.len() >= ELEMENT_DEPTH_MAX {
                    return Err(CibError::TooDeep {
                        file: file.to_owned(),
                        max_depth: ELEMENT_DEPTH_MAX,
                    });
                }
                stack.push(element_from_tag(&tag, line, text, file, start)?);
            }
            Event::Empty(tag) => {
                let element = element_from_tag(&tag, line, text, file, start)?;
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| xml_error(text, file, &reader, "end tag without a start tag"))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(content) => {
                let content = content.xml_content(XmlVersion::Implicit1_0);
                stray_text |= stack.is_empty() && !content.trim().is_empty();
                push_text(&mut stack, &content);
            }
            Event::CData(content) => {
                push_text(&mut stack, &content.xml_content(XmlVersion::Implicit1_0));
            }
            Event::GeneralRef(reference) => push_text(&mut stack, &resolve_reference(&reference)),
            Event::Comment(content) => {
                if let Some(parent) = stack.last_mut() {
                    let comment = content.xml_content(XmlVersion::Implicit1_0);
                    parent
                        .children
                        .push(RawNode::Comment(comment.trim().to_owned()));
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(xml_error(
            text,
            file,
            &reader,
            "document ends inside an element",
        ));
    }
    root.ok_or_else(|| {
        let file = file.to_owned();
        if stray_text {
            CibError::NotXml { file }
        } else {
            CibError::Empty { file }
        }
    })
}

/// The text an entity or character reference stands for; unknown entities stay as written.
fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> String {
    if let Ok(Some(ch)) = reference.resolve_char_ref() {
        return ch.to_string();
    }
    match &**reference {
        "lt" => "<".to_owned(),
        "gt" => ">".to_owned(),
        "amp" => "&".to_owned(),
        "apos" => "'".to_owned(),
        "quot" => "\"".to_owned(),
        other => format!("&{other};"),
    }
}

fn attach(stack: &mut [RawElement], root: &mut Option<RawElement>, element: RawElement) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(RawNode::Element(element)),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [RawElement], text: &str) {
    let Some(parent) = stack.last_mut() else {
        return;
    };
    // Entity references split text into pieces: glue them back together.
    if let Some(RawNode::Text(previous)) = parent.children.last_mut() {
        previous.push_str(text);
        let trimmed_len = previous.trim_end().len();
        previous.truncate(trimmed_len);
        return;
    }
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        parent.children.push(RawNode::Text(trimmed.to_owned()));
    }
}

fn element_from_tag(
    tag: &BytesStart<'_>,
    line: Line,
    text: &str,
    file: &str,
    start: usize,
) -> Result<RawElement, CibError> {
    let name = tag.name().into_inner().to_owned();
    let mut attrs = Vec::new();
    // Attribute errors carry offsets inside the tag; report the tag's own position.
    let error_at = |message: String| error_at(text, file, start, &message);
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|error| error_at(error.to_string()))?;
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|error| error_at(error.to_string()))?;
        attrs.push((attribute.key.into_inner().to_owned(), value.into_owned()));
    }
    Ok(RawElement {
        line,
        name,
        attrs: Attrs(attrs),
        children: Vec::new(),
    })
}

fn xml_error(text: &str, file: &str, reader: &quick_xml::Reader<&[u8]>, message: &str) -> CibError {
    let offset = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
    error_at(text, file, offset, message)
}

fn error_at(text: &str, file: &str, offset: usize, message: &str) -> CibError {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
    CibError::Xml {
        file: file.to_owned(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        message: message.to_owned(),
    }
}

/// Counts newlines incrementally so that finding each element's line stays linear.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u32,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> u32 {
        let offset = offset.min(text.len());
        if offset > self.offset {
            let newlines = text.as_bytes()[self.offset..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.line += u32::try_from(newlines).unwrap_or(u32::MAX);
            self.offset = offset;
        }
        self.line + 1
    }
}

/// Appends `element` (and its subtree) to `out`, indented by `depth` levels.
pub fn write_element(out: &mut String, element: &RawElement, depth: usize) {
    indent(out, depth);
    out.push('<');
    out.push_str(&element.name);
    for (key, value) in &element.attrs.0 {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        escape_into(out, value, true);
        out.push('"');
    }
    match element.children.as_slice() {
        [] => out.push_str("/>\n"),
        [RawNode::Text(text)] => {
            out.push('>');
            escape_into(out, text, false);
            let _ = writeln!(out, "</{}>", element.name);
        }
        children => {
            out.push_str(">\n");
            for child in children {
                match child {
                    RawNode::Element(child) => write_element(out, child, depth + 1),
                    RawNode::Text(text) => {
                        indent(out, depth + 1);
                        escape_into(out, text, false);
                        out.push('\n');
                    }
                    RawNode::Comment(comment) => {
                        indent(out, depth + 1);
                        // "--" may not appear inside a comment; keep the text readable.
                        let _ = writeln!(out, "<!-- {} -->", comment.replace("--", "- -"));
                    }
                }
            }
            indent(out, depth);
            let _ = writeln!(out, "</{}>", element.name);
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(ch),
        }
    }
}
