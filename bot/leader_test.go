package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The leader tests run in synctest bubbles: time.Now and time.After, which
// RunLeader uses by default, are a fake clock there that jumps ahead whenever
// every goroutine waits, so a minute of leadership takes no real time.

const leaderTTL = 6 * time.Second

// fakeLeases is Leases in memory, timed by time.Now.
type fakeLeases struct {
	mu      sync.Mutex
	leases  map[string]fakeLease
	faults  map[string]error     // by holder: its calls fail with this
	hanging map[string]bool      // by holder: its calls block until their context ends
	renewed map[string]time.Time // by holder: its last successful AcquireLease
}

type fakeLease struct {
	holder string
	until  time.Time
}

func newFakeLeases() *fakeLeases {
	return &fakeLeases{leases: map[string]fakeLease{}, faults: map[string]error{}, hanging: map[string]bool{},
		renewed: map[string]time.Time{}}
}

func (f *fakeLeases) fault(ctx context.Context, holder string) error {
	f.mu.Lock()
	err, hang := f.faults[holder], f.hanging[holder]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *fakeLeases) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := f.fault(ctx, holder); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if l := f.leases[name]; l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	f.leases[name] = fakeLease{holder: holder, until: now.Add(ttl)}
	f.renewed[holder] = now
	return true, nil
}

func (f *fakeLeases) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := f.fault(ctx, holder); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leases[name].holder == holder {
		delete(f.leases, name)
	}
	return nil
}

func (f *fakeLeases) LeaseHolder(ctx context.Context, name string) (string, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.leases[name]; time.Now().Before(l.until) {
		return l.holder, l.until, nil
	}
	return "", time.Time{}, nil
}

func (f *fakeLeases) set(fn func(f *fakeLeases)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeLeases) lease(name string) fakeLease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[name]
}

func (f *fakeLeases) renewedAt(holder string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.renewed[holder]
}

// election is replicas running RunLeader on one fakeLeases.
type election struct {
	t       *testing.T
	leases  *fakeLeases
	start   time.Time
	leading atomic.Int32
	overlap atomic.Bool
}

func newElection(t *testing.T) *election {
	return &election{t: t, leases: newFakeLeases(), start: time.Now()}
}

// replica is one RunLeader and what its fn went through.
type replica struct {
	holder string
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changes []bool
	starts  []time.Time
	stops   []time.Time
	causes  []error // why fn's context ended, per run
}

func (r *replica) record(fn func(r *replica)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r)
}

func (r *replica) runs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts)
}

func (r *replica) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts) > len(r.stops)
}

func (r *replica) history() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.changes)
}

// leaderRuns is a copy of what a replica went through.
type leaderRuns struct {
	changes       []bool
	starts, stops []time.Time
	causes        []error
}

func (r *replica) snapshot() leaderRuns {
	r.mu.Lock()
	defer r.mu.Unlock()
	return leaderRuns{changes: slices.Clone(r.changes), starts: slices.Clone(r.starts), stops: slices.Clone(r.stops),
		causes: slices.Clone(r.causes)}
}

// waitForCancel is a leader's work: it runs until its context ends.
func waitForCancel(ctx context.Context, run int) error {
	<-ctx.Done()
	return ctx.Err()
}

// run starts a replica whose fn does body.
func (e *election) run(holder string, body func(ctx context.Context, run int) error) *replica {
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{holder: holder, cancel: cancel, done: make(chan struct{})}
	cfg := LeaderConfig{Name: "gateway", Holder: holder, TTL: leaderTTL, Logger: slog.New(slog.DiscardHandler),
		OnChange: func(leader bool) { r.record(func(r *replica) { r.changes = append(r.changes, leader) }) }}
	go func() {
		defer close(r.done)
		RunLeader(ctx, e.leases, cfg, func(ctx context.Context) error {
			if e.leading.Add(1) > 1 {
				e.overlap.Store(true)
			}
			var run int
			r.record(func(r *replica) { r.starts, run = append(r.starts, time.Now()), len(r.starts) })
			err := body(ctx, run)
			r.record(func(r *replica) {
				r.stops, r.causes = append(r.stops, time.Now()), append(r.causes, context.Cause(ctx))
			})
			e.leading.Add(-1)
			return err
		})
	}()
	e.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	synctest.Wait()
	return r
}

