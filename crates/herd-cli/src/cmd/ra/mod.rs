//! `herd ra`: resource agents by hand. `list` what is installed, `info` on one agent's
//! parameters and actions, `exec` one action (exit code = the agent's rc), `check` an agent
//! through validate/start/monitor/stop/monitor (the ocf-tester job).
//!
//! Each runs a private [`herd_exec::Executor`] (no history, no daemon), so it works on any
//! host; the agents' own I/O is theirs. Exit codes: 2 for bad input (spec, KEY=VALUE,
//! missing required parameter), 5 for an unknown agent in `exec`/`check`.

mod check;
mod exec;
mod info;
mod list;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use herd_exec::{AgentSpec, ExecConfig, Executor};

/// Arguments of `herd ra`.
#[derive(Debug, clap::Args)]
pub struct RaArgs {
    #[command(subcommand)]
    pub command: RaCommand,
    /// Where OCF agents live (OCF_ROOT)
    #[arg(long, global = true, env = "HERD_OCF_ROOT", default_value = herd_exec::OCF_ROOT_DEFAULT)]
    pub ocf_root: PathBuf,
    /// Where LSB init scripts live
    #[arg(long, global = true, default_value = herd_exec::LSB_DIR_DEFAULT)]
    pub lsb_dir: PathBuf,
}

/// The `herd ra` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RaCommand {
    /// List installed agents: all, one class (ocf, lsb, systemd) or one provider (ocf:heartbeat)
    List(list::ListArgs),
    /// Show an agent's parameters and actions from its meta-data
    Info(info::InfoArgs),
    /// Run one action of an agent by hand; the exit code is the agent's rc
    Exec(exec::ExecArgs),
    /// Drive an agent through validate-all/start/monitor/stop/monitor and say what is wrong
    Check(check::CheckArgs),
}

/// Runs `herd ra`.
pub fn run(args: RaArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("herd ra: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let executor = match Executor::new(executor_config(&args)) {
        Ok(executor) => executor,
        Err(e) => {
            eprintln!("herd ra: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let code = match args.command {
            RaCommand::List(list) => list::run(&executor, list),
            RaCommand::Info(info) => info::run(&executor, info).await,
            RaCommand::Exec(exec) => exec::run(&executor, exec).await,
            RaCommand::Check(check) => check::run(&executor, check).await,
        };
        finish_background_work().await;
        code
    })
}

/// The most `herd ra` waits, after the action, for work a native agent left running in the
/// background (the `vip` agent's later gratuitous ARPs); exiting would cut it short.
const BACKGROUND_WAIT_MS_MAX: u64 = 5_000;

async fn finish_background_work() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_millis(BACKGROUND_WAIT_MS_MAX);
    while metrics.num_alive_tasks() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn executor_config(args: &RaArgs) -> ExecConfig {
    ExecConfig {
        ocf_root: args.ocf_root.clone(),
        lsb_dir: args.lsb_dir.clone(),
        history_dir: None,
        max_concurrent_actions: 1,
        ..ExecConfig::default()
    }
}

/// Parses `KEY=VALUE` words into a map; the error names the bad word.
fn parse_pairs(words: &[String], what: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("{what} {word:?} is not NAME=VALUE"));
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "{what} {word:?}: the name may hold only letters, digits, '_' and '-'"
            ));
        }
        map.insert(key.to_owned(), value.to_owned());
    }
    Ok(map)
}

/// Parses a spec or prints why not (exit 2).
fn parse_spec(command: &str, text: &str) -> Result<AgentSpec, ExitCode> {
    text.parse().map_err(|e| {
        eprintln!("herd ra {command}: {e}");
        ExitCode::from(2)
    })
}

/// ` (did you mean ocf:heartbeat:Dummy?)` when an installed agent is named like the unknown
/// `spec`: same class and provider with a close type, or (for a mistyped provider) a close
/// provider; empty otherwise.
fn agent_hint(executor: &Executor, spec: &AgentSpec) -> String {
    let Ok(list) = executor.list_agents(Some(spec.class.as_str())) else {
        return String::new();
    };
    let same_provider = |agent: &&AgentSpec| agent.provider == spec.provider;
    let mut candidates: Vec<&AgentSpec> = list.agents.iter().filter(same_provider).collect();
    if candidates.is_empty()
        && let Some(provider) = &spec.provider
    {
        let providers = list
            .agents
            .iter()
            .filter_map(|agent| agent.provider.as_deref());
        if let Some(close) = herd_exec::closest(provider, providers) {
            let close = Some(close.to_owned());
            candidates = list.agents.iter().filter(|a| a.provider == close).collect();
        }
    }
    let kinds = candidates.iter().map(|agent| agent.kind.as_str());
    let Some(kind) = herd_exec::closest(&spec.kind, kinds) else {
        return String::new();
    };
    candidates
        .iter()
        .find(|agent| agent.kind == kind)
        .map(|agent| format!(" (did you mean {agent}?)"))
        .unwrap_or_default()
}

/// Writes to stdout; a closed pipe (`herd ra list | head`) is not worth a panic.
fn out(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Prints a JSON value (the `--json` output of every `herd ra` command).
fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => out(&format!("{text}\n")),
        Err(e) => eprintln!("herd ra: cannot write JSON: {e}"),
    }
}

/// Formats milliseconds the way meta-data writes times (`20s`, `500ms`).
fn format_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// An exit code from an OCF rc (codes beyond 255 become 1).
fn exit_code(rc: i32) -> ExitCode {
    ExitCode::from(u8::try_from(rc).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_and_bad_words_are_named() {
        let words = vec!["ip=10.0.0.5".to_owned(), "opts=a=b".to_owned()];
        let map = parse_pairs(&words, "parameter").unwrap();
        assert_eq!("a=b", map["opts"]);
        let err = parse_pairs(&["oops".to_owned()], "parameter").unwrap_err();
        assert!(err.contains("\"oops\" is not NAME=VALUE"), "{err}");
        assert!(parse_pairs(&["=x".to_owned()], "parameter").is_err());
    }

    #[test]
    fn times_print_like_metadata() {
        assert_eq!("20s", format_ms(20_000));
        assert_eq!("250ms", format_ms(250));
    }
}
