-- Stock reorder requests (POST /api/v1/pharmacy/inventory/reorder). A request is a record
-- of what was asked for, by whom and why; receiving the goods is `receive_stock`.
CREATE TABLE reorders (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    product      TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    reason       TEXT NOT NULL,
    on_hand      INTEGER NOT NULL CHECK (on_hand >= 0),
    status       TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'received', 'cancelled')),
    requested_by TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX reorders_by_product ON reorders (product, id);