// at lets the fake clock run to d after the election started.
func (e *election) at(d time.Duration) {
	time.Sleep(time.Until(e.start.Add(d)))
	synctest.Wait()
}

func (e *election) since(t time.Time) time.Duration { return t.Sub(e.start) }

func (e *election) checkOneAtATime() {
	e.t.Helper()
	if e.overlap.Load() {
		e.t.Error("two replicas led at once")
	}
}

func TestLeaderOneAtATimeAndHandover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.run("replica-a", waitForCancel)
		b := e.run("replica-b", waitForCancel)
		e.at(time.Minute + 100*time.Millisecond)
		if !a.running() || a.runs() != 1 || b.runs() != 0 {
			t.Fatalf("after a minute: a ran %d times (running %v), b %d; want a leading throughout", a.runs(), a.running(), b.runs())
		}
		// a shuts down: it releases the lease and b takes it at its next
		// attempt, without waiting for the lease to expire.
		stopped := time.Now()
		a.cancel()
		<-a.done
		if holder := e.leases.lease("gateway").holder; holder == "replica-a" {
			t.Errorf("a shut down and still holds the lease")
		}
		e.at(e.since(stopped) + leaderTTL/4)
		if !b.running() {
			t.Fatalf("b does not lead %v after a shut down", leaderTTL/4)
		}
		e.checkOneAtATime()
		if got := a.history(); got != "[true false]" {
			t.Errorf("a's OnChange: %s, want [true false]", got)
		}
		if got := b.history(); got != "[true]" {
			t.Errorf("b's OnChange: %s, want [true]", got)
		}
	})
}

// A holder that stops renewing (dead, or cut off from the database) loses
// the lease when it expires; it stops its own work before that.
func TestLeaderTakeoverAfterExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.run("replica-a", waitForCancel)
		b := e.run("replica-b", waitForCancel)
		e.at(10 * time.Second)
		e.leases.set(func(f *fakeLeases) { f.hanging["replica-a"] = true })
		lastRenewal := e.leases.renewedAt("replica-a")
		expiry := e.leases.lease("gateway").until
		e.at(time.Minute)
		ah, bh := a.snapshot(), b.snapshot()
		if len(ah.starts) != 1 || len(ah.stops) != 1 || len(bh.starts) != 1 || len(bh.stops) != 0 {
			t.Fatalf("a ran %d times, b %d: want b to take over from a", len(ah.starts), len(bh.starts))
		}
		e.checkOneAtATime()
		if stop := ah.stops[0]; stop.After(lastRenewal.Add(leaderTTL*2/3)) || !errors.Is(ah.causes[0], errLeaseOverdue) {
			t.Errorf("a stopped %v after its last renewal (%v), want within %v", stop.Sub(lastRenewal), ah.causes[0], leaderTTL*2/3)
		}
		if start := bh.starts[0]; start.Before(expiry) || start.After(expiry.Add(leaderTTL/4)) {
			t.Errorf("b took over %v after the lease expired, want within %v", start.Sub(expiry), leaderTTL/4)
		}
	})
}

func TestLeaderRenewalRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.run("replica-a", waitForCancel)
		e.at(7 * time.Second)
		stolen := time.Now()
		e.leases.set(func(f *fakeLeases) { f.leases["gateway"] = fakeLease{holder: "intruder", until: stolen.Add(time.Hour)} })
		e.at(e.since(stolen) + leaderTTL/3)
		if h := a.snapshot(); len(h.stops) != 1 || !errors.Is(h.causes[0], errLeaseRefused) {
			t.Fatalf("a still leads (causes %v) %v after its lease went to another holder", h.causes, leaderTTL/3)
		}
		e.at(time.Minute)
		if a.runs() != 1 {
			t.Fatalf("a led %d times while another held the lease", a.runs())
		}
		freed := time.Now()
		e.leases.set(func(f *fakeLeases) { delete(f.leases, "gateway") })
		e.at(e.since(freed) + leaderTTL/4)
		if !a.running() || a.runs() != 2 {
			t.Fatalf("a did not lead again once the lease was free: %d runs", a.runs())
		}
		if got := a.history(); got != "[true false true]" {
			t.Errorf("OnChange: %s, want [true false true]", got)
		}
	})
}

