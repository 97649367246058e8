//! The gate as a pharmacist meets it: a prescription from intake to CLOSED, every refusal,
//! the authorisation matrix, and property tests over random command sequences.

use std::cell::Cell;

use expect_test::{Expect, expect};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rxgate_guardrails::*;

// ---------------------------------------------------------------------------------------
// A prescription from the seed stories: amlodipine + clarithromycin (a major interaction,
// reported on both lines), and ketoconazole which is contraindicated with the patient's
// simvastatin.

fn pharmacist() -> Principal {
    Principal::new("ph-1", Role::Pharmacist)
}
fn agent() -> Principal {
    Principal::new("assistant", Role::Agent)
}
fn device() -> Principal {
    Principal::new("scanner-1", Role::Device)
}
fn physician() -> Principal {
    Principal::new("dr-1", Role::Physician)
}
fn principal(role: Role) -> Principal {
    match role {
        Role::Pharmacist => pharmacist(),
        Role::Physician => physician(),
        Role::Agent => agent(),
        Role::Device => device(),
        Role::Admin => Principal::new("ops", Role::Admin),
    }
}

fn drug(generic: &str, classes: &[&str]) -> LineDrug {
    LineDrug { generic: generic.into(), classes: classes.iter().map(|c| c.to_string()).collect() }
}

fn intake() -> Intake {
    Intake {
        rx_id: "rx-1".into(),
        patient_id: "p-1".into(),
        lines: vec![
            IntakeLine { line_no: 1, drug: drug("amlodipine", &["calcium_channel_blocker"]) },
            IntakeLine { line_no: 2, drug: drug("clarithromycin", &["macrolide", "antibacterial"]) },
            IntakeLine { line_no: 3, drug: drug("ketoconazole", &["azole_antifungal"]) },
        ],
    }
}

fn facts() -> Facts {
    Facts {
        prescription_hash: "rx-content-1".into(),
        knowledge_hash: "snapshot-1".into(),
        blocks: PatientBlocks::none("p-1"),
    }
}

fn findings() -> Findings {
    Findings {
        verification_hash: "verification-1".into(),
        highest_severity: Some(Severity::Contraindicated),
        blocking: true,
        lines: vec![
            LineFinding { line_no: 1, severity: Some(Severity::Major) },
            LineFinding { line_no: 2, severity: Some(Severity::Major) },
            LineFinding { line_no: 3, severity: Some(Severity::Contraindicated) },
        ],
    }
}

fn decision(state: &RxState, facts: &Facts, line_no: u32, action: LineAction) -> LineDecision {
    LineDecision {
        line_no,
        action,
        reason: format!("{} line {line_no}", action.as_str()),
        justification: (action == LineAction::Dispense)
            .then(|| "benefit outweighs risk; amlodipine dose halved, BP monitored".into()),
        approved_view_hash: approval_view_hash(state, facts, line_no).unwrap_or_default(),
        replacement: (action == LineAction::Substitute).then(|| drug("fluconazole", &["azole_antifungal"])),
        replacement_severity: None,
    }
}

fn decide_line(line_no: u32, action: LineAction) -> impl Fn(&RxState, &Facts) -> Command {
    move |s, f| Command::LineDecision(decision(s, f, line_no, action))
}
fn scan(line_no: u32) -> impl Fn(&RxState, &Facts) -> Command {
    move |_, _| Command::BarcodeScanned { line_no, matched: true, scan_id: format!("scan-{line_no}") }
}
fn dispense(line_no: u32) -> impl Fn(&RxState, &Facts) -> Command {
    move |_, _| Command::Dispense { line_no, idempotency_key: format!("key-{line_no}"), quantity: 30 }
}
fn fixed(command: Command) -> impl Fn(&RxState, &Facts) -> Command {
    move |_, _| command.clone()
}

type Build = Box<dyn Fn(&RxState, &Facts) -> Command>;

/// One step of the happy path: who does what, and the statuses after it.
struct Step {
    who: Principal,
    command: Build,
    rx: &'static str,
    lines: &'static str,
}

fn happy_path() -> Vec<Step> {
    let step = |who: Principal, command: Build, rx, lines| Step { who, command, rx, lines };
    vec![
        step(
            agent(),
            Box::new(fixed(Command::StartVerification)),
            "AI_VERIFYING",
            "HITL_REVIEW HITL_REVIEW HITL_REVIEW",
        ),
        step(
            agent(),
            Box::new(fixed(Command::RecordVerification(findings()))),
            "ALERTS_RAISED",
            "HITL_REVIEW HITL_REVIEW HITL_REVIEW",
        ),
        step(
            agent(),
            Box::new(fixed(Command::Propose {
                line_no: 3,
                action: LineAction::Substitute,
                rationale: "ketoconazole + simvastatin is contraindicated; fluconazole at low dose".into(),
            })),
            "HITL_REVIEW",
            "HITL_REVIEW HITL_REVIEW HITL_REVIEW",
        ),
        step(
            pharmacist(),
            Box::new(decide_line(1, LineAction::Dispense)),
            "HITL_REVIEW",
            "APPROVED HITL_REVIEW HITL_REVIEW",
        ),
        step(
            pharmacist(),
            Box::new(decide_line(2, LineAction::Cancel)),
            "HITL_REVIEW",
            "APPROVED CANCELLED HITL_REVIEW",
        ),
        step(
            pharmacist(),
            Box::new(decide_line(3, LineAction::Substitute)),
            "HITL_REVIEW",
            "APPROVED CANCELLED SUBSTITUTED",
        ),
        step(device(), Box::new(scan(1)), "HITL_REVIEW", "BARCODE_SCAN CANCELLED SUBSTITUTED"),
        step(pharmacist(), Box::new(dispense(1)), "HITL_REVIEW", "DISPENSED CANCELLED SUBSTITUTED"),
        step(pharmacist(), Box::new(scan(3)), "HITL_REVIEW", "DISPENSED CANCELLED BARCODE_SCAN"),
        step(pharmacist(), Box::new(dispense(3)), "DISPENSED", "DISPENSED CANCELLED DISPENSED"),
        step(
            pharmacist(),
            Box::new(fixed(Command::CounselDone { items: CounselItem::REQUIRED.to_vec() })),
            "COUNSEL_COMPLETE",
            "DISPENSED CANCELLED DISPENSED",
        ),
        step(pharmacist(), Box::new(fixed(Command::Close)), "CLOSED", "DISPENSED CANCELLED DISPENSED"),
    ]
}

