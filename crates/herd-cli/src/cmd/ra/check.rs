//! `herd ra check SPEC [NAME=VALUE...]`: the ocf-tester job. Drives an agent through
//! meta-data, validate-all, monitor, stop, monitor, start, monitor, start again, promote and
//! demote when it is promotable, stop, monitor, stop again, and says what is wrong with
//! each step that does not answer what the OCF rules require. When validate-all refuses the
//! parameters (rc 2, 5 or 6) it stops there and blames them, not the agent. It runs the real
//! agent.

use std::process::ExitCode;

use herd_exec::{Action, Executor, OcfRc, OpRequest};
use serde::Serialize;

/// Arguments of `herd ra check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The agent: ocf:PROVIDER:TYPE, lsb:NAME, systemd:UNIT (a bare TYPE is ocf:heartbeat:TYPE)
    #[arg(value_name = "CLASS:PROVIDER:TYPE")]
    pub spec: String,
    /// Instance parameters (OCF_RESKEY_NAME=VALUE)
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The resource instance id (OCF_RESOURCE_INSTANCE); default: the agent type
    #[arg(short, long)]
    pub resource: Option<String>,
    /// Time limit of each action, e.g. 20s; default: the agent's advised timeouts, else 20s
    #[arg(long)]
    pub timeout: Option<String>,
    /// Print the steps as JSON
    #[arg(long)]
    pub json: bool,
}

/// One step of the check.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Step {
    pub(super) what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) action: Option<String>,
    pub(super) expected: Vec<i32>,
    pub(super) rc: Option<i32>,
    pub(super) rc_name: Option<String>,
    pub(super) ok: bool,
    /// What the OCF rules say, when the step failed.
    pub(super) problem: Option<String>,
    pub(super) exit_reason: Option<String>,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Report {
    pub(super) agent: String,
    pub(super) resource: String,
    pub(super) passed: bool,
    pub(super) steps: Vec<Step>,
}

struct Checker<'a> {
    executor: &'a Executor,
    base: OpRequest,
    /// `--timeout`, for every step.
    timeout_ms: Option<u64>,
    /// The agent's advised timeout per action (used without `--timeout`).
    advised: Option<herd_exec::Metadata>,
    steps: Vec<Step>,
}

impl Checker<'_> {
    /// Runs one action and records whether its rc is one of `expected`.
    async fn step(
        &mut self,
        what: &str,
        action: Action,
        expected: &[i32],
        rule: &str,
    ) -> Option<i32> {
        let mut request = self.base.with_action(action);
        let advised = self
            .advised
            .as_ref()
            .and_then(|m| m.timeout_ms(action.as_str()));
        request.timeout_ms = self.timeout_ms.or(advised);
        let result = self.executor.execute(request).await;
        let ok = result.status == herd_exec::ExecStatus::Done && expected.contains(&result.rc);
        let problem = (!ok).then(|| {
            let wanted: Vec<String> = expected
                .iter()
                .map(|rc| format!("{rc} {}", OcfRc::from_code(*rc).name()))
                .collect();
            format!(
                "got {} {}, expected {}: {rule}",
                result.rc,
                result.ocf().name(),
                wanted.join(" or ")
            )
        });
        self.steps.push(Step {
            what: what.to_owned(),
            action: Some(action.to_string()),
            expected: expected.to_vec(),
            rc: Some(result.rc),
            rc_name: Some(result.ocf().name().to_owned()),
            ok,
            problem,
            exit_reason: result.exit_reason,
        });
        Some(result.rc).filter(|_| ok)
    }

    fn note(&mut self, what: &str, ok: bool, problem: Option<String>) {
        self.steps.push(Step {
            what: what.to_owned(),
            action: None,
            expected: Vec::new(),
            rc: None,
            rc_name: None,
            ok,
            problem,
            exit_reason: None,
        });
    }
}

/// validate-all's rcs that blame the parameters or the host, not the agent (2 ERR_ARGS,
/// 5 ERR_INSTALLED, 6 ERR_CONFIGURED): the check stops there, as every later step would
/// fail for the same reason and be misread as the agent breaking the rules.
const PARAMS_WRONG: &[i32] = &[2, 5, 6];

