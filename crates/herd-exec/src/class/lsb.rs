//! LSB init scripts: `/etc/init.d/NAME start|stop|status|restart|force-reload`, no
//! parameters; `status` codes are mapped to OCF ([`crate::rc::lsb_to_ocf`]) and meta-data
//! is made up from the script's `### BEGIN INIT INFO` header.
//!
//! I/O: reads the script (its header); the run goes through [`crate::process`].

use std::path::PathBuf;

use crate::class::{Call, RawResult};
use crate::config::ExecConfig;
use crate::env::base_env;
use crate::op::{Action, ExecStatus};
use crate::process::Invocation;
use crate::rc::{OcfRc, lsb_to_ocf};

pub(crate) fn script_path(config: &ExecConfig, name: &str) -> PathBuf {
    config.lsb_dir.join(name)
}

fn header_field(script: &str, field: &str) -> Option<String> {
    let block = script
        .split("### BEGIN INIT INFO")
        .nth(1)?
        .split("### END INIT INFO")
        .next()?;
    block.lines().find_map(|line| {
        let rest = line.trim_start_matches('#').trim_start();
        rest.strip_prefix(field)?
            .strip_prefix(':')
            .map(|value| value.trim().to_owned())
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn metadata(name: &str, script: &str) -> String {
    let short =
        header_field(script, "Short-Description").unwrap_or_else(|| format!("{name} init script"));
    let long = header_field(script, "Description").unwrap_or_else(|| short.clone());
    format!(
        "<?xml version=\"1.0\"?>\n<resource-agent name=\"{name}\" version=\"0.1\">\n  <version>1.0</version>\n  \
         <longdesc lang=\"en\">{}</longdesc>\n  <shortdesc lang=\"en\">{}</shortdesc>\n  <parameters/>\n  <actions>\n    \
         <action name=\"start\" timeout=\"15s\"/>\n    <action name=\"stop\" timeout=\"15s\"/>\n    \
         <action name=\"status\" timeout=\"15s\"/>\n    <action name=\"monitor\" timeout=\"15s\" interval=\"15s\"/>\n    \
         <action name=\"meta-data\" timeout=\"5s\"/>\n  </actions>\n</resource-agent>\n",
        escape(&long),
        escape(&short)
    )
}

pub(crate) async fn run(call: &Call<'_>) -> RawResult {
    let name = &call.request.agent.kind;
    let path = script_path(call.config, name);
    if !path.is_file() {
        return RawResult::own(
            OcfRc::NotInstalled,
            ExecStatus::NotInstalled,
            format!("init script {} does not exist", path.display()),
        );
    }
    let verb = match call.request.action {
        Action::MetaData => {
            let script = std::fs::read(&path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            return RawResult::text(metadata(name, &script));
        }
        Action::ValidateAll => return RawResult::text(String::new()),
        Action::Monitor => "status",
        Action::Start => "start",
        Action::Stop => "stop",
        Action::Reload | Action::ReloadAgent => "force-reload",
        other => {
            return RawResult::own(
                OcfRc::Unimplemented,
                ExecStatus::Done,
                format!("LSB init scripts have no {other} action"),
            );
        }
    };
    let invocation = Invocation {
        program: path,
        args: vec![verb.to_owned()],
        env: base_env(),
    };
    call.spawn(&invocation, |code| lsb_to_ocf(verb, code)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_info_header_fills_the_metadata() {
        let script = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: x\n# Short-Description: the x daemon\n### END INIT INFO\n";
        let xml = metadata("x", script);
        let md = crate::metadata::parse_metadata(&xml).unwrap();
        assert_eq!(Some("the x daemon"), md.shortdesc.as_deref());
        assert!(md.supports("monitor"));
    }
}
