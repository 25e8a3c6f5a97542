-- +goose Up
CREATE TABLE incidents (
    id              BIGSERIAL PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    service         TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    title           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    severity        TEXT NOT NULL,
    impact          TEXT NOT NULL DEFAULT '',
    urgency         TEXT NOT NULL DEFAULT '',
    priority        TEXT NOT NULL DEFAULT '',
    owner           TEXT NOT NULL DEFAULT '',
    alert_count     INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    resolved_at     TIMESTAMPTZ,
    last_hash       TEXT NOT NULL DEFAULT '',
    last_seq        INTEGER NOT NULL DEFAULT 0
) WITH (fillfactor = 70); -- room for in-page (HOT) updates: a storm updates its incident per batch
-- One open incident per service and fingerprint, across all replicas.
CREATE UNIQUE INDEX incidents_open_key ON incidents (service, fingerprint) WHERE status <> 'resolved';
CREATE INDEX incidents_status ON incidents (status, id);

CREATE TABLE alerts (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    integration TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    labels      TEXT NOT NULL,
    links       TEXT NOT NULL,
    raw         BYTEA,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE timeline_events (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (incident_id, seq)
);

-- The timeline is append-only: the database refuses edits, and the hash chain
-- shows edits made by someone who got around this.
-- +goose StatementBegin
CREATE FUNCTION timeline_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'timeline_events is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER timeline_events_append_only BEFORE UPDATE OR DELETE ON timeline_events
    FOR EACH ROW EXECUTE FUNCTION timeline_events_append_only();

CREATE TABLE chat_threads (
    incident_id   BIGINT NOT NULL REFERENCES incidents (id),
    platform      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    posted_seq    INTEGER NOT NULL DEFAULT 0,
    posted_alerts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (incident_id, platform)
);

CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL DEFAULT '',
    incident_id  BIGINT NOT NULL DEFAULT 0,
    payload      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'failed')),
    run_at       TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    lease_until  TIMESTAMPTZ,
    claimed_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_error   TEXT NOT NULL DEFAULT ''
);
-- One pending job per key: later changes ride on the pending one.
CREATE UNIQUE INDEX jobs_pending_key ON jobs (key) WHERE state = 'pending' AND key <> '';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_running_key ON jobs (key) WHERE state = 'running';

-- +goose Down
DROP TABLE jobs;
DROP TABLE chat_threads;
DROP TABLE timeline_events;
DROP FUNCTION timeline_events_append_only;
DROP TABLE alerts;
DROP TABLE incidents;
