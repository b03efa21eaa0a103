//! Reading and writing the configuration section: sets, resources, constraints, rules,
//! tags, fencing topology.

use herd_types::Score;

use super::{cib_with, parse_round_trip};
use crate::*;

#[test]
fn cluster_properties_and_defaults_are_read_from_their_sets() {
    let xml = "<cib validate-with=\"pacemaker-3.0\" have-quorum=\"1\" dc-uuid=\"n1\" \
               execution-date=\"1600000000\"><configuration>\
        <crm_config><cluster_property_set id=\"opts\">\
          <nvpair id=\"o1\" name=\"stonith-enabled\" value=\"false\"/>\
        </cluster_property_set></crm_config>\
        <nodes/><resources/><constraints/>\
        <rsc_defaults><meta_attributes id=\"rd\" score=\"10\">\
          <nvpair id=\"rd1\" name=\"resource-stickiness\" value=\"100\"/>\
        </meta_attributes></rsc_defaults>\
        <op_defaults><meta_attributes id=\"od\"><nvpair id=\"od1\" name=\"timeout\" value=\"30s\"/>\
        </meta_attributes></op_defaults>\
        </configuration><status/></cib>";
    let (cib, diagnostics) = parse_round_trip(xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(cib.have_quorum, Some(true));
    assert_eq!(cib.dc_uuid.as_deref(), Some("n1"));
    assert_eq!(cib.execution_date, Some(1_600_000_000));
    assert_eq!(cib.cluster_property("stonith-enabled"), Some("false"));
    let defaults = &cib.configuration.rsc_defaults;
    assert_eq!(defaults[0].score, Some(Score::new(10)));
    assert_eq!(first_value(defaults, "resource-stickiness"), Some("100"));
    assert_eq!(
        first_value(&cib.configuration.op_defaults, "timeout"),
        Some("30s")
    );
}

#[test]
fn nvset_keeps_id_ref_score_and_rule() {
    let xml = cib_with(
        "<resources><primitive id=\"r\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">\
           <meta_attributes id-ref=\"shared\"/>\
           <instance_attributes id=\"ia\" score=\"INFINITY\">\
             <rule id=\"ia-rule\" boolean-op=\"or\">\
               <expression id=\"e\" attribute=\"#uname\" operation=\"eq\" value=\"n1\"/>\
             </rule>\
             <nvpair id=\"p\" name=\"state\" value=\"/tmp/x\"/>\
             <nvpair id-ref=\"elsewhere\"/>\
           </instance_attributes>\
         </primitive></resources><constraints/>",
        "",
    );
    let (cib, _) = parse_round_trip(&xml);
    let Resource::Primitive(primitive) = &cib.configuration.resources[0] else {
        panic!("a primitive");
    };
    assert_eq!(
        primitive.sets.meta_attributes[0].id_ref.as_deref(),
        Some("shared")
    );
    let set = &primitive.sets.instance_attributes[0];
    assert_eq!(set.score, Some(Score::INFINITY));
    assert_eq!(set.rules[0].boolean_op, Some(BoolOp::Or));
    assert_eq!(set.get("state"), Some("/tmp/x"));
    assert_eq!(set.nvpairs[1].id_ref.as_deref(), Some("elsewhere"));
    assert_eq!(primitive.agent(), "ocf:heartbeat:Dummy");
}

#[test]
fn operations_parse_intervals_roles_and_flags() {
    let xml = cib_with(
        "<resources><primitive id=\"r\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\">\
           <operations>\
             <op id=\"m1\" name=\"monitor\" interval=\"P10S\" role=\"Master\" timeout=\"20\" \
                 on-fail=\"restart\" enabled=\"no\" start-delay=\"1min\" record-pending=\"true\" \
                 interval-origin=\"02:00\">\
               <meta_attributes id=\"m1-meta\"><nvpair id=\"m1-n\" name=\"x\" value=\"y\"/>\
               </meta_attributes>\
             </op>\
             <op id=\"s\" name=\"start\" interval=\"0s\"/>\
           </operations>\
         </primitive></resources><constraints/>",
        "",
    );
    let (cib, _) = parse_round_trip(&xml);
    let primitive = &cib.configuration.resources[0].primitives()[0].clone();
    let monitor = &primitive.operations.ops[0];
    assert_eq!(monitor.interval_ms, 10_000);
    assert_eq!(monitor.role, Some(Role::Promoted));
    assert_eq!(monitor.timeout_ms, Some(20_000));
    assert_eq!(monitor.on_fail.as_deref(), Some("restart"));
    assert_eq!(monitor.enabled, Some(false));
    assert_eq!(monitor.start_delay_ms, Some(60_000));
    assert_eq!(monitor.record_pending, Some(true));
    assert_eq!(monitor.interval_origin.as_deref(), Some("02:00"));
    assert_eq!(first_value(&monitor.meta_attributes, "x"), Some("y"));
    assert_eq!(primitive.operations.ops[1].interval_ms, 0);
}

#[test]
fn legacy_master_is_a_promotable_clone_written_back_as_master() {
    let xml = "<cib validate-with=\"pacemaker-1.0\"><configuration><crm_config/><nodes/>\
        <resources><master id=\"ms\"><meta_attributes id=\"ms-m\">\
          <nvpair id=\"ms-n\" name=\"clone-max\" value=\"2\"/></meta_attributes>\
          <primitive id=\"s\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\"/>\
        </master></resources>\
        <constraints><rsc_colocation id=\"c\" rsc=\"ms\" rsc-role=\"Master\" with-rsc=\"ms\" \
          with-rsc-role=\"Slave\" score=\"-INFINITY\"/></constraints>\
        </configuration><status/></cib>";
    let (cib, _) = parse_round_trip(xml);
    let Resource::Clone(clone) = &cib.configuration.resources[0] else {
        panic!("a clone");
    };
    assert!(clone.legacy_master);
    assert_eq!(clone.sets.meta("clone-max"), Some("2"));
    assert_eq!(clone.child.as_deref().map(Resource::id), Some("s"));
    let written = write_string(&cib);
    assert!(written.contains("<master id=\"ms\">"), "{written}");
    // A pacemaker-1.0 document keeps the role names its schema knows.
    assert!(written.contains("rsc-role=\"Master\""), "{written}");
    assert!(written.contains("with-rsc-role=\"Slave\""), "{written}");
}

#[test]
fn new_schemas_write_promoted_role_names() {
    let xml = cib_with(
        "<resources/><constraints><rsc_location id=\"l\" rsc=\"a\" node=\"n1\" score=\"5\" \
         role=\"Master\"/></constraints>",
        "",
    );
    let (cib, _) = parse(&xml);
    assert!(write_string(&cib).contains("role=\"Promoted\""));
}

#[test]
fn groups_templates_and_bundles_are_typed() {
    let xml = cib_with(
        "<resources>\
           <template id=\"tpl\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"/>\
           <group id=\"g\"><primitive id=\"g1\" template=\"tpl\"/>\
             <primitive id=\"g2\" class=\"lsb\" type=\"foo\"/></group>\
           <bundle id=\"b\"><podman image=\"img\" replicas=\"3\" promoted-max=\"1\"/>\
             <network ip-range-start=\"10.0.0.1\" control-port=\"9999\" add-host=\"false\">\
               <port-mapping id=\"pm\" port=\"80\"/></network>\
             <storage><storage-mapping id=\"sm\" source-dir=\"/a\" target-dir=\"/b\" \
               options=\"rw\"/></storage>\
             <primitive id=\"httpd\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/>\
           </bundle>\
         </resources><constraints/>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let resources = &cib.configuration.resources;
    assert!(matches!(&resources[0], Resource::Template(t) if t.id == "tpl"));
    let Resource::Group(group) = &resources[1] else {
        panic!("a group");
    };
    assert_eq!(group.members[0].template.as_deref(), Some("tpl"));
    assert_eq!(resources[1].primitives().len(), 2);
    let Resource::Bundle(bundle) = &resources[2] else {
        panic!("a bundle");
    };
    let container = bundle.container.as_ref().expect("container");
    assert_eq!(container.kind, ContainerKind::Podman);
    assert_eq!(
        (container.replicas, container.promoted_max),
        (Some(3), Some(1))
    );
    let network = bundle.network.as_ref().expect("network");
    assert_eq!(network.control_port, Some(9999));
    assert_eq!(network.add_host, Some(false));
    assert_eq!(network.port_mappings[0].port.as_deref(), Some("80"));
    assert_eq!(
        bundle.storage.as_ref().expect("storage").mappings[0]
            .target_dir
            .as_deref(),
        Some("/b")
    );
    assert_eq!(
        bundle.primitive.as_ref().map(|p| p.id.as_str()),
        Some("httpd")
    );
}

#[test]
fn constraints_keep_roles_kinds_and_resource_sets() {
    let xml = cib_with(
        "<resources><primitive id=\"a\" class=\"lsb\" type=\"a\"/>\
           <primitive id=\"b\" class=\"lsb\" type=\"b\"/></resources>\
         <constraints>\
           <rsc_location id=\"l\" rsc-pattern=\"^a\" resource-discovery=\"exclusive\">\
             <rule id=\"lr\" score-attribute=\"pingd\" role=\"Started\">\
               <expression id=\"le\" attribute=\"pingd\" operation=\"defined\"/>\
               <rule id=\"inner\" boolean-op=\"or\">\
                 <date_expression id=\"d\" operation=\"date_spec\">\
                   <date_spec id=\"ds\" hours=\"9-16\" weekdays=\"1-5\"/></date_expression>\
                 <date_expression id=\"d2\" operation=\"in_range\" start=\"2024-01-01\">\
                   <duration id=\"du\" months=\"1\"/></date_expression>\
               </rule>\
             </rule>\
           </rsc_location>\
           <rsc_colocation id=\"c\" rsc=\"a\" with-rsc=\"b\" score=\"INFINITY\" \
             node-attribute=\"rack\" influence=\"false\"/>\
           <rsc_order id=\"o\" first=\"a\" first-action=\"promote\" then=\"b\" \
             then-action=\"start\" kind=\"Serialize\" symmetrical=\"false\" require-all=\"no\"/>\
           <rsc_order id=\"os\">\
             <resource_set id=\"s1\" sequential=\"false\" require-all=\"false\" action=\"stop\" \
               role=\"Slave\"><resource_ref id=\"a\"/><resource_ref id-ref=\"b\"/></resource_set>\
           </rsc_order>\
           <rsc_ticket id=\"t\" ticket=\"tk\" rsc=\"a\" loss-policy=\"fence\"/>\
         </constraints>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let constraints = &cib.configuration.constraints;
    let Constraint::Location(location) = &constraints[0] else {
        panic!("location")
    };
    assert_eq!(location.rsc_pattern.as_deref(), Some("^a"));
    assert_eq!(
        location.resource_discovery,
        Some(ResourceDiscovery::Exclusive)
    );
    let rule = &location.rules[0];
    assert_eq!(rule.score_attribute.as_deref(), Some("pingd"));
    let Condition::Rule(inner) = &rule.conditions[1] else {
        panic!("nested rule")
    };
    let Condition::Date(date) = &inner.conditions[0] else {
        panic!("date")
    };
    assert_eq!(
        date.date_spec.as_ref().and_then(|s| s.get("hours")),
        Some("9-16")
    );
    let Condition::Date(range) = &inner.conditions[1] else {
        panic!("date")
    };
    assert_eq!(
        range.duration.as_ref().and_then(|s| s.get("months")),
        Some("1")
    );
    let Constraint::Colocation(colocation) = &constraints[1] else {
        panic!("colocation")
    };
    assert_eq!(colocation.influence, Some(false));
    assert_eq!(colocation.node_attribute.as_deref(), Some("rack"));
    let Constraint::Order(order) = &constraints[2] else {
        panic!("order")
    };
    assert_eq!(order.first_action, Some(RscAction::Promote));
    assert_eq!(order.kind, Some(OrderKind::Serialize));
    assert_eq!(
        (order.symmetrical, order.require_all),
        (Some(false), Some(false))
    );
    let set = &constraints[3].resource_sets()[0];
    assert_eq!(
        (set.sequential, set.action, set.role),
        (Some(false), Some(RscAction::Stop), Some(Role::Unpromoted))
    );
    assert_eq!(set.resources[1].id, "b");
    assert!(set.resources[1].is_id_ref);
    let Constraint::Ticket(ticket) = &constraints[4] else {
        panic!("ticket")
    };
    assert_eq!(ticket.loss_policy, Some(LossPolicy::Fence));
}

#[test]
fn tags_and_fencing_levels_are_read() {
    let xml = cib_with(
        "<resources/><constraints/>\
         <fencing-topology><fencing-level id=\"f\" index=\"1\" target-pattern=\"n.*\" \
           devices=\"ipmi-1,ipmi-2\"/></fencing-topology>\
         <tags><tag id=\"web\"><obj_ref id=\"a\"/><obj_ref id=\"b\"/></tag></tags>",
        "",
    );
    let (cib, _) = parse_round_trip(&xml);
    let level = &cib.configuration.fencing_topology[0];
    assert_eq!(level.index, Some(1));
    assert_eq!(level.devices, ["ipmi-1", "ipmi-2"]);
    assert_eq!(cib.configuration.tags[0].refs, ["a", "b"]);
}

#[test]
fn nodes_keep_type_attributes_and_utilization() {
    let xml = "<cib validate-with=\"pacemaker-3.7\"><configuration><crm_config/><nodes>\
        <node id=\"1\" uname=\"n1\"><instance_attributes id=\"n1-a\">\
          <nvpair id=\"n1-s\" name=\"standby\" value=\"on\"/></instance_attributes>\
          <utilization id=\"n1-u\"><nvpair id=\"n1-cpu\" name=\"cpu\" value=\"4\"/></utilization>\
        </node><node id=\"r1\" uname=\"r1\" type=\"remote\"/><node id=\"p\" uname=\"p\" \
          type=\"ping\"/></nodes><resources/><constraints/></configuration><status/></cib>";
    let (cib, _) = parse_round_trip(xml);
    let nodes = &cib.configuration.nodes;
    assert_eq!(nodes[0].kind(), NodeType::Member);
    assert_eq!(
        nodes[0].attribute("standby").and_then(parse_bool),
        Some(true)
    );
    assert_eq!(first_value(&nodes[0].utilization, "cpu"), Some("4"));
    assert_eq!(nodes[1].kind(), NodeType::Remote);
    assert_eq!(nodes[2].kind(), NodeType::Ping);
}

#[test]
fn acls_and_alerts_are_kept_raw() {
    let xml = cib_with(
        "<resources/><constraints/>\
         <acls><acl_role id=\"r\"><acl_permission id=\"p\" kind=\"read\" xpath=\"/cib\"/>\
         </acl_role></acls>\
         <alerts><alert id=\"a\" path=\"/bin/x\"><recipient id=\"rc\" value=\"/tmp/log\"/>\
         </alert></alerts>",
        "",
    );
    let (cib, diagnostics) = parse_round_trip(&xml);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let alerts = cib.configuration.alerts.as_ref().expect("alerts");
    assert_eq!(
        alerts.elements().next().and_then(|a| a.attrs.get("path")),
        Some("/bin/x")
    );
    assert!(cib.configuration.acls.is_some());
}

fn parse(xml: &str) -> (Cib, Vec<Diagnostic>) {
    super::parse(xml)
}
