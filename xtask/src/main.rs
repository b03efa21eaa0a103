//! `cargo xtask tidy`: checks the repository's architecture invariants and exits non-zero,
//! with one line per violation, when one is broken.
//!
//! The same checks run as a unit test (`cargo test -p xtask`), so the test suite enforces
//! them too. See [`tidy`] for the list.

use std::process::ExitCode;

mod tidy;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "tidy" => match tidy::run(&tidy::repo_root()) {
            Ok(violations) if violations.is_empty() => {
                println!("tidy: all architecture invariants hold");
                ExitCode::SUCCESS
            }
            Ok(violations) => {
                for violation in &violations {
                    eprintln!("tidy: {violation}");
                }
                eprintln!("tidy: {} violation(s)", violations.len());
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("tidy: {error:#}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask tidy");
            ExitCode::from(2)
        }
    }
}
