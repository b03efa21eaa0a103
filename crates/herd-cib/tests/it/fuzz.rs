//! Property tests: the parser never panics, on random bytes or on corpus documents with
//! random damage, and whatever it accepts it writes back to an equal model.
//!
//! The libFuzzer target in fuzz/ explores the same function for longer.

use std::sync::OnceLock;

use proptest::prelude::*;

/// A few corpus documents of different schemas and features, read once.
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let all = crate::corpus::case_inputs();
        // Every 37th case: about 15 documents spread over the alphabet of case names.
        all.into_iter().step_by(37).map(|(_, text)| text).collect()
    })
}

/// One way of damaging a document.
#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippet = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("\"".to_owned()),
        Just("&".to_owned()),
        Just("&#0;".to_owned()),
        Just("</".to_owned()),
        Just("<rule id=\"x\">".to_owned()),
        Just(" score=\"-INFINITY\"".to_owned()),
        Just(" interval=\"P\"".to_owned()),
        Just("<resource_set><resource_ref id=\"nope\"/>".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,4}",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), snippet).prop_map(|(at, text)| Mutation::Insert { at, text }),
        (any::<usize>(), 0usize..200).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let bytes = text.as_bytes();
    let clamp = |at: usize| {
        if bytes.is_empty() {
            0
        } else {
            at % bytes.len()
        }
    };
    let mut out: Vec<u8> = bytes.to_vec();
    match mutation {
        Mutation::Delete { at, len } => {
            let start = clamp(*at);
            let end = (start + len).min(out.len());
            out.drain(start..end);
        }
        Mutation::Insert { at, text } => {
            let at = clamp(*at);
            out.splice(at..at, text.bytes());
        }
        Mutation::Duplicate { at, len } => {
            let start = clamp(*at);
            let end = (start + len).min(out.len());
            let copy = out[start..end].to_vec();
            out.splice(end..end, copy);
        }
        Mutation::Truncate { at } => out.truncate(clamp(*at)),
    }
    // Byte surgery may split a UTF-8 sequence; the parser must cope with that too, but
    // parse_str needs text, so invalid sequences become U+FFFD here.
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses; when accepted, writes and re-reads, which must succeed and agree.
fn check_document(text: &str) {
    if let Ok((cib, _)) = herd_cib::parse_str(text, "mutated.xml") {
        let written = herd_cib::write_string(&cib);
        let (again, _) = herd_cib::parse_str(&written, "written.xml").unwrap_or_else(|error| {
            panic!("written document does not parse: {error}\ninput:\n{text}\nwritten:\n{written}")
        });
        assert_eq!(cib, again, "written:\n{written}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = herd_cib::parse_bytes(&bytes, "random.xml");
    }

    #[test]
    fn xml_like_text_never_panics(text in "(<[a-z_]{1,8}( [a-z-]{1,6}=\"[^\"<&]{0,6}\")*/?>|</[a-z_]{1,8}>|[a-z &;#0-9]{0,4}){0,40}") {
        let wrapped = format!("<cib><configuration>{text}</configuration></cib>");
        check_document(&wrapped);
        let _ = herd_cib::parse_str(&text, "bare.xml");
    }

    #[test]
    fn damaged_corpus_documents_never_panic_and_round_trip(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone();
        for mutation in &mutations {
            text = apply(&text, mutation);
        }
        check_document(&text);
    }
}
