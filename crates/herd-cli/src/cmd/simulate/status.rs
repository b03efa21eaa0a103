//! The cluster status block of `herd simulate` ("Node List" and "Full List of Resources"),
//! in crm_mon's layout, before or after the transition.
//!
//! Pure formatting of herd-sched's node and resource states; no I/O.

use herd_sched::{ResourceState, Role, Transition};

/// Formats seconds since the epoch as crm_simulate prints dates (UTC).
pub(crate) fn format_date(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

pub(crate) fn render(t: &Transition, after: bool) -> String {
    let mut out = String::from("  * Node List:\n");
    let fenced = |n: &herd_sched::NodeState| after && n.will_fence;
    let online: Vec<&str> = t
        .nodes
        .iter()
        .filter(|n| n.online && !n.standby && !n.maintenance && !fenced(n))
        .map(|n| n.name.as_str())
        .collect();
    for n in &t.nodes {
        if n.unclean && !fenced(n) {
            let state = if n.online {
                "UNCLEAN (online)"
            } else {
                "UNCLEAN (offline)"
            };
            out.push_str(&format!("    * Node {}: {state}\n", n.name));
        } else if n.online && n.standby && !n.pending {
            let active = !after && t.resources.iter().any(|r| r.nodes.contains(&n.name));
            let extra = if active {
                " (with active resources)"
            } else {
                ""
            };
            out.push_str(&format!("    * Node {}: standby{extra}\n", n.name));
        } else if n.online && n.pending {
            out.push_str(&format!("    * Node {}: pending\n", n.name));
        } else if n.online && n.maintenance {
            out.push_str(&format!("    * Node {}: maintenance\n", n.name));
        }
    }
    if !online.is_empty() {
        out.push_str(&format!("    * Online: [ {} ]\n", online.join(" ")));
    }
    let offline: Vec<&str> = t
        .nodes
        .iter()
        .filter(|n| (!n.online && !n.unclean) || fenced(n))
        .map(|n| n.name.as_str())
        .collect();
    if !offline.is_empty() {
        out.push_str(&format!("    * OFFLINE: [ {} ]\n", offline.join(" ")));
    }
    out.push_str("\n  * Full List of Resources:\n");
    if t.resources.is_empty() {
        out.push_str("    * No resources\n");
    }
    let mut i = 0;
    while i < t.resources.len() {
        i = render_resource(t, i, 4, after, &mut out);
    }
    out
}

fn state_of(r: &ResourceState, after: bool) -> (Role, Vec<String>) {
    if after {
        (r.next_role, r.next_node.iter().cloned().collect())
    } else {
        (r.role, r.nodes.clone())
    }
}

fn primitive_line(t: &Transition, r: &ResourceState, after: bool) -> String {
    let (role, nodes) = state_of(r, after);
    let mut state = if nodes.is_empty() {
        "Stopped".to_owned()
    } else {
        let role = if role == Role::Unknown {
            Role::Started
        } else {
            role
        };
        let word = if r.failed && !after {
            "FAILED".to_owned()
        } else {
            role_word(role).to_owned()
        };
        let word = if r.failed && !after && role == Role::Promoted {
            "FAILED Promoted".to_owned()
        } else {
            word
        };
        format!("{word} {}", nodes.join(" "))
    };
    if r.orphan {
        state.push_str(" (ORPHANED)");
    }
    if !after
        && nodes
            .iter()
            .any(|n| t.nodes.iter().any(|x| &x.name == n && x.unclean))
    {
        state.push_str(" (UNCLEAN)");
    }
    if r.disabled {
        state.push_str(" (disabled)");
    }
    if !r.managed {
        state.push_str(" (unmanaged)");
    }
    format!("{}\t({}):\t {state}", r.id, r.agent)
}

fn role_word(role: Role) -> &'static str {
    match role {
        Role::Promoted => "Promoted",
        Role::Unpromoted => "Unpromoted",
        Role::Stopped => "Stopped",
        _ => "Started",
    }
}

/// Renders resource `i` (and its subtree); returns the index after the subtree.
fn render_resource(
    t: &Transition,
    i: usize,
    indent: usize,
    after: bool,
    out: &mut String,
) -> usize {
    let r = &t.resources[i];
    let pad = " ".repeat(indent);
    let end = subtree_end(t, i);
    match r.kind {
        "group" => {
            out.push_str(&format!("{pad}* Resource Group: {}:\n", r.id));
            let mut j = i + 1;
            while j < end {
                j = render_resource(t, j, indent + 2, after, out);
            }
        }
        "clone" => {
            let child = t
                .resources
                .get(i + 1)
                .map_or("", |c| c.id.split(':').next().unwrap_or(""));
            let mut flags = vec![];
            if r.promotable {
                flags.push("promotable");
            }
            if r.unique {
                flags.push("unique");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!(" ({})", flags.join(", "))
            };
            out.push_str(&format!("{pad}* Clone Set: {} [{child}]{flags}:\n", r.id));
            render_clone(t, i, end, indent + 2, after, out);
        }
        "bundle" => out.push_str(&format!("{pad}* Container bundle: {}:\n", r.id)),
        _ => out.push_str(&format!("{pad}* {}\n", primitive_line(t, r, after))),
    }
    end
}

fn subtree_end(t: &Transition, i: usize) -> usize {
    let depth = t.resources[i].depth;
    let mut j = i + 1;
    while j < t.resources.len() && t.resources[j].depth > depth {
        j += 1;
    }
    j
}

fn render_clone(
    t: &Transition,
    i: usize,
    end: usize,
    indent: usize,
    after: bool,
    out: &mut String,
) {
    let r = &t.resources[i];
    let pad = " ".repeat(indent);
    let instances: Vec<usize> = (i + 1..end)
        .filter(|&j| t.resources[j].depth == r.depth + 1)
        .collect();
    let simple = !r.unique
        && instances.iter().all(|&j| {
            t.resources[j].kind == "primitive" && !t.resources[j].failed && t.resources[j].managed
        });
    if !simple {
        for j in instances {
            render_resource(t, j, indent, after, out);
        }
        return;
    }
    let mut promoted = vec![];
    let mut started = vec![];
    let mut active_nodes = vec![];
    for &j in &instances {
        let (role, nodes) = state_of(&t.resources[j], after);
        for n in nodes {
            active_nodes.push(n.clone());
            match role {
                Role::Promoted => promoted.push(n),
                _ => started.push(n),
            }
        }
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.join(" ")
    };
    if !promoted.is_empty() {
        out.push_str(&format!("{pad}* Promoted: [ {} ]\n", sorted(promoted)));
    }
    if !started.is_empty() {
        let word = if r.promotable {
            "Unpromoted"
        } else {
            "Started"
        };
        out.push_str(&format!("{pad}* {word}: [ {} ]\n", sorted(started)));
    }
    let stopped: Vec<String> = t
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .filter(|n| !active_nodes.contains(n))
        .collect();
    if !stopped.is_empty() {
        out.push_str(&format!("{pad}* Stopped: [ {} ]\n", stopped.join(" ")));
    }
}
