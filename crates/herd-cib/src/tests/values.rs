//! Pacemaker spellings: booleans, intervals, roles.

use crate::values::*;

#[test]
fn booleans_accept_pacemaker_spellings_in_any_case() {
    for text in ["true", "TRUE", "yes", "Y", "on", "1"] {
        assert_eq!(parse_bool(text), Some(true), "{text}");
    }
    for text in ["false", "No", "n", "OFF", "0"] {
        assert_eq!(parse_bool(text), Some(false), "{text}");
    }
    assert_eq!(parse_bool("maybe"), None);
    assert_eq!(parse_bool(""), None);
}

#[test]
fn intervals_read_plain_seconds_units_and_iso_durations() {
    assert_eq!(parse_interval_ms("10"), Some(10_000));
    assert_eq!(parse_interval_ms("0"), Some(0));
    assert_eq!(parse_interval_ms("10s"), Some(10_000));
    assert_eq!(parse_interval_ms("500ms"), Some(500));
    assert_eq!(parse_interval_ms("2min"), Some(120_000));
    assert_eq!(parse_interval_ms("1h"), Some(3_600_000));
    assert_eq!(parse_interval_ms("1500us"), Some(1));
    assert_eq!(parse_interval_ms("PT10S"), Some(10_000));
    assert_eq!(parse_interval_ms("PT1M30S"), Some(90_000));
    assert_eq!(parse_interval_ms("P1D"), Some(86_400_000));
    assert_eq!(parse_interval_ms("P1DT2H"), Some(93_600_000));
}

#[test]
fn iso_seconds_without_t_are_accepted_like_pacemaker() {
    // Ten corpus cases use `P10S`; Pacemaker reads it as ten seconds.
    assert_eq!(parse_interval_ms("P10S"), Some(10_000));
    // Before `T`, `M` means months.
    assert_eq!(parse_interval_ms("P1M"), Some(30 * 86_400_000));
}

#[test]
fn bad_intervals_are_refused() {
    for text in ["", "s", "10 parsecs", "P", "PT", "P10", "-5", "PT5X"] {
        assert_eq!(parse_interval_ms(text), None, "{text:?}");
    }
}

#[test]
fn legacy_role_names_normalize_to_promoted_and_unpromoted() {
    assert_eq!(Role::parse("Master"), Some(Role::Promoted));
    assert_eq!(Role::parse("Slave"), Some(Role::Unpromoted));
    assert_eq!(Role::parse("promoted"), Some(Role::Promoted));
    assert_eq!(Role::parse("Started"), Some(Role::Started));
    assert_eq!(Role::parse("Stopped"), Some(Role::Stopped));
    assert_eq!(Role::parse("Boss"), None);
    assert_eq!(Role::Promoted.legacy_str(), "Master");
    assert_eq!(Role::Unpromoted.to_string(), "Unpromoted");
}

#[test]
fn presence_reads_booleans_words_and_timestamps() {
    assert_eq!(Presence::parse("true"), Some(Presence::Online));
    assert_eq!(Presence::parse("online"), Some(Presence::Online));
    assert_eq!(Presence::parse("offline"), Some(Presence::Offline));
    assert_eq!(Presence::parse("false"), Some(Presence::Offline));
    assert_eq!(
        Presence::parse("1700000000"),
        Some(Presence::Since(1_700_000_000))
    );
    assert!(!Presence::Since(0).is_up());
    assert_eq!(Presence::parse("sometimes"), None);
}

#[test]
fn legacy_node_type_normal_is_a_member() {
    assert_eq!(NodeType::parse("normal"), Some(NodeType::Member));
    assert_eq!(NodeType::parse("remote"), Some(NodeType::Remote));
}

#[test]
fn intervals_format_back_to_what_they_parse_from() {
    for ms in [0, 500, 10_000, 86_400_000] {
        assert_eq!(parse_interval_ms(&format_interval_ms(ms)), Some(ms));
    }
}
