//! `herd agent`: the per-node daemon. It loads the configuration, starts the transport
//! (herd-rpc) and Raft (herd-raft), keeps this node's lease, detects failed nodes when it is
//! the DC, and serves the admin API on a Unix socket in the data directory.
//!
//! The DC is the Raft leader while a quorum acknowledged it recently; every state change it
//! commits carries its DC epoch, and nodes refuse lease grants from an older epoch. A node
//! whose lease expires reports it and calls [`AgentHooks::lease_lost`] (stop every resource).
//! I/O: files in the data directory, the admin socket (`admin.rs`), herd-rpc (`handler.rs`),
//! the agent's loops (`agent.rs`, `agent/lease.rs`, `agent/dc.rs`), signals (here).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use herd_raft::{Consensus, RaftConfig, RaftNode};

mod admin;
mod agent;
mod durable;
mod executor_hooks;
mod handler;
mod health;
mod hooks;
mod records;
mod storage_epoch;
mod wire;

pub use executor_hooks::{
    ExecutorHooks, LAST_LEASE_LOSS_FILE, LeaseLossReport, exec_config, read_last_report,
};
pub use hooks::{AgentHooks, LogOnlyHooks};
pub use records::OpReport;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] herd_config::ConfigError),
    #[error(transparent)]
    Key(#[from] herd_rpc::KeyError),
    #[error("cannot start the transport: {0}")]
    Rpc(#[from] herd_rpc::RpcError),
    #[error(transparent)]
    Consensus(#[from] herd_raft::ConsensusError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("admin socket {path}: {source}")]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("an agent is already running on {path}")]
    AlreadyRunning { path: PathBuf },
    #[error(
        "admin_group {group:?} does not exist (create it or remove admin_group from the config)"
    )]
    UnknownGroup { group: String },
}

/// Runs `herd agent --config FILE` in the foreground until SIGTERM or SIGINT (then it stops
/// its resources, leaves the cluster and exits 0), with the node's executor (stop-all on
/// lease loss). A node removed from the cluster exits 78 (`EX_CONFIG`).
pub fn run(config_path: &Path) -> ExitCode {
    let hooks = match herd_config::Config::load(config_path) {
        Ok(config) => match ExecutorHooks::from_config(&config) {
            Ok(hooks) => hooks,
            Err(e) => {
                eprintln!("herd agent: cannot start the executor: {e}");
                return ExitCode::FAILURE;
            }
        },
        // run_with_hooks reports a bad config file as for any agent.
        Err(_) => return run_with_hooks(config_path, Arc::new(LogOnlyHooks)),
    };
    run_with_hooks(config_path, Arc::new(hooks))
}

