//! systemd units, driven through `systemctl` (which speaks D-Bus to systemd for us).
//!
//! Why `systemctl` and not zbus: zbus and its async stack would add dozens of crates to a
//! build shared by a 2-core machine, for four calls (start, stop, show ActiveState,
//! daemon-reload) that `systemctl` makes over the same D-Bus API and waits on the job the
//! same way (`systemctl start` returns when the start job is done). The executor's timeout
//! and process-group kill apply to `systemctl` like to any agent.
//!
//! Before a start, a drop-in `/run/systemd/system/UNIT.d/50-herd.conf` sets `Restart=no`
//! (the cluster, not systemd, restarts it). Where systemd is not PID 1 (no
//! `/run/systemd/system`), every action ends with rc 5 and a reason saying so.

use std::path::Path;

use crate::class::{Call, RawResult};
use crate::env::base_env;
use crate::op::{Action, ExecStatus};
use crate::process::Invocation;
use crate::rc::OcfRc;

/// The directory systemd creates when it runs as the init system (sd_booted's test).
const SYSTEMD_RUNTIME_DIR: &str = "/run/systemd/system";

/// Why systemd units cannot be managed here, or `None` when systemd runs.
pub(crate) fn systemd_missing() -> Option<String> {
    if Path::new(SYSTEMD_RUNTIME_DIR).is_dir() {
        return None;
    }
    let init = std::fs::read_to_string("/proc/1/comm")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    Some(format!(
        "systemd is not running on this host (PID 1 is {init:?}, {SYSTEMD_RUNTIME_DIR} is missing): \
         systemd units cannot be managed here; use an lsb: or ocf: agent instead"
    ))
}

fn unit_name(kind: &str) -> String {
    if kind.contains('.') {
        kind.to_owned()
    } else {
        format!("{kind}.service")
    }
}

fn metadata(unit: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<resource-agent name=\"{unit}\" version=\"0.1\">\n  <version>1.0</version>\n  \
         <longdesc lang=\"en\">systemd unit {unit}, started and stopped through systemd</longdesc>\n  \
         <shortdesc lang=\"en\">systemd unit {unit}</shortdesc>\n  <parameters/>\n  <actions>\n    \
         <action name=\"start\" timeout=\"100s\"/>\n    <action name=\"stop\" timeout=\"100s\"/>\n    \
         <action name=\"monitor\" timeout=\"100s\" interval=\"60s\"/>\n    <action name=\"meta-data\" timeout=\"5s\"/>\n  \
         </actions>\n</resource-agent>\n"
    )
}

fn write_drop_in(unit: &str) -> std::io::Result<()> {
    let dir = Path::new(SYSTEMD_RUNTIME_DIR).join(format!("{unit}.d"));
    std::fs::create_dir_all(&dir)?;
    let text = format!("[Unit]\nDescription=Cluster Controlled {unit}\n\n[Service]\nRestart=no\n");
    crate::history::write_atomic(&dir.join("50-herd.conf"), text.as_bytes())
}

fn systemctl(args: &[&str]) -> Invocation {
    Invocation {
        program: "systemctl".into(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: base_env(),
    }
}

pub(crate) async fn run(call: &Call<'_>) -> RawResult {
    let unit = unit_name(&call.request.agent.kind);
    if call.request.action == Action::MetaData {
        return RawResult::text(metadata(&unit));
    }
    if let Some(why) = systemd_missing() {
        return RawResult::own(OcfRc::NotInstalled, ExecStatus::NotInstalled, why);
    }
    match call.request.action {
        Action::Start => {
            if let Err(e) = write_drop_in(&unit) {
                return RawResult::own(
                    OcfRc::ErrGeneric,
                    ExecStatus::Error,
                    format!("cannot write the drop-in for {unit}: {e}"),
                );
            }
            let reload = call
                .spawn(&systemctl(&["daemon-reload"]), OcfRc::from_code)
                .await;
            if reload.rc != 0 {
                return reload;
            }
            call.spawn(&systemctl(&["start", &unit]), |code| {
                if code == 0 {
                    OcfRc::Success
                } else {
                    OcfRc::ErrGeneric
                }
            })
            .await
        }
        Action::Stop => {
            call.spawn(&systemctl(&["stop", &unit]), |code| {
                if code == 0 {
                    OcfRc::Success
                } else {
                    OcfRc::ErrGeneric
                }
            })
            .await
        }
        Action::Reload | Action::ReloadAgent => {
            call.spawn(&systemctl(&["reload-or-restart", &unit]), |code| {
                if code == 0 {
                    OcfRc::Success
                } else {
                    OcfRc::ErrGeneric
                }
            })
            .await
        }
        Action::Monitor => monitor(call, &unit).await,
        Action::ValidateAll => RawResult::text(String::new()),
        other => RawResult::own(
            OcfRc::Unimplemented,
            ExecStatus::Done,
            format!("systemd units have no {other} action"),
        ),
    }
}

async fn monitor(call: &Call<'_>, unit: &str) -> RawResult {
    let mut result = call
        .spawn(
            &systemctl(&["show", "--property=ActiveState,LoadState", unit]),
            OcfRc::from_code,
        )
        .await;
    if result.status != ExecStatus::Done || result.rc != 0 {
        return result;
    }
    let field = |name: &str| {
        result
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or("")
            .to_owned()
    };
    let (active, load) = (field("ActiveState"), field("LoadState"));
    let rc = match (active.as_str(), load.as_str()) {
        (_, "not-found") => OcfRc::NotInstalled,
        ("active" | "activating" | "reloading", _) => OcfRc::Success,
        ("inactive" | "deactivating", _) => OcfRc::NotRunning,
        _ => OcfRc::ErrGeneric,
    };
    if rc != OcfRc::Success && rc != OcfRc::NotRunning {
        result.exit_reason = Some(format!("{unit} is {active} (load state {load})"));
    }
    result.rc = rc.code();
    result
}