func TestLeaderRenewalErrors(t *testing.T) {
	down := errors.New("database unavailable")
	t.Run("Blip", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newElection(t)
			a := e.run("replica-a", waitForCancel)
			e.at(time.Second)
			e.leases.set(func(f *fakeLeases) { f.faults["replica-a"] = down })
			e.at(leaderTTL/3 + 500*time.Millisecond) // one renewal failed
			e.leases.set(func(f *fakeLeases) { delete(f.faults, "replica-a") })
			e.at(time.Minute)
			if !a.running() || a.runs() != 1 {
				t.Errorf("one failed renewal stopped the leader: %d runs, running %v", a.runs(), a.running())
			}
		})
	})
	t.Run("Outage", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newElection(t)
			a := e.run("replica-a", waitForCancel)
			e.at(10 * time.Second)
			e.leases.set(func(f *fakeLeases) { f.faults["replica-a"] = down })
			lastRenewal := e.leases.renewedAt("replica-a")
			expiry := e.leases.lease("gateway").until
			deadline := lastRenewal.Add(leaderTTL * 2 / 3)
			e.at(e.since(deadline) - time.Millisecond)
			if !a.running() {
				t.Fatalf("a stopped %v after its last renewal, before its deadline", time.Since(lastRenewal))
			}
			e.at(e.since(deadline) + time.Millisecond)
			h := a.snapshot()
			if len(h.stops) != 1 || !errors.Is(h.causes[0], errLeaseOverdue) {
				t.Fatalf("a still leads (causes %v) %v after its last renewal", h.causes, time.Since(lastRenewal))
			}
			if !h.stops[0].Before(expiry) {
				t.Errorf("a stopped at %v, not before its lease expired at %v", h.stops[0], expiry)
			}
			// Acquiring fails too until the database is back.
			e.at(time.Minute)
			back := time.Now()
			e.leases.set(func(f *fakeLeases) { delete(f.faults, "replica-a") })
			e.at(e.since(back) + leaderTTL/4)
			if !a.running() || a.runs() != 2 {
				t.Errorf("a did not lead again once the database was back: %d runs", a.runs())
			}
		})
	})
}

// fn returning by itself, with an error or without, releases the lease at
// once and is run again after TTL/4.
func TestLeaderRetriesFn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.run("replica-a", func(ctx context.Context, run int) error {
			switch run {
			case 0:
				time.Sleep(5 * time.Second)
				return errors.New("gateway closed the session")
			case 1:
				time.Sleep(5 * time.Second)
				return nil
			}
			return waitForCancel(ctx, run)
		})
		e.at(5*time.Second + time.Millisecond)
		if a.running() {
			t.Fatal("fn did not return")
		}
		if holder, _, _ := e.leases.LeaseHolder(context.Background(), "gateway"); holder != "" {
			t.Errorf("after fn returned the lease is still %q's", holder)
		}
		e.at(time.Minute)
		h := a.snapshot()
		if len(h.starts) != 3 || len(h.stops) != 2 {
			t.Fatalf("fn ran %d times, want 3: once failing, once returning nil, then for good", len(h.starts))
		}
		for i, stop := range h.stops {
			if gap := h.starts[i+1].Sub(stop); gap > leaderTTL/4 {
				t.Errorf("run %d started %v after run %d returned, want within %v", i+2, gap, i+1, leaderTTL/4)
			}
		}
		if got := fmt.Sprint(h.changes); got != "[true false true false true]" {
			t.Errorf("OnChange: %s, want [true false true false true]", got)
		}
	})
}

// On shutdown fn is cancelled and waited for, then the lease is released.
func TestLeaderShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.run("replica-a", func(ctx context.Context, run int) error {
			<-ctx.Done()
			time.Sleep(time.Second) // closing the gateway session
			return nil
		})
		e.at(10 * time.Second)
		a.cancel()
		e.at(10*time.Second + 500*time.Millisecond)
		select {
		case <-a.done:
			t.Fatal("RunLeader returned before fn did")
		default:
		}
		if holder := e.leases.lease("gateway").holder; holder != "replica-a" {
			t.Errorf("lease released while fn still runs: holder %q", holder)
		}
		e.at(11 * time.Second)
		select {
		case <-a.done:
		default:
			t.Fatal("RunLeader did not return after fn did")
		}
		if holder := e.leases.lease("gateway").holder; holder != "" {
			t.Errorf("after shutdown the lease is %q's, want released", holder)
		}
		if got := a.history(); got != "[true false]" {
			t.Errorf("OnChange: %s, want [true false]", got)
		}
	})
}
