//! Synthetic clusters for the scheduler benchmark: N nodes, R primitives arranged as
//! standalone primitives, groups and clones, with location, colocation and order
//! constraints, and about half of the resources running. Deterministic from a seed.
//!
//! Pure text generation (no I/O): the `herd-synth` binary writes the result to a file.

use std::fmt::Write as _;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSpec {
    pub nodes: usize,
    /// Number of primitives (group members and cloned primitives included).
    pub resources: usize,
    pub seed: u64,
}

/// splitmix64: tiny, fast and stable across releases, so a seed means the same cluster
/// forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability percent/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A top-level item of the generated resources section.
enum Item {
    Primitive(String),
    Group(String, Vec<String>),
    Clone(String, String),
}

const GROUP_SIZE: usize = 4;
const CLONE_MAX: usize = 4;

/// Generates the CIB text.
pub fn generate(spec: SynthSpec) -> String {
    let mut rng = Rng(spec.seed);
    let nodes = spec.nodes.max(1);
    let items = plan_items(spec.resources, &mut rng);
    let mut xml = String::with_capacity(spec.resources * 900 + 4096);
    let _ = writeln!(
        xml,
        "<cib validate-with=\"pacemaker-3.7\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" \
         have-quorum=\"1\" dc-uuid=\"1\" execution-date=\"1700000000\">\n  <configuration>\n    \
         <crm_config>\n      <cluster_property_set id=\"cib-bootstrap-options\">\n        \
         <nvpair id=\"opt-stonith\" name=\"stonith-enabled\" value=\"false\"/>\n      \
         </cluster_property_set>\n    </crm_config>\n    <nodes>"
    );
    for node in 1..=nodes {
        let _ = writeln!(xml, "      <node id=\"{node}\" uname=\"node{node:02}\"/>");
    }
    xml.push_str("    </nodes>\n    <resources>\n");
    for item in &items {
        write_item(&mut xml, item);
    }
    xml.push_str("    </resources>\n    <constraints>\n");
    write_constraints(&mut xml, &items, nodes, &mut rng);
    xml.push_str(
        "    </constraints>\n    <rsc_defaults>\n      <meta_attributes id=\"rsc-defaults\">\n        \
         <nvpair id=\"rsc-stickiness\" name=\"resource-stickiness\" value=\"100\"/>\n      \
         </meta_attributes>\n    </rsc_defaults>\n  </configuration>\n  <status>\n",
    );
    write_status(&mut xml, &items, nodes, &mut rng);
    xml.push_str("  </status>\n</cib>\n");
    xml
}

/// About 2% of primitives are cloned, 20% are in groups of four, the rest stand alone.
fn plan_items(n_resources: usize, rng: &mut Rng) -> Vec<Item> {
    let n_clones = (n_resources / 50).max(usize::from(n_resources >= 10));
    let n_groups = n_resources / 5 / GROUP_SIZE;
    let n_primitives = n_resources.saturating_sub(n_clones + n_groups * GROUP_SIZE);
    let mut items = Vec::new();
    let (mut clones, mut groups, mut primitives) = (0, 0, 0);
    while clones < n_clones || groups < n_groups || primitives < n_primitives {
        let pick = rng.below(100);
        if pick < 3 && clones < n_clones {
            items.push(Item::Clone(
                format!("clone-{clones}"),
                format!("cloned-{clones}"),
            ));
            clones += 1;
        } else if pick < 10 && groups < n_groups {
            let members = (0..GROUP_SIZE).map(|m| format!("g{groups}-m{m}")).collect();
            items.push(Item::Group(format!("group-{groups}"), members));
            groups += 1;
        } else if primitives < n_primitives {
            items.push(Item::Primitive(format!("rsc-{primitives}")));
            primitives += 1;
        } else if clones < n_clones {
            items.push(Item::Clone(
                format!("clone-{clones}"),
                format!("cloned-{clones}"),
            ));
            clones += 1;
        } else {
            let members = (0..GROUP_SIZE).map(|m| format!("g{groups}-m{m}")).collect();
            items.push(Item::Group(format!("group-{groups}"), members));
            groups += 1;
        }
    }
    items
}

