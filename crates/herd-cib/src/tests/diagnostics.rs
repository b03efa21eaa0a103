//! Bad input: errors for unusable documents, diagnostics (with file, line, element, id)
//! for everything the reader survives, and nothing lost on the way back out.

use super::{cib_with, parse, parse_round_trip};
use crate::*;

#[test]
fn malformed_xml_is_an_error_with_line_and_column() {
    let error = parse_str("<cib>\n  <configuration>\n  </cib>", "bad.xml").expect_err("bad");
    let CibError::Xml { file, line, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(file, "bad.xml");
    assert_eq!(*line, 3);
    assert!(error.to_string().starts_with("bad.xml:3:"), "{error}");
}

#[test]
fn a_document_that_is_not_a_cib_is_refused() {
    let error = parse_str("<?xml version=\"1.0\"?>\n<html/>", "page.xml").expect_err("not a cib");
    assert!(
        matches!(error, CibError::NotACib { line: 2, .. }),
        "{error:?}"
    );
    assert!(matches!(
        parse_str("  ", "empty.xml"),
        Err(CibError::Empty { .. })
    ));
    assert!(matches!(
        parse_bytes(b"<cib>\xff</cib>", "x"),
        Err(CibError::NotUtf8 { .. })
    ));
}

#[test]
fn plain_text_is_not_xml_rather_than_empty() {
    let error = parse_str("hello\nthese are notes\n", "notes.txt").expect_err("not xml");
    assert!(matches!(error, CibError::NotXml { .. }), "{error:?}");
    assert!(
        error.to_string().contains("notes.txt: is not XML"),
        "{error}"
    );
    // Only a declaration and a comment: XML without a root element, still "empty".
    assert!(matches!(
        parse_str("<?xml version=\"1.0\"?>\n<!-- nothing -->\n", "bare.xml"),
        Err(CibError::Empty { .. })
    ));
}

#[test]
fn unknown_element_is_reported_with_its_line_and_kept() {
    let xml = cib_with(
        "<resources>\n<primitive id=\"a\" class=\"lsb\" type=\"a\">\n\
         <gizmo id=\"g\" flavor=\"x\"><inner>text</inner></gizmo>\n</primitive>\n</resources>\
         <constraints/>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    let diagnostic = diagnostics
        .iter()
        .find(|d| d.element == "gizmo")
        .expect("reported");
    assert_eq!(diagnostic.line, 7);
    assert_eq!(diagnostic.id.as_deref(), Some("g"));
    assert_eq!(diagnostic.file, "test.xml");
    assert!(
        diagnostic.message.contains("inside <primitive>"),
        "{diagnostic}"
    );
    let primitive = cib.configuration.resources[0].primitives()[0].clone();
    assert_eq!(primitive.unknown[0].attrs.get("flavor"), Some("x"));
    let written = write_string(&cib);
    assert!(written.contains("<inner>text</inner>"), "{written}");
}

#[test]
fn unknown_attributes_survive_a_round_trip() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" class=\"lsb\" type=\"a\" future-knob=\"7\"/></resources>\
         <constraints/>",
        "<node_state id=\"1\" uname=\"n1\" node_fenced=\"0\"/>",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let primitive = cib.configuration.resources[0].primitives()[0].clone();
    assert_eq!(primitive.extra.get("future-knob"), Some("7"));
    assert_eq!(
        cib.status.node_states[0].extra.get("node_fenced"),
        Some("0")
    );
}

#[test]
fn bad_score_is_a_warning_naming_the_constraint_and_the_text_is_kept() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" class=\"lsb\" type=\"a\"/></resources>\
         <constraints><rsc_location id=\"loc\" rsc=\"a\" node=\"n1\" score=\"lots\"/></constraints>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.severity, Severity::Warning);
    assert_eq!(
        (diagnostic.element.as_str(), diagnostic.id.as_deref()),
        ("rsc_location", Some("loc"))
    );
    assert!(
        diagnostic.to_string().contains("invalid score \"lots\""),
        "{diagnostic}"
    );
    let Constraint::Location(location) = &cib.configuration.constraints[0] else {
        panic!("location")
    };
    assert_eq!(location.score, None);
    assert_eq!(location.extra.get("score"), Some("lots"));
}

#[test]
fn constraint_naming_a_missing_resource_is_reported() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" class=\"lsb\" type=\"a\"/></resources>\
         <constraints><rsc_colocation id=\"c\" rsc=\"a\" with-rsc=\"ghost\" score=\"10\"/>\
         <rsc_order id=\"o\"><resource_set id=\"s\"><resource_ref id=\"phantom\"/></resource_set>\
         </rsc_order></constraints>",
        "",
    );
    let (_, diagnostics) = parse(&xml);
    let messages: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("id=\"c\"") && m.contains("\"ghost\"")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("id=\"o\"") && m.contains("\"phantom\"")),
        "{messages:?}"
    );
}

#[test]
fn tags_and_templates_count_as_constraint_targets() {
    let xml = cib_with(
        "<resources><template id=\"t\" class=\"lsb\" type=\"a\"/></resources>\
         <constraints><rsc_location id=\"l1\" rsc=\"t\" node=\"n\" score=\"1\"/>\
         <rsc_location id=\"l2\" rsc=\"web\" node=\"n\" score=\"1\"/></constraints>\
         <tags><tag id=\"web\"><obj_ref id=\"t\"/></tag></tags>",
        "",
    );
    let (_, diagnostics) = parse(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
}

#[test]
fn duplicate_ids_are_reported_with_both_lines() {
    let xml = cib_with(
        "<resources>\n<primitive id=\"a\" class=\"lsb\" type=\"a\"/>\n\
         <primitive id=\"a\" class=\"lsb\" type=\"b\"/>\n</resources><constraints/>",
        "",
    );
    let (cib, diagnostics) = parse(&xml);
    assert_eq!(cib.configuration.resources.len(), 2, "both kept");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic.line, 7);
    assert!(diagnostic.message.contains("line 6"), "{diagnostic}");
}

