//! OCF exit codes and action names, as constants (pure).
//!
//! The numbers are the OCF resource agent API's; see ../shared/design/OCF.md.

/// Done / running.
pub const SUCCESS: i32 = 0;
/// Generic failure (soft: restart here or move).
pub const ERR_GENERIC: i32 = 1;
/// Parameters invalid on this node.
pub const ERR_ARGS: i32 = 2;
/// Action not implemented.
pub const ERR_UNIMPLEMENTED: i32 = 3;
/// Insufficient privileges.
pub const ERR_PERM: i32 = 4;
/// A binary or file the agent needs is missing on this node.
pub const ERR_INSTALLED: i32 = 5;
/// Configuration invalid anywhere (fatal).
pub const ERR_CONFIGURED: i32 = 6;
/// Cleanly stopped (monitor).
pub const NOT_RUNNING: i32 = 7;
