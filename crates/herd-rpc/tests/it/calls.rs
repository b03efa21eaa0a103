//! Calls and one-way sends between two real transports: answers, sizes, concurrency,
//! handlers that fail.

use super::*;

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
    let Pair { n1, n2: _n2, .. } = pair_on(l1, l2, |addr2| vec![addr2]);
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
