package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"

	"github.com/hotline-dev/hotline/bot"
)

const jobColumns = `id, kind, key, incident_id, payload, run_at, attempts, max_attempts, created_at, last_error, state`

// Claim leases due jobs. SKIP LOCKED lets replicas claim side by side without
// waiting on each other's rows; a running job whose lease ran out (its worker
// died) is due again.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]bot.Job, error) {
	now := s.clock.Now().UTC()
	var jobs []bot.Job
	err := s.jobsDB.SelectContext(ctx, &jobs, `UPDATE jobs SET state = 'running', attempts = attempts + 1,
			lease_until = $2, claimed_by = $3
		WHERE id IN (
			SELECT id FROM jobs
			WHERE ((state = 'pending' AND run_at <= $1) OR (state = 'running' AND lease_until <= $1))
				-- jobs of one key run one at a time: a change waits for the
				-- sync under way instead of racing it, and for a dead
				-- worker's sync too, which is taken over first; of several
				-- expired ones, only the oldest.
				AND NOT (key <> '' AND EXISTS (SELECT 1 FROM jobs r
					WHERE r.key = jobs.key AND r.id <> jobs.id AND r.state = 'running'
						AND (r.lease_until > $1 OR jobs.state = 'pending' OR r.id < jobs.id)))
			ORDER BY run_at, id LIMIT $4
			FOR UPDATE SKIP LOCKED)
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
		res, err = s.jobsDB.ExecContext(ctx, `DELETE FROM jobs WHERE id = $1 AND state = 'running' AND attempts = $2`, j.ID, j.Attempts)
	case retryAt.IsZero():
		res, err = s.jobsDB.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = $3
			WHERE id = $1 AND state = 'running' AND attempts = $2`, j.ID, j.Attempts, jobErr.Error())
	default:
		// A newer pending job with the same key does this job's work too.
		res, err = s.jobsDB.ExecContext(ctx, `DELETE FROM jobs WHERE id = $1 AND state = 'running' AND attempts = $2
			AND key <> '' AND EXISTS (SELECT 1 FROM jobs o WHERE o.key = $3 AND o.state = 'pending')`, j.ID, j.Attempts, j.Key)
		if n, _ := rowsAffected(res, err); n == 1 {
			return nil
		}
		res, err = s.jobsDB.ExecContext(ctx, `UPDATE jobs SET state = 'pending', run_at = $3, lease_until = NULL, last_error = $4
			WHERE id = $1 AND state = 'running' AND attempts = $2`, j.ID, j.Attempts, retryAt.UTC(), jobErr.Error())
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

// Complete deletes many done jobs in one statement.
func (s *Store) Complete(ctx context.Context, jobs []bot.Job) ([]int64, error) {
	ids, attempts := make(pq.Int64Array, len(jobs)), make(pq.Int64Array, len(jobs))
	for i, j := range jobs {
		ids[i], attempts[i] = j.ID, int64(j.Attempts)
	}
	var deleted []int64
	err := s.jobsDB.SelectContext(ctx, &deleted, `DELETE FROM jobs AS j USING unnest($1::bigint[], $2::bigint[]) AS v(id, attempts)
		WHERE j.id = v.id AND j.attempts = v.attempts AND j.state = 'running' RETURNING j.id`, ids, attempts)
	if err != nil {
		return nil, fmt.Errorf("complete %d jobs: %w", len(jobs), mapErr(err))
	}
	return lostJobs(jobs, deleted), nil
}

// NextRunAt is the earliest moment a job becomes due: a pending job's run_at
// or a running job's lease end.
func (s *Store) NextRunAt(ctx context.Context) (time.Time, error) {
	var next sql.NullTime
	err := s.jobsDB.GetContext(ctx, &next, `SELECT MIN(t) FROM (
		SELECT MIN(run_at) AS t FROM jobs WHERE state = 'pending'
		UNION ALL SELECT MIN(lease_until) FROM jobs WHERE state = 'running') due`)
	return next.Time, mapErr(err)
}

// lostJobs lists the jobs that are not among the deleted.
func lostJobs(jobs []bot.Job, deleted []int64) []int64 {
	var lost []int64
	for _, j := range jobs {
		if !slices.Contains(deleted, j.ID) {
			lost = append(lost, j.ID)
		}
	}
	return lost
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
		Due    int          `db:"due"`
		Oldest sql.NullTime `db:"oldest"`
	}
	err := s.jobsDB.GetContext(ctx, &row, `SELECT COUNT(*) AS due, MIN(t) AS oldest FROM (
		SELECT run_at AS t FROM jobs WHERE state = 'pending' AND run_at <= $1
		UNION ALL SELECT lease_until FROM jobs WHERE state = 'running' AND lease_until <= $1) due`, s.clock.Now().UTC())
	if err != nil {
		return bot.QueueStats{}, mapErr(err)
	}
	return bot.QueueStats{Due: row.Due, OldestDue: row.Oldest.Time}, nil
}
