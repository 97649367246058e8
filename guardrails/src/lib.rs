//! The human gate: the prescription state machine, the approval policy, adverse-event
//! blocks, the two-person rule and the hash-chained audit log.
//!
//! # Invariants
//!
//! - **Pure.** No I/O, clock, randomness, async runtime or database. Time, ids, the current
//!   state and the facts of the moment ([`Facts`]: prescription and knowledge hashes, the
//!   patient's adverse-event blocks) are passed in; results depend only on the inputs.
//! - **The `agent` principal can never approve, dispense, counsel or close, by any route.**
//!   Every route (REST, MCP, console) builds a [`Command`] and calls [`decide`], which checks
//!   the role before anything else, twice: against the [`allowed_roles`] table and against
//!   [`PHARMACIST_ONLY`], so one mistaken table edit cannot open the gate. A `device` may
//!   only record scans; an `admin` takes no clinical action.
//! - **A refusal changes nothing.** [`Refusal::http_status`] is 403 when the role may never
//!   do it, 409 when the state or policy forbids it now (with the reason).
//! - Nothing is dispensed without a pharmacist's decision *and* a matched scan of that line;
//!   a `contraindicated` line can only be substituted or cancelled; a `major` line is
//!   dispensed only with a written justification, which is audited.
//!
//! # States: per prescription and per line
//!
//! The seed's flow `RX_RECEIVED → AI_VERIFYING → ALERTS_RAISED | READY_TO_DISPENSE →
//! HITL_REVIEW → APPROVED | HOLD | SUBSTITUTED | CANCELLED → BARCODE_SCAN → DISPENSED →
//! COUNSEL_COMPLETE → CLOSED` is split in two:
//!
//! - [`RxStatus`] (per prescription): `RX_RECEIVED`, `AI_VERIFYING`, `ALERTS_RAISED`
//!   (verification found something) or `READY_TO_DISPENSE` (nothing found; a pharmacist
//!   still decides every line), `HITL_REVIEW` (a proposal or decision has been made),
//!   `DISPENSED` (every line dispensed, cancelled or held, at least one dispensed),
//!   `COUNSEL_COMPLETE`, `CLOSED`. Verification, counselling and closing are per prescription.
//! - [`LineStatus`] (per line): `HITL_REVIEW` (awaiting a decision; every line starts
//!   here), then the decision `APPROVED | HOLD | SUBSTITUTED | CANCELLED`, then for approved
//!   and substituted lines `BARCODE_SCAN` (a matched scan) and `DISPENSED`. A held line may
//!   be decided again while the prescription is in review. Decisions, scans and dispenses
//!   are per line.
//! - A prescription where every line was cancelled or held can be closed from review
//!   without counselling (nothing was handed over).
//!
//! # What the gate trusts
//!
//! The gate decides on what it is told. [`Findings`] must come from the server's own run of
//! the checks (`verify_prescription`), never from text an assistant wrote: the `agent` may
//! *trigger* `rx_verify`, but the server builds `RecordVerification` from the checks'
//! output. [`Facts`] are read by the server for this request. Line classes in
//! [`LineDrug`] are the registry's transitive classes, so a block on a parent class
//! catches every member.
//!
//! # Two-person rules
//!
//! [`FourEyes`] collects signatures from two different eligible people (never an agent or
//! a device). Chemotherapy (issue 9) will keep one in the line's state for each step that
//! needs it and refuse to move on until [`FourEyes::is_satisfied`].
//!
//! # Approval binding
//!
//! A verification records the prescription and knowledge hashes it was made from. The
//! console shows each line with its [`approval_view_hash`] and posts it back in the
//! [`LineDecision`]. A decision is refused with `stale_view` if the view changed (new
//! verification or proposal), and every decision, scan and dispense is refused with
//! `stale_verification` if the prescription or knowledge snapshot changed: the server then
//! calls [`return_stale_to_review`], which sends approved lines back to `HITL_REVIEW` and the
//! prescription back to `RX_RECEIVED` for a new verification.
//!
//! # Using it from the server
//!
//! Load the state, build [`Facts`], call [`decide`]; on `Ok`, persist `transition.state` and
//! append `transition.drafts(...)` with [`chain`] in the same database transaction (an empty
//! `events` is an idempotent replay: write nothing). On `Err`, answer
//! `refusal.http_status()` with `refusal.code.as_str()` and `refusal.reason`.
//! Concurrency (two pharmacists deciding one line) is the database's job: update the row
//! only if its state is still the one `decide` saw; the loser reloads and gets 409.
//!
//! ```
//! use rxgate_guardrails::*;
//!
//! let pharmacist = Principal::new("ph-1", Role::Pharmacist);
//! let agent = Principal::new("assistant", Role::Agent);
//! let intake = Intake {
//!     rx_id: "rx-1".into(),
//!     patient_id: "p-1".into(),
//!     lines: vec![IntakeLine {
//!         line_no: 1,
//!         drug: LineDrug { generic: "paracetamol".into(), classes: vec!["analgesic".into()] },
//!     }],
//! };
//! let facts = Facts {
//!     prescription_hash: "rx-content-hash".into(),
//!     knowledge_hash: "snapshot-hash".into(),
//!     blocks: PatientBlocks::none("p-1"),
//! };
//! let state = receive(&pharmacist, &intake).unwrap().state;
//! let state = decide(&state, &agent, &Command::StartVerification, &facts).unwrap().state;
//! let findings = Findings {
//!     verification_hash: "v-1".into(),
//!     highest_severity: None,
//!     blocking: false,
//!     lines: vec![],
//! };
//! let state = decide(&state, &agent, &Command::RecordVerification(findings), &facts).unwrap().state;
//! assert_eq!(state.status, RxStatus::ReadyToDispense);
//!
//! // The agent may not approve, whatever it sends.
//! let decision = LineDecision {
//!     line_no: 1,
//!     action: LineAction::Dispense,
//!     reason: String::new(),
//!     justification: None,
//!     approved_view_hash: approval_view_hash(&state, &facts, 1).unwrap(),
//!     replacement: None,
//!     replacement_severity: None,
//! };
//! let refusal = decide(&state, &agent, &Command::LineDecision(decision.clone()), &facts).unwrap_err();
//! assert_eq!((refusal.http_status(), refusal.code.as_str()), (403, "role_not_allowed"));
//!
//! // The pharmacist may; the event goes into the audit chain.
//! let transition = decide(&state, &pharmacist, &Command::LineDecision(decision), &facts).unwrap();
//! assert_eq!(transition.state.lines[0].status, LineStatus::Approved);
//! let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
//! let entries = chain_all(None, transition.drafts(&pharmacist, at, "req-42"));
//! assert_eq!(verify(&entries), Ok(()));
//! ```
//!
//! # Serialisation
//!
//! Unlike the `tools/` crates, the persisted types here ([`RxState`], [`PatientBlocks`],
//! [`AuditEntry`], [`Event`], [`FourEyes`]) derive `Serialize`/`Deserialize`: the database
//! layer stores them as they are, and the names they serialise to are the contract names
//! (`as_str`). The wire shapes of the REST and MCP answers still belong to the server.

