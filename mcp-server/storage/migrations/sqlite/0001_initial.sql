-- rxgate schema, SQLite flavour. Kept in step with ../postgres/0001_initial.sql: same tables,
-- columns, constraints and triggers; only the type names and trigger syntax differ.
-- Timestamps are RFC 3339 text in UTC; JSON columns hold JSON text; booleans are 0/1.

CREATE TABLE patients (
    id                      INTEGER PRIMARY KEY,
    demo_name               TEXT NOT NULL,
    date_of_birth           TEXT,
    age_days                INTEGER CHECK (age_days >= 0),
    weight_kg               REAL CHECK (weight_kg > 0),
    height_cm               REAL CHECK (height_cm > 0),
    sex                     TEXT CHECK (sex IN ('female', 'male')),
    pregnant                INTEGER,
    allergies               TEXT NOT NULL DEFAULT '[]',
    active_medications      TEXT NOT NULL DEFAULT '[]',
    halal_preference        TEXT NOT NULL DEFAULT 'none' CHECK (halal_preference IN ('halal_only', 'warn', 'none')),
    serum_creatinine_umol_l REAL,
    egfr_ml_min_1_73m2      REAL,
    crcl_ml_min             REAL,
    child_pugh              TEXT CHECK (child_pugh IN ('A', 'B', 'C')),
    created_at              TEXT NOT NULL
);

