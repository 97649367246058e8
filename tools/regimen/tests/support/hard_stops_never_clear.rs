//! Property: a hard stop is never cleared — not by any sequence of signatures, overrides,
//! gravimetric records, BCMA scans or label and administration attempts, and not by adding
//! other orders to the session.

use crate::support::{library, registry};
use proptest::prelude::*;
use rxgate_regimen::workflow::{Action, Check, ChemoOrder, Person, Role, apply};
use rxgate_regimen::*;

fn chop() -> &'static Regimen {
    library().find("CHOP-21").unwrap()
}

fn patient(weight: u32, anc_tenths: u32) -> Patient {
    let mut p = Patient {
        age_years: parse_q("50"),
        weight_kg: parse_q(&weight.to_string()),
        height_cm: parse_q("170"),
        ..Default::default()
    };
    for (k, v) in [
        ("anc_10e9_l", format!("{anc_tenths}/10")),
        ("platelets_10e9_l", "200".into()),
        ("bilirubin_umol_l", "10".into()),
        ("crcl_ml_min", "90".into()),
    ] {
        p.labs.insert(k.to_string(), parse_q(&v).unwrap());
    }
    p
}

const ROLES: &[Role] = &[
    Role::Physician,
    Role::Pharmacist,
    Role::PharmacyTechnician,
    Role::Nurse,
    Role::Cardiologist,
    Role::Supervisor,
    Role::Agent,
];

const CODES: &[&str] =
    &["vinca_syringe", "vinca_route", "vinca_with_intrathecal", "dose_above_cap", "anc_low", "label"];

fn action() -> impl Strategy<Value = Action> {
    let person = (0..4usize, 0..ROLES.len()).prop_map(|(i, r)| Person::new(["ann", "ben", "cat", "dan"][i], ROLES[r]));
    let code = (0..CODES.len()).prop_map(|i| CODES[i].to_string());
    let reason = prop_oneof![Just(String::new()), Just("documented clinical reason".to_string())];
    prop_oneof![
        (person.clone(), any::<bool>())
            .prop_map(|(by, c)| Action::Sign { check: if c { Check::Prescribing } else { Check::Compounding }, by }),
        (code.clone(), person.clone(), reason.clone()).prop_map(|(code, by, reason)| Action::OverrideHold {
            code,
            by,
            reason
        }),
        (code, person.clone(), reason.clone()).prop_map(|(code, by, reason)| Action::OverrideHardStop {
            code,
            by,
            reason
        }),
        (person.clone(), 80u32..130).prop_map(|(by, m)| Action::RecordGravimetric {
            by,
            expected_g: parse_q("100").unwrap(),
            measured_g: parse_q(&m.to_string()).unwrap()
        }),
        (person.clone(), reason).prop_map(|(by, reason)| Action::OverrideGravimetric { by, reason }),
        person.clone().prop_map(|by| Action::PrintLabel { by }),
        (person.clone(), any::<bool>()).prop_map(|(by, matched)| Action::Bcma { by, matched }),
        person.prop_map(|by| Action::Administer { by }),
    ]
}

fn unsafe_order() -> impl Strategy<Value = Order> {
    prop_oneof![
        Just(Order {
            drug: "vincristine".into(),
            route: Some("iv".into()),
            container: Some("syringe".into()),
            dose: None
        }),
        Just(Order {
            drug: "vinblastine".into(),
            route: Some("intrathecal".into()),
            container: Some("minibag".into()),
            dose: None
        }),
        Just(Order {
            drug: "vincristine".into(),
            route: Some("iv".into()),
            container: Some("minibag".into()),
            dose: Some((parse_q("2.5").unwrap(), "mg".into()))
        }),
    ]
}

fn other_order() -> impl Strategy<Value = Order> {
    let drugs = ["doxorubicin", "cyclophosphamide", "prednisolone", "vincristine", "methotrexate", "ondansetron"];
    let routes = ["iv", "oral", "intrathecal", "sc"];
    let containers = ["minibag", "syringe", "infusion_bag"];
    (0..drugs.len(), 0..routes.len(), 0..containers.len(), 0u32..3000).prop_map(move |(d, r, c, mg)| Order {
        drug: drugs[d].into(),
        route: Some(routes[r].into()),
        container: Some(containers[c].into()),
        dose: Some((parse_q(&mg.to_string()).unwrap(), "mg".into())),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_of_actions_clears_a_hard_stop(
        weight in 40u32..120,
        anc in 3u32..40,
        bad in unsafe_order(),
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        let rules = &library().rules;
        let mut req = EvalRequest::new(chop(), 1, 1, patient(weight, anc));
        req.orders = vec![bad];
        let ev = evaluate(&req, rules, registry());
        prop_assert!(!ev.hard_stops.is_empty());
        let stops = ev.hard_stops.clone();
        let mut order = ChemoOrder::from_evaluation("MRN-1", &ev);
        for (i, a) in actions.iter().enumerate() {
            let applied = apply(&order, a, &format!("t{i}"), rules);
            prop_assert!(!applied.audit.is_empty(), "every action is audited");
            order = applied.order;
            prop_assert_eq!(&order.hard_stops, &stops);
            prop_assert!(!order.label_printed, "a label was printed despite a hard stop");
            prop_assert!(!order.administered, "administered despite a hard stop");
            prop_assert!(order.overrides.keys().all(|c| !stops.iter().any(|s| &s.code == c)));
        }
    }

    #[test]
    fn adding_orders_never_removes_a_hard_stop(
        bad in unsafe_order(),
        others in proptest::collection::vec(other_order(), 0..6),
        position in 0usize..6,
    ) {
        let rules = &library().rules;
        let mut alone = EvalRequest::new(chop(), 1, 1, patient(70, 20));
        alone.orders = vec![bad.clone()];
        let before: Vec<String> = evaluate(&alone, rules, registry()).hard_stops.iter().map(|f| f.code.clone()).collect();
        let mut mixed = alone.clone();
        mixed.orders = others;
        mixed.orders.insert(position.min(mixed.orders.len()), bad);
        let after: Vec<String> = evaluate(&mixed, rules, registry()).hard_stops.iter().map(|f| f.code.clone()).collect();
        for code in &before {
            prop_assert!(after.contains(code), "{} lost when other orders were added: {:?}", code, after);
        }
    }
}
