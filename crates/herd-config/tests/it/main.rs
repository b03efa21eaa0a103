//! herd-config against whole files: the sample shapes admins write, and one test per error
//! the parser must report with its line and key.

use std::path::{Path, PathBuf};

use herd_config::{Config, ConfigError};

const GOOD: &str = r#"
cluster = "web"
node = "n1"                     # which entry of [[nodes]] this machine is
data_dir = "/var/lib/herd"
key_file = "/etc/herd/cluster.key"
[[nodes]]
name = "n1"
addrs = ["10.0.0.1:7400", "192.168.0.1:7400"]
[[nodes]]
name = "n2"
addrs = ["10.0.0.2:7400"]
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("herd.toml"))
}

#[track_caller]
fn check_err(text: &str, line: usize, key: &str, message_part: &str) {
    let err = parse(text).expect_err("config must be refused");
    let shown = err.to_string();
    assert_eq!(err.line(), Some(line), "line of: {shown}");
    assert_eq!(err.key(), key, "key of: {shown}");
    assert!(shown.starts_with(&format!("herd.toml:{line}: ")), "{shown}");
    assert!(
        shown.contains(message_part),
        "{shown:?} lacks {message_part:?}"
    );
}

fn with(extra_top: &str, extra_bottom: &str) -> String {
    let (head, tail) = GOOD.split_at(GOOD.find("\n[[nodes]]").expect("has nodes") + 1);
    format!("{head}{extra_top}{tail}{extra_bottom}")
}

#[test]
fn issue_example_parses_with_defaults() {
    let config = parse(GOOD).unwrap();
    assert_eq!(config.cluster, "web");
    assert_eq!(config.local_node().name, "n1");
    assert_eq!(config.local_node().addrs.len(), 2);
    assert_eq!(
        config.peers().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        ["n2"]
    );
    assert_eq!(config.timing.profile, "default");
    assert_eq!(config.timing.lease_ms, 1500);
    assert_eq!(config.executor.max_concurrent_actions, 8);
    assert_eq!(config.admin_group, None);
    assert_eq!(
        config.socket_path(),
        PathBuf::from("/var/lib/herd/herd.sock")
    );
}

#[test]
fn misspelled_node_key_names_line_and_suggests() {
    let text = GOOD.replace("addrs = [\"10.0.0.2:7400\"]", "adrs = [\"10.0.0.2:7400\"]");
    check_err(
        &text,
        11,
        "nodes[1].adrs",
        "unknown key 'adrs' in [[nodes]] (did you mean 'addrs'?)",
    );
}

#[test]
fn unknown_top_level_key_is_refused() {
    check_err(
        &with("colour = \"blue\"\n", ""),
        6,
        "colour",
        "unknown key 'colour' in the top level",
    );
}

#[test]
fn syntax_error_names_line() {
    let text = GOOD.replace("node = \"n1\"", "node = n1");
    check_err(&text, 3, "", "not valid TOML");
}

#[test]
fn node_not_listed_is_refused() {
    check_err(
        &GOOD.replace("node = \"n1\"", "node = \"n9\""),
        3,
        "node",
        "node 'n9' is not listed",
    );
}

#[test]
fn missing_cluster_is_refused() {
    check_err(
        &GOOD.replace("cluster = \"web\"\n", ""),
        1,
        "cluster",
        "missing key 'cluster'",
    );
}

#[test]
fn duplicate_node_name_is_refused() {
    check_err(
        &GOOD.replace("name = \"n2\"", "name = \"n1\""),
        10,
        "nodes[1].name",
        "listed twice",
    );
}

#[test]
fn duplicate_address_across_nodes_is_refused() {
    let text = GOOD.replace("10.0.0.2:7400", "192.168.0.1:7400");
    check_err(&text, 11, "nodes[1].addrs", "already used by node 'n1'");
}

#[test]
fn three_links_are_refused() {
    let text = GOOD.replace(
        "[\"10.0.0.2:7400\"]",
        "[\"10.0.0.2:1\", \"10.0.0.3:1\", \"10.0.0.4:1\"]",
    );
    check_err(&text, 11, "nodes[1].addrs", "1 to 2 links");
}

