//! Chemotherapy workflow over REST (issue 9). The rules are `rxgate-regimen`'s; this module
//! stores orders and publications, maps the caller to a person, and audits every step.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /chemo/orders` `{patient_id, evaluation}` | pharmacist, physician | evaluates (`regimen_eval` input), stores the order with its hard stops and holds; every hold and block is audited |
//! | `GET /chemo/orders?limit=` | pharmacist, physician | the newest orders (default 50, at most 500), each as below |
//! | `GET /chemo/orders/{id}` | pharmacist, physician | the order's state, replayed from its accepted actions |
//! | `POST /chemo/orders/{id}/actions` | pharmacist, physician | one workflow action: `sign` (`check`: prescribing/compounding), `override_hold`, `override_hard_stop` (always refused), `gravimetric`, `override_gravimetric`, `print_label`, `bcma` (`wristband`, `product_scan`, `drug`), `administer` |
//! | `POST /chemo/regimens/{id}/propose`, `/publish` | pharmacist, physician | four-eyes publication of a bundled regimen version |
//!
//! The state of an order is never stored, only the hard stops and holds of its evaluation
//! and the actions accepted since: replaying them through [`workflow::apply`] gives the
//! state, so it cannot drift from its own history. A refused action changes nothing but is
//! audited (`chemo_block`) and answered 409 (or 403 for the role). Qualifications a token
//! role does not carry (supervisor, cardiologist, nurse) are asked for with `acting_as` and
//! checked against `chemo_qualifications`.

use axum::Json;
use axum::extract::{Path, State};
use rxgate_regimen::workflow::{self, Action, Check, ChemoOrder, Person, Role as ChemoRole};
use rxgate_regimen::{Finding, OverrideRole};
use rxgate_storage::{ChemoOrderRow, NewChemoOrder, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::middleware::{Caller, CorrelationId};
use super::{AppError, AppState};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::auth::{Principal, Role};
use crate::wire::common::NumberIn;
use crate::wire::regimen::{FindingOut, RegimenEvalInput, RegimenEvalOutput};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewOrderIn {
    patient_id: String,
    /// A `regimen_eval` input.
    evaluation: Value,
}

/// One action as posted, and as kept in the order's log once accepted (with who and when).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionIn {
    action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_g: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured_g: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wristband: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_scan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acting_as: Option<String>,
    /// Set by the server: the BCMA result, who acted and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    matched: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StoredFindings {
    hard_stops: Vec<FindingOut>,
    holds: Vec<FindingOut>,
}

fn to_finding(f: &FindingOut) -> Finding {
    Finding {
        code: f.code.clone(),
        message: f.message.clone(),
        drug: f.drug.clone(),
        override_by: f.override_by.as_deref().and_then(OverrideRole::parse),
        sources: f.sources.clone(),
    }
}

fn role_name(r: ChemoRole) -> &'static str {
    match r {
        ChemoRole::Physician => "physician",
        ChemoRole::Pharmacist => "pharmacist",
        ChemoRole::PharmacyTechnician => "pharmacy_technician",
        ChemoRole::Nurse => "nurse",
        ChemoRole::Cardiologist => "cardiologist",
        ChemoRole::Supervisor => "supervisor",
        ChemoRole::Agent => "agent",
    }
}

/// The person acting: the token's role, or a qualification the database grants this subject.
async fn person(tx: &mut Tx, principal: &Principal, acting_as: Option<&str>) -> Result<Person, AppError> {
    if let Some(q) = acting_as {
        let role = ChemoRole::parse(q)
            .filter(|r| {
                matches!(
                    r,
                    ChemoRole::Supervisor | ChemoRole::Cardiologist | ChemoRole::Nurse | ChemoRole::PharmacyTechnician
                )
            })
            .ok_or_else(|| {
                AppError::bad_request("`acting_as` must be supervisor, cardiologist, nurse or pharmacy_technician")
            })?;
        if !tx.has_chemo_qualification(&principal.subject, role_name(role)).await? {
            return Err(AppError::Rejected {
                code: "not_qualified",
                message: format!("{} is not recorded as {}", principal.subject, role_name(role)),
                details: None,
            });
        }
        return Ok(Person::new(&principal.subject, role));
    }
    let role = match principal.role {
        Role::Pharmacist => ChemoRole::Pharmacist,
        Role::Physician => ChemoRole::Physician,
        _ => ChemoRole::Agent,
    };
    Ok(Person::new(&principal.subject, role))
}

