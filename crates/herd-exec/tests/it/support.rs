//! Test fixtures: a temporary OCF root that holds the Debian agents (by symlink) and the
//! test agents of this directory, and executors over it.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use herd_exec::{Action, AgentSpec, ExecConfig, Executor, OpRequest};

/// A temporary directory with an OCF root (`ocf/`), an init.d (`init.d/`), a history
/// directory (`history/`) and room for state files.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ocf");
        std::fs::create_dir_all(root.join("resource.d/test")).unwrap();
        std::fs::create_dir_all(dir.path().join("init.d")).unwrap();
        symlink("/usr/lib/ocf/lib", root.join("lib")).unwrap();
        for provider in ["heartbeat", "pacemaker"] {
            symlink(
                format!("/usr/lib/ocf/resource.d/{provider}"),
                root.join("resource.d").join(provider),
            )
            .unwrap();
        }
        let fixture = Fixture { dir };
        fixture.add_agent("testagent", include_str!("testagent.sh"));
        fixture.add_agent("garbage", include_str!("garbage.sh"));
        fixture
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes an executable test agent `ocf:test:NAME`.
    pub(crate) fn add_agent(&self, name: &str, script: &str) {
        write_executable(&self.path("ocf/resource.d/test").join(name), script);
    }

    /// Writes an executable init script `lsb:NAME`.
    pub(crate) fn add_init_script(&self, name: &str, script: &str) {
        write_executable(&self.path("init.d").join(name), script);
    }

    pub(crate) fn config(&self) -> ExecConfig {
        ExecConfig {
            ocf_root: self.path("ocf"),
            lsb_dir: self.path("init.d"),
            runtime_root: self.path("run"),
            history_dir: Some(self.path("history")),
            kill_grace_ms: 300,
            ..ExecConfig::default()
        }
    }

    pub(crate) fn executor(&self) -> Executor {
        Executor::new(self.config()).unwrap()
    }

    /// A state file path inside the fixture.
    pub(crate) fn state(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }
}

fn write_executable(path: &Path, script: &str) {
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A one-shot request with parameters.
pub(crate) fn request(
    resource: &str,
    spec: &str,
    action: Action,
    params: &[(&str, &str)],
) -> OpRequest {
    let mut request =
        OpRequest::new(resource, spec.parse::<AgentSpec>().unwrap(), action).timeout_ms(10_000);
    request.params = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<BTreeMap<_, _>>();
    request
}

/// True when `pid` is gone or a zombie (killed, not yet reaped).
pub(crate) fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}
