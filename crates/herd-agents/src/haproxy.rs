//! `ocf:herd:haproxy`: haproxy in master-worker mode, per-instance master socket, seamless reload.
//!
//! Runs `haproxy -W -db -f CONFIG -S RUNTIME/master.sock`: the master stays in the foreground
//! in its own session (pid file `daemon.pid`), its CLI socket is private to the instance, so
//! several instances coexist. Health: the master lists a current worker (`show proc`), the
//! worker answers `show info` through the master, plus an optional TCP connect. Reload:
//! config check, SIGUSR2 to the master, wait for a new worker (old connections finish on the
//! old one). Logs: haproxy's stderr goes to `daemon.log` in the runtime directory; point the
//! config's `log` at `stderr` (no chroot or /dev/log needed). I/O: processes, Unix socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::daemon::{Daemon, signal};
use crate::meta::{AgentSpec, ParamSpec};
use crate::params::{ParamError, Params};
use crate::service::{self, Common, Service, split_args, tcp_check};
use crate::{AgentFuture, AgentRequest, NativeAgent};

/// The agent.
#[derive(Debug)]
pub(crate) struct Haproxy;

const MASTER_SOCKET: &str = "master.sock";
const LOG_CONFIG: &str = "herd-log.cfg";
const LOG_SECTION: &str = "# written by herd's haproxy agent: logs go to stderr, i.e. daemon.log
global
    log stderr format raw local0 info
";

pub(crate) static SPEC: AgentSpec = AgentSpec {
    name: "haproxy",
    shortdesc: "haproxy load balancer (master-worker, seamless reload)",
    longdesc: "Runs haproxy in master-worker mode in the foreground with the given config file, \
        with a master CLI socket, pid file and log file in the resource's runtime directory, so \
        several instances run side by side. monitor checks the master, the worker (show info) \
        and optionally a TCP connect, and reloads seamlessly when the config file changed. Log \
        to stderr in the config (log stderr format raw local0): it lands in daemon.log.",
    params: &[
        ParamSpec {
            name: "config",
            shortdesc: "Config file",
            longdesc: "Path of the haproxy configuration file.",
            kind: "string",
            required: true,
            unique: true,
            default: None,
        },
        ParamSpec {
            name: "binary",
            shortdesc: "haproxy executable",
            longdesc: "Path of the haproxy executable.",
            kind: "string",
            required: false,
            unique: false,
            default: Some("/usr/sbin/haproxy"),
        },
        ParamSpec {
            name: "extra_args",
            shortdesc: "Extra arguments",
            longdesc: "More command-line arguments, split on whitespace (for example -L peer1).",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "check",
            shortdesc: "Health check",
            longdesc: "stats: the worker answers show info on the master socket; tcp: stats \
                plus a TCP connect to check_address; none: the process is alive.",
            kind: "string",
            required: false,
            unique: false,
            default: Some("stats"),
        },
        ParamSpec {
            name: "check_address",
            shortdesc: "TCP check address",
            longdesc: "host:port to connect to when check=tcp (e.g. 10.0.0.10:80).",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "stop_grace",
            shortdesc: "Graceful stop in milliseconds",
            longdesc: "When above 0, stop first asks haproxy to stop gracefully (SIGUSR1: stop \
                listening, finish open connections) and waits up to this long (at most half \
                the stop timeout) before SIGTERM. 0 stops at once, the fastest failover.",
            kind: "integer",
            required: false,
            unique: false,
            default: Some("0"),
        },
        ParamSpec {
            name: "log_stderr",
            shortdesc: "Log to daemon.log",
            longdesc: "Load a generated global section (RUNTIME/herd-log.cfg, before the config) \
                with a 'log stderr' target, so haproxy's logs land in daemon.log in the runtime \
                directory: no syslog, /dev/log or chroot needed. Proxies log there with 'log \
                global'. Skipped when the config already logs to stderr.",
            kind: "boolean",
            required: false,
            unique: false,
            default: Some("true"),
        },
    ],
    actions: service::SERVICE_ACTIONS,
};

impl NativeAgent for Haproxy {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn metadata(&self) -> String {
        SPEC.render_xml()
    }

    fn run<'a>(&'a self, request: AgentRequest<'a>) -> AgentFuture<'a> {
        Box::pin(service::run_agent(&SPEC, request, Config::read))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Stats,
    Tcp,
    None,
}

#[derive(Debug, Clone)]
struct Config {
    common: Common,
    check: Check,
    check_address: Option<String>,
    log_stderr: bool,
    stop_grace: Duration,
}

impl Config {
    fn read(params: &Params<'_>) -> Result<Self, ParamError> {
        let check = match params.opt("check").unwrap_or("stats").trim() {
            "stats" => Check::Stats,
            "tcp" => Check::Tcp,
            "none" => Check::None,
            other => {
                return Err(ParamError::Invalid {
                    name: "check",
                    value: other.to_string(),
                    expected: "one of stats, tcp, none",
                });
            }
        };
        let check_address = params.opt("check_address").map(str::to_string);
        if check == Check::Tcp && check_address.is_none() {
            return Err(ParamError::Missing {
                name: "check_address",
            });
        }
        Ok(Self {
            common: Common {
                binary: PathBuf::from(params.req("binary")?),
                config: PathBuf::from(params.req("config")?),
                extra_args: split_args(params.opt("extra_args")),
            },
            check,
            check_address,
            log_stderr: params.bool("log_stderr")?,
            stop_grace: params.millis("stop_grace")?.unwrap_or_default(),
        })
    }
}

impl Config {
    /// `-f` arguments: the generated log section (when wanted), then the user's config.
    fn config_files(&self, daemon: &Daemon) -> Vec<String> {
        let mut args = Vec::new();
        let config_text = std::fs::read_to_string(&self.common.config).unwrap_or_default();
        let logs_to_stderr = config_text
            .lines()
            .any(|line| line.trim_start().starts_with("log stderr"));
        if self.log_stderr && !logs_to_stderr {
            let generated = daemon.path(LOG_CONFIG);
            let written = daemon
                .prepare()
                .and_then(|()| std::fs::write(&generated, LOG_SECTION));
            match written {
                Ok(()) => args.extend(["-f".to_string(), generated.display().to_string()]),
                Err(error) => {
                    let file = generated.display();
                    tracing::warn!(%file, "cannot write haproxy log section: {error}");
                }
            }
        }
        args.extend(["-f".to_string(), self.common.config.display().to_string()]);
        args
    }
}

impl Service for Config {
    fn label(&self) -> &'static str {
        "haproxy"
    }

