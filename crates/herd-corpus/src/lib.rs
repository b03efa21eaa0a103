//! The scheduler corpus harness: runs every case of ../shared/scheduler-cases through
//! `herd_sched::schedule` and compares with `transitions.txt`, exactly and as a multiset.
//!
//! Used by the `herd-corpus` binary (the table) and by this crate's floor test. Not part of
//! herd itself. I/O: reads the corpus files; each case is run under `catch_unwind` so that a
//! scheduler panic counts as one failed case.

pub mod report;
pub mod synth;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use report::Report;

/// What can stop the harness before any case runs.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error(
        "scheduler corpus not found at {path} (check out ../shared/scheduler-cases next to the \
         repository or set HERD_SCHEDULER_CASES to its directory)"
    )]
    Missing { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: bad cases.tsv row (want name, description, tags, n_transitions)")]
    Index { path: PathBuf, line: usize },
    #[error("{path}: bad floor file: {message} (want `exact = N` and `multiset = N`)")]
    Floor { path: PathBuf, message: String },
}

/// One row of cases.tsv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInfo {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub n_transitions: usize,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Same lines in the same order.
    Exact,
    /// Same lines, different order.
    Multiset,
    /// Different lines.
    Mismatch,
    /// The CIB did not parse (message).
    ParseError(String),
    /// The scheduler panicked (message).
    Panic(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub info: CaseInfo,
    pub outcome: Outcome,
    pub expected: Vec<String>,
    pub got: Vec<String>,
    pub elapsed: Duration,
}

impl CaseResult {
    pub fn is_exact(&self) -> bool {
        self.outcome == Outcome::Exact
    }

    /// Exact matches count as multiset matches too.
    pub fn is_multiset(&self) -> bool {
        matches!(self.outcome, Outcome::Exact | Outcome::Multiset)
    }
}

/// The minimum pass counts recorded in floor.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct Floor {
    pub exact: usize,
    pub multiset: usize,
}

impl Floor {
    pub fn load(path: &Path) -> Result<Floor, CorpusError> {
        let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|error| CorpusError::Floor {
            path: path.to_owned(),
            message: error.to_string(),
        })
    }

    /// This crate's floor.toml.
    pub fn default_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("floor.toml")
    }
}

/// The corpus directory (the one holding cases.tsv and dev/): `HERD_SCHEDULER_CASES`, else
/// `<repo>/../shared/scheduler-cases`. Fails when it is missing.
pub fn cases_dir() -> Result<PathBuf, CorpusError> {
    let path = match std::env::var_os("HERD_SCHEDULER_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scheduler-cases"),
    };
    check_cases_dir(path)
}

/// `path` if it holds cases.tsv and dev/, else [`CorpusError::Missing`].
pub fn check_cases_dir(path: PathBuf) -> Result<PathBuf, CorpusError> {
    if path.join("cases.tsv").is_file() && path.join("dev").is_dir() {
        Ok(path)
    } else {
        Err(CorpusError::Missing { path })
    }
}

/// Reads cases.tsv (header row first, tab-separated).
pub fn load_index(dir: &Path) -> Result<Vec<CaseInfo>, CorpusError> {
    let path = dir.join("cases.tsv");
    let text = read(&path)?;
    let mut cases = Vec::new();
    for (index, row) in text.lines().enumerate().skip(1) {
        if row.trim().is_empty() {
            continue;
        }
        let columns: Vec<&str> = row.split('\t').collect();
        let [name, description, tags, n_transitions] = columns.as_slice() else {
            return Err(CorpusError::Index {
                path,
                line: index + 1,
            });
        };
        cases.push(CaseInfo {
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            tags: tags
                .split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_owned)
                .collect(),
            n_transitions: n_transitions
                .trim()
                .parse()
                .map_err(|_| CorpusError::Index {
                    path: path.clone(),
                    line: index + 1,
                })?,
        });
    }
    Ok(cases)
}

/// Seconds since the epoch: "now" for cases without an `execution-date`, as upstream recorded
/// them with the real clock (date rules such as `gt 2005` must see a present-day date).
pub fn wall_clock_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Runs one case. A panic inside the scheduler becomes [`Outcome::Panic`].
pub fn run_case(dir: &Path, info: &CaseInfo) -> Result<CaseResult, CorpusError> {
    let case_dir = dir.join("dev").join(&info.name);
    let input_path = case_dir.join("input.xml");
    let xml = read(&input_path)?;
    let expected: Vec<String> = read(&case_dir.join("transitions.txt"))?
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let started = Instant::now();
    let (outcome, got) = match herd_cib::parse_str(&xml, &input_path.display().to_string()) {
        Err(error) => (Outcome::ParseError(error.to_string()), Vec::new()),
        Ok((cib, _diagnostics)) => {
            let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                herd_sched::schedule(&cib, wall_clock_now()).summary_lines()
            }));
            match run {
                Ok(got) => (compare(&expected, &got), got),
                Err(payload) => (Outcome::Panic(panic_message(payload.as_ref())), Vec::new()),
            }
        }
    };
    Ok(CaseResult {
        info: info.clone(),
        outcome,
        expected,
        got,
        elapsed: started.elapsed(),
    })
}

/// Runs every case (or those `select` keeps), quietening the panic hook meanwhile so that a
/// panicking case prints one line in the table instead of a backtrace.
pub fn run_all(dir: &Path, select: impl Fn(&CaseInfo) -> bool) -> Result<Report, CorpusError> {
    let cases = load_index(dir)?;
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut results = Vec::new();
    let mut failure = None;
    for info in cases.iter().filter(|info| select(info)) {
        match run_case(dir, info) {
            Ok(result) => results.push(result),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    std::panic::set_hook(previous_hook);
    match failure {
        Some(error) => Err(error),
        None => Ok(Report { results }),
    }
}

/// Exact when equal; multiset when equal after sorting.
pub fn compare(expected: &[String], got: &[String]) -> Outcome {
    if expected == got {
        return Outcome::Exact;
    }
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for line in expected {
        *counts.entry(line).or_default() += 1;
    }
    for line in got {
        *counts.entry(line).or_default() -= 1;
    }
    if counts.values().all(|&count| count == 0) {
        Outcome::Multiset
    } else {
        Outcome::Mismatch
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

fn read(path: &Path) -> Result<String, CorpusError> {
    std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn same_lines_in_order_are_exact() {
        let a = lines(&["Start a ( n1 )", "Stop b ( n2 )"]);
        assert_eq!(compare(&a, &a), Outcome::Exact);
    }

    #[test]
    fn reordered_lines_are_a_multiset_match() {
        let a = lines(&["Start a ( n1 )", "Stop b ( n2 )"]);
        let b = lines(&["Stop b ( n2 )", "Start a ( n1 )"]);
        assert_eq!(compare(&a, &b), Outcome::Multiset);
    }

    #[test]
    fn duplicated_line_is_a_mismatch() {
        let a = lines(&["Start a ( n1 )", "Start a ( n1 )"]);
        let b = lines(&["Start a ( n1 )"]);
        assert_eq!(compare(&a, &b), Outcome::Mismatch);
        assert_eq!(compare(&b, &a), Outcome::Mismatch);
    }

    #[test]
    fn panic_payloads_become_messages() {
        let payload = std::panic::catch_unwind(|| panic!("boom {}", 7)).expect_err("panics");
        assert_eq!(panic_message(payload.as_ref()), "boom 7");
    }
}
