//! `herd simulate -x FILE [-S] [--json]`: loads a CIB file, runs the scheduler and prints,
//! as `crm_simulate -x FILE -S` does, the current status, the `Transition Summary:`, and
//! with `-S` the executed actions and the revised status; `--json` prints the transition.
//!
//! The I/O here is reading the file and writing stdout/stderr; deciding is herd-sched's.

mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use herd_sched::{Task, Transition};

/// Arguments of `herd simulate`, named as crm_simulate names them.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The CIB XML file to read (configuration and status)
    #[arg(short = 'x', long = "xml-file", value_name = "FILE")]
    pub xml_file: PathBuf,
    /// Also run the transition: print the executed actions and the revised status
    #[arg(short = 'S', long = "simulate")]
    pub simulate: bool,
    /// Print the transition as JSON
    #[arg(long)]
    pub json: bool,
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs `herd simulate`.
pub fn run(args: SimulateArgs) -> ExitCode {
    let name = args.xml_file.display().to_string();
    let text = match std::fs::read_to_string(&args.xml_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("herd simulate: {name}: cannot read: {e}");
            return ExitCode::from(2);
        }
    };
    let (cib, diagnostics) = match herd_cib::parse_str(&text, &name) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("herd simulate: {e}");
            return ExitCode::from(2);
        }
    };
    let reported: Vec<&herd_cib::Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity >= herd_cib::Severity::Warning)
        .collect();
    for d in &reported {
        eprintln!("{d}");
    }
    let transition = herd_sched::schedule(&cib, wall_clock());
    // Each problem once: the scheduler re-finds some of what the reader already reported
    // (a constraint naming a missing resource); skip its word on an element already named.
    let already_reported = |line: u32| line != 0 && reported.iter().any(|d| d.line == line);
    for d in transition
        .diagnostics()
        .iter()
        .filter(|d| !already_reported(d.line))
    {
        eprintln!("{name}:{}: {}", d.line, d.message);
    }
    if args.json {
        match serde_json::to_string_pretty(&JsonOut {
            transition: &transition,
            summary: transition.summary_lines(),
        }) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("herd simulate: cannot encode the transition: {e}");
                return ExitCode::from(1);
            }
        }
        return ExitCode::SUCCESS;
    }
    print!(
        "{}",
        render(&transition, cib.execution_date.is_some(), args.simulate)
    );
    ExitCode::SUCCESS
}

#[derive(serde::Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    transition: &'a Transition,
    summary: Vec<String>,
}

/// The whole human output, as crm_simulate lays it out.
pub fn render(t: &Transition, has_execution_date: bool, simulate: bool) -> String {
    let mut out = String::new();
    if has_execution_date {
        out.push_str(&format!(
            "Using the original execution date of: {}\n",
            status::format_date(t.now)
        ));
    }
    out.push_str("Current cluster status:\n");
    out.push_str(&status::render(t, false));
    out.push_str("\nTransition Summary:\n");
    out.push_str(&summary_block(t));
    if simulate {
        out.push_str("\nExecuting Cluster Transition:\n");
        for line in executed(t) {
            out.push_str(&format!("  * {line}\n"));
        }
        out.push_str("\nRevised Cluster Status:\n");
        out.push_str(&status::render(t, true));
    }
    out
}

/// The summary lines re-laid out in crm_simulate's columns.
fn summary_block(t: &Transition) -> String {
    let lines = t.summary_lines();
    let parsed: Vec<Option<(String, String, String, String)>> =
        lines.iter().map(|l| split_line(l)).collect();
    let mut rsc_width = 5;
    let mut detail_width = 5;
    for (_, id, details, _) in parsed.iter().flatten() {
        if id.len() > rsc_width {
            rsc_width = id.len() + 2;
        }
        detail_width = detail_width.max(details.len());
    }
    let mut out = String::new();
    for (line, p) in lines.iter().zip(&parsed) {
        match p {
            Some((change, id, details, reason)) => {
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!("  {reason}")
                };
                out.push_str(&format!(
                    "  * {change:<8}   {id:<rsc_width$}   ( {details:>detail_width$} ){reason}\n"
                ));
            }
            None => out.push_str(&format!("  * {line}\n")),
        }
    }
    out
}

/// Splits `Move rsc ( a -> b ) due to x` into its parts; None for fencing lines.
fn split_line(line: &str) -> Option<(String, String, String, String)> {
    let (head, rest) = line.split_once(" ( ")?;
    let (change, id) = head.split_once(' ')?;
    if change.starts_with("Fence") {
        return None;
    }
    let (details, reason) = rest.split_once(" )")?;
    Some((
        change.to_owned(),
        id.to_owned(),
        details.to_owned(),
        reason.trim().to_owned(),
    ))
}

/// The actions the transition runs, as `crm_simulate -S` lists them: in an order that keeps
/// every ordering of the transition (a resource stops after what depends on it), and
/// otherwise demotes, stops, migrations, starts, promotions, each in resource order.
fn executed(t: &Transition) -> Vec<String> {
    let mut out = vec![];
    for (node, _) in &t.fencing {
        out.push(format!("Fencing {node} ({})", t.fence_action));
    }
    for index in execution_order(t) {
        let a = &t.actions[index];
        if a.optional || !a.runnable {
            continue;
        }
        let Some(node) = &a.node else { continue };
        if a.pseudo {
            out.push(format!("Pseudo action:   {}_{}_0", a.rsc, a.task.name()));
        } else {
            out.push(format!(
                "Resource action: {:<15} {} on {node}",
                a.rsc,
                a.task.name()
            ));
        }
    }
    out
}

/// Indexes of the listed tasks' actions in a topological order of `t.orderings` (Kahn's
/// algorithm; among ready actions the lowest task rank, then the lowest index, goes first).
/// Orderings through actions that are not listed still count, so transitive order holds.
/// Actions caught in an ordering loop come last, in rank order, rather than being lost.
fn execution_order(t: &Transition) -> Vec<usize> {
    let rank = |task: Task| match task {
        Task::Demote => Some(0_u8),
        Task::Stop => Some(1),
        Task::MigrateTo => Some(2),
        Task::MigrateFrom => Some(3),
        Task::Start => Some(4),
        Task::Promote => Some(5),
        _ => None,
    };
    let n_actions = t.actions.len();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n_actions];
    let mut n_predecessors = vec![0_usize; n_actions];
    for &(first, then) in &t.orderings {
        if first < n_actions && then < n_actions && first != then {
            successors[first].push(then);
            n_predecessors[then] += 1;
        }
    }
    let key = |index: usize| (rank(t.actions[index].task).unwrap_or(9), index);
    let mut ready: std::collections::BTreeSet<(u8, usize)> = (0..n_actions)
        .filter(|&index| n_predecessors[index] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(n_actions);
    let mut placed = vec![false; n_actions];
    while let Some(next) = ready.pop_first() {
        let index = next.1;
        placed[index] = true;
        order.push(index);
        for &then in &successors[index] {
            n_predecessors[then] -= 1;
            if n_predecessors[then] == 0 {
                ready.insert(key(then));
            }
        }
    }
    let mut looped: Vec<usize> = (0..n_actions).filter(|&index| !placed[index]).collect();
    looped.sort_by_key(|&index| key(index));
    order.extend(looped);
    order.retain(|&index| rank(t.actions[index].task).is_some());
    order
}