#[test]
fn no_links_are_refused() {
    check_err(
        &GOOD.replace("[\"10.0.0.2:7400\"]", "[]"),
        11,
        "nodes[1].addrs",
        "1 to 2 links",
    );
}

#[test]
fn host_name_address_is_refused() {
    let text = GOOD.replace("10.0.0.2:7400", "node2.example:7400");
    check_err(&text, 11, "nodes[1].addrs", "host names are not resolved");
}

#[test]
fn bare_ip_uses_default_port() {
    let config = parse(&GOOD.replace("10.0.0.2:7400", "10.0.0.2")).unwrap();
    assert_eq!(config.nodes[1].addrs[0].port(), herd_config::DEFAULT_PORT);
}

#[test]
fn wrong_type_names_expected_type() {
    check_err(
        &GOOD.replace("\"n1\"                     #", "1 #"),
        3,
        "node",
        "must be a string",
    );
}

#[test]
fn witness_node_is_read() {
    let config = parse(&with(
        "",
        "[[nodes]]\nname = \"w\"\naddrs = [\"10.0.0.9:7400\"]\nwitness = true\n",
    ))
    .unwrap();
    assert!(config.node_named("w").unwrap().witness);
    assert!(!config.node_named("n2").unwrap().witness);
}

#[test]
fn all_witness_cluster_is_refused() {
    let text = "cluster = \"c\"\nnode = \"w\"\n[[nodes]]\nname = \"w\"\naddrs = [\"10.0.0.9:7400\"]\nwitness = true\n";
    check_err(text, 3, "nodes", "at least one node must run resources");
}

#[test]
fn timing_profile_by_name() {
    let config = parse(&with("timing = \"wan\"\n", "")).unwrap();
    assert_eq!(config.timing.profile, "wan");
    assert_eq!(config.timing.lease_renew_ms, 600);
    let fast = parse(&with("timing = \"fast\"\n", "")).unwrap();
    assert!(fast.timing.lost_ms < 900);
}

#[test]
fn unknown_timing_profile_lists_profiles() {
    check_err(
        &with("timing = \"lan\"\n", ""),
        6,
        "timing",
        "use default, fast, wan",
    );
}

#[test]
fn timing_table_overrides_profile() {
    let text =
        format!("{GOOD}[timing]\nprofile = \"default\"\nlease_renew_ms = 150\nsuspect_ms = 500\n");
    let config = parse(&text).unwrap();
    assert_eq!(
        (config.timing.lease_renew_ms, config.timing.suspect_ms),
        (150, 500)
    );
    assert_eq!(config.timing.lost_ms, 900);
}

#[test]
fn inconsistent_timing_blames_the_key() {
    let text = format!("{GOOD}[timing]\nsuspect_ms = 600\nlost_ms = 500\n");
    check_err(
        &text,
        14,
        "timing.lost_ms",
        "lost_ms (500) must be above suspect_ms (600)",
    );
    let text = format!("{GOOD}[timing]\nlease_renew_ms = 700\n");
    check_err(
        &text,
        13,
        "timing.suspect_ms",
        "must be above lease_renew_ms",
    );
}

#[test]
fn lease_shorter_than_failover_is_refused() {
    let text = format!("{GOOD}[timing]\nelection_timeout_max_ms = 1400\n");
    check_err(&text, 13, "timing.lease_ms", "DC failover expires");
}

#[test]
fn timing_key_typo_is_refused() {
    let text = format!("{GOOD}[timing]\nlease_ms_max = 3\n");
    check_err(&text, 13, "timing.lease_ms_max", "did you mean 'lease_ms'?");
}

#[test]
fn negative_timer_is_refused() {
    let text = format!("{GOOD}[timing]\nlease_ms = -5\n");
    check_err(&text, 13, "timing.lease_ms", "out of range");
}

#[test]
fn executor_table_is_read_and_checked() {
    let text = format!(
        "{GOOD}[executor]\nmax_concurrent_actions = 3\nlease_loss_stop_timeout_ms = 1000\nagent_timeout_ms_default = 5000\n"
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.executor.max_concurrent_actions, 3);
    assert_eq!(config.executor.lease_loss_stop_timeout_ms, 1000);
    assert_eq!(config.executor.agent_timeout_ms_default, 5000);
    check_err(
        &format!("{GOOD}[executor]\nmax_concurrent_actions = 0\n"),
        13,
        "executor.max_concurrent_actions",
        "at least 1",
    );
}

