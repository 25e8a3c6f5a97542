package escalation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func sequential(ack time.Duration, call ...string) Policy {
	return Policy{ID: "infra", AckTimeout: ack, RepeatPause: 30 * time.Second,
		Steps: []Step{{Call: call, RingTimeout: 30 * time.Second}}}
}

// The whole story: nobody acks in chat → calls in order → the keypad decides.
func TestEngineSequentialStory(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(5*time.Minute, "tanaka", "suzuki", "sato"))
		inc := w.ingest("disk", bot.Sev2)
		if len(w.chat.Posts) != 1 {
			t.Fatalf("chat posts %d, want the root message", len(w.chat.Posts))
		}
		w.advance(5*time.Minute - time.Second)
		w.wantCalled() // the chat window is not over
		w.advance(time.Second)
		w.wantCalled("田中")
		if c := w.phone.calls[0]; c.To != tanaka.Phone || c.Locale != "ja" || c.ServiceName != "Web shop" || c.RingFor != 30*time.Second || c.Incident.Number != inc.Number {
			t.Errorf("call request %+v", c)
		}
		w.status(inc, 0, bot.CallRinging, "")
		w.wantCalled("田中")
		w.status(inc, 0, bot.CallNoAnswer, "")
		w.wantCalled("田中", "鈴木")
		if r := w.press(inc, 1, "2"); r.Outcome != bot.KeypressPassed {
			t.Errorf("press 2: %+v", r)
		}
		w.wantCalled("田中", "鈴木", "佐藤")
		if r := w.press(inc, 2, "7"); r.Outcome != bot.KeypressAgain {
			t.Errorf("press 7: %+v", r)
		}
		w.wantCalled("田中", "鈴木", "佐藤")
		r := w.press(inc, 2, "1")
		if r.Outcome != bot.KeypressAccepted || r.Incident.Status != bot.StatusAcknowledged || r.Locale != "en" {
			t.Errorf("press 1: %+v", r)
		}
		got := w.incident(inc)
		if got.Status != bot.StatusAcknowledged || got.Owner != "sato" {
			t.Errorf("incident %s owner %q, want acknowledged by sato", got.Status, got.Owner)
		}
		if e := w.escalation(inc); e.Phase != bot.PhaseStopped {
			t.Errorf("escalation %s, want stopped", e.Phase)
		}
		w.wantTimeline(inc,
			"opened prom/alertmanager: db01 ディスク使用率 95%",
			"escalation /system: nobody acknowledged in chat within 5m0s: calling by phone",
			"call /phone: calling 田中 (+81********22)",
			"call tanaka/phone: 田中 did not answer",
			"call /phone: calling 鈴木 (+81********44)",
			"call suzuki/phone: 鈴木 passed it to the next person",
			"call /phone: calling 佐藤 (+81********66)",
			"acknowledged sato/phone: acknowledged",
		)
		var statuses []bot.AttemptStatus
		for i := range 3 {
			statuses = append(statuses, w.attempt(inc, i).Status)
		}
		if !slices.Equal(statuses, []bot.AttemptStatus{bot.AttemptNoAnswer, bot.AttemptPassed, bot.AttemptAccepted}) {
			t.Errorf("attempts %v", statuses)
		}
		subjects := w.mail.subjects()
		if len(subjects) != 2 || !strings.Contains(subjects[0], "calling on-call by phone") || !strings.Contains(subjects[1], "accepted by phone") {
			t.Errorf("status mail %q", subjects)
		}
		if body := w.mail.sent[1].Body; !strings.Contains(body, "佐藤 accepted INC-") || w.mail.sent[1].To[0] != "admin@example.com" {
			t.Errorf("accept mail to %v: %s", w.mail.sent[1].To, body)
		}
		// The chat saw the calls and the ack.
		if n := len(w.chat.Updates); n == 0 {
			t.Errorf("no chat updates for the calls")
		}

		// Replays and late reports change nothing.
		before := len(w.timeline(inc))
		if r := w.press(inc, 2, "1"); r.Outcome != bot.KeypressAccepted {
			t.Errorf("replayed 1: %+v", r)
		}
		w.status(inc, 2, bot.CallCompleted, "human")
		w.status(inc, 0, bot.CallNoAnswer, "")
		if r := w.press(inc, 0, "1"); r.Outcome != bot.KeypressTaken || r.TakenBy != "佐藤" {
			t.Errorf("a late 1 from the first callee: %+v, want taken by 佐藤", r)
		}
		if r := w.press(inc, 0, "2"); r.Outcome != bot.KeypressTaken {
			t.Errorf("a late 2: %+v, want taken", r)
		}
		if after := len(w.timeline(inc)); after != before {
			t.Errorf("replays added %d timeline events", after-before)
		}
		w.advance(time.Hour)
		w.wantCalled("田中", "鈴木", "佐藤")
		if len(w.mail.subjects()) != 2 {
			t.Errorf("replays sent mail: %q", w.mail.subjects())
		}

		// Callbacks that are not ours.
		if _, err := w.eng.Keypress(w.ctx, bot.CallEvent{AttemptID: "atnope", Digits: "1"}); !isNotFound(err) {
			t.Errorf("unknown attempt: %v, want not found", err)
		}
		a := w.attempt(inc, 1)
		if err := w.eng.CallStatus(w.ctx, bot.CallEvent{AttemptID: a.ID, CallID: "CAother", Status: bot.CallCompleted}); !isNotFound(err) {
			t.Errorf("another call's id: %v, want not found", err)
		}
		if err := w.eng.CallStatus(w.ctx, bot.CallEvent{Status: bot.CallCompleted}); !isNotFound(err) {
			t.Errorf("no attempt: %v, want not found", err)
		}
	})
}