fn line_statuses(state: &RxState) -> String {
    state.lines.iter().map(|l| l.status.as_str()).collect::<Vec<_>>().join(" ")
}

/// Every state the happy path passes through, starting with the received prescription.
fn happy_states() -> Vec<RxState> {
    let facts = facts();
    let mut states = vec![receive(&pharmacist(), &intake()).unwrap().state];
    for step in happy_path() {
        let state = states.last().unwrap();
        let next = decide(state, &step.who, &(step.command)(state, &facts), &facts).unwrap().state;
        states.push(next);
    }
    states
}

#[test]
fn the_seed_story_runs_from_intake_to_closed_and_its_audit_chain_verifies() {
    let facts = facts();
    let received = receive(&physician(), &intake()).unwrap();
    let mut state = received.state;
    assert_eq!(state.status, RxStatus::Received);
    let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    let mut drafts = received.events.iter().map(|e| e.to_draft(&physician(), at, "req-0")).collect::<Vec<_>>();
    for (i, step) in happy_path().into_iter().enumerate() {
        let command = (step.command)(&state, &facts);
        let transition = decide(&state, &step.who, &command, &facts)
            .unwrap_or_else(|r| panic!("step {i} ({:?}) refused: {r}", command.kind()));
        state = transition.state.clone();
        assert_eq!(state.status.as_str(), step.rx, "step {i} ({:?})", command.kind());
        assert_eq!(line_statuses(&state), step.lines, "step {i} ({:?})", command.kind());
        drafts.extend(transition.drafts(
            &step.who,
            at + chrono::Duration::seconds(i as i64),
            &format!("req-{}", i + 1),
        ));
    }
    let entries = chain_all(None, drafts);
    assert_eq!(verify(&entries), Ok(()));
    let trail: String = entries
        .iter()
        .map(|e| format!("{} {} {} line={:?} {}\n", e.seq, e.role, e.action, e.line_no, e.after))
        .collect();
    expect![[r#"
        1 physician rx_received line=None {"lines":[{"generic":"amlodipine","line_no":1},{"generic":"clarithromycin","line_no":2},{"generic":"ketoconazole","line_no":3}],"patient_id":"p-1","rx_status":"RX_RECEIVED"}
        2 agent verification_started line=None {"rx_status":"AI_VERIFYING"}
        3 agent verification_recorded line=None {"blocking":true,"highest_severity":"contraindicated","knowledge_hash":"snapshot-1","prescription_hash":"rx-content-1","rx_status":"ALERTS_RAISED","verification_hash":"verification-1"}
        4 agent proposal_recorded line=Some(3) {"line_status":"HITL_REVIEW","proposed_action":"substitute","rationale":"ketoconazole + simvastatin is contraindicated; fluconazole at low dose","rx_status":"HITL_REVIEW"}
        5 pharmacist line_decided line=Some(1) {"action":"dispense","justification":"benefit outweighs risk; amlodipine dose halved, BP monitored","line_status":"APPROVED","reason":"dispense line 1","replacement":null,"rx_status":"HITL_REVIEW","severity":"major","view_hash":"1848cde9572ad265bdf1569b5f4510e36aad756562c9b72b9b765239353f3136"}
        6 pharmacist line_decided line=Some(2) {"action":"cancel","justification":null,"line_status":"CANCELLED","reason":"cancel line 2","replacement":null,"rx_status":"HITL_REVIEW","severity":"major","view_hash":"7734ed12c114443f61c7dc9087784323ef70aa45b7d9406a09202ae5aa3739fc"}
        7 pharmacist line_decided line=Some(3) {"action":"substitute","justification":null,"line_status":"SUBSTITUTED","reason":"substitute line 3","replacement":"fluconazole","rx_status":"HITL_REVIEW","severity":"contraindicated","view_hash":"56597c36f20002b3eaf8415c5664bd7d6423f1547731224345b33576e4942453"}
        8 device barcode_matched line=Some(1) {"line_status":"BARCODE_SCAN","matched":true,"rx_status":"HITL_REVIEW","scan_id":"scan-1"}
        9 pharmacist line_dispensed line=Some(1) {"generic":"amlodipine","idempotency_key":"key-1","line_status":"DISPENSED","quantity":30,"rx_status":"HITL_REVIEW","scan_id":"scan-1"}
        10 pharmacist barcode_matched line=Some(3) {"line_status":"BARCODE_SCAN","matched":true,"rx_status":"HITL_REVIEW","scan_id":"scan-3"}
        11 pharmacist line_dispensed line=Some(3) {"generic":"fluconazole","idempotency_key":"key-3","line_status":"DISPENSED","quantity":30,"rx_status":"DISPENSED","scan_id":"scan-3"}
        12 pharmacist counselling_completed line=None {"items":["identity_confirmed","purpose","dose_and_timing","side_effects","warnings","storage","questions_answered"],"rx_status":"COUNSEL_COMPLETE"}
        13 pharmacist rx_closed line=None {"rx_status":"CLOSED"}
    "#]].assert_eq(&trail);
}

#[test]
fn a_dispense_retried_with_its_key_is_recorded_once() {
    let facts = facts();
    let states = happy_states();
    let scanned = &states[7];
    let command = dispense(1)(scanned, &facts);
    let first = decide(scanned, &pharmacist(), &command, &facts).unwrap();
    assert_eq!(first.events.len(), 1);
    let retry = decide(&first.state, &pharmacist(), &command, &facts).unwrap();
    assert!(retry.is_replay());
    assert_eq!(retry.state, first.state);
    let other_key = Command::Dispense { line_no: 1, idempotency_key: "another".into(), quantity: 30 };
    assert_eq!(
        decide(&first.state, &pharmacist(), &other_key, &facts).unwrap_err().code,
        RefusalCode::AlreadyDispensed
    );
}

#[test]
fn two_pharmacists_deciding_the_same_line_exactly_one_wins() {
    let facts = facts();
    let review = &happy_states()[3];
    let command = decide_line(1, LineAction::Dispense)(review, &facts);
    let first = decide(review, &pharmacist(), &command, &facts).unwrap();
    let second = decide(&first.state, &Principal::new("ph-2", Role::Pharmacist), &command, &facts).unwrap_err();
    assert_eq!((second.http_status(), second.code), (409, RefusalCode::IllegalTransition));
}

#[test]
fn a_changed_knowledge_snapshot_voids_approvals_and_sends_lines_back_to_review() {
    let states = happy_states();
    let approved = &states[7]; // line 1 scanned, line 3 substituted
    let mut changed = facts();
    changed.knowledge_hash = "snapshot-2".into();
    let refusal = decide(approved, &pharmacist(), &dispense(1)(approved, &changed), &changed).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::StaleVerification);

    let back = return_stale_to_review(approved, &changed).expect("stale");
    assert_eq!(back.state.status, RxStatus::Received);
    assert_eq!(line_statuses(&back.state), "HITL_REVIEW CANCELLED HITL_REVIEW");
    assert!(back.state.lines[0].decision.is_none() && back.state.lines[0].scan_id.is_none());
    assert_eq!(back.events.iter().filter(|e| e.action == Action::ReturnedToReview).count(), 3);
    assert_eq!(return_stale_to_review(approved, &facts()), None, "nothing is stale with the original facts");
}

#[test]
fn an_approval_of_a_view_that_changed_is_refused() {
    let facts = facts();
    let review = &happy_states()[3];
    let seen = approval_view_hash(review, &facts, 2).unwrap();
    // The agent posts a new proposal while the pharmacist is reading the old view.
    let proposal = Command::Propose { line_no: 2, action: LineAction::Hold, rationale: "await ECG".into() };
    let moved = decide(review, &agent(), &proposal, &facts).unwrap().state;
    let mut d = decision(&moved, &facts, 2, LineAction::Dispense);
    d.approved_view_hash = seen;
    let refusal = decide(&moved, &pharmacist(), &Command::LineDecision(d), &facts).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::StaleView);
}

