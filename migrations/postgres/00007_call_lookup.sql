-- +goose Up
-- A replica that takes over a call attempt whose request may have left
-- looks up the calls it finds at the phone platform by their id, so it
-- never adopts a call another attempt placed.
CREATE INDEX call_attempts_call ON call_attempts (call_id) WHERE call_id <> '';

-- +goose Down
DROP INDEX call_attempts_call;
