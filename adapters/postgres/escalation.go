package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/hotline-dev/hotline/bot"
)

const escalationColumns = `incident_id, policy, phase, round, step, contact_index, next_due, updated_at`

const attemptColumns = `id, incident_id, round, step, contact_index, contact, phone, status, call_id,
	slot_at, created_at, placed_at, ended_at`

func (t *tx) IncidentByID(id int64) (bot.Incident, error) {
	if inc, ok := t.byID[id]; ok {
		return *inc, nil
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR NO KEY UPDATE`, id)
}

// escalationState is what a transaction knows of escalations: read once in
// bulk (LockIncidents) or one by one, changed in memory, and written back in
// two multi-row statements before commit.
type escalationState struct {
	escalations map[int64]*bot.Escalation // nil value: known to have none
	attempts    map[int64][]*bot.CallAttempt
	attemptByID map[string]*bot.CallAttempt
	dirtyEsc    []*bot.Escalation
	dirtyAtt    []*bot.CallAttempt
}

// LockIncidents locks a batch's incidents in one statement, in id order,
// and reads their escalations and call attempts with them.
func (t *tx) LockIncidents(ids []int64) error {
	var want []int64
	for _, id := range ids {
		if _, ok := t.byID[id]; !ok && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return nil
	}
	var found []bot.Incident
	if err := t.sel(&found, `SELECT `+incidentColumns+` FROM incidents WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, pq.Array(want)); err != nil {
		return fmt.Errorf("lock incidents: %w", err)
	}
	for i := range found {
		t.remember(&found[i])
	}
	var escs []bot.Escalation
	if err := t.sel(&escs, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = ANY($1)`, pq.Array(want)); err != nil {
		return err
	}
	var atts []bot.CallAttempt
	if err := t.sel(&atts, `SELECT `+attemptColumns+` FROM call_attempts WHERE incident_id = ANY($1)
		ORDER BY incident_id, created_at, round, step, contact_index`, pq.Array(want)); err != nil {
		return err
	}
	t.esc.init()
	for _, id := range want {
		if _, ok := t.esc.escalations[id]; !ok {
			t.esc.escalations[id] = nil
		}
		if _, ok := t.esc.attempts[id]; !ok {
			t.esc.attempts[id] = []*bot.CallAttempt{}
		}
	}
	for i := range escs {
		t.esc.escalations[escs[i].IncidentID] = &escs[i]
	}
	for i := range atts {
		a := &atts[i]
		t.esc.attempts[a.IncidentID] = append(t.esc.attempts[a.IncidentID], a)
		t.esc.attemptByID[a.ID] = a
	}
	return nil
}

func (e *escalationState) init() {
	if e.escalations == nil {
		e.escalations, e.attempts, e.attemptByID = map[int64]*bot.Escalation{}, map[int64][]*bot.CallAttempt{}, map[string]*bot.CallAttempt{}
	}
}

func (t *tx) Escalation(incidentID int64) (bot.Escalation, error) {
	t.esc.init()
	if e, ok := t.esc.escalations[incidentID]; ok {
		if e == nil {
			return bot.Escalation{}, bot.ErrNotFound
		}
		return *e, nil
	}
	var e bot.Escalation
	if err := t.get(&e, `SELECT `+escalationColumns+` FROM escalations WHERE incident_id = $1`, incidentID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			t.esc.escalations[incidentID] = nil
		}
		return e, notFound(err)
	}
	t.esc.escalations[incidentID] = &e
	return e, nil
}

func (t *tx) SaveEscalation(e bot.Escalation) error {
	t.esc.init()
	cur := t.esc.escalations[e.IncidentID]
	if cur == nil {
		cur = &bot.Escalation{}
		t.esc.escalations[e.IncidentID] = cur
	}
	*cur = e
	if !slices.Contains(t.esc.dirtyEsc, cur) {
		t.esc.dirtyEsc = append(t.esc.dirtyEsc, cur)
	}
	return nil
}

func (t *tx) CallAttempts(incidentID int64) ([]bot.CallAttempt, error) {
	t.esc.init()
	known, ok := t.esc.attempts[incidentID]
	if !ok {
		var rows []bot.CallAttempt
		if err := t.sel(&rows, `SELECT `+attemptColumns+` FROM call_attempts
			WHERE incident_id = $1 ORDER BY created_at, round, step, contact_index`, incidentID); err != nil {
			return nil, err
		}
		known = []*bot.CallAttempt{}
		for i := range rows {
			a := &rows[i]
			if mine, ok := t.esc.attemptByID[a.ID]; ok {
				a = mine // written in this transaction: newer than the row
			}
			t.esc.attemptByID[a.ID] = a
			known = append(known, a)
		}
		// Attempts added in this transaction before the read come last.
		for _, a := range t.esc.dirtyAtt {
			if a.IncidentID == incidentID && !slices.Contains(known, a) {
				known = append(known, a)
			}
		}
		t.esc.attempts[incidentID] = known
	}
	out := make([]bot.CallAttempt, len(known))
	for i, a := range known {
		out[i] = *a
	}
	return out, nil
}

func (t *tx) CallAttempt(id string) (bot.CallAttempt, error) {
	t.esc.init()
	if a, ok := t.esc.attemptByID[id]; ok {
		return *a, nil
	}
	var a bot.CallAttempt
	if err := t.get(&a, `SELECT `+attemptColumns+` FROM call_attempts WHERE id = $1`, id); err != nil {
		return a, notFound(err)
	}
	t.esc.attemptByID[id] = &a
	if list, ok := t.esc.attempts[a.IncidentID]; ok {
		// Not there yet only if added by another writer after our read.
		t.esc.attempts[a.IncidentID] = append(list, &a)
	}
	return a, nil
}

func (t *tx) SaveCallAttempt(a bot.CallAttempt) error {
	t.esc.init()
	cur, ok := t.esc.attemptByID[a.ID]
	if !ok {
		cur = &bot.CallAttempt{}
		t.esc.attemptByID[a.ID] = cur
		if list, known := t.esc.attempts[a.IncidentID]; known {
			t.esc.attempts[a.IncidentID] = append(list, cur)
		}
	}
	*cur = a
	if !slices.Contains(t.esc.dirtyAtt, cur) {
		t.esc.dirtyAtt = append(t.esc.dirtyAtt, cur)
	}
	return nil
}

// flushEscalations writes the changed escalations and attempts, one
// statement each.
func (t *tx) flushEscalations() error {
	if len(t.esc.dirtyEsc) > 0 {
		rows := make([][]any, len(t.esc.dirtyEsc))
		for i, e := range t.esc.dirtyEsc {
			rows[i] = []any{e.IncidentID, e.Policy, string(e.Phase), e.Round, e.Step, e.Index, e.NextDue.UTC(), e.UpdatedAt.UTC()}
		}
		if _, err := t.insertRows("escalations", escalationColumns,
			[]string{"bigint", "text", "text", "integer", "integer", "integer", "timestamptz", "timestamptz"}, rows,
			` ON CONFLICT (incident_id) DO UPDATE SET policy = excluded.policy, phase = excluded.phase,
			round = excluded.round, step = excluded.step, contact_index = excluded.contact_index,
			next_due = excluded.next_due, updated_at = excluded.updated_at`); err != nil {
			return fmt.Errorf("save escalations: %w", err)
		}
		t.esc.dirtyEsc = t.esc.dirtyEsc[:0]
	}
	if len(t.esc.dirtyAtt) > 0 {
		rows := make([][]any, len(t.esc.dirtyAtt))
		for i, a := range t.esc.dirtyAtt {
			rows[i] = []any{a.ID, a.IncidentID, a.Round, a.Step, a.Index, a.Contact, a.Phone, string(a.Status), a.CallID,
				a.SlotAt, a.CreatedAt.UTC(), a.PlacedAt, a.EndedAt}
		}
		if _, err := t.insertRows("call_attempts", attemptColumns,
			[]string{"text", "bigint", "integer", "integer", "integer", "text", "text", "text", "text",
				"timestamptz", "timestamptz", "timestamptz", "timestamptz"}, rows,
			` ON CONFLICT (id) DO UPDATE SET status = excluded.status,
			call_id = CASE WHEN excluded.call_id <> '' THEN excluded.call_id ELSE call_attempts.call_id END,
			slot_at = excluded.slot_at, placed_at = excluded.placed_at, ended_at = excluded.ended_at`); err != nil {
			return fmt.Errorf("save call attempts: %w", err)
		}
		t.esc.dirtyAtt = t.esc.dirtyAtt[:0]
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

// RecordCalls records many placed calls in one statement. It runs on the
// bookkeeping pool (no synchronous commit): a call id lost with a database
// crash is found again by the attempt's backup job, which asks Twilio.
func (s *Store) RecordCalls(ctx context.Context, calls []bot.PlacedCall) error {
	ids, callIDs := make(pq.StringArray, len(calls)), make(pq.StringArray, len(calls))
	for i, c := range calls {
		ids[i], callIDs[i] = c.Attempt, c.CallID
	}
	_, err := s.jobsDB.ExecContext(ctx, `UPDATE call_attempts AS a SET call_id = v.call_id,
			status = CASE WHEN a.status = 'placing' THEN 'ringing' ELSE a.status END
		FROM unnest($1::text[], $2::text[]) AS v(id, call_id)
		WHERE a.id = v.id AND a.call_id = ''`, ids, callIDs)
	if err != nil {
		return fmt.Errorf("record %d calls: %w", len(calls), mapErr(err))
	}
	return nil
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

// CallAttemptByCall returns the committed attempt that recorded callID.
func (s *Store) CallAttemptByCall(ctx context.Context, callID string) (bot.CallAttempt, error) {
	var a bot.CallAttempt
	if callID == "" {
		return a, fmt.Errorf("attempt by call: no call id: %w", bot.ErrNotFound)
	}
	err := s.db.GetContext(ctx, &a, `SELECT `+attemptColumns+` FROM call_attempts WHERE call_id = $1 ORDER BY created_at LIMIT 1`, callID)
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
