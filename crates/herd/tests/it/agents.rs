//! The shared harness: a small cluster of real `herd agent` processes on this machine, each
//! with its own config, data directory and ports; helpers to ask them for `herd status --json`
//! and to wait for a formed cluster; and network namespaces (named per process and test,
//! deleted on drop) for the tests that run agents in them. Not here: the links between the
//! namespaces (each test builds its own topology). I/O: processes, files in a temporary
//! directory, the agents' admin sockets, `ip`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const HERD: &str = env!("CARGO_BIN_EXE_herd");

/// One node's files and process.
pub(crate) struct Agent {
    pub(crate) name: String,
    pub(crate) config: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) child: Option<Child>,
    /// Prefix of the command (e.g. `ip netns exec NS`), empty on the host.
    pub(crate) wrapper: Vec<String>,
}

pub(crate) struct Cluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) agents: Vec<Agent>,
}

/// A free TCP port on loopback (bind port 0, then release it).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Cluster {
    /// Writes configs for `n` nodes on loopback (not started).
    pub(crate) fn loopback(n: usize) -> Cluster {
        let addrs: Vec<String> = (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        Cluster::with_addrs(&addrs, &vec![Vec::new(); n], "")
    }

    /// Writes configs for nodes with these addresses and command wrappers.
    pub(crate) fn with_addrs(addrs: &[String], wrappers: &[Vec<String>], extra: &str) -> Cluster {
        Cluster::build(addrs, wrappers, extra, &vec![false; addrs.len()], None)
    }

    /// Nodes on loopback; `witness[i]` marks witnesses; `joiner` is listed only in its own
    /// config (a node to `herd node add` later).
    pub(crate) fn loopback_layout(witness: &[bool], joiner: Option<usize>) -> Cluster {
        let n = witness.len();
        let addrs: Vec<String> = (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        Cluster::build(&addrs, &vec![Vec::new(); n], "", witness, joiner)
    }

    fn build(
        addrs: &[String],
        wrappers: &[Vec<String>],
        extra: &str,
        witness: &[bool],
        joiner: Option<usize>,
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("cluster.key");
        let status = Command::new(HERD).arg("keygen").arg(&key).output().unwrap();
        assert!(status.status.success(), "keygen: {status:?}");
        let node_entry = |i: usize| {
            format!(
                "[[nodes]]\nname = \"n{}\"\naddrs = [\"{}\"]\nwitness = {}\n",
                i + 1,
                addrs[i],
                witness[i]
            )
        };
        let mut agents = Vec::new();
        for (i, wrapper) in wrappers.iter().enumerate().take(addrs.len()) {
            let nodes: String = (0..addrs.len())
                .filter(|j| joiner != Some(*j) || *j == i)
                .map(node_entry)
                .collect();
            let name = format!("n{}", i + 1);
            let data_dir = dir.path().join(&name);
            let config = dir.path().join(format!("{name}.toml"));
            let text = format!(
                "cluster = \"test\"\nnode = \"{name}\"\ndata_dir = \"{}\"\nkey_file = \"{}\"\n{extra}\n{nodes}",
                data_dir.display(),
                key.display()
            );
            std::fs::write(&config, text).unwrap();
            agents.push(Agent {
                name,
                config,
                data_dir,
                child: None,
                wrapper: wrapper.clone(),
            });
        }
        Cluster { dir, agents }
    }

    pub(crate) fn start_all(&mut self) {
        for i in 0..self.agents.len() {
            self.start(i);
        }
    }

    pub(crate) fn start(&mut self, i: usize) {
        let agent = &mut self.agents[i];
        let log =
            std::fs::File::create(self.dir.path().join(format!("{}.log", agent.name))).unwrap();
        let mut command = agent.command(&["agent", "--config"]);
        command.arg(&agent.config).stdout(Stdio::null()).stderr(log);
        agent.child = Some(command.spawn().unwrap());
    }

    /// SIGKILL, like a power cut of the process.
    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.agents[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM (a systemd stop) and wait up to `limit` for the exit; None if still running.
    pub(crate) fn terminate(&mut self, i: usize, limit: Duration) -> Option<ExitStatus> {
        let pid = self.agents[i].child.as_ref()?.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.wait_exit(i, limit)
    }

    /// Waits up to `limit` for agent `i` to exit on its own; None if it still runs.
    pub(crate) fn wait_exit(&mut self, i: usize, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let child = self.agents[i].child.as_mut()?;
            if let Some(status) = child.try_wait().unwrap() {
                self.agents[i].child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The index of the agent called `name` (a test's own cluster always has it).
    pub(crate) fn index_of(&self, name: &str) -> usize {
        self.agents
            .iter()
            .position(|a| a.name == name)
            .unwrap_or_else(|| panic!("no agent named {name} in this cluster"))
    }

    pub(crate) fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.log", self.agents[i].name)))
            .unwrap_or_default()
    }

    /// `herd status --json` on node `i` (through the CLI); None when it fails.
    pub(crate) fn status(&self, i: usize) -> Option<Value> {
        let agent = &self.agents[i];
        let output = agent
            .command(&["status", "--json", "--config"])
            .arg(&agent.config)
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        serde_json::from_slice(&output.stdout).ok()
    }

    /// A request straight to node `i`'s admin socket (quick; for polling and for requests
    /// the CLI does not offer yet).
    pub(crate) fn admin(&self, i: usize, request: &str) -> Option<Value> {
        let socket = self.agents[i].data_dir.join("herd.sock");
        let mut stream = UnixStream::connect(socket).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        stream
            .write_all(format!("{{\"version\":1,{request}}}\n").as_bytes())
            .ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        serde_json::from_str(&line).ok()
    }

    /// Status straight from the socket (no process spawn; for timing).
    pub(crate) fn fast_status(&self, i: usize) -> Option<Value> {
        self.admin(i, "\"request\":\"status\"")
    }

    /// Waits until `check` holds, polling every 20 ms; returns the time it took.
    pub(crate) fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        mut check: impl FnMut(&Cluster) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check(self) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let logs: Vec<String> = (0..self.agents.len()).map(|i| self.log(i)).collect();
        panic!(
            "timed out after {limit:?} waiting for {what}\nlogs:\n{}",
            logs.join("\n-----\n")
        );
    }
}

impl Agent {
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = match self.wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(HERD);
                c
            }
            None => Command::new(HERD),
        };
        command.args(args).env_remove("HERD_CONFIG");
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.agents.len() {
            self.kill(i);
        }
    }
}

