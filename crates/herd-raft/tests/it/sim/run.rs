//! One simulated run: three Raft nodes over `MemNet` in tokio's paused time, driven by a seeded
//! schedule of 40 fault steps, then a calm phase (heal, restart, re-add every voter, one last
//! write) and the end check that every acknowledged write is on every node.
//!
//! Every step, proposal and applied range goes to the trace; the checker runs every 10 ms of
//! simulated time. Violations come back as `Err` (the first one ends the run). Files: each
//! node's journal and snapshot in the cluster's temp dir.

use std::sync::Arc;
use std::time::Duration;

use herd_raft::mem_net::{Fate, Message, Observer};

use herd_raft::{Command, Consensus, ConsensusError, RaftNode};

use super::check::{Checker, Rules};
use crate::harness::{Cluster, herd_node};
use crate::trace::Trace;

const STEPS: u32 = 40;

/// The schedule's generator (splitmix64, like `MemNet`'s).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).expect("n is small")
    }
}

struct Sim {
    cluster: Cluster,
    trace: Trace,
    checker: Checker,
    acknowledged: Vec<String>,
}

pub(crate) async fn run(seed: u64, rules: Rules, trace: Trace) -> Result<(), String> {
    trace.begin();
    trace.record(format_args!("seed {seed}"));
    let cluster = Cluster::start_observed(3, seed, (200, 300), Some(observer(&trace))).await;
    for i in 0..3 {
        watch_applied(&trace, cluster.node(i), &cluster.names[i]);
    }
    let mut sim = Sim {
        cluster,
        trace,
        checker: Checker::new(rules),
        acknowledged: Vec::new(),
    };
    let mut rng = Rng(seed);
    for step in 0..STEPS {
        sim.step(step, &mut rng).await;
        let wait_ms = 50 + rng.below(700);
        sim.run_for(wait_ms).await?;
    }
    sim.calm().await?;
    sim.check_acknowledged()
}

impl Sim {
    /// One fault or proposal drawn from `rng`.
    async fn step(&mut self, step: u32, rng: &mut Rng) {
        let names = self.cluster.names.clone();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        let trace = self.trace.clone();
        match rng.below(12) {
            0 => {
                let i = rng.below(3);
                if self.cluster.nodes[i].is_some()
                    && self.cluster.nodes.iter().flatten().count() > 1
                {
                    trace.record(format_args!("step {step}: crash {}", all[i]));
                    self.cluster.crash(i).await;
                }
            }
            1 => {
                let i = rng.below(3);
                if self.cluster.nodes[i].is_none() {
                    trace.record(format_args!("step {step}: restart {}", all[i]));
                    self.boot(i).await;
                }
            }
            2 => {
                let i = rng.below(3);
                trace.record(format_args!("step {step}: isolate {}", all[i]));
                self.cluster.net.isolate(&[all[i]], &all);
            }
            3 => {
                let (a, b) = (rng.below(3), rng.below(3));
                if a != b {
                    trace.record(format_args!("step {step}: cut {}->{}", all[a], all[b]));
                    self.cluster.net.cut(all[a], all[b]);
                }
            }
            4 => {
                trace.record(format_args!("step {step}: heal"));
                self.cluster.net.heal();
            }
            5 => {
                let (loss, delay) = (rng.below(100), rng.below(30));
                trace.record(format_args!(
                    "step {step}: loss {loss}/1000 delay <={delay} ms"
                ));
                self.cluster.net.set_faults(loss as u32, delay as u64);
            }
            6 => self.remove(step, all[rng.below(3)]).await,
            7 => {
                self.readd(&format!("step {step}")).await;
            }
            _ => {
                self.propose(&format!("k{step}")).await;
            }
        }
    }

