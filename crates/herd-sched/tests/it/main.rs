//! Integration tests of herd-sched: the scheduler corpus measured through a test-only XML
//! loader, and behaviour pinned on small hand-written CIBs. Reads files (test I/O).

mod corpus;
mod xml;
