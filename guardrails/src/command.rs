//! What a principal asks the gate to do. The server parses requests (REST, MCP, console)
//! into these values; every route goes through the same [`crate::decide`].

use rxgate_knowledge::Severity;

use crate::state::{CounselItem, LineAction, LineDrug};

/// A new prescription, as the server resolved it against the knowledge registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The prescription's surrogate id.
    pub rx_id: String,
    /// The patient's surrogate id.
    pub patient_id: String,
    /// At least one line; line numbers unique.
    pub lines: Vec<IntakeLine>,
}

/// One prescribed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeLine {
    /// The line number (unique within the prescription).
    pub line_no: u32,
    /// The resolved drug.
    pub drug: LineDrug,
}

/// The summary of a verification (the server's `verify_prescription` output), reduced to
/// what the gate decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Hash of the full verification result the pharmacist will be shown.
    pub verification_hash: String,
    /// Highest finding over the prescription; must equal the highest line finding.
    pub highest_severity: Option<Severity>,
    /// The contract's `blocking` (the server sets it also when a name was `unknown`).
    pub blocking: bool,
    /// The highest finding per line. An interaction between two lines is reported on
    /// both; one with an active medication on the prescribed line. Lines not listed had
    /// no finding.
    pub lines: Vec<LineFinding>,
}

/// The highest finding on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFinding {
    /// The line.
    pub line_no: u32,
    /// Its highest finding.
    pub severity: Option<Severity>,
}

/// A pharmacist's decision on one line (one element of the contract's `line_decisions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDecision {
    /// The line.
    pub line_no: u32,
    /// What to do with it.
    pub action: LineAction,
    /// Why; required for hold, substitute and cancel.
    pub reason: String,
    /// Required (non-blank) to dispense a line with a `major` finding; audited.
    pub justification: Option<String>,
    /// The [`crate::approval_view_hash`] of what the pharmacist saw when deciding.
    pub approved_view_hash: String,
    /// The drug to dispense instead; given exactly when `action` is `substitute`.
    pub replacement: Option<LineDrug>,
    /// For a substitution: the highest finding on this line with the replacement in the
    /// original's place, from the server's own check of the whole prescription (`None`:
    /// clean). A replacement is held to the same policy as the drug it replaces: a
    /// contraindicated one is refused, a major one needs a written justification.
    pub replacement_severity: Option<Severity>,
}

/// A command on one prescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start (or restart, while nothing is approved) the checks.
    StartVerification,
    /// Record the checks' result.
    RecordVerification(Findings),
    /// Put a proposed decision with its rationale in front of a pharmacist.
    Propose {
        /// The line.
        line_no: u32,
        /// The proposed decision.
        action: LineAction,
        /// Why.
        rationale: String,
    },
    /// A pharmacist decides a line.
    LineDecision(LineDecision),
    /// A scanner (or the pharmacist's handheld) scanned a product for a line; `matched`
    /// is the result of `barcode_verify` against that line.
    BarcodeScanned {
        /// The line.
        line_no: u32,
        /// Whether the scan matched the line's product.
        matched: bool,
        /// The scan's id (for the audit and the dispense record).
        scan_id: String,
    },
    /// Hand over a scanned line.
    Dispense {
        /// The line.
        line_no: u32,
        /// The client's key: retries with the same key are recorded once.
        idempotency_key: String,
        /// Units handed over; positive.
        quantity: u32,
    },
    /// The counselling checklist items that were covered.
    CounselDone {
        /// Items covered; all of [`CounselItem::REQUIRED`] must be there.
        items: Vec<CounselItem>,
    },
    /// Close the prescription.
    Close,
    /// The prescriber changed a line in the EHR (PRESCRIPTION_CHANGE): the line now orders
    /// `drug` (the server stores the new dose, route and frequency with it). Everything
    /// decided on the old order is void and the prescription is verified again.
    AmendLine {
        /// The line.
        line_no: u32,
        /// The drug the changed order names.
        drug: LineDrug,
        /// Why, as the EHR said it (audited).
        reason: String,
    },
    /// A pharmacist reverses a hand-over before the prescription is closed: the patient
    /// declined it at the counter, or it was recorded in error. The line is held, to be
    /// decided again; the dispense record itself is never deleted.
    ReverseDispense {
        /// The line.
        line_no: u32,
        /// Why; required.
        reason: String,
    },
}

