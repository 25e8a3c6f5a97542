package postgres

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
	"github.com/lib/pq"

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
	t := &tx{store: s, ctx: ctx, tx: sqlTx, open: map[[2]string]*bot.Incident{}, absent: map[[2]string]bool{}, byNumber: map[int64]*bot.Incident{}, byID: map[int64]*bot.Incident{}}
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
	absent   map[[2]string]bool          // known to have no open incident (LockOpenIncidents)
	byNumber map[int64]*bot.Incident
	byID     map[int64]*bot.Incident
	dirty    []*bot.Incident
	esc      escalationState
	alerts   [][]any
	events   [][]any
	jobs     [][]any
	jobByKey map[string]int // index in jobs, to merge a key enqueued twice
	// jobsChanged counts jobs inserted or moved earlier by flush.
	jobsChanged int64
}

const incidentColumns = `id, number, service, fingerprint, title, status, severity, impact, urgency,
	priority, owner, alert_count, created_at, acknowledged_at, resolved_at, last_hash, last_seq`

// exec runs one of the batch statements, whose text does not depend on the
// batch size, as a statement prepared once per connection: the server then
// neither parses nor plans it again for every batch.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	stmt, err := t.store.prepared(t.ctx, query)
	if err != nil {
		return nil, err
	}
	return t.tx.StmtxContext(t.ctx, stmt).ExecContext(t.ctx, args...)
}

func (t *tx) remember(inc *bot.Incident) {
	t.open[[2]string{inc.Service, inc.Fingerprint}] = inc
	t.byNumber[inc.Number] = inc
	t.byID[inc.ID] = inc
}

// LockOpenIncidents locks a whole batch's incidents in one statement, in id
// order like every other writer, and caches them. NO KEY UPDATE: writers of
// rows that reference an incident (chat threads) need not wait for it.
func (t *tx) LockOpenIncidents(keys []bot.IncidentKey) error {
	services, fingerprints := make([]string, 0, len(keys)), make([]string, 0, len(keys))
	for _, k := range keys {
		if _, ok := t.open[[2]string{k.Service, k.Fingerprint}]; ok {
			continue
		}
		services, fingerprints = append(services, k.Service), append(fingerprints, k.Fingerprint)
	}
	if len(services) == 0 {
		return nil
	}
	var found []bot.Incident
	stmt, err := t.store.prepared(t.ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE status <> 'resolved' AND (service, fingerprint) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY id FOR NO KEY UPDATE`)
	if err != nil {
		return err
	}
	if err := t.tx.StmtxContext(t.ctx, stmt).SelectContext(t.ctx, &found, pq.Array(services), pq.Array(fingerprints)); err != nil {
		return fmt.Errorf("lock incidents: %w", err)
	}
	for i := range found {
		t.remember(&found[i])
	}
	for i := range services {
		key := [2]string{services[i], fingerprints[i]}
		if _, ok := t.open[key]; !ok {
			t.absent[key] = true
		}
	}
	return nil
}

func (t *tx) OpenIncidentFor(service, fingerprint string) (bot.Incident, error) {
	key := [2]string{service, fingerprint}
	if inc, ok := t.open[key]; ok {
		if !inc.Open() {
			return bot.Incident{}, bot.ErrNotFound
		}
		return *inc, nil
	}
	if t.absent[key] {
		return bot.Incident{}, bot.ErrNotFound
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents
		WHERE service = $1 AND fingerprint = $2 AND status <> 'resolved' FOR NO KEY UPDATE`, service, fingerprint)
}

func (t *tx) IncidentByNumber(number int64) (bot.Incident, error) {
	if inc, ok := t.byNumber[number]; ok {
		return *inc, nil
	}
	return t.lockOne(`SELECT `+incidentColumns+` FROM incidents WHERE number = $1 FOR NO KEY UPDATE`, number)
}

// get and sel run a statement prepared once per connection.
func (t *tx) get(dest any, query string, args ...any) error {
	stmt, err := t.store.prepared(t.ctx, query)
	if err != nil {
		return err
	}
	return t.tx.StmtxContext(t.ctx, stmt).GetContext(t.ctx, dest, args...)
}

func (t *tx) sel(dest any, query string, args ...any) error {
	stmt, err := t.store.prepared(t.ctx, query)
	if err != nil {
		return err
	}
	return t.tx.StmtxContext(t.ctx, stmt).SelectContext(t.ctx, dest, args...)
}

