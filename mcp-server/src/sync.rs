//! The EHR sync pipeline in the server: intake of prescriptions (FHIR bundles posted or
//! pushed by webhook), the outbound worker that sends every dispense to the EHR as a signed
//! MedicationDispense, cancels from the EHR, and the metrics of all of it.
//!
//! State lives in the database only (`interop_events`, storage `interop.rs`): the worker
//! finds dispenses without an outbound event (an outbox derived from `dispense_log`, so no
//! dispense path can forget to enqueue), claims due events with a lease, and writes each
//! attempt's outcome with the retry schedule of `rxgate_interop::sync`. Several processes
//! share the work safely; a crash mid-attempt leaves the event to be retried when its lease
//! ends, and the EHR deduplicates by the natural key sent in `X-Rxgate-Event-Key`.
//!
//! Configuration (environment): `RXGATE_EHR_URL` (where MedicationDispense webhooks go;
//! outbound sync is off without it; `https://`, checked against the system's roots plus
//! `RXGATE_EHR_CA_FILE`, a PEM bundle for a hospital's own CA; plain `http://` only to a
//! loopback address or with `RXGATE_EHR_ALLOW_PLAIN_HTTP=true`, for an egress proxy that
//! adds TLS — dispenses carry patient data), `RXGATE_EHR_SECRET`
//! (HMAC secret for outbound and inbound webhook signatures; inbound webhooks are refused
//! without it), `RXGATE_SYNC_POLL_MS` (worker period, default 1000),
//! `RXGATE_SYNC_BACKOFF_SCALE` (multiplies the 1 m … 6 h schedule; drills and tests only).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry as PromRegistry;
use rxgate_guardrails::{Command, Intake, IntakeLine, Principal, Role, decide, receive};
use rxgate_interop::codes::CodeMaps;
use rxgate_interop::intake::{ChangeDraft, PatientFacts, Pending, PrescriptionDraft};
use rxgate_interop::sync::{Delivery, Direction, EventKind, Failure, Status};
use rxgate_knowledge::Snapshot;
use rxgate_storage::{
    CodeMapping, EventDelivery, InteropEvent, ItemOrder, NewInteropEvent, NewItem, NewPatient, NewPrescription, Tx,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::audit;
use crate::http::{AppError, AppState};

/// The sync settings read from the environment at start-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncConfig {
    pub(crate) ehr_url: Option<String>,
    pub(crate) secret: Option<Vec<u8>>,
    pub(crate) poll: Duration,
    pub(crate) backoff_scale: f64,
    /// The client for every call to the EHR (built once: its TLS roots are read at start).
    pub(crate) http: reqwest::Client,
}

impl SyncConfig {
    /// Reads the settings; a bad CA file, or plain HTTP to a host that is not this machine
    /// without the explicit opt-in, stops the server at start rather than at the first
    /// dispense.
    pub(crate) fn from_env() -> anyhow::Result<SyncConfig> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let ehr_url = var("RXGATE_EHR_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &ehr_url {
            let allow_plain = var("RXGATE_EHR_ALLOW_PLAIN_HTTP").is_some_and(|v| v == "true" || v == "1");
            check_ehr_url(url, allow_plain)?;
        }
        let ca_file = var("RXGATE_EHR_CA_FILE");
        Ok(SyncConfig {
            ehr_url,
            secret: var("RXGATE_EHR_SECRET").map(String::into_bytes),
            poll: Duration::from_millis(var("RXGATE_SYNC_POLL_MS").and_then(|v| v.parse().ok()).unwrap_or(1000)),
            backoff_scale: var("RXGATE_SYNC_BACKOFF_SCALE")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| *s > 0.0 && *s <= 1.0)
                .unwrap_or(1.0),
            http: ehr_client(ca_file.as_deref().map(Path::new))?,
        })
    }
}

/// `https://` anywhere; `http://` only to this machine unless the deployment says an egress
/// proxy adds TLS.
fn check_ehr_url(url: &str, allow_plain: bool) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("RXGATE_EHR_URL `{url}` is not a URL"))?;
    let host = parsed.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_plain || loopback => Ok(()),
        "http" => anyhow::bail!(
            "RXGATE_EHR_URL `{url}` is plain HTTP to another host, and dispenses carry patient data: use \
             https:// (RXGATE_EHR_CA_FILE for a hospital CA), or set RXGATE_EHR_ALLOW_PLAIN_HTTP=true when an \
             egress proxy adds TLS"
        ),
        other => anyhow::bail!("RXGATE_EHR_URL `{url}`: scheme `{other}` is neither https nor http"),
    }
}

/// A client that trusts the system's roots plus those in `ca_file` (PEM), TLS 1.2 at least.
fn ehr_client(ca_file: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let mut builder =
        reqwest::Client::builder().timeout(Duration::from_secs(10)).tls_version_min(reqwest::tls::Version::TLS_1_2);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).with_context(|| format!("reading RXGATE_EHR_CA_FILE {}", path.display()))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("RXGATE_EHR_CA_FILE {}: not a PEM certificate bundle", path.display()))?;
        anyhow::ensure!(!roots.is_empty(), "RXGATE_EHR_CA_FILE {} holds no certificate", path.display());
        builder = builder.tls_certs_merge(roots);
    }
    builder.build().context("building the EHR client")
}

