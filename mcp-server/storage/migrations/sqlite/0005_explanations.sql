-- Explanations of findings (issue 7), SQLite flavour. Kept in step with
-- ../postgres/0005_explanations.sql.

-- One plain-language explanation of one finding of one stored verification, in one language
-- for one audience. Written by the explainer agent, checked again by the server's
-- explanation guard against facts derived from `verification_id`'s own result before it is
-- stored. `source` says whether a model wrote it (`llm`) or the vetted template did; `model`,
-- `prompt_version` and `facts_hash` make it auditable. One per (verification, finding,
-- language, audience): a repost changes nothing.
CREATE TABLE explanations (
    id               INTEGER PRIMARY KEY,
    rx_id            INTEGER NOT NULL REFERENCES prescriptions (id),
    verification_id  INTEGER NOT NULL REFERENCES verifications (id),
    line_no          INTEGER,
    finding_key      TEXT NOT NULL,
    language         TEXT NOT NULL CHECK (language IN ('en', 'ms')),
    audience         TEXT NOT NULL CHECK (audience IN ('pharmacist', 'patient')),
    text             TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('llm', 'template')),
    model            TEXT,
    prompt_version   TEXT NOT NULL,
    facts_hash       TEXT NOT NULL,
    generated_tokens INTEGER NOT NULL DEFAULT 0 CHECK (generated_tokens >= 0),
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (verification_id, finding_key, language, audience)
);
CREATE INDEX explanations_by_rx ON explanations (rx_id, verification_id, id);
