//! Tests of fencing-related decisions made while reading the status: resources still
//! active on offline nodes, fence devices and quorum, stops that cannot run.
//!
//! Test-only module; builds small CIBs in memory, no I/O.

const NOW: i64 = 1_700_000_000;

/// Three nodes with fencing on; `down` nodes left the cluster cleanly (expected down);
/// `history` is lrm_resource XML per node.
fn plan(quorum: bool, policy: &str, down: &[&str], history: &[(&str, String)]) -> Vec<String> {
    let names = ["node1", "node2", "node3"];
    let nodes: String = names
        .iter()
        .map(|n| format!(r#"<node id="{n}" uname="{n}"/>"#))
        .collect();
    let mut status = String::new();
    for n in names {
        let up = !down.contains(&n);
        let (ccm, crmd, join) = if up {
            ("true", "online", "member")
        } else {
            ("false", "offline", "down")
        };
        let lrms: String = history
            .iter()
            .filter(|(node, _)| *node == n)
            .map(|(_, x)| x.as_str())
            .collect();
        status += &format!(
            r#"<node_state id="{n}" uname="{n}" in_ccm="{ccm}" crmd="{crmd}" join="{join}" expected="{join}"><lrm id="{n}"><lrm_resources>{lrms}</lrm_resources></lrm></node_state>"#
        );
    }
    let xml = format!(
        r#"<cib have-quorum="{}" epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="cps"><nvpair id="o1" name="stonith-enabled" value="true"/><nvpair id="o2" name="no-quorum-policy" value="{policy}"/></cluster_property_set></crm_config><nodes>{nodes}</nodes><resources><primitive id="st" class="stonith" type="fence_dummy"/><primitive id="rsc" class="ocf" provider="heartbeat" type="Dummy"/></resources><constraints/></configuration><status>{status}</status></cib>"#,
        u8::from(quorum)
    );
    let (cib, _) = herd_cib::parse_str(&xml, "test.xml").unwrap();
    crate::schedule(&cib, NOW).summary_lines()
}

fn started(rsc: &str, class: &str) -> String {
    let agent = if class == "stonith" {
        r#"class="stonith" type="fence_dummy""#
    } else {
        r#"class="ocf" provider="heartbeat" type="Dummy""#
    };
    format!(
        r#"<lrm_resource id="{rsc}" {agent}><lrm_rsc_op id="{rsc}_start_0" operation="start" interval="0" call-id="2" rc-code="0" op-status="0" transition-key="1:1:0:abc" last-rc-change="{}"/></lrm_resource>"#,
        NOW - 100
    )
}

#[test]
fn resource_active_on_cleanly_departed_node_gets_that_node_fenced() {
    let history = [
        ("node1", started("st", "stonith")),
        ("node2", started("rsc", "ocf")),
    ];
    let got = plan(true, "stop", &["node2"], &history);
    assert_eq!(
        got,
        [
            "Fence (reboot) node2 'rsc is thought to be active there'",
            "Move rsc ( node2 -> node3 )"
        ]
    );
}

#[test]
fn fence_device_needs_quorum_to_start() {
    let got = plan(false, "freeze", &[], &[]);
    assert!(
        got.iter()
            .any(|l| l == "Start st ( node1 ) due to quorum freeze (blocked)"),
        "{got:?}"
    );
}

#[test]
fn stop_that_cannot_run_blocks_the_move() {
    // Without quorum node2 cannot be fenced, so rsc cannot stop there nor start elsewhere.
    let history = [
        ("node1", started("st", "stonith")),
        ("node2", started("rsc", "ocf")),
    ];
    let got = plan(false, "freeze", &["node2"], &history);
    assert_eq!(got, ["Stop rsc ( node2 ) blocked"]);
}
