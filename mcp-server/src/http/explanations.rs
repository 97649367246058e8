//! Explanations of findings (issue 7): the explainer agent posts them, pharmacists read them.
//!
//! `POST /api/v1/pharmacy/{rx_id}/explanations` (role `agent`) stores one explanation of one
//! finding of the prescription's latest stored verification. The server trusts nothing the
//! agent says about the finding: it derives the facts from its own stored verification
//! ([`rxgate_guardrails::findings_from_verification`]), requires the posted `facts_hash` to
//! be the hash of those facts, and runs the explanation guard on the posted text against
//! them — template text included. A text the guard rejects is refused with 422 and the
//! guard's reasons, and the refusal is audited like a stored explanation is.
//!
//! The agent posts the vetted template first, so the pharmacist reads something seconds
//! after verifying, and the model's text when it has one: an `llm` text the guard accepted
//! replaces the `template` stored for the same key (answer `"outcome": "upgraded"`, audited
//! as `explanation_upgraded` with the template it replaced). A template never replaces model
//! text, and a repost of the same source changes nothing (`"outcome": "unchanged"`, the
//! stored row). A new row is `"outcome": "stored"` (201).
//!
//! `text` is the explanation proper (the model's rephrasing, or the template body). The
//! fixed lines a template adds (the registry's management advice, "talk to your
//! pharmacist") are not part of it: advice is what the guard forbids, and the console shows
//! the management advice from the verification itself.
//!
//! `GET /api/v1/pharmacy/{rx_id}/explanations` lists the explanations of the latest
//! verification (an audited read). The console's detail view uses [`explanations_json`].
//!
//! The server links no language model: guarding needs only `rxgate-guardrails`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rxgate_guardrails::{DrugLexicon, GuardVerdict, Language, check_explanation, findings_from_verification};
use rxgate_storage::{Explanation, NewExplanation, PutOutcome, Tx};
use serde_json::{Value, json};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::workflow;

/// Longest text accepted: explanations are a few sentences.
const MAX_TEXT_CHARS: usize = 2000;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExplanationIn {
    /// The finding explained, as [`findings_from_verification`] names it.
    finding_key: String,
    /// The prescription line; the server's own is stored whatever is sent.
    line_no: Option<u32>,
    /// When given, the verification the agent read; a newer one makes the post stale (409).
    verification_id: Option<i64>,
    language: String,
    audience: String,
    text: String,
    source: String,
    model: Option<String>,
    prompt_version: String,
    /// The facts as the agent built them; kept out of storage (the server has its own).
    #[serde(default)]
    facts: Option<Value>,
    facts_hash: String,
    #[serde(default)]
    generated_tokens: u32,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest { message: message.into(), details: None }
}

fn one_of(value: &str, field: &str, known: &[&str]) -> Result<(), AppError> {
    if known.contains(&value) {
        Ok(())
    } else {
        Err(AppError::BadRequest {
            message: format!("`{field}` must be one of {}", known.join(", ")),
            details: Some(json!({"field": field, "known": known})),
        })
    }
}

