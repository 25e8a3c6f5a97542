package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/hotline-dev/hotline/bot"
)

// Update runs fn in one transaction. Incidents fn reads are locked and kept
// in memory; alerts, events and jobs are buffered; all of it is written in a
// few multi-row statements just before commit, so a batch of alerts costs a
// handful of round trips, not several per alert.
func (s *Store) Update(ctx context.Context, fn func(bot.Tx) error) error {
	sqlTx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	t := &tx{store: s, ctx: ctx, tx: sqlTx, open: map[[2]string]*bot.Incident{}, byNumber: map[int64]*bot.Incident{}}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return mapErr(err)
	}
	if err := t.flush(); err != nil {
		sqlTx.Rollback()
		return mapErr(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return mapErr(err)
	}
	s.prepareWanted(ctx)
	if t.jobsChanged > 0 {
		s.signal()
	}
	return nil
}

type tx struct {
	store    *Store
	ctx      context.Context
	tx       *sqlx.Tx
	open     map[[2]string]*bot.Incident // locked in this tx, by service and fingerprint
	byNumber map[int64]*bot.Incident
	dirty    []*bot.Incident
	alerts   [][]any
	events   [][]any
	jobs     [][]any
	jobByKey map[string]int // index in jobs, to merge a key enqueued twice
	// jobsChanged counts jobs inserted or moved earlier by flush.
	jobsChanged int64
}

const incidentColumns = `id, number, service, fingerprint, title, status, severity, impact, urgency,
	priority, owner, alert_count, created_at, acknowledged_at, resolved_at, last_hash, last_seq`

func (t *tx) remember(inc *bot.Incident) {
	t.open[[2]string{inc.Service, inc.Fingerprint}] = inc
	t.byNumber[inc.Number] = inc
}

// LockOpenIncidents does nothing: the one writer connection already holds
// the database, and look-ups in process cost no round trip.
func (t *tx) LockOpenIncidents([]bot.IncidentKey) error { return nil }

func (t *tx) OpenIncidentFor(service, fingerprint string) (bot.Incident, error) {
	if inc, ok := t.open[[2]string{service, fingerprint}]; ok {
		if !inc.Open() {
			return bot.Incident{}, bot.ErrNotFound
		}
		return *inc, nil
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents
		WHERE service = ? AND fingerprint = ? AND status <> 'resolved'`, service, fingerprint)
}

func (t *tx) IncidentByNumber(number int64) (bot.Incident, error) {
	if inc, ok := t.byNumber[number]; ok {
		return *inc, nil
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents WHERE number = ?`, number)
}

func (t *tx) lockOne(query string, args ...any) (bot.Incident, error) {
	var inc bot.Incident
	if err := t.get(&inc, query, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return bot.Incident{}, bot.ErrNotFound
		}
		return bot.Incident{}, err
	}
	t.remember(&inc)
	return inc, nil
}

func (t *tx) CreateIncident(inc *bot.Incident) error {
	// A resolve earlier in this transaction must reach the database first, or
	// the new incident collides with the old one on the open-key index.
	if err := t.flushIncidents(); err != nil {
		return err
	}
	// One writer at a time, so the next number is simply the largest plus one.
	err := t.tx.QueryRowxContext(t.ctx, `INSERT INTO incidents
		(number, service, fingerprint, title, status, severity, impact, urgency, priority, owner,
		 alert_count, created_at, acknowledged_at, resolved_at, last_hash, last_seq)
		VALUES ((SELECT COALESCE(MAX(number), 0) + 1 FROM incidents), ?, ?, ?, ?, ?, ?, ?, ?, ?,
		 ?, ?, ?, ?, ?, ?)
		RETURNING id, number`,
		inc.Service, inc.Fingerprint, inc.Title, inc.Status, inc.Severity, inc.Impact, inc.Urgency, inc.Priority, inc.Owner,
		inc.AlertCount, inc.CreatedAt.UTC(), inc.AcknowledgedAt, inc.ResolvedAt, inc.LastHash, inc.LastSeq).Scan(&inc.ID, &inc.Number)
	if err != nil {
		return fmt.Errorf("create incident: %w", mapErr(err))
	}
	created := *inc
	t.remember(&created)
	return nil
}

func (t *tx) SaveIncident(inc bot.Incident) error {
	cur, ok := t.byNumber[inc.Number]
	if !ok {
		return fmt.Errorf("save %s: not read in this transaction", inc.Ref())
	}
	*cur = inc
	if !slices.Contains(t.dirty, cur) {
		t.dirty = append(t.dirty, cur)
	}
	return nil
}

func (t *tx) AddAlert(incidentID int64, a bot.Alert) error {
	labels, err := json.Marshal(a.Labels)
	if err != nil {
		return err
	}
	links, err := json.Marshal(a.Links)
	if err != nil {
		return err
	}
	t.alerts = append(t.alerts, []any{incidentID, a.Integration, a.Source, string(a.Status), a.Title, a.Body,
		string(a.Severity), string(labels), string(links), a.Raw, a.ReceivedAt.UTC()})
	return nil
}

