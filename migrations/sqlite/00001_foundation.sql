-- +goose Up
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    number          INTEGER NOT NULL UNIQUE,
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
    created_at      DATETIME NOT NULL,
    acknowledged_at DATETIME,
    resolved_at     DATETIME,
    last_hash       TEXT NOT NULL DEFAULT '',
    last_seq        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX incidents_open_key ON incidents (service, fingerprint) WHERE status <> 'resolved';
CREATE INDEX incidents_status ON incidents (status, id);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    integration TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    labels      TEXT NOT NULL,
    links       TEXT NOT NULL,
    raw         BLOB,
    received_at DATETIME NOT NULL
);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    text        TEXT NOT NULL,
    at          DATETIME NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (incident_id, seq)
);

-- +goose StatementBegin
CREATE TRIGGER timeline_events_no_update BEFORE UPDATE ON timeline_events
BEGIN
    SELECT RAISE(ABORT, 'timeline_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER timeline_events_no_delete BEFORE DELETE ON timeline_events
BEGIN
    SELECT RAISE(ABORT, 'timeline_events is append-only');
END;
-- +goose StatementEnd

CREATE TABLE chat_threads (
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    platform      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    posted_seq    INTEGER NOT NULL DEFAULT 0,
    posted_alerts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (incident_id, platform)
);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL DEFAULT '',
    incident_id  INTEGER NOT NULL DEFAULT 0,
    payload      TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'failed')),
    run_at       DATETIME NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    lease_until  DATETIME,
    claimed_by   TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (key) WHERE state = 'pending' AND key <> '';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_running_key ON jobs (key) WHERE state = 'running';

-- +goose Down
DROP TABLE jobs;
DROP TABLE chat_threads;
DROP TRIGGER timeline_events_no_delete;
DROP TRIGGER timeline_events_no_update;
DROP TABLE timeline_events;
DROP TABLE alerts;
DROP TABLE incidents;
