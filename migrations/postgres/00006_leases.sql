-- +goose Up
-- Leader leases: one holder per name until expires_at, which holders renew.
-- Times come from the database's clock (now()), so replicas whose clocks
-- disagree still agree on who holds a lease.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE leases;
