-- +goose Up
-- One postmortem per incident. Durations are nanoseconds.
CREATE TABLE postmortems (
    incident_id     INTEGER PRIMARY KEY REFERENCES incidents (id),
    number          INTEGER NOT NULL,
    service         TEXT NOT NULL,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    owner           TEXT NOT NULL DEFAULT '',
    cause           TEXT NOT NULL DEFAULT '',
    fix             TEXT NOT NULL DEFAULT '',
    follow_ups      TEXT NOT NULL DEFAULT '',
    time_to_ack     INTEGER NOT NULL DEFAULT 0,
    time_to_resolve INTEGER NOT NULL DEFAULT 0,
    alert_count     INTEGER NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    written_by      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX postmortems_service ON postmortems (service);

-- Title, cause and fix of each postmortem (rowid = incident_id), indexed by
-- trigrams: Japanese has no spaces between words, and a trigram index finds
-- "使用率" inside "ディスク使用率". The store keeps it in step.
CREATE VIRTUAL TABLE postmortems_fts USING fts5(body, tokenize = 'trigram');

-- +goose Down
DROP TABLE postmortems_fts;
DROP TABLE postmortems;
