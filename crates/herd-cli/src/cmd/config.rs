//! `herd config check [--config FILE] [--json]`: loads and checks the configuration file and
//! prints what it found, or the error with its file and line (exit 2).
//!
//! Also tries the key file the configuration names and reports whether it is usable (a
//! warning, not a failure: the key may live elsewhere until the node is installed).
//! I/O: reads the configuration and key files.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use herd_config::Config;
use herd_rpc::ClusterKey;

/// Arguments of `herd config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// The subcommands of `herd config`.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Load and check the configuration file, and print what it says
    Check(CheckArgs),
}

/// Arguments of `herd config check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the checked configuration as JSON
    #[arg(long)]
    pub json: bool,
}

/// Runs `herd config ...`.
pub fn run(args: ConfigArgs) -> ExitCode {
    match args.command {
        ConfigCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let path = herd_config::locate(args.config.as_deref());
    let config = match Config::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("herd config check: {err}");
            return ExitCode::from(2);
        }
    };
    let key_status = match ClusterKey::load(&config.key_file) {
        Ok(_) => Ok(()),
        Err(err) => Err(err.to_string()),
    };
    let mut warnings = address_warnings(&config);
    if let Some(group) = &config.admin_group
        && !group_exists(group)
    {
        warnings.push(format!(
            "admin_group {group:?} is not in /etc/group; only root can use the admin socket"
        ));
    }
    let text = if args.json {
        let mut json = to_json(&config, &key_status);
        json["warnings"] = serde_json::json!(warnings);
        format!("{json:#}\n")
    } else {
        let mut text = human(&config, &key_status);
        for warning in &warnings {
            text.push_str(&format!("warning: {warning}\n"));
        }
        text
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// Whether a Unix group of that name is listed in /etc/group.
fn group_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/group").is_ok_and(|text| {
        text.lines()
            .any(|line| line.split(':').next() == Some(name))
    })
}

/// Whether `ip` is an address of this machine (binding it to an ephemeral port works).
fn is_local(ip: std::net::IpAddr) -> bool {
    std::net::TcpListener::bind(std::net::SocketAddr::new(ip, 0)).is_ok()
}

/// Link addresses of this node that are not on this machine, with a hint when another
/// node's addresses are (a copied file with the wrong `node`).
fn address_warnings(config: &Config) -> Vec<String> {
    let local = config.local_node();
    let mut warnings: Vec<String> = local
        .addrs
        .iter()
        .filter(|addr| !is_local(addr.ip()))
        .map(|addr| {
            format!(
                "link address {} of this node ('{}') is not on this machine; the agent cannot listen on it",
                addr.ip(),
                local.name
            )
        })
        .collect();
    if !warnings.is_empty() {
        for node in config.peers() {
            if node.addrs.iter().all(|addr| is_local(addr.ip())) {
                warnings.push(format!(
                    "this machine has the addresses of node '{}'; is `node = \"{}\"` right?",
                    node.name, local.name
                ));
            }
        }
    }
    warnings
}

fn human(config: &Config, key_status: &Result<(), String>) -> String {
    let timing = &config.timing;
    let executor = &config.executor;
    let mut lines = vec![
        format!("{}: ok", config.path.display()),
        format!("cluster {}, this node {}", config.cluster, config.node),
        format!("data_dir {}", config.data_dir.display()),
        match key_status {
            Ok(()) => format!("key_file {} (ok)", config.key_file.display()),
            Err(err) => format!("key_file {} (warning: {err})", config.key_file.display()),
        },
        format!("nodes ({}):", config.nodes.len()),
    ];
    let width = config
        .nodes
        .iter()
        .map(|node| node.name.len())
        .max()
        .unwrap_or(0);
    for node in &config.nodes {
        let addrs: Vec<String> = node.addrs.iter().map(ToString::to_string).collect();
        let mut notes = Vec::new();
        if node.witness {
            notes.push("witness");
        }
        if node.name == config.node {
            notes.push("this node");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        };
        lines.push(format!(
            "  {:<width$}  {}{notes}",
            node.name,
            addrs.join(", ")
        ));
    }
    lines.push(format!(
        "timing {}: lease renew {} ms, suspect {} ms, lost {} ms, lease {} ms; raft heartbeat {} ms, \
         election {}-{} ms; link ping {} ms, link timeout {} ms",
        timing.profile,
        timing.lease_renew_ms,
        timing.suspect_ms,
        timing.lost_ms,
        timing.lease_ms,
        timing.heartbeat_ms,
        timing.election_timeout_min_ms,
        timing.election_timeout_max_ms,
        timing.link_ping_ms,
        timing.link_timeout_ms,
    ));
    lines.push(format!(
        "executor: at most {} concurrent actions, lease-loss stop timeout {} ms, default agent timeout {} ms",
        executor.max_concurrent_actions, executor.lease_loss_stop_timeout_ms, executor.agent_timeout_ms_default
    ));
    let access = match &config.admin_group {
        Some(group) => format!("root and group {group}"),
        None => "root only".to_string(),
    };
    lines.push(format!(
        "admin socket {} ({access})",
        config.socket_path().display()
    ));
    lines.push(String::new());
    lines.join("\n")
}

