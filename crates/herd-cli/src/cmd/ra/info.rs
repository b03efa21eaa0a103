//! `herd ra info SPEC [--json]`: an agent's description, parameters (name, required,
//! default, shortdesc) and actions with their advised timeouts, from its meta-data.

use std::process::ExitCode;

use herd_exec::{AgentSpec, Executor, Metadata};

use super::format_ms;

/// Arguments of `herd ra info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// The agent: ocf:PROVIDER:TYPE, lsb:NAME, systemd:UNIT (a bare TYPE is ocf:heartbeat:TYPE)
    #[arg(value_name = "CLASS:PROVIDER:TYPE")]
    pub spec: String,
    /// Print the parsed meta-data as JSON
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn run(executor: &Executor, args: InfoArgs) -> ExitCode {
    let spec = match super::parse_spec("info", &args.spec) {
        Ok(spec) => spec,
        Err(code) => return code,
    };
    let metadata = match executor.metadata(&spec).await {
        Ok(metadata) => metadata,
        Err(e @ herd_exec::ExecError::UnknownAgent { .. }) => {
            let hint = super::agent_hint(executor, &spec);
            eprintln!("herd ra info: {e}{hint}; `herd ra list` shows the installed agents");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("herd ra info: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        let mut value = serde_json::to_value(&metadata).unwrap_or_default();
        value["agent"] = serde_json::Value::String(spec.to_string());
        super::print_json(&value);
    } else {
        super::out(&render(&spec, &metadata));
    }
    ExitCode::SUCCESS
}

/// The human form of `herd ra info`.
pub(super) fn render(spec: &AgentSpec, metadata: &Metadata) -> String {
    let mut out = format!("{spec}");
    if let Some(short) = &metadata.shortdesc {
        out.push_str(&format!(": {short}"));
    }
    out.push('\n');
    if let Some(long) = metadata
        .longdesc
        .as_deref()
        .filter(|l| Some(*l) != metadata.shortdesc.as_deref())
    {
        for line in long.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str("\nParameters (* = required):\n");
    if metadata.parameters.is_empty() {
        out.push_str("  (none)\n");
    }
    let width = metadata
        .parameters
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for param in &metadata.parameters {
        let mark = if param.required { '*' } else { ' ' };
        let mut line = format!("  {mark} {:width$}", param.name);
        if let Some(kind) = &param.content_type {
            line.push_str(&format!("  ({kind})"));
        }
        if let Some(default) = param.default.as_deref().filter(|d| !d.is_empty()) {
            line.push_str(&format!("  default={default}"));
        }
        if let Some(short) = &param.shortdesc {
            line.push_str(&format!("  {short}"));
        }
        if param.deprecated {
            line.push_str("  [deprecated]");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\nActions:\n");
    for action in &metadata.actions {
        let mut line = format!("  {:14}", action.name);
        if let Some(timeout) = action.timeout_ms {
            line.push_str(&format!(" timeout={}", format_ms(timeout)));
        }
        if let Some(interval) = action.interval_ms {
            line.push_str(&format!(" interval={}", format_ms(interval)));
        }
        if let Some(depth) = &action.depth {
            line.push_str(&format!(" depth={depth}"));
        }
        if let Some(role) = &action.role {
            line.push_str(&format!(" role={role}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
