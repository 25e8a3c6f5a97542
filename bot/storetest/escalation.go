package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func exerciseEscalation(t *testing.T, h Harness) {
	t.Run("EscalationState", func(t *testing.T) { testEscalationState(t, h) })
	t.Run("CallAttempts", func(t *testing.T) { testCallAttempts(t, h) })
	t.Run("EscalationReadsOwnWrites", func(t *testing.T) { testEscalationReadsOwnWrites(t, h) })
	t.Run("RecordCalls", func(t *testing.T) { testRecordCalls(t, h) })
	t.Run("PhonePacing", func(t *testing.T) { testPhonePacing(t, h) })
	t.Run("Overrides", func(t *testing.T) { testOverrides(t, h) })
}

func createIncident(t *testing.T, s bot.Store, clock bot.Clock, fp string) bot.Incident {
	t.Helper()
	var inc bot.Incident
	mustUpdate(t, s, func(tx bot.Tx) error {
		inc = newIncident(clock, "web", fp)
		return tx.CreateIncident(&inc)
	})
	return inc
}

func testEscalationState(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := createIncident(t, s, clock, "esc")
	if _, err := s.Escalation(ctx(t), inc.ID); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("escalation before any: %v, want ErrNotFound", err)
	}
	want := bot.Escalation{IncidentID: inc.ID, Policy: "infra", Phase: bot.PhaseChat,
		NextDue: clock.Now().Add(5 * time.Minute), UpdatedAt: clock.Now()}
	mustUpdate(t, s, func(tx bot.Tx) error {
		if _, err := tx.IncidentByID(inc.ID); err != nil {
			return fmt.Errorf("IncidentByID: %w", err)
		}
		return tx.SaveEscalation(want)
	})
	// Saving again moves it on in place.
	want.Phase, want.Round, want.Step, want.Index, want.NextDue = bot.PhaseCalling, 1, 2, 3, clock.Now().Add(time.Minute)
	mustUpdate(t, s, func(tx bot.Tx) error {
		got, err := tx.Escalation(inc.ID)
		if err != nil || got.Phase != bot.PhaseChat {
			return fmt.Errorf("in tx: %+v, %v", got, err)
		}
		return tx.SaveEscalation(want)
	})
	got, err := s.Escalation(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != want.Phase || got.Round != 1 || got.Step != 2 || got.Index != 3 || got.Policy != "infra" ||
		!got.NextDue.Equal(want.NextDue) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	err = s.Update(ctx(t), func(tx bot.Tx) error {
		_, err := tx.IncidentByID(inc.ID + 1000)
		return err
	})
	if !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("IncidentByID of a missing id: %v, want ErrNotFound", err)
	}
}

