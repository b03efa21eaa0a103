//! `herd attribute [--node N] NAME [VALUE]` and `--delete`: node attributes in the replicated
//! state, like `crm_attribute --node N --name NAME [--update VALUE | --query | --delete]`.
//!
//! Without VALUE the attribute is read from the local agent's view (`herd status`); with one
//! (or `--delete`) the change is committed through the DC. The node defaults to the node
//! whose agent answers. I/O: the admin socket (through `admin_client`), stdout and stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use herd_api::Request;

/// Read, set or delete a node attribute.
#[derive(Debug, Args)]
pub struct AttributeArgs {
    /// The attribute's name, e.g. site or standby
    pub name: String,
    /// The new value; without it the current value is printed
    #[arg(conflicts_with = "delete")]
    pub value: Option<String>,
    /// The node (default: the node of the local agent)
    #[arg(long, short = 'N', value_name = "NODE")]
    pub node: Option<String>,
    /// Delete the attribute
    #[arg(long, short = 'D')]
    pub delete: bool,
    /// Print JSON when reading: {"node", "name", "value": string or null}
    #[arg(long)]
    pub json: bool,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

const COMMAND: &str = "herd attribute";

pub fn run(args: AttributeArgs) -> ExitCode {
    if args.value.is_some() || args.delete {
        let request = Request::SetNodeAttr {
            node: args.node,
            name: args.name,
            value: args.value,
        };
        return super::admin_client::run_simple(COMMAND, args.config.as_deref(), request);
    }
    let status = match super::admin_client::status(args.config.as_deref()) {
        Ok(status) => status,
        Err((message, code)) => {
            eprintln!("{COMMAND}: {message}");
            return code;
        }
    };
    let node = args.node.unwrap_or_else(|| status.local.clone());
    let value = status
        .node_attributes
        .get(&node)
        .and_then(|attrs| attrs.get(&args.name));
    if args.json {
        let json = serde_json::json!({ "node": node, "name": args.name, "value": value });
        println!("{json}");
    }
    match value {
        Some(value) if !args.json => println!("{value}"),
        Some(_) => {}
        None => {
            eprintln!("{COMMAND}: attribute {} is not set on {node}", args.name);
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
