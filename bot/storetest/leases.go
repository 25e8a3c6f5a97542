package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// SQLite times leases by the store's clock, PostgreSQL by the database's, so
// the lease tests let time pass both ways and read an expiry by either.

// elapse lets d pass: on the harness clock and in real time.
func elapse(clock *Clock, d time.Duration) {
	clock.Advance(d)
	time.Sleep(d)
}

// untilNear reports whether until is ttl from now, by the harness clock or by
// the wall clock the database runs on.
func untilNear(clock *Clock, until time.Time, ttl time.Duration) bool {
	for _, now := range []time.Time{clock.Now(), time.Now()} {
		if d := until.Sub(now.Add(ttl)); d > -time.Minute && d < time.Minute {
			return true
		}
	}
	return false
}

func acquire(t *testing.T, s bot.Store, name, holder string, ttl time.Duration) bool {
	t.Helper()
	held, err := s.AcquireLease(ctx(t), name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%q, %q): %v", name, holder, err)
	}
	return held
}

func wantHolder(t *testing.T, s bot.Store, name, want string) time.Time {
	t.Helper()
	holder, until, err := s.LeaseHolder(ctx(t), name)
	if err != nil {
		t.Fatalf("LeaseHolder(%q): %v", name, err)
	}
	if holder != want {
		t.Errorf("LeaseHolder(%q) = %q, want %q", name, holder, want)
	}
	if want == "" && !until.IsZero() {
		t.Errorf("LeaseHolder(%q) of a free lease: until %v, want zero", name, until)
	}
	return until
}

