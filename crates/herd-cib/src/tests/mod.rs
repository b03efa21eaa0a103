//! Unit tests of herd-cib, one file per concept, on small inline documents.

mod configuration;
mod diagnostics;
mod status;
mod values;

use crate::{Cib, Diagnostic};

/// Wraps `configuration` and `status` bodies in a pacemaker-3.7 `<cib>`.
fn cib_with(configuration: &str, status: &str) -> String {
    format!(
        "<cib validate-with=\"pacemaker-3.7\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n\
         <configuration>\n<crm_config/>\n<nodes/>\n{configuration}\n</configuration>\n\
         <status>{status}</status>\n</cib>\n"
    )
}

fn parse(xml: &str) -> (Cib, Vec<Diagnostic>) {
    crate::parse_str(xml, "test.xml").unwrap_or_else(|error| panic!("{error}"))
}

/// Parses, writes, re-parses and checks the two models are equal; returns the first.
fn parse_round_trip(xml: &str) -> (Cib, Vec<Diagnostic>) {
    let (cib, diagnostics) = parse(xml);
    let written = crate::write_string(&cib);
    let (again, _) = parse(&written);
    pretty_assertions::assert_eq!(cib, again, "written:\n{written}");
    (cib, diagnostics)
}
