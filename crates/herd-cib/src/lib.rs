//! Pacemaker's CIB (Cluster Information Base) XML as a typed model, and back.
//!
//! [`parse_str`] reads a CIB document of any schema from pacemaker-1.0 to 3.x (legacy
//! `master` resources, `Master`/`Slave` roles, old attribute spellings) into a [`Cib`];
//! [`write_string`] writes a model back. Every typed element keeps its source line, its
//! unknown attributes and its unknown child elements, so a document round-trips.
//!
//! Errors: [`CibError`] only when there is no usable document (not UTF-8, not well-formed,
//! not a `<cib>`); everything else is a [`Diagnostic`] naming file, line, element and id,
//! and reading goes on. Rules are typed but not evaluated here: that is the scheduler's job.
//!
//! # Layout
//! - `dom`: quick-xml to a small tree with lines, and the tree back to text.
//! - `read`: attribute takers that parse values and report bad ones.
//! - `model`: the typed model, one module per concept, each with its reader and writer.
//! - `values`: Pacemaker spellings (booleans, intervals, roles, ...).
//! - `check`: duplicate ids and dangling references.
//!
//! This crate is pure: no files, no clock. Callers read the file themselves and pass
//! its text (or bytes, or any `std::io::Read`) with a name used in messages.

mod check;
pub mod dom;
pub mod error;
pub mod model;
mod read;
pub mod values;

pub use dom::{Attrs, Line, RawElement, RawNode};
pub use error::{CibError, Diagnostic, Severity};
pub use herd_types::Score;
pub use model::bundle::{Bundle, BundleNetwork, Container, PortMapping, Storage, StorageMapping};
pub use model::constraints::{
    Colocation, Constraint, Location, Order, ResourceRef, ResourceSet, Ticket,
};
pub use model::nodes::Node;
pub use model::nvset::{NvPair, NvSet, first_value};
pub use model::resources::{Clone, Group, Op, Operations, Primitive, Resource, Sets};
pub use model::rules::{
    Condition, DateExpression, DateSpec, Expression, OpExpression, RscExpression, Rule,
};
pub use model::status::{
    Lrm, LrmResource, LrmRscOp, NodeState, Status, TicketState, TransientAttributes,
};
pub use model::{Cib, Configuration, FencingLevel, Section, Tag, is_true};
pub use values::{
    BoolOp, ContainerKind, DateOp, ExprOp, ExprType, JoinState, LossPolicy, NodeType, OrderKind,
    Presence, ResourceDiscovery, Role, RscAction, ValueSource, format_interval_ms, parse_bool,
    parse_interval_ms,
};

use std::io::Read as _;

use herd_types::limits::CIB_BYTES_MAX;

/// Parses a CIB document. `source_name` (usually the path) appears in every message.
pub fn parse_str(xml: &str, source_name: &str) -> Result<(Cib, Vec<Diagnostic>), CibError> {
    let size_bytes = xml.len() as u64;
    if size_bytes > CIB_BYTES_MAX {
        return Err(CibError::TooLarge {
            file: source_name.to_owned(),
            size_bytes,
            max_bytes: CIB_BYTES_MAX,
        });
    }
    let root = dom::read_document(xml, source_name)?;
    if root.name != "cib" {
        return Err(CibError::NotACib {
            file: source_name.to_owned(),
            line: root.line.0,
            element: root.name,
        });
    }
    let mut cx = read::Cx::new(source_name);
    check::duplicate_ids(&mut cx, &root);
    let cib = Cib::read(&mut cx, root);
    check::references(&mut cx, &cib);
    Ok((cib, cx.diagnostics))
}

/// Parses a CIB from bytes, which must be UTF-8.
pub fn parse_bytes(bytes: &[u8], source_name: &str) -> Result<(Cib, Vec<Diagnostic>), CibError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text, source_name),
        Err(error) => Err(CibError::NotUtf8 {
            file: source_name.to_owned(),
            offset: error.valid_up_to(),
        }),
    }
}

/// Parses a CIB from a reader the caller opened (for a file: `File::open(path)`).
pub fn parse_reader(
    reader: impl std::io::Read,
    source_name: &str,
) -> Result<(Cib, Vec<Diagnostic>), CibError> {
    let mut bytes = Vec::new();
    std::io::Read::take(reader, CIB_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| CibError::Read {
            file: source_name.to_owned(),
            message: error.to_string(),
        })?;
    parse_bytes(&bytes, source_name)
}

/// Writes the model as a CIB document (two-space indent, known attributes first).
pub fn write_string(cib: &Cib) -> String {
    let mut text = String::with_capacity(64 * 1024);
    dom::write_element(&mut text, &cib.write(), 0);
    text
}

#[cfg(test)]
mod tests;
