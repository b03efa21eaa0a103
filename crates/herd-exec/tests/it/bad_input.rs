//! Bad input gives clear errors and the executor goes on: unknown agents, missing required
//! parameters, agents that print garbage.

use std::collections::BTreeMap;

use herd_exec::{Action, AgentSpec, ExecError, ExecStatus, OcfRc};

use crate::support::{Fixture, request};

#[tokio::test]
async fn unknown_agent_is_not_installed_with_its_path() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let result = exec
        .execute(request(
            "x",
            "ocf:heartbeat:NoSuchAgent",
            Action::Start,
            &[],
        ))
        .await;
    assert_eq!(
        (OcfRc::NotInstalled, ExecStatus::NotInstalled),
        (result.ocf(), result.status)
    );
    assert!(
        result
            .exit_reason
            .unwrap()
            .contains("resource.d/heartbeat/NoSuchAgent")
    );
    let err = exec
        .metadata(&"ocf:heartbeat:NoSuchAgent".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::UnknownAgent { .. }), "{err}");
    let native = exec
        .execute(request("y", "ocf:herd:nosuch", Action::Monitor, &[]))
        .await;
    assert_eq!(OcfRc::NotInstalled, native.ocf());
    assert!(
        native.exit_reason.unwrap().contains("vip"),
        "the reason lists the native agents"
    );
}

#[tokio::test]
async fn missing_required_parameter_is_named_before_running() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let spec: AgentSpec = "ocf:test:testagent".parse().unwrap();
    let err = exec
        .check_params(&spec, &BTreeMap::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::MissingParams { names, .. } if names == &["state".to_owned()]),
        "{err}"
    );
    assert!(
        err.to_string().contains("missing required parameter state"),
        "{err}"
    );
    let params = BTreeMap::from([("state".to_owned(), "/tmp/x".to_owned())]);
    assert!(exec.check_params(&spec, &params).await.is_ok());
    let ipaddr2 = exec
        .check_params(&"ocf:heartbeat:IPaddr2".parse().unwrap(), &BTreeMap::new())
        .await
        .unwrap_err();
    assert!(ipaddr2.to_string().contains("ip"), "{ipaddr2}");
}

#[tokio::test]
async fn agent_printing_garbage_gives_a_clear_error_and_the_executor_goes_on() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let spec: AgentSpec = "ocf:test:garbage".parse().unwrap();
    let err = exec.metadata(&spec).await.unwrap_err().to_string();
    assert!(err.starts_with("meta-data of ocf:test:garbage"), "{err}");
    let result = exec
        .execute(request("g", "ocf:test:garbage", Action::Start, &[]))
        .await;
    assert_eq!((42, "OCF_UNKNOWN"), (result.rc, result.ocf().name()));
    assert!(result.output.contains("<not xml>"));
    let state = fx.state("after.state");
    let next = exec
        .execute(request(
            "g2",
            "ocf:test:testagent",
            Action::Start,
            &[("state", &state)],
        ))
        .await;
    assert_eq!(0, next.rc);
}

#[tokio::test]
async fn flooding_output_is_cut_and_a_crashing_agent_is_reported() {
    let fx = Fixture::new();
    fx.add_agent(
        "flood",
        "#!/bin/sh\nhead -c 2000000 /dev/zero | tr '\\0' x\nexit 0\n",
    );
    fx.add_agent("crash", "#!/bin/sh\nkill -SEGV $$\n");
    let exec = fx.executor();
    let flood = exec
        .execute(request("flood", "ocf:test:flood", Action::Start, &[]))
        .await;
    assert_eq!((0, ExecStatus::Done), (flood.rc, flood.status));
    assert!(flood.output.len() < 100_000 && flood.output.ends_with("[output truncated]"));
    let crash = exec
        .execute(request("crash", "ocf:test:crash", Action::Start, &[]))
        .await;
    assert_eq!(
        (OcfRc::ErrGeneric, ExecStatus::Error),
        (crash.ocf(), crash.status)
    );
    assert!(crash.exit_reason.unwrap().contains("killed by signal 11"));
}

#[tokio::test]
async fn mistyped_parameter_is_refused_with_the_closest_declared_name() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let spec: AgentSpec = "ocf:test:testagent".parse().unwrap();
    let params = BTreeMap::from([("stat".to_owned(), "/tmp/x".to_owned())]);
    let err = exec.check_params(&spec, &params).await.unwrap_err();
    assert!(
        matches!(&err, ExecError::UnknownParams { names, .. }
            if names == &[("stat".to_owned(), Some("state".to_owned()))]),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("unknown parameter \"stat\" (did you mean state?)"),
        "{err}"
    );
}

#[test]
fn listing_an_unknown_class_or_provider_names_what_there_is() {
    let fx = Fixture::new();
    let exec = fx.executor();
    let class = exec.list_agents(Some("bogus")).unwrap_err().to_string();
    assert!(
        class.contains("\"bogus\": not a class; list takes ocf"),
        "{class}"
    );
    let provider = exec.list_agents(Some("ocf:nope")).unwrap_err().to_string();
    assert!(
        provider.contains("unknown OCF provider \"nope\""),
        "{provider}"
    );
    assert!(provider.contains("herd"), "{provider}");
}
