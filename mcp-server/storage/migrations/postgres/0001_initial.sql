-- rxgate schema, PostgreSQL flavour. Kept in step with ../sqlite/0001_initial.sql: same tables,
-- columns, constraints and triggers; only the type names and trigger syntax differ.
-- Timestamps are TIMESTAMPTZ; JSON columns are JSONB, except audit_log.before/after, which are
-- TEXT so that the bytes a hash was computed over come back unchanged.

CREATE TABLE patients (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    demo_name               TEXT NOT NULL,
    date_of_birth           DATE,
    age_days                BIGINT CHECK (age_days >= 0),
    weight_kg               DOUBLE PRECISION CHECK (weight_kg > 0),
    height_cm               DOUBLE PRECISION CHECK (height_cm > 0),
    sex                     TEXT CHECK (sex IN ('female', 'male')),
    pregnant                BOOLEAN,
    allergies               JSONB NOT NULL DEFAULT '[]',
    active_medications      JSONB NOT NULL DEFAULT '[]',
    halal_preference        TEXT NOT NULL DEFAULT 'none' CHECK (halal_preference IN ('halal_only', 'warn', 'none')),
    serum_creatinine_umol_l DOUBLE PRECISION,
    egfr_ml_min_1_73m2      DOUBLE PRECISION,
    crcl_ml_min             DOUBLE PRECISION,
    child_pugh              TEXT CHECK (child_pugh IN ('A', 'B', 'C')),
    created_at              TIMESTAMPTZ NOT NULL
);

CREATE TABLE prescriptions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id     BIGINT NOT NULL REFERENCES patients (id),
    prescriber     TEXT NOT NULL,
    status         TEXT NOT NULL,
    knowledge_hash TEXT,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX prescriptions_by_status ON prescriptions (status, id);
CREATE INDEX prescriptions_by_patient ON prescriptions (patient_id);

CREATE TABLE prescription_items (
    rx_id              BIGINT NOT NULL REFERENCES prescriptions (id),
    line_no            BIGINT NOT NULL CHECK (line_no > 0),
    drug               TEXT NOT NULL,
    dose_value         TEXT NOT NULL,
    dose_unit          TEXT NOT NULL,
    frequency          TEXT NOT NULL,
    route              TEXT NOT NULL,
    duration_days      BIGINT CHECK (duration_days > 0),
    status             TEXT NOT NULL,
    decision           TEXT,
    decision_reason    TEXT,
    justification      TEXT,
    approved_by        TEXT,
    approved_view_hash TEXT,
    substituted_drug   TEXT,
    barcode_scan_id    BIGINT,
    version            BIGINT NOT NULL DEFAULT 1,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rx_id, line_no)
);

CREATE TABLE verifications (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id             BIGINT NOT NULL REFERENCES prescriptions (id),
    result            JSONB NOT NULL,
    verification_hash TEXT NOT NULL,
    knowledge_version TEXT NOT NULL,
    knowledge_hash    TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX verifications_by_rx ON verifications (rx_id, id);

CREATE TABLE ddi_alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id           BIGINT NOT NULL REFERENCES prescriptions (id),
    verification_id BIGINT REFERENCES verifications (id),
    line_nos        JSONB NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('minor', 'moderate', 'major', 'contraindicated')),
    payload         JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX ddi_alerts_by_rx ON ddi_alerts (rx_id, id);

CREATE TABLE allergy_alerts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id           BIGINT NOT NULL REFERENCES prescriptions (id),
    verification_id BIGINT REFERENCES verifications (id),
    line_nos        JSONB NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('minor', 'moderate', 'major', 'contraindicated')),
    payload         JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX allergy_alerts_by_rx ON allergy_alerts (rx_id, id);

CREATE TABLE proposals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id       BIGINT NOT NULL,
    line_no     BIGINT NOT NULL,
    action      TEXT NOT NULL,
    rationale   TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX proposals_by_rx ON proposals (rx_id, line_no, id);

CREATE TABLE approvals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id         BIGINT NOT NULL,
    line_no       BIGINT NOT NULL,
    pharmacist    TEXT NOT NULL,
    action        TEXT NOT NULL,
    reason        TEXT,
    justification TEXT,
    view_hash     TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX approvals_by_rx ON approvals (rx_id, line_no, id);

