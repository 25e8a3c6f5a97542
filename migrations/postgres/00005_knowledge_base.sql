-- +goose Up
-- One postmortem per incident. Durations are nanoseconds.
CREATE TABLE postmortems (
    incident_id     BIGINT PRIMARY KEY REFERENCES incidents (id),
    number          BIGINT NOT NULL,
    service         TEXT NOT NULL,
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL,
    owner           TEXT NOT NULL DEFAULT '',
    cause           TEXT NOT NULL DEFAULT '',
    fix             TEXT NOT NULL DEFAULT '',
    follow_ups      TEXT NOT NULL DEFAULT '',
    time_to_ack     BIGINT NOT NULL DEFAULT 0,
    time_to_resolve BIGINT NOT NULL DEFAULT 0,
    alert_count     INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    written_by      TEXT NOT NULL DEFAULT '',
    -- bot.SearchGrams of title, cause and fix, written by the store. The
    -- grams themselves, not to_tsvector('simple', ...): the default parser
    -- keeps "ディスク使用率" as one word (so "ディスク使用率が高い" would not
    -- match) and what it counts as a letter depends on the database's
    -- locale; pg_trgm is an extension not every server has.
    grams           TEXT[] NOT NULL DEFAULT '{}',
    search          TSVECTOR GENERATED ALWAYS AS (array_to_tsvector(grams)) STORED
);
CREATE INDEX postmortems_service ON postmortems (service);
CREATE INDEX postmortems_search ON postmortems USING GIN (search);

-- +goose Down
DROP TABLE postmortems;