fn q(text: &Option<String>, field: &str) -> Result<rxgate_regimen::Q, AppError> {
    let t = text.as_deref().ok_or_else(|| AppError::bad_request(format!("`{field}` is required for this action")))?;
    NumberIn::Text(t.to_string()).parse(field).map(|n| n.into_ratio()).map_err(AppError::bad_request)
}

fn to_action(a: &ActionIn, by: Person) -> Result<Action, AppError> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(match a.action.as_str() {
        "sign" => Action::Sign {
            check: match a.check.as_deref() {
                Some("prescribing") => Check::Prescribing,
                Some("compounding") => Check::Compounding,
                _ => return Err(AppError::bad_request("`check` must be prescribing or compounding")),
            },
            by,
        },
        "override_hold" => Action::OverrideHold { code: text(&a.code), by, reason: text(&a.reason) },
        "override_hard_stop" => Action::OverrideHardStop { code: text(&a.code), by, reason: text(&a.reason) },
        "gravimetric" => Action::RecordGravimetric {
            by,
            expected_g: q(&a.expected_g, "expected_g")?,
            measured_g: q(&a.measured_g, "measured_g")?,
        },
        "override_gravimetric" => Action::OverrideGravimetric { by, reason: text(&a.reason) },
        "print_label" => Action::PrintLabel { by },
        "bcma" => Action::Bcma { by, matched: a.matched.unwrap_or(false) },
        "administer" => Action::Administer { by },
        other => return Err(AppError::bad_request(format!("unknown action `{other}`"))),
    })
}

/// The order's state: its findings with every accepted action replayed.
fn replay(row: &ChemoOrderRow, rules: &rxgate_regimen::Rules) -> Result<(ChemoOrder, Vec<ActionIn>), AppError> {
    let internal = |e: serde_json::Error| AppError::Internal(anyhow::anyhow!("chemo order {}: {e}", row.id));
    let findings: StoredFindings = serde_json::from_str(&row.findings).map_err(internal)?;
    let actions: Vec<ActionIn> = serde_json::from_str(&row.actions).map_err(internal)?;
    let mut order = ChemoOrder {
        patient_id: row.patient_id.clone(),
        hard_stops: findings.hard_stops.iter().map(to_finding).collect(),
        holds: findings.holds.iter().map(to_finding).collect(),
        overrides: Default::default(),
        prescribing: vec![],
        compounding: vec![],
        gravimetric: None,
        gravimetric_override: None,
        label_printed: false,
        bcma_matched: false,
        administered: false,
    };
    for a in &actions {
        let role = a.role.as_deref().and_then(ChemoRole::parse).unwrap_or(ChemoRole::Agent);
        let by = Person::new(a.by.as_deref().unwrap_or_default(), role);
        order = workflow::apply(&order, &to_action(a, by)?, a.at.as_deref().unwrap_or_default(), rules).order;
    }
    Ok((order, actions))
}

