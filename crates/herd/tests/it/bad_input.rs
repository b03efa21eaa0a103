//! Bad input against real agents (issue 4): a peer with the wrong cluster key, garbage on the
//! port, an oversized handshake and an oversized frame, and a node that is not in the list.
//! Each is refused with one log line on the agent (however often it is repeated), no agent
//! crashes, and the cluster's state does not change (same DC, term, epochs, incarnations).
//!
//! The wrong-key peer is a real `herd agent` with its own key; the other attackers are raw
//! TCP sockets and herd-rpc transports (the oversized frame needs the real key, like a buggy
//! peer would have). I/O: processes, loopback sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use herd_rpc::{BoxFuture, ClusterKey, Handler, Peer, Transport, TransportConfig};
use serde_json::Value;

use crate::agents::{Cluster, HERD, inner, wait_formed};

/// What must not change: DC, term, epochs, and every node's state and incarnation.
fn fingerprint(cluster: &Cluster, i: usize) -> Value {
    let status = inner(cluster.fast_status(i)).expect("status from a running agent");
    let nodes: Vec<Value> = status["nodes"]
        .as_array()
        .expect("nodes array")
        .iter()
        .map(|n| serde_json::json!([n["name"], n["state"], n["incarnation"], n["role"]]))
        .collect();
    serde_json::json!({
        "dc": status["dc"], "dc_epoch": status["dc_epoch"], "term": status["term"],
        "config_epoch": status["config_epoch"], "quorate": status["quorate"], "nodes": nodes,
    })
}

fn node_addr(cluster: &Cluster, i: usize) -> SocketAddr {
    let config = herd_config::Config::load(&cluster.agents[i].config).expect("test config loads");
    config.local_node().addrs[0]
}

/// Sends `bytes` on a fresh connection and waits until the agent closes it.
fn send_raw(addr: SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).expect("connect to the agent");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = stream.write_all(bytes);
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!("the agent answered garbage with {n} bytes"),
    }
}

struct Never;

impl Handler for Never {
    fn handle(&self, _from: &str, _payload: Bytes) -> BoxFuture<'_, Option<Bytes>> {
        Box::pin(async { None })
    }
}

/// A herd-rpc transport calling itself `name`, dialing node n1 at `target`.
fn attacker(name: &str, target: SocketAddr, key: ClusterKey, frame_bytes_max: usize) -> Transport {
    let peers = vec![Peer {
        name: "n1".into(),
        addrs: vec![target],
    }];
    let mut config = TransportConfig::new("test", name, vec![], peers, key);
    config.frame_bytes_max = frame_bytes_max;
    Transport::start_on(config, vec![], Arc::new(Never)).expect("attacker transport")
}

/// A real agent with its own key, posing as n2 on a fresh port.
fn start_impostor(cluster: &Cluster) -> std::process::Child {
    let dir = cluster.dir.path().join("impostor");
    std::fs::create_dir_all(&dir).expect("impostor dir");
    let key = dir.join("other.key");
    let out = Command::new(HERD)
        .arg("keygen")
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(out.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let n2_addr = node_addr(cluster, 1).to_string();
    let text = std::fs::read_to_string(&cluster.agents[1].config).expect("n2 config");
    let mut text = text.replace(&n2_addr, &format!("127.0.0.1:{port}"));
    text = text
        .lines()
        .map(|line| {
            if line.starts_with("key_file") {
                format!("key_file = \"{}\"", key.display())
            } else if line.starts_with("data_dir") {
                format!("data_dir = \"{}\"", dir.join("data").display())
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let config = dir.join("herd.toml");
    std::fs::write(&config, text).expect("impostor config");
    let log = std::fs::File::create(dir.join("log")).expect("impostor log");
    Command::new(HERD)
        .args(["agent", "--config"])
        .arg(&config)
        .env_remove("HERD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start impostor")
}

#[test]
fn bad_peers_are_refused_with_one_log_line_and_change_nothing() {
    let mut cluster = Cluster::loopback(3);
    wait_formed(&mut cluster, Duration::from_secs(15));
    let before: Vec<Value> = (0..3).map(|i| fingerprint(&cluster, i)).collect();
    let n1 = node_addr(&cluster, 0);
    let key = ClusterKey::load(
        &herd_config::Config::load(&cluster.agents[0].config)
            .expect("config")
            .key_file,
    )
    .expect("cluster key");

    // A real agent with another key, redialing for two seconds.
    let mut impostor = start_impostor(&cluster);
    // Garbage, several times: an HTTP request, binary noise, zeros.
    for _ in 0..3 {
        send_raw(n1, b"GET / HTTP/1.1\r\nHost: herd\r\n\r\n");
        send_raw(
            n1,
            &(0..4096u32)
                .map(|i| (i * 7919 % 251) as u8)
                .collect::<Vec<_>>(),
        );
    }
    // A handshake that announces 65535 bytes (the limit is 1 KiB), twice.
    send_raw(n1, b"HERD\x01\xff\xff");
    send_raw(n1, b"HERD\x01\xff\xffxxxx");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        // A node that is not in the list, with the right key; it redials for a while.
        let stranger = attacker("n9", n1, key.clone(), herd_rpc::FRAME_BYTES_MAX);
        let err = stranger
            .call("n1", Bytes::from_static(b"x"), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not in its node list"), "{err}");
        // A peer with the key sending a frame over the agent's 32 MiB limit.
        let buggy = attacker("n2", n1, key.clone(), 2 * herd_rpc::FRAME_BYTES_MAX);
        let huge = Bytes::from(vec![0u8; herd_rpc::FRAME_BYTES_MAX + 1024]);
        let err = buggy
            .call("n1", huge, Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(
            matches!(err, herd_rpc::RpcError::ConnectionLost { .. }),
            "{err}"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stranger.shutdown();
        buggy.shutdown();
    });
    let _ = impostor.kill();
    let _ = impostor.wait();

    let log = cluster.log(0);
    let refusals = |needle: &str| {
        log.lines()
            .filter(|line| line.contains("refused connection") && line.contains(needle))
            .count()
    };
    assert_eq!(
        refusals("does not hold this cluster's key"),
        1,
        "wrong key\n{log}"
    );
    assert_eq!(refusals("not a herd peer"), 1, "garbage\n{log}");
    assert_eq!(
        refusals("handshake message of 65535 bytes"),
        1,
        "oversized handshake\n{log}"
    );
    assert_eq!(
        refusals("'n9' is not in the node list"),
        1,
        "unknown node\n{log}"
    );
    assert_eq!(
        refusals("frame from n2 refused"),
        1,
        "oversized frame\n{log}"
    );
    for i in 0..3 {
        let agent = cluster.agents[i].child.as_mut().expect("agent started");
        assert!(
            agent.try_wait().expect("wait").is_none(),
            "agent {} exited",
            i + 1
        );
        assert!(
            !cluster.log(i).contains("panicked"),
            "agent {} panicked",
            i + 1
        );
    }
    let after: Vec<Value> = (0..3).map(|i| fingerprint(&cluster, i)).collect();
    assert_eq!(before, after, "bad input changed the cluster state");
}
