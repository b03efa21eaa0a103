//! herd-rpc: the node-to-node transport of herd. TCP, mutually authenticated with the
//! cluster key, encrypted, with up to two links per peer and failover between them.
//!
//! # Design
//!
//! Each connection starts with a Noise handshake, `Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s`
//! (crate `snow`), with the 32-byte cluster key as the pre-shared key and the cluster name
//! in the prologue. Why Noise with a PSK rather than TLS with a cluster CA: every node of a
//! herd cluster holds the same secret anyway (`herd keygen` writes one file that the admin
//! copies to each node), so a PSK handshake gives mutual authentication with nothing else
//! to manage (no certificates to issue, renew or revoke), the whole exchange is two
//! messages, and `snow` is a small, pure-Rust, widely used implementation of a protocol
//! with a formal analysis; rustls would bring a certificate stack for no gain here. The
//! ephemeral Diffie-Hellman gives forward secrecy: a key stolen later does not decrypt
//! recorded traffic. The initiator's node name travels encrypted in message 1 and is
//! checked against the node list; the responder names itself in message 2. A peer without
//! the key fails to decrypt message 1 and is refused before any handler runs.
//! What this does not give: per-node identity. The key proves membership of the cluster,
//! so any holder of the key can claim any listed node name (as with Corosync's shared
//! authkey); per-node keys would need a static-key pattern (`KKpsk0`) and a key per node.
//!
//! Framing: every frame is `length u32 | version u8 | ciphertext`, the length checked
//! against [`FRAME_BYTES_MAX`] (or the configured limit) before the body is read; the
//! plaintext is `kind u8 | id u64 | payload`. See `frame` for the byte layout.
//!
//! Topology: each node dials every peer on each of the peer's addresses ("links") and
//! keeps those outbound connections for its own requests and one-way messages; answers
//! come back on the same connection. Inbound connections only serve requests. Links are
//! pinged every `link_ping`; a link silent for `link_timeout` is dropped and redialed with
//! backoff, and traffic moves to the next link that is up (knet's passive mode: the first
//! address is preferred). Queues and requests in flight are bounded (`QUEUE_FRAMES_MAX`,
//! `BULK_QUEUE_MAX`, `INFLIGHT_PER_PEER_MAX`, `HANDLERS_PER_CONNECTION_MAX`,
//! `INBOUND_CONNECTIONS_MAX`).
//!
//! Two lanes per connection: messages up to 16 KiB (pings, lease renewals, heartbeats,
//! votes) go first; larger ones (snapshots, big log batches) are cut into 60 KiB fragments
//! with the small messages sent between them, and `TCP_NOTSENT_LOWAT` keeps the kernel
//! from queueing much ahead of them. On a 20 Mbit/s link a small call waits ~0.3 s behind a
//! 4 MB transfer instead of ~1.7 s (tests/it/netns.rs).
//!
//! Payloads are opaque bytes; the Raft layer encodes its own messages (with its own
//! version byte). Handlers may run concurrently, so the order in which one-way messages
//! reach the handler is not guaranteed.
//!
//! I/O: TCP sockets and tokio tasks (`transport`, `link`, `server`, `conn`); the key file
//! (`key`). `frame` is a pure codec and `session` only encrypts buffers after its
//! handshake.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

mod conn;
mod error;
mod frame;
mod key;
mod link;
mod server;
mod session;
mod transport;

pub use conn::{BULK_QUEUE_MAX, QUEUE_FRAMES_MAX};
pub use error::RpcError;
pub use frame::PROTOCOL_VERSION;
pub use key::{CLUSTER_KEY_BYTES, ClusterKey, KeyError};
pub use link::INFLIGHT_PER_PEER_MAX;
pub use server::{HANDLERS_PER_CONNECTION_MAX, INBOUND_CONNECTIONS_MAX};
pub use transport::{REBIND_INTERVAL_MS, Transport};

/// The default largest payload of one message, in bytes. Raft snapshots of the cluster
/// state are a few MB; anything larger is refused by the sender and the receiver.
pub const FRAME_BYTES_MAX: usize = 32 * 1024 * 1024;

