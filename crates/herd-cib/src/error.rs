//! What can go wrong while reading a CIB: fatal [`CibError`]s and survivable [`Diagnostic`]s.
//!
//! A `CibError` means there is no document to work with (not XML, not a `<cib>`); everything
//! else the reader survives becomes a `Diagnostic` that names the file, line, element and id,
//! and reading goes on. No I/O here.

use std::fmt;

/// The document cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CibError {
    #[error("{file}:{line}:{column}: not well-formed XML: {message} (fix the XML syntax there)")]
    Xml {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error(
        "{file}:{line}: root element is <{element}>, not <cib> (give a Pacemaker CIB document)"
    )]
    NotACib {
        file: String,
        line: u32,
        element: String,
    },
    #[error("{file}: the document is empty or has no root element (give a Pacemaker CIB document)")]
    Empty { file: String },
    #[error("{file}: is not XML (no element found; give a Pacemaker CIB document)")]
    NotXml { file: String },
    #[error("{file}: not UTF-8 text near byte {offset} (save the CIB as UTF-8)")]
    NotUtf8 { file: String, offset: usize },
    #[error("{file}: document is {size_bytes} bytes, more than the {max_bytes} herd reads")]
    TooLarge {
        file: String,
        size_bytes: u64,
        max_bytes: u64,
    },
    #[error("{file}: elements nest deeper than {max_depth} levels (a CIB is far shallower)")]
    TooDeep { file: String, max_depth: usize },
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; the input means what it says.
    Note,
    /// Something was ignored or guessed (unknown element, bad value): check the input.
    Warning,
    /// The configuration is wrong (missing id, dangling reference): the affected part
    /// may not behave as intended.
    Error,
}

/// A problem the reader survived. Displays as `file:line: <element id="x">: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The document's name as given to the parser (usually its path).
    pub file: String,
    /// 1-based line of the element's start tag.
    pub line: u32,
    /// The element's name, e.g. `rsc_location`.
    pub element: String,
    /// The element's `id` attribute, when it has one.
    pub id: Option<String>,
    /// What is wrong and what to do, lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}: {severity}: <{}",
            self.file, self.line, self.element
        )?;
        if let Some(id) = &self.id {
            write!(f, " id={id:?}")?;
        }
        write!(f, ">: {}", self.message)
    }
}
