//! An in-process [`RaftTransport`]: nodes of one test process call each other's handlers
//! directly, with partitions, one-way link cuts, message loss and delays injected on demand.
//!
//! It serves unit tests and the deterministic simulation, and stands in for herd-rpc where a
//! real network is not wanted. Loss and delays come from a seeded generator, so a schedule
//! replays from its seed; [`MemNet::observe`] reports every message and its fate (the
//! simulation traces them). No sockets; time is tokio's (pause it for simulated time).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::network::{BoxFuture, NetError, RaftTransport};
use crate::types::HerdNode;

/// Serves the calls addressed to one node.
pub trait MemHandler: Send + Sync + 'static {
    fn handle(&self, from: String, payload: Vec<u8>) -> BoxFuture<'_, Vec<u8>>;
}

/// What became of one message (a request or its reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Dropped by a cut link.
    Cut,
    /// Dropped by random loss.
    Lost,
    /// The receiver is down (not registered).
    Down,
    /// Delivered after this delay.
    Delivered(Duration),
}

/// One message as [`MemNet::observe`] reports it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub payload: &'a [u8],
    pub fate: Fate,
}

/// Called with every message routed; see [`MemNet::observe`].
pub type Observer = Arc<dyn Fn(Message<'_>) + Send + Sync>;

#[derive(Default)]
struct Inner {
    handlers: BTreeMap<String, Arc<dyn MemHandler>>,
    /// (from, to) pairs whose messages are dropped.
    cut: BTreeSet<(String, String)>,
    loss_per_mille: u32,
    delay_ms_max: u64,
    rng_state: u64,
    observer: Option<Observer>,
}

/// The shared in-process network.
#[derive(Clone, Default)]
pub struct MemNet {
    inner: Arc<Mutex<Inner>>,
}

/// One node's view of the [`MemNet`].
pub struct MemTransport {
    net: MemNet,
    from: String,
}

impl MemNet {
    /// A network whose loss and delay draws come from `seed`.
    pub fn new(seed: u64) -> MemNet {
        let net = MemNet::default();
        net.lock().rng_state = seed ^ 0x9e37_79b9_7f4a_7c15;
        net
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Attaches (or re-attaches after a crash) the handler of `name`.
    pub fn register(&self, name: &str, handler: Arc<dyn MemHandler>) {
        self.lock().handlers.insert(name.to_string(), handler);
    }

    /// Detaches `name`: calls to it fail as unreachable (a crashed process).
    pub fn unregister(&self, name: &str) {
        self.lock().handlers.remove(name);
    }

    /// The transport `from` uses.
    pub fn transport(&self, from: &str) -> Arc<MemTransport> {
        Arc::new(MemTransport {
            net: self.clone(),
            from: from.to_string(),
        })
    }

    /// Drops messages from `from` to `to` (one way).
    pub fn cut(&self, from: &str, to: &str) {
        self.lock().cut.insert((from.to_string(), to.to_string()));
    }

    /// Separates `group` from every other node, both ways.
    pub fn isolate(&self, group: &[&str], all: &[&str]) {
        for a in group {
            for b in all.iter().filter(|b| !group.contains(b)) {
                self.cut(a, b);
                self.cut(b, a);
            }
        }
    }

    /// Removes every cut.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// Drops each message with probability `per_mille`/1000 and delays it up to `delay_ms_max`.
    pub fn set_faults(&self, per_mille: u32, delay_ms_max: u64) {
        let mut inner = self.lock();
        inner.loss_per_mille = per_mille;
        inner.delay_ms_max = delay_ms_max;
    }

    /// Calls `observer` with every message from now on (request and reply, each with its
    /// fate), in the order they are routed.
    pub fn observe(&self, observer: Observer) {
        self.lock().observer = Some(observer);
    }

    /// Decides the fate of one message: `None` = dropped, else the delay and the handler.
    fn route(
        &self,
        from: &str,
        to: &str,
        payload: &[u8],
    ) -> Option<(Duration, Arc<dyn MemHandler>)> {
        let (fate, handler, observer) = {
            let mut inner = self.lock();
            let (fate, handler) = Self::fate(&mut inner, from, to);
            (fate, handler, inner.observer.clone())
        };
        if let Some(observer) = observer {
            observer(Message {
                from,
                to,
                payload,
                fate,
            });
        }
        match fate {
            Fate::Delivered(delay) => handler.map(|h| (delay, h)),
            Fate::Cut | Fate::Lost | Fate::Down => None,
        }
    }

    fn fate(inner: &mut Inner, from: &str, to: &str) -> (Fate, Option<Arc<dyn MemHandler>>) {
        if inner.cut.contains(&(from.to_string(), to.to_string())) {
            return (Fate::Cut, None);
        }
        let draw = splitmix(&mut inner.rng_state);
        if (draw % 1000) < u64::from(inner.loss_per_mille) {
            return (Fate::Lost, None);
        }
        let delay_ms = match inner.delay_ms_max {
            0 => 0,
            max => (draw >> 20) % (max + 1),
        };
        match inner.handlers.get(to) {
            Some(handler) => (
                Fate::Delivered(Duration::from_millis(delay_ms)),
                Some(handler.clone()),
            ),
            None => (Fate::Down, None),
        }
    }

    /// One request/response between two nodes, honouring faults both ways.
    pub async fn call(
        &self,
        from: &str,
        to: &str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, NetError> {
        let (unreachable, observer) = {
            let inner = self.lock();
            (!inner.handlers.contains_key(to), inner.observer.clone())
        };
        if unreachable {
            if let Some(observer) = observer {
                let fate = Fate::Down;
                let payload = &payload;
                observer(Message {
                    from,
                    to,
                    payload,
                    fate,
                });
            }
            return Err(NetError::Unreachable {
                peer: to.to_string(),
                message: "down".into(),
            });
        }
        let attempt = async {
            let Some((delay, handler)) = self.route(from, to, &payload) else {
                std::future::pending::<()>().await;
                unreachable!("pending never completes");
            };
            tokio::time::sleep(delay).await;
            let reply = handler.handle(from.to_string(), payload).await;
            match self.route(to, from, &reply) {
                Some((delay, _)) => tokio::time::sleep(delay).await,
                None => std::future::pending::<()>().await,
            }
            reply
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| NetError::Timeout {
                peer: to.to_string(),
                timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            })
    }
}

impl RaftTransport for MemTransport {
    fn call(
        &self,
        peer: &HerdNode,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Vec<u8>, NetError>> {
        let to = peer.name.clone();
        Box::pin(async move { self.net.call(&self.from, &to, payload, timeout).await })
    }
}

/// splitmix64: a tiny seeded generator (no dependency, same sequence everywhere).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
