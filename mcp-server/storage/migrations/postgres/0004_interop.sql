-- Interoperability (issue 11), PostgreSQL flavour. Kept in step with ../sqlite/0004_interop.sql.

-- Every sync event, inbound (from the EHR) and outbound (to it), once per natural key:
-- a resent bundle or a re-enqueued dispense finds its row instead of making a second one.
-- `payload` is the exact body (outbound bodies are signed byte for byte).
CREATE TABLE interop_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind            TEXT NOT NULL CHECK (kind IN ('PRESCRIPTION_NEW', 'PRESCRIPTION_CHANGE', 'PRESCRIPTION_CANCEL',
                                                  'DISPENSE', 'DISPENSE_REVERSAL', 'MED_LIST_PULL')),
    natural_key     TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'needs_mapping', 'dead_letter')),
    attempts        BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ,
    last_error      TEXT,
    rx_id           BIGINT REFERENCES prescriptions (id),
    duration_ms     BIGINT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (direction, kind, natural_key)
);
CREATE INDEX interop_events_due ON interop_events (status, next_attempt_at);
CREATE INDEX interop_events_by_rx ON interop_events (rx_id);

-- Codes an analyst must map, one row per code (`system|code` or `text|name`).
CREATE TABLE interop_mappings (
    key         TEXT PRIMARY KEY,
    system      TEXT,
    code        TEXT,
    display     TEXT,
    used_as     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'resolved')),
    generic     TEXT,
    resolved_by TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    CHECK ((status = 'resolved') = (generic IS NOT NULL))
);

-- Which events wait on which codes (reprocessed when the last one is resolved).
CREATE TABLE interop_event_mappings (
    event_id    BIGINT NOT NULL REFERENCES interop_events (id),
    mapping_key TEXT NOT NULL REFERENCES interop_mappings (key),
    PRIMARY KEY (event_id, mapping_key)
);

-- The EHR's order behind each prescription line taken in through FHIR, and whether the
-- EHR cancelled it (a cancelled order is never filled again).
CREATE TABLE interop_rx_links (
    rx_id        BIGINT NOT NULL REFERENCES prescriptions (id),
    line_no      BIGINT NOT NULL,
    ehr_request  TEXT NOT NULL,
    cancelled_at TIMESTAMPTZ,
    PRIMARY KEY (rx_id, line_no)
);

-- CDS Hooks feedback: what clinicians did with each card.
CREATE TABLE cds_feedback (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service         TEXT NOT NULL,
    card_uuid       TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    override_reason TEXT,
    outcome_at      TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (card_uuid, outcome, outcome_at)
);
