//! The status section: node states, transient attributes, operation history, tickets.

use super::parse_round_trip;
use crate::*;

const STATUS: &str = "<cib validate-with=\"pacemaker-3.7\"><configuration><crm_config/><nodes/>\
  <resources/><constraints/></configuration><status>\
  <node_state id=\"1\" uname=\"n1\" in_ccm=\"1700000000\" crmd=\"1700000001\" join=\"member\" \
     expected=\"down\" shutdown=\"1700000002\" crm-debug-origin=\"x\">\
    <transient_attributes id=\"1\"><instance_attributes id=\"status-1\">\
      <nvpair id=\"fc\" name=\"fail-count-r#monitor_10000\" value=\"3\"/>\
    </instance_attributes></transient_attributes>\
    <lrm id=\"1\"><lrm_resources>\
      <lrm_resource id=\"r\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\" container=\"c\">\
        <lrm_rsc_op id=\"r_last_0\" operation_key=\"r_migrate_to_0\" operation=\"migrate_to\" \
          interval=\"0\" call-id=\"7\" rc-code=\"0\" op-status=\"0\" transition-key=\"1:2:0:abc\" \
          transition-magic=\"0:0;1:2:0:abc\" last-rc-change=\"100\" last-run=\"99\" exec-time=\"5\" \
          queue-time=\"0\" op-digest=\"d1\" migrate_source=\"n1\" migrate_target=\"n2\" on_node=\"n1\"/>\
        <lrm_rsc_op id=\"r_monitor_10000\" operation=\"monitor\" interval=\"10000\" rc-code=\"7\" \
          last_rc_change=\"50\" exec_time=\"3\"/>\
      </lrm_resource></lrm_resources></lrm>\
  </node_state>\
  <node_state id=\"2\" uname=\"n2\" in_ccm=\"false\" crmd=\"offline\"/>\
  <tickets><ticket_state id=\"tk\" granted=\"true\" last-granted=\"5\" standby=\"false\"/></tickets>\
  </status></cib>";

#[test]
fn node_state_reads_timestamps_as_presence() {
    let (cib, diagnostics) = parse_round_trip(STATUS);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let state = cib.status.node_state("1").expect("node 1");
    assert_eq!(state.in_ccm, Some(Presence::Since(1_700_000_000)));
    assert!(state.crmd.is_some_and(Presence::is_up));
    assert_eq!(state.join, Some(JoinState::Member));
    assert_eq!(state.expected, Some(JoinState::Down));
    assert_eq!(state.shutdown, Some(1_700_000_002));
    let down = cib.status.node_state("2").expect("node 2");
    assert_eq!(
        (down.in_ccm, down.crmd),
        (Some(Presence::Offline), Some(Presence::Offline))
    );
    assert!(down.lrm.is_none());
}

#[test]
fn transient_attributes_are_looked_up_by_name() {
    let (cib, _) = parse_round_trip(STATUS);
    let state = &cib.status.node_states[0];
    assert_eq!(state.transient("fail-count-r#monitor_10000"), Some("3"));
    assert_eq!(state.transient("nothing"), None);
}

#[test]
fn operation_history_is_typed_including_old_spellings() {
    let (cib, _) = parse_round_trip(STATUS);
    let resource = &cib.status.node_states[0].lrm_resources()[0];
    assert_eq!(resource.container.as_deref(), Some("c"));
    let migrate = &resource.ops[0];
    assert_eq!(migrate.operation, "migrate_to");
    assert_eq!(
        (migrate.call_id, migrate.rc_code, migrate.op_status),
        (Some(7), Some(0), Some(0))
    );
    assert_eq!(
        (migrate.last_rc_change, migrate.last_run),
        (Some(100), Some(99))
    );
    assert_eq!(migrate.migrate_target.as_deref(), Some("n2"));
    assert_eq!(migrate.transition_magic.as_deref(), Some("0:0;1:2:0:abc"));
    let monitor = &resource.ops[1];
    assert_eq!(
        monitor.interval_ms, 10_000,
        "status intervals are already milliseconds"
    );
    assert_eq!(monitor.last_rc_change, Some(50));
    assert_eq!(monitor.exec_time, Some(3));
}

#[test]
fn tickets_are_read_from_status() {
    let (cib, _) = parse_round_trip(STATUS);
    let ticket = &cib.status.tickets[0];
    assert_eq!(
        (ticket.granted, ticket.standby, ticket.last_granted),
        (Some(true), Some(false), Some(5))
    );
}
