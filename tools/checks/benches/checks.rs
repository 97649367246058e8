//! ddi_check + allergy_check + halal_filter on a 10-drug order for a patient with 10 active
//! medications, against a baseline measured in the same run: resolving the same 20 names
//! and nothing else. The ratio says what the clinical reasoning costs on top of reading
//! the order.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rxgate_checks::{allergy, ddi, halal};

const ORDER: [&str; 10] = [
    "amlodipine",
    "clarithromycin",
    "paracetamol",
    "amoxicillin",
    "omeprazole",
    "metformin",
    "atorvastatin",
    "warfarin",
    "sertraline",
    "ibuprofen",
];

const ACTIVE: [&str; 10] = [
    "lisinopril",
    "furosemide",
    "bisoprolol",
    "gliclazide",
    "levothyroxine",
    "aspirin",
    "simvastatin",
    "digoxin",
    "salbutamol",
    "prednisolone",
];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn bench(c: &mut Criterion) {
    let snapshot = rxgate_knowledge::load(&rxgate_knowledge::bundled_files()).expect("bundled registry validates");
    let reg = &snapshot.registry;
    let drugs = names(&ORDER);
    let active = names(&ACTIVE);
    let allergies = names(&["penicillin", "sulfa", "gelatin"]);
    let mut group = c.benchmark_group("order_10_drugs_10_active");
    group.bench_function("baseline_resolve_names", |b| {
        b.iter(|| {
            let (d, _) = rxgate_checks::resolve_drugs(reg, black_box(&drugs));
            let (a, _) = rxgate_checks::resolve_drugs(reg, black_box(&active));
            (d, a)
        })
    });
    group.bench_function("ddi_allergy_halal", |b| {
        b.iter(|| {
            let d = ddi::check(reg, &ddi::DdiRequest { drugs: drugs.clone(), active_medications: active.clone() });
            let a =
                allergy::check(reg, &allergy::AllergyRequest { drugs: drugs.clone(), allergies: allergies.clone() });
            let h = halal::check(reg, &halal::HalalRequest::Drugs(drugs.clone()), halal::Preference::Warn, None);
            black_box((d, a, h))
        })
    });
    group.bench_function("ddi_only", |b| {
        b.iter(|| ddi::check(reg, &ddi::DdiRequest { drugs: drugs.clone(), active_medications: active.clone() }))
    });
    group.bench_function("allergy_only", |b| {
        b.iter(|| allergy::check(reg, &allergy::AllergyRequest { drugs: drugs.clone(), allergies: allergies.clone() }))
    });
    group.bench_function("halal_only", |b| {
        b.iter(|| halal::check(reg, &halal::HalalRequest::Drugs(drugs.clone()), halal::Preference::Warn, None))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
