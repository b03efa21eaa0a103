//! Heavy check of herd-cib's writer against Pacemaker itself: every corpus case, parsed and
//! written back by herd-cib, must give crm_simulate the same Transition Summary as the
//! original (transitions.txt) and must not fail a schema check the original passes. Needs /usr/sbin/crm_simulate; runs only with
//! HERD_HEAVY_TESTS=1 (about a minute of CPU).
//!
//! I/O: reads the corpus, writes the rewritten documents to a temporary directory, runs
//! crm_simulate.

use std::path::Path;
use std::process::Command;

const CRM_SIMULATE: &str = "/usr/sbin/crm_simulate";

/// The corpus README's normalization of a crm_simulate output's Transition Summary.
fn summary_lines(output: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for raw in output.lines() {
        if raw == "Transition Summary:" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if raw.is_empty() || !raw.starts_with([' ', '\t']) {
            break;
        }
        let line = raw.trim();
        let line = line.strip_prefix('*').map_or(line, str::trim_start);
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let line = line
            .replace("ocf::", "ocf:")
            .replace("Masters:", "Promoted:")
            .replace("Slaves:", "Unpromoted:")
            .replace("Master", "Promoted")
            .replace("Slave", "Unpromoted");
        lines.push(line);
    }
    lines
}

/// The normalized summary and whether crm_simulate complained about the schema.
fn crm_summary(path: &Path) -> (Vec<String>, bool) {
    let output = Command::new(CRM_SIMULATE)
        .env("LC_ALL", "C")
        .arg("-x")
        .arg(path)
        .arg("-S")
        .output()
        .expect("crm_simulate runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (summary_lines(&text), text.contains("validity error"))
}

#[test]
fn rewritten_corpus_documents_mean_the_same_to_crm_simulate() {
    if std::env::var_os("HERD_HEAVY_TESTS").is_none() {
        println!("skipped: set HERD_HEAVY_TESTS=1 to run crm_simulate on rewritten documents");
        return;
    }
    assert!(
        Path::new(CRM_SIMULATE).exists(),
        "{CRM_SIMULATE} missing (pacemaker-cli-utils)"
    );
    let dir = herd_corpus::cases_dir().unwrap_or_else(|error| panic!("{error}"));
    let scratch = std::env::temp_dir().join(format!("herd-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut different = Vec::new();
    let cases = herd_corpus::load_index(&dir).expect("cases.tsv");
    for info in &cases {
        let case_dir = dir.join("dev").join(&info.name);
        let text = std::fs::read_to_string(case_dir.join("input.xml")).expect("input.xml");
        let (cib, _) = herd_cib::parse_str(&text, &info.name).expect("parses");
        let written = scratch.join(format!("{}.xml", info.name));
        std::fs::write(&written, herd_cib::write_string(&cib)).expect("write");
        let expected: Vec<String> = std::fs::read_to_string(case_dir.join("transitions.txt"))
            .expect("transitions.txt")
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        let (lines, invalid) = crm_summary(&written);
        if lines != expected {
            different.push(info.name.clone());
        }
        // The writer must not make a valid document invalid (some inputs are invalid already).
        if invalid && !crm_summary(&case_dir.join("input.xml")).1 {
            different.push(format!("{} (schema)", info.name));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        different.is_empty(),
        "{} of {} rewritten cases plan differently in crm_simulate: {}",
        different.len(),
        cases.len(),
        different.join(" ")
    );
}
