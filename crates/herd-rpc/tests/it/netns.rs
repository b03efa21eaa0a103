//! Two links between two network namespaces, one cut with `ip link set down`: traffic moves
//! to the other link, and back when the link returns. Real veth interfaces, not a relay.
//!
//! Each node runs on its own thread that has `setns`-ed into its namespace, with a
//! current-thread tokio runtime, so every socket it opens lives there. Namespaces are named
//! per process and test (`hr<pid><n>`) and deleted on drop. Needs root and `ip`; skips with a
//! note otherwise. I/O: `ip` commands, /run/netns, threads.

use std::fs::File;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use herd_rpc::{ClusterKey, LinkState, Peer, Transport, TransportConfig};
use nix::sched::{CloneFlags, setns};
use tokio::net::TcpListener;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by two veth pairs (two links), deleted on drop.
struct Lab {
    tag: String,
    ns: [String; 2],
    /// veth names inside ns[1] (node n2), one per link.
    n2_ifaces: [String; 2],
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| format!("ip: {err}"))?;
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

impl Lab {
    fn new() -> Result<Lab, String> {
        let tag = format!(
            "hr{}{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let ns = [format!("{tag}a"), format!("{tag}b")];
        let lab = Lab {
            tag: tag.clone(),
            ns: ns.clone(),
            n2_ifaces: [format!("{tag}b0"), format!("{tag}b1")],
        };
        for name in &ns {
            ip(&["netns", "add", name])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
        }
        for link in 0..2 {
            let (a, b) = (format!("{tag}a{link}"), format!("{tag}b{link}"));
            ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
            ip(&["link", "set", &a, "netns", &ns[0]])?;
            ip(&["link", "set", &b, "netns", &ns[1]])?;
            ip(&[
                "-n",
                &ns[0],
                "addr",
                "add",
                &format!("10.77.{link}.1/24"),
                "dev",
                &a,
            ])?;
            ip(&[
                "-n",
                &ns[1],
                "addr",
                "add",
                &format!("10.77.{link}.2/24"),
                "dev",
                &b,
            ])?;
            ip(&["-n", &ns[0], "link", "set", &a, "up"])?;
            ip(&["-n", &ns[1], "link", "set", &b, "up"])?;
        }
        Ok(lab)
    }

    /// Limits n1's sending rate on `link` (a token bucket on n1's side of the veth).
    fn throttle(&self, link: usize, rate: &str) {
        let dev = format!("{}a{link}", self.tag);
        ip_tc(
            &self.ns[0],
            &[
                "qdisc", "add", "dev", &dev, "root", "tbf", "rate", rate, "burst", "32kbit",
                "latency", "20ms",
            ],
        );
    }

    fn set_link(&self, link: usize, up: bool) {
        ip(&[
            "-n",
            &self.ns[1],
            "link",
            "set",
            &self.n2_ifaces[link],
            if up { "up" } else { "down" },
        ])
        .expect("toggle link");
    }
}

fn ip_tc(ns: &str, args: &[&str]) {
    let status = Command::new("ip")
        .args(["netns", "exec", ns, "tc"])
        .args(args)
        .status()
        .expect("run tc");
    assert!(status.success(), "tc {}", args.join(" "));
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Runs `work` on a new thread inside namespace `ns` with its own tokio runtime.
fn in_ns<T, F>(ns: &str, work: F) -> std::thread::JoinHandle<T>
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
}

fn addr(link: u8, host: u8) -> SocketAddr {
    SocketAddr::from(([10, 77, link, host], 7400))
}

fn config(local: &str, peer: &str, peer_host: u8) -> TransportConfig {
    let peers = vec![Peer {
        name: peer.to_string(),
        addrs: vec![addr(0, peer_host), addr(1, peer_host)],
    }];
    let mut config =
        TransportConfig::new("lab", local, vec![], peers, ClusterKey::from_bytes([5; 32]));
    config.link_ping = Duration::from_millis(50);
    config.link_timeout = Duration::from_millis(200);
    config
}

async fn listeners(host: u8) -> Vec<TcpListener> {
    vec![
        TcpListener::bind(addr(0, host)).await.expect("bind link 0"),
        TcpListener::bind(addr(1, host)).await.expect("bind link 1"),
    ]
}

/// Echoes small payloads; answers "ok" to large ones.
struct Echo;

impl herd_rpc::Handler for Echo {
    fn handle(&self, _from: &str, payload: Bytes) -> herd_rpc::BoxFuture<'_, Option<Bytes>> {
        Box::pin(async move {
            Some(if payload.len() < 1000 {
                payload
            } else {
                Bytes::from_static(b"ok")
            })
        })
    }
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "{what} within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn cut_link_fails_over_to_the_second_and_back() {
    let lab = match Lab::new() {
        Ok(lab) => Arc::new(lab),
        Err(err) => {
            println!("skipped: cannot build network namespaces ({err}); run as root with iproute2");
            return;
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let n2 = in_ns(&lab.ns[1], async move || {
        let _n2 = Transport::start_on(config("n2", "n1", 1), listeners(2).await, Arc::new(Echo))
            .expect("start n2");
        let _ = stop_rx.await;
    });
    let lab1 = lab.clone();
    let n1 = in_ns(&lab.ns[0], async move || {
        let n1 = Transport::start_on(config("n1", "n2", 2), listeners(1).await, Arc::new(Echo))
            .expect("start n1");
        wait_for("both links up", || {
            n1.links().iter().all(|l| l.state == LinkState::Up)
        })
        .await;
        let timeout = Duration::from_millis(150);
        n1.call("n2", Bytes::from_static(b"a"), Duration::from_secs(5))
            .await
            .expect("first call");
        let mut failovers = Vec::new();
        let mut backs = Vec::new();
        for _ in 0..rounds() {
            lab1.set_link(0, false);
            let cut = Instant::now();
            // Keep calling until one succeeds again: the failover time a user sees.
            while n1
                .call("n2", Bytes::from_static(b"b"), timeout)
                .await
                .is_err()
            {
                assert!(
                    cut.elapsed() < Duration::from_secs(10),
                    "no call succeeded after the cut"
                );
            }
            failovers.push(cut.elapsed());
            assert_eq!(n1.links()[0].state, LinkState::Down);

            lab1.set_link(0, true);
            let healed = Instant::now();
            wait_for("link 0 back up", || n1.links()[0].state == LinkState::Up).await;
            backs.push(healed.elapsed());
            n1.call("n2", Bytes::from_static(b"c"), Duration::from_secs(5))
                .await
                .expect("call after heal");
        }
        (failovers, backs)
    });
    let (mut failovers, mut backs) = n1.join().expect("n1 thread");
    let _ = stop_tx.send(());
    n2.join().expect("n2 thread");
    failovers.sort();
    backs.sort();
    let spread = |v: &[Duration]| {
        format!(
            "min {:?} median {:?} max {:?}",
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        )
    };
    println!(
        "link cut -> first successful call ({} runs): {}; link restored -> up: {} (ping 50 ms, timeout 200 ms)",
        failovers.len(),
        spread(&failovers),
        spread(&backs)
    );
    let worst = failovers[failovers.len() - 1];
    assert!(worst < Duration::from_secs(3), "failover took {worst:?}");
}

/// Cut/restore cycles: 1 by default, 10 with HERD_HEAVY_TESTS=1 (for min/median/max).
fn rounds() -> usize {
    if std::env::var("HERD_HEAVY_TESTS").as_deref() == Ok("1") {
        10
    } else {
        1
    }
}

#[test]
fn small_calls_overtake_a_large_transfer_on_a_slow_link() {
    let lab = match Lab::new() {
        Ok(lab) => Arc::new(lab),
        Err(err) => {
            println!("skipped: cannot build network namespaces ({err}); run as root with iproute2");
            return;
        }
    };
    lab.throttle(0, "20mbit");
    lab.set_link(1, false);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let n2 = in_ns(&lab.ns[1], async move || {
        let _n2 = Transport::start_on(config("n2", "n1", 1), listeners(2).await, Arc::new(Echo))
            .expect("start n2");
        let _ = stop_rx.await;
    });
    let n1 = in_ns(&lab.ns[0], async move || {
        let n1 = Transport::start_on(config("n1", "n2", 2), listeners(1).await, Arc::new(Echo))
            .expect("start n1");
        n1.call("n2", Bytes::from_static(b"warm"), Duration::from_secs(5))
            .await
            .expect("first call");
        // 4 MB at 20 Mbit/s takes about 1.6 s.
        let big = tokio::spawn({
            let n1 = n1.clone();
            async move {
                let started = Instant::now();
                n1.call(
                    "n2",
                    Bytes::from(vec![b'x'; 4_000_000]),
                    Duration::from_secs(30),
                )
                .await
                .expect("large call");
                started.elapsed()
            }
        });
        let mut worst = Duration::ZERO;
        let mut count = 0;
        while !big.is_finished() {
            let started = Instant::now();
            n1.call("n2", Bytes::from_static(b"small"), Duration::from_secs(10))
                .await
                .expect("small call");
            worst = worst.max(started.elapsed());
            count += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let large = big.await.expect("large call task");
        let flaps = n1.links()[0].changes;
        (large, worst, count, flaps)
    });
    let (large, worst, count, flaps) = n1.join().expect("n1 thread");
    let _ = stop_tx.send(());
    n2.join().expect("n2 thread");
    println!(
        "4 MB call over 20 Mbit/s took {large:?}; {count} small calls meanwhile, slowest {worst:?}"
    );
    assert_eq!(flaps, 1, "link 0 went down during the transfer");
    assert!(
        count >= 5,
        "only {count} small calls completed during {large:?}"
    );
    assert!(
        worst < large / 2,
        "a small call waited {worst:?} behind a {large:?} transfer"
    );
}
