package sqlite

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
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)
}

// LockIncidents does nothing: the one writer connection already holds the
// database, and reads in process cost no round trip.
func (t *tx) LockIncidents([]int64) error { return nil }

func (t *tx) Escalation(incidentID int64) (bot.Escalation, error) {
	var e bot.Escalation
	err := t.get(&e, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = ?`, incidentID)
	return e, notFound(err)
}

func (t *tx) SaveEscalation(e bot.Escalation) error {
	_, err := t.exec(`INSERT INTO escalations (`+escalationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
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
	err := t.sel(&out, `SELECT `+attemptColumns+` FROM call_attempts
		WHERE incident_id = ? ORDER BY created_at, round, step, contact_index`, incidentID)
	return out, err
}

func (t *tx) CallAttempt(id string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	err := t.get(&a, `SELECT `+attemptColumns+` FROM call_attempts WHERE id = ?`, id)
	return a, notFound(err)
}

func (t *tx) SaveCallAttempt(a bot.CallAttempt) error {
	_, err := t.exec(`INSERT INTO call_attempts (`+attemptColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status,
			call_id = CASE WHEN excluded.call_id <> '' THEN excluded.call_id ELSE call_attempts.call_id END,
			slot_at = excluded.slot_at, placed_at = excluded.placed_at, ended_at = excluded.ended_at`,
		a.ID, a.IncidentID, a.Round, a.Step, a.Index, a.Contact, a.Phone, a.Status, a.CallID,
		utcPtr(a.SlotAt), a.CreatedAt.UTC(), utcPtr(a.PlacedAt), utcPtr(a.EndedAt))
	if err != nil {
		return fmt.Errorf("save call attempt %s: %w", a.ID, err)
	}
	return nil
}

func (t *tx) ReservePhoneSlot(account string, now time.Time, interval time.Duration) (time.Time, error) {
	// One writer at a time: read, then move the account's next turn on.
	var next time.Time
	err := t.get(&next, `SELECT next_at FROM phone_pacing WHERE account = ?`, account)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("reserve phone slot: %w", err)
	}
	slot := now.UTC()
	if next.After(slot) {
		slot = next.UTC()
	}
	if _, err := t.exec(`INSERT INTO phone_pacing (account, next_at) VALUES (?, ?)
		ON CONFLICT (account) DO UPDATE SET next_at = excluded.next_at`, account, slot.Add(interval)); err != nil {
		return time.Time{}, fmt.Errorf("reserve phone slot: %w", err)
	}
	return slot, nil
}

func (t *tx) AddOverride(o *bot.Override) error {
	err := t.get(&o.ID, `INSERT INTO oncall_overrides (schedule, contact, starts_at, ends_at, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		o.Schedule, o.Contact, o.Start.UTC(), o.End.UTC(), o.CreatedBy, o.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("add override: %w", mapErr(err))
	}
	return nil
}

func (t *tx) OverridesAt(at time.Time) ([]bot.Override, error) {
	var out []bot.Override
	err := t.sel(&out, `SELECT id, schedule, contact, starts_at, ends_at, created_by, created_at
		FROM oncall_overrides WHERE starts_at <= ? AND ends_at > ? ORDER BY starts_at, id`, at.UTC(), at.UTC())
	return out, err
}

// RecordCalls records many placed calls in one transaction.
func (s *Store) RecordCalls(ctx context.Context, calls []bot.PlacedCall) error {
	return s.Update(ctx, func(btx bot.Tx) error {
		t := btx.(*tx)
		for _, c := range calls {
			if _, err := t.exec(`UPDATE call_attempts SET call_id = ?,
					status = CASE WHEN status = 'placing' THEN 'ringing' ELSE status END
				WHERE id = ? AND call_id = ''`, c.CallID, c.Attempt); err != nil {
				return fmt.Errorf("record call %s: %w", c.Attempt, err)
			}
		}
		return nil
	})
}

// Escalation returns the incident's committed escalation.
func (s *Store) Escalation(ctx context.Context, incidentID int64) (bot.Escalation, error) {
	var e bot.Escalation
	err := s.db.GetContext(ctx, &e, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = ?`, incidentID)
	return e, mapErr(notFound(err))
}

// CallAttempt returns a committed call attempt.
func (s *Store) CallAttempt(ctx context.Context, id string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	err := s.db.GetContext(ctx, &a, `SELECT `+attemptColumns+` FROM call_attempts WHERE id = ?`, id)
	return a, mapErr(notFound(err))
}

// CallAttemptByCall returns the committed attempt that recorded callID.
func (s *Store) CallAttemptByCall(ctx context.Context, callID string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	if callID == "" {
		return a, fmt.Errorf("attempt by call: no call id: %w", bot.ErrNotFound)
	}
	err := s.db.GetContext(ctx, &a, `SELECT `+attemptColumns+` FROM call_attempts WHERE call_id = ? ORDER BY created_at LIMIT 1`, callID)
	return a, mapErr(notFound(err))
}

// CallAttempts returns the incident's committed call attempts, oldest first.
func (s *Store) CallAttempts(ctx context.Context, incidentID int64) ([]bot.CallAttempt, error) {
	var out []bot.CallAttempt
	err := s.db.SelectContext(ctx, &out, `SELECT `+attemptColumns+` FROM call_attempts
		WHERE incident_id = ? ORDER BY created_at, round, step, contact_index`, incidentID)
	return out, mapErr(err)
}

// Overrides returns overrides overlapping [from, to), by start.
func (s *Store) Overrides(ctx context.Context, schedule string, from, to time.Time) ([]bot.Override, error) {
	out := []bot.Override{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, schedule, contact, starts_at, ends_at, created_by, created_at
		FROM oncall_overrides WHERE (? = '' OR schedule = ?) AND ends_at > ? AND starts_at < ?
		ORDER BY starts_at, id`, schedule, schedule, from.UTC(), to.UTC())
	return out, mapErr(err)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return bot.ErrNotFound
	}
	return err
}