CREATE TABLE prescriptions (
    id             INTEGER PRIMARY KEY,
    patient_id     INTEGER NOT NULL REFERENCES patients (id),
    prescriber     TEXT NOT NULL,
    status         TEXT NOT NULL,
    knowledge_hash TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX prescriptions_by_status ON prescriptions (status, id);
CREATE INDEX prescriptions_by_patient ON prescriptions (patient_id);

CREATE TABLE prescription_items (
    rx_id              INTEGER NOT NULL REFERENCES prescriptions (id),
    line_no            INTEGER NOT NULL CHECK (line_no > 0),
    drug               TEXT NOT NULL,
    dose_value         TEXT NOT NULL,
    dose_unit          TEXT NOT NULL,
    frequency          TEXT NOT NULL,
    route              TEXT NOT NULL,
    duration_days      INTEGER CHECK (duration_days > 0),
    status             TEXT NOT NULL,
    decision           TEXT,
    decision_reason    TEXT,
    justification      TEXT,
    approved_by        TEXT,
    approved_view_hash TEXT,
    substituted_drug   TEXT,
    barcode_scan_id    INTEGER REFERENCES barcode_scans (id),
    version            INTEGER NOT NULL DEFAULT 1,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (rx_id, line_no)
);

CREATE TABLE verifications (
    id                INTEGER PRIMARY KEY,
    rx_id             INTEGER NOT NULL REFERENCES prescriptions (id),
    result            TEXT NOT NULL,
    verification_hash TEXT NOT NULL,
    knowledge_version TEXT NOT NULL,
    knowledge_hash    TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX verifications_by_rx ON verifications (rx_id, id);

CREATE TABLE ddi_alerts (
    id              INTEGER PRIMARY KEY,
    rx_id           INTEGER NOT NULL REFERENCES prescriptions (id),
    verification_id INTEGER REFERENCES verifications (id),
    line_nos        TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('minor', 'moderate', 'major', 'contraindicated')),
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX ddi_alerts_by_rx ON ddi_alerts (rx_id, id);

CREATE TABLE allergy_alerts (
    id              INTEGER PRIMARY KEY,
    rx_id           INTEGER NOT NULL REFERENCES prescriptions (id),
    verification_id INTEGER REFERENCES verifications (id),
    line_nos        TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('minor', 'moderate', 'major', 'contraindicated')),
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX allergy_alerts_by_rx ON allergy_alerts (rx_id, id);

CREATE TABLE proposals (
    id          INTEGER PRIMARY KEY,
    rx_id       INTEGER NOT NULL,
    line_no     INTEGER NOT NULL,
    action      TEXT NOT NULL,
    rationale   TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX proposals_by_rx ON proposals (rx_id, line_no, id);

CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY,
    rx_id         INTEGER NOT NULL,
    line_no       INTEGER NOT NULL,
    pharmacist    TEXT NOT NULL,
    action        TEXT NOT NULL,
    reason        TEXT,
    justification TEXT,
    view_hash     TEXT NOT NULL,
    at            TEXT NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX approvals_by_rx ON approvals (rx_id, line_no, id);

CREATE TABLE barcode_scans (
    id       INTEGER PRIMARY KEY,
    rx_id    INTEGER NOT NULL,
    line_no  INTEGER NOT NULL,
    scan     TEXT NOT NULL,
    matched  INTEGER NOT NULL,
    problems TEXT NOT NULL DEFAULT '[]',
    device   TEXT,
    at       TEXT NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX barcode_scans_by_rx ON barcode_scans (rx_id, line_no, id);

CREATE TABLE inventory (
    product       TEXT NOT NULL,
    lot           TEXT NOT NULL,
    expiry        TEXT,
    qty_on_hand   INTEGER NOT NULL CHECK (qty_on_hand >= 0),
    reorder_level INTEGER NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (product, lot)
);

CREATE TABLE dispense_log (
    id              INTEGER PRIMARY KEY,
    rx_id           INTEGER NOT NULL,
    line_no         INTEGER NOT NULL,
    product         TEXT NOT NULL,
    lot             TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    dispensed_by    TEXT NOT NULL,
    at              TEXT NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no),
    FOREIGN KEY (product, lot) REFERENCES inventory (product, lot)
);
CREATE INDEX dispense_log_by_rx ON dispense_log (rx_id, line_no, id);

CREATE TABLE counselling (
    id        INTEGER PRIMARY KEY,
    rx_id     INTEGER NOT NULL REFERENCES prescriptions (id),
    checklist TEXT NOT NULL,
    done_by   TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX counselling_by_rx ON counselling (rx_id, id);

CREATE TABLE adverse_events (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id),
    drug_class  TEXT NOT NULL,
    drug        TEXT,
    description TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    at          TEXT NOT NULL,
    lifted_by   TEXT,
    lift_reason TEXT,
    lifted_at   TEXT,
    CHECK ((lifted_by IS NULL) = (lift_reason IS NULL) AND (lifted_by IS NULL) = (lifted_at IS NULL))
);
CREATE INDEX adverse_events_by_patient ON adverse_events (patient_id, id);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('pharmacist', 'physician', 'agent', 'device', 'admin')),
    created_at    TEXT NOT NULL
);

-- The audit log is append-only: rows are only ever inserted, by `Tx::append_audit`, which holds
-- the write lock on `audit_head` so that `seq` is contiguous and `prev_hash` links every row to
-- the one before it. before/after are JSON *text*, stored byte for byte, because
-- the hash covers those bytes.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY CHECK (seq > 0),
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    action         TEXT NOT NULL,
    rx_id          TEXT,
    line_no        INTEGER,
    before         TEXT NOT NULL,
    after          TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_log_by_rx ON audit_log (rx_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL CHECK (seq >= 0),
    hash TEXT
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;

-- Belt and braces for the chain's shape: an audit row must continue the head exactly (the
-- first row's prev_hash is the caller's genesis value), and the head only ever moves forward
-- by one, to the newest row.
CREATE TRIGGER audit_log_continues_head BEFORE INSERT ON audit_log
WHEN NEW.seq <> (SELECT seq + 1 FROM audit_head WHERE id = 1)
  OR (NEW.seq > 1 AND NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1))
BEGIN
    SELECT RAISE(ABORT, 'audit_log insert does not continue audit_head');
END;

CREATE TRIGGER audit_head_moves_forward BEFORE UPDATE ON audit_head
WHEN NEW.seq <> OLD.seq + 1
  OR NEW.hash IS NOT (SELECT hash FROM audit_log WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_head may only advance to the newest audit_log row');
END;