/// A transport error with its causes (the certificate problem is a cause, not the message).
fn transport_error(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    direction: &'static str,
    kind: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

/// The interop metrics (registered into the server's one Prometheus registry).
pub(crate) struct InteropMetrics {
    ingest_events: Family<StatusLabels, Counter>,
    retry_queue_depth: Gauge,
    dead_letters: Gauge,
    mapping_unresolved: Gauge,
    sync_duration: Histogram,
    cds_feedback: Family<OutcomeLabels, Counter>,
}

impl InteropMetrics {
    pub(crate) fn register(registry: &mut PromRegistry) -> InteropMetrics {
        let m = InteropMetrics {
            ingest_events: Family::default(),
            retry_queue_depth: Gauge::default(),
            dead_letters: Gauge::default(),
            mapping_unresolved: Gauge::default(),
            sync_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            cds_feedback: Family::default(),
        };
        registry.register(
            "ingest_events",
            "Sync events processed, by direction, kind and outcome",
            m.ingest_events.clone(),
        );
        registry.register("retry_queue_depth", "Sync events waiting for an attempt", m.retry_queue_depth.clone());
        registry.register("dead_letters", "Sync events in the manual-action queue", m.dead_letters.clone());
        registry.register("mapping_unresolved", "Codes waiting for an analyst", m.mapping_unresolved.clone());
        registry.register("sync_duration_seconds", "Duration of one sync delivery or intake", m.sync_duration.clone());
        registry.register("cds_feedback", "CDS Hooks card feedback by outcome", m.cds_feedback.clone());
        m
    }

    pub(crate) fn count(&self, direction: Direction, kind: EventKind, status: &'static str) {
        self.ingest_events
            .get_or_create(&StatusLabels { direction: direction.as_str(), kind: kind.as_str(), status })
            .inc();
    }

    pub(crate) fn observe(&self, seconds: f64) {
        self.sync_duration.observe(seconds);
    }

    pub(crate) fn feedback(&self, outcome: &str) {
        self.cds_feedback.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }

    pub(crate) fn set_counts(&self, c: &rxgate_storage::InteropCounts) {
        self.retry_queue_depth.set(c.pending);
        self.dead_letters.set(c.dead_letter);
        self.mapping_unresolved.set(c.unresolved_mappings);
    }
}

/// The code maps in force: the bundled crosswalk plus every analyst resolution.
pub(crate) async fn code_maps(tx: &mut Tx, snapshot: &Snapshot) -> Result<CodeMaps, AppError> {
    let mut maps = CodeMaps::bundled(&snapshot.registry)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("RxNorm crosswalk does not fit the registry: {e}")))?;
    maps.resolved = tx.resolved_mappings().await?.into_iter().collect();
    Ok(maps)
}

/// What became of an intake.
pub(crate) enum IntakeResult {
    /// A prescription now waits in the queue (or did already: `replayed`).
    Queued { event: InteropEvent, rx_id: i64, lines: Vec<i64>, replayed: bool },
    /// Codes wait for an analyst; the event is kept and reprocessed on resolution.
    NeedsMapping { event: InteropEvent, pending: Vec<CodeMapping> },
}

/// Takes in a prescription bundle (already read into `draft`) once per natural key.
pub(crate) async fn intake(
    state: &AppState,
    draft: &PrescriptionDraft,
    payload: &str,
    caller: &Principal,
    correlation_id: &str,
) -> Result<IntakeResult, AppError> {
    let started = Instant::now();
    let mut tx = state.storage.begin().await?;
    let (event, new) = tx
        .insert_event(&NewInteropEvent {
            direction: Direction::Inbound.as_str().into(),
            kind: EventKind::PrescriptionNew.as_str().into(),
            natural_key: draft.natural_key.clone(),
            correlation_id: correlation_id.to_string(),
            payload: payload.to_string(),
            status: Status::Pending.as_str().into(),
            rx_id: None,
        })
        .await?;
    if !new {
        tx.commit().await?;
        state.metrics.interop.count(Direction::Inbound, EventKind::PrescriptionNew, "duplicate");
        tracing::info!(event_id = event.id, correlation_id, original = %event.correlation_id, "intake replayed");
        return match (event.status.as_str(), event.rx_id) {
            ("done", Some(rx_id)) => {
                let mut tx = state.storage.begin().await?;
                let lines = tx.list_items(rx_id).await?.into_iter().map(|i| i.line_no).collect();
                Ok(IntakeResult::Queued { event, rx_id, lines, replayed: true })
            }
            _ => {
                let mut tx = state.storage.begin().await?;
                let pending = pending_of(&mut tx, &event).await?;
                Ok(IntakeResult::NeedsMapping { event, pending })
            }
        };
    }
    let result = apply_draft(&mut tx, state, &event, draft, caller, correlation_id).await?;
    tx.commit().await?;
    state.metrics.interop.observe(started.elapsed().as_secs_f64());
    Ok(result)
}

async fn pending_of(tx: &mut Tx, event: &InteropEvent) -> Result<Vec<CodeMapping>, AppError> {
    let waiting = tx.list_mappings(Some("pending")).await?;
    let links = tx.event_mapping_keys(event.id).await?;
    Ok(waiting.into_iter().filter(|m| links.contains(&m.key)).collect())
}

/// Creates the prescription from a complete draft, or parks the event on its codes.
async fn apply_draft(
    tx: &mut Tx,
    state: &AppState,
    event: &InteropEvent,
    draft: &PrescriptionDraft,
    caller: &Principal,
    correlation_id: &str,
) -> Result<IntakeResult, AppError> {
    let kind = EventKind::PrescriptionNew;
    if !draft.pending.is_empty() {
        let (event, pending) = park_on_codes(tx, event, &draft.pending).await?;
        state.metrics.interop.count(Direction::Inbound, kind, "needs_mapping");
        tracing::info!(event_id = event.id, correlation_id, codes = pending.len(), "intake waits for code mapping");
        return Ok(IntakeResult::NeedsMapping { event, pending });
    }
    let (rx_id, lines) = create_prescription(tx, &state.knowledge.current(), draft, caller, correlation_id).await?;
    let event = mark_applied(tx, event, rx_id).await?;
    state.metrics.interop.count(Direction::Inbound, kind, "done");
    tracing::info!(event_id = event.id, rx_id, correlation_id, "intake queued a prescription");
    Ok(IntakeResult::Queued { event, rx_id, lines, replayed: false })
}

