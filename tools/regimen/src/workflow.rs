//! The life of one chemotherapy order after evaluation: two-person verification at
//! prescribing and at compounding, documented overrides of holds, the gravimetric check
//! before the label, BCMA before administration — and hard stops that nothing clears.
//!
//! Every action returns the next state and its audit events, including refusals: a refused
//! action is itself recorded as a `block`. Time is passed in.

use std::collections::BTreeMap;

use crate::compile::CompileOutput;
use crate::devices::{GravimetricResult, gravimetric_check};
use crate::evaluate::{AuditEvent, Evaluation, Finding};
use crate::model::OverrideRole;
use crate::num::Q;
use crate::rules::Rules;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Physician,
    Pharmacist,
    PharmacyTechnician,
    Nurse,
    Cardiologist,
    /// A supervising pharmacist.
    Supervisor,
    /// An AI assistant: never one of the people a safety check needs.
    Agent,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_lowercase().as_str() {
            "physician" => Some(Role::Physician),
            "pharmacist" => Some(Role::Pharmacist),
            "pharmacy_technician" | "technician" => Some(Role::PharmacyTechnician),
            "nurse" => Some(Role::Nurse),
            "cardiologist" => Some(Role::Cardiologist),
            "supervisor" => Some(Role::Supervisor),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    fn may_override(self, by: OverrideRole) -> bool {
        matches!(
            (self, by),
            (Role::Physician, OverrideRole::Physician)
                | (Role::Cardiologist, OverrideRole::Cardiologist)
                | (Role::Supervisor, OverrideRole::Supervisor)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub role: Role,
}

impl Person {
    pub fn new(id: &str, role: Role) -> Person {
        Person { id: id.to_string(), role }
    }
}

/// Two different people per step; nobody who signed prescribing may sign compounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Prescribing,
    Compounding,
}

impl Check {
    fn as_str(self) -> &'static str {
        match self {
            Check::Prescribing => "prescribing_check",
            Check::Compounding => "compounding_check",
        }
    }

    fn eligible(self, role: Role) -> bool {
        match self {
            Check::Prescribing => matches!(role, Role::Physician | Role::Pharmacist),
            Check::Compounding => matches!(role, Role::Pharmacist | Role::PharmacyTechnician | Role::Supervisor),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChemoOrder {
    pub patient_id: String,
    pub hard_stops: Vec<Finding>,
    pub holds: Vec<Finding>,
    pub overrides: BTreeMap<String, Override>,
    pub prescribing: Vec<String>,
    pub compounding: Vec<String>,
    pub gravimetric: Option<GravimetricResult>,
    pub gravimetric_override: Option<Override>,
    pub label_printed: bool,
    pub bcma_matched: bool,
    pub administered: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Sign {
        check: Check,
        by: Person,
    },
    OverrideHold {
        code: String,
        by: Person,
        reason: String,
    },
    /// Any attempt to override a hard stop is refused and recorded.
    OverrideHardStop {
        code: String,
        by: Person,
        reason: String,
    },
    RecordGravimetric {
        by: Person,
        expected_g: Q,
        measured_g: Q,
    },
    OverrideGravimetric {
        by: Person,
        reason: String,
    },
    PrintLabel {
        by: Person,
    },
    Bcma {
        by: Person,
        matched: bool,
    },
    Administer {
        by: Person,
    },
}

/// The result of one action: the next state (unchanged when refused) and its audit events.
#[derive(Debug, Clone)]
pub struct Applied {
    pub order: ChemoOrder,
    pub audit: Vec<AuditEvent>,
    pub refused: Option<String>,
}

impl ChemoOrder {
    /// A new order from its evaluation; the evaluation's holds and hard stops are recorded.
    pub fn from_evaluation(patient_id: &str, evaluation: &Evaluation) -> ChemoOrder {
        ChemoOrder {
            patient_id: patient_id.to_string(),
            hard_stops: evaluation.hard_stops.clone(),
            holds: evaluation.holds.clone(),
            overrides: BTreeMap::new(),
            prescribing: vec![],
            compounding: vec![],
            gravimetric: None,
            gravimetric_override: None,
            label_printed: false,
            bcma_matched: false,
            administered: false,
        }
    }

    pub fn open_holds(&self) -> Vec<&Finding> {
        self.holds.iter().filter(|h| !self.overrides.contains_key(&h.code)).collect()
    }

    pub fn check_done(&self, check: Check) -> bool {
        let signers = match check {
            Check::Prescribing => &self.prescribing,
            Check::Compounding => &self.compounding,
        };
        signers.len() >= 2
    }

    fn gravimetric_ok(&self) -> bool {
        self.gravimetric.as_ref().is_some_and(|g| g.within_tolerance) || self.gravimetric_override.is_some()
    }

    /// Why a label may not be printed now, if it may not.
    pub fn label_blocker(&self) -> Option<String> {
        if let Some(h) = self.hard_stops.first() {
            return Some(format!("hard stop {}: {}", h.code, h.message));
        }
        if let Some(h) = self.open_holds().first() {
            return Some(format!("hold {} has no documented override", h.code));
        }
        if !self.check_done(Check::Prescribing) {
            return Some("the prescribing check needs two different people".to_string());
        }
        if !self.check_done(Check::Compounding) {
            return Some("the compounding check needs two different people".to_string());
        }
        match &self.gravimetric {
            None => Some("no gravimetric check recorded".to_string()),
            Some(g) if !self.gravimetric_ok() => Some(format!(
                "gravimetric deviation {}% is above tolerance: a supervisor must override",
                g.deviation_pct_text()
            )),
            _ => None,
        }
    }

    pub fn administration_blocker(&self) -> Option<String> {
        if let Some(b) = self.label_blocker() {
            return Some(b);
        }
        if !self.label_printed {
            return Some("no label printed".to_string());
        }
        if !self.bcma_matched {
            return Some("BCMA: wristband and product scan must match the order".to_string());
        }
        None
    }
}

/// Applies one action at time `at`.
pub fn apply(order: &ChemoOrder, action: &Action, at: &str, rules: &Rules) -> Applied {
    let mut next = order.clone();
    let refuse = |by: &Person, code: &str, why: String| Applied {
        order: order.clone(),
        audit: vec![AuditEvent::new("block", Some(&by.id), Some(at), code, why.clone())],
        refused: Some(why),
    };
    match action {
        Action::Sign { check, by } => {
            if by.role == Role::Agent || !check.eligible(by.role) {
                return refuse(by, check.as_str(), format!("a {:?} may not sign the {}", by.role, check.as_str()));
            }
            let (mine, other) = match check {
                Check::Prescribing => (&order.prescribing, &order.compounding),
                Check::Compounding => (&order.compounding, &order.prescribing),
            };
            if mine.contains(&by.id) {
                return refuse(
                    by,
                    check.as_str(),
                    format!("{} already signed the {}: two different people are needed", by.id, check.as_str()),
                );
            }
            if other.contains(&by.id) {
                return refuse(
                    by,
                    check.as_str(),
                    format!(
                        "{} signed the other check: one person cannot satisfy both prescribing and compounding checks",
                        by.id
                    ),
                );
            }
            if mine.len() >= 2 {
                return refuse(by, check.as_str(), format!("the {} already has two signatures", check.as_str()));
            }
            match check {
                Check::Prescribing => next.prescribing.push(by.id.clone()),
                Check::Compounding => next.compounding.push(by.id.clone()),
            }
            let n = match check {
                Check::Prescribing => next.prescribing.len(),
                Check::Compounding => next.compounding.len(),
            };
            ok(next, AuditEvent::new("sign", Some(&by.id), Some(at), check.as_str(), format!("signature {n} of 2")))
        }
        Action::OverrideHardStop { code, by, reason } => refuse(
            by,
            code,
            format!("hard stop {code} cannot be overridden by anyone (attempted by {} with reason: {reason})", by.id),
        ),
        Action::OverrideHold { code, by, reason } => {
            if order.hard_stops.iter().any(|h| &h.code == code) {
                return refuse(by, code, format!("{code} is a hard stop: it cannot be overridden"));
            }
            let Some(hold) = order.holds.iter().find(|h| &h.code == code) else {
                return refuse(by, code, format!("there is no hold {code} on this order"));
            };
            let needed = hold.override_by.unwrap_or(OverrideRole::Physician);
            if !by.role.may_override(needed) {
                return refuse(by, code, format!("hold {code} needs a documented override by a {}", needed.as_str()));
            }
            if reason.trim().is_empty() {
                return refuse(by, code, format!("an override of {code} needs a justification"));
            }
            next.overrides.insert(code.clone(), Override { by: by.id.clone(), reason: reason.clone() });
            ok(next, AuditEvent::new("override", Some(&by.id), Some(at), code, reason.clone()))
        }
        Action::RecordGravimetric { by, expected_g, measured_g } => {
            if !matches!(by.role, Role::Pharmacist | Role::PharmacyTechnician | Role::Supervisor) {
                return refuse(by, "gravimetric", format!("a {:?} may not record a gravimetric check", by.role));
            }
            let g = gravimetric_check(expected_g, measured_g, rules);
            let mut audit = vec![AuditEvent::new(
                "gravimetric",
                Some(&by.id),
                Some(at),
                "gravimetric",
                format!("deviation {}%", g.deviation_pct_text()),
            )];
            if !g.within_tolerance {
                audit.push(AuditEvent::new(
                    "block",
                    Some(&by.id),
                    Some(at),
                    "gravimetric_deviation",
                    format!(
                        "deviation {}% above {}%: label blocked until a supervisor overrides",
                        g.deviation_pct_text(),
                        rules.gravimetric_tolerance_pct
                    ),
                ));
            }
            next.gravimetric = Some(g);
            next.gravimetric_override = None;
            Applied { order: next, audit, refused: None }
        }
        Action::OverrideGravimetric { by, reason } => {
            if by.role != Role::Supervisor {
                return refuse(
                    by,
                    "gravimetric_deviation",
                    "only a supervisor may override a gravimetric deviation".to_string(),
                );
            }
            if order.gravimetric.as_ref().is_none_or(|g| g.within_tolerance) {
                return refuse(
                    by,
                    "gravimetric_deviation",
                    "there is no gravimetric deviation to override".to_string(),
                );
            }
            if reason.trim().is_empty() {
                return refuse(by, "gravimetric_deviation", "an override needs a justification".to_string());
            }
            next.gravimetric_override = Some(Override { by: by.id.clone(), reason: reason.clone() });
            ok(next, AuditEvent::new("override", Some(&by.id), Some(at), "gravimetric_deviation", reason.clone()))
        }
        Action::PrintLabel { by } => {
            if let Some(why) = order.label_blocker() {
                return refuse(by, "label", format!("label refused: {why}"));
            }
            next.label_printed = true;
            ok(next, AuditEvent::new("label", Some(&by.id), Some(at), "label", "label printed"))
        }
        Action::Bcma { by, matched } => {
            next.bcma_matched = *matched;
            if *matched {
                ok(
                    next,
                    AuditEvent::new("bcma", Some(&by.id), Some(at), "bcma", "wristband and product match the order"),
                )
            } else {
                Applied {
                    order: next,
                    audit: vec![AuditEvent::new(
                        "block",
                        Some(&by.id),
                        Some(at),
                        "bcma_mismatch",
                        "wristband or product does not match the order",
                    )],
                    refused: None,
                }
            }
        }
        Action::Administer { by } => {
            if by.role != Role::Nurse && by.role != Role::Physician {
                return refuse(by, "administer", format!("a {:?} may not administer", by.role));
            }
            if let Some(why) = order.administration_blocker() {
                return refuse(by, "administer", format!("administration refused: {why}"));
            }
            next.administered = true;
            ok(next, AuditEvent::new("administer", Some(&by.id), Some(at), "administer", "given"))
        }
    }
}

fn ok(order: ChemoOrder, event: AuditEvent) -> Applied {
    Applied { order, audit: vec![event], refused: None }
}

/// A regimen version entered into the library by two different people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub regimen_id: String,
    pub version: String,
    pub author: String,
    pub approver: String,
    pub at: String,
}

/// Publishing needs a regimen that compiled without a single problem and two different
/// people (physician or pharmacist). Refusals are audited like publications.
pub fn publish(
    compiled: &CompileOutput,
    author: &Person,
    approver: &Person,
    at: &str,
) -> (Result<Publication, String>, Vec<AuditEvent>) {
    let block = |why: String| {
        let ev = AuditEvent::new("block", Some(&approver.id), Some(at), "publish", why.clone());
        (Err(why), vec![ev])
    };
    let Some(r) = &compiled.regimen else { return block("the regimen did not compile".to_string()) };
    if let Some(first) = compiled.diagnostics.first() {
        return block(format!("{} problem(s), first: {first}", compiled.diagnostics.len()));
    }
    let eligible = |p: &Person| matches!(p.role, Role::Physician | Role::Pharmacist);
    if !eligible(author) || !eligible(approver) {
        return block("publishing needs a physician or pharmacist as author and as approver".to_string());
    }
    if author.id == approver.id {
        return block(format!("{} cannot approve their own regimen: publishing needs two different people", author.id));
    }
    let p = Publication {
        regimen_id: r.id.clone(),
        version: r.version.clone(),
        author: author.id.clone(),
        approver: approver.id.clone(),
        at: at.to_string(),
    };
    let ev = AuditEvent::new(
        "publish",
        Some(&approver.id),
        Some(at),
        &r.id,
        format!("version {} written by {} and approved by {}", r.version, author.id, approver.id),
    );
    (Ok(p), vec![ev])
}
