-- +goose Up
-- A command, a button or a reaction names a root message: find its incident.
CREATE INDEX chat_threads_message ON chat_threads (platform, channel, message_id);

-- +goose Down
DROP INDEX chat_threads_message;