/// Parks an event on the codes that wait for an analyst (it is reprocessed when the last
/// one is resolved).
async fn park_on_codes(
    tx: &mut Tx,
    event: &InteropEvent,
    waiting: &[Pending],
) -> Result<(InteropEvent, Vec<CodeMapping>), AppError> {
    let mut pending = Vec::new();
    for p in waiting {
        let m = pending_mapping(p, tx.now());
        tx.add_pending_mapping(event.id, &m).await?;
        pending.push(m);
    }
    let event = tx
        .update_event_delivery(
            event.id,
            &EventDelivery {
                status: Status::NeedsMapping.as_str().into(),
                attempts: event.attempts + 1,
                next_attempt_at: None,
                last_error: Some(format!("{} code(s) wait for an analyst", pending.len())),
                duration_ms: None,
            },
        )
        .await?;
    Ok((event, pending))
}

/// An inbound event took effect on prescription `rx_id`: linked to it and done.
async fn mark_applied(tx: &mut Tx, event: &InteropEvent, rx_id: i64) -> Result<InteropEvent, AppError> {
    tx.set_event_rx(event.id, rx_id).await?;
    let done = EventDelivery {
        status: Status::Done.as_str().into(),
        attempts: event.attempts + 1,
        next_attempt_at: None,
        last_error: None,
        duration_ms: None,
    };
    Ok(tx.update_event_delivery(event.id, &done).await?)
}

/// The mapping row of a code that waits for an analyst.
fn pending_mapping(p: &Pending, now: chrono::DateTime<Utc>) -> CodeMapping {
    CodeMapping {
        key: p.mapping.key.clone(),
        system: p.mapping.system.clone(),
        code: p.mapping.code.clone(),
        display: p.mapping.display.clone(),
        used_as: p.used_as.as_str().into(),
        status: "pending".into(),
        generic: None,
        resolved_by: None,
        created_at: now,
        resolved_at: None,
    }
}

/// The knowledge snapshot in force and the code maps that go with it, read in a
/// transaction of their own (for handlers that map codes before they write anything).
pub(crate) async fn snapshot_and_maps(state: &AppState) -> Result<(Arc<Snapshot>, CodeMaps), AppError> {
    let snapshot = state.knowledge.current();
    let mut tx = state.storage.begin_read().await?;
    let maps = code_maps(&mut tx, &snapshot).await?;
    Ok((snapshot, maps))
}

/// What became of a change of an order from the EHR.
pub(crate) enum ChangeResult {
    /// The line now orders what the change says (or did already: `replayed`), and waits to
    /// be verified and decided again.
    Applied { event: InteropEvent, rx_id: i64, line_no: i64, replayed: bool },
    /// Codes wait for an analyst; the change is applied when they are resolved.
    NeedsMapping { event: InteropEvent, pending: Vec<CodeMapping> },
}

/// Takes in a PRESCRIPTION_CHANGE once per natural key (the new order's identifier).
pub(crate) async fn change_from_ehr(
    state: &AppState,
    change: &ChangeDraft,
    payload: &str,
    caller: &Principal,
    correlation_id: &str,
) -> Result<ChangeResult, AppError> {
    let kind = EventKind::PrescriptionChange;
    let started = Instant::now();
    let mut tx = state.storage.begin().await?;
    let (event, new) = tx
        .insert_event(&NewInteropEvent {
            direction: Direction::Inbound.as_str().into(),
            kind: kind.as_str().into(),
            natural_key: change.line.source.clone(),
            correlation_id: correlation_id.to_string(),
            payload: payload.to_string(),
            status: Status::Pending.as_str().into(),
            rx_id: None,
        })
        .await?;
    if !new {
        state.metrics.interop.count(Direction::Inbound, kind, "duplicate");
        let result = match (event.status.as_str(), event.rx_id) {
            ("done", Some(rx_id)) => {
                let line_no = tx.line_of_ehr_request(&change.line.source).await?.map_or(0, |(_, l)| l);
                ChangeResult::Applied { event, rx_id, line_no, replayed: true }
            }
            _ => {
                let pending = pending_of(&mut tx, &event).await?;
                ChangeResult::NeedsMapping { event, pending }
            }
        };
        tx.commit().await?;
        return Ok(result);
    }
    let result = apply_change(&mut tx, state, &event, change, caller, correlation_id).await?;
    tx.commit().await?;
    state.metrics.interop.observe(started.elapsed().as_secs_f64());
    Ok(result)
}

