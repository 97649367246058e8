-- Chemotherapy (issue 9), PostgreSQL flavour. Kept in step with
-- ../sqlite/0006_chemotherapy.sql (see there for what the tables mean).
CREATE TABLE regimen_publications (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    regimen_id   TEXT NOT NULL,
    version      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    author       TEXT NOT NULL,
    approver     TEXT,
    proposed_at  TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    CHECK (approver IS NULL OR approver <> author),
    CHECK ((approver IS NULL) = (published_at IS NULL)),
    UNIQUE (regimen_id, version)
);

CREATE TABLE chemo_orders (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    regimen_id      TEXT NOT NULL,
    regimen_version TEXT NOT NULL,
    cycle           BIGINT NOT NULL CHECK (cycle >= 0),
    day             BIGINT NOT NULL CHECK (day >= 0),
    request         TEXT NOT NULL,
    findings        TEXT NOT NULL,
    actions         TEXT NOT NULL DEFAULT '[]',
    version         BIGINT NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX chemo_orders_by_patient ON chemo_orders (patient_id, id);

CREATE TABLE chemo_qualifications (
    subject       TEXT NOT NULL,
    qualification TEXT NOT NULL CHECK (qualification IN ('supervisor', 'cardiologist', 'nurse', 'pharmacy_technician')),
    PRIMARY KEY (subject, qualification)
);
