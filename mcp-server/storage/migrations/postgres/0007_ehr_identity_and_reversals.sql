-- EHR patient identity, order changes and dispense reversals (issue 11), PostgreSQL flavour.
-- Kept in step with ../sqlite/0007_ehr_identity_and_reversals.sql.

-- The EHR's identifiers of a patient (`system` + `value`, e.g. an MRN), so that a second
-- bundle for the same person lands on the same patient record instead of a new one. An
-- identifier belongs to one patient; an identifier without a system is never stored (it
-- cannot tell two hospitals' numbering apart).
CREATE TABLE patient_identifiers (
    system     TEXT NOT NULL,
    value      TEXT NOT NULL,
    patient_id BIGINT NOT NULL REFERENCES patients (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (system, value)
);
CREATE INDEX patient_identifiers_by_patient ON patient_identifiers (patient_id);

-- A reversed hand-over. The dispense_log row stays as it was (nothing is deleted from the
-- dispense record); this row says it was undone, why, by whom, and whether the pack went
-- back to stock. At most one reversal per dispense.
CREATE TABLE dispense_reversals (
    dispense_id BIGINT PRIMARY KEY REFERENCES dispense_log (id),
    reason_code TEXT NOT NULL CHECK (reason_code IN ('declined', 'entered_in_error')),
    reason      TEXT NOT NULL,
    restocked   BOOLEAN NOT NULL,
    reversed_by TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);

-- The cards this server issued (uuid and service): feedback is counted only for a card it
-- gave, so the override rate cannot be skewed by feedback about cards that never existed.
-- A uuid is stable per hook instance and finding, so a repeated call stores nothing new.
CREATE TABLE cds_cards (
    uuid      TEXT PRIMARY KEY,
    service   TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL
);
