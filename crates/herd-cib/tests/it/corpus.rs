//! Every input.xml of the corpus parses, and writing it back then re-reading gives an equal
//! model.

use std::path::PathBuf;

use pretty_assertions::assert_eq;

/// The corpus root; fails loudly when it is missing so a broken checkout is not a pass.
pub(crate) fn cases_dir() -> PathBuf {
    let dir = match std::env::var_os("HERD_SCHEDULER_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scheduler-cases"),
    };
    let dev = dir.join("dev");
    assert!(
        dev.is_dir(),
        "scheduler corpus not found at {} (set HERD_SCHEDULER_CASES to the scheduler-cases dir)",
        dev.display()
    );
    dev
}

pub(crate) fn case_inputs() -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(cases_dir()).expect("corpus dir is readable") {
        let path = entry.expect("dir entry").path().join("input.xml");
        if let Ok(text) = std::fs::read_to_string(&path) {
            cases.push((path.display().to_string(), text));
        }
    }
    cases.sort();
    assert!(
        cases.len() >= 500,
        "expected the 530 dev cases, found {}",
        cases.len()
    );
    cases
}

#[test]
fn every_corpus_case_parses_and_round_trips() {
    let mut n_diagnostics = 0;
    for (name, text) in case_inputs() {
        let (cib, diagnostics) =
            herd_cib::parse_str(&text, &name).unwrap_or_else(|error| panic!("{error}"));
        n_diagnostics += diagnostics.len();
        let written = herd_cib::write_string(&cib);
        let (again, _) = herd_cib::parse_str(&written, &format!("{name} (written)"))
            .unwrap_or_else(|error| panic!("{error}\n{written}"));
        assert_eq!(cib, again, "{name} does not round-trip");
    }
    println!("corpus: {n_diagnostics} diagnostics");
}

#[test]
fn corpus_has_no_unknown_elements() {
    for (name, text) in case_inputs() {
        let (_, diagnostics) = herd_cib::parse_str(&text, &name).expect("parses");
        for diagnostic in diagnostics {
            assert!(
                !diagnostic.message.contains("unknown element"),
                "{diagnostic}"
            );
        }
    }
}

#[test]
#[ignore = "prints the corpus diagnostics; run by hand"]
fn print_corpus_diagnostics() {
    for (name, text) in case_inputs() {
        let (_, diagnostics) = herd_cib::parse_str(&text, &name).expect("parses");
        for diagnostic in diagnostics {
            println!("{diagnostic}");
        }
    }
}

#[test]
#[ignore = "debug aid: HERD_CIB_FILE=path cargo test -p herd-cib --test it -- --ignored one_file"]
fn one_file_round_trips() {
    let path = std::env::var("HERD_CIB_FILE").expect("set HERD_CIB_FILE");
    let text = std::fs::read_to_string(&path).expect("readable");
    let (cib, diagnostics) = herd_cib::parse_str(&text, &path).expect("parses");
    for diagnostic in &diagnostics {
        println!("{diagnostic}");
    }
    let written = herd_cib::write_string(&cib);
    println!("{written}");
    let (again, _) = herd_cib::parse_str(&written, "written").expect("written parses");
    assert_eq!(cib, again);
}
