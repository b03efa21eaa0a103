//! Probes that cannot run yet: a resource's state must be probed on every online node
//! where it is unknown before it starts anywhere; on a node that is still joining
//! (pending) the probe cannot run, so a resource that is active nowhere cannot start.
//!
//! Not the probe actions themselves (herd does not list them). No I/O.

use crate::cluster::{Cluster, RscIx, Variant};

/// Whether `r` (a primitive outside any clone) cannot start because a probe it needs
/// first is on a pending node.
pub(crate) fn start_blocked_by_pending_probe(c: &Cluster, r: RscIx) -> bool {
    let rsc = &c.rscs[r];
    let in_clone = std::iter::successors(rsc.parent, |&p| c.rscs[p].parent)
        .any(|p| c.rscs[p].variant == Variant::Clone);
    if in_clone || rsc.orphan || !rsc.running_on.is_empty() || rsc.meta.contains_key("container") {
        return false;
    }
    (0..c.nodes.len()).any(|n| {
        let node = &c.nodes[n];
        node.online && !node.unclean && node.pending && !node.remote && !rsc.known_on.contains(&n)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn resource_unknown_on_a_joining_node_cannot_start_yet() {
        let state = |n: &str, join: &str| {
            format!(
                r#"<node_state id="{n}" uname="{n}" in_ccm="true" crmd="online" join="{join}" expected="member"/>"#
            )
        };
        let xml = format!(
            r#"<cib have-quorum="1" epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0"><configuration><crm_config><cluster_property_set id="cps"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config><nodes><node id="node1" uname="node1"/><node id="node2" uname="node2"/></nodes><resources><primitive id="st" class="stonith" type="fence_dummy"/></resources><constraints/></configuration><status>{}{}</status></cib>"#,
            state("node1", "member"),
            state("node2", "pending")
        );
        let (cib, _) = herd_cib::parse_str(&xml, "test.xml").unwrap();
        let got = crate::schedule(&cib, 1_700_000_000).summary_lines();
        assert_eq!(got, ["Start st ( node1 ) blocked"]);
    }
}
