//! `herd ra list [CLASS[:PROVIDER]] [--json]`: the agents installed here, one spec a line.

use std::process::ExitCode;

use herd_exec::Executor;

/// Arguments of `herd ra list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// ocf, ocf:PROVIDER, lsb or systemd (default: everything)
    #[arg(value_name = "CLASS[:PROVIDER]")]
    pub filter: Option<String>,
    /// Print {"agents": [...], "notes": [...]}
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(executor: &Executor, args: ListArgs) -> ExitCode {
    let list = match executor.list_agents(args.filter.as_deref()) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("herd ra list: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        let agents: Vec<String> = list.agents.iter().map(ToString::to_string).collect();
        super::print_json(&serde_json::json!({ "agents": agents, "notes": list.notes }));
    } else {
        let text: String = list
            .agents
            .iter()
            .map(|agent| format!("{agent}\n"))
            .collect();
        super::out(&text);
        for note in &list.notes {
            eprintln!("herd ra list: note: {note}");
        }
    }
    ExitCode::SUCCESS
}