/// Runs the check sequence; `None` from a step means it failed.
async fn drive(checker: &mut Checker<'_>, promote: bool, demote: bool, validate: bool) {
    const SUCCESS: &[i32] = &[0];
    const STOPPED: &[i32] = &[7];
    if validate {
        let valid = checker
            .step(
                "validate-all",
                Action::ValidateAll,
                SUCCESS,
                "the parameters must be valid on this host",
            )
            .await;
        let rc = checker.steps.last().and_then(|step| step.rc);
        if valid.is_none() && rc.is_some_and(|rc| PARAMS_WRONG.contains(&rc)) {
            return;
        }
    }
    checker
        .step(
            "first monitor (probe)",
            Action::Monitor,
            &[0, 7, 8],
            "a probe answers 0, 7 or 8",
        )
        .await;
    checker
        .step(
            "stop (cleanup)",
            Action::Stop,
            SUCCESS,
            "stop must succeed, also on a stopped resource",
        )
        .await;
    checker
        .step(
            "monitor after stop",
            Action::Monitor,
            STOPPED,
            "after stop, monitor must say 7 (not running)",
        )
        .await;
    let started = checker
        .step(
            "start",
            Action::Start,
            SUCCESS,
            "start must return 0 once the resource is fully active",
        )
        .await;
    if started.is_some() {
        checker
            .step(
                "monitor after start",
                Action::Monitor,
                SUCCESS,
                "after a successful start, monitor must return 0",
            )
            .await;
        checker
            .step(
                "start again",
                Action::Start,
                SUCCESS,
                "starting a started resource must return 0",
            )
            .await;
        check_promotion(checker, promote, demote).await;
    }
    checker
        .step(
            "stop",
            Action::Stop,
            SUCCESS,
            "stop must return 0 once the resource is fully stopped",
        )
        .await;
    checker
        .step(
            "monitor after stop",
            Action::Monitor,
            STOPPED,
            "after stop, monitor must say 7 (not running)",
        )
        .await;
    checker
        .step(
            "stop again",
            Action::Stop,
            SUCCESS,
            "stopping a stopped resource must return 0",
        )
        .await;
}

/// Promote, monitor (8), promote again, demote, monitor (0), demote again: for an agent that
/// advertises both actions; one without the other is a problem of its own.
async fn check_promotion(checker: &mut Checker<'_>, promote: bool, demote: bool) {
    const SUCCESS: &[i32] = &[0];
    match (promote, demote) {
        (true, true) => {
            checker
                .step("promote", Action::Promote, SUCCESS, "promote must return 0")
                .await;
            checker
                .step(
                    "monitor when promoted",
                    Action::Monitor,
                    &[8],
                    "a promoted resource's monitor must return 8",
                )
                .await;
            checker
                .step(
                    "promote again",
                    Action::Promote,
                    SUCCESS,
                    "promote must be idempotent",
                )
                .await;
            checker
                .step("demote", Action::Demote, SUCCESS, "demote must return 0")
                .await;
            checker
                .step(
                    "monitor when demoted",
                    Action::Monitor,
                    SUCCESS,
                    "an unpromoted resource's monitor must return 0",
                )
                .await;
            checker
                .step(
                    "demote again",
                    Action::Demote,
                    SUCCESS,
                    "demote must be idempotent",
                )
                .await;
        }
        (false, false) => {}
        _ => {
            let problem = "the meta-data advertises only one of promote and demote: a promotable agent needs both";
            checker.note("promote/demote pair", false, Some(problem.to_owned()));
        }
    }
}

/// Checks an agent; `Err` is the exit code of an input error already printed.
pub(super) async fn check(executor: &Executor, args: &CheckArgs) -> Result<Report, ExitCode> {
    let prepared = super::exec::prepare(
        executor,
        "check",
        &args.spec,
        Action::Start,
        &args.params,
        args.resource.as_deref(),
        false,
    )
    .await?;
    let timeout_ms = super::exec::parse_time("check", "timeout", args.timeout.as_deref())?;
    let base = prepared.request;
    let mut checker = Checker {
        executor,
        base: base.clone(),
        timeout_ms,
        advised: None,
        steps: Vec::new(),
    };
    match executor.metadata(&base.agent).await {
        Ok(metadata) => {
            let what = format!(
                "meta-data ({} parameters, {} actions)",
                metadata.parameters.len(),
                metadata.actions.len()
            );
            checker.note(&what, true, None);
            checker.advised = Some(metadata.clone());
            let supports = |action: &str| metadata.supports(action);
            drive(
                &mut checker,
                supports("promote"),
                supports("demote"),
                supports("validate-all"),
            )
            .await;
        }
        Err(e) => checker.note(
            "meta-data",
            false,
            Some(format!("{e}: agents must print valid OCF meta-data")),
        ),
    }
    let passed = checker.steps.iter().all(|s| s.ok);
    Ok(Report {
        agent: base.agent.to_string(),
        resource: base.resource,
        passed,
        steps: checker.steps,
    })
}

