//! The EHR sync pipeline as a pure state machine: event kinds, natural keys, the retry
//! schedule and what one delivery attempt does to an event.
//!
//! Delivery is at least once (a sender cannot tell "lost" from "applied, reply lost"), so
//! exactly-once *effect* comes from the receiver: every event carries a natural key, and a
//! receiver applies a key at most once and answers a repeat as success. The server's
//! storage enforces that with a unique key; [`Ledger`] states the same rule for tests.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    PrescriptionNew,
    PrescriptionChange,
    PrescriptionCancel,
    Dispense,
    DispenseReversal,
    MedListPull,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::PrescriptionNew,
        EventKind::PrescriptionChange,
        EventKind::PrescriptionCancel,
        EventKind::Dispense,
        EventKind::DispenseReversal,
        EventKind::MedListPull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PrescriptionNew => "PRESCRIPTION_NEW",
            EventKind::PrescriptionChange => "PRESCRIPTION_CHANGE",
            EventKind::PrescriptionCancel => "PRESCRIPTION_CANCEL",
            EventKind::Dispense => "DISPENSE",
            EventKind::DispenseReversal => "DISPENSE_REVERSAL",
            EventKind::MedListPull => "MED_LIST_PULL",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting for its first or next attempt (`next_attempt_at`).
    Pending,
    /// Applied or delivered. Final.
    Done,
    /// A code waits for an analyst; reprocessed when it is resolved.
    NeedsMapping,
    /// A person must act (permanent error, or retries exhausted): the manual-action queue.
    DeadLetter,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Done => "done",
            Status::NeedsMapping => "needs_mapping",
            Status::DeadLetter => "dead_letter",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Pending, Status::Done, Status::NeedsMapping, Status::DeadLetter]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// How an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying: timeouts, connection refused, 408, 429, 5xx.
    Transient(String),
    /// Retrying cannot help: 4xx other than 408/429, a body the receiver refuses.
    Permanent(String),
}

impl Failure {
    /// Classifies an HTTP status from the EHR.
    pub fn from_http(status: u16, body: &str) -> Failure {
        let text = format!("HTTP {status}: {}", body.chars().take(200).collect::<String>());
        match status {
            408 | 429 | 500..=599 => Failure::Transient(text),
            _ => Failure::Permanent(text),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::Permanent(m) => m,
        }
    }
}

/// Waits after the 1st, 2nd … 5th failed attempt; the 6th failure dead-letters.
pub const BACKOFF: [Duration; 5] =
    [Duration::minutes(1), Duration::minutes(5), Duration::minutes(15), Duration::hours(1), Duration::hours(6)];

/// An event's delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub status: Status,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Delivery {
    pub fn new(now: DateTime<Utc>) -> Delivery {
        Delivery { status: Status::Pending, attempts: 0, next_attempt_at: Some(now), last_error: None }
    }

    /// Due for an attempt at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Pending && self.next_attempt_at.is_some_and(|t| t <= now)
    }

    /// The state after one attempt that ended with `outcome`.
    pub fn after_attempt(&self, outcome: Result<(), Failure>, now: DateTime<Utc>) -> Delivery {
        let attempts = self.attempts + 1;
        match outcome {
            Ok(()) => Delivery { status: Status::Done, attempts, next_attempt_at: None, last_error: None },
            Err(Failure::Permanent(m)) => {
                Delivery { status: Status::DeadLetter, attempts, next_attempt_at: None, last_error: Some(m) }
            }
            Err(Failure::Transient(m)) => match BACKOFF.get(attempts as usize - 1) {
                Some(wait) => Delivery {
                    status: Status::Pending,
                    attempts,
                    next_attempt_at: Some(now + *wait),
                    last_error: Some(m),
                },
                None => Delivery {
                    status: Status::DeadLetter,
                    attempts,
                    next_attempt_at: None,
                    last_error: Some(format!("gave up after {attempts} attempts: {m}")),
                },
            },
        }
    }

    /// A person sends a dead letter (or a resolved mapping) round again, from scratch.
    pub fn requeue(&self, now: DateTime<Utc>) -> Delivery {
        Delivery {
            status: Status::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: self.last_error.clone(),
        }
    }
}

