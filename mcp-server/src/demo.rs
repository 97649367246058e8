//! `rxgate serve --demo`: a demo pharmacy with a queue of prescriptions that tells the
//! seed stories, each taken in through the guardrails (`receive`) and audited like any
//! other prescription. Seeded only into an empty database, so restarting with `--demo`
//! never duplicates the queue.
//!
//! Patients are demo people with surrogate ids; their `demo_name` is shown in the console
//! and never logged.

use anyhow::Context;
use rxgate_guardrails::{Intake, IntakeLine, LineDrug, Principal, Role, receive};
use rxgate_knowledge::Snapshot;
use rxgate_storage::{InventoryLot, NewItem, NewPatient, NewPrescription, QueueFilter, Storage};
use serde_json::json;

use crate::audit;

/// One line as a prescriber writes it.
struct Line {
    drug: &'static str,
    dose: &'static str,
    unit: &'static str,
    frequency: &'static str,
    days: Option<i64>,
}

const fn line(drug: &'static str, dose: &'static str, unit: &'static str, frequency: &'static str) -> Line {
    Line { drug, dose, unit, frequency, days: None }
}

/// A story: who the patient is, what was prescribed, and what the checks should find.
struct Story {
    /// What the pharmacist should see (for people reading this table; not stored).
    #[allow(dead_code)]
    finds: &'static str,
    patient: NewPatient,
    lines: Vec<Line>,
}

fn adult(name: &str, age_years: i64, sex: &str, weight_kg: f64) -> NewPatient {
    NewPatient {
        demo_name: name.to_string(),
        age_days: Some(age_years * 365),
        weight_kg: Some(weight_kg),
        sex: Some(sex.to_string()),
        halal_preference: "warn".to_string(),
        crcl_ml_min: Some(90.0),
        ..NewPatient::default()
    }
}

fn stories() -> Vec<Story> {
    vec![
        Story {
            finds: "major interaction: clarithromycin inhibits CYP3A4 → amlodipine exposure; azithromycin instead",
            patient: adult("Demo Aminah", 62, "female", 64.0),
            lines: vec![line("amlodipine", "5", "mg", "od"), line("clarithromycin", "500", "mg", "bd")],
        },
        Story {
            finds: "8 kg infant: paracetamol 120 mg q6h is 15 mg/kg per dose, within range",
            patient: NewPatient {
                demo_name: "Demo Baby Lee".to_string(),
                age_days: Some(240),
                weight_kg: Some(8.0),
                sex: Some("male".to_string()),
                halal_preference: "none".to_string(),
                ..NewPatient::default()
            },
            lines: vec![Line { days: Some(3), ..line("paracetamol", "120", "mg", "q6h") }],
        },
        Story {
            finds: "penicillin allergy: amoxicillin is the same allergy class",
            patient: NewPatient { allergies: vec!["penicillin".to_string()], ..adult("Demo Rajesh", 45, "male", 78.0) },
            lines: vec![Line { days: Some(5), ..line("amoxicillin", "500", "mg", "tds") }],
        },
        Story {
            finds: "halal-only patient: Amoxil capsules contain bovine gelatin without certificate; a certified product exists",
            patient: NewPatient {
                halal_preference: "halal_only".to_string(),
                ..adult("Demo Siti", 34, "female", 58.0)
            },
            lines: vec![Line { days: Some(5), ..line("Amoxil", "250", "mg", "tds") }],
        },
        Story {
            finds: "branded Lipitor: a cheaper bioequivalent atorvastatin is on the formulary",
            patient: adult("Demo Tan", 58, "male", 82.0),
            lines: vec![line("Lipitor", "40", "mg", "od")],
        },
        Story {
            finds: "contraindicated: simvastatin with clarithromycin (rhabdomyolysis); substitute or cancel only",
            patient: adult("Demo Kumar", 67, "male", 74.0),
            lines: vec![line("simvastatin", "40", "mg", "od"), line("clarithromycin", "500", "mg", "bd")],
        },
        Story {
            finds: "renal: metformin with eGFR 25 mL/min/1.73m2 must not be given",
            patient: NewPatient {
                egfr_ml_min_1_73m2: Some(25.0),
                crcl_ml_min: Some(24.0),
                serum_creatinine_umol_l: Some(210.0),
                ..adult("Demo Wong", 78, "female", 55.0)
            },
            lines: vec![line("metformin", "1000", "mg", "bd")],
        },
        Story {
            finds: "clean: omeprazole for an adult with nothing else on file",
            patient: adult("Demo Farah", 29, "female", 61.0),
            lines: vec![line("omeprazole", "20", "mg", "od")],
        },
    ]
}

