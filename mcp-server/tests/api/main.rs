//! The `rxgate` binary as its users meet it: the command line, and `rxgate serve` over real
//! HTTP on a free port. One test binary (one link, one `cargo test` target); a module per
//! concern.

mod helpers;

mod adverse_events;
mod auth;
mod chemo;
mod cli;
mod console;
mod demo;
mod devices;
mod explanations;
mod health;
mod interop;
mod limits;
mod login;
mod mcp;
mod queue;
mod scale_out;
mod workflow;
mod workflow_tools;
