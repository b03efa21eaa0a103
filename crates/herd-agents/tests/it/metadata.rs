//! Every native agent's meta-data validates against the OCF DTD and resource-agents' RELAX NG
//! schema (xmllint from libxml2-utils, schemas from Debian's resource-agents).

use std::process::Command;

const DTD: &str = "/usr/share/resource-agents/ra-api-1.dtd";
const RNG: &str = "/usr/share/resource-agents/metadata.rng";

#[test]
fn lookup_finds_every_agent_by_name_and_nothing_else() {
    let names: Vec<&str> = herd_agents::all()
        .iter()
        .map(|agent| agent.name())
        .collect();
    assert_eq!(names, ["dnsmasq", "haproxy", "vip"]);
    for name in names {
        assert_eq!(
            herd_agents::lookup(name).map(|agent| agent.name()),
            Some(name)
        );
    }
    assert!(herd_agents::lookup("IPaddr2").is_none());
}

#[test]
fn metadata_validates_against_ocf_dtd_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    for agent in herd_agents::all() {
        let path = dir.path().join(format!("{}.xml", agent.name()));
        std::fs::write(&path, agent.metadata()).unwrap();
        for (flag, schema) in [("--dtdvalid", DTD), ("--relaxng", RNG)] {
            let out = Command::new("xmllint")
                .args(["--noout", flag, schema])
                .arg(&path)
                .output()
                .expect("xmllint (package libxml2-utils) runs");
            assert!(
                out.status.success(),
                "{} meta-data fails {flag}: {}",
                agent.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
