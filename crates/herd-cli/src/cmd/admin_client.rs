//! The client side of the agent's admin socket: find the local agent through the
//! configuration (`--config FILE`, `HERD_CONFIG`, /etc/herd/herd.toml), send one request line,
//! read one response line. Shared by every command that talks to `herd agent`.
//!
//! I/O: the configuration file and the Unix socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use herd_api::{Request, RequestEnvelope, Response};

/// Why an admin request did not get an answer.
#[derive(Debug)]
pub enum ClientError {
    /// The configuration could not be read (exit 2).
    Config(String),
    /// No agent answers on the socket (exit 1).
    NoAgent(String),
    Io(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Config(m) | ClientError::NoAgent(m) | ClientError::Io(m) => f.write_str(m),
        }
    }
}

impl ClientError {
    /// The exit code a command returns for this error.
    pub fn exit_code(&self) -> std::process::ExitCode {
        match self {
            ClientError::Config(_) => std::process::ExitCode::from(2),
            _ => std::process::ExitCode::FAILURE,
        }
    }
}

/// The admin socket of the agent configured by `explicit` / `HERD_CONFIG` / the default file.
pub fn socket_path(explicit: Option<&Path>) -> Result<(PathBuf, PathBuf), ClientError> {
    let config_path = herd_config::locate(explicit);
    let config =
        herd_config::Config::load(&config_path).map_err(|e| ClientError::Config(e.to_string()))?;
    Ok((config.socket_path(), config_path))
}

/// Sends one request to the local agent and returns its response.
pub fn request(
    explicit: Option<&Path>,
    request: Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let (socket, config_path) = socket_path(explicit)?;
    let mut stream = UnixStream::connect(&socket).map_err(|e| {
        ClientError::NoAgent(format!(
            "no herd agent at {}: start it with `herd agent --config {}` ({e})",
            socket.display(),
            config_path.display()
        ))
    })?;
    let io = |e: std::io::Error| ClientError::Io(format!("{}: {e}", socket.display()));
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    let line = herd_api::encode_line(&RequestEnvelope {
        version: herd_api::API_VERSION,
        request,
    });
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(io)?;
    herd_api::decode_line(&answer).map_err(|e| {
        ClientError::Io(format!(
            "{}: bad answer from the agent: {e}",
            socket.display()
        ))
    })
}

/// Runs a request whose answer is `Done` or `Error`, printing the message. Errors are
/// printed as `COMMAND: message` (e.g. `herd node add: ...`), like every other command.
pub fn run_simple(command: &str, explicit: Option<&Path>, req: Request) -> std::process::ExitCode {
    match request(explicit, req, Duration::from_secs(60)) {
        Ok(Response::Done { message }) => {
            println!("{message}");
            std::process::ExitCode::SUCCESS
        }
        Ok(Response::Error { message }) => {
            eprintln!("{command}: {message}");
            std::process::ExitCode::FAILURE
        }
        Ok(other) => {
            eprintln!("{command}: unexpected answer from the agent: {other:?}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{command}: {e}");
            e.exit_code()
        }
    }
}

/// Asks the local agent for `herd status`; the error is the message to print after the
/// command's name, with its exit code.
pub fn status(
    explicit: Option<&Path>,
) -> Result<herd_api::ClusterStatus, (String, std::process::ExitCode)> {
    match request(explicit, Request::Status, Duration::from_secs(10)) {
        Ok(Response::Status(status)) => Ok(status),
        Ok(Response::Error { message }) => Err((message, std::process::ExitCode::FAILURE)),
        Ok(other) => Err((
            format!("unexpected answer from the agent: {other:?}"),
            std::process::ExitCode::FAILURE,
        )),
        Err(e) => Err((e.to_string(), e.exit_code())),
    }
}
