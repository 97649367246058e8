-- Explanations of findings (issue 7), PostgreSQL flavour. Kept in step with
-- ../sqlite/0005_explanations.sql (see there for what the table means).
CREATE TABLE explanations (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rx_id            BIGINT NOT NULL REFERENCES prescriptions (id),
    verification_id  BIGINT NOT NULL REFERENCES verifications (id),
    line_no          BIGINT,
    finding_key      TEXT NOT NULL,
    language         TEXT NOT NULL CHECK (language IN ('en', 'ms')),
    audience         TEXT NOT NULL CHECK (audience IN ('pharmacist', 'patient')),
    text             TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('llm', 'template')),
    model            TEXT,
    prompt_version   TEXT NOT NULL,
    facts_hash       TEXT NOT NULL,
    generated_tokens BIGINT NOT NULL DEFAULT 0 CHECK (generated_tokens >= 0),
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (verification_id, finding_key, language, audience)
);
CREATE INDEX explanations_by_rx ON explanations (rx_id, verification_id, id);
