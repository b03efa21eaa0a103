//! `herd ra exec SPEC ACTION [NAME=VALUE...]`: runs one action of an agent by hand and
//! prints its rc with the OCF name, the exit reason and the output. The exit code is the
//! agent's rc. Required parameters are checked against the meta-data first.

use std::collections::BTreeMap;
use std::process::ExitCode;

use herd_exec::{Action, AgentSpec, ExecError, Executor, OpRequest, OpResult, parse_duration_ms};

/// Arguments of `herd ra exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The agent: ocf:PROVIDER:TYPE, lsb:NAME, systemd:UNIT (a bare TYPE is ocf:heartbeat:TYPE)
    #[arg(value_name = "CLASS:PROVIDER:TYPE")]
    pub spec: String,
    /// start, stop, monitor, promote, demote, migrate_to, migrate_from, reload, reload-agent, notify, meta-data, validate-all
    pub action: String,
    /// Instance parameters (OCF_RESKEY_NAME=VALUE)
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The resource instance id (OCF_RESOURCE_INSTANCE); default: the agent type
    #[arg(short, long)]
    pub resource: Option<String>,
    /// Time limit, e.g. 20s or 500ms; default: the agent's advised timeout, else 20s
    #[arg(long)]
    pub timeout: Option<String>,
    /// OCF_RESKEY_CRM_meta_interval (monitor with 0 = probe); e.g. 10s
    #[arg(long)]
    pub interval: Option<String>,
    /// Meta attributes (OCF_RESKEY_CRM_meta_NAME=VALUE), repeatable
    #[arg(long = "meta", value_name = "NAME=VALUE")]
    pub meta: Vec<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// A request built from the command line, or the exit code of the error already printed.
pub(super) struct Prepared {
    pub(super) request: OpRequest,
    pub(super) advised_timeout_ms: Option<u64>,
}

/// Parses the spec, the parameters and the times, and checks the required parameters
/// against the meta-data (an unreadable meta-data only warns: the action may still run).
pub(super) async fn prepare(
    executor: &Executor,
    command: &str,
    spec: &str,
    action: Action,
    params: &[String],
    resource: Option<&str>,
    warn_metadata: bool,
) -> Result<Prepared, ExitCode> {
    let bad = |why: String| {
        eprintln!("herd ra {command}: {why}");
        ExitCode::from(2)
    };
    let spec: AgentSpec = super::parse_spec(command, spec)?;
    let params: BTreeMap<String, String> = super::parse_pairs(params, "parameter").map_err(bad)?;
    let mut advised_timeout_ms = None;
    if action != Action::MetaData {
        match executor.check_params(&spec, &params).await {
            Ok(metadata) => advised_timeout_ms = metadata.timeout_ms(action.as_str()),
            Err(e @ ExecError::UnknownAgent { .. }) => {
                let hint = super::agent_hint(executor, &spec);
                eprintln!(
                    "herd ra {command}: {e}{hint}; `herd ra list` shows the installed agents"
                );
                return Err(ExitCode::from(5));
            }
            Err(ExecError::UnknownParams {
                spec,
                names,
                takes_none,
            }) => {
                let names = hint_options(command, names, &params);
                let e = ExecError::UnknownParams {
                    spec,
                    names,
                    takes_none,
                };
                return Err(bad(e.to_string()));
            }
            Err(e @ ExecError::MissingParams { .. }) => return Err(bad(e.to_string())),
            Err(e) if warn_metadata => {
                eprintln!("herd ra {command}: warning: parameters not checked: {e}")
            }
            Err(_) => {}
        }
    }
    let resource = resource.map_or_else(|| spec.kind.clone(), str::to_owned);
    let mut request = OpRequest::new(&resource, spec, action);
    request.params = params;
    Ok(Prepared {
        request,
        advised_timeout_ms,
    })
}

