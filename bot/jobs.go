package bot

import (
	"context"
	"time"
)

// JobState is where a job stands in the queue.
type JobState string

const (
	JobPending JobState = "pending"
	JobRunning JobState = "running"
	JobFailed  JobState = "failed" // gave up; kept for inspection
)

// Job is a durable side effect: a chat post, a call, a mail. Workers claim
// jobs with a lease; a job whose lease expires is claimed again elsewhere.
type Job struct {
	ID          int64     `db:"id"`
	Kind        string    `db:"kind"`
	Key         string    `db:"key"` // idempotency: one pending job per key
	IncidentID  int64     `db:"incident_id"`
	Payload     []byte    `db:"payload"` // JSON
	RunAt       time.Time `db:"run_at"`
	Attempts    int       `db:"attempts"`
	MaxAttempts int       `db:"max_attempts"`
	CreatedAt   time.Time `db:"created_at"`
	LastError   string    `db:"last_error"`
	State       JobState  `db:"state"`
}

// JobQueue is the store's side of the job runner.
type JobQueue interface {
	// Claim leases up to n due jobs (pending with RunAt <= now, or running
	// with an expired lease) to worker until now+lease.
	Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]Job, error)
	// Finish ends a claimed job: done (err nil), retried at retryAt, or failed
	// for good (retryAt zero). It changes nothing if the job's lease was lost
	// to another worker (attempts moved on), and reports that with ErrConflict.
	Finish(ctx context.Context, j Job, retryAt time.Time, err error) error
	// Complete ends many claimed jobs that are done, at once, and returns the
	// ids of those whose lease was lost (unchanged, like Finish's ErrConflict).
	Complete(ctx context.Context, jobs []Job) (lost []int64, err error)
	// Wake returns a channel that receives when jobs may have become due
	// (a commit that enqueued, here or on another replica).
	Wake() <-chan struct{}
	// NextRunAt is the earliest RunAt of pending work, or zero when none.
	NextRunAt(ctx context.Context) (time.Time, error)
	// QueueStats says how much work is due and waiting for a worker now,
	// for self-monitoring.
	QueueStats(ctx context.Context) (QueueStats, error)
}

// QueueStats is the work due and not being run: pending jobs whose RunAt has
// come, and running jobs whose lease ran out (their replica died).
type QueueStats struct {
	Due       int
	OldestDue time.Time // when the longest-waiting of them became due; zero when none
}
