//! A small network lab: namespaces, a bridge, veth pairs; torn down on Drop.
//!
//! Names carry the test process id and a counter, so parallel tests and other engineers'
//! namespaces never collide. Agents run on a thread that `setns`-es into a host namespace
//! and drives a current-thread tokio runtime there, so their sockets and children live in
//! that namespace. I/O: `ip` commands, /run/netns, threads.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use herd_agents::{AgentOutcome, AgentRequest};
use nix::sched::{CloneFlags, setns};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub(crate) fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One host of the lab.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) ns: String,
    pub(crate) mac: String,
}

/// A switch namespace with a bridge, and hosts plugged into it.
#[derive(Debug)]
pub(crate) struct Lab {
    pub(crate) tag: String,
    pub(crate) switch: String,
    /// The /24 (first three octets) the hosts live in, e.g. "10.77.3".
    pub(crate) net: String,
    namespaces: Vec<String>,
    ports: u32,
}

impl Lab {
    pub(crate) fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("hag{}-{n}", std::process::id());
        let switch = format!("{tag}-sw");
        ip(&["netns", "add", &switch]);
        let mut lab = Lab {
            net: format!("10.{}.{}", 100 + (std::process::id() % 100), n % 250),
            tag,
            switch: switch.clone(),
            namespaces: vec![switch.clone()],
            ports: 0,
        };
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        lab.ports = 0;
        lab
    }

    /// A namespace with loopback up and nothing else.
    pub(crate) fn bare(&mut self, role: &str) -> String {
        let ns = format!("{}-{role}", self.tag);
        ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A host with eth0 on the bridge, address NET.`last`/24 (and fd00::`last`/64), and the
    /// given MAC (octet `last` when None).
    pub(crate) fn host(&mut self, role: &str, last: u8, mac: Option<&str>) -> Host {
        let ns = self.bare(role);
        self.ports += 1;
        let port = format!("p{}", self.ports);
        ip(&[
            "-n",
            &self.switch,
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns,
        ]);
        ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &port,
            "master",
            "br0",
            "up",
        ]);
        let mac = mac.map_or_else(
            || format!("02:00:00:00:{:02x}:{last:02x}", self.ports),
            str::to_string,
        );
        ip(&["-n", &ns, "link", "set", "eth0", "address", &mac]);
        let addr = format!("{}.{last}", self.net);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("fd00:{}::{last}/64", self.net_tag()),
            "dev",
            "eth0",
            "nodad",
        ]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        Host { ns, mac }
    }

    /// The IPv6 /64 prefix's groups after fd00, distinct per lab (e.g. "5e3b:a").
    pub(crate) fn net_tag(&self) -> String {
        let mut parts = self.tag.trim_start_matches("hag").split('-');
        let pid: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let n: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        format!("{:x}:{n:x}", pid & 0xffff)
    }

    /// A free address in the lab's IPv4 subnet.
    pub(crate) fn vip(&self) -> String {
        format!("{}.100", self.net)
    }

    /// A free address in the lab's IPv6 subnet.
    pub(crate) fn vip6(&self) -> String {
        format!("fd00:{}::100", self.net_tag())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs `work` on a thread inside namespace `ns`, with a current-thread tokio runtime.
pub(crate) fn in_ns<T, F>(ns: &str, work: F) -> T
where
    T: Send + 'static,
    F: AsyncFnOnce() -> T + Send + 'static,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("open netns");
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(work())
    })
    .join()
    .expect("namespace thread panicked")
}

/// A tokio runtime whose worker lives in a namespace and outlives single calls, like the
/// herd daemon's: background tasks an agent spawns keep running between calls.
pub(crate) struct NsRuntime {
    runtime: tokio::runtime::Runtime,
}

impl NsRuntime {
    pub(crate) fn new(ns: &str) -> Self {
        let path = format!("/run/netns/{ns}");
        let runtime = std::thread::spawn(move || {
            let file = File::open(&path).expect("open netns");
            setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
            // Worker threads start here and inherit this thread's namespace.
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
        })
        .join()
        .expect("runtime thread");
        NsRuntime { runtime }
    }

    /// Runs one agent action on the runtime's worker (inside the namespace).
    pub(crate) fn agent(
        &self,
        agent: &str,
        action: &str,
        params: &[(&str, &str)],
        runtime_dir: &Path,
    ) -> AgentOutcome {
        let agent = herd_agents::lookup(agent).expect("agent exists");
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let action = action.to_string();
        let runtime_dir = runtime_dir.to_path_buf();
        let task = self.runtime.spawn(async move {
            let request = AgentRequest {
                action: &action,
                instance: "test",
                params: &params,
                timeout: Duration::from_secs(20),
                runtime_dir: &runtime_dir,
            };
            agent.run(request).await
        });
        self.runtime.block_on(task).expect("agent task")
    }
}

/// Runs one agent action inside `ns`.
pub(crate) fn agent(
    ns: &str,
    agent: &str,
    action: &str,
    params: &[(&str, &str)],
    runtime_dir: &Path,
) -> AgentOutcome {
    let agent = herd_agents::lookup(agent).expect("agent exists");
    let params: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let action = action.to_string();
    let runtime_dir = runtime_dir.to_path_buf();
    in_ns(ns, async move || {
        let request = AgentRequest {
            action: &action,
            instance: "test",
            params: &params,
            timeout: Duration::from_secs(20),
            runtime_dir: &runtime_dir,
        };
        agent.run(request).await
    })
}

/// Whether a TCP connect from `ns` to `addr` reaches a host (connected or refused) in 1 s.
pub(crate) fn reachable(ns: &str, addr: &str, port: u16) -> bool {
    let target: std::net::IpAddr = addr.parse().expect("address");
    in_ns(ns, async move || {
        let connect = tokio::net::TcpStream::connect((target, port));
        match tokio::time::timeout(Duration::from_secs(1), connect).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => error.kind() == std::io::ErrorKind::ConnectionRefused,
            Err(_) => false,
        }
    })
}

/// The MAC the neighbour table of `ns` holds for `addr` (None when absent or failed).
pub(crate) fn neighbour_mac(ns: &str, addr: &str) -> Option<String> {
    let out = ip(&["-n", ns, "neigh", "show", addr]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "lladdr")?;
    words.get(at + 1).map(|mac| mac.to_string())
}

/// The neighbour MAC of `addr` in `ns` once it equals `mac`, polling for up to 200 ms (the
/// kernel handles a received announcement asynchronously; ARP expiry takes far longer).
pub(crate) fn neighbour_mac_soon(ns: &str, addr: &str, mac: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_millis(200);
    loop {
        let seen = neighbour_mac(ns, addr);
        if seen.as_deref() == Some(mac) || std::time::Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills the daemon whose pid file sits in a runtime directory when dropped, so a failing
/// test leaves no haproxy or dnsmasq behind.
pub(crate) struct KillOnDrop(pub(crate) std::path::PathBuf);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(self.0.join("daemon.pid"))
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok());
        if let Some(pid) = pid.filter(|&pid| pid > 1) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
