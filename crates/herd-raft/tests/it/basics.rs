//! Formation, leader failover, restart and damaged files, on three in-process nodes.

use std::time::Duration;

use herd_raft::{Command, Consensus, ConsensusError, StoreError};

use crate::harness::Cluster;

async fn set_cib(cluster: &Cluster, leader: usize, xml: &str) {
    cluster
        .node(leader)
        .propose(Command::SetCib { xml: xml.into() })
        .await
        .unwrap();
}

#[tokio::test]
async fn three_nodes_elect_a_leader_and_replicate() {
    let cluster = Cluster::start(3, 1).await;
    let leader = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader");
    set_cib(&cluster, leader, "<cib/>").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..3 {
        assert_eq!(
            cluster.node(i).applied().state.cib_xml,
            "<cib/>",
            "node {i}"
        );
    }
}

#[tokio::test]
async fn leader_crash_elects_a_new_leader_and_keeps_committed_state() {
    let mut cluster = Cluster::start(3, 2).await;
    let old = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader");
    set_cib(&cluster, old, "<cib epoch='1'/>").await;
    cluster.crash(old).await;
    let new = cluster
        .leader(Duration::from_secs(3))
        .await
        .expect("a new leader");
    assert_ne!(old, new);
    // A new leader applies the old term's entries once it commits one of its own: wait.
    for _ in 0..100 {
        if cluster.node(new).applied().state.cib_xml == "<cib epoch='1'/>" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        cluster.node(new).applied().state.cib_xml,
        "<cib epoch='1'/>"
    );
}

#[tokio::test]
async fn full_restart_keeps_the_configuration() {
    let mut cluster = Cluster::start(3, 3).await;
    let leader = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader");
    // More entries than snapshot_logs, so the restart goes through a snapshot and a log.
    for i in 0..30 {
        set_cib(&cluster, leader, &format!("<cib epoch='{i}'/>")).await;
    }
    for i in 0..3 {
        cluster.crash(i).await;
    }
    for i in 0..3 {
        cluster.boot(i).await.unwrap();
    }
    let leader = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader after restart");
    cluster.node(leader).confirm_leadership().await.unwrap();
    let state = &cluster.node(leader).applied().state;
    assert_eq!(state.cib_xml, "<cib epoch='29'/>");
    assert_eq!(state.config_epoch, 30);
}

#[tokio::test]
async fn corrupted_log_is_refused_naming_the_file() {
    let mut cluster = Cluster::start(3, 4).await;
    let leader = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader");
    set_cib(&cluster, leader, "<cib/>").await;
    cluster.crash(2).await;
    let log = cluster.dir_of(2).join("log");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&log, &bytes).unwrap();
    let err = cluster.boot(2).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            ConsensusError::Store(StoreError::Corrupt { .. } | StoreError::Decode { .. })
        ),
        "{message}"
    );
    assert!(message.contains(&log.display().to_string()), "{message}");
    // Truncation inside a record is refused too.
    std::fs::write(&log, &bytes[..bytes.len() - 3]).unwrap();
    let message = cluster.boot(2).await.unwrap_err().to_string();
    assert!(
        message.contains("truncated") || message.contains("checksum"),
        "{message}"
    );
}

#[tokio::test]
async fn node_that_missed_purged_entries_catches_up_by_snapshot() {
    let mut cluster = Cluster::start(3, 5).await;
    let leader = cluster
        .leader(Duration::from_secs(5))
        .await
        .expect("a leader");
    let lagger = (leader + 1) % 3;
    cluster.crash(lagger).await;
    // Well past snapshot_logs (20) plus the kept tail, so the leader must send a snapshot.
    for i in 0..200 {
        set_cib(&cluster, leader, &format!("<cib epoch='{i}'/>")).await;
    }
    cluster.boot(lagger).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cluster.node(lagger).applied().state.cib_xml != "<cib epoch='199'/>" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no catch-up: {:?}",
            cluster.node(lagger).status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