func TestEngineChatAckStopsBeforeCalls(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(5*time.Minute, "tanaka"))
		inc := w.ingest("disk", bot.Sev2)
		w.advance(time.Minute)
		if _, err := w.bot.Acknowledge(w.ctx, inc.Number, bot.Actor{ID: "U01", Source: "slack"}); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Hour)
		w.wantCalled()
		if e := w.escalation(inc); e.Phase != bot.PhaseStopped {
			t.Errorf("escalation %s, want stopped", e.Phase)
		}
		if len(w.mail.sent) != 0 {
			t.Errorf("mail without calls: %q", w.mail.subjects())
		}
	})
}

func TestEngineAckCancelsRingingCalls(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		pol := Policy{ID: "infra", Steps: []Step{{Call: []string{"tanaka", "suzuki"}, Parallel: true, RingTimeout: 30 * time.Second}}}
		w := newWorld(t, open, pol)
		inc := w.ingest("disk", bot.Sev2)
		if got := w.phone.called(); len(got) != 2 || !slices.Contains(got, "田中") || !slices.Contains(got, "鈴木") {
			t.Fatalf("called %v, want both at once (ack_timeout 0)", got)
		}
		if _, err := w.bot.Acknowledge(w.ctx, inc.Number, bot.Actor{ID: "U01", Source: "slack"}); err != nil {
			t.Fatal(err)
		}
		w.run()
		slices.Sort(w.phone.hangUps)
		if !slices.Equal(w.phone.hangUps, []string{"CA1", "CA2"}) {
			t.Errorf("hung up %v, want both ringing calls", w.phone.hangUps)
		}
		for i := range 2 {
			if a := w.attempt(inc, i); a.Status != bot.AttemptCanceled {
				t.Errorf("attempt %d %s, want canceled", i, a.Status)
			}
		}
		if r := w.press(inc, 0, "1"); r.Outcome != bot.KeypressTaken || r.TakenBy != "U01" {
			t.Errorf("1 after the chat ack: %+v", r)
		}
		w.advance(time.Hour)
		if got := w.phone.called(); len(got) != 2 {
			t.Errorf("called %v after the ack", got)
		}
	})
}

func TestEngineRingDeadlineWithoutCallbacks(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(0, "tanaka", "suzuki"))
		inc := w.ingest("disk", bot.Sev2)
		w.wantCalled("田中")
		w.advance(30*time.Second + AnswerGrace - time.Millisecond)
		w.wantCalled("田中")
		w.advance(time.Millisecond)
		w.wantCalled("田中", "鈴木")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptNoAnswer {
			t.Errorf("first attempt %s, want no_answer", a.Status)
		}
		if !slices.Equal(w.phone.hangUps, []string{"CA1"}) {
			t.Errorf("hung up %v, want the unanswered call", w.phone.hangUps)
		}
	})
}

