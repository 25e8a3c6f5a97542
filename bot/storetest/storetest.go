// Package storetest is the contract every bot.Store passes: one suite, run by
// each store's tests against a real database (SQLite file, PostgreSQL server).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// Harness is what a store's test gives the suite.
type Harness struct {
	// New returns an empty, migrated store whose clock is clock.
	New func(t *testing.T, clock bot.Clock) bot.Store
	// Exec runs raw SQL on the store's database, to play an attacker who
	// edits rows behind the application's back.
	Exec func(t *testing.T, s bot.Store, query string, args ...any) error
	// Placeholder renders the n-th (1-based) query parameter.
	Placeholder func(n int) string
}

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed, microsecond-aligned moment.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves time forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Exercise runs the whole contract.
func Exercise(t *testing.T, h Harness) {
	t.Run("CreateAndRead", func(t *testing.T) { testCreateAndRead(t, h) })
	t.Run("OneOpenIncidentPerKey", func(t *testing.T) { testOneOpenIncidentPerKey(t, h) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, h) })
	t.Run("Listing", func(t *testing.T) { testListing(t, h) })
	t.Run("TimelineAppendOnly", func(t *testing.T) { testTimelineAppendOnly(t, h) })
	t.Run("Threads", func(t *testing.T) { testThreads(t, h) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, h) })
	t.Run("JobsClaimAndFinish", func(t *testing.T) { testJobsClaimAndFinish(t, h) })
	t.Run("JobsComplete", func(t *testing.T) { testJobsComplete(t, h) })
	t.Run("JobsCoalesceByKey", func(t *testing.T) { testJobsCoalesce(t, h) })
	t.Run("JobsLeaseExpiry", func(t *testing.T) { testJobsLeaseExpiry(t, h) })
	t.Run("JobsDeadWorkerKeepsItsKey", func(t *testing.T) { testJobsDeadWorkerKeepsItsKey(t, h) })
	t.Run("JobsConcurrentClaims", func(t *testing.T) { testJobsConcurrentClaims(t, h) })
	t.Run("JobsWake", func(t *testing.T) { testJobsWake(t, h) })
	t.Run("JobsQueueStats", func(t *testing.T) { testJobsQueueStats(t, h) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, h) })
	exerciseEscalation(t, h)
	exerciseBot(t, h)
	exerciseKnowledge(t, h)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustUpdate(t *testing.T, s bot.Store, fn func(bot.Tx) error) {
	t.Helper()
	if err := s.Update(ctx(t), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func newIncident(clock bot.Clock, service, fp string) bot.Incident {
	return bot.Incident{Service: service, Fingerprint: fp, Title: "db01 ディスク使用率 95%", Status: bot.StatusTriggered,
		Severity: bot.Sev2, CreatedAt: clock.Now()}
}

func testCreateAndRead(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	var inc bot.Incident
	mustUpdate(t, s, func(tx bot.Tx) error {
		inc = newIncident(clock, "web", "fp1")
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		if inc.ID == 0 || inc.Number == 0 {
			return fmt.Errorf("CreateIncident left id %d number %d", inc.ID, inc.Number)
		}
		acked := clock.Now().Add(90 * time.Second)
		inc.Status, inc.AcknowledgedAt, inc.Owner, inc.AlertCount = bot.StatusAcknowledged, &acked, "tanaka", 1
		inc.Impact, inc.Urgency, inc.Priority = bot.High, bot.Medium, "P2"
		return tx.SaveIncident(inc)
	})
	got, err := s.Incident(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != inc.Title || got.Status != bot.StatusAcknowledged || got.Owner != "tanaka" || got.Priority != "P2" ||
		got.AlertCount != 1 || got.Number != inc.Number || got.Impact != bot.High || got.Urgency != bot.Medium {
		t.Errorf("read back %+v, want %+v", got, inc)
	}
	if !got.CreatedAt.Equal(clock.Now()) || got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(clock.Now().Add(90*time.Second)) || got.ResolvedAt != nil {
		t.Errorf("times: created %v acked %v resolved %v", got.CreatedAt, got.AcknowledgedAt, got.ResolvedAt)
	}
	if byNumber, err := s.IncidentByNumber(ctx(t), inc.Number); err != nil || byNumber.ID != inc.ID {
		t.Errorf("IncidentByNumber(%d): %+v, %v", inc.Number, byNumber, err)
	}
	if _, err := s.IncidentByNumber(ctx(t), inc.Number+1000); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("missing number: err %v, want ErrNotFound", err)
	}
	if _, err := s.Incident(ctx(t), inc.ID+1000); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("missing incident: err %v, want ErrNotFound", err)
	}
	err = s.Update(ctx(t), func(tx bot.Tx) error {
		_, err := tx.IncidentByNumber(inc.Number + 1000)
		return err
	})
	if !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("IncidentByNumber of a missing number: %v, want ErrNotFound", err)
	}
}

