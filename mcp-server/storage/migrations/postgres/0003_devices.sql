-- Device agent (issue 8), PostgreSQL flavour. Kept in step with ../sqlite/0003_devices.sql.

-- The line a pharmacist armed at a counter workstation: the next scan from that
-- workstation's device is checked against it and, if it matches, dispenses it. One armed
-- line per workstation; arming again replaces it; a dispense clears it.
CREATE TABLE scan_stations (
    workstation TEXT PRIMARY KEY,
    rx_id       BIGINT NOT NULL,
    line_no     BIGINT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    armed_by    TEXT NOT NULL,
    armed_at    TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);

-- Every scan a device posted, once per scan_id (a UUID the agent chose), with the answer
-- it was given: a replay of the same scan_id gets the same answer and changes nothing.
CREATE TABLE device_scans (
    scan_id     TEXT PRIMARY KEY,
    workstation TEXT NOT NULL,
    scan        TEXT NOT NULL,
    scanned_at  TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    rx_id       BIGINT,
    line_no     BIGINT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('dispensed', 'mismatch', 'no_armed_line', 'refused')),
    http_status BIGINT NOT NULL,
    response    JSONB NOT NULL
);
CREATE INDEX device_scans_by_workstation ON device_scans (workstation, received_at);

-- Labels waiting for a workstation's printer, and what became of them.
CREATE TABLE print_jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workstation TEXT NOT NULL,
    rx_id       BIGINT NOT NULL REFERENCES prescriptions (id),
    line_no     BIGINT,
    zpl         TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'printed', 'fallback_pdf', 'failed')),
    detail      TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX print_jobs_by_workstation ON print_jobs (workstation, status, id);
