//! `herd cib get [--json]` and `herd cib put FILE`: the replicated configuration, like
//! `cibadmin --query` and `cibadmin --replace --xml-file`.
//!
//! `put` reads FILE and parses it with herd-cib before anything is sent: a document that is
//! not usable, or has an error-level diagnostic, is refused with messages naming FILE:LINE
//! (exit 2) and nothing is committed; warnings are printed and the document is committed
//! through the DC. I/O: FILE, the admin socket (through `admin_client`), stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use herd_api::{Request, Response};
use herd_cib::Severity;

/// The replicated configuration (CIB XML).
#[derive(Debug, Args)]
pub struct CibArgs {
    #[command(subcommand)]
    pub action: CibAction,
    /// The configuration file (default: $HERD_CONFIG, else /etc/herd/herd.toml)
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CibAction {
    /// Print the replicated CIB XML (like cibadmin -Q)
    Get {
        /// Print JSON: {"xml": ..., "config_epoch": N}
        #[arg(long)]
        json: bool,
    },
    /// Check FILE (a Pacemaker CIB) and commit it as the configuration (like cibadmin -R)
    Put {
        /// The CIB XML file
        file: PathBuf,
    },
}

pub fn run(args: CibArgs) -> ExitCode {
    match args.action {
        CibAction::Get { json } => get(args.config.as_deref(), json),
        CibAction::Put { file } => put(args.config.as_deref(), &file),
    }
}

fn get(config: Option<&Path>, json: bool) -> ExitCode {
    const COMMAND: &str = "herd cib get";
    let (xml, config_epoch) =
        match super::admin_client::request(config, Request::GetCib, Duration::from_secs(10)) {
            Ok(Response::Cib { xml, config_epoch }) => (xml, config_epoch),
            Ok(Response::Error { message }) => {
                eprintln!("{COMMAND}: {message}");
                return ExitCode::FAILURE;
            }
            Ok(other) => {
                eprintln!("{COMMAND}: unexpected answer from the agent: {other:?}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{COMMAND}: {e}");
                return e.exit_code();
            }
        };
    if json {
        let value = serde_json::json!({ "xml": xml, "config_epoch": config_epoch });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("JSON values serialize")
        );
    } else if xml.is_empty() {
        eprintln!(
            "{COMMAND}: no configuration committed yet (config epoch 0); set one with `herd cib put FILE`"
        );
    } else if xml.ends_with('\n') {
        print!("{xml}");
    } else {
        println!("{xml}");
    }
    ExitCode::SUCCESS
}

fn put(config: Option<&Path>, file: &Path) -> ExitCode {
    const COMMAND: &str = "herd cib put";
    let xml = match std::fs::read_to_string(file) {
        Ok(xml) => xml,
        Err(e) => {
            eprintln!("{COMMAND}: {}: cannot read: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if let Err(problems) = check(&xml, &file.display().to_string()) {
        for problem in &problems {
            eprintln!("{COMMAND}: {problem}");
        }
        eprintln!("{COMMAND}: {} refused, nothing committed", file.display());
        return ExitCode::from(2);
    }
    super::admin_client::run_simple(COMMAND, config, Request::SetCib { xml })
}

/// Parses `xml` (named `name` in messages): the warnings to print when it may be committed,
/// or every problem (errors first) when it may not.
fn check(xml: &str, name: &str) -> Result<(), Vec<String>> {
    let (_, diagnostics) = herd_cib::parse_str(xml, name).map_err(|e| vec![e.to_string()])?;
    let (errors, others): (Vec<_>, Vec<_>) = diagnostics
        .iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(errors.iter().map(|d| d.to_string()).collect());
    }
    for warning in others.iter().filter(|d| d.severity == Severity::Warning) {
        eprintln!("herd cib put: {warning}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_xml_is_refused_naming_file_and_line() {
        let problems = check("<cib>\n<configuration>\n</cib>\n", "bad.xml").unwrap_err();
        assert!(problems[0].starts_with("bad.xml:3"), "{problems:?}");
    }

    #[test]
    fn a_primitive_without_a_type_is_refused_naming_its_line() {
        let xml = "<cib>\n<configuration>\n<crm_config/>\n<nodes/>\n<resources>\n\
                   <primitive id=\"web\" class=\"ocf\" provider=\"heartbeat\"/>\n\
                   </resources>\n<constraints/>\n</configuration>\n<status/>\n</cib>\n";
        let problems = check(xml, "c.xml").unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("c.xml:6")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_minimal_cib_passes() {
        let xml = "<cib><configuration><crm_config/><nodes/><resources/><constraints/>\
                   </configuration><status/></cib>";
        assert!(check(xml, "ok.xml").is_ok());
    }
}