/// Like [`run`], with the node's hooks (the executor's stop-all on lease loss).
pub fn run_with_hooks(config_path: &Path, hooks: Arc<dyn AgentHooks>) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("herd agent: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config_path, hooks)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Once, on stderr (where the log goes too): a log line as well would repeat it.
            eprintln!("herd agent: {e}");
            match e {
                AgentError::Config(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// Logs to stderr; `HERD_LOG` overrides the filter. openraft's replication errors are off by
/// default: it logs one per heartbeat (10 a second) for an unreachable follower, which herd
/// already reports once as a link going down and the node becoming suspect, then lost.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERD_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,openraft=error,openraft::replication=off")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Returns the exit status: 0 after a signal (the node left the cluster gracefully), 78 when
/// the node was removed from the cluster (agent/removed.rs).
async fn serve(config_path: &Path, hooks: Arc<dyn AgentHooks>) -> Result<u8, AgentError> {
    let config = herd_config::Config::load(config_path)?;
    let key = herd_rpc::ClusterKey::load(&config.key_file)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AgentError::Io { path, source }
    };
    std::fs::create_dir_all(&config.data_dir).map_err(io(&config.data_dir))?;
    if let Some(line) = agent::removed::removed_marker(&config.data_dir) {
        tracing::error!("{line}");
        return Ok(agent::removed::EXIT_REMOVED);
    }
    let incarnation = next_incarnation(&config.data_dir.join("incarnation"))?;
    let local = config.local_node().clone();
    let timing = &config.timing;
    let (election_min, election_max) = if local.witness {
        (
            timing.witness_election_timeout_min_ms,
            timing.witness_election_timeout_max_ms,
        )
    } else {
        (
            timing.election_timeout_min_ms,
            timing.election_timeout_max_ms,
        )
    };
    // openraft 0.9 makes a follower that knows a leader wait its leader lease
    // (= election_timeout_max) *plus* a random election timeout before campaigning. Passing
    // half the configured values keeps the effective follower timeout near the configured
    // range (400-600 ms becomes 300 + 200..300 = 500-600 ms).
    let (election_min, election_max) = (election_min / 2, election_max / 2);
    let raft_config = RaftConfig {
        cluster: config.cluster.clone(),
        node: agent::herd_node(&local),
        dir: config.data_dir.join("raft"),
        heartbeat_ms: timing.heartbeat_ms,
        election_timeout_min_ms: election_min,
        election_timeout_max_ms: election_max,
        snapshot_logs: 1000,
    };
    let raft_transport = Arc::new(handler::RpcRaftTransport {
        transport: Default::default(),
    });
    let consensus = RaftNode::open(raft_config, raft_transport.clone()).await?;
    let rpc_handler = Arc::new(handler::RpcHandler::default());
    let transport_config = herd_rpc::TransportConfig::from_config(&config, key);
    let transport = herd_rpc::Transport::start(transport_config, rpc_handler.clone()).await?;
    let _ = raft_transport.transport.set(transport.clone());
    let listener = admin::bind(&config.socket_path(), config.admin_group.as_deref())?;
    tracing::info!(
        node = %config.node, cluster = %config.cluster, incarnation,
        socket = %config.socket_path().display(), "herd agent started"
    );
    let socket_path = config.socket_path();
    let agent = Arc::new(agent::Agent::new(
        config,
        consensus.clone(),
        transport.clone(),
        hooks,
        incarnation,
    ));
    let _ = rpc_handler.agent.set(agent.clone());
    agent::spawn_loops(&agent);
    tokio::spawn(startup_hooks(agent.clone()));
    tokio::spawn(records::report_loop(agent.clone()));
    tokio::spawn(health::run(agent.clone()));
    tokio::spawn(admin::serve(agent.clone(), listener));
    let code = tokio::select! {
        () = wait_for_signal() => {
            tracing::info!("herd agent stopping");
            agent.leave().await;
            agent.departure.exit_after_signal().await // 78 once a removal under way is done
        }
        _ = agent.departure.wait() => agent::removed::EXIT_REMOVED,
    };
    transport.shutdown();
    consensus.shutdown().await;
    let _ = std::fs::remove_file(&socket_path);
    Ok(code)
}

/// The start-up hooks: the probe, then, when no lease came within one lease length of the
/// start, the stop of what an earlier agent left running (resources run only under a lease).
async fn startup_hooks(agent: Arc<agent::Agent>) {
    let began = tokio::time::Instant::now();
    agent.hooks.started().await;
    let lease = std::time::Duration::from_millis(agent.config.timing.lease_ms);
    tokio::time::sleep_until(began + lease).await;
    // A lease granted and lost since is the lease-loss path's (agent/lease.rs), not this one.
    if !agent.lease_ever_granted() {
        agent.hooks.no_lease_after_start().await;
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stop the agent with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The start counter in an incarnation file: digits and one newline, nothing else (a file
/// cut short has lost its newline and maybe digits: using it could repeat an incarnation).
fn parse_incarnation(bytes: &[u8]) -> Option<u64> {
    let digits = std::str::from_utf8(bytes.strip_suffix(b"\n")?).ok()?;
    digits
        .parse()
        .ok()
        .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads, bumps and durably writes the node's start counter.
fn next_incarnation(path: &Path) -> Result<u64, AgentError> {
    let io = |source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    };
    let previous = match std::fs::read(path) {
        Ok(bytes) => parse_incarnation(&bytes).ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "damaged or truncated (expected a number and a newline); restore it, or write \
                 a number above this node's last incarnation (`herd status --json` on another \
                 node) and a newline",
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(e)),
    };
    let next = previous + 1;
    durable::write_file(path, format!("{next}\n").as_bytes()).map_err(io)?;
    Ok(next)
}