    fn common(&self) -> &Common {
        &self.common
    }

    fn run_args(&self, daemon: &Daemon) -> Vec<String> {
        let mut args = vec!["-W".to_string(), "-db".to_string()];
        args.extend(self.config_files(daemon));
        args.push("-S".to_string());
        args.push(daemon.path(MASTER_SOCKET).display().to_string());
        args.extend(self.common.extra_args.iter().cloned());
        args
    }

    fn check_args(&self, daemon: &Daemon) -> Vec<String> {
        let mut args = vec!["-c".to_string(), "-q".to_string()];
        args.extend(self.config_files(daemon));
        args.extend(self.common.extra_args.iter().cloned());
        args
    }

    async fn health(&self, daemon: &Daemon, _pid: i32, budget: Duration) -> Result<String, String> {
        if self.check == Check::None {
            return Ok("process alive".to_string());
        }
        let socket = daemon.path(MASTER_SOCKET);
        let worker = current_worker(&socket, budget).await?;
        let info = master_cli(&socket, "@1 show info", budget).await?;
        if !info.lines().any(|line| line.starts_with("Pid:")) {
            return Err(format!(
                "worker {worker} did not answer show info: {}",
                info.trim()
            ));
        }
        let mut summary = format!("worker {worker} answers show info");
        if let (Check::Tcp, Some(address)) = (self.check, &self.check_address) {
            summary.push_str(&format!(", {}", tcp_check(address, budget).await?));
        }
        Ok(summary)
    }

    fn config_warnings(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.common.config).unwrap_or_default();
        let words = |line: &str| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let lines: Vec<Vec<String>> = text.lines().map(words).collect();
        let chroot = lines
            .iter()
            .find_map(|w| (w.first()? == "chroot").then(|| w.get(1).cloned()));
        let dev_log = lines.iter().any(|w| {
            w.first().is_some_and(|k| k == "log")
                && w.get(1).is_some_and(|target| target.starts_with('/'))
        });
        match chroot {
            Some(dir) if dev_log => vec![format!(
                "warning: the config logs to a Unix socket but chroots to {}: those log lines \
                 fail inside the chroot; haproxy's logs are in daemon.log (log_stderr)",
                dir.unwrap_or_default()
            )],
            _ => Vec::new(),
        }
    }

    fn graceful_stop(&self) -> Option<(Signal, Duration)> {
        (!self.stop_grace.is_zero()).then_some((Signal::SIGUSR1, self.stop_grace))
    }

    async fn reload(&self, daemon: &Daemon, pid: i32, budget: Duration) -> Result<String, String> {
        let socket = daemon.path(MASTER_SOCKET);
        let old = current_worker(&socket, budget).await.ok();
        let failed_before = master_failures(&socket, budget).await.unwrap_or(0);
        if !signal(pid, Signal::SIGUSR2) {
            return Err(format!("cannot signal master {pid}"));
        }
        let deadline = Instant::now() + budget;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if master_failures(&socket, budget).await.unwrap_or(0) > failed_before {
                return Err(format!(
                    "the master refused the new config: {}",
                    daemon.log_tail()
                ));
            }
            if let Ok(new) = current_worker(&socket, budget).await
                && Some(new) != old
            {
                return Ok(format!(
                    "reloaded seamlessly: new worker {new}, old worker {old:?} finishing"
                ));
            }
        }
        Err(format!("no new worker within {} ms", budget.as_millis()))
    }
}

/// The pid of the current-generation worker, from the master's `show proc`.
async fn current_worker(socket: &Path, budget: Duration) -> Result<i32, String> {
    let text = master_cli(socket, "show proc", budget).await?;
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [pid, "worker", "0", ..] => pid.parse().ok(),
                _ => None,
            }
        })
        .next()
        .ok_or_else(|| format!("the master lists no current worker: {}", text.trim()))
}

/// The master's count of failed reloads (`[failed: N]`).
async fn master_failures(socket: &Path, budget: Duration) -> Result<u32, String> {
    let text = master_cli(socket, "show proc", budget).await?;
    text.split("[failed:")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| "no failure count in show proc".to_string())
}

/// One command on the master CLI; the answer ends with an empty line or EOF.
async fn master_cli(socket: &Path, command: &str, budget: Duration) -> Result<String, String> {
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("master socket {}: {e}", socket.display()))?;
        stream
            .write_all(format!("{command}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.ends_with(b"\n\n") {
                return Ok(String::from_utf8_lossy(&answer).into_owned());
            }
        }
    };
    tokio::time::timeout(budget, exchange)
        .await
        .map_err(|_| format!("master socket: no answer to {command:?}"))?
}