func testLeases(t *testing.T, h Harness) {
	t.Run("FreeIsTaken", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		wantHolder(t, s, "gateway", "")
		if !acquire(t, s, "gateway", "replica-a", time.Hour) {
			t.Fatal("a free lease was refused")
		}
		if until := wantHolder(t, s, "gateway", "replica-a"); !untilNear(clock, until, time.Hour) {
			t.Errorf("until %v: want an hour from now", until)
		}
		if !acquire(t, s, "imap", "replica-b", time.Hour) {
			t.Error("another name's lease was refused")
		}
		if _, err := s.AcquireLease(ctx(t), "gateway", "", time.Hour); err == nil {
			t.Error("a lease for nobody: no error")
		}
		if _, err := s.AcquireLease(ctx(t), "other", "replica-a", 0); err == nil {
			t.Error("a lease without a ttl: no error")
		}
	})
	t.Run("HeldIsRefused", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		acquire(t, s, "gateway", "replica-a", time.Hour)
		clock.Advance(59 * time.Minute)
		if acquire(t, s, "gateway", "replica-b", time.Hour) {
			t.Error("a held lease was taken by another holder")
		}
		wantHolder(t, s, "gateway", "replica-a")
	})
	t.Run("RenewalExtends", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		acquire(t, s, "gateway", "replica-a", 200*time.Millisecond)
		first := wantHolder(t, s, "gateway", "replica-a")
		if !acquire(t, s, "gateway", "replica-a", time.Hour) {
			t.Fatal("the holder's renewal was refused")
		}
		if renewed := wantHolder(t, s, "gateway", "replica-a"); !renewed.After(first.Add(30*time.Minute)) || !untilNear(clock, renewed, time.Hour) {
			t.Errorf("renewal moved until from %v to %v: want an hour from now", first, renewed)
		}
		elapse(clock, 300*time.Millisecond)
		if acquire(t, s, "gateway", "replica-b", time.Hour) {
			t.Error("taken after the first ttl although renewed")
		}
		wantHolder(t, s, "gateway", "replica-a")
	})
	t.Run("ReleaseFrees", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		acquire(t, s, "gateway", "replica-a", time.Hour)
		if err := s.ReleaseLease(ctx(t), "gateway", "replica-a"); err != nil {
			t.Fatal(err)
		}
		wantHolder(t, s, "gateway", "")
		if err := s.ReleaseLease(ctx(t), "gateway", "replica-a"); err != nil {
			t.Errorf("releasing a free lease: %v", err)
		}
		if !acquire(t, s, "gateway", "replica-b", time.Hour) {
			t.Error("a released lease was refused")
		}
		wantHolder(t, s, "gateway", "replica-b")
	})
	t.Run("ReleaseByOtherDoesNothing", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		acquire(t, s, "gateway", "replica-a", time.Hour)
		if err := s.ReleaseLease(ctx(t), "gateway", "replica-b"); err != nil {
			t.Fatal(err)
		}
		wantHolder(t, s, "gateway", "replica-a")
		if acquire(t, s, "gateway", "replica-b", time.Hour) {
			t.Error("taken after a release by a non-holder")
		}
		if err := s.ReleaseLease(ctx(t), "never-taken", "replica-b"); err != nil {
			t.Errorf("releasing an unknown lease: %v", err)
		}
	})
	t.Run("ExpiryFrees", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		acquire(t, s, "gateway", "replica-a", 200*time.Millisecond)
		elapse(clock, 300*time.Millisecond)
		wantHolder(t, s, "gateway", "")
		if !acquire(t, s, "gateway", "replica-b", time.Hour) {
			t.Fatal("an expired lease was refused")
		}
		// The old holder wakes up late: it may not take the lease back.
		if acquire(t, s, "gateway", "replica-a", time.Hour) {
			t.Error("the expired holder took the lease back from its successor")
		}
		wantHolder(t, s, "gateway", "replica-b")
		// Expired and untaken, it is its old holder's for the asking.
		acquire(t, s, "imap", "replica-a", 200*time.Millisecond)
		elapse(clock, 300*time.Millisecond)
		if !acquire(t, s, "imap", "replica-a", time.Hour) {
			t.Error("the expired holder could not take its untaken lease again")
		}
	})
	t.Run("ConcurrentAcquirers", func(t *testing.T) {
		clock := NewClock()
		s := h.New(t, clock)
		race := func(name string) {
			t.Helper()
			const n = 20
			start := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var winners []string
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					holder := fmt.Sprint("replica-", i)
					<-start
					held, err := s.AcquireLease(ctx(t), name, holder, time.Hour)
					if err != nil {
						t.Errorf("%s: %v", holder, err)
					}
					if held {
						mu.Lock()
						winners = append(winners, holder)
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("%s: %d acquirers hold the lease (%v), want exactly one", name, len(winners), winners)
			}
			wantHolder(t, s, name, winners[0])
		}
		for i := range 3 {
			race(fmt.Sprint("free-", i))
		}
		// Taking over an expired lease is the other path to the row.
		acquire(t, s, "expired", "dead-replica", 200*time.Millisecond)
		elapse(clock, 300*time.Millisecond)
		race("expired")
	})
	t.Run("LeaderHandover", func(t *testing.T) { testLeaderHandover(t, h) })
}

// testLeaderHandover runs two bot.RunLeader on the store: one leads at a
// time, and when the leader shuts down the other takes over.
func testLeaderHandover(t *testing.T, h Harness) {
	s := h.New(t, NewClock())
	var running, overlaps atomic.Int32
	started := make(chan string, 10)
	stops := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, holder := range []string{"replica-a", "replica-b"} {
		c, cancel := context.WithCancel(context.Background())
		stops[holder] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := bot.LeaderConfig{Name: "gateway", Holder: holder, TTL: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)}
			bot.RunLeader(c, s, cfg, func(ctx context.Context) error {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer running.Add(-1)
				started <- holder
				<-ctx.Done()
				return nil
			})
		}()
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	}()
	next := func() string {
		t.Helper()
		select {
		case holder := <-started:
			return holder
		case <-time.After(10 * time.Second):
			t.Fatal("nobody leads")
			return ""
		}
	}
	first := next()
	wantHolder(t, s, "gateway", first)
	stops[first]()
	second := next()
	if second == first {
		t.Fatalf("%s led again after it shut down", first)
	}
	wantHolder(t, s, "gateway", second)
	if n := overlaps.Load(); n != 0 {
		t.Errorf("both replicas led at once %d times", n)
	}
}