/// A boxed future, as returned by [`Handler::handle`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a node does with the messages its peers send it.
pub trait Handler: Send + Sync + 'static {
    /// Handles one message. `from` is the authenticated name of the sending node.
    /// For a call, `Some(bytes)` is the answer and `None` fails the call with
    /// [`RpcError::NoReply`]; for a one-way message the result is ignored.
    fn handle(&self, from: &str, payload: Bytes) -> BoxFuture<'_, Option<Bytes>>;
}

/// Another node and its link addresses (one or two, preferred first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    pub addrs: Vec<SocketAddr>,
}

/// Everything [`Transport::start`] needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// The cluster's name; it is bound into the handshake, so two clusters that share a
    /// key still cannot talk.
    pub cluster: String,
    /// This node's name, as listed in the node list.
    pub local: String,
    /// Addresses to listen on (this node's links).
    pub listen: Vec<SocketAddr>,
    /// Every other node (this node, if listed, is skipped).
    pub peers: Vec<Peer>,
    pub key: ClusterKey,
    /// Each link is pinged this often.
    pub link_ping: Duration,
    /// A link silent for this long is dropped and redialed.
    pub link_timeout: Duration,
    /// The largest payload sent or accepted, in bytes.
    pub frame_bytes_max: usize,
}

impl TransportConfig {
    /// A configuration with the LAN link timers (ping 100 ms, down after 300 ms) and the
    /// default frame limit.
    pub fn new(
        cluster: &str,
        local: &str,
        listen: Vec<SocketAddr>,
        peers: Vec<Peer>,
        key: ClusterKey,
    ) -> TransportConfig {
        TransportConfig {
            cluster: cluster.to_string(),
            local: local.to_string(),
            listen,
            peers,
            key,
            link_ping: Duration::from_millis(100),
            link_timeout: Duration::from_millis(300),
            frame_bytes_max: FRAME_BYTES_MAX,
        }
    }

    /// The transport of this node as `config` describes it: listen on the local node's
    /// addresses, one peer per other node, link timers from the timing profile.
    pub fn from_config(config: &herd_config::Config, key: ClusterKey) -> TransportConfig {
        let peers = config
            .peers()
            .map(|node| Peer {
                name: node.name.clone(),
                addrs: node.addrs.clone(),
            })
            .collect();
        let mut out = TransportConfig::new(
            &config.cluster,
            &config.node,
            config.local_node().addrs.clone(),
            peers,
            key,
        );
        out.link_ping = Duration::from_millis(config.timing.link_ping_ms);
        out.link_timeout = Duration::from_millis(config.timing.link_timeout_ms);
        out
    }

    fn check(&self) -> Result<(), RpcError> {
        if self.local.is_empty() || self.local.len() > 255 {
            return Err(RpcError::Config(format!(
                "node name {:?} must be 1 to 255 bytes",
                self.local
            )));
        }
        if let Some(peer) = self
            .peers
            .iter()
            .find(|peer| peer.addrs.is_empty() || peer.addrs.len() > 2 || peer.name.len() > 255)
        {
            return Err(RpcError::Config(format!(
                "peer {:?} must have a name of at most 255 bytes and 1 or 2 addresses",
                peer.name
            )));
        }
        if self.link_ping.is_zero() || self.link_ping >= self.link_timeout {
            return Err(RpcError::Config(
                "link_ping must be above 0 and below link_timeout".to_string(),
            ));
        }
        if self.frame_bytes_max == 0 || self.frame_bytes_max > 1 << 30 {
            return Err(RpcError::Config(
                "frame_bytes_max must be between 1 byte and 1 GiB".to_string(),
            ));
        }
        Ok(())
    }
}

/// Whether a link is carrying traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet since the transport started.
    Connecting,
    Up,
    Down,
}

/// The state of one link to one peer, for `herd status` and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    pub peer: String,
    /// 0 for the first address of the peer, 1 for the second.
    pub link: usize,
    pub addr: SocketAddr,
    pub state: LinkState,
    /// The last measured ping round trip, while up.
    pub rtt_us: Option<u64>,
    /// Why the link is down (or failed to connect last).
    pub last_error: Option<String>,
    /// How often the link went up or down.
    pub changes: u64,
}