/// A command on a patient's adverse-event blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientCommand {
    /// Report an adverse event: blocks dispensing drugs of that class to the patient.
    ReportAdverseEvent {
        /// Class id (knowledge registry) of the suspected drug's class.
        drug_class: String,
        /// What happened.
        description: String,
    },
    /// A pharmacist lifts the block on a class.
    LiftAdverseEventBlock {
        /// The blocked class.
        drug_class: String,
        /// Why it is safe again; required.
        reason: String,
    },
}

/// Every kind of command, for the authorisation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommandKind {
    /// [`crate::receive`].
    Receive,
    /// [`Command::StartVerification`].
    StartVerification,
    /// [`Command::RecordVerification`].
    RecordVerification,
    /// [`Command::Propose`].
    Propose,
    /// [`Command::LineDecision`].
    LineDecision,
    /// [`Command::BarcodeScanned`].
    BarcodeScanned,
    /// [`Command::Dispense`].
    Dispense,
    /// [`Command::CounselDone`].
    CounselDone,
    /// [`Command::Close`].
    Close,
    /// [`Command::AmendLine`].
    AmendLine,
    /// [`Command::ReverseDispense`].
    ReverseDispense,
    /// [`PatientCommand::ReportAdverseEvent`].
    ReportAdverseEvent,
    /// [`PatientCommand::LiftAdverseEventBlock`].
    LiftAdverseEventBlock,
}

impl CommandKind {
    /// Every kind, in workflow order.
    pub const ALL: [CommandKind; 13] = [
        CommandKind::Receive,
        CommandKind::StartVerification,
        CommandKind::RecordVerification,
        CommandKind::Propose,
        CommandKind::LineDecision,
        CommandKind::BarcodeScanned,
        CommandKind::Dispense,
        CommandKind::CounselDone,
        CommandKind::Close,
        CommandKind::AmendLine,
        CommandKind::ReverseDispense,
        CommandKind::ReportAdverseEvent,
        CommandKind::LiftAdverseEventBlock,
    ];

    /// A `snake_case` name for tables and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Receive => "receive",
            CommandKind::StartVerification => "start_verification",
            CommandKind::RecordVerification => "record_verification",
            CommandKind::Propose => "propose",
            CommandKind::LineDecision => "line_decision",
            CommandKind::BarcodeScanned => "barcode_scanned",
            CommandKind::Dispense => "dispense",
            CommandKind::CounselDone => "counsel_done",
            CommandKind::Close => "close",
            CommandKind::AmendLine => "amend_line",
            CommandKind::ReverseDispense => "reverse_dispense",
            CommandKind::ReportAdverseEvent => "report_adverse_event",
            CommandKind::LiftAdverseEventBlock => "lift_adverse_event_block",
        }
    }
}

impl Command {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::StartVerification => CommandKind::StartVerification,
            Command::RecordVerification(_) => CommandKind::RecordVerification,
            Command::Propose { .. } => CommandKind::Propose,
            Command::LineDecision(_) => CommandKind::LineDecision,
            Command::BarcodeScanned { .. } => CommandKind::BarcodeScanned,
            Command::Dispense { .. } => CommandKind::Dispense,
            Command::CounselDone { .. } => CommandKind::CounselDone,
            Command::Close => CommandKind::Close,
            Command::AmendLine { .. } => CommandKind::AmendLine,
            Command::ReverseDispense { .. } => CommandKind::ReverseDispense,
        }
    }
}

impl PatientCommand {
    /// The command's kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            PatientCommand::ReportAdverseEvent { .. } => CommandKind::ReportAdverseEvent,
            PatientCommand::LiftAdverseEventBlock { .. } => CommandKind::LiftAdverseEventBlock,
        }
    }
}
