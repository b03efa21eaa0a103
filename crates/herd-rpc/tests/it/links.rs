//! Links: failover between two addresses, silent links, restarted and removed peers,
//! shutdown, slow links. `run_relay` (in main.rs) stands between nodes to cut a link.

use super::*;

#[tokio::test]
async fn dead_first_address_fails_over_to_the_second() {
    // An address that refuses connections: bind, note the port, close.
    let dead = listener().await.local_addr().unwrap();
    let (l1, l2) = (listener().await, listener().await);
    let Pair { n1, n2: _n2, .. } = pair_on(l1, l2, |addr2| vec![dead, addr2]);
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
    let n1 = start(
        config("n1", vec![peer("n2", &[relay_addr, addr2b])], key(1)),
        l1,
        Arc::new(Echo::default()),
    );
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
    let addr1 = l1.local_addr().unwrap();
    let Pair { n1, n2, addr2, .. } = pair_on(l1, l2, |addr2| vec![addr2]);
    n1.call("n2", Bytes::from_static(b"1"), CALL_TIMEOUT)
        .await
        .unwrap();
    n2.shutdown();
    drop(n2);
    wait_until(|| n1.links()[0].state == LinkState::Down).await;
    let l2 = TcpListener::bind(addr2).await.unwrap();
    let _n2 = start(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        l2,
        Arc::new(Echo::default()),
    );
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
    let n1 = start(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        l1,
        Arc::new(Echo::default()),
    );
    // n2 is down for a while: n1's backoff grows to its 1 s ceiling.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let l2 = TcpListener::bind(addr2).await.unwrap();
    let started = Instant::now();
    let _n2 = start(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        l2,
        Arc::new(Echo::default()),
    );
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
    let n1 = start(
        config("n1", vec![peer("n2", &[addr2])], key(1)),
        l1,
        Arc::new(Echo::default()),
    );
    let _n2 = start(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        l2,
        Arc::new(Slow),
    );
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
    let n1 = start(
        config("n1", vec![peer("n2", &[relay_addr])], key(1)),
        l1,
        Arc::new(Echo::default()),
    );
    let _n2 = start(
        config("n2", vec![peer("n1", &[addr1])], key(1)),
        l2,
        Arc::new(Echo::default()),
    );
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

#[tokio::test]
async fn missing_link_address_does_not_stop_the_transport() {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: binding it fails.
    let l1 = listener().await;
    let addr1 = l1.local_addr().unwrap();
    let free = listener().await.local_addr().unwrap();
    let absent: SocketAddr = "192.0.2.1:7400".parse().unwrap();
    let n1 = start(
        config("n1", vec![peer("n2", &[free, absent])], key(1)),
        l1,
        Arc::new(Echo::default()),
    );
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
