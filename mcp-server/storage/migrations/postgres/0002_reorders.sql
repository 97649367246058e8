-- Stock reorder requests (POST /api/v1/pharmacy/inventory/reorder). A request is a record
-- of what was asked for, by whom and why; receiving the goods is `receive_stock`.
CREATE TABLE reorders (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product      TEXT NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    reason       TEXT NOT NULL,
    on_hand      BIGINT NOT NULL CHECK (on_hand >= 0),
    status       TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'received', 'cancelled')),
    requested_by TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reorders_by_product ON reorders (product, id);
