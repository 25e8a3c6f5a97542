package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

const jobColumns = `id, kind, key, incident_id, payload, run_at, attempts, max_attempts, created_at, last_error, state`

// Claim leases due jobs. The single writer connection makes the statement
// atomic; a running job whose lease ran out (its worker died) is due again.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]bot.Job, error) {
	now := s.clock.Now().UTC()
	var jobs []bot.Job
	err := s.db.SelectContext(ctx, &jobs, `UPDATE jobs SET state = 'running', attempts = attempts + 1,
			lease_until = ?2, claimed_by = ?3
		WHERE id IN (
			SELECT id FROM jobs
			WHERE ((state = 'pending' AND run_at <= ?1) OR (state = 'running' AND lease_until <= ?1))
				-- jobs of one key run one at a time: a change waits for the
				-- sync under way instead of racing it, and for a dead
				-- worker's sync too, which is taken over first; of several
				-- expired ones, only the oldest.
				AND NOT (key <> '' AND EXISTS (SELECT 1 FROM jobs r
					WHERE r.key = jobs.key AND r.id <> jobs.id AND r.state = 'running'
						AND (r.lease_until > ?1 OR jobs.state = 'pending' OR r.id < jobs.id)))
			ORDER BY run_at, id LIMIT ?4)
		RETURNING `+jobColumns, now, now.Add(lease), worker, n)
	return jobs, mapErr(err)
}

// Finish ends a claim. attempts identifies the claim: a worker whose lease
// expired and was taken over changes nothing.
func (s *Store) Finish(ctx context.Context, j bot.Job, retryAt time.Time, jobErr error) error {
	var res sql.Result
	var err error
	switch {
	case jobErr == nil:
		res, err = s.db.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?1 AND state = 'running' AND attempts = ?2`, j.ID, j.Attempts)
	case retryAt.IsZero():
		res, err = s.db.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = ?3
			WHERE id = ?1 AND state = 'running' AND attempts = ?2`, j.ID, j.Attempts, jobErr.Error())
	default:
		// A newer pending job with the same key does this job's work too.
		res, err = s.db.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?1 AND state = 'running' AND attempts = ?2
			AND key <> '' AND EXISTS (SELECT 1 FROM jobs o WHERE o.key = ?3 AND o.state = 'pending')`, j.ID, j.Attempts, j.Key)
		if n, _ := rowsAffected(res, err); n == 1 {
			return nil
		}
		res, err = s.db.ExecContext(ctx, `UPDATE jobs SET state = 'pending', run_at = ?3, lease_until = NULL, last_error = ?4
			WHERE id = ?1 AND state = 'running' AND attempts = ?2`, j.ID, j.Attempts, retryAt.UTC(), jobErr.Error())
	}
	n, err := rowsAffected(res, err)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", j.ID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("finish job %d: lease lost: %w", j.ID, bot.ErrConflict)
	}
	return nil
}

// NextRunAt is the earliest moment a job becomes due: a pending job's run_at
// or a running job's lease end.
func (s *Store) NextRunAt(ctx context.Context) (time.Time, error) {
	// MIN over a subquery has no declared type, so SQLite hands back text.
	var next sql.NullString
	err := s.read.GetContext(ctx, &next, `SELECT MIN(t) FROM (
		SELECT MIN(run_at) AS t FROM jobs WHERE state = 'pending'
		UNION ALL SELECT MIN(lease_until) FROM jobs WHERE state = 'running') due`)
	if err != nil || !next.Valid {
		return time.Time{}, mapErr(err)
	}
	return time.Parse(timeFormat, next.String)
}

// Complete deletes many done jobs in one transaction: one sync to disk.
func (s *Store) Complete(ctx context.Context, jobs []bot.Job) ([]int64, error) {
	var lost []int64
	err := s.Update(ctx, func(btx bot.Tx) error {
		t := btx.(*tx)
		lost = lost[:0]
		for _, j := range jobs {
			res, err := t.exec(`DELETE FROM jobs WHERE id = ? AND state = 'running' AND attempts = ?`, j.ID, j.Attempts)
			n, err := rowsAffected(res, err)
			if err != nil {
				return err
			}
			if n == 0 {
				lost = append(lost, j.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("complete %d jobs: %w", len(jobs), err)
	}
	return lost, nil
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueueStats counts the due work that waits for a worker.
func (s *Store) QueueStats(ctx context.Context) (bot.QueueStats, error) {
	var row struct {
		Due    int            `db:"due"`
		Oldest sql.NullString `db:"oldest"` // MIN over a subquery comes back as text
	}
	err := s.read.GetContext(ctx, &row, `SELECT COUNT(*) AS due, MIN(t) AS oldest FROM (
		SELECT run_at AS t FROM jobs WHERE state = 'pending' AND run_at <= ?1
		UNION ALL SELECT lease_until FROM jobs WHERE state = 'running' AND lease_until <= ?1) due`, s.clock.Now().UTC())
	if err != nil {
		return bot.QueueStats{}, mapErr(err)
	}
	st := bot.QueueStats{Due: row.Due}
	if row.Oldest.Valid {
		if st.OldestDue, err = time.Parse(timeFormat, row.Oldest.String); err != nil {
			return bot.QueueStats{}, fmt.Errorf("queue stats: %w", err)
		}
	}
	return st, nil
}