CREATE TABLE barcode_scans (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id    BIGINT NOT NULL,
    line_no  BIGINT NOT NULL,
    scan     TEXT NOT NULL,
    matched  BOOLEAN NOT NULL,
    problems JSONB NOT NULL DEFAULT '[]',
    device   TEXT,
    at       TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);
CREATE INDEX barcode_scans_by_rx ON barcode_scans (rx_id, line_no, id);

CREATE TABLE inventory (
    product       TEXT NOT NULL,
    lot           TEXT NOT NULL,
    expiry        DATE,
    qty_on_hand   BIGINT NOT NULL CHECK (qty_on_hand >= 0),
    reorder_level BIGINT NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (product, lot)
);

CREATE TABLE dispense_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id           BIGINT NOT NULL,
    line_no         BIGINT NOT NULL,
    product         TEXT NOT NULL,
    lot             TEXT NOT NULL,
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    dispensed_by    TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no),
    FOREIGN KEY (product, lot) REFERENCES inventory (product, lot)
);
CREATE INDEX dispense_log_by_rx ON dispense_log (rx_id, line_no, id);

CREATE TABLE counselling (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id     BIGINT NOT NULL REFERENCES prescriptions (id),
    checklist JSONB NOT NULL,
    done_by   TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX counselling_by_rx ON counselling (rx_id, id);

CREATE TABLE adverse_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  BIGINT NOT NULL REFERENCES patients (id),
    drug_class  TEXT NOT NULL,
    drug        TEXT,
    description TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    lifted_by   TEXT,
    lift_reason TEXT,
    lifted_at   TIMESTAMPTZ,
    CHECK ((lifted_by IS NULL) = (lift_reason IS NULL) AND (lifted_by IS NULL) = (lifted_at IS NULL))
);
CREATE INDEX adverse_events_by_patient ON adverse_events (patient_id, id);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('pharmacist', 'physician', 'agent', 'device', 'admin')),
    created_at    TIMESTAMPTZ NOT NULL
);

-- The audit log is append-only: rows are only ever inserted, by `Tx::append_audit`, which holds
-- the write lock on `audit_head` so that `seq` is contiguous and `prev_hash` links every row to
-- the one before it. before/after are JSON *text*, stored byte for byte, because
-- the hash covers those bytes.
CREATE TABLE audit_log (
    seq            BIGINT PRIMARY KEY CHECK (seq > 0),
    at             TIMESTAMPTZ NOT NULL,
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    action         TEXT NOT NULL,
    rx_id          TEXT,
    line_no        BIGINT,
    before         TEXT NOT NULL,
    after          TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_log_by_rx ON audit_log (rx_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL CHECK (seq >= 0),
    hash TEXT
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);

-- Created after barcode_scans exists (SQLite accepts the forward reference inline).
ALTER TABLE prescription_items
    ADD CONSTRAINT prescription_items_barcode_scan_fk FOREIGN KEY (barcode_scan_id) REFERENCES barcode_scans (id);

CREATE FUNCTION rxgate_audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rxgate_audit_log_refuse_change();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rxgate_audit_log_refuse_change();
-- Row triggers do not fire for TRUNCATE; a statement trigger does.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION rxgate_audit_log_refuse_change();

CREATE FUNCTION rxgate_audit_head_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION rxgate_audit_head_refuse_delete();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION rxgate_audit_head_refuse_delete();

-- Belt and braces for the chain's shape: an audit row must continue the head exactly (the
-- first row's prev_hash is the caller's genesis value), and the head only ever moves forward
-- by one, to the newest row.
CREATE FUNCTION rxgate_audit_log_continues_head() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head audit_head%ROWTYPE;
BEGIN
    SELECT * INTO head FROM audit_head WHERE id = 1;
    IF NEW.seq <> head.seq + 1 OR (NEW.seq > 1 AND NEW.prev_hash IS DISTINCT FROM head.hash) THEN
        RAISE EXCEPTION 'audit_log insert does not continue audit_head' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_continues_head BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rxgate_audit_log_continues_head();

CREATE FUNCTION rxgate_audit_head_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1
       OR NEW.hash IS DISTINCT FROM (SELECT hash FROM audit_log WHERE seq = NEW.seq) THEN
        RAISE EXCEPTION 'audit_head may only advance to the newest audit_log row' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_head_moves_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION rxgate_audit_head_moves_forward();
