-- +goose Up
-- Where each incident's phone escalation stands. Changed only under the
-- incident's row lock, so it needs no lock of its own.
CREATE TABLE escalations (
    incident_id   INTEGER PRIMARY KEY REFERENCES incidents (id),
    policy        TEXT NOT NULL,
    phase         TEXT NOT NULL CHECK (phase IN ('chat', 'calling', 'paused', 'exhausted', 'stopped')),
    round         INTEGER NOT NULL DEFAULT 0,
    step          INTEGER NOT NULL DEFAULT 0,
    contact_index INTEGER NOT NULL DEFAULT 0,
    next_due      DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

-- One row per call, written before the call is placed: its id travels in the
-- callback URLs, and a replica taking over a 'placing' attempt asks the phone
-- platform before it calls again.
CREATE TABLE call_attempts (
    id            TEXT PRIMARY KEY,
    incident_id   INTEGER NOT NULL REFERENCES incidents (id),
    round         INTEGER NOT NULL,
    step          INTEGER NOT NULL,
    contact_index INTEGER NOT NULL,
    contact       TEXT NOT NULL,
    phone         TEXT NOT NULL,
    status        TEXT NOT NULL,
    call_id       TEXT NOT NULL DEFAULT '',
    slot_at       DATETIME,
    created_at    DATETIME NOT NULL,
    placed_at     DATETIME,
    ended_at      DATETIME
);
CREATE INDEX call_attempts_incident ON call_attempts (incident_id, created_at);

-- The next free turn of each phone account's calls-per-second pace, shared
-- by every replica.
CREATE TABLE phone_pacing (
    account TEXT PRIMARY KEY,
    next_at DATETIME NOT NULL
);

CREATE TABLE oncall_overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule   TEXT NOT NULL,
    contact    TEXT NOT NULL,
    starts_at  DATETIME NOT NULL,
    ends_at    DATETIME NOT NULL CHECK (ends_at > starts_at),
    created_by TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX oncall_overrides_schedule ON oncall_overrides (schedule, ends_at);

-- +goose Down
DROP TABLE oncall_overrides;
DROP TABLE phone_pacing;
DROP TABLE call_attempts;
DROP TABLE escalations;
