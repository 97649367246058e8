//! The explainer agent: explanations of findings, written after verification, never on its
//! path.
//!
//! One pass ([`Agent::pass`]): `rx_queue` over MCP → for each verified prescription whose
//! latest verification is not explained yet: `rx_get` (the stored verification) → the
//! explainable findings and their facts ([`rxgate_guardrails::findings_from_verification`],
//! the same derivation the server uses to check what it is sent) → an explanation per
//! finding, language and audience from the local model (guarded; template fallback) →
//! `POST /api/v1/pharmacy/{rx_id}/explanations`. The server guards every text again against
//! its own stored verification; a text it refuses is replaced by the template body.
//!
//! A pharmacist never waits for this agent: verification answers at once and explanations
//! follow. The model's work per prescription is capped ([`AgentConfig::tokens_per_rx`]);
//! once the budget is spent the remaining explanations of that prescription are templates.

pub mod agent;
pub mod server;

pub use agent::{Agent, AgentConfig, PassStats};