fn state_json(row: &ChemoOrderRow, order: &ChemoOrder) -> Value {
    let f = |x: &Finding| {
        json!({"code": x.code, "message": x.message, "drug": x.drug,
        "override_by": x.override_by.map(|o| o.as_str())})
    };
    json!({
        "order_id": row.id,
        "version": row.version,
        "patient_id": row.patient_id,
        "regimen": {"id": row.regimen_id, "version": row.regimen_version},
        "cycle": row.cycle,
        "day": row.day,
        "hard_stops": order.hard_stops.iter().map(f).collect::<Vec<_>>(),
        "holds": order.holds.iter().map(|h| {
            let mut v = f(h);
            v["overridden_by"] = json!(order.overrides.get(&h.code).map(|o| &o.by));
            v
        }).collect::<Vec<_>>(),
        "prescribing_check": order.prescribing,
        "compounding_check": order.compounding,
        "gravimetric": order.gravimetric.as_ref().map(|g| json!({
            "deviation_pct": g.deviation_pct_text(), "within_tolerance": g.within_tolerance,
            "overridden_by": order.gravimetric_override.as_ref().map(|o| &o.by)})),
        "label_printed": order.label_printed,
        "bcma_matched": order.bcma_matched,
        "administered": order.administered,
        "label_blocked_because": order.label_blocker(),
        "administration_blocked_because": order.administration_blocker(),
    })
}

fn chemo_ref(id: i64) -> Option<String> {
    Some(format!("chemo-{id}"))
}

/// `POST /api/v1/chemo/orders`.
pub(super) async fn create_order(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Json(body): Json<NewOrderIn>,
) -> Result<Json<Value>, AppError> {
    let snapshot = app.knowledge.current();
    let mut tx = app.storage.begin().await?;
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let (row, out) = record_order(&mut tx, &snapshot, &ctx, &body.patient_id, &body.evaluation).await?;
    tx.commit().await?;
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let (order, _) = replay(&row, &lib.rules)?;
    Ok(Json(json!({"order": state_json(&row, &order), "evaluation": out})))
}

/// Evaluates a `regimen_eval` input and stores the order with its hard stops and holds,
/// each audited, in `tx` (the caller commits). The demo seeds its orders through here too.
pub(crate) async fn record_order(
    tx: &mut Tx,
    snapshot: &rxgate_knowledge::Snapshot,
    ctx: &AuditContext<'_>,
    patient_id: &str,
    evaluation: &Value,
) -> Result<(ChemoOrderRow, RegimenEvalOutput), AppError> {
    if patient_id.trim().is_empty() {
        return Err(AppError::bad_request("`patient_id` is required"));
    }
    let input: RegimenEvalInput = crate::wire::parse_args(evaluation.clone()).map_err(AppError::bad_request)?;
    let today = chrono::Utc::now().date_naive();
    let out: RegimenEvalOutput =
        crate::wire::regimen::evaluate(snapshot, &input, today).map_err(AppError::bad_request)?;
    // The doses as computed when ordered are kept with the findings: the console shows
    // what was checked, not a re-evaluation under later knowledge.
    let findings = json!({"hard_stops": out.hard_stops, "holds": out.holds, "doses": out.doses, "bsa_m2": out.bsa_m2});
    let row = tx
        .insert_chemo_order(&NewChemoOrder {
            patient_id: patient_id.to_string(),
            regimen_id: out.regimen.id.clone(),
            regimen_version: out.regimen.version.clone(),
            cycle: i64::from(input.cycle),
            day: i64::from(input.day),
            request: evaluation.to_string(),
            findings: findings.to_string(),
            created_by: ctx.principal.subject.clone(),
        })
        .await?;
    let summary = json!({"regimen": out.regimen.id, "version": out.regimen.version, "cycle": input.cycle, "day": input.day,
        "hard_stops": out.hard_stops.len(), "holds": out.holds.len()});
    audit::append(
        tx,
        ctx,
        AuditEvent {
            action: "chemo_order",
            rx_id: chemo_ref(row.id),
            line_no: None,
            before: String::new(),
            after: summary.to_string(),
        },
    )
    .await?;
    for a in &out.audit {
        let action = if a.action == "block" { "chemo_block" } else { "chemo_hold" };
        let after = json!({"code": a.code, "detail": a.detail}).to_string();
        audit::append(
            tx,
            ctx,
            AuditEvent { action, rx_id: chemo_ref(row.id), line_no: None, before: String::new(), after },
        )
        .await?;
    }
    Ok((row, out))
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>().map_err(|_| AppError::NotFound { message: format!("no chemotherapy order {id}") })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    limit: Option<i64>,
}