#[test]
fn an_adverse_event_blocks_the_class_at_once_even_after_approval() {
    let states = happy_states();
    let scanned = &states[7];
    let mut blocked = facts();
    blocked.blocks = decide_patient(
        &blocked.blocks,
        &physician(),
        &PatientCommand::ReportAdverseEvent {
            drug_class: "calcium_channel_blocker".into(),
            description: "severe ankle oedema and hypotension".into(),
        },
    )
    .unwrap()
    .state;
    let refusal = decide(scanned, &pharmacist(), &dispense(1)(scanned, &blocked), &blocked).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::AdverseEventBlock);
    assert!(refusal.reason.contains("amlodipine"), "{}", refusal.reason);

    blocked.blocks = decide_patient(
        &blocked.blocks,
        &pharmacist(),
        &PatientCommand::LiftAdverseEventBlock {
            drug_class: "calcium_channel_blocker".into(),
            reason: "oedema resolved; cardiology asks to continue".into(),
        },
    )
    .unwrap()
    .state;
    assert!(decide(scanned, &pharmacist(), &dispense(1)(scanned, &blocked), &blocked).is_ok());
}

#[test]
fn a_prescription_where_nothing_was_dispensed_closes_without_counselling() {
    let facts = facts();
    let mut state = happy_states()[2].clone();
    for (line_no, action) in [(1, LineAction::Hold), (2, LineAction::Cancel), (3, LineAction::Cancel)] {
        state = decide(&state, &pharmacist(), &decide_line(line_no, action)(&state, &facts), &facts).unwrap().state;
    }
    assert_eq!(state.status, RxStatus::HitlReview);
    assert_eq!(decide(&state, &pharmacist(), &Command::Close, &facts).unwrap().state.status, RxStatus::Closed);
}

// ---------------------------------------------------------------------------------------
// Refusals: specific illegal transitions with their codes, then the whole table.

fn check_refusal(state: &RxState, who: &Principal, command: Command, facts: &Facts, expected: RefusalCode) {
    let refusal = decide(state, who, &command, facts).expect_err("should be refused");
    assert_eq!(refusal.code, expected, "{command:?}: {}", refusal.reason);
    assert!(!refusal.reason.trim().is_empty());
}