fn write_primitive(xml: &mut String, id: &str, indent: &str) {
    let _ = writeln!(
        xml,
        "{indent}<primitive id=\"{id}\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\n\
         {indent}  <operations>\n\
         {indent}    <op id=\"{id}-monitor-10s\" name=\"monitor\" interval=\"10s\" timeout=\"20s\"/>\n\
         {indent}  </operations>\n\
         {indent}</primitive>"
    );
}

fn write_item(xml: &mut String, item: &Item) {
    match item {
        Item::Primitive(id) => write_primitive(xml, id, "      "),
        Item::Group(id, members) => {
            let _ = writeln!(xml, "      <group id=\"{id}\">");
            for member in members {
                write_primitive(xml, member, "        ");
            }
            xml.push_str("      </group>\n");
        }
        Item::Clone(id, primitive) => {
            let _ = writeln!(
                xml,
                "      <clone id=\"{id}\">\n        <meta_attributes id=\"{id}-meta\">\n          \
                 <nvpair id=\"{id}-max\" name=\"clone-max\" value=\"{CLONE_MAX}\"/>\n          \
                 <nvpair id=\"{id}-interleave\" name=\"interleave\" value=\"true\"/>\n        \
                 </meta_attributes>"
            );
            write_primitive(xml, primitive, "        ");
            xml.push_str("      </clone>\n");
        }
    }
}

fn item_id(item: &Item) -> &str {
    match item {
        Item::Primitive(id) | Item::Group(id, _) | Item::Clone(id, _) => id,
    }
}

/// Locations for 20% of the items, colocations and orders for 5% each, always pointing to
/// an earlier item so that there are no loops.
fn write_constraints(xml: &mut String, items: &[Item], nodes: usize, rng: &mut Rng) {
    for (index, item) in items.iter().enumerate() {
        let id = item_id(item);
        if !matches!(item, Item::Clone(..)) && rng.chance(20) {
            let node = rng.below(nodes) + 1;
            let score = 50 + rng.below(450);
            let _ = writeln!(
                xml,
                "      <rsc_location id=\"loc-{id}\" rsc=\"{id}\" node=\"node{node:02}\" \
                 score=\"{score}\"/>"
            );
        }
        if index == 0 {
            continue;
        }
        let earlier = item_id(&items[rng.below(index)]);
        if rng.chance(5) {
            let score = if rng.chance(50) {
                "INFINITY".to_owned()
            } else {
                "200".to_owned()
            };
            let _ = writeln!(
                xml,
                "      <rsc_colocation id=\"col-{id}\" rsc=\"{id}\" with-rsc=\"{earlier}\" \
                 score=\"{score}\"/>"
            );
        }
        if rng.chance(5) {
            let kind = if rng.chance(50) {
                "Mandatory"
            } else {
                "Optional"
            };
            let _ = writeln!(
                xml,
                "      <rsc_order id=\"ord-{id}\" first=\"{earlier}\" then=\"{id}\" kind=\"{kind}\"/>"
            );
        }
    }
}

/// Every node online; about half of the items running (a group on one node, a clone on
/// clone-max nodes), each with a start and a monitor in its history.
fn write_status(xml: &mut String, items: &[Item], nodes: usize, rng: &mut Rng) {
    let mut per_node: Vec<Vec<(String, usize)>> = vec![Vec::new(); nodes];
    let mut call_id = 10;
    for item in items {
        if !rng.chance(50) {
            continue;
        }
        match item {
            Item::Primitive(id) => {
                per_node[rng.below(nodes)].push((id.clone(), next(&mut call_id)))
            }
            Item::Group(_, members) => {
                let node = rng.below(nodes);
                for member in members {
                    per_node[node].push((member.clone(), next(&mut call_id)));
                }
            }
            Item::Clone(_, primitive) => {
                let first = rng.below(nodes);
                for offset in 0..CLONE_MAX.min(nodes) {
                    per_node[(first + offset) % nodes]
                        .push((primitive.clone(), next(&mut call_id)));
                }
            }
        }
    }
    for (index, running) in per_node.iter().enumerate() {
        let node = index + 1;
        let _ = writeln!(
            xml,
            "    <node_state id=\"{node}\" uname=\"node{node:02}\" in_ccm=\"true\" crmd=\"online\" \
             crm-debug-origin=\"synth\" join=\"member\" expected=\"member\">\n      \
             <lrm id=\"{node}\">\n        <lrm_resources>"
        );
        for (id, call) in running {
            write_history(xml, id, node, *call);
        }
        xml.push_str("        </lrm_resources>\n      </lrm>\n    </node_state>\n");
    }
}

