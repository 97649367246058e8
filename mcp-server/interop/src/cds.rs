//! CDS Hooks 2.0 (<https://cds-hooks.hl7.org/2.0/>): the discovery document, the
//! `order-select` / `order-sign` request, and cards built from a verification.
//!
//! Indicator from severity: contraindicated and major are `critical` (the clinician must
//! act or give a reason), moderate is `warning`, minor `info`. Every card carries a uuid
//! derived from the hook instance and the finding, so feedback can name it and a repeated
//! call gives the same uuid. A drug rxgate could not check gets an `info` card saying so:
//! silence would read as "no problem".

use rxgate_checks::verify::Verification;
use rxgate_knowledge::{Registry, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fhir::Bundle;

pub const ORDER_SELECT: &str = "rxgate-order-select";
pub const ORDER_SIGN: &str = "rxgate-order-sign";

/// `GET /cds-services`.
pub fn discovery() -> Value {
    let prefetch = json!({
        "patient": "Patient/{{context.patientId}}",
        "allergies": "AllergyIntolerance?patient={{context.patientId}}&clinical-status=active",
        "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    });
    json!({"services": [
        {
            "hook": "order-select",
            "id": ORDER_SELECT,
            "title": "rxgate medication safety (order select)",
            "description": "Interactions, allergies, doses and halal status for the orders being selected, against the patient's allergies and active medicines.",
            "prefetch": prefetch,
            "usageRequirements": "Send draftOrders as a Bundle of MedicationRequest; prefetch or include the Patient for dose checks."
        },
        {
            "hook": "order-sign",
            "id": ORDER_SIGN,
            "title": "rxgate medication safety (order sign)",
            "description": "The same checks on every draft order just before signing.",
            "prefetch": prefetch,
        }
    ]})
}

/// A CDS Hooks request (`POST /cds-services/{id}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRequest {
    pub hook: String,
    pub hook_instance: String,
    pub context: HookContext,
    #[serde(default)]
    pub prefetch: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookContext {
    pub user_id: String,
    pub patient_id: String,
    #[serde(default)]
    pub selections: Vec<String>,
    pub draft_orders: Bundle,
}

/// Why a hook request is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("service `{0}` does not exist")]
    UnknownService(String),
    #[error("service `{service}` answers the `{expected}` hook, not `{got}`")]
    WrongHook { service: String, expected: &'static str, got: String },
}

/// Checks the service id against the hook named in the request.
pub fn check_service(service: &str, request: &HookRequest) -> Result<(), HookError> {
    let expected = match service {
        ORDER_SELECT => "order-select",
        ORDER_SIGN => "order-sign",
        other => return Err(HookError::UnknownService(other.to_string())),
    };
    if request.hook != expected {
        return Err(HookError::WrongHook { service: service.into(), expected, got: request.hook.clone() });
    }
    Ok(())
}

/// The draft orders plus prefetched Patient, allergies and medications as one intake bundle.
pub fn intake_bundle(request: &HookRequest) -> Bundle {
    let mut bundle = request.context.draft_orders.clone();
    bundle.identifier = None;
    for value in request.prefetch.iter().flat_map(|p| p.values()) {
        match value.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {
                for entry in value["entry"].as_array().into_iter().flatten() {
                    if let Some(resource) = entry.get("resource") {
                        push_active_list_entry(&mut bundle, resource);
                    }
                }
            }
            Some(_) => push_active_list_entry(&mut bundle, value),
            None => {}
        }
    }
    bundle
}

/// Prefetched MedicationRequests are the patient's current medicines, not new orders: they
/// enter the bundle as MedicationStatements.
fn push_active_list_entry(bundle: &mut Bundle, resource: &Value) {
    let resource = if resource["resourceType"] == "MedicationRequest" {
        json!({
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": resource["medicationCodeableConcept"],
            "subject": resource["subject"],
        })
    } else {
        resource.clone()
    };
    bundle.entry.push(crate::fhir::BundleEntry { full_url: None, resource: Some(resource) });
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    pub uuid: String,
    pub summary: String,
    pub detail: String,
    pub indicator: &'static str,
    pub source: CardSource,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_behavior: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub override_reasons: Vec<OverrideReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardSource {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<OverrideReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub label: String,
    pub uuid: String,
    pub is_recommended: bool,
    pub actions: Vec<Value>,
}

/// A Coding (CDS Hooks uses plain Codings for override reasons and topics).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideReason {
    pub code: &'static str,
    pub system: &'static str,
    pub display: &'static str,
}

const REASON_SYSTEM: &str = "urn:rxgate:cds:override-reason";

pub const OVERRIDE_REASONS: [OverrideReason; 4] = [
    OverrideReason { code: "benefit-outweighs-risk", system: REASON_SYSTEM, display: "Benefit outweighs the risk" },
    OverrideReason { code: "tolerated-before", system: REASON_SYSTEM, display: "Patient has tolerated this before" },
    OverrideReason { code: "will-monitor", system: REASON_SYSTEM, display: "Will monitor and adjust" },
    OverrideReason { code: "not-applicable", system: REASON_SYSTEM, display: "Alert does not apply to this patient" },
];

fn indicator(severity: Severity) -> &'static str {
    match severity {
        Severity::Contraindicated | Severity::Major => "critical",
        Severity::Moderate => "warning",
        Severity::Minor => "info",
    }
}

/// A stable uuid (RFC 4122 layout, version 8: custom) from the hook instance and a finding.
pub fn card_uuid(hook_instance: &str, finding: &str) -> String {
    let h = Sha256::digest(format!("rxgate-cds-card\n{hook_instance}\n{finding}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

/// At most 139 characters (CDS Hooks: summary "<140 characters"), cut on a char boundary.
pub fn summary(text: &str) -> String {
    if text.chars().count() < 140 {
        return text.to_string();
    }
    let mut out: String = text.chars().take(138).collect();
    out.push('…');
    out
}

/// The order a card's line came from, for suggestions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOrder {
    /// `MedicationRequest/<id>` as it appears in draftOrders.
    pub reference: String,
    /// The INN the line mapped to (or the sender's text).
    pub generic: String,
}

/// What a card set is built from.
pub struct CardInput<'a> {
    pub hook_instance: &'a str,
    pub registry: &'a Registry,
    pub knowledge_version: &'a str,
    pub verification: &'a Verification,
    pub orders: &'a [DraftOrder],
    /// For `order-select`: only findings touching these generics (empty: all).
    pub selected: &'a [String],
    /// Codes that did not map (display text), each reported on an `info` card.
    pub unmapped: &'a [String],
}

/// Cards for one hook call, most severe first.
pub fn cards(input: &CardInput<'_>) -> Vec<Card> {
    let v = input.verification;
    let source = || CardSource { label: format!("rxgate knowledge {}", input.knowledge_version), topic: None };
    let touches = |drugs: &[String]| {
        input.selected.is_empty() || drugs.iter().any(|d| input.selected.iter().any(|s| s.eq_ignore_ascii_case(d)))
    };
    let mut out: Vec<(Severity, Card)> = Vec::new();
    for i in &v.ddi.interactions {
        if !touches(&i.drugs) {
            continue;
        }
        let finding = format!("ddi:{}", i.drugs.join("+"));
        let uuid = card_uuid(input.hook_instance, &finding);
        let suggestions: Vec<Suggestion> = i
            .alternatives
            .iter()
            .enumerate()
            .filter_map(|(n, alt)| swap_suggestion(input, &i.drugs, alt, &uuid, n == 0))
            .collect();
        let card = Card {
            uuid,
            summary: summary(&format!("{} + {}: {} interaction", i.drugs[0], i.drugs[1], i.severity.as_str())),
            detail: format!(
                "{}\n\n**Effect:** {}\n\n**Management:** {}\n\nSources: {}",
                i.mechanism,
                i.effect,
                i.management,
                i.sources.join(", ")
            ),
            indicator: indicator(i.severity),
            source: source(),
            selection_behavior: (!suggestions.is_empty()).then_some("at-most-one"),
            suggestions,
            override_reasons: if i.severity >= Severity::Moderate { OVERRIDE_REASONS.to_vec() } else { Vec::new() },
        };
        out.push((i.severity, card));
    }
    for a in &v.allergy.alerts {
        if !touches(std::slice::from_ref(&a.generic)) {
            continue;
        }
        let finding = format!("allergy:{}:{}", a.generic, a.allergy);
        out.push((
            a.severity,
            Card {
                uuid: card_uuid(input.hook_instance, &finding),
                summary: summary(&format!("{} with a recorded {} allergy", a.generic, a.allergy)),
                detail: format!("{}\n\nSources: {}", a.note, a.sources.join(", ")),
                indicator: indicator(a.severity),
                source: source(),
                suggestions: Vec::new(),
                selection_behavior: None,
                override_reasons: OVERRIDE_REASONS.to_vec(),
            },
        ));
    }
    for d in &v.doses {
        let Ok(report) = &d.result else { continue };
        let severity = match report.verdict {
            rxgate_checks::dose::Verdict::Contraindicated => Severity::Contraindicated,
            rxgate_checks::dose::Verdict::Overdose | rxgate_checks::dose::Verdict::Adjust => Severity::Major,
            rxgate_checks::dose::Verdict::Underdose => Severity::Moderate,
            _ => continue,
        };
        let generic = report.generic.clone().unwrap_or_else(|| report.drug.clone());
        if !touches(std::slice::from_ref(&generic)) {
            continue;
        }
        let verdict = format!("{:?}", report.verdict).to_lowercase();
        let flags: Vec<String> = report.flags.iter().map(|f| f.message.clone()).collect();
        out.push((
            severity,
            Card {
                uuid: card_uuid(input.hook_instance, &format!("dose:{}:{generic}", d.line_no)),
                summary: summary(&format!("{generic}: dose {verdict}")),
                detail: format!("{}\n\n{}", report.basis, flags.join("\n")),
                indicator: indicator(severity),
                source: source(),
                suggestions: Vec::new(),
                selection_behavior: None,
                override_reasons: OVERRIDE_REASONS.to_vec(),
            },
        ));
    }
    let mut unknown: Vec<&String> = v.unknown.iter().chain(input.unmapped).collect();
    unknown.sort();
    unknown.dedup();
    if !unknown.is_empty() {
        let names = unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        out.push((
            Severity::Minor,
            Card {
                uuid: card_uuid(input.hook_instance, &format!("unknown:{names}")),
                summary: summary(&format!("Not checked by rxgate (unknown): {names}")),
                detail: "These inputs are not in the knowledge registry, so no interaction, allergy or dose check covered them. Check them by hand.".into(),
                indicator: "info",
                source: source(),
                suggestions: Vec::new(),
                selection_behavior: None,
                override_reasons: Vec::new(),
            },
        ));
    }
    // Most severe first; ties keep the checks' deterministic order.
    out.sort_by_key(|(severity, _)| std::cmp::Reverse(*severity));
    out.into_iter().map(|(_, c)| c).collect()
}

/// "Replace X with Y": delete the draft order for the replaced side, create one for the
/// alternative. The replaced side is the one in the alternative's ATC subgroup (level 3),
/// as the interaction check chose the alternative.
fn swap_suggestion(
    input: &CardInput<'_>,
    pair: &[String],
    alternative: &str,
    card: &str,
    recommended: bool,
) -> Option<Suggestion> {
    let reg = input.registry;
    let level3 = |inn: &str| {
        reg.generic_by_inn(inn).and_then(|g| reg.generic(g).atc.first().and_then(|c| c.get(..4)).map(str::to_string))
    };
    let alt3 = level3(alternative)?;
    let replaced = pair.iter().find(|p| level3(p).as_deref() == Some(alt3.as_str()))?;
    let order = input.orders.iter().find(|o| o.generic.eq_ignore_ascii_case(replaced))?;
    Some(Suggestion {
        label: format!("Replace {replaced} with {alternative}"),
        uuid: card_uuid(card, &format!("swap:{replaced}:{alternative}")),
        is_recommended: recommended,
        actions: vec![
            json!({"type": "delete", "description": format!("Remove the {replaced} order"), "resourceId": [order.reference]}),
            json!({"type": "create", "description": format!("Order {alternative} instead"), "resource": {
                "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                "medicationCodeableConcept": {"text": alternative},
                "subject": {"reference": format!("Patient/{}", "{{context.patientId}}")},
            }}),
        ],
    })
}

/// `POST /cds-services/{id}/feedback` body.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedbackBody {
    pub feedback: Vec<Feedback>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    pub card: String,
    /// `accepted` or `overridden`.
    pub outcome: String,
    #[serde(default)]
    pub accepted_suggestions: Vec<Value>,
    #[serde(default)]
    pub override_reason: Option<Value>,
    pub outcome_timestamp: String,
}

impl Feedback {
    /// Only the two outcomes CDS Hooks 2.0 defines.
    pub fn outcome_is_valid(&self) -> bool {
        matches!(self.outcome.as_str(), "accepted" | "overridden")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::CodeMaps;
    use chrono::NaiveDate;

    fn registry() -> Registry {
        rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry").registry
    }

    fn request(drugs: &[(&str, &str, u32)], hook: &str) -> HookRequest {
        let entry: Vec<Value> = drugs
            .iter()
            .map(|(id, rxcui, mg)| json!({"resource": {"resourceType": "MedicationRequest", "id": id, "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/p1"},
                "medicationCodeableConcept": {"coding": [{"system": crate::fhir::RXNORM, "code": rxcui}]},
                "dosageInstruction": [{"timing": {"code": {"coding": [{"system": crate::fhir::GTS_ABBREVIATION, "code": "BID"}]}},
                    "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": crate::fhir::UCUM, "code": "mg"}}]}]}}))
            .collect();
        serde_json::from_value(json!({
            "hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"userId": "Practitioner/drlim", "patientId": "p1",
                "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": entry}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1964-05-02"}}
        }))
        .expect("request")
    }

    fn run(req: &HookRequest) -> Vec<Card> {
        let reg = registry();
        let maps = CodeMaps::bundled(&reg).expect("maps");
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let draft = crate::intake::read_bundle(&reg, &maps, &intake_bundle(req), today).expect("draft");
        let check = crate::checks_input(&draft);
        let v = rxgate_checks::verify::verify(&reg, &check, today);
        let orders: Vec<DraftOrder> =
            draft.lines.iter().map(|l| DraftOrder { reference: l.source.clone(), generic: l.drug.clone() }).collect();
        cards(&CardInput {
            hook_instance: &req.hook_instance,
            registry: &reg,
            knowledge_version: "test",
            verification: &v,
            orders: &orders,
            selected: &[],
            unmapped: &[],
        })
    }

    #[test]
    fn amlodipine_with_clarithromycin_gives_a_critical_card_that_swaps_to_azithromycin() {
        let req = request(&[("mr-a", "17767", 5), ("mr-c", "21212", 500)], "order-sign");
        check_service(ORDER_SIGN, &req).expect("hook matches");
        let cards = run(&req);
        let card = cards.iter().find(|c| c.summary.contains("amlodipine") && c.summary.contains("clarithromycin"));
        let card = card.unwrap_or_else(|| panic!("no interaction card: {cards:#?}"));
        assert!(matches!(card.indicator, "critical" | "warning"), "{card:?}");
        assert!(card.summary.chars().count() < 140);
        assert!(!card.override_reasons.is_empty());
        let swap = card.suggestions.iter().find(|s| s.label == "Replace clarithromycin with azithromycin");
        let swap = swap.unwrap_or_else(|| panic!("no swap suggestion: {:?}", card.suggestions));
        assert_eq!(swap.actions[0]["type"], "delete");
        assert_eq!(swap.actions[0]["resourceId"][0], "MedicationRequest/mr-c");
        assert_eq!(swap.actions[1]["resource"]["medicationCodeableConcept"]["text"], "azithromycin");
        assert_eq!(card.selection_behavior, Some("at-most-one"));
        // Same hook instance → same uuids, so feedback can refer to them.
        assert_eq!(run(&req)[0].uuid, cards[0].uuid);
    }

    #[test]
    fn a_single_clean_order_gets_no_card_and_an_unknown_one_is_never_silent() {
        let cards = run(&request(&[("mr-o", "7646", 20)], "order-select"));
        assert!(cards.is_empty(), "{cards:#?}");
        let mut req = request(&[("mr-x", "7646", 20)], "order-select");
        req.context.draft_orders.entry[0].resource.as_mut().expect("resource")["medicationCodeableConcept"] =
            json!({"text": "Zyxomab"});
        let cards = run(&req);
        assert_eq!(cards.len(), 1, "{cards:#?}");
        assert_eq!(cards[0].indicator, "info");
        assert!(cards[0].summary.contains("Zyxomab"));
    }

    #[test]
    fn a_request_for_the_wrong_hook_or_service_is_refused() {
        let req = request(&[("mr-a", "17767", 5)], "order-select");
        assert!(matches!(check_service(ORDER_SIGN, &req), Err(HookError::WrongHook { .. })));
        assert!(matches!(check_service("nope", &req), Err(HookError::UnknownService(_))));
    }

    #[test]
    fn summaries_stay_under_140_characters_and_uuids_are_well_formed() {
        let long = "x".repeat(300);
        assert_eq!(summary(&long).chars().count(), 139);
        let u = card_uuid("a", "b");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "8");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