func testOneOpenIncidentPerKey(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	first := newIncident(clock, "web", "same")
	mustUpdate(t, s, func(tx bot.Tx) error { return tx.CreateIncident(&first) })
	err := s.Update(ctx(t), func(tx bot.Tx) error {
		dup := newIncident(clock, "web", "same")
		return tx.CreateIncident(&dup)
	})
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("second open incident for one key: err %v, want ErrConflict", err)
	}
	// Other services and fingerprints are other incidents.
	mustUpdate(t, s, func(tx bot.Tx) error {
		a, b := newIncident(clock, "api", "same"), newIncident(clock, "web", "other")
		return errors.Join(tx.CreateIncident(&a), tx.CreateIncident(&b))
	})
	// Once resolved, the key is free again.
	mustUpdate(t, s, func(tx bot.Tx) error {
		inc, err := tx.OpenIncidentFor("web", "same")
		if err != nil {
			return err
		}
		if inc.ID != first.ID {
			return fmt.Errorf("OpenIncidentFor found %d, want %d", inc.ID, first.ID)
		}
		now := clock.Now()
		inc.Status, inc.ResolvedAt = bot.StatusResolved, &now
		if err := tx.SaveIncident(inc); err != nil {
			return err
		}
		if _, err := tx.OpenIncidentFor("web", "same"); !errors.Is(err, bot.ErrNotFound) {
			return fmt.Errorf("resolved incident still open in its own tx: %v", err)
		}
		again := newIncident(clock, "web", "same")
		return tx.CreateIncident(&again)
	})
}