/// 422 in the contract's error shape: the request was understood and refused on its content.
fn unprocessable(code: &str, message: String, details: Value) -> Response {
    let body = json!({"error": {"code": code, "message": message, "details": details}});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// One stored explanation as the API and the console show it.
pub(crate) fn explanation_json(e: &Explanation) -> Value {
    json!({
        "explanation_id": e.id,
        "rx_id": e.rx_id,
        "verification_id": e.verification_id,
        "line_no": e.line_no,
        "finding_key": e.finding_key,
        "language": e.language,
        "audience": e.audience,
        "text": e.text,
        "source": e.source,
        "model": e.model,
        "prompt_version": e.prompt_version,
        "facts_hash": e.facts_hash,
        "generated_tokens": e.generated_tokens,
        "created_by": e.created_by,
        "created_at": e.created_at,
        "upgraded_at": e.upgraded_at,
    })
}

/// The explanations of a prescription's latest verification, for the console's detail view
/// (read inside the caller's transaction, which audits the read).
pub(crate) async fn explanations_json(tx: &mut Tx, rx_id: i64) -> Result<Vec<Value>, AppError> {
    Ok(tx.list_explanations(rx_id).await?.iter().map(explanation_json).collect())
}

/// `POST /api/v1/pharmacy/{rx_id}/explanations`.
pub(super) async fn post(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
    Json(body): Json<ExplanationIn>,
) -> Result<Response, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    one_of(&body.audience, "audience", &["pharmacist", "patient"])?;
    one_of(&body.source, "source", &["llm", "template"])?;
    let language = Language::parse(&body.language)
        .filter(|_| matches!(body.language.as_str(), "en" | "ms"))
        .ok_or_else(|| AppError::BadRequest {
            message: "`language` must be one of en, ms".into(),
            details: Some(json!({"field": "language", "known": ["en", "ms"]})),
        })?;
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(format!("`text` must hold 1 to {MAX_TEXT_CHARS} characters")));
    }
    for (field, value) in [("prompt_version", body.prompt_version.as_str()), ("finding_key", &body.finding_key)] {
        if value.trim().is_empty() || value.len() > 200 {
            return Err(bad(format!("`{field}` must hold 1 to 200 characters")));
        }
    }
    if body.source == "llm" && body.model.as_deref().is_none_or(|m| m.trim().is_empty()) {
        return Err(bad("`model` is required when `source` is llm"));
    }
    // Accepted for the agent's logs; the server uses its own facts and line.
    let (_agent_facts, _agent_line) = (body.facts, body.line_no);

    let snapshot = app.knowledge.current();
    let lexicon = DrugLexicon::from_registry(&snapshot.registry);
    let mut tx = app.storage.begin().await?;
    // 404 for an unknown prescription, before anything about its verification.
    tx.get_prescription(rx_id).await?;
    let Some(verification) = tx.latest_verification(rx_id).await? else {
        return Err(AppError::Conflict { message: format!("prescription {rx_id} has no stored verification yet") });
    };
    if body.verification_id.is_some_and(|v| v != verification.id) {
        return Err(AppError::Conflict {
            message: format!(
                "prescription {rx_id} was verified again (verification {}); explain the latest verification",
                verification.id
            ),
        });
    }
    let findings = findings_from_verification(&verification.result);
    let Some(finding) = findings.iter().find(|f| f.key == body.finding_key) else {
        let known: Vec<&str> = findings.iter().map(|f| f.key.as_str()).collect();
        return Ok(unprocessable(
            "unknown_finding",
            format!("the latest verification of prescription {rx_id} has no finding {:?}", body.finding_key),
            json!({"known": known, "verification_id": verification.id}),
        ));
    };
    let expected_hash = finding.facts.hash();
    if body.facts_hash != expected_hash {
        return Ok(unprocessable(
            "facts_mismatch",
            "the facts the text was written from are not the facts of the stored verification".into(),
            json!({"facts_hash": expected_hash, "finding_key": finding.key}),
        ));
    }

    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let line_no = finding.line_no;
    if let GuardVerdict::Rejected { reasons } = check_explanation(text, &finding.facts, "", language, &lexicon) {
        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        tracing::info!(rx_id, finding = %finding.key, language = %language, ?reasons, "explanation refused by the guard");
        let event = AuditEvent {
            action: "explanation_refused",
            rx_id: Some(rx_id.to_string()),
            line_no,
            before: String::new(),
            after: json!({"finding_key": finding.key, "language": body.language, "audience": body.audience,
                          "source": body.source, "model": body.model, "prompt_version": body.prompt_version,
                          "facts_hash": expected_hash, "reasons": reasons})
            .to_string(),
        };
        audit::append(&mut tx, &ctx, event).await?;
        tx.commit().await?;
        return Ok(unprocessable(
            "explanation_rejected",
            format!("the explanation guard rejected the text: {}", reasons.join("; ")),
            json!({"reasons": reasons, "finding_key": finding.key}),
        ));
    }

    let new = NewExplanation {
        rx_id,
        verification_id: verification.id,
        line_no: line_no.map(i64::from),
        finding_key: finding.key.clone(),
        language: language.as_str().to_string(),
        audience: body.audience.clone(),
        text: text.to_string(),
        source: body.source.clone(),
        model: body.model.clone().filter(|m| !m.trim().is_empty()),
        prompt_version: body.prompt_version.clone(),
        facts_hash: expected_hash,
        generated_tokens: i64::from(body.generated_tokens),
        created_by: principal.subject.clone(),
    };
    let (stored, outcome) = tx.put_explanation(&new).await?;
    let provenance = |e: &Explanation| {
        json!({"explanation_id": e.id, "finding_key": e.finding_key, "language": e.language,
               "audience": e.audience, "source": e.source, "model": e.model,
               "prompt_version": e.prompt_version, "facts_hash": e.facts_hash})
    };
    let (action, before) = match &outcome {
        PutOutcome::Stored => (Some("explanation_stored"), String::new()),
        // The row now holds the model text, so the audit entry is the only record of the
        // template a pharmacist may already have read.
        PutOutcome::Upgraded { replaced } => {
            let before = replaced.as_ref().map_or_else(
                || json!({"source": "template"}),
                |t| {
                    let mut b = provenance(t);
                    b["text"] = json!(t.text);
                    b["created_by"] = json!(t.created_by);
                    b["created_at"] = json!(t.created_at);
                    b
                },
            );
            (Some("explanation_upgraded"), before.to_string())
        }
        PutOutcome::Unchanged => (None, String::new()),
    };
    if let Some(action) = action {
        let event = AuditEvent {
            action,
            rx_id: Some(rx_id.to_string()),
            line_no,
            before,
            after: provenance(&stored).to_string(),
        };
        audit::append(&mut tx, &ctx, event).await?;
    }
    tx.commit().await?;
    let (status, outcome) = match outcome {
        PutOutcome::Stored => (StatusCode::CREATED, "stored"),
        PutOutcome::Upgraded { .. } => (StatusCode::OK, "upgraded"),
        PutOutcome::Unchanged => (StatusCode::OK, "unchanged"),
    };
    let mut out = explanation_json(&stored);
    out["outcome"] = json!(outcome);
    // Kept for clients written before upgrades existed: true when nothing was written.
    out["replayed"] = json!(outcome == "unchanged");
    Ok((status, Json(out)).into_response())
}

/// `GET /api/v1/pharmacy/{rx_id}/explanations`: the latest verification's explanations.
pub(super) async fn list(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(rx_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let rx_id = workflow::parse_rx_id(&rx_id)?;
    let mut tx = app.storage.begin().await?;
    tx.get_prescription(rx_id).await?;
    let verification_id = tx.latest_verification(rx_id).await?.map(|v| v.id);
    let explanations = explanations_json(&mut tx, rx_id).await?;
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let event = AuditEvent {
        action: "explanations_read",
        rx_id: Some(rx_id.to_string()),
        line_no: None,
        before: String::new(),
        after: String::new(),
    };
    audit::append(&mut tx, &ctx, event).await?;
    tx.commit().await?;
    Ok(Json(json!({"rx_id": rx_id, "verification_id": verification_id, "explanations": explanations})))
}
