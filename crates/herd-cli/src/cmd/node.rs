//! `herd node add NAME ADDR..` and `herd node remove NAME`: membership changes, carried out by
//! the leader (learner first, then voter, by joint consensus). Talks to the local agent.
//!
//! Each ADDR is checked here first (`IP:PORT`, `[IPv6]:PORT`, or a bare IP for port 7400, as
//! in herd.toml): a bad one is refused with exit 2 before anything is sent.
//!
//! I/O: the admin socket (through `admin_client`) and stderr.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use herd_api::Request;

/// Change the cluster's membership.
#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub action: NodeAction,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum NodeAction {
    /// Add a node (learner first, then voter)
    Add {
        /// The node's name, as in its herd.toml
        name: String,
        /// One or two link addresses, IP:PORT (a bare IP means port 7400)
        #[arg(required = true, num_args = 1..=2)]
        addrs: Vec<String>,
        /// The node is a witness (votes, never runs resources, never DC)
        #[arg(long)]
        witness: bool,
    },
    /// Remove a node from the membership (stop it first: `systemctl stop herd` on it)
    Remove {
        /// The node's name, as in herd.toml
        name: String,
        /// Remove it even while it is online, suspect or lost: it is told, stops its resources
        /// and exits. If its stop does not finish cleanly (or a lost node still runs), its
        /// resources may still run there
        #[arg(long)]
        force: bool,
    },
}

pub fn run(args: NodeArgs) -> ExitCode {
    let (command, request) = match args.action {
        NodeAction::Add {
            name,
            addrs,
            witness,
        } => {
            let addrs = match link_addrs(&addrs) {
                Ok(addrs) => addrs,
                Err(message) => {
                    eprintln!("herd node add: {message}");
                    return ExitCode::from(2);
                }
            };
            let request = Request::NodeAdd {
                name,
                addrs,
                witness,
            };
            ("herd node add", request)
        }
        NodeAction::Remove { name, force } => {
            ("herd node remove", Request::NodeRemove { name, force })
        }
    };
    super::admin_client::run_simple(command, args.config.as_deref(), request)
}

/// The ADDR words as `IP:PORT` strings, or why one cannot be a node's link address.
fn link_addrs(words: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<SocketAddr> = Vec::with_capacity(words.len());
    for word in words {
        let addr = parse_addr(word).ok_or_else(|| {
            format!(
                "{word:?} is not an address (use IP:PORT such as 10.0.0.4:7400, or a bare IP \
                 for port {}; host names are not resolved)",
                herd_config::DEFAULT_PORT
            )
        })?;
        if addr.port() == 0 || addr.ip().is_unspecified() {
            return Err(format!(
                "address {addr} cannot be dialed (use the node's real address and a nonzero port)"
            ));
        }
        if out.contains(&addr) {
            return Err(format!("address {addr} is given twice"));
        }
        out.push(addr);
    }
    Ok(out.iter().map(SocketAddr::to_string).collect())
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare IP (the default port), as in herd.toml.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, herd_config::DEFAULT_PORT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn node_add_accepts_ip_port_and_bare_ip_with_the_default_port() {
        assert_eq!(
            link_addrs(&words(&["10.0.0.4:7500", "fd00::4"])).unwrap(),
            ["10.0.0.4:7500", "[fd00::4]:7400"]
        );
    }

    #[test]
    fn node_add_refuses_a_word_that_is_not_an_address_naming_it() {
        let error = link_addrs(&words(&["10.0.0.4:7400", "bad"])).unwrap_err();
        assert!(error.starts_with("\"bad\" is not an address"), "{error}");
        for bad in ["node3:7400", "10.0.0.4:99999", "0.0.0.0:7400", "10.0.0.4:0"] {
            assert!(link_addrs(&words(&[bad])).is_err(), "{bad} accepted");
        }
        let twice = link_addrs(&words(&["10.0.0.4", "10.0.0.4:7400"])).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
    }

    #[test]
    fn node_remove_help_explains_name() {
        use clap::CommandFactory as _;
        let mut cli = crate::Cli::command();
        let help = cli
            .find_subcommand_mut("node")
            .and_then(|node| node.find_subcommand_mut("remove"))
            .expect("herd node remove exists")
            .render_help()
            .to_string();
        assert!(help.contains("The node's name, as in herd.toml"), "{help}");
    }
}