func (t *tx) AppendEvent(e bot.Event) error {
	t.events = append(t.events, []any{e.IncidentID, e.Seq, string(e.Kind), e.Actor, e.Source, e.Text, e.At.UTC(), e.PrevHash, e.Hash})
	return nil
}

func (t *tx) Enqueue(j bot.Job) error {
	if i, ok := t.jobByKey[j.Key]; ok && j.Key != "" {
		if runAt := j.RunAt.UTC(); runAt.Before(t.jobs[i][4].(time.Time)) {
			t.jobs[i][4] = runAt
		}
		return nil
	}
	if j.Key != "" {
		if t.jobByKey == nil {
			t.jobByKey = map[string]int{}
		}
		t.jobByKey[j.Key] = len(t.jobs)
	}
	t.jobs = append(t.jobs, []any{j.Kind, j.Key, j.IncidentID, string(j.Payload), j.RunAt.UTC(), max(j.MaxAttempts, 1), j.CreatedAt.UTC()})
	return nil
}

func (t *tx) flush() error {
	if err := t.flushIncidents(); err != nil {
		return err
	}
	if _, err := t.insertRows("alerts", "incident_id, integration, source, status, title, body, severity, labels, links, raw, received_at", t.alerts, ""); err != nil {
		return err
	}
	if _, err := t.insertRows("timeline_events", "incident_id, seq, kind, actor, source, text, at, prev_hash, hash", t.events, ""); err != nil {
		return err
	}
	if len(t.jobs) == 0 {
		return nil
	}
	n, err := t.insertRows("jobs", "kind, key, incident_id, payload, run_at, max_attempts, created_at", t.jobs,
		` ON CONFLICT (key) WHERE state = 'pending' AND key <> '' DO UPDATE SET run_at = excluded.run_at WHERE jobs.run_at > excluded.run_at`)
	if err != nil {
		return err
	}
	// A job merged into a pending one that is due as soon changes nothing:
	// no wake-up is owed, which keeps a storm from waking every worker on
	// every commit.
	t.jobsChanged = n
	return nil
}

func (t *tx) flushIncidents() error {
	for _, inc := range t.dirty {
		_, err := t.exec(`UPDATE incidents SET title = ?, status = ?, severity = ?, impact = ?,
			urgency = ?, priority = ?, owner = ?, alert_count = ?, acknowledged_at = ?, resolved_at = ?,
			last_hash = ?, last_seq = ? WHERE id = ?`,
			inc.Title, inc.Status, inc.Severity, inc.Impact, inc.Urgency, inc.Priority, inc.Owner,
			inc.AlertCount, utcPtr(inc.AcknowledgedAt), utcPtr(inc.ResolvedAt), inc.LastHash, inc.LastSeq, inc.ID)
		if err != nil {
			return fmt.Errorf("save %s: %w", inc.Ref(), err)
		}
	}
	t.dirty = t.dirty[:0]
	return nil
}

// insertRows writes rows with multi-row INSERTs, in chunks that stay under
// the protocol's parameter limit.
func (t *tx) insertRows(table, columns string, rows [][]any, suffix string) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	width := len(rows[0])
	chunk := 30000 / width
	var changed int64
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var q strings.Builder
		args := make([]any, 0, len(part)*width)
		fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, columns)
		for i, row := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteByte('?')
			}
			q.WriteByte(')')
			args = append(args, row...)
		}
		q.WriteString(suffix)
		run := t.tx.ExecContext
		if len(part) <= 8 {
			// Few shapes, used all the time: worth preparing.
			run = func(_ context.Context, q string, args ...any) (sql.Result, error) { return t.exec(q, args...) }
		}
		res, err := run(t.ctx, q.String(), args...)
		if err != nil {
			return 0, fmt.Errorf("insert into %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		changed += n
	}
	return changed, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// get, sel and exec run query as a statement prepared once on the writer
// connection, or as it is until it has been.
func (t *tx) get(dest any, query string, args ...any) error {
	if st, ok := t.store.prepared(query); ok {
		return t.tx.StmtxContext(t.ctx, st).GetContext(t.ctx, dest, args...)
	}
	return t.tx.GetContext(t.ctx, dest, query, args...)
}

func (t *tx) sel(dest any, query string, args ...any) error {
	if st, ok := t.store.prepared(query); ok {
		return t.tx.StmtxContext(t.ctx, st).SelectContext(t.ctx, dest, args...)
	}
	return t.tx.SelectContext(t.ctx, dest, query, args...)
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if st, ok := t.store.prepared(query); ok {
		return t.tx.StmtxContext(t.ctx, st).ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}