mod adverse_events;
mod approval;
mod audit;
mod authorisation;
mod canonical;
mod command;
mod event;
mod explanation_findings;
mod explanation_guard;
mod explanation_vocabulary;
mod four_eyes;
mod principal;
mod refusal;
mod state;
mod workflow;

pub use adverse_events::decide_patient;
pub use approval::{allowed_actions, approval_view_hash, needs_justification};
pub use audit::{
    AuditDraft, AuditEntry, ChainBreak, ChainBreakKind, ChainHead, GENESIS_HASH, chain, chain_all, verify,
    verify_after, verify_against_head,
};
pub use authorisation::{PHARMACIST_ONLY, allowed_roles, authorise};
pub use command::{Command, CommandKind, Findings, Intake, IntakeLine, LineDecision, LineFinding, PatientCommand};
pub use event::{Action, Event, Transition};
pub use explanation_findings::{ExplainableFinding, effects_in, findings_from_verification, mechanism_in};
pub use explanation_guard::{
    DrugLexicon, Effect, ExplanationFacts, FindingDetail, GuardVerdict, Language, Mechanism, Quantity, RejectReason,
    check_explanation,
};
pub use four_eyes::FourEyes;
pub use principal::{Principal, Role, UnknownRole};
pub use refusal::{Refusal, RefusalCode};
pub use rxgate_knowledge::Severity;
pub use state::{
    AdverseEventBlock, BlockLift, CounselItem, Decision, DispenseRecord, LineAction, LineDrug, LineState, LineStatus,
    PatientBlocks, Proposal, RxState, RxStatus, UnknownCounselItem, UnknownLineAction, UnknownLineStatus,
    UnknownRxStatus, Verification,
};
pub use workflow::{Facts, decide, receive, return_stale_to_review};
