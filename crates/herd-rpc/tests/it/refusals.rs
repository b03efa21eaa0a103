//! Peers and bytes the transport refuses: wrong key, other cluster, unknown node, garbage,
//! oversized frames; each refused before any handler runs and logged once.

use super::*;

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
    let n1 = start(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        l1,
        h1.clone(),
    );
    let intruder = start(
        config("n2", vec![peer("n1", &[addr1])], key(2)),
        l2,
        h2.clone(),
    );
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
    let n1 = start(config("n1", vec![peer("n2", &[addr2])], key(1)), l1, h1);
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
    let _n1 = start(
        config("n1", vec![peer("n2", &[dead])], key(1)),
        l1,
        h1.clone(),
    );
    let intruder = start(
        config("n2", vec![peer("n1", &[addr1])], key(2)),
        l2,
        Arc::new(Echo::default()),
    );
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
