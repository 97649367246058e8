-- CDS client token ids (`jti`) already used, SQLite flavour. Kept in step with
-- ../postgres/0009_cds_token_ids.sql.

-- A CDS client's JWT may be used once (CDS Hooks 2.0, "Trusting CDS Clients"). The ids
-- live in the database, not in a process, so that a token captured on its way to one
-- instance cannot be replayed at another. A row is needed only until the token expires
-- (at most five minutes); expired rows are deleted as new ones are claimed.
CREATE TABLE cds_token_ids (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX cds_token_ids_expiry ON cds_token_ids (expires_at);