/// The natural key of an outbound dispense event: one per dispense record and direction
/// of travel (a reversal is another event).
pub fn dispense_key(kind: EventKind, dispense_id: i64) -> String {
    format!("{}:dispense:{dispense_id}", kind.as_str())
}

/// A receiver's record of applied keys: applying a key twice has no second effect.
pub trait Ledger {
    /// True when this call applied it; false when it was applied before.
    fn apply_once(&mut self, key: &str) -> bool;
}

impl Ledger for std::collections::BTreeMap<String, u32> {
    fn apply_once(&mut self, key: &str) -> bool {
        let count = self.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z").expect("time").with_timezone(&Utc)
    }

    #[test]
    fn transient_failures_back_off_1m_5m_15m_1h_6h_then_dead_letter() {
        let mut d = Delivery::new(t0());
        let mut now = t0();
        let mut waits = Vec::new();
        for _ in 0..5 {
            d = d.after_attempt(Err(Failure::Transient("timeout".into())), now);
            assert_eq!(d.status, Status::Pending);
            let next = d.next_attempt_at.expect("scheduled");
            waits.push((next - now).num_minutes());
            assert!(!d.is_due(next - Duration::seconds(1)), "not before its time");
            now = next;
        }
        assert_eq!(waits, [1, 5, 15, 60, 360]);
        d = d.after_attempt(Err(Failure::Transient("timeout".into())), now);
        assert_eq!((d.status, d.attempts), (Status::DeadLetter, 6));
        assert!(d.last_error.as_deref().is_some_and(|e| e.contains("gave up after 6")));
    }

    #[test]
    fn permanent_errors_go_to_the_manual_queue_at_once() {
        let d = Delivery::new(t0()).after_attempt(Err(Failure::from_http(422, "bad resource")), t0());
        assert_eq!((d.status, d.attempts), (Status::DeadLetter, 1));
        let d = Delivery::new(t0()).after_attempt(Err(Failure::from_http(503, "")), t0());
        assert_eq!(d.status, Status::Pending);
        assert!(matches!(Failure::from_http(429, ""), Failure::Transient(_)));
        assert!(matches!(Failure::from_http(404, ""), Failure::Permanent(_)));
        let again = Delivery::new(t0()).after_attempt(Err(Failure::Permanent("x".into())), t0()).requeue(t0());
        assert!(again.is_due(t0()));
    }