#[test]
fn each_policy_refusal_names_its_reason() {
    let f = facts();
    let s = happy_states();
    let (received, verifying, review, decided, scanned, dispensed) = (&s[0], &s[1], &s[3], &s[6], &s[7], &s[10]);
    let ph = pharmacist();
    let with = |state: &RxState, line, action, edit: fn(&mut LineDecision)| {
        let mut d = decision(state, &f, line, action);
        edit(&mut d);
        Command::LineDecision(d)
    };
    let cases: Vec<(&str, &RxState, Command, RefusalCode)> = vec![
        (
            "decide before verification",
            received,
            with(received, 1, LineAction::Dispense, |_| {}),
            RefusalCode::IllegalTransition,
        ),
        ("record without starting", received, Command::RecordVerification(findings()), RefusalCode::IllegalTransition),
        ("start twice", verifying, Command::StartVerification, RefusalCode::IllegalTransition),
        (
            "dispense a contraindicated line",
            review,
            with(review, 3, LineAction::Dispense, |_| {}),
            RefusalCode::Contraindicated,
        ),
        (
            "hold a contraindicated line",
            review,
            with(review, 3, LineAction::Hold, |_| {}),
            RefusalCode::Contraindicated,
        ),
        (
            "major without justification",
            review,
            with(review, 1, LineAction::Dispense, |d| d.justification = None),
            RefusalCode::JustificationRequired,
        ),
        (
            "major with a blank justification",
            review,
            with(review, 1, LineAction::Dispense, |d| d.justification = Some("  ".into())),
            RefusalCode::JustificationRequired,
        ),
        (
            "cancel without reason",
            review,
            with(review, 2, LineAction::Cancel, |d| d.reason.clear()),
            RefusalCode::ReasonRequired,
        ),
        (
            "substitute without replacement",
            review,
            with(review, 3, LineAction::Substitute, |d| d.replacement = None),
            RefusalCode::ReplacementRequired,
        ),
        (
            "replacement on a cancel",
            review,
            with(review, 2, LineAction::Cancel, |d| d.replacement = Some(drug("x", &[]))),
            RefusalCode::ReplacementRequired,
        ),
        (
            "approve a view never shown",
            review,
            with(review, 1, LineAction::Dispense, |d| d.approved_view_hash = "forged".into()),
            RefusalCode::StaleView,
        ),
        ("unknown line", review, with(review, 9, LineAction::Dispense, |_| {}), RefusalCode::UnknownLine),
        (
            "decide an approved line again",
            decided,
            with(decided, 1, LineAction::Cancel, |_| {}),
            RefusalCode::IllegalTransition,
        ),
        (
            "dispense without scan",
            decided,
            Command::Dispense { line_no: 1, idempotency_key: "k".into(), quantity: 30 },
            RefusalCode::ScanRequired,
        ),
        (
            "dispense a cancelled line",
            decided,
            Command::Dispense { line_no: 2, idempotency_key: "k".into(), quantity: 30 },
            RefusalCode::IllegalTransition,
        ),
        (
            "dispense nothing",
            scanned,
            Command::Dispense { line_no: 1, idempotency_key: "k".into(), quantity: 0 },
            RefusalCode::InvalidQuantity,
        ),
        (
            "scan an undecided line",
            review,
            Command::BarcodeScanned { line_no: 1, matched: true, scan_id: "s".into() },
            RefusalCode::IllegalTransition,
        ),
        ("re-verify with approved lines", decided, Command::StartVerification, RefusalCode::IllegalTransition),
        (
            "counsel before dispensing",
            decided,
            Command::CounselDone { items: CounselItem::REQUIRED.to_vec() },
            RefusalCode::IllegalTransition,
        ),
        (
            "counsel partly",
            dispensed,
            Command::CounselDone { items: vec![CounselItem::Purpose] },
            RefusalCode::CounsellingIncomplete,
        ),
        ("close before counselling", dispensed, Command::Close, RefusalCode::CounsellingIncomplete),
        ("close during review", decided, Command::Close, RefusalCode::IllegalTransition),
        ("close a closed one", &s[12], Command::Close, RefusalCode::IllegalTransition),
    ];
    for (name, state, command, code) in cases {
        let refusal = decide(state, &ph, &command, &f).expect_err(name);
        assert_eq!(refusal.code, code, "{name}: {}", refusal.reason);
        assert_eq!(refusal.http_status(), 409, "{name}");
        assert!(!refusal.reason.trim().is_empty(), "{name}");
    }
    let mut other_patient = facts();
    other_patient.blocks = PatientBlocks::none("p-2");
    check_refusal(review, &ph, Command::Close, &other_patient, RefusalCode::FactsMismatch);
}

#[test]
fn verification_summaries_that_contradict_themselves_are_refused() {
    let f = facts();
    let verifying = &happy_states()[1];
    let mut wrong_max = findings();
    wrong_max.highest_severity = Some(Severity::Major);
    let mut unknown = findings();
    unknown.lines.push(LineFinding { line_no: 7, severity: None });
    let mut twice = findings();
    twice.lines.push(LineFinding { line_no: 1, severity: None });
    let mut no_hash = findings();
    no_hash.verification_hash.clear();
    for (bad, code) in [
        (wrong_max, RefusalCode::InvalidVerification),
        (unknown, RefusalCode::UnknownLine),
        (twice, RefusalCode::InvalidVerification),
        (no_hash, RefusalCode::InvalidVerification),
    ] {
        check_refusal(verifying, &agent(), Command::RecordVerification(bad), &f, code);
    }
    let clean = Findings { verification_hash: "v".into(), highest_severity: None, blocking: false, lines: vec![] };
    let ready = decide(verifying, &agent(), &Command::RecordVerification(clean), &f).unwrap().state;
    assert_eq!(ready.status, RxStatus::ReadyToDispense);
}

#[test]
fn intake_needs_ids_lines_and_unique_line_numbers() {
    let mut empty = intake();
    empty.lines.clear();
    let mut repeated = intake();
    repeated.lines[1].line_no = 1;
    let mut no_patient = intake();
    no_patient.patient_id = " ".into();
    for bad in [empty, repeated, no_patient] {
        assert_eq!(receive(&pharmacist(), &bad).unwrap_err().code, RefusalCode::InvalidIntake);
    }
    assert_eq!(receive(&agent(), &intake()).unwrap_err().http_status(), 403);
}

// ---------------------------------------------------------------------------------------
// Changes from the EHR and reversed hand-overs.

/// The happy-path state where `lines` (e.g. "APPROVED CANCELLED SUBSTITUTED") first holds.
fn state_with(lines: &str) -> RxState {
    happy_states().into_iter().find(|s| line_statuses(s) == lines).unwrap_or_else(|| panic!("no state {lines}"))
}

#[test]
fn a_changed_order_voids_every_approval_and_needs_a_new_verification() {
    let before = state_with("APPROVED CANCELLED SUBSTITUTED");
    let change = Command::AmendLine {
        line_no: 3,
        drug: drug("itraconazole", &["azole_antifungal"]),
        reason: "EHR order ORD-3 replaced by ORD-3b".into(),
    };
    let t = decide(&before, &physician(), &change, &facts()).unwrap();
    assert_eq!(t.state.status, RxStatus::Received);
    assert_eq!(line_statuses(&t.state), "HITL_REVIEW CANCELLED HITL_REVIEW");
    assert!(t.state.verification.is_none());
    let amended = t.state.line(3).unwrap();
    assert_eq!(amended.drug.generic, "itraconazole");
    assert!(amended.decision.is_none() && amended.replacement.is_none() && amended.severity.is_none());
    assert!(t.state.line(1).unwrap().decision.is_none(), "line 1's approval rested on the old verification");
    let actions: Vec<&str> = t.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["line_amended", "returned_to_review"]);
    // Approving again needs a new verification first.
    let approve = Command::LineDecision(decision(&t.state, &facts(), 1, LineAction::Dispense));
    assert_eq!(decide(&t.state, &pharmacist(), &approve, &facts()).unwrap_err().code, RefusalCode::IllegalTransition);
    assert_eq!(
        decide(&t.state, &pharmacist(), &Command::StartVerification, &facts()).unwrap().state.status,
        RxStatus::AiVerifying
    );
}

