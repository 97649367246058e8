-- Chemotherapy (issue 9), SQLite flavour. Kept in step with ../postgres/0006_chemotherapy.sql.

-- A regimen version entering the library: proposed by one person, published by another
-- (four-eyes). `content_hash` is the SHA-256 of the regimen file that was reviewed.
CREATE TABLE regimen_publications (
    id           INTEGER PRIMARY KEY,
    regimen_id   TEXT NOT NULL,
    version      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    author       TEXT NOT NULL,
    approver     TEXT,
    proposed_at  TEXT NOT NULL,
    published_at TEXT,
    CHECK (approver IS NULL OR approver <> author),
    CHECK ((approver IS NULL) = (published_at IS NULL)),
    UNIQUE (regimen_id, version)
);

-- One chemotherapy order: what was evaluated (the regimen_eval input and the hard stops and
-- holds it gave, both JSON) and the accepted workflow actions in order (JSON array). The state
-- is the replay of the actions over the findings, so it can never drift from its history.
-- `version` is optimistic: two actions from one read cannot both be appended.
CREATE TABLE chemo_orders (
    id              INTEGER PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    regimen_id      TEXT NOT NULL,
    regimen_version TEXT NOT NULL,
    cycle           INTEGER NOT NULL CHECK (cycle >= 0),
    day             INTEGER NOT NULL CHECK (day >= 0),
    request         TEXT NOT NULL,
    findings        TEXT NOT NULL,
    actions         TEXT NOT NULL DEFAULT '[]',
    version         INTEGER NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX chemo_orders_by_patient ON chemo_orders (patient_id, id);

-- Qualifications a token role does not carry: a supervising pharmacist may override a
-- gravimetric deviation, a cardiologist may document the cumulative-anthracycline override.
CREATE TABLE chemo_qualifications (
    subject       TEXT NOT NULL,
    qualification TEXT NOT NULL CHECK (qualification IN ('supervisor', 'cardiologist', 'nurse', 'pharmacy_technician')),
    PRIMARY KEY (subject, qualification)
);
