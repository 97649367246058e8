//! The persisted state: a prescription with its lines, and a patient's adverse-event
//! blocks. Plain data with public fields, `Serialize`/`Deserialize` so the server can store
//! it as it is; only [`crate::decide`] and friends should produce new values of it.

use rxgate_knowledge::Severity;
use serde::{Deserialize, Serialize};

macro_rules! named_enum {
    (
        $(#[$doc:meta])* $name:ident, $error:ident, $what:literal {
            $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in workflow order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The exact name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the exact name (case-sensitive: the names are fixed by the contract).
            pub fn parse(text: &str) -> Result<$name, $error> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| $error(text.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[doc = concat!("Text that is not a ", $what, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("unknown {}: {:?}", $what, .0)]
        pub struct $error(pub String);
    };
}

named_enum!(
    /// Where a prescription as a whole stands. The per-line part of the workflow
    /// (decision, scan, dispense) lives in [`LineStatus`].
    RxStatus, UnknownRxStatus, "prescription status" {
        /// Taken in; not yet checked.
        Received = "RX_RECEIVED",
        /// Checks are running.
        AiVerifying = "AI_VERIFYING",
        /// Checks found something; a pharmacist must look at it.
        AlertsRaised = "ALERTS_RAISED",
        /// Checks found nothing; a pharmacist still decides every line.
        ReadyToDispense = "READY_TO_DISPENSE",
        /// A pharmacist (or a proposal for one) is working through the lines.
        HitlReview = "HITL_REVIEW",
        /// Every line is dispensed, cancelled or held, and at least one was dispensed.
        Dispensed = "DISPENSED",
        /// The patient was counselled on every required point.
        CounselComplete = "COUNSEL_COMPLETE",
        /// Done; nothing more may happen to this prescription.
        Closed = "CLOSED",
    }
);

named_enum!(
    /// Where one line stands.
    LineStatus, UnknownLineStatus, "line status" {
        /// Awaiting a pharmacist's decision. Lines start here; whether a decision can be
        /// taken now depends on the prescription's status (it must have been verified).
        HitlReview = "HITL_REVIEW",
        /// Approved for dispense as prescribed.
        Approved = "APPROVED",
        /// Held: not dispensed now; may be decided again while the prescription is in review.
        Hold = "HOLD",
        /// Approved for dispense of a replacement drug.
        Substituted = "SUBSTITUTED",
        /// Will not be dispensed.
        Cancelled = "CANCELLED",
        /// The product was scanned and matched the line; ready to hand over.
        BarcodeScan = "BARCODE_SCAN",
        /// Handed over.
        Dispensed = "DISPENSED",
    }
);

named_enum!(
    /// A pharmacist's decision on a line (the contract's `action`).
    LineAction, UnknownLineAction, "line action" {
        /// Dispense as prescribed.
        Dispense = "dispense",
        /// Dispense a replacement instead.
        Substitute = "substitute",
        /// Do not dispense now.
        Hold = "hold",
        /// Never dispense.
        Cancel = "cancel",
    }
);

named_enum!(
    /// One point of the counselling checklist. All of them are required before closing.
    CounselItem, UnknownCounselItem, "counselling item" {
        /// The patient (or carer) was identified.
        IdentityConfirmed = "identity_confirmed",
        /// What each medicine is for.
        Purpose = "purpose",
        /// How much, when and how to take it.
        DoseAndTiming = "dose_and_timing",
        /// Common and serious side effects, and what to do about them.
        SideEffects = "side_effects",
        /// Interactions, allergies and warnings found at verification.
        Warnings = "warnings",
        /// Storage and disposal.
        Storage = "storage",
        /// The patient's questions were answered.
        QuestionsAnswered = "questions_answered",
    }
);

impl CounselItem {
    /// The items that must all be done before a prescription can be closed.
    pub const REQUIRED: &'static [CounselItem] = CounselItem::ALL;
}

/// The drug on a line, as the server resolved it against the knowledge registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDrug {
    /// Resolved generic (INN).
    pub generic: String,
    /// Class ids the generic belongs to, *transitively* (the registry's `classes_of`):
    /// adverse-event blocks match against these.
    pub classes: Vec<String>,
}

/// A proposal an agent (or pharmacist) put in front of the deciding pharmacist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The proposed decision.
    pub action: LineAction,
    /// Why, in words the pharmacist reads.
    pub rationale: String,
    /// Who proposed it.
    pub by: String,
}

/// A pharmacist's recorded decision on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What was decided.
    pub action: LineAction,
    /// The deciding pharmacist's subject.
    pub by: String,
    /// The reason given (may be empty for a plain dispense).
    pub reason: String,
    /// The written justification for dispensing despite a major finding.
    pub justification: Option<String>,
    /// The view hash the pharmacist approved (see [`crate::approval_view_hash`]).
    pub view_hash: String,
}

