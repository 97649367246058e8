-- Device agent (issue 8), SQLite flavour. Kept in step with ../postgres/0003_devices.sql.

-- The line a pharmacist armed at a counter workstation: the next scan from that
-- workstation's device is checked against it and, if it matches, dispenses it. One armed
-- line per workstation; arming again replaces it; a dispense clears it.
CREATE TABLE scan_stations (
    workstation TEXT PRIMARY KEY,
    rx_id       INTEGER NOT NULL,
    line_no     INTEGER NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    armed_by    TEXT NOT NULL,
    armed_at    TEXT NOT NULL,
    FOREIGN KEY (rx_id, line_no) REFERENCES prescription_items (rx_id, line_no)
);

-- Every scan a device posted, once per scan_id (a UUID the agent chose), with the answer
-- it was given: a replay of the same scan_id gets the same answer and changes nothing.
CREATE TABLE device_scans (
    scan_id     TEXT PRIMARY KEY,
    workstation TEXT NOT NULL,
    scan        TEXT NOT NULL,
    scanned_at  TEXT NOT NULL,
    received_at TEXT NOT NULL,
    rx_id       INTEGER,
    line_no     INTEGER,
    outcome     TEXT NOT NULL CHECK (outcome IN ('dispensed', 'mismatch', 'no_armed_line', 'refused')),
    http_status INTEGER NOT NULL,
    response    TEXT NOT NULL
);
CREATE INDEX device_scans_by_workstation ON device_scans (workstation, received_at);

-- Labels waiting for a workstation's printer, and what became of them.
CREATE TABLE print_jobs (
    id          INTEGER PRIMARY KEY,
    workstation TEXT NOT NULL,
    rx_id       INTEGER NOT NULL REFERENCES prescriptions (id),
    line_no     INTEGER,
    zpl         TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'printed', 'fallback_pdf', 'failed')),
    detail      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX print_jobs_by_workstation ON print_jobs (workstation, status, id);
