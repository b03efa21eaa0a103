//! LSB init scripts and systemd units.

use herd_exec::{Action, ExecError, ExecStatus, OcfRc};

use crate::support::{Fixture, request};

#[tokio::test]
async fn lsb_script_status_codes_map_to_ocf() {
    let fx = Fixture::new();
    let state = fx.state("lsb.state");
    fx.add_init_script(
        "svc",
        &format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: svc\n# Short-Description: test service\n### END INIT INFO\n\
             case \"$1\" in start) touch {state};; stop) rm -f {state};; status) [ -f {state} ] && exit 0; exit 3;; *) exit 3;; esac\n"
        ),
    );
    let exec = fx.executor();
    let run = |action| exec.execute(request("svc", "lsb:svc", action, &[]));
    assert_eq!(
        OcfRc::NotRunning,
        run(Action::Monitor).await.ocf(),
        "status 3 is not running"
    );
    assert_eq!(OcfRc::Success, run(Action::Start).await.ocf());
    assert_eq!(OcfRc::Success, run(Action::Monitor).await.ocf());
    assert_eq!(OcfRc::Unimplemented, run(Action::Promote).await.ocf());
    assert_eq!(OcfRc::Success, run(Action::Stop).await.ocf());
    let metadata = exec.metadata(&"lsb:svc".parse().unwrap()).await.unwrap();
    assert_eq!(Some("test service"), metadata.shortdesc.as_deref());
    let listed = exec.list_agents(Some("lsb")).unwrap();
    assert_eq!(
        vec!["lsb:svc".to_owned()],
        listed
            .agents
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn systemd_units_give_a_clear_error_where_systemd_does_not_run() {
    if std::path::Path::new("/run/systemd/system").exists() {
        eprintln!("skipped: systemd runs on this host");
        return;
    }
    let fx = Fixture::new();
    let exec = fx.executor();
    let result = exec
        .execute(request("sd", "systemd:nginx", Action::Start, &[]))
        .await;
    assert_eq!(
        (OcfRc::NotInstalled, ExecStatus::NotInstalled),
        (result.ocf(), result.status)
    );
    assert!(
        result
            .exit_reason
            .unwrap()
            .contains("systemd is not running on this host")
    );
    let err = exec.list_agents(Some("systemd")).unwrap_err();
    assert!(
        matches!(err, ExecError::ClassUnavailable { .. })
            && err.to_string().starts_with("systemd is not running"),
        "{err}"
    );
    let all = exec.list_agents(None).unwrap();
    assert!(
        all.notes
            .iter()
            .any(|n| n.contains("systemd is not running"))
    );
    assert!(
        all.agents
            .iter()
            .any(|a| a.to_string() == "ocf:heartbeat:IPaddr2")
    );
    assert!(all.agents.iter().any(|a| a.to_string() == "ocf:herd:vip"));
}

#[tokio::test]
async fn a_parameter_given_to_an_lsb_script_is_refused_as_it_takes_none() {
    let fx = Fixture::new();
    fx.add_init_script("plain", "#!/bin/sh\nexit 0\n");
    let exec = fx.executor();
    let params = std::collections::BTreeMap::from([("port".to_owned(), "80".to_owned())]);
    let err = exec
        .check_params(&"lsb:plain".parse().unwrap(), &params)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::UnknownParams {
                takes_none: true,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("the agent takes no parameters"),
        "{err}"
    );
}
