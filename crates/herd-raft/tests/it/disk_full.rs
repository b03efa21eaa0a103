//! A full disk under the Raft log: one node on a small tmpfs (root only; skipped with a note
//! otherwise) writes until the file system is full. Raft must stop with the fault recorded,
//! never panic, and every committed entry must replay from the journal once there is room.
//! I/O: mount/umount of a tmpfs (unmounted on drop, also when the test fails), files.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;
use std::time::Duration;

use herd_raft::mem_net::MemNet;
use herd_raft::{Command, Consensus, DiskFaultKind, HerdNode, RaftConfig, RaftNode};

use crate::harness::Handler;

/// A tmpfs mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let opts = format!("size={size}");
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", &opts, "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(self.dir.path()).output();
    }
}

fn node(name: &str) -> HerdNode {
    HerdNode {
        name: name.into(),
        addrs: vec![],
        witness: false,
    }
}

async fn open(net: &MemNet, dir: PathBuf) -> RaftNode {
    let config = RaftConfig {
        cluster: "test".into(),
        node: node("n1"),
        dir,
        heartbeat_ms: 50,
        election_timeout_min_ms: 150,
        election_timeout_max_ms: 300,
        // No snapshot during the test: every entry must come back from the journal.
        snapshot_logs: 100_000,
    };
    let raft = RaftNode::open(config, net.transport("n1")).await.unwrap();
    net.register("n1", Arc::new(Handler(raft.clone())));
    raft
}

async fn leader(raft: &RaftNode) {
    for _ in 0..100 {
        if raft.status().is_leader {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no leader: {:?}", raft.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_stops_raft_with_the_fault_and_loses_no_committed_entry() {
    let Some(tmpfs) = Tmpfs::mount("256k") else {
        return;
    };
    let dir = tmpfs.path().join("raft");
    let net = MemNet::new(1);
    let raft = open(&net, dir.clone()).await;
    raft.initialize(vec![node("n1")]).await.unwrap();
    leader(&raft).await;

    // 1 KiB per entry: a 256 KiB file system is full after a few hundred.
    let mut committed = 0u64;
    let mut failed = None;
    for i in 0..2000u64 {
        let xml = format!("<cib epoch='{i}'>{}</cib>", "x".repeat(1024));
        let proposed = tokio::time::timeout(
            Duration::from_secs(2),
            raft.propose(Command::SetCib { xml }),
        )
        .await;
        match proposed {
            Ok(Ok(_)) => committed = i + 1,
            Ok(Err(e)) => {
                failed = Some(e.to_string());
                break;
            }
            Err(_) => {
                failed = Some("no answer in 2 s".into());
                break;
            }
        }
    }
    assert!(failed.is_some(), "the disk never filled");
    assert!(
        committed > 10,
        "only {committed} entries before the disk filled"
    );

    let report = raft.disk_report();
    let fault = report.fault.expect("the failed write is recorded");
    assert_eq!(fault.kind, DiskFaultKind::Full, "{fault}");
    assert!(fault.to_string().contains("disk full"), "{fault}");
    assert!(report.fsync_p99.is_some() && report.writes > 10);
    let status = raft.status();
    assert!(status.fatal.is_some(), "raft stops on a storage error");
    assert!(!status.is_leader, "a stopped raft does not lead");
    raft.shutdown().await;
    net.unregister("n1");

    // Room again (a copy on the ordinary disk): the journal replays whole, nothing committed
    // is missing.
    let roomy = tempfile::tempdir().unwrap();
    for file in ["log", "snapshot"] {
        if dir.join(file).exists() {
            std::fs::copy(dir.join(file), roomy.path().join(file)).unwrap();
        }
    }
    drop(tmpfs);
    let net = MemNet::new(2);
    let raft = open(&net, roomy.path().to_path_buf()).await;
    leader(&raft).await;
    raft.confirm_leadership().await.unwrap();
    let applied = raft.applied();
    assert!(
        applied.state.config_epoch >= committed,
        "committed {committed}, replayed {}",
        applied.state.config_epoch
    );
    let xml = format!("<cib epoch='{}'>", applied.state.config_epoch - 1);
    assert!(applied.state.cib_xml.starts_with(&xml));
    raft.shutdown().await;
}