/// Amends the linked line through the gate (`AmendLine`: approvals on the old order are
/// void, the prescription is verified again), writes the new order over the line and links
/// it to the new EHR order. A line already handed over or cancelled is refused (409) and
/// nothing changes.
async fn apply_change(
    tx: &mut Tx,
    state: &AppState,
    event: &InteropEvent,
    change: &ChangeDraft,
    caller: &Principal,
    correlation_id: &str,
) -> Result<ChangeResult, AppError> {
    let kind = EventKind::PrescriptionChange;
    if !change.pending.is_empty() {
        let (event, pending) = park_on_codes(tx, event, &change.pending).await?;
        state.metrics.interop.count(Direction::Inbound, kind, "needs_mapping");
        tracing::info!(event_id = event.id, correlation_id, codes = pending.len(), "change waits for code mapping");
        return Ok(ChangeResult::NeedsMapping { event, pending });
    }
    let (rx_id, line_no) = tx.line_of_ehr_request(&change.prior).await?.ok_or_else(|| AppError::NotFound {
        message: format!("no order `{}` from the EHR is held here; send it as a new prescription", change.prior),
    })?;
    let line =
        u32::try_from(line_no).map_err(|_| AppError::Internal(anyhow::anyhow!("line {line_no} out of range")))?;
    refuse_if_cancelled_by_ehr(tx, rx_id, line).await?;
    let snapshot = state.knowledge.current();
    let l = &change.line;
    let drug = crate::workflow::resolve_drug(&snapshot, &l.drug).ok_or_else(|| AppError::BadRequest {
        message: format!("`{}` is not in the registry", l.drug),
        details: None,
    })?;
    let mut loaded = crate::workflow::load(tx, &snapshot, rx_id).await?;
    let reason = format!("the prescriber changed EHR order {} to {}", change.prior, l.source);
    let command = Command::AmendLine { line_no: line, drug, reason };
    let transition = decide(&loaded.state, caller, &command, &loaded.facts).map_err(AppError::Refused)?;
    crate::workflow::persist(tx, &mut loaded, &transition.state).await?;
    let version = loaded
        .items
        .iter()
        .find(|i| i.line_no == line_no)
        .map(|i| i.version)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("line {line_no} of {rx_id} vanished")))?;
    let order = ItemOrder {
        drug: l.drug.clone(),
        dose_value: l.dose_value.clone().unwrap_or_default(),
        dose_unit: l.dose_unit.clone().unwrap_or_default(),
        frequency: l.frequency.clone().unwrap_or_default(),
        route: l.route.clone(),
        duration_days: l.duration_days,
    };
    tx.amend_item_order(rx_id, line_no, version, &order).await?;
    tx.relink_rx_line(rx_id, line_no, &l.source).await?;
    let event = mark_applied(tx, event, rx_id).await?;
    crate::workflow::audit_transition(tx, &transition, caller, correlation_id).await?;
    state.metrics.interop.count(Direction::Inbound, kind, "done");
    tracing::info!(event_id = event.id, rx_id, line_no, correlation_id, "order changed by the EHR");
    Ok(ChangeResult::Applied { event, rx_id, line_no, replayed: false })
}