func testRollback(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	boom := errors.New("boom")
	err := s.Update(ctx(t), func(tx bot.Tx) error {
		inc := newIncident(clock, "web", "fp")
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		if err := tx.Enqueue(bot.Job{Kind: "k", RunAt: clock.Now(), MaxAttempts: 1, CreatedAt: clock.Now()}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	list, err := s.Incidents(ctx(t), bot.IncidentFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("after rollback: %d incidents (err %v), want none", len(list), err)
	}
	jobs, err := s.Claim(ctx(t), "w", 10, time.Minute)
	if err != nil || len(jobs) != 0 {
		t.Errorf("after rollback: %d jobs (err %v), want none", len(jobs), err)
	}
}

func testListing(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	var ids []int64
	for i := range 5 {
		mustUpdate(t, s, func(tx bot.Tx) error {
			inc := newIncident(clock, "web", fmt.Sprint("fp", i))
			if i%2 == 1 {
				now := clock.Now()
				inc.Status, inc.ResolvedAt = bot.StatusResolved, &now
			}
			ids = append(ids, 0)
			err := tx.CreateIncident(&inc)
			ids[len(ids)-1] = inc.ID
			return err
		})
	}
	for _, tc := range []struct {
		filter bot.IncidentFilter
		want   []int64
	}{
		{bot.IncidentFilter{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{bot.IncidentFilter{Status: "all", Limit: 2}, []int64{ids[4], ids[3]}},
		{bot.IncidentFilter{Status: "open"}, []int64{ids[4], ids[2], ids[0]}},
		{bot.IncidentFilter{Status: "resolved"}, []int64{ids[3], ids[1]}},
	} {
		list, err := s.Incidents(ctx(t), tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, inc := range list {
			got = append(got, inc.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.filter, got, tc.want)
		}
	}
	if _, err := s.Incidents(ctx(t), bot.IncidentFilter{Status: "bogus"}); err == nil {
		t.Error("status bogus: no error")
	}
	var walked []int64
	if err := s.EachIncident(ctx(t), func(inc bot.Incident) error { walked = append(walked, inc.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(walked) != fmt.Sprint(ids) {
		t.Errorf("EachIncident walked %v, want %v", walked, ids)
	}
}

// appendEvents writes n sealed events onto inc's chain.
func appendEvents(t *testing.T, s bot.Store, clock bot.Clock, inc *bot.Incident, n int) {
	mustUpdate(t, s, func(tx bot.Tx) error {
		cur, err := tx.IncidentByNumber(inc.Number)
		if err != nil {
			return err
		}
		for range n {
			e := bot.Event{IncidentID: cur.ID, Seq: cur.LastSeq + 1, Kind: bot.EventNote, Actor: "tanaka", Source: "slack",
				Text: fmt.Sprintf("note %d: 再起動しました", cur.LastSeq+1), At: clock.Now()}
			e.Seal(cur.LastHash)
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
			cur.LastSeq, cur.LastHash = e.Seq, e.Hash
		}
		*inc = cur
		return tx.SaveIncident(cur)
	})
}

func testTimelineAppendOnly(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := newIncident(clock, "web", "fp")
	mustUpdate(t, s, func(tx bot.Tx) error { return tx.CreateIncident(&inc) })
	appendEvents(t, s, clock, &inc, 3)
	clock.Advance(time.Minute)
	appendEvents(t, s, clock, &inc, 2)
	if tail, err := s.Timeline(ctx(t), inc.ID, 3); err != nil || len(tail) != 2 || tail[0].Seq != 4 {
		t.Errorf("timeline after seq 3: %+v, %v", tail, err)
	}
	events, err := s.Timeline(ctx(t), inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 5 || events[0].Seq != 1 || events[4].Seq != 5 || !events[4].At.Equal(clock.Now()) {
		t.Fatalf("timeline: %+v", events)
	}
	stored, err := s.Incident(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.VerifyChain(events, stored.LastHash); err != nil {
		t.Fatalf("untouched chain does not verify: %v", err)
	}
	ph := h.Placeholder
	if err := h.Exec(t, s, "UPDATE timeline_events SET text = 'edited' WHERE incident_id = "+ph(1), inc.ID); err == nil {
		t.Error("the database let a timeline event be edited")
	}
	if err := h.Exec(t, s, "DELETE FROM timeline_events WHERE incident_id = "+ph(1), inc.ID); err == nil {
		t.Error("the database let a timeline event be deleted")
	}
}

func testThreads(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := newIncident(clock, "web", "fp")
	mustUpdate(t, s, func(tx bot.Tx) error { return tx.CreateIncident(&inc) })
	th := bot.Thread{IncidentID: inc.ID, Platform: "slack", Channel: "C1", MessageID: "1700000000.000100", PostedSeq: 2}
	if err := s.SaveThread(ctx(t), th); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveThread(ctx(t), bot.Thread{IncidentID: inc.ID, Platform: "discord", Channel: "2001", MessageID: "99"}); err != nil {
		t.Fatal(err)
	}
	// A stale worker must not move the posted position back.
	th.PostedSeq = 1
	if err := s.SaveThread(ctx(t), th); err != nil {
		t.Fatal(err)
	}
	got, err := s.Threads(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Platform != "slack" || got[1].PostedSeq != 2 || got[1].MessageID != th.MessageID {
		t.Errorf("threads: %+v", got)
	}
	byMsg, err := s.ThreadByMessage(ctx(t), "slack", "C1", "1700000000.000100")
	if err != nil || byMsg.IncidentID != inc.ID || byMsg.PostedSeq != 2 {
		t.Errorf("thread by message: %+v, %v", byMsg, err)
	}
	for _, miss := range [][3]string{{"discord", "C1", "1700000000.000100"}, {"slack", "C2", "1700000000.000100"}, {"slack", "C1", "1"}} {
		if _, err := s.ThreadByMessage(ctx(t), miss[0], miss[1], miss[2]); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("thread by message %v: %v, want ErrNotFound", miss, err)
		}
	}
}

// testDeliveries: a delivery key is new once, from any number of callers at
// once.
func testDeliveries(t *testing.T, h Harness) {
	s := h.New(t, NewClock())
	var firsts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.Remember(ctx(t), "slack:event:Ev01")
			if err != nil {
				t.Error(err)
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d callers saw the key first, want 1", firsts)
	}
	if first, err := s.Remember(ctx(t), "slack:event:Ev02"); err != nil || !first {
		t.Errorf("another key: %v, %v", first, err)
	}
}