func (t *tx) lockOne(query string, args ...any) (bot.Incident, error) {
	var inc bot.Incident
	if err := t.tx.GetContext(t.ctx, &inc, query, args...); err != nil {
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
	// number is the id: one sequence, no second counter to serialize on.
	err := t.tx.GetContext(t.ctx, &inc.ID, `INSERT INTO incidents
		(id, number, service, fingerprint, title, status, severity, impact, urgency, priority, owner,
		 alert_count, created_at, acknowledged_at, resolved_at, last_hash, last_seq)
		VALUES (nextval('incidents_id_seq'), currval('incidents_id_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $9,
		 $10, $11, $12, $13, $14, $15)
		RETURNING id`,
		inc.Service, inc.Fingerprint, inc.Title, inc.Status, inc.Severity, inc.Impact, inc.Urgency, inc.Priority, inc.Owner,
		inc.AlertCount, inc.CreatedAt.UTC(), inc.AcknowledgedAt, inc.ResolvedAt, inc.LastHash, inc.LastSeq)
	if err != nil {
		return fmt.Errorf("create incident: %w", mapErr(err))
	}
	inc.Number = inc.ID
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
	if err := t.flushEscalations(); err != nil {
		return err
	}
	if _, err := t.insertRows("alerts", "incident_id, integration, source, status, title, body, severity, labels, links, raw, received_at",
		[]string{"bigint", "text", "text", "text", "text", "text", "text", "text", "text", "bytea", "timestamptz"}, t.alerts, ""); err != nil {
		return err
	}
	if _, err := t.insertRows("timeline_events", "incident_id, seq, kind, actor, source, text, at, prev_hash, hash",
		[]string{"bigint", "integer", "text", "text", "text", "text", "timestamptz", "text", "text"}, t.events, ""); err != nil {
		return err
	}
	if len(t.jobs) == 0 {
		return nil
	}
	n, err := t.insertRows("jobs", "kind, key, incident_id, payload, run_at, max_attempts, created_at",
		[]string{"text", "text", "bigint", "text", "timestamptz", "integer", "timestamptz"}, t.jobs,
		` ON CONFLICT (key) WHERE state = 'pending' AND key <> '' DO UPDATE SET run_at = excluded.run_at WHERE jobs.run_at > excluded.run_at`)
	if err != nil {
		return err
	}
	// A job merged into a pending one that is due as soon changes nothing:
	// no wake-up is owed, which keeps a storm from waking every worker on
	// every commit.
	t.jobsChanged = n
	if n == 0 {
		return nil
	}
	// Delivered to every listening replica when the transaction commits.
	_, err = t.tx.ExecContext(t.ctx, `SELECT pg_notify($1, '')`, notifyChannel)
	return err
}

// flushIncidents writes every changed incident in one UPDATE ... FROM
// unnest(arrays).
func (t *tx) flushIncidents() error {
	if len(t.dirty) == 0 {
		return nil
	}
	rows := make([][]any, len(t.dirty))
	for i, inc := range t.dirty {
		rows[i] = []any{inc.ID, inc.Title, string(inc.Status), string(inc.Severity), string(inc.Impact), string(inc.Urgency),
			string(inc.Priority), inc.Owner, inc.AlertCount, inc.AcknowledgedAt, inc.ResolvedAt, inc.LastHash, inc.LastSeq}
	}
	types := []string{"bigint", "text", "text", "text", "text", "text", "text", "text", "integer", "timestamptz", "timestamptz", "text", "integer"}
	args := make([]any, len(types))
	params := make([]string, len(types))
	for j, typ := range types {
		args[j] = column(rows, j)
		params[j] = fmt.Sprintf("$%d::%s[]", j+1, typ)
	}
	_, err := t.exec(`UPDATE incidents AS i SET title = v.title, status = v.status, severity = v.severity,
		impact = v.impact, urgency = v.urgency, priority = v.priority, owner = v.owner, alert_count = v.alert_count,
		acknowledged_at = v.acknowledged_at, resolved_at = v.resolved_at, last_hash = v.last_hash, last_seq = v.last_seq
		FROM unnest(`+strings.Join(params, ", ")+`) AS v(id, title, status, severity, impact, urgency, priority, owner,
		alert_count, acknowledged_at, resolved_at, last_hash, last_seq) WHERE i.id = v.id`, args...)
	if err != nil {
		return fmt.Errorf("save %d incidents: %w", len(t.dirty), err)
	}
	t.dirty = t.dirty[:0]
	return nil
}

// insertRows writes rows with one INSERT ... SELECT FROM unnest(arrays):
// the statement text is the same for any number of rows, so the server
// parses little, and each column travels as one array parameter.
func (t *tx) insertRows(table, columns string, types []string, rows [][]any, suffix string) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	args := make([]any, len(types))
	params := make([]string, len(types))
	for j, typ := range types {
		args[j] = column(rows, j)
		params[j] = fmt.Sprintf("$%d::%s[]", j+1, typ)
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT * FROM unnest(%s)%s", table, columns, strings.Join(params, ", "), suffix)
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, fmt.Errorf("insert into %s: %w", table, err)
	}
	return res.RowsAffected()
}

// column gathers column j of rows into an array parameter.
func column(rows [][]any, j int) any {
	switch rows[0][j].(type) {
	case int64, int:
		out := make(pq.Int64Array, len(rows))
		for i, r := range rows {
			switch v := r[j].(type) {
			case int64:
				out[i] = v
			case int:
				out[i] = int64(v)
			}
		}
		return out
	case []byte:
		out := make(pq.ByteaArray, len(rows))
		for i, r := range rows {
			out[i] = r[j].([]byte)
		}
		return out
	case time.Time, *time.Time:
		out := make([]sql.NullString, len(rows))
		for i, r := range rows {
			switch v := r[j].(type) {
			case time.Time:
				out[i] = sql.NullString{String: v.UTC().Format(time.RFC3339Nano), Valid: true}
			case *time.Time:
				if v != nil {
					out[i] = sql.NullString{String: v.UTC().Format(time.RFC3339Nano), Valid: true}
				}
			}
		}
		return pq.Array(out)
	default:
		out := make(pq.StringArray, len(rows))
		for i, r := range rows {
			out[i] = fmt.Sprint(r[j])
		}
		return out
	}
}