/// Patient, prescription in RX_RECEIVED (through `guardrails::receive`, audited) and the
/// links from each line to its EHR order.
async fn create_prescription(
    tx: &mut Tx,
    snapshot: &Snapshot,
    draft: &PrescriptionDraft,
    caller: &Principal,
    correlation_id: &str,
) -> Result<(i64, Vec<i64>), AppError> {
    let drugs = draft
        .lines
        .iter()
        .map(|l| {
            crate::workflow::resolve_drug(snapshot, &l.drug).ok_or_else(|| AppError::BadRequest {
                message: format!("`{}` is not in the registry", l.drug),
                details: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let intake = |rx_id: String, patient_id: String| Intake {
        rx_id,
        patient_id,
        lines: drugs
            .iter()
            .enumerate()
            .map(|(i, d)| IntakeLine { line_no: u32::try_from(i + 1).unwrap_or(u32::MAX), drug: d.clone() })
            .collect(),
    };
    let initial = receive(caller, &intake("pending".into(), "pending".into())).map_err(AppError::Refused)?.state;
    let (patient_id, matched) = patient_for(tx, &draft.patient).await?;
    let items = draft
        .lines
        .iter()
        .zip(&initial.lines)
        .map(|(l, s)| NewItem {
            line_no: i64::from(s.line_no),
            drug: l.drug.clone(),
            dose_value: l.dose_value.clone().unwrap_or_default(),
            dose_unit: l.dose_unit.clone().unwrap_or_default(),
            frequency: l.frequency.clone().unwrap_or_default(),
            route: l.route.clone(),
            duration_days: l.duration_days,
            status: s.status.as_str().to_string(),
        })
        .collect();
    let (rx, items) = tx
        .insert_prescription(&NewPrescription {
            patient_id,
            prescriber: draft.prescriber.clone().unwrap_or_else(|| caller.subject.clone()),
            status: initial.status.as_str().to_string(),
            knowledge_hash: Some(snapshot.hash.clone()),
            items,
        })
        .await?;
    for (line, item) in draft.lines.iter().zip(&items) {
        tx.link_rx_line(rx.id, item.line_no, &line.source).await?;
    }
    let transition = receive(caller, &intake(rx.id.to_string(), patient_id.to_string())).map_err(AppError::Refused)?;
    let at = tx.now();
    audit::append_drafts(tx, transition.drafts(caller, at, correlation_id)).await?;
    if let Some(before) = matched {
        let ctx = audit::AuditContext { principal: caller, correlation_id };
        let event = audit::AuditEvent {
            action: "patient_matched",
            rx_id: Some(rx.id.to_string()),
            line_no: None,
            before,
            after: json!({"patient_id": patient_id, "matched_on": "ehr_identifier"}).to_string(),
        };
        audit::append(tx, &ctx, event).await?;
    }
    Ok((rx.id, items.iter().map(|i| i.line_no).collect()))
}

/// The patient a bundle is about. Found again by the EHR's identifiers (system + value),
/// else stored as new with them. A match must agree on date of birth and sex where both
/// sides have them; two identifiers naming two patients, or a disagreement, is refused
/// (`patient_identity_conflict`) rather than guessed: a wrong match puts one person's
/// allergies on another's prescription. On a match the EHR's newer facts replace the stored
/// ones, and allergies and active medications are *added* (a bundle that does not repeat an
/// allergy has not refuted it; the medication-list pull replaces the list). Returns the
/// patient id and, on a match, what the patient was before (for the audit).
async fn patient_for(tx: &mut Tx, p: &PatientFacts) -> Result<(i64, Option<String>), AppError> {
    let conflict = |message: String| AppError::Rejected { code: "patient_identity_conflict", message, details: None };
    let found = tx.patients_by_identifiers(&p.identifiers).await?;
    let new = NewPatient {
        // The EHR's identifier stands in for a name: the server needs none to check.
        demo_name: p.ehr_id.clone().unwrap_or_else(|| "EHR patient".into()),
        date_of_birth: p.birth_date,
        age_days: p.age_days,
        weight_kg: p.weight_kg,
        height_cm: p.height_cm,
        sex: p.sex.clone(),
        allergies: p.allergies.clone(),
        active_medications: p.active_medications.clone(),
        halal_preference: "warn".into(),
        serum_creatinine_umol_l: p.serum_creatinine_umol_l,
        egfr_ml_min_1_73m2: p.egfr_ml_min_1_73m2,
        ..NewPatient::default()
    };
    match found.as_slice() {
        [] => {
            let patient = tx.insert_patient(&new).await?;
            tx.add_patient_identifiers(patient.id, &p.identifiers).await?;
            Ok((patient.id, None))
        }
        [id] => {
            let stored = tx.get_patient(*id).await?;
            if let (Some(a), Some(b)) = (stored.date_of_birth, p.birth_date)
                && a != b
            {
                return Err(conflict(format!(
                    "the EHR identifiers match patient {id}, whose date of birth differs from this bundle's; not merged — an analyst must check the identity"
                )));
            }
            if let (Some(a), Some(b)) = (stored.sex.as_deref(), p.sex.as_deref())
                && a != b
            {
                return Err(conflict(format!(
                    "the EHR identifiers match patient {id}, whose recorded sex differs from this bundle's; not merged — an analyst must check the identity"
                )));
            }
            let union = |old: &[String], new: &[String]| {
                let mut all = old.to_vec();
                for n in new {
                    if !all.iter().any(|o| o.eq_ignore_ascii_case(n)) {
                        all.push(n.clone());
                    }
                }
                all
            };
            let merged = NewPatient {
                date_of_birth: p.birth_date.or(stored.date_of_birth),
                age_days: p.age_days.or(stored.age_days),
                weight_kg: p.weight_kg.or(stored.weight_kg),
                height_cm: p.height_cm.or(stored.height_cm),
                sex: p.sex.clone().or(stored.sex.clone()),
                allergies: union(&stored.allergies, &p.allergies),
                active_medications: union(&stored.active_medications, &p.active_medications),
                serum_creatinine_umol_l: p.serum_creatinine_umol_l.or(stored.serum_creatinine_umol_l),
                egfr_ml_min_1_73m2: p.egfr_ml_min_1_73m2.or(stored.egfr_ml_min_1_73m2),
                ..new
            };
            tx.update_patient_clinical(*id, &merged).await?;
            tx.add_patient_identifiers(*id, &p.identifiers).await?;
            let before = json!({
                "patient_id": id,
                "allergies": stored.allergies.len(),
                "active_medications": stored.active_medications.len(),
            });
            Ok((*id, Some(before.to_string())))
        }
        several => Err(conflict(format!(
            "the bundle's EHR identifiers belong to {} different patients ({}); not merged — an analyst must check the identity",
            several.len(),
            several.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The principal reprocessing runs under once an analyst resolved the last code.
fn intake_principal() -> Principal {
    Principal::new("ehr-intake", Role::Physician)
}

/// Reads a stored intake payload again with today's code maps.
pub(crate) fn read_payload(snapshot: &Snapshot, maps: &CodeMaps, payload: &str) -> Result<PrescriptionDraft, String> {
    let bundle: rxgate_interop::fhir::Bundle = serde_json::from_str(payload).map_err(|e| e.to_string())?;
    rxgate_interop::intake::read_bundle(&snapshot.registry, maps, &bundle, Utc::now().date_naive())
        .map_err(|e| e.to_string())
}

/// An analyst resolved `key`: events that waited only on it are taken in now.
pub(crate) async fn resolve_and_reprocess(
    state: &AppState,
    key: &str,
    generic: &str,
    by: &Principal,
    correlation_id: &str,
) -> Result<Vec<Value>, AppError> {
    let snapshot = state.knowledge.current();
    let inn = crate::workflow::resolve_drug(&snapshot, generic)
        .map(|d| d.generic)
        .or_else(|| snapshot.registry.allergen_by_name(generic).map(|_| generic.to_lowercase()))
        .ok_or_else(|| AppError::BadRequest {
            message: format!("`{generic}` is not in the knowledge registry"),
            details: None,
        })?;
    let mut tx = state.storage.begin().await?;
    let released = tx.resolve_mapping(key, &inn, &by.subject).await?;
    let maps = code_maps(&mut tx, &snapshot).await?;
    let mut out = Vec::new();
    for id in released {
        let event = tx.get_event(id).await?;
        let unreadable = |e: String| AppError::Internal(anyhow::anyhow!("stored event {id} no longer reads: {e}"));
        let correlation_id = event.correlation_id.clone();
        if event.kind == EventKind::PrescriptionChange.as_str() {
            let value: Value = serde_json::from_str(&event.payload).map_err(|e| unreadable(e.to_string()))?;
            let change = rxgate_interop::intake::read_change(&snapshot.registry, &maps, &value)
                .map_err(|e| unreadable(e.to_string()))?;
            match apply_change(&mut tx, state, &event, &change, &intake_principal(), &correlation_id).await? {
                ChangeResult::Applied { rx_id, line_no, .. } => {
                    out.push(json!({"event_id": id, "status": "done", "rx_id": rx_id, "line_no": line_no}))
                }
                ChangeResult::NeedsMapping { pending, .. } => out.push(json!({
                    "event_id": id, "status": "needs_mapping", "pending": pending.iter().map(|p| &p.key).collect::<Vec<_>>(),
                })),
            }
            continue;
        }
        let draft = read_payload(&snapshot, &maps, &event.payload).map_err(unreadable)?;
        match apply_draft(&mut tx, state, &event, &draft, &intake_principal(), &correlation_id).await? {
            IntakeResult::Queued { rx_id, .. } => out.push(json!({"event_id": id, "status": "done", "rx_id": rx_id})),
            IntakeResult::NeedsMapping { pending, .. } => out.push(json!({
                "event_id": id, "status": "needs_mapping", "pending": pending.iter().map(|p| &p.key).collect::<Vec<_>>(),
            })),
        }
    }
    tx.commit().await?;
    tracing::info!(correlation_id, reprocessed = out.len(), "code mapping resolved");
    Ok(out)
}

/// A cancel from the EHR: the orders (all of the prescription, or the one named) are never
/// filled again. Idempotent by the cancel's natural key.
pub(crate) async fn cancel_from_ehr(
    state: &AppState,
    prescription_key: &str,
    ehr_request: Option<&str>,
    payload: &str,
    correlation_id: &str,
) -> Result<Value, AppError> {
    let kind = EventKind::PrescriptionCancel;
    let mut tx = state.storage.begin().await?;
    let new_rx = tx
        .event_by_key(Direction::Inbound.as_str(), EventKind::PrescriptionNew.as_str(), prescription_key)
        .await?
        .ok_or_else(|| AppError::NotFound {
            message: format!("no prescription from the EHR with key `{prescription_key}`"),
        })?;
    let natural_key = format!("{prescription_key}#{}", ehr_request.unwrap_or("*"));
    let (event, new) = tx
        .insert_event(&NewInteropEvent {
            direction: Direction::Inbound.as_str().into(),
            kind: kind.as_str().into(),
            natural_key,
            correlation_id: correlation_id.to_string(),
            payload: payload.to_string(),
            status: Status::Done.as_str().into(),
            rx_id: new_rx.rx_id,
        })
        .await?;
    let cancelled = match (new, new_rx.rx_id) {
        (true, Some(rx_id)) => tx.cancel_rx_links(rx_id, ehr_request).await?,
        _ => 0,
    };
    tx.commit().await?;
    state.metrics.interop.count(Direction::Inbound, kind, if new { "done" } else { "duplicate" });
    tracing::info!(event_id = event.id, rx_id = ?new_rx.rx_id, correlation_id, cancelled, "cancel from the EHR");
    Ok(json!({"event_id": event.id, "rx_id": new_rx.rx_id, "lines_cancelled": cancelled, "replayed": !new}))
}

/// Refuses to fill a line whose EHR order was cancelled (called on every dispense path).
pub(crate) async fn refuse_if_cancelled_by_ehr(tx: &mut Tx, rx_id: i64, line_no: u32) -> Result<(), AppError> {
    if let Some((order, Some(at))) = tx.rx_link(rx_id, i64::from(line_no)).await? {
        return Err(AppError::Rejected {
            code: "cancelled_by_ehr",
            message: format!("the prescriber cancelled this order in the EHR ({order}) at {at}; it must not be filled"),
            details: None,
        });
    }
    Ok(())
}

/// The FHIR status of a dispense as it stands: `completed`, or after a reversal `declined`
/// (the patient did not take it) or `entered-in-error`.
pub(crate) async fn dispense_status(
    tx: &mut Tx,
    record: &rxgate_storage::DispenseRecord,
) -> Result<&'static str, AppError> {
    Ok(match tx.reversal_of(record.id).await? {
        None => "completed",
        Some(r) if r.reason_code == "declined" => "declined",
        Some(_) => "entered-in-error",
    })
}

/// The MedicationDispense of a dispense record, as sent and as read.
pub(crate) async fn dispense_resource(
    tx: &mut Tx,
    snapshot: &Snapshot,
    record: &rxgate_storage::DispenseRecord,
    status: &'static str,
) -> Result<rxgate_interop::fhir::MedicationDispense, AppError> {
    let rx = tx.get_prescription(record.rx_id).await?;
    let registry = &snapshot.registry;
    let product = registry.product_by_code(&record.product).map(|p| registry.product(p));
    let generic = product.map(|p| registry.generic(p.generic).inn.clone()).unwrap_or_else(|| record.product.clone());
    let ehr_request = tx.rx_link(record.rx_id, record.line_no).await?.map(|(order, _)| order);
    Ok(rxgate_interop::output::medication_dispense(&rxgate_interop::output::DispenseFacts {
        dispense_id: record.id,
        rx_id: record.rx_id,
        line_no: record.line_no,
        patient_id: rx.patient_id,
        generic,
        product: record.product.clone(),
        gtin: product.and_then(|p| p.gtin.clone()),
        lot: record.lot.clone(),
        quantity: record.quantity,
        dispensed_by: record.dispensed_by.clone(),
        at: record.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        status,
        ehr_request,
    }))
}

/// Starts the outbound worker when an EHR URL is configured. Ends with `stop`.
pub(crate) fn spawn_worker(state: AppState, config: Arc<SyncConfig>, stop: CancellationToken) {
    let Some(url) = config.ehr_url.clone() else {
        tracing::info!("outbound EHR sync off (no RXGATE_EHR_URL)");
        return;
    };
    tracing::info!(url = %url, "outbound EHR sync on");
    tokio::spawn(async move {
        let http = config.http.clone();
        loop {
            if let Err(e) = tick(&state, &config, &http, &url).await {
                tracing::warn!(error = ?e, "sync tick failed; retrying next period");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(config.poll) => {}
            }
        }
    });
}

/// One pass: enqueue new dispenses, attempt due events, refresh the gauges.
async fn tick(state: &AppState, config: &SyncConfig, http: &reqwest::Client, url: &str) -> Result<(), AppError> {
    let snapshot = state.knowledge.current();
    let mut tx = state.storage.begin().await?;
    let sent = tx.dispenses_without_event(EventKind::Dispense.as_str(), 100).await?;
    let reversed = tx.reversals_without_event(EventKind::DispenseReversal.as_str(), 100).await?;
    let work = sent.into_iter().map(|r| (EventKind::Dispense, r));
    // After the dispenses: a reversal is enqueued after (so delivered after) its dispense.
    for (kind, record) in work.chain(reversed.into_iter().map(|r| (EventKind::DispenseReversal, r))) {
        let status = match kind {
            EventKind::DispenseReversal => dispense_status(&mut tx, &record).await?,
            _ => "completed",
        };
        let resource = dispense_resource(&mut tx, &snapshot, &record, status).await?;
        let payload = serde_json::to_string(&resource).map_err(|e| AppError::Internal(e.into()))?;
        // End to end: the dispense carries the correlation id of the EHR's intake, if any.
        let filter = rxgate_storage::EventFilter { rx_id: Some(record.rx_id), ..Default::default() };
        let correlation_id = tx
            .list_events(&filter)
            .await?
            .into_iter()
            .find(|e| e.direction == "inbound" && e.kind == EventKind::PrescriptionNew.as_str())
            .map_or_else(|| format!("dispense-{}", record.id), |e| e.correlation_id);
        tx.insert_event(&NewInteropEvent {
            direction: Direction::Outbound.as_str().into(),
            kind: kind.as_str().into(),
            natural_key: rxgate_interop::sync::dispense_key(kind, record.id),
            correlation_id,
            payload,
            status: Status::Pending.as_str().into(),
            rx_id: Some(record.rx_id),
        })
        .await?;
    }
    tx.commit().await?;

    let now = Utc::now();
    let mut tx = state.storage.begin().await?;
    let due = tx.due_events(Direction::Outbound.as_str(), now, 50).await?;
    tx.commit().await?;
    for id in due {
        let mut tx = state.storage.begin().await?;
        // The lease: longer than one attempt can take (client timeout 10 s).
        let claimed = tx.claim_event(id, now, now + chrono::Duration::seconds(30)).await?;
        let event = tx.get_event(id).await?;
        tx.commit().await?;
        if claimed {
            deliver(state, config, http, url, &event).await?;
        }
    }
    let mut tx = state.storage.begin().await?;
    let counts = tx.interop_counts().await?;
    tx.commit().await?;
    state.metrics.interop.set_counts(&counts);
    Ok(())
}

async fn deliver(
    state: &AppState,
    config: &SyncConfig,
    http: &reqwest::Client,
    url: &str,
    event: &InteropEvent,
) -> Result<(), AppError> {
    let kind = EventKind::parse(&event.kind).unwrap_or(EventKind::Dispense);
    let started = Instant::now();
    let mut request = http
        .post(format!("{url}/MedicationDispense"))
        .header("content-type", "application/fhir+json")
        .header("x-request-id", &event.correlation_id)
        .header("x-rxgate-event", &event.kind)
        .header("x-rxgate-event-key", &event.natural_key)
        .body(event.payload.clone());
    if let Some(secret) = &config.secret {
        let signature = rxgate_interop::signing::sign(secret, Utc::now().timestamp(), event.payload.as_bytes());
        request = request.header(rxgate_interop::signing::SIGNATURE_HEADER, signature);
    }
    let outcome = match request.send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            Err(Failure::from_http(status, &body))
        }
        Err(e) => Err(Failure::Transient(format!("no answer: {}", transport_error(&e)))),
    };
    let elapsed = started.elapsed();
    let before = Delivery {
        status: Status::Pending,
        attempts: u32::try_from(event.attempts).unwrap_or(u32::MAX),
        next_attempt_at: event.next_attempt_at,
        last_error: event.last_error.clone(),
    };
    let now = Utc::now();
    let mut after = before.after_attempt(outcome, now);
    if let Some(next) = after.next_attempt_at {
        let wait = (next - now).num_milliseconds() as f64 * config.backoff_scale;
        after.next_attempt_at = Some(now + chrono::Duration::milliseconds(wait as i64));
    }
    let status = match after.status {
        Status::Done => "done",
        Status::DeadLetter => "dead_letter",
        _ => "retry",
    };
    state.metrics.interop.count(Direction::Outbound, kind, status);
    state.metrics.interop.observe(elapsed.as_secs_f64());
    tracing::info!(
        event_id = event.id,
        correlation_id = %event.correlation_id,
        kind = event.kind,
        attempt = after.attempts,
        outcome = status,
        error = after.last_error.as_deref().unwrap_or(""),
        "webhook attempt"
    );
    let mut tx = state.storage.begin().await?;
    tx.update_event_delivery(
        event.id,
        &EventDelivery {
            status: after.status.as_str().into(),
            attempts: i64::from(after.attempts),
            next_attempt_at: after.next_attempt_at,
            last_error: after.last_error,
            duration_ms: Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A person sends an event from the manual-action queue round again.
pub(crate) async fn requeue(state: &AppState, id: i64) -> Result<InteropEvent, AppError> {
    let mut tx = state.storage.begin().await?;
    let event = tx.get_event(id).await?;
    if event.status != Status::DeadLetter.as_str() {
        return Err(AppError::Rejected {
            code: "not_dead_letter",
            message: format!("event {id} is `{}`; only dead letters are sent again by hand", event.status),
            details: None,
        });
    }
    let now = tx.now();
    let event = tx
        .update_event_delivery(
            id,
            &EventDelivery {
                status: Status::Pending.as_str().into(),
                attempts: 0,
                next_attempt_at: Some(now),
                last_error: event.last_error.clone(),
                duration_ms: None,
            },
        )
        .await?;
    tx.commit().await?;
    Ok(event)
}

/// The sync part of `/healthz`: queue depths (and whether outbound sync is on).
pub(crate) async fn health(state: &AppState) -> Value {
    let counts = match state.storage.begin_read().await {
        Ok(mut tx) => {
            let counts = tx.interop_counts().await;
            let _ = tx.commit().await;
            counts
        }
        Err(e) => Err(e),
    };
    match counts {
        Ok(c) => {
            state.metrics.interop.set_counts(&c);
            json!({
                "outbound": state.sync.ehr_url.is_some(),
                "queue_depth": c.pending, "retrying": c.retrying, "dead_letter": c.dead_letter,
                "needs_mapping": c.needs_mapping, "unresolved_mappings": c.unresolved_mappings,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "sync counts unavailable");
            Value::Null
        }
    }
}

/// MED_LIST_PULL: asks the EHR for a patient's active medications (a FHIR searchset of
/// MedicationStatement), maps them and makes them the patient's active medications. The
/// same list pulled twice is one event (natural key: patient and content hash); unmapped
/// codes are kept as written (the checks report them as unknown) and queued for an analyst.
pub(crate) async fn med_list_pull(
    state: &AppState,
    patient_id: i64,
    ehr_patient: &str,
    correlation_id: &str,
) -> Result<Value, AppError> {
    let Some(url) = state.sync.ehr_url.as_deref() else {
        return Err(AppError::Rejected {
            code: "sync_disabled",
            message: "medication-list pulls need RXGATE_EHR_URL on this server".into(),
            details: None,
        });
    };
    let started = Instant::now();
    let kind = EventKind::MedListPull;
    let http = &state.sync.http;
    // A FHIR id is `[A-Za-z0-9\-\.]{1,64}`: nothing in it needs escaping in a query.
    if !rxgate_interop::output::is_fhir_id(ehr_patient) {
        return Err(AppError::BadRequest { message: format!("`{ehr_patient}` is not a FHIR id"), details: None });
    }
    let mut request = http
        .get(format!("{url}/MedicationStatement?patient={ehr_patient}&status=active"))
        .header("accept", "application/fhir+json")
        .header("x-request-id", correlation_id);
    if let Some(secret) = &state.sync.secret {
        request = request.header(
            rxgate_interop::signing::SIGNATURE_HEADER,
            rxgate_interop::signing::sign(secret, Utc::now().timestamp(), b""),
        );
    }
    let unavailable = |message: String| {
        state.metrics.interop.count(Direction::Inbound, kind, "retry");
        AppError::Upstream { code: "ehr_unavailable", message }
    };
    let response =
        request.send().await.map_err(|e| unavailable(format!("the EHR did not answer: {}", transport_error(&e))))?;
    if !response.status().is_success() {
        return Err(unavailable(format!("the EHR answered {}", response.status())));
    }
    let payload = response.text().await.map_err(|e| unavailable(format!("reading the EHR's answer: {e}")))?;
    let fetched = started.elapsed();
    let bundle: rxgate_interop::fhir::Bundle = serde_json::from_str(&payload).map_err(|e| AppError::Upstream {
        code: "ehr_bad_answer",
        message: format!("the EHR's answer is not a FHIR Bundle: {e}"),
    })?;
    let snapshot = state.knowledge.current();
    let mut tx = state.storage.begin().await?;
    let maps = code_maps(&mut tx, &snapshot).await?;
    let (names, pending) = rxgate_interop::intake::read_med_list(&snapshot.registry, &maps, &bundle)
        .map_err(|e| AppError::Upstream { code: "ehr_bad_answer", message: e.to_string() })?;
    tx.get_patient(patient_id).await?;
    let digest = crate::workflow::sha256_hex(payload.as_bytes());
    let (event, new) = tx
        .insert_event(&NewInteropEvent {
            direction: Direction::Inbound.as_str().into(),
            kind: kind.as_str().into(),
            natural_key: format!("patient:{patient_id}:{digest}"),
            correlation_id: correlation_id.to_string(),
            payload: String::new(),
            status: Status::Done.as_str().into(),
            rx_id: None,
        })
        .await?;
    if new {
        for p in &pending {
            tx.add_pending_mapping(event.id, &pending_mapping(p, tx.now())).await?;
        }
        tx.set_active_medications(patient_id, &names).await?;
    }
    tx.commit().await?;
    let elapsed = started.elapsed();
    state.metrics.interop.count(Direction::Inbound, kind, if new { "done" } else { "duplicate" });
    state.metrics.interop.observe(elapsed.as_secs_f64());
    tracing::info!(event_id = event.id, patient_id, correlation_id, items = names.len(), "medication list pulled");
    Ok(json!({
        "event_id": event.id, "patient_id": patient_id, "replayed": !new,
        "active_medications": names.len(), "unmapped": pending.len(),
        "fetch_ms": fetched.as_millis() as u64, "total_ms": elapsed.as_millis() as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::check_ehr_url;

    #[test]
    fn patient_data_leaves_over_https_or_to_this_machine_unless_an_egress_proxy_is_declared() {
        assert!(check_ehr_url("https://ehr.hospital.example/fhir", false).is_ok());
        for local in ["http://127.0.0.1:8081/fhir", "http://localhost/fhir", "http://[::1]:9000/fhir"] {
            assert!(check_ehr_url(local, false).is_ok(), "{local}");
        }
        let refused = check_ehr_url("http://ehr.hospital.example/fhir", false).unwrap_err().to_string();
        assert!(refused.contains("RXGATE_EHR_ALLOW_PLAIN_HTTP"), "{refused}");
        assert!(check_ehr_url("http://ehr.hospital.example/fhir", true).is_ok());
        assert!(check_ehr_url("ftp://ehr.hospital.example/fhir", true).is_err());
        assert!(check_ehr_url("ehr.hospital.example", false).is_err());
    }
}
