//! Two links per node with real agents: three `herd agent` processes in network namespaces,
//! joined by two separate full meshes of veth pairs (link 0 and link 1). Cutting every link-0
//! veth of one node must not cost the cluster anything (the node stays online, the DC stays);
//! cutting its link 1 as well makes it lost, which shows link 1 carried the traffic. Root
//! only; skipped with a note otherwise. Namespaces are named per process and test and deleted
//! on drop. I/O: `ip`, processes, the agents' admin sockets.

use std::time::{Duration, Instant};

use crate::agents::{Cluster, Namespaces, dc, formed, inner, node_state, try_ip};

/// Node namespaces with two meshes; node `i` has 10.201.L.(i+1)/32 on lo for link L.
struct TwoLinks {
    nodes: Namespaces,
}

impl TwoLinks {
    fn new(n: usize) -> Result<TwoLinks, String> {
        let nodes = Namespaces::new("herdl", n, |i| {
            (0..2).map(|link| format!("10.201.{link}.{i}/32")).collect()
        })?;
        let net = TwoLinks { nodes };
        for link in 0..2 {
            for i in 1..=n {
                for j in (i + 1)..=n {
                    let (to_j, to_i) = (format!("l{link}to{j}"), format!("l{link}to{i}"));
                    net.nodes.add_veth(i - 1, &to_j, j - 1, &to_i)?;
                    net.route(i - 1, j - 1, link, true)?;
                }
            }
        }
        Ok(net)
    }

    /// Brings the link-`link` veth between nodes `a` and `b` (0-based) up with its routes,
    /// or down.
    fn route(&self, a: usize, b: usize, link: u8, up: bool) -> Result<(), String> {
        for (from, to) in [(a, b), (b, a)] {
            let ns = &self.nodes.names[from];
            let dev = format!("l{link}to{}", to + 1);
            try_ip(&[
                "-n",
                ns,
                "link",
                "set",
                &dev,
                if up { "up" } else { "down" },
            ])?;
            if up {
                let dest = format!("10.201.{link}.{}/32", to + 1);
                let src = format!("10.201.{link}.{}", from + 1);
                try_ip(&[
                    "-n", ns, "route", "replace", &dest, "dev", &dev, "src", &src,
                ])?;
            }
        }
        Ok(())
    }

    /// Cuts (or restores) every link-`link` veth of node `i`.
    fn set_node_link(&self, i: usize, link: u8, up: bool) {
        for j in (0..self.nodes.names.len()).filter(|j| *j != i) {
            self.route(i, j, link, up).expect("toggle a link");
        }
    }

    fn cluster(&self) -> Cluster {
        let addrs: Vec<String> = (1..=self.nodes.names.len())
            // The harness writes `addrs = ["{addr}"]`; this puts two addresses in it.
            .map(|i| format!("10.201.0.{i}:7400\", \"10.201.1.{i}:7400"))
            .collect();
        self.nodes.cluster(&addrs)
    }
}

#[test]
fn cutting_one_link_of_a_node_costs_nothing_and_cutting_both_loses_it() {
    let net = match TwoLinks::new(3) {
        Ok(net) => net,
        Err(err) => {
            println!("skipped: cannot build network namespaces ({err}); run as root with iproute2");
            return;
        }
    };
    let mut cluster = net.cluster();
    let first_dc = formed(&mut cluster, Duration::from_secs(20));
    let dc_idx = cluster.index_of(&first_dc);
    let victim = (dc_idx + 1) % 3;
    let observer = (dc_idx + 2) % 3;
    let victim_name = cluster.agents[victim].name.clone();

    net.set_node_link(victim, 0, false);
    let started = Instant::now();
    let mut states_seen: Vec<String> = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        for i in [dc_idx, observer] {
            if let Some(status) = inner(cluster.fast_status(i)) {
                assert_eq!(
                    dc(&status).as_deref(),
                    Some(first_dc.as_str()),
                    "the DC changed"
                );
                let state = node_state(&status, &victim_name).unwrap_or_default();
                if !states_seen.contains(&state) {
                    states_seen.push(state);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    println!("with link 0 of {victim_name} cut, others saw it as {states_seen:?} over 5 s");
    assert!(
        !states_seen.iter().any(|s| s == "lost"),
        "the node was lost with one link left: {states_seen:?}"
    );

    net.set_node_link(victim, 1, false);
    let took = cluster.wait_for(
        Duration::from_secs(5),
        "the node lost once both links are cut",
        |c| {
            inner(c.fast_status(observer))
                .is_some_and(|s| node_state(&s, &victim_name).as_deref() == Some("lost"))
        },
    );
    println!("both links cut: {victim_name} lost after {took:?}");

    net.set_node_link(victim, 1, true);
    let took = cluster.wait_for(Duration::from_secs(15), "the node back over link 1", |c| {
        inner(c.fast_status(observer))
            .is_some_and(|s| node_state(&s, &victim_name).as_deref() == Some("online"))
    });
    println!("link 1 restored: {victim_name} online again after {took:?}");
}