/// A recorded hand-over of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispenseRecord {
    /// The client's idempotency key; a retry with the same key is recorded once.
    pub idempotency_key: String,
    /// Units handed over.
    pub quantity: u32,
    /// The dispensing pharmacist's subject.
    pub by: String,
}

/// One line of a prescription and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineState {
    /// The line number from the prescription (unique within it).
    pub line_no: u32,
    /// The prescribed drug.
    pub drug: LineDrug,
    /// Where the line stands.
    pub status: LineStatus,
    /// The highest finding on this line at the last verification (`None`: no finding).
    #[serde(with = "severity_serde")]
    pub severity: Option<Severity>,
    /// The current proposal, if any.
    pub proposal: Option<Proposal>,
    /// The pharmacist's decision, once taken.
    pub decision: Option<Decision>,
    /// The drug to dispense instead, when substituted.
    pub replacement: Option<LineDrug>,
    /// The id of the scan that matched, once scanned.
    pub scan_id: Option<String>,
    /// The hand-over, once dispensed.
    pub dispense: Option<DispenseRecord>,
}

impl LineState {
    /// The drug that will actually be handed over: the replacement if substituted.
    pub fn drug_to_dispense(&self) -> &LineDrug {
        self.replacement.as_ref().unwrap_or(&self.drug)
    }
}

/// The verification a prescription's review rests on, with the inputs it was made from:
/// if either input hash changes, the verification (and every approval on it) is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Hash of the verification result (the server's `verify_prescription` output).
    pub hash: String,
    /// Highest finding over all lines.
    #[serde(with = "severity_serde")]
    pub highest_severity: Option<Severity>,
    /// The contract's `blocking`: some finding forbids dispensing without a decision.
    pub blocking: bool,
    /// The prescription content hash the verification was made from.
    pub prescription_hash: String,
    /// The knowledge snapshot hash the verification was made with.
    pub knowledge_hash: String,
}

/// A prescription and its lines: the state [`crate::decide`] works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxState {
    /// The prescription's surrogate id.
    pub rx_id: String,
    /// The patient's surrogate id.
    pub patient_id: String,
    /// Where the prescription as a whole stands.
    pub status: RxStatus,
    /// Lines, in line-number order, numbers unique.
    pub lines: Vec<LineState>,
    /// The current verification, once recorded.
    pub verification: Option<Verification>,
    /// The checklist items covered, once counselling is done.
    pub counselling: Option<Vec<CounselItem>>,
}

impl RxState {
    /// The line with that number.
    pub fn line(&self, line_no: u32) -> Option<&LineState> {
        self.lines.iter().find(|l| l.line_no == line_no)
    }
}

/// An adverse-event block: this patient may not be dispensed drugs of this class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdverseEventBlock {
    /// The class id (as in the knowledge registry) of the drug that caused the event.
    pub drug_class: String,
    /// What happened, as reported.
    pub description: String,
    /// Who reported it.
    pub reported_by: String,
    /// Set when a pharmacist lifted the block; a lifted block stays for the record.
    pub lifted: Option<BlockLift>,
}