func testCallAttempts(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := createIncident(t, s, clock, "calls")
	first := bot.CallAttempt{ID: "att-1", IncidentID: inc.ID, Contact: "tanaka", Phone: "+819011112222",
		Status: bot.AttemptPending, CreatedAt: clock.Now()}
	second := bot.CallAttempt{ID: "att-2", IncidentID: inc.ID, Index: 1, Contact: "suzuki", Phone: "+819033334444",
		Status: bot.AttemptPending, CreatedAt: clock.Now()}
	mustUpdate(t, s, func(tx bot.Tx) error {
		if err := tx.SaveCallAttempt(second); err != nil {
			return err
		}
		return tx.SaveCallAttempt(first)
	})
	placed, ended := clock.Now().Add(time.Second), clock.Now().Add(40*time.Second)
	mustUpdate(t, s, func(tx bot.Tx) error {
		a, err := tx.CallAttempt("att-1")
		if err != nil {
			return err
		}
		a.Status, a.CallID, a.PlacedAt, a.SlotAt = bot.AttemptRinging, "CA123", &placed, &placed
		if err := tx.SaveCallAttempt(a); err != nil {
			return err
		}
		a.Status, a.EndedAt = bot.AttemptNoAnswer, &ended
		return tx.SaveCallAttempt(a)
	})
	got, err := s.CallAttempt(ctx(t), "att-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bot.AttemptNoAnswer || got.CallID != "CA123" || got.Contact != "tanaka" || got.Phone != first.Phone ||
		got.PlacedAt == nil || !got.PlacedAt.Equal(placed) || got.EndedAt == nil || !got.EndedAt.Equal(ended) ||
		got.SlotAt == nil || !got.SlotAt.Equal(placed) {
		t.Errorf("read back %+v", got)
	}
	all, err := s.CallAttempts(ctx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "att-1" || all[1].ID != "att-2" || all[1].PlacedAt != nil {
		t.Errorf("attempts in call order: %+v", all)
	}
	if _, err := s.CallAttempt(ctx(t), "nope"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("unknown attempt: %v, want ErrNotFound", err)
	}
	err = s.Update(ctx(t), func(tx bot.Tx) error {
		_, err := tx.CallAttempt("nope")
		return err
	})
	if !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("unknown attempt in tx: %v, want ErrNotFound", err)
	}
}

// testPhonePacing takes turns from many goroutines at once, as replicas do:
// every turn is distinct and at least the interval after the one before.
func testPhonePacing(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	const n, interval = 20, 250 * time.Millisecond
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var slot time.Time
			err := s.Update(ctx(t), func(tx bot.Tx) error {
				var err error
				slot, err = tx.ReservePhoneSlot("AC1", clock.Now(), interval)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			slots = append(slots, slot)
			mu.Unlock()
		}()
	}
	wg.Wait()
	seen := map[time.Duration]bool{}
	for _, sl := range slots {
		off := sl.Sub(clock.Now())
		if off < 0 || off%interval != 0 || off >= n*interval || seen[off] {
			t.Errorf("slot at +%v: want distinct multiples of %v in [0, %v)", off, interval, n*interval)
		}
		seen[off] = true
	}
	// An idle account starts again at now, not at its old backlog.
	clock.Advance(time.Hour)
	mustUpdate(t, s, func(tx bot.Tx) error {
		slot, err := tx.ReservePhoneSlot("AC1", clock.Now(), interval)
		if err == nil && !slot.Equal(clock.Now()) {
			err = fmt.Errorf("slot after idle %v, want now %v", slot, clock.Now())
		}
		return err
	})
	// Another account has its own pace.
	mustUpdate(t, s, func(tx bot.Tx) error {
		slot, err := tx.ReservePhoneSlot("AC2", clock.Now(), interval)
		if err == nil && !slot.Equal(clock.Now()) {
			err = fmt.Errorf("other account's first slot %v, want now", slot)
		}
		return err
	})
}

func testOverrides(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	now := clock.Now()
	add := func(schedule, contact string, from, to time.Duration) bot.Override {
		o := bot.Override{Schedule: schedule, Contact: contact, Start: now.Add(from), End: now.Add(to), CreatedBy: "U1", CreatedAt: now}
		mustUpdate(t, s, func(tx bot.Tx) error { return tx.AddOverride(&o) })
		if o.ID == 0 {
			t.Fatalf("AddOverride left id 0")
		}
		return o
	}
	add("infra", "suzuki", -3*time.Hour, -time.Hour) // over before the window
	b := add("infra", "tanaka", time.Hour, 3*time.Hour)
	a := add("infra", "sato", -time.Hour, 2*time.Hour)
	c := add("db", "kato", 0, time.Hour)
	got, err := s.Overrides(ctx(t), "infra", now, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID || got[0].Contact != "sato" || !got[1].End.Equal(b.End) || got[0].CreatedBy != "U1" {
		t.Errorf("infra overrides: %+v", got)
	}
	all, err := s.Overrides(ctx(t), "", now, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != c.ID {
		t.Errorf("all schedules: %+v", all)
	}
	mustUpdate(t, s, func(tx bot.Tx) error {
		in, err := tx.OverridesAt(now.Add(90 * time.Minute))
		if err == nil && (len(in) != 2 || in[0].ID != a.ID || in[1].ID != b.ID) {
			err = fmt.Errorf("overrides in force at +90m: %+v, want sato's and tanaka's", in)
		}
		return err
	})
	bad := bot.Override{Schedule: "infra", Contact: "x", Start: now, End: now, CreatedAt: now}
	if err := s.Update(ctx(t), func(tx bot.Tx) error { return tx.AddOverride(&bad) }); err == nil {
		t.Errorf("an override that ends when it starts was stored")
	}
}

// testEscalationReadsOwnWrites: inside one transaction, with or without the
// LockIncidents hint, reads see the writes made before them.
func testEscalationReadsOwnWrites(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	for _, hint := range []bool{true, false} {
		inc := createIncident(t, s, clock, fmt.Sprint("own-", hint))
		mustUpdate(t, s, func(tx bot.Tx) error {
			if hint {
				if err := tx.LockIncidents([]int64{inc.ID}); err != nil {
					return err
				}
			}
			if _, err := tx.Escalation(inc.ID); !errors.Is(err, bot.ErrNotFound) {
				return fmt.Errorf("escalation before any: %v", err)
			}
			if as, err := tx.CallAttempts(inc.ID); err != nil || len(as) != 0 {
				return fmt.Errorf("attempts before any: %v, %v", as, err)
			}
			a := bot.CallAttempt{ID: fmt.Sprint("own-a-", hint), IncidentID: inc.ID, Contact: "tanaka", Phone: "+819011112222",
				Status: bot.AttemptPending, CreatedAt: clock.Now()}
			if err := tx.SaveCallAttempt(a); err != nil {
				return err
			}
			if err := tx.SaveEscalation(bot.Escalation{IncidentID: inc.ID, Policy: "p", Phase: bot.PhaseCalling, NextDue: clock.Now(), UpdatedAt: clock.Now()}); err != nil {
				return err
			}
			a.Status = bot.AttemptPlacing
			if err := tx.SaveCallAttempt(a); err != nil {
				return err
			}
			as, err := tx.CallAttempts(inc.ID)
			if err != nil || len(as) != 1 || as[0].Status != bot.AttemptPlacing {
				return fmt.Errorf("attempts after writing one twice: %+v, %v", as, err)
			}
			if got, err := tx.CallAttempt(a.ID); err != nil || got.Status != bot.AttemptPlacing {
				return fmt.Errorf("attempt by id: %+v, %v", got, err)
			}
			if e, err := tx.Escalation(inc.ID); err != nil || e.Phase != bot.PhaseCalling {
				return fmt.Errorf("escalation after writing it: %+v, %v", e, err)
			}
			return nil
		})
		got, err := s.CallAttempts(ctx(t), inc.ID)
		if err != nil || len(got) != 1 || got[0].Status != bot.AttemptPlacing {
			t.Errorf("hint %v: committed attempts %+v, %v", hint, got, err)
		}
		if e, err := s.Escalation(ctx(t), inc.ID); err != nil || e.Phase != bot.PhaseCalling {
			t.Errorf("hint %v: committed escalation %+v, %v", hint, e, err)
		}
	}
}

// testRecordCalls: recording placed calls outside the incident's lock fills
// only empty call ids, moves only "placing" on, and a later save of an
// attempt read before it does not empty the id again. A recorded call id
// finds its attempt.
func testRecordCalls(t *testing.T, h Harness) {
	clock := NewClock()
	s := h.New(t, clock)
	inc := createIncident(t, s, clock, "record")
	attempt := func(id string, status bot.AttemptStatus, callID string) bot.CallAttempt {
		return bot.CallAttempt{ID: id, IncidentID: inc.ID, Contact: "tanaka", Phone: "+819011112222", Status: status, CallID: callID, CreatedAt: clock.Now()}
	}
	mustUpdate(t, s, func(tx bot.Tx) error {
		for _, a := range []bot.CallAttempt{
			attempt("r-placing", bot.AttemptPlacing, ""),
			attempt("r-known", bot.AttemptRinging, "CAold"),
			attempt("r-ended", bot.AttemptNoAnswer, ""),
		} {
			if err := tx.SaveCallAttempt(a); err != nil {
				return err
			}
		}
		return nil
	})
	stale, err := s.CallAttempt(ctx(t), "r-placing")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordCalls(ctx(t), []bot.PlacedCall{
		{Attempt: "r-placing", CallID: "CA1"}, {Attempt: "r-known", CallID: "CA2"},
		{Attempt: "r-ended", CallID: "CA3"}, {Attempt: "r-missing", CallID: "CA4"},
	}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][2]string{
		"r-placing": {"ringing", "CA1"}, "r-known": {"ringing", "CAold"}, "r-ended": {"no_answer", "CA3"},
	} {
		a, err := s.CallAttempt(ctx(t), id)
		if err != nil || string(a.Status) != want[0] || a.CallID != want[1] {
			t.Errorf("%s: %s %q (%v), want %s %q", id, a.Status, a.CallID, err, want[0], want[1])
		}
	}
	// Each recorded call leads back to its attempt; other ids to none.
	for callID, want := range map[string]string{"CA1": "r-placing", "CAold": "r-known", "CA3": "r-ended"} {
		if a, err := s.CallAttemptByCall(ctx(t), callID); err != nil || a.ID != want {
			t.Errorf("CallAttemptByCall(%s) = %q, %v; want %s", callID, a.ID, err, want)
		}
	}
	for _, callID := range []string{"CA2", "CA4", ""} {
		if a, err := s.CallAttemptByCall(ctx(t), callID); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("CallAttemptByCall(%q) = %q, %v; want ErrNotFound", callID, a.ID, err)
		}
	}
	// A transaction that read the attempt before the call id came ends it.
	stale.Status = bot.AttemptCanceled
	mustUpdate(t, s, func(tx bot.Tx) error { return tx.SaveCallAttempt(stale) })
	if a, _ := s.CallAttempt(ctx(t), "r-placing"); a.Status != bot.AttemptCanceled || a.CallID != "CA1" {
		t.Errorf("after a stale save: %s %q, want canceled with its call id kept", a.Status, a.CallID)
	}
}