fn next(counter: &mut usize) -> usize {
    *counter += 2;
    *counter
}

/// Pacemaker's digest of the parameters a start had: MD5 of ` <parameters/>` and a newline
/// (a Dummy with no instance attributes). With it in the history, crm_simulate sees no
/// definition change and restarts nothing.
const START_DIGEST: &str = "f2317cad3d54cec5d7d7aa7d0bf35cf8";
/// The same for the 10 s monitor, whose parameters hold its 20 s timeout:
/// MD5 of ` <parameters CRM_meta_timeout="20000"/>` and a newline.
const MONITOR_DIGEST: &str = "4811cef7f7f94e3a35a70be7916cb2fd";

fn write_history(xml: &mut String, id: &str, node: usize, call_id: usize) {
    let monitor_call = call_id + 1;
    let _ = writeln!(
        xml,
        "          <lrm_resource id=\"{id}\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\n\
         \x20           <lrm_rsc_op id=\"{id}_last_0\" operation_key=\"{id}_start_0\" \
         operation=\"start\" crm-debug-origin=\"synth\" crm_feature_set=\"3.16.2\" \
         transition-key=\"1:1:0:synth\" transition-magic=\"0:0;1:1:0:synth\" exit-reason=\"\" \
         on_node=\"node{node:02}\" call-id=\"{call_id}\" rc-code=\"0\" op-status=\"0\" interval=\"0\" \
         last-rc-change=\"1699999000\" exec-time=\"10\" queue-time=\"0\" \
         op-digest=\"{START_DIGEST}\"/>\n\
         \x20           <lrm_rsc_op id=\"{id}_monitor_10000\" operation_key=\"{id}_monitor_10000\" \
         operation=\"monitor\" crm-debug-origin=\"synth\" crm_feature_set=\"3.16.2\" \
         transition-key=\"2:1:0:synth\" transition-magic=\"0:0;2:1:0:synth\" exit-reason=\"\" \
         on_node=\"node{node:02}\" call-id=\"{monitor_call}\" rc-code=\"0\" op-status=\"0\" \
         interval=\"10000\" last-rc-change=\"1699999000\" exec-time=\"5\" queue-time=\"0\" \
         op-digest=\"{MONITOR_DIGEST}\"/>\n\
         \x20         </lrm_resource>"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resources: usize, seed: u64) -> SynthSpec {
        SynthSpec {
            nodes: 32,
            resources,
            seed,
        }
    }

    #[test]
    fn same_seed_gives_the_same_cluster() {
        assert_eq!(generate(spec(300, 7)), generate(spec(300, 7)));
        assert_ne!(generate(spec(300, 7)), generate(spec(300, 8)));
    }

    #[test]
    fn generated_cluster_parses_cleanly_with_the_requested_size() {
        let (cib, diagnostics) = herd_cib::parse_str(&generate(spec(1000, 1)), "synth.xml")
            .expect("generated CIB parses");
        assert!(
            diagnostics.is_empty(),
            "{:?}",
            &diagnostics[..diagnostics.len().min(3)]
        );
        let n_primitives: usize = cib
            .configuration
            .resources
            .iter()
            .map(|resource| resource.primitives().len())
            .sum();
        assert_eq!(n_primitives, 1000);
        assert_eq!(cib.configuration.nodes.len(), 32);
        let kinds = |f: fn(&herd_cib::Resource) -> bool| {
            cib.configuration.resources.iter().filter(|r| f(r)).count()
        };
        assert!(kinds(|r| matches!(r, herd_cib::Resource::Group(_))) > 0);
        assert!(kinds(|r| matches!(r, herd_cib::Resource::Clone(_))) > 0);
        assert!(cib.configuration.constraints.len() > 100);
    }

    #[test]
    fn about_half_of_the_resources_are_running() {
        let (cib, _) = herd_cib::parse_str(&generate(spec(2000, 3)), "synth.xml").expect("parses");
        let running: std::collections::BTreeSet<&str> = cib
            .status
            .node_states
            .iter()
            .flat_map(|state| state.lrm_resources().iter().map(|r| r.id.as_str()))
            .collect();
        assert!(
            (800..1200).contains(&running.len()),
            "{} running",
            running.len()
        );
    }
}
