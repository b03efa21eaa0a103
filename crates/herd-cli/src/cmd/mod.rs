//! One module per subcommand. Each exposes an `Args` struct (clap) and a `run` function
//! returning the exit code.

pub mod config;
pub mod keygen;
pub mod ra;
pub mod simulate;