fn resolve(snapshot: &Snapshot, name: &str) -> anyhow::Result<LineDrug> {
    let registry = &snapshot.registry;
    let resolved = registry.resolve(name).with_context(|| format!("demo drug `{name}` is not in the registry"))?;
    Ok(LineDrug {
        generic: registry.generic(resolved.generic).inn.clone(),
        classes: registry.classes_of(resolved.generic).iter().map(|c| registry.class(*c).id.clone()).collect(),
    })
}

/// Loads the demo formulary's stock lots into the inventory table, so demo lines can be
/// dispensed. A lot already there is left as it is: a restart never resets stock.
async fn seed_inventory(storage: &Storage, snapshot: &Snapshot) -> anyhow::Result<()> {
    let registry = &snapshot.registry;
    let mut tx = storage.begin().await?;
    let now = tx.now();
    for (id, product) in registry.products() {
        for lot in registry.stock_of(id) {
            tx.seed_inventory(&InventoryLot {
                product: product.code.clone(),
                lot: lot.lot.clone(),
                expiry: Some(lot.expiry),
                qty_on_hand: lot.qty_on_hand,
                reorder_level: lot.reorder_level,
                updated_at: now,
            })
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Seeds the demo stock, and the demo queue unless the database already holds
/// prescriptions. Returns how many prescriptions were added.
/// Console users of the demo pharmacy: (username, password, role). Two pharmacists, so
/// that four-eyes rules can be shown; the passwords are printed in the README.
const DEMO_USERS: &[(&str, &str, &str)] = &[
    ("aisyah", "pharmacist-demo", "pharmacist"),
    ("farid", "pharmacist-demo", "pharmacist"),
    // A third pharmacist: a chemotherapy order needs two people per check and one person
    // may not sign both checks, so the demo needs four clinicians to reach the label.
    ("siti", "pharmacist-demo", "pharmacist"),
    ("drlim", "physician-demo", "physician"),
    ("admin", "admin-demo", "admin"),
];

/// Creates the demo users that do not exist yet (a restart keeps changed passwords).
async fn seed_users(storage: &Storage) -> anyhow::Result<()> {
    let mut tx = storage.begin().await?;
    for (username, password, role) in DEMO_USERS {
        if tx.get_user(username).await?.is_none() {
            let hash = crate::http::login::hash_password(password)?;
            tx.insert_user(username, &hash, role).await?;
        }
    }
    // Chemotherapy roles no token carries: a supervising pharmacist (gravimetric and
    // regimen overrides) and a cardiologist (anthracycline limit), for the demo only.
    for (subject, qualification) in [("farid", "supervisor"), ("drlim", "cardiologist")] {
        tx.add_chemo_qualification(subject, qualification).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn seed(storage: &Storage, snapshot: &Snapshot) -> anyhow::Result<usize> {
    seed_users(storage).await?;
    seed_inventory(storage, snapshot).await?;
    let mut tx = storage.begin().await?;
    if !tx.list_prescriptions(&QueueFilter { limit: Some(1), ..QueueFilter::default() }).await?.is_empty() {
        tracing::info!("--demo: the database already has prescriptions; nothing seeded");
        return Ok(0);
    }
    let prescriber = Principal::new("demo-prescriber", Role::Physician);
    let ctx_id = "demo-seed";
    let stories = stories();
    for story in &stories {
        let drugs: Vec<LineDrug> =
            story.lines.iter().map(|l| resolve(snapshot, l.drug)).collect::<anyhow::Result<_>>()?;
        let intake = |rx_id: String, patient_id: String| Intake {
            rx_id,
            patient_id,
            lines: drugs
                .iter()
                .enumerate()
                .map(|(i, d)| IntakeLine { line_no: u32::try_from(i + 1).unwrap_or(u32::MAX), drug: d.clone() })
                .collect(),
        };
        // The gate decides the initial states; the ids come from the database.
        let initial = receive(&prescriber, &intake("pending".into(), "pending".into()))
            .map_err(|r| anyhow::anyhow!("demo prescription refused: {}", r.reason))?
            .state;
        let patient = tx.insert_patient(&story.patient).await?;
        let items = story
            .lines
            .iter()
            .zip(&initial.lines)
            .map(|(l, state)| NewItem {
                line_no: i64::from(state.line_no),
                drug: l.drug.to_string(),
                dose_value: l.dose.to_string(),
                dose_unit: l.unit.to_string(),
                frequency: l.frequency.to_string(),
                route: "oral".to_string(),
                duration_days: l.days,
                status: state.status.as_str().to_string(),
            })
            .collect();
        let (rx, _) = tx
            .insert_prescription(&NewPrescription {
                patient_id: patient.id,
                prescriber: prescriber.subject.clone(),
                status: initial.status.as_str().to_string(),
                knowledge_hash: Some(snapshot.hash.clone()),
                items,
            })
            .await?;
        let transition = receive(&prescriber, &intake(rx.id.to_string(), patient.id.to_string()))
            .map_err(|r| anyhow::anyhow!("demo prescription refused: {}", r.reason))?;
        let at = tx.now();
        audit::append_drafts(&mut tx, transition.drafts(&prescriber, at, ctx_id)).await?;
    }
    seed_chemo_orders(&mut tx, snapshot).await?;
    tx.commit().await?;
    tracing::info!(prescriptions = stories.len(), "--demo: seeded the demo queue");
    Ok(stories.len())
}

/// Three chemotherapy orders for the console's chemotherapy page: one clean and waiting for
/// its two-person checks, one held for a low neutrophil count, one blocked for vincristine
/// drawn into a syringe.
async fn seed_chemo_orders(tx: &mut rxgate_storage::Tx, snapshot: &Snapshot) -> anyhow::Result<()> {
    let prescriber = Principal::new("drlim", Role::Physician);
    let ctx = audit::AuditContext { principal: &prescriber, correlation_id: "demo-seed" };
    let adult = |anc: f64| {
        json!({"age_years": 52, "weight_kg": 70, "height_cm": 170,
            "labs": {"anc_10e9_l": anc, "platelets_10e9_l": 210, "bilirubin_umol_l": 9, "crcl_ml_min": 88}})
    };
    let vinca_syringe =
        json!([{"drug": "vincristine", "route": "iv", "container": "syringe", "dose": {"value": 2, "unit": "mg"}}]);
    let orders = [
        ("MRN-DEMO-C1", json!({"regimen": "CHOP", "cycle": 2, "day": 1, "patient": adult(2.1), "orders": []})),
        ("MRN-DEMO-C2", json!({"regimen": "CHOP", "cycle": 3, "day": 1, "patient": adult(0.8), "orders": []})),
        (
            "MRN-DEMO-C3",
            json!({"regimen": "CHOP", "cycle": 1, "day": 1, "patient": adult(2.4), "orders": vinca_syringe}),
        ),
    ];
    for (patient, evaluation) in &orders {
        crate::http::chemo::record_order(tx, snapshot, &ctx, patient, evaluation)
            .await
            .map_err(|e| anyhow::anyhow!("demo chemotherapy order for {patient}: {e:?}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_drug_is_in_the_bundled_registry() {
        let snapshot = rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry");
        let stories = stories();
        assert!(stories.len() >= 8, "the issue asks for at least eight demo prescriptions");
        for story in stories {
            for l in story.lines {
                resolve(&snapshot, l.drug).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}