/// Fills in the command-line option a mistyped parameter with no closer parameter may have
/// meant: `interfal=30s` becomes "did you mean the option --interval 30s?".
fn hint_options(
    command: &str,
    unknown: Vec<(String, Option<String>)>,
    params: &BTreeMap<String, String>,
) -> Vec<(String, Option<String>)> {
    let options: &[&str] = if command == "exec" {
        &["interval", "timeout", "resource", "meta"]
    } else {
        &["timeout", "resource"]
    };
    unknown
        .into_iter()
        .map(|(name, hint)| {
            let hint = hint.or_else(|| {
                let option = herd_exec::closest(&name, options.iter().copied())?;
                let value = params.get(&name).map_or("", String::as_str);
                Some(format!("the option --{option} {value}"))
            });
            (name, hint)
        })
        .collect()
}

/// Parses `--timeout`/`--interval` (`20s`, `500ms`, `2min`, a bare number is seconds); a
/// zero timeout is refused, as the agent would be killed before it starts.
pub(super) fn parse_time(
    command: &str,
    what: &str,
    text: Option<&str>,
) -> Result<Option<u64>, ExitCode> {
    let Some(text) = text else { return Ok(None) };
    let bad = |why: &str| {
        eprintln!("herd ra {command}: --{what} {text:?} {why}");
        ExitCode::from(2)
    };
    match parse_duration_ms(text) {
        None => Err(bad("is not a time (use 20s, 500ms, 2min)")),
        Some(0) if what == "timeout" => Err(bad("leaves the agent no time (give more than 0)")),
        Some(ms) => Ok(Some(ms)),
    }
}

