//! The `rxgate` binary as its users meet it: the command line, and `rxgate serve` over real
//! HTTP on a free port. One test binary (one link, one `cargo test` target); a module per
//! concern.

mod helpers;

mod adverse_events;
mod auth;
mod cli;
mod demo;
mod health;
mod mcp;
mod queue;
mod workflow;
