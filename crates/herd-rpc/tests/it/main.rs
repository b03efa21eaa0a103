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
mod keyfile;
mod netns;

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
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let (h1, h2) = (Arc::new(Echo::default()), Arc::new(Echo::default()));
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        h1.clone(),
    )
    .unwrap();
    let n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        h2.clone(),
    )
    .unwrap();
    Pair {
        n1,
        n2,
        h1,
        h2,
        addr2,
    }
}

const CALL_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn two_transports_call_each_other() {
    let pair = pair().await;
    let answer = pair
        .n1
        .call("n2", Bytes::from_static(b"ping"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:ping");
    let answer = pair
        .n2
        .call("n1", Bytes::from_static(b"hello"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n2:hello");
    assert_eq!(pair.h1.calls.load(Ordering::SeqCst), 1);
    assert_eq!(pair.h2.calls.load(Ordering::SeqCst), 1);
    let links = pair.n1.links();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].peer.as_str(), links[0].state),
        ("n2", LinkState::Up)
    );
}

#[tokio::test]
async fn transports_talk_over_ipv6() {
    let (Ok(l1), Ok(l2)) = (
        TcpListener::bind("[::1]:0").await,
        TcpListener::bind("[::1]:0").await,
    ) else {
        println!("skipped: no IPv6 loopback here");
        return;
    };
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let answer = n1
        .call("n2", Bytes::from_static(b"v6"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:v6");
}

#[tokio::test]
async fn large_payload_crosses_many_noise_messages() {
    let pair = pair().await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let answer = pair
        .n1
        .call("n2", Bytes::from(big.clone()), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(&answer[..3], b"n1:");
    assert_eq!(answer.len(), 3 + String::from_utf8_lossy(&big).len());
}

#[tokio::test]
async fn many_concurrent_calls_all_get_their_own_answer() {
    let pair = pair().await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..500 {
        let n1 = pair.n1.clone();
        calls.spawn(async move {
            let answer = n1
                .call("n2", Bytes::from(format!("m{i}")), CALL_TIMEOUT)
                .await
                .unwrap();
            assert_eq!(answer, Bytes::from(format!("n1:m{i}")));
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
}

#[tokio::test]
async fn one_way_send_reaches_the_handler() {
    let pair = pair().await;
    pair.n1
        .call("n2", Bytes::from_static(b"warm up"), CALL_TIMEOUT)
        .await
        .unwrap();
    pair.n1.send("n2", Bytes::from_static(b"oneway-1")).unwrap();
    wait_until(|| !pair.h2.one_way.lock().unwrap().is_empty()).await;
    assert_eq!(
        pair.h2.one_way.lock().unwrap()[0],
        ("n1".to_string(), Bytes::from_static(b"oneway-1"))
    );
}

#[tokio::test]
async fn handler_without_answer_fails_the_call_fast() {
    let pair = pair().await;
    let started = Instant::now();
    let err = pair
        .n1
        .call("n2", Bytes::from_static(b"silent"), CALL_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::NoReply { .. }), "{err}");
    assert!(started.elapsed() < CALL_TIMEOUT / 2);
}

#[tokio::test]
async fn unknown_peer_and_oversized_payload_are_refused_by_the_caller() {
    let pair = pair().await;
    let err = pair
        .n1
        .call("n9", Bytes::new(), CALL_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::UnknownPeer { .. }), "{err}");
    let err = pair
        .n1
        .send("n2", Bytes::from(vec![0; herd_rpc::FRAME_BYTES_MAX + 1]))
        .unwrap_err();
    assert!(matches!(err, RpcError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn wrong_key_is_refused_and_the_handler_never_runs() {
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let (h1, h2) = (Arc::new(Echo::default()), Arc::new(Echo::default()));
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        h1.clone(),
    )
    .unwrap();
    let intruder = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(2)),
        vec![l2],
        h2.clone(),
    )
    .unwrap();
    let err = intruder
        .call("n1", Bytes::from_static(b"x"), Duration::from_millis(700))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::NotConnected { .. }), "{err}");
    assert!(err.to_string().contains("cluster key"), "{err}");
    let err = n1
        .call("n2", Bytes::from_static(b"x"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::NotConnected { .. }), "{err}");
    assert_eq!(h1.calls.load(Ordering::SeqCst), 0);
    assert_eq!(h2.calls.load(Ordering::SeqCst), 0);
    assert!(
        intruder
            .links()
            .iter()
            .all(|link| link.state != LinkState::Up)
    );
}

#[tokio::test]
async fn other_cluster_name_with_the_same_key_is_refused() {
    let pair = pair().await;
    let mut other = config("n1", vec![peer("n2", &[pair.addr2])], key(1));
    other.cluster = "other".to_string();
    let stranger =
        Transport::start_on(other, vec![listener().await], Arc::new(Echo::default())).unwrap();
    let err = stranger
        .call("n2", Bytes::from_static(b"x"), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::NotConnected { .. }), "{err}");
    assert_eq!(pair.h2.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn node_not_in_the_list_is_refused() {
    let pair = pair().await;
    let stranger_config = config("n7", vec![peer("n2", &[pair.addr2])], key(1));
    let stranger = Transport::start_on(
        stranger_config,
        vec![listener().await],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let err = stranger
        .call("n2", Bytes::from_static(b"x"), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in its node list"), "{err}");
    assert_eq!(pair.h2.calls.load(Ordering::SeqCst), 0);
    // The real n1 is still served.
    pair.n1
        .call("n2", Bytes::from_static(b"ok"), CALL_TIMEOUT)
        .await
        .unwrap();
}

#[tokio::test]
async fn garbage_on_the_port_is_refused_and_the_listener_keeps_serving() {
    let pair = pair().await;
    for garbage in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &[0xff; 4096][..],
        &b"HERD\x01\xff\xff"[..],
        &b"HERD\x07"[..],
    ] {
        let mut stream = TcpStream::connect(pair.addr2).await.unwrap();
        let _ = stream.write_all(garbage).await;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "connection closed after garbage: {read:?}"
        );
    }
    // A connection that says nothing is dropped after the handshake timeout; meanwhile
    // the listener serves others.
    let _idle = TcpStream::connect(pair.addr2).await.unwrap();
    let answer = pair
        .n1
        .call("n2", Bytes::from_static(b"still"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:still");
    assert_eq!(pair.h2.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oversized_frame_is_refused_and_the_listener_keeps_serving() {
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let (h1, h2) = (Arc::new(Echo::default()), Arc::new(Echo::default()));
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        h1,
    )
    .unwrap();
    let mut small = config("n2", vec![peer("n1", &[addr1])], key(1));
    small.frame_bytes_max = 1024;
    let _n2 = Transport::start_on(small, vec![l2], h2.clone()).unwrap();
    let err = n1
        .call("n2", Bytes::from(vec![b'x'; 4096]), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::ConnectionLost { .. }), "{err}");
    assert_eq!(h2.calls.load(Ordering::SeqCst), 0);
    // The link is redialed and small frames go through.
    let answer = n1
        .call("n2", Bytes::from_static(b"small"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:small");
}

#[tokio::test]
async fn dead_first_address_fails_over_to_the_second() {
    // An address that refuses connections: bind, note the port, close.
    let dead = listener().await.local_addr().unwrap();
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[dead, addr2])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let answer = n1
        .call("n2", Bytes::from_static(b"via second"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:via second");
    let links = n1.links();
    assert_eq!(links.len(), 2);
    assert_eq!(links[1].state, LinkState::Up);
    wait_until(|| n1.links()[0].last_error.is_some()).await;
    assert_ne!(n1.links()[0].state, LinkState::Up);
}

#[tokio::test]
async fn traffic_moves_to_the_second_link_when_the_first_goes_silent() {
    // n2 listens on two addresses; n1's first link to n2 goes through a relay we can cut.
    let (l1, l2a, l2b) = (listener().await, listener().await, listener().await);
    let relay = listener().await;
    let relay_addr = relay.local_addr().unwrap();
    let (addr1, addr2a, addr2b) = (
        l1.local_addr().unwrap(),
        l2a.local_addr().unwrap(),
        l2b.local_addr().unwrap(),
    );
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(run_relay(relay, addr2a, cut.clone(), None));
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[relay_addr, addr2b])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2a, l2b],
        Arc::new(Echo::default()),
    )
    .unwrap();
    wait_until(|| n1.links().iter().all(|link| link.state == LinkState::Up)).await;
    n1.call("n2", Bytes::from_static(b"a"), CALL_TIMEOUT)
        .await
        .unwrap();
    cut.store(true, Ordering::SeqCst);
    let started = Instant::now();
    wait_until(|| n1.links()[0].state == LinkState::Down).await;
    let detected = started.elapsed();
    let answer = n1
        .call("n2", Bytes::from_static(b"b"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:b");
    assert!(
        detected < Duration::from_secs(2),
        "link loss noticed after {detected:?}"
    );
    println!("silent link detected down after {detected:?} (link_timeout 250 ms)");
}

#[tokio::test]
async fn restarted_peer_is_reconnected() {
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    n1.call("n2", Bytes::from_static(b"1"), CALL_TIMEOUT)
        .await
        .unwrap();
    n2.shutdown();
    drop(n2);
    wait_until(|| n1.links()[0].state == LinkState::Down).await;
    let l2 = TcpListener::bind(addr2).await.unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    wait_until(|| n1.is_connected("n2")).await;
    let answer = n1
        .call("n2", Bytes::from_static(b"2"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:2");
}

#[tokio::test]
async fn restarted_peer_is_redialed_without_waiting_for_backoff() {
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    drop(l2);
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    // n2 is down for a while: n1's backoff grows to its 1 s ceiling.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let l2 = TcpListener::bind(addr2).await.unwrap();
    let started = Instant::now();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    wait_until(|| n1.links()[0].state == LinkState::Up).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(400),
        "n1 redialed after {took:?}"
    );
}

#[tokio::test]
async fn shutdown_ends_calls_in_progress_at_once() {
    struct Slow;
    impl Handler for Slow {
        fn handle(&self, _from: &str, _payload: Bytes) -> BoxFuture<'_, Option<Bytes>> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                None
            })
        }
    }
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Slow),
    )
    .unwrap();
    let pending = tokio::spawn({
        let n1 = n1.clone();
        async move {
            n1.call("n2", Bytes::from_static(b"x"), Duration::from_secs(20))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    n1.shutdown();
    let err = pending.await.unwrap().unwrap_err();
    assert!(matches!(err, RpcError::ConnectionLost { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn removed_peer_is_refused_afterwards() {
    let pair = pair().await;
    pair.n2
        .call("n1", Bytes::from_static(b"1"), CALL_TIMEOUT)
        .await
        .unwrap();
    pair.n1.set_peers(vec![]);
    let err = pair
        .n1
        .call("n2", Bytes::new(), CALL_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::UnknownPeer { .. }), "{err}");
    // n2's open connection is closed at its next message, and its redials are refused.
    let err = pair
        .n2
        .call("n1", Bytes::from_static(b"2"), Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RpcError::ConnectionLost { .. } | RpcError::NotConnected { .. }
        ),
        "{err}"
    );
    let err = pair
        .n2
        .call("n1", Bytes::from_static(b"3"), Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in its node list"), "{err}");
    assert_eq!(pair.h1.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn large_frame_on_a_slow_link_keeps_the_link_up() {
    // 3 MB through a 4 MB/s relay takes ~0.75 s, three times the link timeout: the link
    // must count bytes in transit as life, not only whole frames.
    let (l1, l2) = (listener().await, listener().await);
    let relay = listener().await;
    let relay_addr = relay.local_addr().unwrap();
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(run_relay(relay, addr2, cut, Some(4_000_000)));
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[relay_addr])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    n1.call("n2", Bytes::from_static(b"warm"), CALL_TIMEOUT)
        .await
        .unwrap();
    let changes_before = n1.links()[0].changes;
    let big = Bytes::from(vec![b'a'; 3_000_000]);
    let answer = n1.call("n2", big, Duration::from_secs(20)).await.unwrap();
    assert_eq!(answer.len(), 3_000_003);
    assert_eq!(
        n1.links()[0].changes,
        changes_before,
        "the link flapped during the transfer"
    );
}

/// Captures tracing output of the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn count(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .matches(needle)
            .count()
    }
}

#[tokio::test]
async fn repeated_wrong_key_dials_are_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // n1 lists n2 at a dead address, so only n1's listener sees the intruder.
    let dead = listener().await.local_addr().unwrap();
    let (l1, l2) = (listener().await, listener().await);
    let addr1 = l1.local_addr().unwrap();
    let h1 = Arc::new(Echo::default());
    let _n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[dead])], key(1)),
        vec![l1],
        h1.clone(),
    )
    .unwrap();
    let intruder = Transport::start_on(
        config("n2", vec![peer("n1", &[addr1])], key(2)),
        vec![l2],
        Arc::new(Echo::default()),
    )
    .unwrap();
    // Let the intruder redial several times (backoff 50 ms, doubling).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let attempts = intruder.links()[0].changes;
    assert_eq!(attempts, 0, "the intruder's link never came up");
    assert_eq!(
        captured.count("refused connection"),
        1,
        "{}",
        String::from_utf8_lossy(&captured.0.lock().unwrap())
    );
    assert_eq!(captured.count("cannot connect"), 2, "one line per side"); // intruder and n1 (dead)
    assert_eq!(h1.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn panicking_handler_fails_the_call_at_once() {
    struct Panics;
    impl Handler for Panics {
        fn handle(&self, _from: &str, _payload: Bytes) -> BoxFuture<'_, Option<Bytes>> {
            Box::pin(async { panic!("handler bug") })
        }
    }
    let (l1, l2) = (listener().await, listener().await);
    let (addr1, addr2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let n1 = Transport::start_on(
        patient(config("n1", vec![peer("n2", &[addr2])], key(1))),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let _n2 = Transport::start_on(
        patient(config("n2", vec![peer("n1", &[addr1])], key(1))),
        vec![l2],
        Arc::new(Panics),
    )
    .unwrap();
    let started = Instant::now();
    let err = n1
        .call("n2", Bytes::from_static(b"x"), CALL_TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::NoReply { .. }), "{err}");
    assert!(started.elapsed() < CALL_TIMEOUT / 2);
    // The connection survives the panic.
    assert!(n1.is_connected("n2"));
}

#[tokio::test]
async fn missing_link_address_does_not_stop_the_transport() {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails.
    let l1 = listener().await;
    let addr1 = l1.local_addr().unwrap();
    let free = listener().await.local_addr().unwrap();
    let absent: SocketAddr = "192.0.2.1:7400".parse().unwrap();
    let n1 = Transport::start_on(
        config("n1", vec![peer("n2", &[free, absent])], key(1)),
        vec![l1],
        Arc::new(Echo::default()),
    )
    .unwrap();
    let mut c2 = config("n2", vec![peer("n1", &[addr1])], key(1));
    c2.listen = vec![free, absent];
    let n2 = Transport::start(c2, Arc::new(Echo::default()))
        .await
        .unwrap();
    assert_eq!(n2.local_addrs(), &[free]);
    let answer = n1
        .call("n2", Bytes::from_static(b"x"), CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(answer.as_ref(), b"n1:x");
    // With no address at all, start fails and names the address.
    let mut c3 = config("n3", vec![], key(1));
    c3.listen = vec![absent];
    let err = Transport::start(c3, Arc::new(Echo::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("192.0.2.1:7400"), "{err}");
}

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