#[test]
fn admin_group_is_read() {
    let config = parse(&with("admin_group = \"herdadm\"\n", "")).unwrap();
    assert_eq!(config.admin_group.as_deref(), Some("herdadm"));
    check_err(
        &with("admin_group = \"\"\n", ""),
        6,
        "admin_group",
        "invalid group name",
    );
}

#[test]
fn bad_node_name_is_refused() {
    check_err(
        &GOOD.replace("name = \"n2\"", "name = \"n 2\""),
        10,
        "nodes[1].name",
        "invalid name",
    );
}

#[test]
fn unsupported_version_is_refused() {
    check_err(&with("version = 2\n", ""), 6, "version", "not supported");
}

#[test]
fn load_resolves_relative_paths_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herd.toml");
    let text = GOOD
        .replace("/var/lib/herd", "data")
        .replace("/etc/herd/cluster.key", "cluster.key");
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.data_dir, dir.path().join("data"));
    assert_eq!(config.key_file, dir.path().join("cluster.key"));
}

#[test]
fn missing_file_says_how_to_point_at_one() {
    let err = Config::load(Path::new("/nonexistent/herd.toml")).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("/nonexistent/herd.toml: cannot read"),
        "{shown}"
    );
    assert!(shown.contains("HERD_CONFIG"), "{shown}");
}

#[test]
fn locate_prefers_explicit_path() {
    assert_eq!(
        herd_config::locate(Some(Path::new("/x/y.toml"))),
        PathBuf::from("/x/y.toml")
    );
}

fn example_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/herd.toml");
    std::fs::read_to_string(path).expect("examples/herd.toml is in the repository")
}

#[test]
fn example_config_in_the_repository_is_valid() {
    let config = parse(&example_text()).unwrap();
    assert_eq!(config.nodes.len(), 3);
    assert!(config.node_named("quorum").unwrap().witness);
    assert_eq!(config.local_node().addrs.len(), 2);
}

#[test]
fn example_timing_table_is_valid_when_uncommented() {
    let text: String = example_text()
        .lines()
        .filter(|line| !line.starts_with("timing = "))
        .map(|line| {
            let uncommented = line.strip_prefix("# ").unwrap_or(line);
            let is_timing = uncommented.starts_with("[timing]")
                || uncommented.split('=').next().is_some_and(|key| {
                    let key = key.trim();
                    key == "profile" || key.ends_with("_ms")
                });
            if is_timing { uncommented } else { line }.to_string() + "\n"
        })
        .collect();
    let config = parse(&text).unwrap();
    assert_eq!(config.timing, herd_config::Timing::default_profile());
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_is_an_error_never_a_panic(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn mangled_good_file_is_an_error_never_a_panic(cut in 0usize..400, insert in "[=\\[\\]\"a-z0-9 .:\n-]{0,12}") {
        let cut = cut.min(GOOD.len());
        let cut = (0..=cut).rev().find(|i| GOOD.is_char_boundary(*i)).unwrap_or(0);
        let text = format!("{}{insert}{}", &GOOD[..cut], &GOOD[cut..]);
        if let Err(err) = parse(&text) {
            assert!(err.line().is_some_and(|line| line >= 1 && line <= text.lines().count() + 1), "{err}");
        }
    }
}

#[test]
fn storage_table_sets_the_free_space_reserve() {
    assert_eq!(
        parse(GOOD).unwrap().storage.min_free_mb,
        herd_config::MIN_FREE_MB_DEFAULT
    );
    let config = parse(&format!("{GOOD}[storage]\nmin_free_mb = 0\n")).unwrap();
    assert_eq!(config.storage.min_free_mb, 0);
    check_err(
        &format!("{GOOD}[storage]\nmin_free = 5\n"),
        13,
        "storage.min_free",
        "did you mean 'min_free_mb'?",
    );
    check_err(
        &format!("{GOOD}[storage]\nmin_free_mb = \"64M\"\n"),
        13,
        "storage.min_free_mb",
        "whole number",
    );
}