#[test]
fn a_change_cannot_touch_what_was_handed_over_or_cancelled_and_needs_a_prescriber() {
    let s = state_with("DISPENSED CANCELLED SUBSTITUTED");
    let change = |line_no| Command::AmendLine { line_no, drug: drug("amlodipine", &[]), reason: "dose".into() };
    assert_eq!(decide(&s, &physician(), &change(1), &facts()).unwrap_err().code, RefusalCode::AlreadyDispensed);
    assert_eq!(decide(&s, &physician(), &change(2), &facts()).unwrap_err().code, RefusalCode::IllegalTransition);
    for who in [pharmacist(), agent(), device()] {
        assert_eq!(decide(&s, &who, &change(3), &facts()).unwrap_err().http_status(), 403, "{}", who.role);
    }
    let blank = Command::AmendLine { line_no: 3, drug: drug("amlodipine", &[]), reason: " ".into() };
    assert_eq!(decide(&s, &physician(), &blank, &facts()).unwrap_err().code, RefusalCode::ReasonRequired);
}

#[test]
fn a_reversed_dispense_holds_the_line_and_it_can_be_dispensed_again_after_a_new_scan() {
    let s = state_with("DISPENSED CANCELLED SUBSTITUTED");
    let reverse = Command::ReverseDispense { line_no: 1, reason: "wrong strength handed over".into() };
    let t = decide(&s, &pharmacist(), &reverse, &facts()).unwrap();
    assert_eq!(line_statuses(&t.state), "HOLD CANCELLED SUBSTITUTED");
    assert_eq!(t.state.status, RxStatus::HitlReview);
    let line = t.state.line(1).unwrap();
    assert!(line.dispense.is_none() && line.scan_id.is_none());
    assert!(line.decision.as_ref().unwrap().reason.contains("wrong strength"));
    assert_eq!(t.events[0].action.as_str(), "dispense_reversed");
    // The old idempotency key is history: dispensing again needs a decision and a new scan.
    let again = Command::Dispense { line_no: 1, idempotency_key: "key-1".into(), quantity: 30 };
    assert_eq!(decide(&t.state, &pharmacist(), &again, &facts()).unwrap_err().code, RefusalCode::IllegalTransition);
    let approve = Command::LineDecision(decision(&t.state, &facts(), 1, LineAction::Dispense));
    let approved = decide(&t.state, &pharmacist(), &approve, &facts()).unwrap().state;
    let scanned = decide(&approved, &pharmacist(), &scan(1)(&approved, &facts()), &facts()).unwrap().state;
    let redo = Command::Dispense { line_no: 1, idempotency_key: "key-1b".into(), quantity: 30 };
    assert_eq!(
        decide(&scanned, &pharmacist(), &redo, &facts()).unwrap().state.line(1).unwrap().status,
        LineStatus::Dispensed
    );
}

#[test]
fn reversing_needs_a_pharmacist_a_reason_and_a_dispensed_line_before_close() {
    let dispensed = state_with("DISPENSED CANCELLED DISPENSED");
    let reverse = |reason: &str| Command::ReverseDispense { line_no: 3, reason: reason.into() };
    for who in [physician(), agent(), device(), principal(Role::Admin)] {
        assert_eq!(decide(&dispensed, &who, &reverse("declined"), &facts()).unwrap_err().http_status(), 403);
    }
    assert_eq!(
        decide(&dispensed, &pharmacist(), &reverse(""), &facts()).unwrap_err().code,
        RefusalCode::ReasonRequired
    );
    let wrong_line = Command::ReverseDispense { line_no: 2, reason: "declined".into() };
    assert_eq!(
        decide(&dispensed, &pharmacist(), &wrong_line, &facts()).unwrap_err().code,
        RefusalCode::IllegalTransition
    );
    // One of two dispensed lines back: line 1 still stands, so the prescription stays
    // DISPENSED (to be counselled on what the patient takes home) with line 3 held.
    let t = decide(&dispensed, &pharmacist(), &reverse("patient declined"), &facts()).unwrap();
    assert_eq!((t.state.status, line_statuses(&t.state).as_str()), (RxStatus::Dispensed, "DISPENSED CANCELLED HOLD"));
    let closed = happy_states().into_iter().find(|s| s.status == RxStatus::Closed).unwrap();
    assert_eq!(
        decide(&closed, &pharmacist(), &reverse("late"), &facts()).unwrap_err().code,
        RefusalCode::IllegalTransition
    );
}

#[test]
fn a_replacement_is_held_to_the_policy_of_the_drug_it_replaces() {
    let s = state_with("APPROVED CANCELLED HITL_REVIEW");
    let substitute = |severity: Option<Severity>, justified: bool| {
        let mut d = decision(&s, &facts(), 3, LineAction::Substitute);
        d.replacement_severity = severity;
        d.justification = justified.then(|| "fluconazole interaction reviewed with the prescriber".into());
        Command::LineDecision(d)
    };
    let refusal = decide(&s, &pharmacist(), &substitute(Some(Severity::Contraindicated), true), &facts()).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::Contraindicated);
    assert!(refusal.reason.contains("fluconazole"), "{}", refusal.reason);
    let refusal = decide(&s, &pharmacist(), &substitute(Some(Severity::Major), false), &facts()).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::JustificationRequired);
    for (severity, justified) in [(Some(Severity::Major), true), (Some(Severity::Moderate), false), (None, false)] {
        let t = decide(&s, &pharmacist(), &substitute(severity, justified), &facts()).unwrap();
        assert_eq!(t.state.line(3).unwrap().status, LineStatus::Substituted, "{severity:?}");
    }
}

/// One command of each kind, valid for the state where it makes sense.
fn sample_commands(state: &RxState, facts: &Facts) -> Vec<(&'static str, Command)> {
    vec![
        ("start", Command::StartVerification),
        ("record", Command::RecordVerification(findings())),
        ("propose", Command::Propose { line_no: 2, action: LineAction::Hold, rationale: "await ECG".into() }),
        ("decide", Command::LineDecision(decision(state, facts, 1, LineAction::Dispense))),
        ("scan", Command::BarcodeScanned { line_no: 1, matched: true, scan_id: "s-9".into() }),
        ("dispense", Command::Dispense { line_no: 1, idempotency_key: "k-9".into(), quantity: 30 }),
        ("counsel", Command::CounselDone { items: CounselItem::REQUIRED.to_vec() }),
        ("close", Command::Close),
        (
            "amend",
            Command::AmendLine {
                line_no: 2,
                drug: drug("azithromycin", &["macrolide", "antibacterial"]),
                reason: "EHR order ORD-2 replaced by ORD-2b".into(),
            },
        ),
        ("reverse", Command::ReverseDispense { line_no: 1, reason: "patient declined at the counter".into() }),
    ]
}

