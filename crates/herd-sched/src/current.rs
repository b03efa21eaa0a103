//! Which node counts as a resource's current one when it is active on several: for a
//! resource that does not need fencing, the first node it is active on that is online
//! and clean (an unclean node's copy goes away with the node); otherwise the first.
//!
//! No I/O.

use crate::cluster::{Cluster, RscIx, Variant};

/// Records, for each primitive active on several nodes, the node that counts as current.
pub(crate) fn pick_current_nodes(c: &mut Cluster) {
    for r in 0..c.rscs.len() {
        let rsc = &c.rscs[r];
        if rsc.variant != Variant::Primitive || rsc.running_on.len() < 2 || rsc.requires_fencing {
            continue;
        }
        let happy = rsc
            .running_on
            .iter()
            .copied()
            .find(|&n| c.nodes[n].online && !c.nodes[n].unclean);
        c.rscs[r].current_pick = happy;
    }
}

/// Whether the resource is active on more than one node, counting only online clean
/// nodes for a resource that does not need fencing (its copies on unclean nodes go away
/// with them, while it may already start elsewhere).
pub(crate) fn multiply_active(c: &Cluster, r: RscIx) -> bool {
    let rsc = &c.rscs[r];
    if rsc.requires_fencing {
        return rsc.running_on.len() > 1;
    }
    let clean = rsc
        .running_on
        .iter()
        .filter(|&&n| c.nodes[n].online && !c.nodes[n].unclean)
        .count();
    clean > 1
}

#[cfg(test)]
mod tests {
    /// A fence device active on a node about to be fenced and on a healthy node stays on
    /// the healthy one (its copy on the fenced node goes away with the fencing).
    #[test]
    fn device_active_on_unclean_and_clean_node_stays_on_the_clean_one() {
        let lrm = |id: &str, class: &str, rc: i32, task: &str| {
            format!(
                r#"<lrm_resource id="{id}" {class}><lrm_rsc_op id="{id}_{task}" operation="{task}" interval="0" call-id="2" rc-code="{rc}" op-status="0" transition-key="1:1:0:abc" last-rc-change="1699999900"/></lrm_resource>"#
            )
        };
        let st = r#"class="stonith" type="fence_dummy""#;
        let ocf = r#"class="ocf" provider="heartbeat" type="Dummy""#;
        let state = |n: &str, lrms: String| {
            format!(
                r#"<node_state id="{n}" uname="{n}" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="{n}"><lrm_resources>{lrms}</lrm_resources></lrm></node_state>"#
            )
        };
        // rsc failed to stop on node2 (node2 is fenced); the device runs on node2 and node3.
        let status = state("node1", String::new())
            + &state(
                "node2",
                lrm("st", st, 0, "start") + &lrm("rsc", ocf, 1, "stop"),
            )
            + &state("node3", lrm("st", st, 0, "start"));
        let xml = format!(
            r#"<cib have-quorum="1" epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="cps"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config><nodes><node id="node1" uname="node1"/><node id="node2" uname="node2"/><node id="node3" uname="node3"/></nodes><resources><primitive id="st" {st}/><primitive id="rsc" {ocf}/></resources><constraints/></configuration><status>{status}</status></cib>"#
        );
        let (cib, _) = herd_cib::parse_str(&xml, "test.xml").unwrap();
        let got = crate::schedule(&cib, 1_700_000_000).summary_lines();
        assert!(got.iter().all(|l| !l.contains(" st ")), "{got:?}");
    }
}