fn to_json(config: &Config, key_status: &Result<(), String>) -> serde_json::Value {
    let timing = &config.timing;
    serde_json::json!({
        "path": config.path,
        "cluster": config.cluster,
        "node": config.node,
        "data_dir": config.data_dir,
        "key_file": config.key_file,
        "key_ok": key_status.is_ok(),
        "key_error": key_status.as_ref().err(),
        "nodes": config.nodes.iter().map(|node| serde_json::json!({
            "name": node.name,
            "addrs": node.addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "witness": node.witness,
        })).collect::<Vec<_>>(),
        "timing": {
            "profile": timing.profile,
            "lease_renew_ms": timing.lease_renew_ms,
            "suspect_ms": timing.suspect_ms,
            "lost_ms": timing.lost_ms,
            "lease_ms": timing.lease_ms,
            "heartbeat_ms": timing.heartbeat_ms,
            "election_timeout_min_ms": timing.election_timeout_min_ms,
            "election_timeout_max_ms": timing.election_timeout_max_ms,
            "witness_election_timeout_min_ms": timing.witness_election_timeout_min_ms,
            "witness_election_timeout_max_ms": timing.witness_election_timeout_max_ms,
            "link_ping_ms": timing.link_ping_ms,
            "link_timeout_ms": timing.link_timeout_ms,
        },
        "admin_group": config.admin_group,
        "socket_path": config.socket_path(),
        "executor": {
            "max_concurrent_actions": config.executor.max_concurrent_actions,
            "lease_loss_stop_timeout_ms": config.executor.lease_loss_stop_timeout_ms,
            "agent_timeout_ms_default": config.executor.agent_timeout_ms_default,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_file(text: &str) -> ExitCode {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herd.toml");
        std::fs::write(&path, text).unwrap();
        check(CheckArgs {
            config: Some(path),
            json: false,
        })
    }

    #[test]
    fn config_check_exits_2_on_a_bad_file_and_0_on_a_good_one() {
        let good =
            "cluster = \"c\"\nnode = \"n1\"\n[[nodes]]\nname = \"n1\"\naddrs = [\"10.0.0.1\"]\n";
        assert_eq!(check_file(good), ExitCode::SUCCESS);
        let local = "cluster = \"c\"\nnode = \"n1\"\n[[nodes]]\nname = \"n1\"\naddrs = [\"127.0.0.1:7400\"]\n";
        let config = Config::parse(local, std::path::Path::new("herd.toml")).unwrap();
        assert!(address_warnings(&config).is_empty());
        let config = Config::parse(good, std::path::Path::new("herd.toml")).unwrap();
        assert_eq!(
            address_warnings(&config).len(),
            1,
            "10.0.0.1 is not on the test machine"
        );
        assert_eq!(
            check_file(&good.replace("addrs", "adrs")),
            ExitCode::from(2)
        );
        assert_eq!(
            check(CheckArgs {
                config: Some(PathBuf::from("/nonexistent/herd.toml")),
                json: true
            }),
            ExitCode::from(2)
        );
    }

    #[test]
    fn config_check_takes_dash_c_like_every_other_command() {
        use clap::Parser as _;
        let cli =
            crate::Cli::try_parse_from(["herd", "config", "check", "-c", "/x/herd.toml"]).unwrap();
        let crate::Command::Config(ConfigArgs {
            command: ConfigCommand::Check(args),
        }) = cli.command
        else {
            panic!("parsed as another command: {:?}", cli.command);
        };
        assert_eq!(Some(PathBuf::from("/x/herd.toml")), args.config);
    }

    #[test]
    fn herd_help_says_what_herd_is_not_how_the_crate_is_built() {
        use clap::CommandFactory as _;
        let help = crate::Cli::command().render_help().to_string();
        assert!(
            help.starts_with("herd: a high-availability cluster stack"),
            "{help}"
        );
        assert!(!help.contains("clap"), "{help}");
    }
}
