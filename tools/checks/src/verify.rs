//! A whole prescription checked at once: interactions (with the patient's current
//! medicines), allergies, doses, halal status and cheaper generics, each check on its own
//! thread, then summarised per line and as one `blocking` decision for the pharmacist.

use chrono::NaiveDate;
use rxgate_knowledge::{Registry, Severity};
use rxgate_units::Number;

use crate::{allergy, ddi, dose, generics, halal};

/// One line of a prescription.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub line_no: u32,
    pub drug: String,
    /// Amount per administration and its UCUM unit; absent when the order gives none.
    pub dose: Option<(Number, String)>,
    pub frequency: Option<dose::Frequency>,
    pub route: Option<String>,
    pub duration_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrescriptionCheck {
    pub patient: dose::Patient,
    pub allergies: Vec<String>,
    pub active_medications: Vec<String>,
    pub halal_preference: halal::Preference,
    pub lines: Vec<Line>,
}

/// The dose check of one line: its report, or why it could not be checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LineDose {
    pub line_no: u32,
    pub result: Result<dose::DoseReport, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineSummary {
    pub line_no: u32,
    pub generic: Option<String>,
    /// The most severe clinical finding touching this line.
    pub highest_severity: Option<Severity>,
    pub blocking: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub ddi: ddi::DdiReport,
    pub allergy: allergy::AllergyReport,
    pub doses: Vec<LineDose>,
    pub halal: halal::HalalReport,
    pub generics: Vec<(u32, generics::SuggestReport)>,
    pub lines: Vec<LineSummary>,
    pub highest_severity: Option<Severity>,
    /// True when any finding forbids dispensing without a pharmacist's decision.
    pub blocking: bool,
    pub unknown: Vec<String>,
}

/// Maps a dose verdict onto the clinical severity scale, so one number orders a line.
fn dose_severity(verdict: dose::Verdict) -> Option<Severity> {
    match verdict {
        dose::Verdict::Ok | dose::Verdict::NoRule => None,
        dose::Verdict::Underdose => Some(Severity::Moderate),
        dose::Verdict::Adjust | dose::Verdict::Overdose => Some(Severity::Major),
        dose::Verdict::Contraindicated => Some(Severity::Contraindicated),
    }
}

pub fn verify(reg: &Registry, rx: &PrescriptionCheck, today: NaiveDate) -> Verification {
    let drugs: Vec<String> = rx.lines.iter().map(|l| l.drug.clone()).collect();
    // The checks are independent; each runs on its own scoped thread so the slowest one,
    // not their sum, sets the latency.
    let (ddi_report, allergy_report, halal_report, doses, suggestions) = std::thread::scope(|s| {
        let ddi = s.spawn(|| {
            ddi::check(
                reg,
                &ddi::DdiRequest { drugs: drugs.clone(), active_medications: rx.active_medications.clone() },
            )
        });
        let allergy = s.spawn(|| {
            allergy::check(reg, &allergy::AllergyRequest { drugs: drugs.clone(), allergies: rx.allergies.clone() })
        });
        let halal =
            s.spawn(|| halal::check(reg, &halal::HalalRequest::Drugs(drugs.clone()), rx.halal_preference, Some(today)));
        let doses = s.spawn(|| rx.lines.iter().map(|l| line_dose(reg, rx, l)).collect::<Vec<_>>());
        let suggestions = rx.lines.iter().map(|l| (l.line_no, generics::suggest(reg, &l.drug))).collect::<Vec<_>>();
        // A panic in a check is a bug; surfacing it beats returning a verification that
        // silently lacks that check.
        (
            ddi.join().expect("ddi check panicked"),
            allergy.join().expect("allergy check panicked"),
            halal.join().expect("halal check panicked"),
            doses.join().expect("dose check panicked"),
            suggestions,
        )
    });

    let mut unknown = ddi_report.unknown.clone();
    for u in allergy_report.unknown.iter().chain(&halal_report.unknown) {
        if !unknown.contains(u) {
            unknown.push(u.clone());
        }
    }
    let lines: Vec<LineSummary> =
        rx.lines.iter().map(|l| summarise_line(reg, l, &ddi_report, &allergy_report, &halal_report, &doses)).collect();
    let highest_severity = lines.iter().filter_map(|l| l.highest_severity).max();
    let blocking = lines.iter().any(|l| l.blocking) || !unknown.is_empty();
    Verification {
        ddi: ddi_report,
        allergy: allergy_report,
        doses,
        halal: halal_report,
        generics: suggestions,
        lines,
        highest_severity,
        blocking,
        unknown,
    }
}

fn line_dose(reg: &Registry, rx: &PrescriptionCheck, line: &Line) -> LineDose {
    let result = match (&line.dose, &line.frequency, &line.route) {
        (Some((amount, unit)), Some(frequency), Some(route)) => dose::check(
            reg,
            &dose::DoseRequest {
                drug: line.drug.clone(),
                route: route.clone(),
                dose: amount.clone(),
                dose_unit: unit.clone(),
                frequency: frequency.clone(),
                indication: None,
                patient: rx.patient.clone(),
            },
        )
        .map_err(|e| e.to_string()),
        _ => Err("the line has no dose, frequency or route, so its dose was not checked".to_string()),
    };
    LineDose { line_no: line.line_no, result }
}

fn summarise_line(
    reg: &Registry,
    line: &Line,
    ddi_report: &ddi::DdiReport,
    allergy_report: &allergy::AllergyReport,
    halal_report: &halal::HalalReport,
    doses: &[LineDose],
) -> LineSummary {
    let mut reasons = Vec::new();
    let mut highest: Option<Severity> = None;
    let mut blocking = false;
    let generic = reg.resolve(&line.drug).map(|r| reg.generic(r.generic).inn.clone());
    if generic.is_none() {
        blocking = true;
        reasons.push(format!("`{}` is not in the knowledge registry: nothing was checked", line.drug));
    }
    for i in ddi_report.interactions.iter().filter(|i| i.inputs.contains(&line.drug)) {
        highest = highest.max(Some(i.severity));
        if i.interruptive && i.severity >= Severity::Major {
            blocking = true;
            reasons.push(format!("{} interaction: {}", i.severity, i.drugs.join(" + ")));
        }
    }
    for a in allergy_report.alerts.iter().filter(|a| a.drug == line.drug) {
        highest = highest.max(Some(a.severity));
        if a.severity >= Severity::Major {
            blocking = true;
            reasons.push(format!("{} allergy alert ({}): {}", a.severity, a.kind.as_str(), a.allergy));
        }
    }
    if let Some(d) = doses.iter().find(|d| d.line_no == line.line_no) {
        match &d.result {
            Ok(report) => {
                let severity = dose_severity(report.verdict);
                highest = highest.max(severity);
                if severity.is_some() {
                    blocking = true;
                    reasons.push(format!("dose {}: {}", report.verdict, report.basis));
                }
            }
            Err(why) => {
                blocking = true;
                reasons.push(format!("dose not checked: {why}"));
            }
        }
    }
    for h in halal_report.results.iter().filter(|h| h.drug.as_deref() == Some(line.drug.as_str())) {
        if h.action == halal::Action::Block {
            blocking = true;
            reasons.push(format!("halal: {} under the patient's halal-only preference", h.status.as_str()));
        }
    }
    LineSummary { line_no: line.line_no, generic, highest_severity: highest, blocking, reasons }
}
