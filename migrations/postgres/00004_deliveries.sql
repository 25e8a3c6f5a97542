-- +goose Up
-- Platform deliveries already handled (Slack event and interaction ids,
-- Discord interaction ids): a retry that reaches another replica is
-- recognised.
CREATE TABLE deliveries (
    key     TEXT PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE deliveries;
