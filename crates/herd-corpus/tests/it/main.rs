//! The floor test: the dev corpus pass counts must not drop below floor.toml.
//!
//! I/O: reads the corpus; fails loudly when it is missing.

mod rewrite;

#[test]
fn corpus_pass_counts_stay_at_or_above_the_floor() {
    let dir = herd_corpus::cases_dir().unwrap_or_else(|error| panic!("{error}"));
    let floor = herd_corpus::Floor::load(&herd_corpus::Floor::default_path())
        .unwrap_or_else(|error| panic!("{error}"));
    let report = herd_corpus::run_all(&dir, |_| true).unwrap_or_else(|error| panic!("{error}"));
    let counts = report.counts();
    println!("{}", report.table(true, false));
    assert!(
        counts.total >= 500,
        "only {} cases in cases.tsv",
        counts.total
    );
    assert!(
        counts.exact >= floor.exact,
        "exact matches dropped to {} below the floor {} (see the table above)",
        counts.exact,
        floor.exact
    );
    assert!(
        counts.multiset >= floor.multiset,
        "multiset matches dropped to {} below the floor {} (see the table above)",
        counts.multiset,
        floor.multiset
    );
}

#[test]
fn missing_corpus_is_an_error_that_names_the_path_and_the_env_var() {
    let error = herd_corpus::check_cases_dir("/nowhere/scheduler-cases".into())
        .expect_err("no corpus there");
    let text = error.to_string();
    assert!(text.contains("/nowhere/scheduler-cases"), "{text}");
    assert!(text.contains("HERD_SCHEDULER_CASES"), "{text}");
}