/// A pharmacist's lifting of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLift {
    /// The pharmacist's subject.
    pub by: String,
    /// Why it is safe to dispense the class again.
    pub reason: String,
}

/// A patient's adverse-event blocks. Kept per patient, not per prescription, because a
/// block outlives the prescription that caused it and applies to every later one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PatientBlocks {
    /// The patient's surrogate id.
    pub patient_id: String,
    /// Every block ever raised, lifted or not, oldest first.
    pub blocks: Vec<AdverseEventBlock>,
}

impl PatientBlocks {
    /// No blocks yet for this patient.
    pub fn none(patient_id: impl Into<String>) -> PatientBlocks {
        PatientBlocks { patient_id: patient_id.into(), blocks: Vec::new() }
    }

    /// The active (not lifted) block on that class, if any.
    pub fn active(&self, drug_class: &str) -> Option<&AdverseEventBlock> {
        self.blocks.iter().find(|b| b.lifted.is_none() && b.drug_class == drug_class)
    }

    /// The first active block that matches any class of the drug.
    pub fn blocking(&self, drug: &LineDrug) -> Option<&AdverseEventBlock> {
        drug.classes.iter().find_map(|c| self.active(c))
    }
}

/// `Severity` comes from the knowledge crate, which keeps its domain types free of serde;
/// the persisted state writes it by its contract name.
mod severity_serde {
    use rxgate_knowledge::Severity;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(sev) => s.serialize_some(sev.as_str()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| Severity::parse(&t).ok_or_else(|| serde::de::Error::custom(format!("unknown severity {t:?}"))))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_the_seed_names_and_round_trip() {
        let names: Vec<&str> = RxStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "RX_RECEIVED",
                "AI_VERIFYING",
                "ALERTS_RAISED",
                "READY_TO_DISPENSE",
                "HITL_REVIEW",
                "DISPENSED",
                "COUNSEL_COMPLETE",
                "CLOSED"
            ]
        );
        for s in RxStatus::ALL {
            assert_eq!(RxStatus::parse(s.as_str()), Ok(*s));
        }
        for s in LineStatus::ALL {
            assert_eq!(LineStatus::parse(s.as_str()), Ok(*s));
        }
        for a in LineAction::ALL {
            assert_eq!(LineAction::parse(a.as_str()), Ok(*a));
        }
        assert_eq!(RxStatus::parse("closed"), Err(UnknownRxStatus("closed".into())));
    }

    #[test]
    fn serde_uses_the_same_names_as_as_str() {
        let line = LineState {
            line_no: 1,
            drug: LineDrug { generic: "amlodipine".into(), classes: vec!["ccb".into()] },
            status: LineStatus::BarcodeScan,
            severity: Some(Severity::Major),
            proposal: None,
            decision: None,
            replacement: None,
            scan_id: None,
            dispense: None,
        };
        let json = serde_json::to_string(&line).unwrap();
        assert!(json.contains(r#""status":"BARCODE_SCAN""#), "{json}");
        assert!(json.contains(r#""severity":"major""#), "{json}");
        let back: LineState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, line);
    }

    #[test]
    fn a_lifted_block_no_longer_blocks() {
        let drug = LineDrug { generic: "amoxicillin".into(), classes: vec!["penicillin".into(), "beta_lactam".into()] };
        let mut blocks = PatientBlocks::none("p1");
        blocks.blocks.push(AdverseEventBlock {
            drug_class: "beta_lactam".into(),
            description: "rash".into(),
            reported_by: "dr1".into(),
            lifted: None,
        });
        assert!(blocks.blocking(&drug).is_some());
        blocks.blocks[0].lifted = Some(BlockLift { by: "ph1".into(), reason: "not allergic on rechallenge".into() });
        assert!(blocks.blocking(&drug).is_none());
    }
}
