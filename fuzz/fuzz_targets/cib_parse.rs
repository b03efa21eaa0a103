//! libFuzzer target: any bytes into the CIB parser; whatever parses must write back to a
//! document that parses to an equal model. Finds panics, hangs and round-trip losses.
//!
//! Not part of the test suite (needs nightly); see fuzz/README.md. No I/O beyond libFuzzer's.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((cib, _diagnostics)) = herd_cib::parse_bytes(data, "fuzz.xml") {
        let written = herd_cib::write_string(&cib);
        let (again, _) = herd_cib::parse_str(&written, "written.xml")
            .expect("a written model must parse again");
        assert_eq!(cib, again, "round trip changed the model");
    }
});
