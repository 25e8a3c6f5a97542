package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hotline-dev/hotline/bot"
)

// Incident returns the committed incident with id.
func (s *Store) Incident(ctx context.Context, id int64) (bot.Incident, error) {
	var inc bot.Incident
	err := s.read.GetContext(ctx, &inc, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("incident %d: %w", id, bot.ErrNotFound)
	}
	return inc, mapErr(err)
}

// IncidentByNumber returns the committed incident INC-number.
func (s *Store) IncidentByNumber(ctx context.Context, number int64) (bot.Incident, error) {
	var inc bot.Incident
	err := s.read.GetContext(ctx, &inc, `SELECT `+incidentColumns+` FROM incidents WHERE number = ?1`, number)
	if errors.Is(err, sql.ErrNoRows) {
		return inc, fmt.Errorf("INC-%d: %w", number, bot.ErrNotFound)
	}
	return inc, mapErr(err)
}

// Incidents lists incidents newest first.
func (s *Store) Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error) {
	where := ""
	switch f.Status {
	case "open":
		where = "WHERE status <> 'resolved'"
	case "resolved":
		where = "WHERE status = 'resolved'"
	case "", "all":
	default:
		return nil, bot.Invalid("status %q: must be open, resolved or all", f.Status)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	out := []bot.Incident{}
	err := s.read.SelectContext(ctx, &out, `SELECT `+incidentColumns+` FROM incidents `+where+` ORDER BY id DESC LIMIT ?1`, limit)
	return out, mapErr(err)
}

// Timeline returns the incident's events after afterSeq, oldest first.
func (s *Store) Timeline(ctx context.Context, incidentID int64, afterSeq int) ([]bot.Event, error) {
	out := []bot.Event{}
	err := s.read.SelectContext(ctx, &out, `SELECT id, incident_id, seq, kind, actor, source, text, at, prev_hash, hash
		FROM timeline_events WHERE incident_id = ?1 AND seq > ?2 ORDER BY seq`, incidentID, afterSeq)
	return out, mapErr(err)
}

// EachIncident walks all incidents in id order, a page at a time.
func (s *Store) EachIncident(ctx context.Context, fn func(bot.Incident) error) error {
	var after int64
	for {
		var page []bot.Incident
		if err := s.read.SelectContext(ctx, &page, `SELECT `+incidentColumns+` FROM incidents
			WHERE id > ?1 ORDER BY id LIMIT 500`, after); err != nil {
			return mapErr(err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, inc := range page {
			if err := fn(inc); err != nil {
				return err
			}
		}
		after = page[len(page)-1].ID
	}
}

// Threads returns where the incident was posted.
func (s *Store) Threads(ctx context.Context, incidentID int64) ([]bot.Thread, error) {
	var out []bot.Thread
	err := s.read.SelectContext(ctx, &out, `SELECT incident_id, platform, channel, message_id, posted_seq, posted_alerts
		FROM chat_threads WHERE incident_id = ?1 ORDER BY platform`, incidentID)
	return out, mapErr(err)
}

// SaveThread records or advances a thread.
func (s *Store) SaveThread(ctx context.Context, th bot.Thread) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO chat_threads (incident_id, platform, channel, message_id, posted_seq, posted_alerts)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6)
		ON CONFLICT (incident_id, platform) DO UPDATE SET
			channel = excluded.channel, message_id = excluded.message_id,
			posted_seq = MAX(chat_threads.posted_seq, excluded.posted_seq),
			posted_alerts = MAX(chat_threads.posted_alerts, excluded.posted_alerts)`,
		th.IncidentID, th.Platform, th.Channel, th.MessageID, th.PostedSeq, th.PostedAlerts)
	return mapErr(err)
}

// ThreadByMessage finds the thread of a root message.
func (s *Store) ThreadByMessage(ctx context.Context, platform, channel, messageID string) (bot.Thread, error) {
	var th bot.Thread
	err := s.read.GetContext(ctx, &th, `SELECT incident_id, platform, channel, message_id, posted_seq, posted_alerts
		FROM chat_threads WHERE platform = ? AND channel = ? AND message_id = ?`, platform, channel, messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return th, fmt.Errorf("thread %s/%s/%s: %w", platform, channel, messageID, bot.ErrNotFound)
	}
	return th, mapErr(err)
}

// Remember records a delivery key; false when it was already there.
func (s *Store) Remember(ctx context.Context, key string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO deliveries (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		key, s.clock.Now().UTC())
	n, err := rowsAffected(res, err)
	if err != nil {
		return false, fmt.Errorf("remember %q: %w", key, mapErr(err))
	}
	return n == 1, nil
}
