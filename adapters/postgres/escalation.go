package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

const escalationColumns = `incident_id, policy, phase, round, step, contact_index, next_due, updated_at`

const attemptColumns = `id, incident_id, round, step, contact_index, contact, phone, status, call_id,
	slot_at, created_at, placed_at, ended_at`

func (t *tx) IncidentByID(id int64) (bot.Incident, error) {
	for _, inc := range t.byNumber {
		if inc.ID == id {
			return *inc, nil
		}
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR NO KEY UPDATE`, id)
}

func (t *tx) Escalation(incidentID int64) (bot.Escalation, error) {
	var e bot.Escalation
	err := t.tx.GetContext(t.ctx, &e, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = $1`, incidentID)
	return e, notFound(err)
}

func (t *tx) SaveEscalation(e bot.Escalation) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO escalations (`+escalationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (incident_id) DO UPDATE SET policy = excluded.policy, phase = excluded.phase,
			round = excluded.round, step = excluded.step, contact_index = excluded.contact_index,
			next_due = excluded.next_due, updated_at = excluded.updated_at`,
		e.IncidentID, e.Policy, e.Phase, e.Round, e.Step, e.Index, e.NextDue.UTC(), e.UpdatedAt.UTC())
	if err != nil {
		return fmt.Errorf("save escalation of incident %d: %w", e.IncidentID, err)
	}
	return nil
}

func (t *tx) CallAttempts(incidentID int64) ([]bot.CallAttempt, error) {
	var out []bot.CallAttempt
	err := t.tx.SelectContext(t.ctx, &out, `SELECT `+attemptColumns+` FROM call_attempts
		WHERE incident_id = $1 ORDER BY created_at, round, step, contact_index`, incidentID)
	return out, err
}

func (t *tx) CallAttempt(id string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	err := t.tx.GetContext(t.ctx, &a, `SELECT `+attemptColumns+` FROM call_attempts WHERE id = $1`, id)
	return a, notFound(err)
}

func (t *tx) SaveCallAttempt(a bot.CallAttempt) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO call_attempts (`+attemptColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, call_id = excluded.call_id,
			slot_at = excluded.slot_at, placed_at = excluded.placed_at, ended_at = excluded.ended_at`,
		a.ID, a.IncidentID, a.Round, a.Step, a.Index, a.Contact, a.Phone, a.Status, a.CallID,
		a.SlotAt, a.CreatedAt.UTC(), a.PlacedAt, a.EndedAt)
	if err != nil {
		return fmt.Errorf("save call attempt %s: %w", a.ID, err)
	}
	return nil
}

func (t *tx) ReservePhoneSlot(account string, now time.Time, interval time.Duration) (time.Time, error) {
	// The row lock of the upsert queues concurrent reservations, on every
	// replica, so each gets its own turn.
	var next time.Time
	err := t.tx.GetContext(t.ctx, &next, `INSERT INTO phone_pacing (account, next_at) VALUES ($1, $2)
		ON CONFLICT (account) DO UPDATE SET next_at = GREATEST(phone_pacing.next_at, $3) + $4 * interval '1 microsecond'
		RETURNING next_at`, account, now.UTC().Add(interval), now.UTC(), interval.Microseconds())
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve phone slot: %w", err)
	}
	return next.Add(-interval), nil
}

func (t *tx) AddOverride(o *bot.Override) error {
	err := t.tx.GetContext(t.ctx, &o.ID, `INSERT INTO oncall_overrides (schedule, contact, starts_at, ends_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		o.Schedule, o.Contact, o.Start.UTC(), o.End.UTC(), o.CreatedBy, o.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("add override: %w", mapErr(err))
	}
	return nil
}

func (t *tx) OverridesAt(at time.Time) ([]bot.Override, error) {
	var out []bot.Override
	err := t.tx.SelectContext(t.ctx, &out, `SELECT id, schedule, contact, starts_at, ends_at, created_by, created_at
		FROM oncall_overrides WHERE starts_at <= $1 AND ends_at > $1 ORDER BY starts_at, id`, at.UTC())
	return out, err
}

// Escalation returns the incident's committed escalation.
func (s *Store) Escalation(ctx context.Context, incidentID int64) (bot.Escalation, error) {
	var e bot.Escalation
	err := s.db.GetContext(ctx, &e, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = $1`, incidentID)
	return e, mapErr(notFound(err))
}

// CallAttempt returns a committed call attempt.
func (s *Store) CallAttempt(ctx context.Context, id string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	err := s.db.GetContext(ctx, &a, `SELECT `+attemptColumns+` FROM call_attempts WHERE id = $1`, id)
	return a, mapErr(notFound(err))
}

// CallAttempts returns the incident's committed call attempts, oldest first.
func (s *Store) CallAttempts(ctx context.Context, incidentID int64) ([]bot.CallAttempt, error) {
	var out []bot.CallAttempt
	err := s.db.SelectContext(ctx, &out, `SELECT `+attemptColumns+` FROM call_attempts
		WHERE incident_id = $1 ORDER BY created_at, round, step, contact_index`, incidentID)
	return out, mapErr(err)
}

// Overrides returns overrides overlapping [from, to), by start.
func (s *Store) Overrides(ctx context.Context, schedule string, from, to time.Time) ([]bot.Override, error) {
	out := []bot.Override{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, schedule, contact, starts_at, ends_at, created_by, created_at
		FROM oncall_overrides WHERE ($1 = '' OR schedule = $1) AND ends_at > $2 AND starts_at < $3
		ORDER BY starts_at, id`, schedule, from.UTC(), to.UTC())
	return out, mapErr(err)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return bot.ErrNotFound
	}
	return err
}
