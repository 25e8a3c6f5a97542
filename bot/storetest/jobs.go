package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func enqueue(t *testing.T, s bot.Store, jobs ...bot.Job) {
	t.Helper()
	mustUpdate(t, s, func(tx bot.Tx) error {
		for _, j := range jobs {
			if err := tx.Enqueue(j); err != nil {
				return err
			}
		}
		return nil
	})
}

func job(clock bot.Clock, kind, key string, in time.Duration) bot.Job {
	return bot.Job{Kind: kind, Key: key, IncidentID: 7, Payload: []byte(`{"to":"tanaka"}`), RunAt: clock.Now().Add(in),
		MaxAttempts: 3, CreatedAt: clock.Now()}
}

// testJobsComplete ends many claims at once; a claim taken over by another
// worker is reported lost and left alone.
func testJobsComplete(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	mustUpdate(t, s, func(tx bot.Tx) error {
		for i := range 3 {
			if err := tx.Enqueue(bot.Job{Kind: "k", Key: fmt.Sprint("c", i), RunAt: clock.Now(), MaxAttempts: 3, CreatedAt: clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	jobs, err := s.Claim(ctx(t), "w1", 10, time.Second)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	// The leases run out and another worker takes one of the jobs over.
	clock.Advance(2 * time.Second)
	again, err := s.Claim(ctx(t), "w2", 1, time.Minute)
	if err != nil || len(again) != 1 {
		t.Fatalf("takeover: %+v, %v", again, err)
	}
	stale := again[0]
	lost, err := s.Complete(ctx(t), jobs)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0] != stale.ID {
		t.Errorf("lost %v, want only the taken-over job %d", lost, stale.ID)
	}
	clock.Advance(time.Hour)
	left, err := s.Claim(ctx(t), "w3", 10, time.Minute)
	if err != nil || len(left) != 1 || left[0].ID != stale.ID {
		t.Errorf("after Complete: %+v (%v), want only the taken-over job left", left, err)
	}
}

func testJobsClaimAndFinish(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	if next, err := s.NextRunAt(ctx(t)); err != nil || !next.IsZero() {
		t.Fatalf("NextRunAt of an empty queue: %v, %v", next, err)
	}
	enqueue(t, s, job(clock, "now", "", 0), job(clock, "later", "", time.Minute))
	if next, err := s.NextRunAt(ctx(t)); err != nil || !next.Equal(clock.Now()) {
		t.Fatalf("NextRunAt: %v, %v; want %v", next, err, clock.Now())
	}
	jobs, err := s.Claim(ctx(t), "w1", 10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Kind != "now" || jobs[0].Attempts != 1 || string(jobs[0].Payload) != `{"to":"tanaka"}` || jobs[0].IncidentID != 7 {
		t.Fatalf("claimed %+v, want only the due job, attempt 1", jobs)
	}
	if again, _ := s.Claim(ctx(t), "w2", 10, 30*time.Second); len(again) != 0 {
		t.Fatalf("a leased job was claimed twice: %+v", again)
	}
	// Retry: pending again at the given time, with the error kept.
	if err := s.Finish(ctx(t), jobs[0], clock.Now().Add(10*time.Second), errors.New("slack said 500")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Second)
	jobs, _ = s.Claim(ctx(t), "w1", 10, 30*time.Second)
	if len(jobs) != 1 || jobs[0].Attempts != 2 || jobs[0].LastError != "slack said 500" {
		t.Fatalf("retried job: %+v", jobs)
	}
	// Failed for good: never claimed again.
	if err := s.Finish(ctx(t), jobs[0], time.Time{}, errors.New("permanent")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	jobs, _ = s.Claim(ctx(t), "w1", 10, 30*time.Second)
	if len(jobs) != 1 || jobs[0].Kind != "later" {
		t.Fatalf("after failure: claimed %+v, want only the later job", jobs)
	}
	// Done: gone.
	if err := s.Finish(ctx(t), jobs[0], time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	// Finishing twice is a lost lease, not a silent success.
	if err := s.Finish(ctx(t), jobs[0], time.Time{}, nil); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("second Finish: %v, want ErrConflict", err)
	}
	clock.Advance(time.Hour)
	if jobs, _ := s.Claim(ctx(t), "w1", 10, 30*time.Second); len(jobs) != 0 {
		t.Errorf("finished jobs claimed again: %+v", jobs)
	}
}

func testJobsCoalesce(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	enqueue(t, s, job(clock, "chat.update", "chat.update:1", 0), job(clock, "chat.update", "chat.update:1", 0))
	enqueue(t, s, job(clock, "chat.update", "chat.update:1", 0), job(clock, "chat.update", "chat.update:2", 0))
	// A later enqueue that is due sooner pulls the pending job forward.
	enqueue(t, s, job(clock, "chat.update", "chat.update:3", time.Minute))
	enqueue(t, s, job(clock, "chat.update", "chat.update:3", time.Hour), job(clock, "chat.update", "chat.update:3", 0))
	jobs, err := s.Claim(ctx(t), "w", 10, time.Minute)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claimed %d jobs (err %v), want 3: one pending job per key, due at the earliest time", len(jobs), err)
	}
	// While a job runs, a change enqueues a new one: it must not be lost,
	// and it must not run beside the one under way.
	enqueue(t, s, job(clock, "chat.update", "chat.update:1", 0))
	if jobs, _ := s.Claim(ctx(t), "w2", 10, time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed %+v while a job of the same key runs", jobs)
	}
	if err := s.Finish(ctx(t), jobs[0], clock.Now(), errors.New("429")); err != nil {
		t.Fatalf("retry beside a newer pending job with the same key: %v", err)
	}
	jobs, _ = s.Claim(ctx(t), "w", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Key != "chat.update:1" {
		t.Fatalf("after retry: %+v, want exactly one chat.update:1", jobs)
	}
}

func testJobsLeaseExpiry(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	enqueue(t, s, job(clock, "call", "call:1", 0))
	dead, _ := s.Claim(ctx(t), "replica-a", 1, 30*time.Second)
	if len(dead) != 1 {
		t.Fatal("nothing claimed")
	}
	if next, _ := s.NextRunAt(ctx(t)); !next.Equal(clock.Now().Add(30 * time.Second)) {
		t.Errorf("NextRunAt %v: want the lease end", next)
	}
	clock.Advance(29 * time.Second)
	if jobs, _ := s.Claim(ctx(t), "replica-b", 1, 30*time.Second); len(jobs) != 0 {
		t.Fatal("claimed before the lease ran out")
	}
	clock.Advance(time.Second)
	taken, _ := s.Claim(ctx(t), "replica-b", 1, 30*time.Second)
	if len(taken) != 1 || taken[0].ID != dead[0].ID || taken[0].Attempts != 2 {
		t.Fatalf("after the lease ran out: %+v", taken)
	}
	// The first worker wakes up late: its finish must change nothing.
	if err := s.Finish(ctx(t), dead[0], time.Time{}, nil); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("stale worker's Finish: %v, want ErrConflict", err)
	}
	if err := s.Finish(ctx(t), taken[0], time.Time{}, nil); err != nil {
		t.Errorf("new holder's Finish: %v", err)
	}
}

func testJobsConcurrentClaims(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	const n = 200
	var all []bot.Job
	for i := range n {
		all = append(all, job(clock, "k", fmt.Sprint("key", i), 0))
	}
	enqueue(t, s, all...)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := s.Claim(ctx(t), fmt.Sprint("w", w), 7, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					return
				}
				for _, j := range jobs {
					mu.Lock()
					if prev, dup := seen[j.ID]; dup {
						errs <- fmt.Errorf("job %d claimed by %s and w%d", j.ID, prev, w)
					}
					seen[j.ID] = fmt.Sprint("w", w)
					mu.Unlock()
					if err := s.Finish(ctx(t), j, time.Time{}, nil); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != n {
		t.Errorf("%d jobs ran, want %d", len(seen), n)
	}
}

func testJobsWake(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	// Drain a signal left by set-up.
	select {
	case <-s.Wake():
	default:
	}
	enqueue(t, s, job(clock, "k", "", 0))
	select {
	case <-s.Wake():
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after a commit that enqueued a job")
	}
}

func testJobsQueueStats(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	if st, err := s.QueueStats(ctx(t)); err != nil || st.Due != 0 || !st.OldestDue.IsZero() {
		t.Fatalf("empty queue: %+v, %v", st, err)
	}
	first := clock.Now()
	enqueue(t, s, job(clock, "a", "", 0))
	clock.Advance(10 * time.Second)
	enqueue(t, s, job(clock, "b", "", 0), job(clock, "later", "", time.Hour))
	st, err := s.QueueStats(ctx(t))
	if err != nil || st.Due != 2 || !st.OldestDue.Equal(first) {
		t.Fatalf("two due, one later: %+v, %v; want 2 due since %v", st, err, first)
	}
	// Claimed work is not waiting, until its lease runs out.
	if _, err := s.Claim(ctx(t), "w1", 10, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.QueueStats(ctx(t)); st.Due != 0 {
		t.Fatalf("claimed work counted as waiting: %+v", st)
	}
	clock.Advance(31 * time.Second)
	if st, _ := s.QueueStats(ctx(t)); st.Due != 2 || !st.OldestDue.Equal(first.Add(40*time.Second)) {
		t.Fatalf("work of a dead worker: %+v, want 2 due since its lease ran out", st)
	}
}

// testJobsDeadWorkerKeepsItsKey: a worker dies running a keyed job while a
// change has queued the next job of that key. When the lease runs out, the
// dead worker's job is taken over first and alone; the queued one waits for
// it, on one replica or several claiming at once.
func testJobsDeadWorkerKeepsItsKey(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	enqueue(t, s, job(clock, "chat.sync", "chat:1", 0))
	dead, _ := s.Claim(ctx(t), "replica-a", 10, 30*time.Second)
	if len(dead) != 1 {
		t.Fatalf("claimed %d, want 1", len(dead))
	}
	enqueue(t, s, job(clock, "chat.sync", "chat:1", 0)) // a change while it runs
	clock.Advance(31 * time.Second)

	var mu sync.Mutex
	var claimed []bot.Job
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			jobs, err := s.Claim(ctx(t), fmt.Sprint("replica-", w), 10, 30*time.Second)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			claimed = append(claimed, jobs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(claimed) != 1 || claimed[0].ID != dead[0].ID {
		t.Fatalf("after the lease ran out: claimed %+v, want only the dead worker's job", claimed)
	}
	if err := s.Finish(ctx(t), claimed[0], time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	next, _ := s.Claim(ctx(t), "replica-b", 10, 30*time.Second)
	if len(next) != 1 || next[0].ID == dead[0].ID || next[0].Key != "chat:1" {
		t.Fatalf("after the takeover finished: %+v, want the queued job", next)
	}
}
