//! The errors of herd-rpc's public API.

use std::net::SocketAddr;

/// Why a call, a send or starting the transport failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("no node named '{peer}' in the node list (check [[nodes]] in herd.toml)")]
    UnknownPeer { peer: String },
    #[error("call to {peer} timed out after {timeout_ms} ms ({detail})")]
    Timeout {
        peer: String,
        timeout_ms: u64,
        detail: String,
    },
    #[error("no link to {peer} is up ({detail})")]
    NotConnected { peer: String, detail: String },
    #[error("the connection to {peer} was lost before the answer arrived")]
    ConnectionLost { peer: String },
    #[error("{peer} had no answer to the request")]
    NoReply { peer: String },
    #[error("message of {len} bytes is larger than the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("the send queue to {peer} is full; message dropped")]
    QueueFull { peer: String },
    #[error(
        "cannot listen on {addr}: {source} (is another herd agent running, or the address not on this machine?)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid transport configuration: {0}")]
    Config(String),
    #[error("the transport is shut down")]
    Shutdown,
}