func TestEngineRoundsThenExhausted(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		pol := sequential(0, "tanaka")
		pol.Repeat = 1
		w := newWorld(t, open, pol)
		inc := w.ingest("disk", bot.Sev2)
		w.status(inc, 0, bot.CallNoAnswer, "")
		if e := w.escalation(inc); e.Phase != bot.PhasePaused || e.Round != 1 {
			t.Fatalf("after round 1: %+v", e)
		}
		w.advance(29 * time.Second)
		w.wantCalled("田中")
		w.advance(time.Second)
		w.wantCalled("田中", "田中")
		w.status(inc, 1, bot.CallBusy, "")
		if e := w.escalation(inc); e.Phase != bot.PhaseExhausted {
			t.Fatalf("after round 2: %+v", e)
		}
		tl := w.timeline(inc)
		if last := tl[len(tl)-1]; !strings.Contains(last, "@here nobody accepted by phone after 2 rounds") {
			t.Errorf("last timeline entry %q, want the @here", last)
		}
		subjects := w.mail.subjects()
		if len(subjects) != 3 || !strings.Contains(subjects[1], "nobody accepted this round") || !strings.Contains(subjects[2], "NOBODY ACCEPTED") {
			t.Errorf("status mail %q", subjects)
		}
		w.advance(time.Hour)
		w.wantCalled("田中", "田中")
		// A responder can still ask for another round.
		if _, err := w.eng.CallNow(w.ctx, inc.Number, bot.Actor{ID: "U01", Source: "slack"}); err != nil {
			t.Fatal(err)
		}
		w.run()
		w.wantCalled("田中", "田中", "田中")
		if _, err := w.eng.CallNow(w.ctx, inc.Number, bot.Actor{ID: "U01", Source: "slack"}); !errors.Is(err, bot.ErrConflict) {
			t.Errorf("call now while ringing: %v, want conflict", err)
		}
	})
}

func TestEngineSeverityRules(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		pol := sequential(10*time.Minute, "tanaka")
		pol.Severities = map[bot.Severity]SeverityRule{bot.Sev1: {AckTimeout: durPtr(0)}, bot.Sev4: {NoCalls: true}}
		w := newWorld(t, open, pol)
		minor := w.ingest("minor", bot.Sev4)
		if _, err := w.store.Escalation(w.ctx, minor.ID); !isNotFound(err) {
			t.Errorf("sev4 escalation: %v, want none", err)
		}
		w.wantCalled()
		w.ingest("major", bot.Sev1)
		w.wantCalled("田中")
		w.advance(time.Hour)
		if got := w.phone.called(); slices.ContainsFunc(w.phone.calls, func(c bot.Call) bool { return c.Incident.ID == minor.ID }) {
			t.Errorf("sev4 incident was called about: %v", got)
		}
	})
}

func TestEngineChatDownCallsAtOnce(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(5*time.Minute, "tanaka"))
		w.chat.Fail = bot.Retryable(errors.New("slack: 503"), 0)
		inc := w.ingest("disk", bot.Sev2)
		w.wantCalled("田中")
		if tl := w.timeline(inc); !slices.Contains(tl, "escalation /system: chat is unreachable: calling by phone now") {
			t.Errorf("timeline %q", tl)
		}
	})
}

func TestEngineVoicemailAndBusyPassOn(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(0, "tanaka", "suzuki", "sato"))
		inc := w.ingest("disk", bot.Sev2)
		w.status(inc, 0, bot.CallInProgress, "machine_start")
		w.wantCalled("田中", "鈴木")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptMachine {
			t.Errorf("voicemail attempt %s", a.Status)
		}
		if !slices.Equal(w.phone.hangUps, []string{"CA1"}) {
			t.Errorf("voicemail not hung up: %v", w.phone.hangUps)
		}
		w.status(inc, 0, bot.CallCompleted, "machine_start") // the call's end, after we moved on
		w.status(inc, 1, bot.CallBusy, "")
		w.wantCalled("田中", "鈴木", "佐藤")
		if got := w.incident(inc); got.Status != bot.StatusTriggered {
			t.Errorf("a voicemail acknowledged the incident: %s", got.Status)
		}
	})
}

