//! One module per subcommand. Each exposes an `Args` struct (clap) and a `run` function
//! returning the exit code.

pub mod admin_client;
pub mod agent;
pub mod attribute;
pub mod cib;
pub mod cleanup;
pub mod cluster;
pub mod config;
pub mod failcount;
pub mod keygen;
pub mod node;
pub mod ra;
pub mod simulate;
pub mod status;