    #[test]
    fn event_kinds_round_trip_their_wire_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
    }

    /// One simulated step of the world.
    #[derive(Debug, Clone)]
    enum Step {
        /// The worker attempts due events; each attempt draws from `faults`.
        Tick,
        /// The clock moves on this many minutes.
        Wait(u32),
        /// The process dies: in-memory work is lost, the store survives.
        Restart,
        /// An operator requeues the dead letters.
        Replay,
    }

    /// What the network does to one attempt.
    #[derive(Debug, Clone, Copy)]
    enum Fault {
        None,
        /// Never reached the receiver.
        Lost,
        /// Applied by the receiver, reply lost.
        ReplyLost,
        /// Receiver answered 503.
        Unavailable,
        /// The process died mid-attempt, before the outcome was stored.
        CrashMidAttempt,
    }

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            4 => Just(Fault::None),
            1 => Just(Fault::Lost),
            1 => Just(Fault::ReplyLost),
            1 => Just(Fault::Unavailable),
            1 => Just(Fault::CrashMidAttempt),
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => Just(Step::Tick),
            3 => (1u32..500).prop_map(Step::Wait),
            1 => Just(Step::Restart),
            1 => Just(Step::Replay),
        ]
    }

    proptest! {
        /// No event is lost or applied twice: under lost messages, lost replies, outages and
        /// crashes, every event ends applied exactly once or waits in a queue a person sees
        /// (pending or dead letter) — and after the faults stop and the dead letters are
        /// replayed, every event is applied exactly once.
        #[test]
        fn no_event_is_lost_or_applied_twice(
            events in 1usize..20,
            steps in proptest::collection::vec(step(), 1..120),
            faults in proptest::collection::vec(fault(), 1..200),
        ) {
            // The durable store: natural key → delivery state (what the database holds).
            let mut store: BTreeMap<String, Delivery> = BTreeMap::new();
            let mut now = t0();
            for i in 0..events {
                // Enqueuing the same event twice (a retried request) keeps one row.
                for _ in 0..2 {
                    store.entry(dispense_key(EventKind::Dispense, i as i64)).or_insert_with(|| Delivery::new(now));
                }
            }
            prop_assert_eq!(store.len(), events);
            let mut receiver: BTreeMap<String, u32> = BTreeMap::new();
            let mut faults = faults.into_iter().cycle();

            let attempt = |store: &mut BTreeMap<String, Delivery>, receiver: &mut BTreeMap<String, u32>, now, fault| {
                let due: Vec<String> = store.iter().filter(|(_, d)| d.is_due(now)).map(|(k, _)| k.clone()).collect();
                for key in due {
                    let outcome = match fault {
                        Fault::None => { receiver.apply_once(&key); Ok(()) }
                        Fault::Lost => Err(Failure::Transient("connection reset".into())),
                        Fault::ReplyLost => { receiver.apply_once(&key); Err(Failure::Transient("timeout".into())) }
                        Fault::Unavailable => Err(Failure::from_http(503, "")),
                        // Applied, but the worker died before it stored the outcome: the row
                        // stays as it was and the event is attempted again after restart.
                        Fault::CrashMidAttempt => { receiver.apply_once(&key); return; }
                    };
                    let next = store[&key].after_attempt(outcome, now);
                    store.insert(key, next);
                }
            };

            for s in steps {
                match s {
                    Step::Tick => { let f = faults.next().unwrap_or(Fault::None); attempt(&mut store, &mut receiver, now, f) }
                    Step::Wait(m) => now += Duration::minutes(i64::from(m)),
                    Step::Restart => {} // nothing in memory survives; the store does.
                    Step::Replay => {
                        for d in store.values_mut().filter(|d| d.status == Status::DeadLetter) { *d = d.requeue(now); }
                    }
                }
                for (key, d) in &store {
                    // Never lost: every event is done, scheduled, or in the manual queue.
                    prop_assert!(matches!(d.status, Status::Done | Status::Pending | Status::DeadLetter), "{key}: {d:?}");
                    if d.status == Status::Done {
                        prop_assert!(receiver.contains_key(key), "{key} marked done but never applied");
                    }
                }
            }
            // Faults stop; an operator replays dead letters; the worker drains the queue.
            for d in store.values_mut().filter(|d| d.status == Status::DeadLetter) { *d = d.requeue(now); }
            for _ in 0..10 {
                now += Duration::hours(7);
                attempt(&mut store, &mut receiver, now, Fault::None);
            }
            for (key, d) in &store {
                prop_assert_eq!(d.status, Status::Done, "{}", key);
                prop_assert!(receiver.contains_key(key), "{key} lost");
            }
            // Deliveries may repeat (at least once); effects do not (exactly once).
            let applied_keys = receiver.len();
            prop_assert_eq!(applied_keys, events);
        }
    }

    #[test]
    fn a_ledger_applies_a_key_once_however_often_it_is_delivered() {
        let mut ledger: BTreeMap<String, u32> = BTreeMap::new();
        assert!(ledger.apply_once("DISPENSE:dispense:1"));
        assert!(!ledger.apply_once("DISPENSE:dispense:1"));
        assert!(ledger.apply_once("DISPENSE_REVERSAL:dispense:1"));
    }
}