pub(super) async fn run(executor: &Executor, args: ExecArgs) -> ExitCode {
    let action: Action = match args.action.parse() {
        Ok(action) => action,
        Err(e) => {
            eprintln!("herd ra exec: {e}");
            return ExitCode::from(2);
        }
    };
    let prepared = prepare(
        executor,
        "exec",
        &args.spec,
        action,
        &args.params,
        args.resource.as_deref(),
        true,
    )
    .await;
    let Prepared {
        mut request,
        advised_timeout_ms,
    } = match prepared {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let timeout = parse_time("exec", "timeout", args.timeout.as_deref());
    let interval = parse_time("exec", "interval", args.interval.as_deref());
    let meta = super::parse_pairs(&args.meta, "meta attribute");
    match (timeout, interval, meta) {
        (Ok(timeout), Ok(interval), Ok(meta)) => {
            request.timeout_ms = timeout.or(advised_timeout_ms);
            request.interval_ms = interval.unwrap_or(0);
            request.meta = meta;
        }
        (Err(code), _, _) | (_, Err(code), _) => return code,
        (_, _, Err(why)) => {
            eprintln!("herd ra exec: {why}");
            return ExitCode::from(2);
        }
    }
    let result = executor.execute(request).await;
    if args.json {
        super::print_json(&to_json(&result));
    } else if action == Action::MetaData && result.rc == 0 {
        super::out(&format!("{}\n", result.output));
    } else {
        super::out(&render(&result));
    }
    super::exit_code(result.rc)
}

/// The JSON form: the result plus the rc's OCF name and meaning.
pub(super) fn to_json(result: &OpResult) -> serde_json::Value {
    let mut value = serde_json::to_value(result).unwrap_or_default();
    value["rc_name"] = result.ocf().name().into();
    value["rc_text"] = result.ocf().describe().into();
    value
}

/// The human form: summary line, exit reason, output.
pub(super) fn render(result: &OpResult) -> String {
    let mut out = format!("{} (took {} ms)\n", result.summary(), result.duration_ms);
    if !result.output.trim().is_empty() {
        out.push_str("output:\n");
        for line in result.output.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use herd_exec::ExecConfig;

    use super::*;

    fn args(spec: &str, action: &str, params: &[&str]) -> ExecArgs {
        ExecArgs {
            spec: spec.to_owned(),
            action: action.to_owned(),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            resource: None,
            timeout: None,
            interval: None,
            meta: Vec::new(),
            json: true,
        }
    }

    #[tokio::test]
    async fn exit_code_is_the_agents_rc_and_bad_input_is_2() {
        let dir = tempfile::tempdir().unwrap();
        let state = format!("state={}", dir.path().join("e.state").display());
        let executor = Executor::new(ExecConfig::default()).unwrap();
        let monitor = run(&executor, args("ocf:heartbeat:Dummy", "monitor", &[&state])).await;
        assert_eq!(ExitCode::from(7), monitor);
        let start = run(&executor, args("ocf:heartbeat:Dummy", "start", &[&state])).await;
        assert_eq!(ExitCode::from(0), start);
        let stop = run(&executor, args("ocf:heartbeat:Dummy", "stop", &[&state])).await;
        assert_eq!(ExitCode::from(0), stop);
        let bad_action = run(&executor, args("ocf:heartbeat:Dummy", "frobnicate", &[])).await;
        assert_eq!(ExitCode::from(2), bad_action);
        let bad_pair = run(&executor, args("ocf:heartbeat:Dummy", "start", &["oops"])).await;
        assert_eq!(ExitCode::from(2), bad_pair);
        let mut bad_time = args("ocf:heartbeat:Dummy", "monitor", &[&state]);
        bad_time.timeout = Some("soon".to_owned());
        assert_eq!(ExitCode::from(2), run(&executor, bad_time).await);
        let mut no_time = args("ocf:heartbeat:Dummy", "monitor", &[&state]);
        no_time.timeout = Some("0".to_owned());
        assert_eq!(ExitCode::from(2), run(&executor, no_time).await);
        assert_eq!(Ok(Some(0)), parse_time("exec", "interval", Some("0")));
    }

    #[test]
    fn a_parameter_named_like_an_option_points_to_the_option() {
        let params = BTreeMap::from([("interfal".to_owned(), "30s".to_owned())]);
        let hinted = hint_options("exec", vec![("interfal".to_owned(), None)], &params);
        assert_eq!(
            vec![(
                "interfal".to_owned(),
                Some("the option --interval 30s".to_owned())
            )],
            hinted
        );
    }

    #[tokio::test]
    async fn a_mistyped_parameter_or_agent_is_bad_input_before_anything_runs() {
        let executor = Executor::new(ExecConfig::default()).unwrap();
        let typo = run(&executor, args("ocf:herd:vip", "start", &["ipp=10.9.9.9"])).await;
        assert_eq!(ExitCode::from(2), typo);
        let unknown = run(&executor, args("ocf:heartbeat:dummy", "monitor", &[])).await;
        assert_eq!(ExitCode::from(5), unknown);
        let spec: AgentSpec = "ocf:heartbeat:dummy".parse().unwrap();
        assert_eq!(
            " (did you mean ocf:heartbeat:Dummy?)",
            super::super::agent_hint(&executor, &spec)
        );
        let provider: AgentSpec = "ocf:heartbat:Dummy".parse().unwrap();
        assert_eq!(
            " (did you mean ocf:heartbeat:Dummy?)",
            super::super::agent_hint(&executor, &provider)
        );
    }

    #[tokio::test]
    async fn results_render_with_the_ocf_name_and_reason() {
        let executor = Executor::new(ExecConfig::default()).unwrap();
        let request = OpRequest::new(
            "x",
            "ocf:heartbeat:NoSuchAgent".parse().unwrap(),
            Action::Monitor,
        );
        let result = executor.execute(request).await;
        let text = render(&result);
        assert!(
            text.starts_with("x monitor: rc=5 OCF_ERR_INSTALLED (not installed)"),
            "{text}"
        );
        let json = to_json(&result);
        assert_eq!("OCF_ERR_INSTALLED", json["rc_name"]);
        assert_eq!(5, json["rc"]);
    }
}