// A call request whose response was lost (or whose worker died) is not
// placed twice: the retry asks the phone platform first.
func TestEngineRetryAsksBeforeCallingAgain(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(0, "tanaka"))
		w.phone.fail, w.phone.lostResponse = []error{bot.Retryable(errors.New("read: connection reset"), 0)}, true
		inc := w.ingest("disk", bot.Sev2)
		w.wantCalled("田中")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptPlacing {
			t.Fatalf("attempt %s after a lost response, want placing", a.Status)
		}
		w.advance(2 * time.Second)
		w.wantCalled("田中")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptRinging || a.CallID != "CA1" || w.phone.finds != 1 {
			t.Errorf("after the retry: %+v, finds %d", a, w.phone.finds)
		}

		// A request that never got through is placed on retry, once.
		w2 := newWorld(t, open, sequential(0, "suzuki"))
		w2.phone.fail = []error{bot.Retryable(errors.New("dial: connection refused"), 0)}
		w2.ingest("other", bot.Sev2)
		w2.wantCalled()
		w2.advance(2 * time.Second)
		w2.wantCalled("鈴木")
		w2.advance(time.Minute)
		w2.wantCalled("鈴木")
	})
}

func TestEnginePermanentCallErrorMovesOn(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(0, "tanaka", "suzuki"))
		w.phone.fail = []error{bot.Invalid("twilio 21211: invalid 'To' phone number")}
		inc := w.ingest("disk", bot.Sev2)
		w.wantCalled("鈴木")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptFailed {
			t.Errorf("first attempt %s, want failed", a.Status)
		}
	})
}

// Calls keep the account's pace: one a second by default, across replicas,
// whether they start at once or when the chat window closes.
func TestEnginePacing(t *testing.T) {
	for _, window := range []time.Duration{0, 5 * time.Minute} {
		t.Run(window.String(), func(t *testing.T) {
			onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
				w := newWorld(t, open, sequential(window, "tanaka"), func(c *Config) { c.CallsPerSecond = 1 })
				for _, fp := range []string{"a", "b", "c"} {
					w.ingest(fp, bot.Sev2)
				}
				w.advance(window)
				w.wantCalled("田中")
				w.advance(999 * time.Millisecond)
				w.wantCalled("田中")
				w.advance(time.Millisecond)
				w.wantCalled("田中", "田中")
				w.advance(time.Second)
				w.wantCalled("田中", "田中", "田中")
				for _, l := range w.late {
					if l != 0 {
						t.Errorf("a call left %v after its slot with the clock standing still", l)
					}
				}
			})
		})
	}
}

func TestEngineScheduleTargetAndOverride(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		sched, err := NewSchedule("infra", "Asia/Tokyo", RotationWeekly, 0, "mon 09:00", []string{"tanaka", "suzuki"})
		if err != nil {
			t.Fatal(err)
		}
		w := newWorld(t, open, sequential(0, "schedule:infra", "tanaka"), func(c *Config) { c.Schedules = []*Schedule{sched} })
		onCall := sched.OnCall(w.clock.Now(), nil).Contact
		first := w.ingest("a", bot.Sev2)
		want := map[string]string{"tanaka": "田中", "suzuki": "鈴木"}[onCall]
		w.wantCalled(want)
		w.status(first, 0, bot.CallNoAnswer, "")
		if onCall == "tanaka" {
			w.wantCalled(want) // tanaka is on call and listed: called once per step
		} else {
			w.wantCalled(want, "田中")
		}
		if _, err := w.bot.AddOverride(w.ctx, bot.Override{Schedule: "infra", Contact: "sato", Start: w.clock.Now().Add(-time.Minute),
			End: w.clock.Now().Add(time.Hour), CreatedBy: "U01"}); err != nil {
			t.Fatal(err)
		}
		if sh, err := w.eng.OnCall(w.ctx, "infra", w.clock.Now()); err != nil || sh.Contact != "sato" || !sh.Override {
			t.Errorf("on call with the override: %+v, %v", sh, err)
		}
		shifts, err := w.eng.Shifts(w.ctx, "infra", w.clock.Now().Add(-time.Hour), w.clock.Now().Add(2*time.Hour))
		if err != nil || !slices.ContainsFunc(shifts, func(s Shift) bool { return s.Contact == "sato" && s.Override }) {
			t.Errorf("shifts %+v, %v", shifts, err)
		}
		if _, err := w.eng.OnCall(w.ctx, "nope", w.clock.Now()); !isNotFound(err) {
			t.Errorf("unknown schedule: %v", err)
		}
		before := len(w.phone.called())
		w.ingest("b", bot.Sev2)
		if got := w.phone.called(); len(got) != before+1 || got[before] != "佐藤" {
			t.Errorf("with sato's override: called %v", got)
		}
	})
}

