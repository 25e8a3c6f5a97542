package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// JobHandler performs one job. Return nil when done, a RetryableError to be
// called again later, ErrNotFound or an InvalidError when retrying cannot help;
// any other error is retried with backoff until the job's attempts run out.
type JobHandler func(ctx context.Context, j Job) error

// Handle registers the handler for a job kind.
func (b *Bot) Handle(kind string, h JobHandler) { b.handlers[kind] = h }

// RunnerConfig tunes RunJobs.
type RunnerConfig struct {
	Worker      string        // names this replica in claims
	Concurrency int           // jobs run at once (default 8)
	Lease       time.Duration // how long a claim holds (default 30s)
	Poll        time.Duration // safety-net poll for expired leases (default 1s)
}

// RunJobs claims and runs due jobs until ctx is done, then waits for the jobs
// under way. It wakes at once on the store's signal, so a job enqueued by a
// commit starts without a polling delay.
func (b *Bot) RunJobs(ctx context.Context, rc RunnerConfig) error {
	if rc.Concurrency <= 0 {
		rc.Concurrency = 8
	}
	rc.Lease = cmpDuration(rc.Lease, 30*time.Second)
	rc.Poll = cmpDuration(rc.Poll, time.Second)
	slots := make(chan struct{}, rc.Concurrency)
	freed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		free := rc.Concurrency - len(slots)
		var jobs []Job
		if free > 0 {
			var err error
			jobs, err = b.store.Claim(ctx, rc.Worker, free, rc.Lease)
			if err != nil && ctx.Err() == nil {
				b.log.Warn("claim jobs", "err", err)
			}
		}
		for _, j := range jobs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() {
					<-slots
					wg.Done()
					select { // a slot is free: claim again
					case freed <- struct{}{}:
					default:
					}
				}()
				b.runJob(context.WithoutCancel(ctx), j, rc.Lease)
			}()
		}
		if len(jobs) > 0 && len(jobs) == free {
			continue // more may be due
		}
		timer.Reset(b.nextWait(ctx, rc.Poll))
		select {
		case <-ctx.Done():
			return nil
		case <-b.store.Wake():
		case <-b.kick:
		case <-freed:
		case <-timer.C:
		}
	}
}

// nextWait sleeps until the earliest due job, at most poll.
func (b *Bot) nextWait(ctx context.Context, poll time.Duration) time.Duration {
	next, err := b.store.NextRunAt(ctx)
	if err != nil || next.IsZero() {
		return poll
	}
	return min(max(next.Sub(b.clock.Now()), time.Millisecond), poll)
}

// RunDue runs every job that is due now, one at a time, and returns how many
// ran. Tests with a fake clock call it after moving time.
func (b *Bot) RunDue(ctx context.Context, worker string) (int, error) {
	n := 0
	for {
		jobs, err := b.store.Claim(ctx, worker, 16, 30*time.Second)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		for _, j := range jobs {
			b.runJob(ctx, j, 30*time.Second)
			n++
		}
	}
}

func (b *Bot) runJob(ctx context.Context, j Job, lease time.Duration) {
	start := b.clock.Now()
	ctx, cancel := context.WithTimeout(ctx, lease*9/10)
	defer cancel()
	err := b.callHandler(ctx, j)
	ran := b.clock.Now().Sub(start)
	until, snoozed := isSnooze(err)
	if h := b.hooks.JobDone; h != nil && !snoozed {
		h(j.Kind, start.Sub(j.RunAt), ran, err)
	}
	var retryAt time.Time
	switch {
	case snoozed:
		retryAt = until
		if !retryAt.After(start) {
			retryAt = start.Add(time.Millisecond)
		}
	case err != nil:
		retryAt = b.retryAt(j, err)
		log := b.log.With("job", j.ID, "kind", j.Kind, "incident", j.IncidentID, "attempt", j.Attempts, "err", err)
		if retryAt.IsZero() {
			log.Error("job failed for good")
		} else {
			log.Warn("job failed, will retry", "retry_at", retryAt)
		}
	}
	var ferr error
	if err == nil && !snoozed {
		ferr = b.complete(context.WithoutCancel(ctx), j)
	} else {
		ferr = b.store.Finish(context.WithoutCancel(ctx), j, retryAt, err)
	}
	if ferr != nil {
		b.log.Warn("finish job", "job", j.ID, "kind", j.Kind, "err", ferr)
	}
	if !retryAt.IsZero() {
		// The runner may sleep past the new due time: let it look again.
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

func (b *Bot) callHandler(ctx context.Context, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	h, ok := b.handlers[j.Kind]
	if !ok {
		return Invalid("no handler for job kind %q", j.Kind)
	}
	return h(ctx, j)
}

// retryAt decides when a failed job runs again; zero means never.
func (b *Bot) retryAt(j Job, err error) time.Time {
	var invalid *InvalidError
	if errors.Is(err, ErrNotFound) || errors.As(err, &invalid) || j.Attempts >= j.MaxAttempts {
		return time.Time{}
	}
	var re *RetryableError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return b.clock.Now().Add(re.RetryAfter)
	}
	return b.clock.Now().Add(Backoff(j.Attempts))
}

// Backoff is the wait before retry n (1-based): 1s, 2s, 4s ... capped at 5
// minutes, with ±20% jitter so retries of a storm spread out.
func Backoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 9)
	d = min(d, 5*time.Minute)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// complete marks a done job finished. Jobs finishing at once share one
// statement (on SQLite, one sync to disk), so a burst of due jobs is not
// held up by their own bookkeeping.
func (b *Bot) complete(ctx context.Context, j Job) error {
	req := &completion{ctx: ctx, job: j, done: make(chan error, 1)}
	if err := b.completer.submit(ctx, req); err != nil {
		return b.store.Finish(ctx, j, time.Time{}, nil)
	}
	return <-req.done
}

type completion struct {
	ctx  context.Context
	job  Job
	done chan error
}

// abandoned is never true: a completion's context does not end.
func (c *completion) abandoned() bool { return false }

func (b *Bot) commitCompletions(batch []*completion) {
	jobs := make([]Job, len(batch))
	for i, c := range batch {
		jobs[i] = c.job
	}
	lost, err := b.store.Complete(batch[0].ctx, jobs)
	for _, c := range batch {
		switch {
		case err != nil:
			c.done <- err
		case slices.Contains(lost, c.job.ID):
			c.done <- fmt.Errorf("finish job %d: lease lost: %w", c.job.ID, ErrConflict)
		default:
			c.done <- nil
		}
	}
	// Jobs of the same keys may be claimable now.
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// RecordCall records the call id of a placed attempt. Calls placed at once
// share one statement, and none waits for an incident's lock.
func (b *Bot) RecordCall(ctx context.Context, c PlacedCall) error {
	req := &recording{ctx: ctx, call: c, done: make(chan error, 1)}
	if err := b.recorder.submit(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type recording struct {
	ctx  context.Context
	call PlacedCall
	done chan error
}

func (r *recording) abandoned() bool {
	if err := r.ctx.Err(); err != nil {
		r.done <- err
		return true
	}
	return false
}

func (b *Bot) commitRecordings(batch []*recording) {
	calls := make([]PlacedCall, len(batch))
	for i, r := range batch {
		calls[i] = r.call
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), 10*time.Second)
	defer cancel()
	err := b.store.RecordCalls(ctx, calls)
	for _, r := range batch {
		r.done <- err
	}
}
