-- +goose Up
-- Leader leases: one holder per name until expires_at, which holders renew.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE leases;