func TestEngineResolvedByMonitoringStops(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(0, "tanaka", "suzuki"))
		inc := w.ingest("disk", bot.Sev2)
		if _, err := w.bot.Ingest(w.ctx, bot.Alert{Integration: "prom", Source: "alertmanager", Service: "web", Fingerprint: "disk",
			Status: bot.AlertResolved, Title: "db01 ok"}); err != nil {
			t.Fatal(err)
		}
		w.run()
		if e := w.escalation(inc); e.Phase != bot.PhaseStopped {
			t.Errorf("escalation %s after the resolve", e.Phase)
		}
		if !slices.Equal(w.phone.hangUps, []string{"CA1"}) {
			t.Errorf("hung up %v", w.phone.hangUps)
		}
		w.advance(time.Hour)
		w.wantCalled("田中")
	})
}

func TestEngineConfigProblems(t *testing.T) {
	_, err := New(Config{
		Policies:        []Policy{{ID: "p", Steps: []Step{{Call: []string{"ghost", "schedule:none"}}}}},
		ServicePolicies: map[string]string{"web": "missing"},
	})
	var inv *bot.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("err %v, want the problems", err)
	}
	for _, want := range []string{"unknown contact ghost", "unknown schedule none", "unknown policy missing", "need a phone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// A call the timer places straight after its decision has a backup job: if
// the request's outcome is lost, the job asks the phone before calling again.
func TestEngineTimerCallBackup(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(5*time.Minute, "tanaka"))
		inc := w.ingest("disk", bot.Sev2)
		w.phone.fail, w.phone.lostResponse = []error{bot.Retryable(errors.New("read: connection reset"), 0)}, true
		w.advance(5 * time.Minute)
		w.wantCalled("田中")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptPlacing {
			t.Fatalf("attempt %s after the lost response, want placing", a.Status)
		}
		w.advance(defaultPhoneTimeout + backupMargin - time.Second)
		if w.phone.finds != 0 {
			t.Errorf("the backup ran early")
		}
		w.advance(time.Second)
		w.wantCalled("田中")
		if a := w.attempt(inc, 0); a.Status != bot.AttemptRinging || a.CallID != "CA1" || w.phone.finds != 1 {
			t.Errorf("after the backup: %+v, finds %d", a, w.phone.finds)
		}
	})
}

// The backup of a call whose request never reached the phone platform does
// not adopt another incident's call to the same person: it places its own.
func TestEngineBackupLeavesOtherIncidentsCalls(t *testing.T) {
	onStores(t, func(t *testing.T, open func(bot.Clock) bot.Store) {
		w := newWorld(t, open, sequential(5*time.Minute, "tanaka"))
		incs := []bot.Incident{w.ingest("disk", bot.Sev2), w.ingest("cpu", bot.Sev2)}
		w.phone.fail = []error{bot.Retryable(errors.New("dial tcp: connection refused"), 0)}
		w.advance(5 * time.Minute)
		w.wantCalled("田中")
		var lost, placed bot.CallAttempt
		for _, inc := range incs {
			switch a := w.attempt(inc, 0); a.Status {
			case bot.AttemptPlacing:
				lost = a
			case bot.AttemptRinging:
				placed = a
			}
		}
		if lost.ID == "" || placed.ID == "" {
			t.Fatalf("want one attempt placing and one ringing: %+v, %+v", w.attempt(incs[0], 0), w.attempt(incs[1], 0))
		}
		w.advance(defaultPhoneTimeout + backupMargin)
		w.wantCalled("田中", "田中")
		got, err := w.store.CallAttempt(context.Background(), lost.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != bot.AttemptRinging || got.CallID == "" || got.CallID == placed.CallID || w.phone.finds != 1 {
			t.Errorf("after the backup: %s with call %q (the other incident's is %q), finds %d; want its own call",
				got.Status, got.CallID, placed.CallID, w.phone.finds)
		}
	})
}