/// Every command from every state of the happy path, by the role allowed to issue it:
/// either the new status or the refusal. An illegal transition is always a 409 with a reason.
#[test]
fn transition_table() {
    let f = facts();
    let mut table = String::new();
    for state in happy_states() {
        table.push_str(&format!("{:<17} [{}]\n", state.status.as_str(), line_statuses(&state)));
        for (name, command) in sample_commands(&state, &f) {
            let who = principal(allowed_roles(command.kind())[0]);
            let outcome = match decide(&state, &who, &command, &f) {
                Ok(t) => format!("ok -> {} [{}]", t.state.status.as_str(), line_statuses(&t.state)),
                Err(r) => {
                    assert_eq!(r.http_status(), 409, "{r}");
                    assert!(!r.reason.is_empty());
                    format!("{} {}", r.http_status(), r.code.as_str())
                }
            };
            table.push_str(&format!("  {name:<9} {outcome}\n"));
        }
    }
    expect![[r#"
        RX_RECEIVED       [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          start     ok -> AI_VERIFYING [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 illegal_transition
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     ok -> RX_RECEIVED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          reverse   409 illegal_transition
        AI_VERIFYING      [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          start     409 illegal_transition
          record    ok -> ALERTS_RAISED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 illegal_transition
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     ok -> RX_RECEIVED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          reverse   409 illegal_transition
        ALERTS_RAISED     [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          start     ok -> AI_VERIFYING [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          record    409 illegal_transition
          propose   ok -> HITL_REVIEW [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          decide    ok -> HITL_REVIEW [APPROVED HITL_REVIEW HITL_REVIEW]
          scan      409 illegal_transition
          dispense  409 illegal_transition
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     ok -> RX_RECEIVED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          reverse   409 illegal_transition
        HITL_REVIEW       [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          start     ok -> AI_VERIFYING [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          record    409 illegal_transition
          propose   ok -> HITL_REVIEW [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          decide    ok -> HITL_REVIEW [APPROVED HITL_REVIEW HITL_REVIEW]
          scan      409 illegal_transition
          dispense  409 illegal_transition
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     ok -> RX_RECEIVED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          reverse   409 illegal_transition
        HITL_REVIEW       [APPROVED HITL_REVIEW HITL_REVIEW]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   ok -> HITL_REVIEW [APPROVED HITL_REVIEW HITL_REVIEW]
          decide    409 illegal_transition
          scan      ok -> HITL_REVIEW [BARCODE_SCAN HITL_REVIEW HITL_REVIEW]
          dispense  409 scan_required
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     ok -> RX_RECEIVED [HITL_REVIEW HITL_REVIEW HITL_REVIEW]
          reverse   409 illegal_transition
        HITL_REVIEW       [APPROVED CANCELLED HITL_REVIEW]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      ok -> HITL_REVIEW [BARCODE_SCAN CANCELLED HITL_REVIEW]
          dispense  409 scan_required
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   409 illegal_transition
        HITL_REVIEW       [APPROVED CANCELLED SUBSTITUTED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      ok -> HITL_REVIEW [BARCODE_SCAN CANCELLED SUBSTITUTED]
          dispense  409 scan_required
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   409 illegal_transition
        HITL_REVIEW       [BARCODE_SCAN CANCELLED SUBSTITUTED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      ok -> HITL_REVIEW [BARCODE_SCAN CANCELLED SUBSTITUTED]
          dispense  ok -> HITL_REVIEW [DISPENSED CANCELLED SUBSTITUTED]
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   409 illegal_transition
        HITL_REVIEW       [DISPENSED CANCELLED SUBSTITUTED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 already_dispensed
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   ok -> HITL_REVIEW [HOLD CANCELLED SUBSTITUTED]
        HITL_REVIEW       [DISPENSED CANCELLED BARCODE_SCAN]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 already_dispensed
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   ok -> HITL_REVIEW [HOLD CANCELLED BARCODE_SCAN]
        DISPENSED         [DISPENSED CANCELLED DISPENSED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 already_dispensed
          counsel   ok -> COUNSEL_COMPLETE [DISPENSED CANCELLED DISPENSED]
          close     409 counselling_incomplete
          amend     409 illegal_transition
          reverse   ok -> DISPENSED [HOLD CANCELLED DISPENSED]
        COUNSEL_COMPLETE  [DISPENSED CANCELLED DISPENSED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 already_dispensed
          counsel   409 illegal_transition
          close     ok -> CLOSED [DISPENSED CANCELLED DISPENSED]
          amend     409 illegal_transition
          reverse   ok -> DISPENSED [HOLD CANCELLED DISPENSED]
        CLOSED            [DISPENSED CANCELLED DISPENSED]
          start     409 illegal_transition
          record    409 illegal_transition
          propose   409 illegal_transition
          decide    409 illegal_transition
          scan      409 illegal_transition
          dispense  409 already_dispensed
          counsel   409 illegal_transition
          close     409 illegal_transition
          amend     409 illegal_transition
          reverse   409 illegal_transition
    "#]]
    .assert_eq(&table);
}

// ---------------------------------------------------------------------------------------
// Authorisation: every command × every role, through `decide` itself (not only the table),
// from a state where the command is legal for the role that may issue it.

fn check_matrix(expect: Expect) {
    let f = facts();
    let s = happy_states();
    let block = PatientCommand::ReportAdverseEvent { drug_class: "nsaid".into(), description: "GI bleed".into() };
    let blocked = decide_patient(&f.blocks, &physician(), &block).unwrap().state;
    let lift = PatientCommand::LiftAdverseEventBlock { drug_class: "nsaid".into(), reason: "gastroprotection".into() };
    let mut table = format!("{:<25}", "");
    for role in Role::ALL {
        table.push_str(&format!("{:<11}", role.as_str()));
    }
    table.push('\n');
    for kind in CommandKind::ALL {
        table.push_str(&format!("{:<25}", kind.as_str()));
        for role in Role::ALL {
            let who = principal(role);
            let result = match kind {
                CommandKind::Receive => receive(&who, &intake()).map(|_| ()),
                CommandKind::ReportAdverseEvent => decide_patient(&f.blocks, &who, &block).map(|_| ()),
                CommandKind::LiftAdverseEventBlock => decide_patient(&blocked, &who, &lift).map(|_| ()),
                _ => {
                    // The first state of the happy path where this kind of command is accepted.
                    let (state, command) = s
                        .iter()
                        .find_map(|st| {
                            let c = sample_commands(st, &f).into_iter().map(|(_, c)| c).find(|c| c.kind() == kind)?;
                            decide(st, &pharmacist_or_device(kind), &c, &f).ok().map(|_| (st, c))
                        })
                        .unwrap_or_else(|| panic!("no state accepts {kind:?}"));
                    decide(state, &who, &command, &f).map(|_| ())
                }
            };
            let cell = match result {
                Ok(()) => "allowed".to_string(),
                Err(r) => {
                    assert_eq!(r.http_status(), 403, "{kind:?} by {role}: {r}");
                    "403".to_string()
                }
            };
            assert_eq!(cell == "allowed", allowed_roles(kind).contains(&role), "{kind:?} by {role}");
            table.push_str(&format!("{cell:<11}"));
        }
        table = table.trim_end().to_string();
        table.push('\n');
    }
    expect.assert_eq(&table);
}

fn pharmacist_or_device(kind: CommandKind) -> Principal {
    principal(allowed_roles(kind)[0])
}

#[test]
fn authorisation_matrix() {
    check_matrix(expect![[r#"
                                 pharmacist physician  agent      device     admin      
        receive                  allowed    allowed    403        403        403
        start_verification       allowed    403        allowed    403        403
        record_verification      allowed    403        allowed    403        403
        propose                  allowed    403        allowed    403        403
        line_decision            allowed    403        403        403        403
        barcode_scanned          allowed    403        403        allowed    403
        dispense                 allowed    403        403        403        403
        counsel_done             allowed    403        403        403        403
        close                    allowed    403        403        403        403
        amend_line               403        allowed    403        403        403
        reverse_dispense         allowed    403        403        403        403
        report_adverse_event     allowed    allowed    403        403        403
        lift_adverse_event_block allowed    403        403        403        403
    "#]]);
}

// ---------------------------------------------------------------------------------------
// Property tests: random commands by random principals, with the world changing underneath.

#[derive(Debug, Clone)]
enum Op {
    Command { role: Role, subject: u8, spec: Spec },
    ChangeKnowledge,
    ReturnStale,
    ReportAdverseEvent { role: Role },
    LiftBlock { role: Role },
}

#[derive(Debug, Clone)]
enum Spec {
    Start,
    Record { clean: bool },
    Propose { line: u32, action: LineAction },
    Decide { line: u32, action: LineAction, view_ok: bool, justified: bool, replacement: bool },
    Scan { line: u32, matched: bool },
    Dispense { line: u32, key: u8, quantity: u32 },
    Counsel { all: bool },
    Close,
    Amend { line: u32 },
    Reverse { line: u32 },
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        4 => Just(Role::Pharmacist),
        3 => Just(Role::Agent),
        1 => Just(Role::Device),
        1 => Just(Role::Physician),
        1 => Just(Role::Admin),
    ]
}

fn action() -> impl Strategy<Value = LineAction> {
    prop::sample::select(LineAction::ALL.to_vec())
}

fn spec() -> impl Strategy<Value = Spec> {
    let line = 1u32..=4;
    prop_oneof![
        1 => Just(Spec::Start),
        1 => any::<bool>().prop_map(|clean| Spec::Record { clean }),
        1 => (line.clone(), action()).prop_map(|(line, action)| Spec::Propose { line, action }),
        4 => (line.clone(), action(), prop::bool::weighted(0.9), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(line, action, view_ok, justified, replacement)| Spec::Decide { line, action, view_ok, justified, replacement }),
        3 => (line.clone(), prop::bool::weighted(0.7)).prop_map(|(line, matched)| Spec::Scan { line, matched }),
        3 => (line, 0u8..3, 0u32..3).prop_map(|(line, key, quantity)| Spec::Dispense { line, key, quantity }),
        1 => prop::bool::weighted(0.7).prop_map(|all| Spec::Counsel { all }),
        1 => Just(Spec::Close),
        1 => (1u32..=4).prop_map(|line| Spec::Amend { line }),
        1 => (1u32..=4).prop_map(|line| Spec::Reverse { line }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        40 => (role(), 0u8..2, spec()).prop_map(|(role, subject, spec)| Op::Command { role, subject, spec }),
        1 => Just(Op::ChangeKnowledge),
        1 => Just(Op::ReturnStale),
        1 => role().prop_map(|role| Op::ReportAdverseEvent { role }),
        1 => role().prop_map(|role| Op::LiftBlock { role }),
    ]
}

fn build(spec: &Spec, state: &RxState, facts: &Facts) -> Command {
    match *spec {
        Spec::Start => Command::StartVerification,
        Spec::Record { clean: false } => Command::RecordVerification(findings()),
        Spec::Record { clean: true } => Command::RecordVerification(Findings {
            verification_hash: "clean".into(),
            highest_severity: None,
            blocking: false,
            lines: vec![],
        }),
        Spec::Propose { line, action } => Command::Propose { line_no: line, action, rationale: "proposed".into() },
        Spec::Decide { line, action, view_ok, justified, replacement } => {
            let mut d = decision(state, facts, line, action);
            if !view_ok {
                d.approved_view_hash = "stale".into();
            }
            if !justified {
                d.justification = None;
            }
            if !replacement {
                d.replacement = None;
            }
            Command::LineDecision(d)
        }
        Spec::Scan { line, matched } => Command::BarcodeScanned { line_no: line, matched, scan_id: "scan".into() },
        Spec::Dispense { line, key, quantity } => {
            Command::Dispense { line_no: line, idempotency_key: format!("k{key}"), quantity }
        }
        Spec::Counsel { all } => Command::CounselDone {
            items: if all { CounselItem::REQUIRED.to_vec() } else { CounselItem::REQUIRED[1..].to_vec() },
        },
        Spec::Close => Command::Close,
        Spec::Amend { line } => Command::AmendLine {
            line_no: line,
            drug: drug("azithromycin", &["macrolide"]),
            reason: "changed in the EHR".into(),
        },
        Spec::Reverse { line } => Command::ReverseDispense { line_no: line, reason: "declined".into() },
    }
}

/// What must hold for every accepted command, whoever sent it.
fn check_invariants(before: &RxState, who: &Principal, command: &Command, after: &Transition<RxState>) {
    let pharmacist_only = [
        CommandKind::LineDecision,
        CommandKind::Dispense,
        CommandKind::CounselDone,
        CommandKind::Close,
        CommandKind::ReverseDispense,
    ];
    if who.role != Role::Pharmacist {
        assert!(!pharmacist_only.contains(&command.kind()), "{} was allowed to {:?}", who.role, command.kind());
        assert_ne!(after.state.status, RxStatus::Closed);
    }
    if let Command::LineDecision(d) = command
        && before.line(d.line_no).unwrap().severity == Some(Severity::Contraindicated)
    {
        assert!(matches!(d.action, LineAction::Substitute | LineAction::Cancel), "contraindicated line {d:?}");
    }
    for (old, new) in before.lines.iter().zip(&after.state.lines) {
        if new.status == LineStatus::Dispensed && old.status != LineStatus::Dispensed {
            assert_eq!(old.status, LineStatus::BarcodeScan, "line {} dispensed without a matched scan", old.line_no);
            assert!(old.scan_id.is_some());
            assert_eq!(who.role, Role::Pharmacist);
        }
        if new.status == LineStatus::Approved {
            assert_ne!(new.severity, Some(Severity::Contraindicated), "contraindicated line {} approved", new.line_no);
        }
        if new.decision != old.decision && new.decision.is_some() {
            assert_eq!(who.role, Role::Pharmacist, "a {} decided line {}", who.role, new.line_no);
        }
    }
}

/// How deep the random sequences got (cells: proptest's closure is `Fn`).
#[derive(Default)]
struct Reached {
    decided: Cell<usize>,
    dispensed: Cell<usize>,
    closed: Cell<usize>,
    blocked_dispense: Cell<usize>,
}

fn bump(counter: &Cell<usize>, when: bool) {
    counter.set(counter.get() + usize::from(when));
}

#[test]
fn random_command_sequences_never_break_the_gate() {
    let reached = Reached::default();
    let mut runner = TestRunner::new(Config { cases: 1000, ..Config::default() });
    // Sequences start anywhere on the happy path, so that deep states are reached often.
    let starts = happy_states();
    let strategy = (0..starts.len(), prop::collection::vec(op(), 1..60));
    runner
        .run(&strategy, |(start, ops)| {
            let mut facts = facts();
            let mut state = starts[start].clone();
            let mut snapshot = 1;
            for op in ops {
                match op {
                    Op::Command { role, subject, spec } => {
                        let who = Principal::new(format!("{}-{subject}", role.as_str()), role);
                        let command = build(&spec, &state, &facts);
                        match decide(&state, &who, &command, &facts) {
                            Ok(t) => {
                                check_invariants(&state, &who, &command, &t);
                                bump(&reached.decided, command.kind() == CommandKind::LineDecision);
                                bump(&reached.dispensed, command.kind() == CommandKind::Dispense && !t.is_replay());
                                bump(&reached.closed, t.state.status == RxStatus::Closed);
                                state = t.state;
                            }
                            Err(r) => {
                                prop_assert!(!r.reason.is_empty());
                                prop_assert!(matches!(r.http_status(), 403 | 409));
                                if PHARMACIST_ONLY.contains(&command.kind()) && role != Role::Pharmacist {
                                    prop_assert_eq!(r.http_status(), 403);
                                }
                                bump(&reached.blocked_dispense, r.code == RefusalCode::AdverseEventBlock);
                            }
                        }
                    }
                    Op::ChangeKnowledge => {
                        snapshot += 1;
                        facts.knowledge_hash = format!("snapshot-{snapshot}");
                    }
                    Op::ReturnStale => {
                        if let Some(t) = return_stale_to_review(&state, &facts) {
                            state = t.state;
                        }
                    }
                    Op::ReportAdverseEvent { role } => {
                        let report = PatientCommand::ReportAdverseEvent {
                            drug_class: "calcium_channel_blocker".into(),
                            description: "oedema".into(),
                        };
                        if let Ok(t) = decide_patient(&facts.blocks, &principal(role), &report) {
                            facts.blocks = t.state;
                        }
                    }
                    Op::LiftBlock { role } => {
                        let lift = PatientCommand::LiftAdverseEventBlock {
                            drug_class: "calcium_channel_blocker".into(),
                            reason: "resolved".into(),
                        };
                        if let Ok(t) = decide_patient(&facts.blocks, &principal(role), &lift) {
                            prop_assert_eq!(role, Role::Pharmacist);
                            facts.blocks = t.state;
                        }
                    }
                }
                // Whatever happened, no dispensed line lacks a scan and a pharmacist.
                for line in &state.lines {
                    if line.status == LineStatus::Dispensed {
                        prop_assert!(line.scan_id.is_some());
                        // Pharmacists are "ph-1" on the happy path and "pharmacist-N" here.
                        let by = &line.dispense.as_ref().unwrap().by;
                        prop_assert!(by == "ph-1" || by.starts_with("pharmacist-"), "dispensed by {}", by);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    // The property is only as good as the states it reached.
    assert!(reached.decided.get() > 100, "decisions reached: {}", reached.decided.get());
    assert!(reached.dispensed.get() > 20, "dispenses reached: {}", reached.dispensed.get());
    assert!(reached.blocked_dispense.get() > 0, "adverse-event refusals reached: {}", reached.blocked_dispense.get());
    eprintln!(
        "reached: decided {}, dispensed {}, closed {}",
        reached.decided.get(),
        reached.dispensed.get(),
        reached.closed.get()
    );
}