pub(super) async fn run(executor: &Executor, args: CheckArgs) -> ExitCode {
    let report = match check(executor, &args).await {
        Ok(report) => report,
        Err(code) => return code,
    };
    if args.json {
        super::print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        super::out(&render(&report));
    }
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The human form: one line per step, problems spelled out, a verdict.
pub(super) fn render(report: &Report) -> String {
    let mut out = format!(
        "checking {} as resource {}\n",
        report.agent, report.resource
    );
    for step in &report.steps {
        let verdict = if step.ok { "ok  " } else { "FAIL" };
        let rc = match (&step.rc, &step.rc_name) {
            (Some(rc), Some(name)) => format!("  rc={rc} {name}"),
            _ => String::new(),
        };
        out.push_str(&format!("  {verdict}  {:24}{rc}\n", step.what));
        if let Some(problem) = &step.problem {
            out.push_str(&format!("        {problem}\n"));
        }
        if let Some(reason) = step.exit_reason.as_ref().filter(|_| !step.ok) {
            out.push_str(&format!("        exit reason: {reason}\n"));
        }
    }
    let passed = report.steps.iter().filter(|s| s.ok).count();
    let params_wrong = report.steps.iter().any(|step| {
        step.action.as_deref() == Some("validate-all")
            && step.rc.is_some_and(|rc| PARAMS_WRONG.contains(&rc))
    });
    let verdict = if report.passed {
        "the agent behaves"
    } else if params_wrong {
        "validate-all refused the parameters on this host; fix what its exit reason says and run again"
    } else {
        "the agent breaks the OCF rules above"
    };
    out.push_str(&format!(
        "passed {passed} of {} checks: {verdict}\n",
        report.steps.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use herd_exec::{ExecConfig, Executor};

    use super::*;

    fn args(spec: &str, params: &[String]) -> CheckArgs {
        CheckArgs {
            spec: spec.to_owned(),
            params: params.to_vec(),
            resource: None,
            timeout: None,
            json: false,
        }
    }

    #[tokio::test]
    async fn heartbeat_dummy_passes_every_check() {
        let dir = tempfile::tempdir().unwrap();
        let state = format!("state={}", dir.path().join("c.state").display());
        let executor = Executor::new(ExecConfig::default()).unwrap();
        let report = check(&executor, &args("ocf:heartbeat:Dummy", &[state]))
            .await
            .unwrap();
        assert!(report.passed, "{}", render(&report));
        assert!(render(&report).contains("passed 11 of 11 checks"));
    }

    #[tokio::test]
    async fn an_agent_that_cannot_stop_and_half_promotes_is_told_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let agents = dir.path().join("resource.d/x");
        std::fs::create_dir_all(&agents).unwrap();
        let script = "#!/bin/sh\ncase \"$1\" in\nmeta-data) echo '<resource-agent name=\"liar\"><actions>\
                      <action name=\"start\" timeout=\"5s\"/><action name=\"promote\" timeout=\"5s\"/></actions></resource-agent>';;\n\
                      monitor) exit 0;;\nstop) echo ocf-exit-reason:cannot stop >&2; exit 1;;\n*) exit 0;;\nesac\n";
        std::fs::write(agents.join("liar"), script).unwrap();
        std::fs::set_permissions(agents.join("liar"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let config = ExecConfig {
            ocf_root: dir.path().to_path_buf(),
            ..ExecConfig::default()
        };
        let executor = Executor::new(config).unwrap();
        let report = check(&executor, &args("ocf:x:liar", &[])).await.unwrap();
        assert!(!report.passed);
        let text = render(&report);
        assert!(
            text.contains("stopping a stopped resource must return 0"),
            "{text}"
        );
        assert!(text.contains("after stop, monitor must say 7"), "{text}");
        assert!(text.contains("only one of promote and demote"), "{text}");
        assert!(text.contains("exit reason: cannot stop"), "{text}");
    }

    #[tokio::test]
    async fn parameters_refused_by_validate_all_stop_the_check_and_blame_the_parameters() {
        let executor = Executor::new(ExecConfig::default()).unwrap();
        // Refused by validate-all itself: nothing touches the host's interfaces.
        let params = ["ip=not-an-address".to_owned()];
        let report = check(&executor, &args("ocf:herd:vip", &params))
            .await
            .unwrap();
        assert!(!report.passed);
        let text = render(&report);
        assert_eq!(2, report.steps.len(), "{text}");
        assert!(
            text.contains("validate-all refused the parameters"),
            "{text}"
        );
        assert!(text.contains("is not an IPv4 or IPv6 address"), "{text}");
    }

    #[tokio::test]
    async fn missing_required_parameter_is_bad_input_and_unknown_agent_is_not_installed() {
        let executor = Executor::new(ExecConfig::default()).unwrap();
        let missing = check(&executor, &args("ocf:heartbeat:IPaddr2", &[]))
            .await
            .unwrap_err();
        assert_eq!(ExitCode::from(2), missing);
        let unknown = check(&executor, &args("ocf:heartbeat:NoSuchAgent", &[]))
            .await
            .unwrap_err();
        assert_eq!(ExitCode::from(5), unknown);
    }
}