#[test]
fn missing_template_and_bad_primitive_are_errors() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" template=\"nope\"/>\
         <primitive id=\"b\" class=\"ocf\" type=\"Dummy\"/></resources><constraints/>",
        "",
    );
    let (_, diagnostics) = parse(&xml);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.id.as_deref() == Some("a") && d.message.contains("template"))
    );
    assert!(
        diagnostics
            .iter()
            .any(|d| d.id.as_deref() == Some("b") && d.message.contains("provider"))
    );
}

#[test]
fn comments_and_entities_are_handled() {
    let xml = cib_with(
        "<!-- a comment --><resources><primitive id=\"a\" class=\"lsb\" type=\"a\" \
         description=\"x &amp; y &lt;z&gt; &quot;q&quot;\"/></resources><constraints/>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let primitive = cib.configuration.resources[0].primitives()[0].clone();
    assert_eq!(primitive.description.as_deref(), Some("x & y <z> \"q\""));
}

#[test]
fn deep_nesting_is_refused_instead_of_overflowing() {
    let depth = dom::ELEMENT_DEPTH_MAX + 10;
    let xml = format!("<cib>{}{}</cib>", "<a>".repeat(depth), "</a>".repeat(depth));
    assert!(matches!(
        parse_str(&xml, "deep.xml"),
        Err(CibError::TooDeep { .. })
    ));
}

#[test]
fn duplicate_attribute_error_names_the_tag_line() {
    let error = parse_str("<cib>\n<configuration a=\"1\" a=\"2\"/>\n</cib>", "dup.xml")
        .expect_err("duplicate attribute");
    assert!(error.to_string().starts_with("dup.xml:2:1:"), "{error}");
}

#[test]
fn rejected_value_of_a_defaulted_attribute_is_written_back_once() {
    let xml = cib_with(
        "<resources/><constraints/>",
        "<node_state id=\"1\"><lrm><lrm_resources><lrm_resource id=\"r\">\
         <lrm_rsc_op id=\"op\" operation=\"monitor\" interval=\":10\"/>\
         </lrm_resource></lrm_resources></lrm></node_state>",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let op = &cib.status.node_states[0].lrm_resources()[0].ops[0];
    assert_eq!((op.interval_ms, op.extra.get("interval")), (0, Some(":10")));
    assert!(write_string(&cib).contains("interval=\":10\""));
}

#[test]
fn incomplete_constraints_are_errors_that_say_what_is_missing() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" class=\"lsb\" type=\"a\"/></resources><constraints>\
         <rsc_location id=\"l\" rsc=\"a\"/>\
         <rsc_colocation id=\"c\" rsc=\"a\" score=\"1\"/>\
         <rsc_order id=\"o\" then=\"a\"/>\
         <rsc_ticket id=\"t\" ticket=\"tk\"/></constraints>",
        "",
    );
    let (cib, diagnostics) = parse(&xml);
    assert_eq!(cib.configuration.constraints.len(), 4, "all kept");
    let about = |id: &str| -> Vec<String> {
        diagnostics
            .iter()
            .filter(|d| d.id.as_deref() == Some(id) && d.severity == Severity::Error)
            .map(|d| d.message.clone())
            .collect()
    };
    assert!(
        about("l")
            .iter()
            .any(|m| m.contains("node and score, or a rule")),
        "{:?}",
        about("l")
    );
    assert!(about("c").iter().any(|m| m.contains("with-rsc")));
    assert!(about("o").iter().any(|m| m.contains("first and then")));
    assert!(
        about("t")
            .iter()
            .any(|m| m.contains("rsc or a resource_set"))
    );
}

#[test]
fn reader_input_parses_and_read_failures_name_the_source() {
    let xml = cib_with("<resources/><constraints/>", "");
    let (cib, _) = parse_reader(xml.as_bytes(), "reader.xml").expect("parses");
    assert_eq!(cib.validate_with.as_deref(), Some("pacemaker-3.7"));

    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let error = parse_reader(Broken, "/etc/cib.xml").expect_err("read fails");
    assert_eq!(error.to_string(), "/etc/cib.xml: cannot read: disk on fire");
}

#[test]
fn children_of_leaf_elements_are_reported_and_kept() {
    let xml = cib_with(
        "<resources/><constraints><rsc_order id=\"o\"><resource_set id=\"s\">\
         <resource_ref id=\"a\"><surprise id=\"x\"/></resource_ref></resource_set></rsc_order>\
         </constraints>\
         <fencing-topology><fencing-level id=\"f\" index=\"1\" target=\"n\" devices=\"d\">\
         <odd/></fencing-level></fencing-topology>",
        "<node_state id=\"1\"><lrm><lrm_resources><lrm_resource id=\"r\">\
         <lrm_rsc_op id=\"op\" operation=\"start\" interval=\"0\"><extra-info/></lrm_rsc_op>\
         </lrm_resource></lrm_resources></lrm></node_state>",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    for name in ["surprise", "odd", "extra-info"] {
        assert!(
            diagnostics.iter().any(|d| d.element == name),
            "{name} not reported"
        );
        assert!(
            write_string(&cib).contains(&format!("<{name}")),
            "{name} lost"
        );
    }
}

#[test]
fn a_second_root_element_is_an_error_on_its_line() {
    let error = parse_str("<cib/>\n<cib/>\n", "two.xml").expect_err("two roots");
    assert!(error.to_string().starts_with("two.xml:2:1:"), "{error}");
    assert!(
        error.to_string().contains("after the root element"),
        "{error}"
    );
}
