//! Runs the dev corpus and prints pass counts (exact and multiset). Only a printout:
//! the floor lives in herd-corpus.

use std::path::PathBuf;

fn cases_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scheduler-cases/dev")
}

#[test]
fn corpus_pass_rate_printout() {
    let root = cases_root();
    let Ok(dir) = std::fs::read_dir(&root) else {
        println!("no corpus at {}", root.display());
        return;
    };
    let mut names: Vec<String> = dir
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let only = std::env::var("CASE").ok();
    let (mut exact, mut multi, mut total) = (0, 0, 0);
    let mut failing = vec![];
    for name in names {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let d = root.join(&name);
        let Ok(text) = std::fs::read_to_string(d.join("input.xml")) else {
            continue;
        };
        let want: Vec<String> = std::fs::read_to_string(d.join("transitions.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect();
        let Ok((cib, _)) = herd_cib::parse_str(&text, "input.xml") else {
            total += 1;
            failing.push(name.clone());
            continue;
        };
        let got = std::panic::catch_unwind(|| herd_sched::schedule(&cib, now()).summary_lines());
        let got = match got {
            Ok(g) => g,
            Err(_) => vec!["PANIC".to_owned()],
        };
        total += 1;
        if got == want {
            exact += 1;
        } else if std::env::var("EXACT_FAILING").is_ok() {
            println!("not exact: {name}");
        }
        let (mut a, mut b) = (got.clone(), want.clone());
        a.sort();
        b.sort();
        if a == b {
            multi += 1;
        } else {
            failing.push(name.clone());
        }
        if only.is_some() {
            for a in herd_sched::schedule(&cib, now()).actions {
                println!(
                    "  act {} {:?} {:?} opt={} run={} {:?}",
                    a.rsc, a.task, a.node, a.optional, a.runnable, a.reason
                );
            }
        }
        if only.is_some() || (std::env::var("DIFFS").is_ok() && got != want) {
            println!("=== {name}");
            println!(
                "want:\n  {}\ngot:\n  {}",
                want.join("\n  "),
                got.join("\n  ")
            );
        }
    }
    if std::env::var("SHOW_FAILING").is_ok() {
        println!("failing: {}", failing.join(" "));
    }
    println!("corpus: exact {exact}/{total}, multiset {multi}/{total}");
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
