//! `herd simulate` end to end: the README's example CIB gives crm_simulate's summary, a
//! broken file gives a clear error and exit 2.

use std::process::Command;

const HERD: &str = env!("CARGO_BIN_EXE_herd");

fn example() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/web-cluster.xml")
}

#[test]
fn simulate_web_cluster_moves_vip_recovers_haproxy_moves_db() {
    let out = Command::new(HERD)
        .args(["simulate", "-x"])
        .arg(example())
        .arg("-S")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let summary = "Transition Summary:\n  * Move       vip         ( node1 -> node2 )\n  * Recover    haproxy     ( node1 -> node2 )\n  * Move       db          ( node1 -> node2 )\n";
    assert!(text.contains(summary), "got:\n{text}");
    assert!(text.contains("Current cluster status:"));
    assert!(text.contains("    * haproxy\t(ocf:herd:haproxy):\t FAILED node1"));
    assert!(text.contains("Revised Cluster Status:"));
    assert!(text.contains("    * db\t(ocf:heartbeat:mysql):\t Started node2"));
}

#[test]
fn simulate_json_lists_summary_and_actions() {
    let out = Command::new(HERD)
        .args(["simulate", "--json", "-x"])
        .arg(example())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"][1], "Recover haproxy ( node1 -> node2 )");
    assert!(v["actions"].as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn simulate_bad_xml_names_file_and_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.xml");
    std::fs::write(&path, "<cib>\n  <configuration>\n    <resources>\n</cib>\n").unwrap();
    let out = Command::new(HERD)
        .args(["simulate", "-x"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.xml:"), "stderr: {err}");
}

#[test]
fn simulate_missing_file_exits_2() {
    let out = Command::new(HERD)
        .args(["simulate", "-x", "/nonexistent/cib.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cib.xml"));
}

#[test]
fn simulate_reports_a_constraint_on_a_missing_resource_once_and_still_plans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dangling.xml");
    let xml = std::fs::read_to_string(example()).unwrap().replace(
        r#"<rsc_location id="prefer-node1" rsc="db""#,
        r#"<rsc_location id="prefer-node1" rsc="no-such-db""#,
    );
    assert!(
        xml.contains("no-such-db"),
        "the example changed: fix this test's edit"
    );
    std::fs::write(&path, xml).unwrap();
    let out = Command::new(HERD)
        .args(["simulate", "-x"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "a dangling reference is a warning, not a failure"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let lines_naming_it = err.lines().filter(|l| l.contains("no-such-db")).count();
    assert_eq!(lines_naming_it, 1, "stderr: {err}");
    assert!(
        err.contains("dangling.xml:"),
        "the warning names the file: {err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Recover    haproxy"), "still plans: {text}");
}

#[test]
fn simulate_executes_actions_in_an_order_that_keeps_the_orderings() {
    let out = Command::new(HERD)
        .args(["simulate", "-x"])
        .arg(example())
        .arg("-S")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let position = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    // db -> vip -> haproxy: stops run in reverse, starts forward, all stops first.
    let stops = [
        "haproxy         stop",
        "vip             stop",
        "db              stop",
    ];
    let starts = [
        "db              start",
        "vip             start",
        "haproxy         start",
    ];
    let sequence: Vec<usize> = stops.iter().chain(&starts).map(|a| position(a)).collect();
    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "got:\n{text}");
}