/// `GET /api/v1/chemo/orders?limit=`: the newest orders with their state and the doses as
/// computed when ordered (`null` for orders stored before the doses were kept).
pub(super) async fn list_orders(
    State(app): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request("`limit` must be between 1 and 500"));
    }
    let snapshot = app.knowledge.current();
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let mut tx = app.storage.begin_read().await?;
    let rows = tx.list_chemo_orders(limit).await?;
    drop(tx);
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        let (order, _) = replay(row, &lib.rules)?;
        let mut out = state_json(row, &order);
        let findings: Value = serde_json::from_str(&row.findings).unwrap_or(Value::Null);
        out["doses"] = findings["doses"].clone();
        out["bsa_m2"] = findings["bsa_m2"].clone();
        out["created_by"] = json!(row.created_by);
        out["created_at"] = json!(row.created_at);
        orders.push(out);
    }
    Ok(Json(json!({ "orders": orders })))
}

/// `GET /api/v1/chemo/orders/{id}`.
pub(super) async fn get_order(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, AppError> {
    let id = parse_id(&id)?;
    let snapshot = app.knowledge.current();
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let mut tx = app.storage.begin_read().await?;
    let row = tx.get_chemo_order(id).await?;
    let (order, _) = replay(&row, &lib.rules)?;
    Ok(Json(json!({"order": state_json(&row, &order)})))
}

/// `POST /api/v1/chemo/orders/{id}/actions`.
pub(super) async fn act(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(id): Path<String>,
    Json(mut body): Json<ActionIn>,
) -> Result<Json<Value>, AppError> {
    let id = parse_id(&id)?;
    if body.by.is_some() || body.role.is_some() || body.at.is_some() || body.matched.is_some() {
        return Err(AppError::bad_request("`by`, `role`, `at` and `matched` are set by the server"));
    }
    let snapshot = app.knowledge.current();
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let mut tx = app.storage.begin().await?;
    let row = tx.get_chemo_order(id).await?;
    let (order, mut log) = replay(&row, &lib.rules)?;
    let by = person(&mut tx, &principal, body.acting_as.as_deref()).await?;
    if body.action == "bcma" {
        let (Some(wristband), Some(scan), Some(drug)) = (&body.wristband, &body.product_scan, &body.drug) else {
            return Err(AppError::bad_request("`bcma` needs `wristband`, `product_scan` and `drug`"));
        };
        let expected =
            rxgate_regimen::devices::BcmaExpectation { patient_id: row.patient_id.clone(), drug: drug.clone() };
        let result = rxgate_regimen::devices::bcma_check(
            &expected,
            wristband,
            scan,
            &snapshot.registry,
            chrono::Utc::now().date_naive(),
        );
        body.matched = Some(result.matched);
    }
    let at = tx.now().to_rfc3339();
    let action = to_action(&body, by.clone())?;
    let applied = workflow::apply(&order, &action, &at, &lib.rules);
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let mut stored = row.clone();
    if applied.refused.is_none() {
        body.by = Some(by.id.clone());
        body.role = Some(role_name(by.role).to_string());
        body.at = Some(at);
        log.push(body.clone());
        let actions = serde_json::to_string(&log).map_err(|e| AppError::Internal(e.into()))?;
        stored = tx.update_chemo_actions(id, row.version, &actions).await?;
    }
    for e in &applied.audit {
        let action = match e.action.as_str() {
            "block" => "chemo_block",
            "override" => "chemo_override",
            "sign" => "chemo_sign",
            "gravimetric" => "chemo_gravimetric",
            "label" => "chemo_label",
            "bcma" => "chemo_bcma",
            "administer" => "chemo_administer",
            _ => "chemo_action",
        };
        let after = json!({"code": e.code, "detail": e.detail, "acting_as": role_name(by.role)}).to_string();
        audit::append(
            &mut tx,
            &ctx,
            AuditEvent { action, rx_id: chemo_ref(id), line_no: None, before: String::new(), after },
        )
        .await?;
    }
    tx.commit().await?;
    if let Some(why) = applied.refused {
        return Err(AppError::Rejected { code: "chemo_refused", message: why, details: Some(json!({"order_id": id})) });
    }
    Ok(Json(json!({"order": state_json(&stored, &applied.order)})))
}

fn bundled_file(regimen_id: &str, lib: &rxgate_regimen::RegimenLibrary) -> Result<(String, String), AppError> {
    let r = lib.find(regimen_id).ok_or_else(|| AppError::NotFound { message: format!("no regimen {regimen_id}") })?;
    let file = rxgate_regimen::bundled_regimen_files()
        .into_iter()
        .find(|f| f.name == r.file)
        .ok_or_else(|| AppError::NotFound { message: format!("no file for regimen {regimen_id}") })?;
    Ok((file.name, file.text))
}

/// `POST /api/v1/chemo/regimens/{id}/propose`: the caller is the author.
pub(super) async fn propose(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(regimen_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snapshot = app.knowledge.current();
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let (_, text) = bundled_file(&regimen_id, &lib)?;
    let r = lib.find(&regimen_id).ok_or_else(|| AppError::NotFound { message: format!("no regimen {regimen_id}") })?;
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    let mut tx = app.storage.begin().await?;
    let p = tx.propose_regimen(&r.id, &r.version, &hash, &principal.subject).await?;
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    let after = json!({"regimen": r.id, "version": r.version, "content_hash": hash}).to_string();
    audit::append(
        &mut tx,
        &ctx,
        AuditEvent { action: "regimen_propose", rx_id: None, line_no: None, before: String::new(), after },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({"regimen_id": p.regimen_id, "version": p.version, "author": p.author, "status": "proposed"})))
}

/// `POST /api/v1/chemo/regimens/{id}/publish`: the caller is the approver, who must not be
/// the author.
pub(super) async fn publish(
    State(app): State<AppState>,
    Caller(principal): Caller,
    CorrelationId(correlation_id): CorrelationId,
    Path(regimen_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let snapshot = app.knowledge.current();
    let lib = crate::wire::regimen::library(&snapshot).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let (name, text) = bundled_file(&regimen_id, &lib)?;
    let r = lib.find(&regimen_id).ok_or_else(|| AppError::NotFound { message: format!("no regimen {regimen_id}") })?;
    let mut tx = app.storage.begin().await?;
    let Some(proposal) = tx.get_regimen_publication(&r.id, &r.version).await? else {
        return Err(AppError::Conflict { message: format!("{} version {} has not been proposed", r.id, r.version) });
    };
    let compiled = rxgate_regimen::compile(&name, &text, &snapshot.registry, &lib.rules);
    // The author was a pharmacist or physician when proposing (the route's roles).
    let author = Person::new(&proposal.author, ChemoRole::Pharmacist);
    let approver = person(&mut tx, &principal, None).await?;
    let at = tx.now().to_rfc3339();
    let (result, events) = workflow::publish(&compiled, &author, &approver, &at);
    let ctx = AuditContext { principal: &principal, correlation_id: &correlation_id };
    if result.is_ok() {
        tx.publish_regimen(proposal.id, &principal.subject).await?;
    }
    for e in &events {
        let action = if e.action == "publish" { "regimen_publish" } else { "chemo_block" };
        let after = json!({"code": e.code, "detail": e.detail}).to_string();
        audit::append(&mut tx, &ctx, AuditEvent { action, rx_id: None, line_no: None, before: String::new(), after })
            .await?;
    }
    tx.commit().await?;
    match result {
        Ok(p) => Ok(Json(json!({"regimen_id": p.regimen_id, "version": p.version, "author": p.author,
            "approver": p.approver, "status": "published"}))),
        Err(why) => Err(AppError::Rejected { code: "four_eyes", message: why, details: None }),
    }
}
