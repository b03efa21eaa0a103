//! Behaviour pinned on small hand-written CIBs, one concept per test, checked through the
//! `Transition Summary:` lines (the same normalized form as the corpus).

const NOW: i64 = 1_700_000_000;

/// A CIB with two or three online nodes; `extra_status` goes inside each node_state by
/// node name (lrm history or transient attributes).
struct Cib {
    nodes: Vec<&'static str>,
    options: String,
    resources: String,
    constraints: String,
    status: Vec<(&'static str, String)>,
    quorum: bool,
    offline: Vec<&'static str>,
}

impl Cib {
    fn new(nodes: &[&'static str]) -> Cib {
        Cib {
            nodes: nodes.to_vec(),
            options: r#"<nvpair id="o1" name="stonith-enabled" value="false"/>"#.to_owned(),
            resources: String::new(),
            constraints: String::new(),
            status: vec![],
            quorum: true,
            offline: vec![],
        }
    }
    fn option(mut self, name: &str, value: &str) -> Cib {
        self.options += &format!(r#"<nvpair id="o-{name}" name="{name}" value="{value}"/>"#);
        self
    }
    fn rsc(mut self, xml: &str) -> Cib {
        self.resources += xml;
        self
    }
    fn cons(mut self, xml: &str) -> Cib {
        self.constraints += xml;
        self
    }
    fn on(mut self, node: &'static str, xml: &str) -> Cib {
        self.status.push((node, xml.to_owned()));
        self
    }
    /// History: `rsc` was started on `node` (and optionally more ops after it).
    fn running(self, node: &'static str, rsc: &str) -> Cib {
        let xml = lrm(rsc, &[("start", 0, 0, 2)]);
        self.on(node, &xml)
    }
    fn summary(&self) -> Vec<String> {
        let (cib, _) = herd_cib::parse_str(&self.xml(), "test.xml").unwrap();
        herd_sched::schedule(&cib, NOW).summary_lines()
    }
    fn transition(&self) -> herd_sched::Transition {
        let (cib, _) = herd_cib::parse_str(&self.xml(), "test.xml").unwrap();
        herd_sched::schedule(&cib, NOW)
    }
    fn xml(&self) -> String {
        let nodes: String = self
            .nodes
            .iter()
            .map(|n| format!(r#"<node id="{n}" uname="{n}"/>"#))
            .collect();
        let mut status = String::new();
        for n in &self.nodes {
            let up = !self.offline.contains(n);
            let (ccm, crmd) = if up {
                ("true", "online")
            } else {
                ("false", "offline")
            };
            let mut attrs = String::new();
            let mut lrms = String::new();
            for (node, xml) in &self.status {
                if node == n {
                    if xml.starts_with("<nvpair") {
                        attrs += xml;
                    } else {
                        lrms += xml;
                    }
                }
            }
            let expected = if up { "member" } else { "down" };
            status += &format!(
                r#"<node_state id="{n}" uname="{n}" in_ccm="{ccm}" crmd="{crmd}" join="{expected}" expected="{expected}"><transient_attributes id="t-{n}"><instance_attributes id="ta-{n}">{attrs}</instance_attributes></transient_attributes><lrm id="{n}"><lrm_resources>{lrms}</lrm_resources></lrm></node_state>"#
            );
        }
        format!(
            r#"<cib have-quorum="{}" epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="cps">{}</cluster_property_set></crm_config><nodes>{nodes}</nodes><resources>{}</resources><constraints>{}</constraints></configuration><status>{status}</status></cib>"#,
            if self.quorum { 1 } else { 0 },
            self.options,
            self.resources,
            self.constraints
        )
    }
}

/// An lrm_resource with ops `(task, interval_ms, rc, call_id)`, expecting rc 0 (7 for probes).
fn lrm(rsc: &str, ops: &[(&str, u32, i32, i32)]) -> String {
    let mut out =
        format!(r#"<lrm_resource id="{rsc}" class="ocf" provider="heartbeat" type="Dummy">"#);
    for (task, interval, rc, call) in ops {
        let target = if *task == "monitor" && *interval == 0 {
            7
        } else {
            0
        };
        out += &format!(
            r#"<lrm_rsc_op id="{rsc}_{task}_{interval}" operation="{task}" interval="{interval}" call-id="{call}" rc-code="{rc}" op-status="0" transition-key="1:1:{target}:abc" last-rc-change="{}"/>"#,
            NOW - 100
        );
    }
    out + "</lrm_resource>"
}

fn prim(id: &str) -> String {
    format!(r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="Dummy"/>"#)
}

#[test]
fn stopped_resource_starts_on_first_node_by_name() {
    let cib = Cib::new(&["node2", "node1"]).rsc(&prim("rsc1"));
    assert_eq!(cib.summary(), ["Start rsc1 ( node1 )"]);
}

#[test]
fn minus_infinity_location_bans_node() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .cons(r#"<rsc_location id="l1" rsc="rsc1" node="node1" score="-INFINITY"/>"#);
    assert_eq!(cib.summary(), ["Start rsc1 ( node2 )"]);
}

#[test]
fn location_rule_on_node_attribute_places_resource() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .on("node2", r#"<nvpair id="a1" name="site" value="east"/>"#)
        .cons(r#"<rsc_location id="l1" rsc="rsc1"><rule id="r1" score="50"><expression id="e1" attribute="site" operation="eq" value="east"/></rule></rsc_location>"#);
    assert_eq!(cib.summary(), ["Start rsc1 ( node2 )"]);
}

#[test]
fn stickiness_keeps_running_resource_against_weaker_preference() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(r#"<primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="m1"><nvpair id="m1s" name="resource-stickiness" value="100"/></meta_attributes></primitive>"#)
        .cons(r#"<rsc_location id="l1" rsc="rsc1" node="node1" score="50"/>"#)
        .running("node2", "rsc1");
    assert!(cib.summary().is_empty());
}

#[test]
fn stronger_preference_moves_running_resource() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .cons(r#"<rsc_location id="l1" rsc="rsc1" node="node1" score="50"/>"#)
        .running("node2", "rsc1");
    assert_eq!(cib.summary(), ["Move rsc1 ( node2 -> node1 )"]);
}

#[test]
fn failed_monitor_recovers_in_place() {
    let cib = Cib::new(&["node1", "node2"]).rsc(&prim("rsc1")).on(
        "node1",
        &lrm("rsc1", &[("start", 0, 0, 2), ("monitor", 10000, 7, 3)]),
    );
    assert_eq!(cib.summary(), ["Recover rsc1 ( node1 )"]);
}

#[test]
fn fail_count_at_migration_threshold_moves_resource() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(r#"<primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="m1"><nvpair id="m1t" name="migration-threshold" value="2"/></meta_attributes></primitive>"#)
        .on("node1", &lrm("rsc1", &[("start", 0, 0, 2), ("monitor", 10000, 7, 3)]))
        .on("node1", r#"<nvpair id="f1" name="fail-count-rsc1#monitor_10000" value="2"/>"#);
    assert_eq!(cib.summary(), ["Recover rsc1 ( node1 -> node2 )"]);
}

#[test]
fn expired_fail_count_is_ignored() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(r#"<primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="m1"><nvpair id="m1t" name="migration-threshold" value="1"/><nvpair id="m1f" name="failure-timeout" value="60s"/></meta_attributes></primitive>"#)
        .running("node1", "rsc1")
        .on("node1", &format!(r#"<nvpair id="f1" name="fail-count-rsc1#monitor_10000" value="1"/><nvpair id="f2" name="last-failure-rsc1#monitor_10000" value="{}"/>"#, NOW - 3600));
    assert!(cib.summary().is_empty());
}

#[test]
fn group_members_follow_the_first_member() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&format!(
            r#"<group id="g1">{}{}</group>"#,
            prim("a"),
            prim("b")
        ))
        .cons(r#"<rsc_location id="l1" rsc="g1" node="node2" score="10"/>"#);
    assert_eq!(cib.summary(), ["Start a ( node2 )", "Start b ( node2 )"]);
}

#[test]
fn group_member_recovery_restarts_later_members() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&format!(
            r#"<group id="g1">{}{}</group>"#,
            prim("a"),
            prim("b")
        ))
        .on(
            "node1",
            &lrm("a", &[("start", 0, 0, 2), ("monitor", 10000, 7, 4)]),
        )
        .running("node1", "b");
    assert_eq!(
        cib.summary(),
        [
            "Recover a ( node1 )",
            "Restart b ( node1 ) due to required a start"
        ]
    );
}

#[test]
fn anti_colocated_dependent_pushes_its_primary_away() {
    // b must not run with a and prefers node1; a takes b's preference into account
    // (negated), so a leaves node1 to b.
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&(prim("a") + &prim("b")))
        .cons(r#"<rsc_colocation id="c1" rsc="b" with-rsc="a" score="-INFINITY"/>"#)
        .cons(r#"<rsc_location id="l1" rsc="b" node="node1" score="100"/>"#);
    assert_eq!(cib.summary(), ["Start a ( node2 )", "Start b ( node1 )"]);
}

#[test]
fn mandatory_colocation_follows_primary() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&(prim("a") + &prim("b")))
        .cons(r#"<rsc_colocation id="c1" rsc="b" with-rsc="a" score="INFINITY"/>"#)
        .cons(r#"<rsc_location id="l1" rsc="a" node="node2" score="10"/>"#);
    assert_eq!(cib.summary(), ["Start a ( node2 )", "Start b ( node2 )"]);
}

#[test]
fn mandatory_order_blocks_then_when_first_cannot_start() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&(prim("a") + &prim("b")))
        .cons(r#"<rsc_location id="l1" rsc="a" node="node1" score="-INFINITY"/><rsc_location id="l2" rsc="a" node="node2" score="-INFINITY"/>"#)
        .cons(r#"<rsc_order id="o1" first="a" then="b" kind="Mandatory"/>"#);
    assert_eq!(
        cib.summary(),
        ["Start b ( node1 ) due to unrunnable a start (blocked)"]
    );
}

#[test]
fn anonymous_clone_runs_one_instance_per_node() {
    let cib =
        Cib::new(&["node1", "node2"]).rsc(&format!(r#"<clone id="c1">{}</clone>"#, prim("p")));
    assert_eq!(
        cib.summary(),
        ["Start p:0 ( node1 )", "Start p:1 ( node2 )"]
    );
}

#[test]
fn promotable_clone_promotes_highest_promotion_score() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&format!(r#"<clone id="ms"><meta_attributes id="msm"><nvpair id="msp" name="promotable" value="true"/></meta_attributes>{}</clone>"#, prim("s")))
        .running("node1", "s")
        .running("node2", "s")
        .on("node2", r#"<nvpair id="p2" name="master-s" value="10"/>"#)
        .on("node1", r#"<nvpair id="p1" name="master-s" value="5"/>"#);
    assert_eq!(
        cib.summary(),
        ["Promote s:1 ( Unpromoted -> Promoted node2 )"]
    );
}

#[test]
fn lost_node_is_fenced_and_its_resources_move() {
    let mut cib = Cib::new(&["node1", "node2"])
        .option("stonith-enabled", "true")
        .rsc(r#"<primitive id="fence" class="stonith" type="fence_dummy"/>"#)
        .rsc(&prim("rsc1"))
        .running("node1", "fence")
        .running("node2", "rsc1");
    cib.options = r#"<nvpair id="o1" name="stonith-enabled" value="true"/>"#.to_owned();
    let xml = cib.xml().replace(
        r#"<node_state id="node2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">"#,
        r#"<node_state id="node2" uname="node2" in_ccm="false" crmd="offline" join="down" expected="member">"#,
    );
    let (parsed, _) = herd_cib::parse_str(&xml, "t.xml").unwrap();
    let lines = herd_sched::schedule(&parsed, NOW).summary_lines();
    assert_eq!(
        lines,
        [
            "Fence (reboot) node2 'peer is no longer part of the cluster'",
            "Move rsc1 ( node2 -> node1 )"
        ]
    );
}

#[test]
fn no_quorum_policy_stop_stops_resources() {
    let mut cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .running("node1", "rsc1");
    cib.quorum = false;
    assert_eq!(cib.summary(), ["Stop rsc1 ( node1 ) due to no quorum"]);
}

#[test]
fn standby_node_resources_move_away() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .running("node1", "rsc1")
        .on("node1", r#"<nvpair id="s1" name="standby" value="on"/>"#);
    assert_eq!(cib.summary(), ["Move rsc1 ( node1 -> node2 )"]);
}

#[test]
fn allow_migrate_moves_by_migration() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(r#"<primitive id="vm" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="m"><nvpair id="ma" name="allow-migrate" value="true"/></meta_attributes></primitive>"#)
        .cons(r#"<rsc_location id="l1" rsc="vm" node="node2" score="100"/>"#)
        .running("node1", "vm");
    assert_eq!(cib.summary(), ["Migrate vm ( node1 -> node2 )"]);
}

#[test]
fn unmanaged_resource_is_left_alone() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(r#"<primitive id="rsc1" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="m"><nvpair id="mm" name="is-managed" value="false"/></meta_attributes></primitive>"#)
        .cons(r#"<rsc_location id="l1" rsc="rsc1" node="node1" score="-INFINITY"/>"#)
        .running("node1", "rsc1");
    assert!(cib.summary().is_empty());
}

#[test]
fn revoked_ticket_stops_dependent_resource() {
    let cib = Cib::new(&["node1", "node2"])
        .rsc(&prim("rsc1"))
        .cons(r#"<rsc_ticket id="t1" rsc="rsc1" ticket="tA"/>"#)
        .running("node1", "rsc1");
    assert_eq!(
        cib.summary(),
        ["Stop rsc1 ( node1 ) due to node availability"]
    );
}

#[test]
fn orphan_in_history_is_stopped() {
    let cib = Cib::new(&["node1", "node2"]).running("node1", "gone");
    assert_eq!(
        cib.summary(),
        ["Stop gone ( node1 ) due to node availability"]
    );
}

#[test]
fn constraint_to_missing_resource_is_a_diagnostic_not_a_panic() {
    let cib = Cib::new(&["node1"])
        .rsc(&prim("rsc1"))
        .cons(r#"<rsc_colocation id="c1" rsc="rsc1" with-rsc="nope" score="INFINITY"/>"#);
    let t = cib.transition();
    assert_eq!(t.summary_lines(), ["Start rsc1 ( node1 )"]);
    assert!(
        t.diagnostics()
            .iter()
            .any(|d| d.id == "c1" && d.message.contains("nope"))
    );
}

#[test]
fn ordering_loop_does_not_hang() {
    let cib = Cib::new(&["node1"])
        .rsc(&(prim("a") + &prim("b")))
        .cons(r#"<rsc_order id="o1" first="a" then="b"/><rsc_order id="o2" first="b" then="a"/>"#)
        .cons(r#"<rsc_colocation id="c1" rsc="a" with-rsc="b" score="INFINITY"/><rsc_colocation id="c2" rsc="b" with-rsc="a" score="INFINITY"/>"#);
    let lines = cib.summary();
    assert_eq!(lines.len(), 2, "{lines:?}");
}
