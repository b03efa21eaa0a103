//! herd-rpc on loopback: real transports, real sockets, ephemeral ports.
//!
//! Each test binds its listeners on 127.0.0.1:0 first, so every node's address is known
//! before any transport starts, then drives calls, sends, bad peers and dead links.

// Test helpers (not only #[test] fns) unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use herd_rpc::{
    BoxFuture, ClusterKey, Handler, LinkState, Peer, RpcError, Transport, TransportConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod bench;
mod calls;
mod keyfile;
mod links;
mod netns;
mod refusals;

const CLUSTER: &str = "test";

/// Echoes requests with a prefix naming the sender; records one-way messages.
#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
    one_way: Mutex<Vec<(String, Bytes)>>,
}

impl Handler for Echo {
    fn handle(&self, from: &str, payload: Bytes) -> BoxFuture<'_, Option<Bytes>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let from = from.to_string();
        Box::pin(async move {
            if payload.starts_with(b"oneway") {
                self.one_way.lock().unwrap().push((from, payload));
                return None;
            }
            if payload.as_ref() == b"silent" {
                return None;
            }
            Some(Bytes::from(format!(
                "{from}:{}",
                String::from_utf8_lossy(&payload)
            )))
        })
    }
}

fn key(byte: u8) -> ClusterKey {
    ClusterKey::from_bytes([byte; 32])
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

fn config(local: &str, peers: Vec<Peer>, key: ClusterKey) -> TransportConfig {
    let mut config = TransportConfig::new(CLUSTER, local, vec![], peers, key);
    config.link_ping = Duration::from_millis(50);
    config.link_timeout = Duration::from_millis(250);
    config
}

/// Long link timers: the panic's backtrace printing stalls the test's only thread.
fn patient(mut config: TransportConfig) -> TransportConfig {
    config.link_timeout = Duration::from_secs(10);
    config
}

/// Starts a transport on one listener: the tests' usual node.
fn start(config: TransportConfig, listener: TcpListener, handler: Arc<dyn Handler>) -> Transport {
    Transport::start_on(config, vec![listener], handler).unwrap()
}

fn peer(name: &str, addrs: &[SocketAddr]) -> Peer {
    Peer {
        name: name.to_string(),
        addrs: addrs.to_vec(),
    }
}

/// Two nodes n1 and n2 with one link each.
struct Pair {
    n1: Transport,
    n2: Transport,
    h1: Arc<Echo>,
    h2: Arc<Echo>,
    addr2: SocketAddr,
}

async fn pair() -> Pair {
    pair_on(listener().await, listener().await, |addr2| vec![addr2])
}

/// Two nodes on these listeners; n1 reaches n2 at `route(n2's address)` (a dead address
/// first, a relay instead, ...), n2 reaches n1 directly.
fn pair_on(
    l1: TcpListener,
    l2: TcpListener,
    route: impl FnOnce(SocketAddr) -> Vec<SocketAddr>,
) -> Pair {
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let (h1, h2) = (Arc::new(Echo::default()), Arc::new(Echo::default()));
    let n1 = start(
        config("n1", vec![peer("n2", &route(addr2))], key(1)),
        l1,
        h1.clone(),
    );
    let n2 = start(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        l2,
        h2.clone(),
    );
    Pair {
        n1,
        n2,
        h1,
        h2,
        addr2,
    }
}

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Forwards one TCP connection at a time to `target` until `cut` is set, then drops
/// everything silently (reads and discards), like a dead switch port.
/// With `bytes_per_sec`, each direction is throttled to that rate, like a slow link.
async fn run_relay(
    listener: TcpListener,
    target: SocketAddr,
    cut: Arc<std::sync::atomic::AtomicBool>,
    bytes_per_sec: Option<u64>,
) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let cut = cut.clone();
        tokio::spawn(async move {
            if cut.load(Ordering::SeqCst) {
                let mut sink = [0u8; 4096];
                while let Ok(n) = inbound.read(&mut sink).await {
                    if n == 0 {
                        return;
                    }
                }
                return;
            }
            let Ok(mut outbound) = TcpStream::connect(target).await else {
                return;
            };
            let (mut ri, mut wi) = inbound.split();
            let (mut ro, mut wo) = outbound.split();
            let chunk = if bytes_per_sec.is_some() {
                16 * 1024
            } else {
                65536
            };
            let mut buf_in = vec![0u8; chunk];
            let mut buf_out = vec![0u8; chunk];
            let pause = |n: usize| async move {
                if let Some(rate) = bytes_per_sec {
                    tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate)).await;
                }
            };
            loop {
                tokio::select! {
                    n = ri.read(&mut buf_in) => match n { Ok(0) | Err(_) => return, Ok(n) => {
                        if !cut.load(Ordering::SeqCst) && wo.write_all(&buf_in[..n]).await.is_err() { return }
                        pause(n).await;
                    }},
                    n = ro.read(&mut buf_out) => match n { Ok(0) | Err(_) => return, Ok(n) => {
                        if !cut.load(Ordering::SeqCst) && wi.write_all(&buf_out[..n]).await.is_err() { return }
                        pause(n).await;
                    }},
                }
            }
        });
    }
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