/// Starts every agent of a three-node cluster and waits up to `limit` for three online nodes
/// and one DC on every node; returns the DC.
pub(crate) fn formed(cluster: &mut Cluster, limit: Duration) -> String {
    wait_formed(cluster, limit);
    dc(&inner(cluster.fast_status(0)).unwrap()).unwrap()
}

/// [`formed`] without reading the DC afterwards.
pub(crate) fn wait_formed(cluster: &mut Cluster, limit: Duration) {
    cluster.start_all();
    cluster.wait_for(limit, "three online nodes and one DC", |c| {
        (0..3).all(|i| {
            inner(c.fast_status(i)).is_some_and(|s| {
                dc(&s).is_some()
                    && ["n1", "n2", "n3"]
                        .iter()
                        .all(|n| node_state(&s, n).as_deref() == Some("online"))
            })
        })
    });
}

/// The state of `node` in a status JSON.
pub(crate) fn node_state(status: &Value, node: &str) -> Option<String> {
    status["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == node)?["state"]
        .as_str()
        .map(String::from)
}

/// The DC in a status JSON.
pub(crate) fn dc(status: &Value) -> Option<String> {
    status["dc"].as_str().map(String::from)
}

/// The status object inside an admin answer.
pub(crate) fn inner(answer: Option<Value>) -> Option<Value> {
    answer.filter(|a| a["result"] == "status")
}

pub(crate) fn path_str(path: &Path) -> String {
    path.display().to_string()
}

static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS`; the error names the command and carries its stderr.
pub(crate) fn try_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| err.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `ip ARGS` and fails the test when it fails.
pub(crate) fn ip(args: &[&str]) {
    if let Err(err) = try_ip(args) {
        panic!("{err}");
    }
}

/// Runs `ip ARGS`, ignoring the outcome (for restoring what may already be there).
pub(crate) fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip").args(args).output();
}

pub(crate) fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// One network namespace per node, named `{prefix}{pid}x{counter}n{i}`; deleted (with their
/// veths) on drop, also when a test fails halfway.
pub(crate) struct Namespaces {
    pub(crate) names: Vec<String>,
}

impl Namespaces {
    /// Creates `n` namespaces with loopback up and, for node `i` (1-based), the addresses
    /// `addrs(i)` (`/32`) on it.
    pub(crate) fn new(
        prefix: &str,
        n: usize,
        addrs: impl Fn(usize) -> Vec<String>,
    ) -> Result<Namespaces, String> {
        let tag = format!(
            "{}x{}",
            std::process::id(),
            NS_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut namespaces = Namespaces { names: Vec::new() };
        for i in 1..=n {
            let ns = format!("{prefix}{tag}n{i}");
            try_ip(&["netns", "add", &ns])?;
            namespaces.names.push(ns.clone());
            try_ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            for addr in addrs(i) {
                try_ip(&["-n", &ns, "addr", "add", &addr, "dev", "lo"])?;
            }
        }
        Ok(namespaces)
    }

    /// Adds a veth pair: `dev_a` in node `a`'s namespace, `dev_b` in node `b`'s (0-based).
    pub(crate) fn add_veth(
        &self,
        a: usize,
        dev_a: &str,
        b: usize,
        dev_b: &str,
    ) -> Result<(), String> {
        let (ns_a, ns_b) = (&self.names[a], &self.names[b]);
        try_ip(&[
            "-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b,
        ])
    }

    /// Configs for one agent per namespace at `addrs`, each run through `ip netns exec`.
    pub(crate) fn cluster(&self, addrs: &[String]) -> Cluster {
        let wrappers: Vec<Vec<String>> = self
            .names
            .iter()
            .map(|ns| vec!["ip".into(), "netns".into(), "exec".into(), ns.clone()])
            .collect();
        Cluster::with_addrs(addrs, &wrappers, "")
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