    /// Lets simulated time pass, checking the invariants every 10 ms.
    async fn run_for(&mut self, ms: usize) -> Result<(), String> {
        for _ in 0..ms / 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if let Err(violation) = self.checker.observe(&self.cluster, &self.trace) {
                self.trace.record(format_args!("VIOLATION {violation}"));
                return Err(violation);
            }
        }
        Ok(())
    }

    async fn boot(&mut self, i: usize) {
        self.cluster
            .boot(i)
            .await
            .expect("restart reads its own files");
        watch_applied(&self.trace, self.cluster.node(i), &self.cluster.names[i]);
    }

    /// Removes a voter: at most one out at a time, so two of three remain; never the leader
    /// itself (the daemon refuses that too).
    async fn remove(&mut self, step: u32, name: &str) {
        let Some(leader) = leader(&self.cluster) else {
            return;
        };
        if leader.status().voters.len() != 3 || leader.status().name == name {
            return;
        }
        let limit = Duration::from_secs(2);
        let result = tokio::time::timeout(limit, leader.remove_node(name)).await;
        self.trace.record(format_args!(
            "step {step}: remove {name} via {}: {}",
            leader.status().name,
            outcome(result)
        ));
    }

    /// Heal, no loss, everyone up and a voter again; one last write must commit.
    async fn calm(&mut self) -> Result<(), String> {
        self.trace.record("calm: heal, restart, re-add");
        self.cluster.net.heal();
        self.cluster.net.set_faults(0, 0);
        for i in 0..3 {
            if self.cluster.nodes[i].is_none() {
                self.boot(i).await;
            }
        }
        // Membership changes the run gave up waiting for still finish; wait them out too.
        let mut all_voters = false;
        for _ in 0..50 {
            if self.readd("calm").await {
                self.run_for(3000).await?;
                if self.readd("calm").await {
                    all_voters = true;
                    break;
                }
            }
            self.run_for(100).await?;
        }
        if !all_voters {
            return Err("a removed node could not be added back".into());
        }
        for _ in 0..100 {
            if self.propose("final").await {
                return self.run_for(15_000).await;
            }
            self.run_for(100).await?;
        }
        Err("no leader accepted a write after healing".into())
    }

    /// Adds a node that is not a voter back (learner, then voter), restarting it first if it
    /// is down. True when every node is a voter.
    async fn readd(&mut self, at: &str) -> bool {
        let Some(voters) = confirmed_leader(&self.cluster)
            .await
            .map(|l| l.status().voters)
        else {
            return false;
        };
        let names = self.cluster.names.clone();
        let Some(i) = (0..names.len()).find(|i| !voters.iter().any(|v| v.name == names[*i])) else {
            return true;
        };
        if self.cluster.nodes[i].is_none() {
            self.trace
                .record(format_args!("{at}: restart {} to re-add it", names[i]));
            self.boot(i).await;
        }
        let Some(leader) = confirmed_leader(&self.cluster).await else {
            return false;
        };
        let node = herd_node(&self.cluster.names[i]);
        let result = tokio::time::timeout(Duration::from_secs(3), leader.add_node(node)).await;
        self.trace.record(format_args!(
            "{at}: add {} via {}: {}",
            self.cluster.names[i],
            leader.status().name,
            outcome(result)
        ));
        false
    }

    /// Proposes one write to whoever thinks it leads; true when it was acknowledged.
    async fn propose(&mut self, key: &str) -> bool {
        let Some(leader) = leader(&self.cluster) else {
            return false;
        };
        let command = Command::SetNodeAttr {
            node: "sim".into(),
            name: key.into(),
            value: Some(key.into()),
        };
        let result = tokio::time::timeout(Duration::from_secs(2), leader.propose(command))
            .await
            .map(|r| r.map(|_| ()));
        let ok = matches!(result, Ok(Ok(())));
        self.trace.record(format_args!(
            "propose {key} via {}: {}",
            leader.status().name,
            outcome(result)
        ));
        if ok {
            self.acknowledged.push(key.to_string());
        }
        ok
    }

    /// Every acknowledged write is on every node.
    fn check_acknowledged(&self) -> Result<(), String> {
        for node in self.cluster.nodes.iter().flatten() {
            let attrs = node.applied().state.node_attrs.get("sim").cloned();
            let attrs = attrs.unwrap_or_default();
            if let Some(key) = self.acknowledged.iter().find(|k| !attrs.contains_key(*k)) {
                let violation = format!("committed write {key} missing on {}", node.status().name);
                self.trace.record(format_args!("VIOLATION {violation}"));
                return Err(violation);
            }
        }
        self.trace.record(format_args!(
            "end: {} acknowledged writes on every node",
            self.acknowledged.len()
        ));
        Ok(())
    }
}

/// Traces every message: `msg FROM>TO LEN DIGEST` and `+DELAY` or why it was dropped.
fn observer(trace: &Trace) -> Observer {
    let trace = trace.clone();
    Arc::new(move |m: Message<'_>| {
        let fate = match m.fate {
            Fate::Delivered(delay) => format!("+{}ms", delay.as_millis()),
            Fate::Cut => "cut".into(),
            Fate::Lost => "lost".into(),
            Fate::Down => "down".into(),
        };
        let digest = crate::trace::digest_bytes(m.payload) as u32;
        trace.record(format_args!(
            "msg {}>{} {}B {digest:08x} {fate}",
            m.from,
            m.to,
            m.payload.len()
        ));
    })
}

/// Traces every applied range of one node (a task that ends with the node's state machine).
fn watch_applied(trace: &Trace, node: &RaftNode, name: &str) {
    let (trace, name) = (trace.clone(), name.to_string());
    let mut applied = node.watch_applied();
    tokio::spawn(async move {
        let mut last = applied.borrow_and_update().last_applied.map(|l| l.index);
        while applied.changed().await.is_ok() {
            let now = applied.borrow_and_update().clone();
            let Some(id) = now.last_applied else { continue };
            let keys = now.state.node_attrs.get("sim").map_or(0, |a| a.len());
            let from = last.map_or(0, |l| l + 1);
            trace.record(format_args!(
                "{name} applied {from}..={}@{} ({keys} keys)",
                id.index, id.leader_id.term
            ));
            last = Some(id.index);
        }
    });
}

fn outcome(result: Result<Result<(), ConsensusError>, tokio::time::error::Elapsed>) -> String {
    match result {
        Ok(Ok(())) => "ok".into(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "timed out".into(),
    }
}

/// The leader a quorum confirms right now (a removed or cut-off node may still think it leads).
async fn confirmed_leader(cluster: &Cluster) -> Option<&RaftNode> {
    let mut leaders: Vec<&RaftNode> = cluster
        .nodes
        .iter()
        .flatten()
        .filter(|n| n.status().is_leader)
        .collect();
    leaders.sort_by_key(|n| std::cmp::Reverse(n.status().term));
    for node in leaders {
        let confirm = tokio::time::timeout(Duration::from_secs(1), node.confirm_leadership()).await;
        if let Ok(Ok(_)) = confirm {
            return Some(node);
        }
    }
    None
}

fn leader(cluster: &Cluster) -> Option<&RaftNode> {
    cluster
        .nodes
        .iter()
        .flatten()
        .find(|n| n.status().is_leader)
}
