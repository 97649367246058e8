//! The explainer agent: explanations of findings, written after verification, never on its
//! path.
//!
//! One pass ([`Agent::pass`]) has two phases, so a pharmacist reads an explanation seconds
//! after verifying even when the model needs half a minute per text:
//!
//! 1. **Templates, for every prescription at once.** `rx_queue` over MCP → for each verified
//!    prescription that changed: `rx_get` (the stored verification) → the explainable
//!    findings and their facts ([`rxgate_guardrails::findings_from_verification`], the same
//!    derivation the server uses to check what it is sent) → the vetted template for every
//!    finding, language and audience not stored yet → `POST
//!    /api/v1/pharmacy/{rx_id}/explanations`. No model time: the whole queue's templates go
//!    out before the model is asked anything.
//! 2. **Model text, as upgrades.** One slot at a time, oldest prescription first: the local
//!    model rephrases the template (languages with a model only, within the token budget),
//!    the agent's guard checks it, and the server — guarding it again against its own stored
//!    verification — replaces the template with it. A slot the model has tried is not tried
//!    again, whatever the answer. While the model writes, the queue is still read at the poll
//!    interval, so templates for a newly verified prescription wait neither for the backlog
//!    nor for the model call in progress.
//!
//! A pharmacist never waits for this agent: verification answers at once and explanations
//! follow. The model's work per prescription is capped ([`AgentConfig::tokens_per_rx`]).

pub mod agent;
pub mod faithfulness;
pub mod server;

pub use agent::{Agent, AgentConfig, PassStats};
