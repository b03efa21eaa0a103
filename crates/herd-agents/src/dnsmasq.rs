//! `ocf:herd:dnsmasq`: dnsmasq in the foreground with per-instance pid and lease files.
//!
//! Runs `dnsmasq -k --conf-file=CONFIG --pid-file=RUNTIME/dnsmasq.pid
//! --dhcp-leasefile=RUNTIME/dnsmasq.leases --log-facility=-` (logs on stderr, into
//! `daemon.log`). Health: the process, plus a real DNS query over UDP (`crate::dns`) when
//! `check_address` is set. Reload: SIGHUP re-reads hosts, dhcp-hosts and servers files;
//! dnsmasq never re-reads its main config file, so a changed one means a quick restart.
//! I/O: processes, UDP.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use crate::daemon::{Daemon, alive, signal};
use crate::dns;
use crate::meta::{AgentSpec, ParamSpec};
use crate::params::{ParamError, Params};
use crate::service::{self, Common, Service, split_args};
use crate::{AgentFuture, AgentRequest, NativeAgent};

/// The agent.
#[derive(Debug)]
pub(crate) struct Dnsmasq;

const STARTED_DIGEST: &str = "started.digest";

pub(crate) static SPEC: AgentSpec = AgentSpec {
    name: "dnsmasq",
    shortdesc: "dnsmasq DNS/DHCP server",
    longdesc: "Runs dnsmasq in the foreground with the given config file, with pid, lease and \
        log files in the resource's runtime directory so several instances run side by side \
        (give each its own listen-address or port and bind-interfaces). monitor checks the \
        process and, with check_address, sends a real DNS query. reload sends SIGHUP, or \
        restarts dnsmasq when the main config file changed (dnsmasq never re-reads it).",
    params: &[
        ParamSpec {
            name: "config",
            shortdesc: "Config file",
            longdesc: "Path of the dnsmasq configuration file.",
            kind: "string",
            required: true,
            unique: true,
            default: None,
        },
        ParamSpec {
            name: "binary",
            shortdesc: "dnsmasq executable",
            longdesc: "Path of the dnsmasq executable.",
            kind: "string",
            required: false,
            unique: false,
            default: Some("/usr/sbin/dnsmasq"),
        },
        ParamSpec {
            name: "extra_args",
            shortdesc: "Extra arguments",
            longdesc: "More command-line arguments, split on whitespace.",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "check_address",
            shortdesc: "DNS check address",
            longdesc: "ip:port to send the health-check query to (e.g. 127.0.0.1:53). Unset: \
                only the process is checked.",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
        ParamSpec {
            name: "check_name",
            shortdesc: "DNS check name",
            longdesc: "Name to query in the health check.",
            kind: "string",
            required: false,
            unique: false,
            default: Some("localhost"),
        },
        ParamSpec {
            name: "check_expect",
            shortdesc: "Expected address",
            longdesc: "When set, the answer must contain this address (A or AAAA by its family).",
            kind: "string",
            required: false,
            unique: false,
            default: None,
        },
    ],
    actions: service::SERVICE_ACTIONS,
};

impl NativeAgent for Dnsmasq {
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

#[derive(Debug, Clone)]
struct Config {
    common: Common,
    check_address: Option<SocketAddr>,
    check_name: String,
    check_expect: Option<IpAddr>,
}

impl Config {
    fn read(params: &Params<'_>) -> Result<Self, ParamError> {
        let check_address = match params.opt("check_address") {
            Some(text) => {
                Some(
                    text.trim()
                        .parse::<SocketAddr>()
                        .map_err(|_| ParamError::Invalid {
                            name: "check_address",
                            value: text.to_string(),
                            expected: "ip:port (e.g. 127.0.0.1:53 or [::1]:53)",
                        })?,
                )
            }
            None => None,
        };
        let check_expect = match params.opt("check_expect") {
            Some(text) => Some(
                text.trim()
                    .parse::<IpAddr>()
                    .map_err(|_| ParamError::Invalid {
                        name: "check_expect",
                        value: text.to_string(),
                        expected: "an IPv4 or IPv6 address",
                    })?,
            ),
            None => None,
        };
        Ok(Self {
            common: Common {
                binary: PathBuf::from(params.req("binary")?),
                config: PathBuf::from(params.req("config")?),
                extra_args: split_args(params.opt("extra_args")),
            },
            check_address,
            check_name: params.req("check_name")?.trim().to_string(),
            check_expect,
        })
    }
}

impl Service for Config {
    fn label(&self) -> &'static str {
        "dnsmasq"
    }

    fn started(&self, daemon: &Daemon) {
        remember_started_config(self, daemon);
    }

    fn common(&self) -> &Common {
        &self.common
    }

    fn run_args(&self, daemon: &Daemon) -> Vec<String> {
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            format!("--conf-file={}", self.common.config.display()),
            format!("--pid-file={}", daemon.path("dnsmasq.pid").display()),
            format!(
                "--dhcp-leasefile={}",
                daemon.path("dnsmasq.leases").display()
            ),
            "--log-facility=-".to_string(),
        ];
        args.extend(self.common.extra_args.iter().cloned());
        args
    }

    fn check_args(&self, _daemon: &Daemon) -> Vec<String> {
        let mut args = vec![
            "--test".to_string(),
            format!("--conf-file={}", self.common.config.display()),
        ];
        args.extend(self.common.extra_args.iter().cloned());
        args
    }

    async fn health(
        &self,
        _daemon: &Daemon,
        _pid: i32,
        budget: Duration,
    ) -> Result<String, String> {
        let Some(server) = self.check_address else {
            return Ok("process alive (no check_address: no DNS query)".to_string());
        };
        let qtype = if matches!(self.check_expect, Some(IpAddr::V6(_))) {
            dns::TYPE_AAAA
        } else {
            dns::TYPE_A
        };
        let answer = dns::query(
            server,
            &self.check_name,
            qtype,
            budget.min(Duration::from_secs(2)),
        )
        .await
        .map_err(|error| error.to_string())?;
        if let Some(expected) = self.check_expect
            && !answer.addresses.contains(&expected)
        {
            return Err(format!(
                "dns query {} at {server} answered {:?} (rcode {}), expected {expected}",
                self.check_name, answer.addresses, answer.rcode
            ));
        }
        Ok(format!(
            "dns query {} at {server} -> {:?} (rcode {})",
            self.check_name, answer.addresses, answer.rcode
        ))
    }

    async fn reload(&self, daemon: &Daemon, pid: i32, budget: Duration) -> Result<String, String> {
        let started = std::fs::read_to_string(daemon.path(STARTED_DIGEST)).unwrap_or_default();
        let current = crate::daemon::file_digest(&self.common.config).unwrap_or_default();
        if started == current {
            return if signal(pid, Signal::SIGHUP) {
                Ok("sent SIGHUP (hosts, dhcp-hosts and servers files re-read)".to_string())
            } else {
                Err(format!("cannot signal dnsmasq {pid}"))
            };
        }
        // dnsmasq never re-reads its main config: restart it.
        let deadline = Instant::now() + budget;
        daemon.stop(budget / 2).await?;
        let new_pid = daemon
            .spawn(&self.run_args(daemon))
            .map_err(|e| format!("cannot restart: {e}"))?;
        while Instant::now() < deadline {
            if !alive(new_pid) {
                return Err(format!(
                    "dnsmasq exited after restart: {}",
                    daemon.log_tail()
                ));
            }
            if self
                .health(daemon, new_pid, Duration::from_millis(500))
                .await
                .is_ok()
            {
                remember_started_config(self, daemon);
                return Ok(format!(
                    "main config changed: restarted dnsmasq (pid {new_pid})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("dnsmasq is not healthy after restart".to_string())
    }
}

fn remember_started_config(config: &Config, daemon: &Daemon) {
    if let Ok(digest) = crate::daemon::file_digest(&config.common.config) {
        let _ = std::fs::write(daemon.path(STARTED_DIGEST), digest);
    }
}
