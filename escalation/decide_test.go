package escalation

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

var (
	t0     = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tanaka = bot.Contact{ID: "tanaka", Name: "田中", Phone: "+819011112222", Locale: "ja"}
	suzuki = bot.Contact{ID: "suzuki", Name: "鈴木", Phone: "+819033334444"}
	sato   = bot.Contact{ID: "sato", Name: "佐藤", Phone: "+819055556666"}
)

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

func durPtr(d time.Duration) *time.Duration { return &d }

// decidePolicy: a 5m chat window, step 1 calls tanaka then suzuki, step 2
// rings sato and tanaka at once, one more round after a 30s pause.
var decidePolicy = Policy{
	ID: "infra", AckTimeout: 5 * time.Minute, Repeat: 1, RepeatPause: 30 * time.Second,
	Steps: []Step{
		{Call: []string{"tanaka", "suzuki"}, RingTimeout: 30 * time.Second},
		{Call: []string{"sato", "tanaka"}, Parallel: true, RingTimeout: 20 * time.Second},
	},
	Severities: map[bot.Severity]SeverityRule{bot.Sev1: {AckTimeout: durPtr(0)}, bot.Sev4: {NoCalls: true}},
}

var decideRosters = [][]bot.Contact{{tanaka, suzuki}, {sato, tanaka}}

func attempt(id string, round, step, index int, c bot.Contact, status bot.AttemptStatus) bot.CallAttempt {
	return bot.CallAttempt{ID: id, IncidentID: 1, Round: round, Step: step, Index: index, Contact: c.ID, Phone: c.Phone, Status: status}
}

func calling(round, step, index int, due time.Duration) bot.Escalation {
	return bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseCalling, Round: round, Step: step, Index: index, NextDue: t0.Add(due)}
}

// TestDecide walks the state machine: every phase against every event that
// moves it, in one table.
func TestDecide(t *testing.T) {
	fresh := bot.Escalation{IncidentID: 1}
	chat := bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseChat, NextDue: t0}
	tests := []struct {
		name     string
		sev      bot.Severity
		state    bot.Escalation
		attempts []bot.CallAttempt
		rosters  [][]bot.Contact
		ev       Event
		// want
		phase   bot.EscalationPhase
		round   int
		step    int
		index   int
		due     time.Duration // NextDue - t0; checked when arm is set
		arm     bool
		calls   []string // contact ids
		ended   []string // "id=status"
		hangUp  []string
		notices []NoticeKind
	}{
		{name: "start: chat window first", sev: bot.Sev2, state: fresh, ev: Event{Kind: EventStart},
			phase: bot.PhaseChat, due: 5 * time.Minute, arm: true},
		{name: "start sev1: no chat window, calls at once", sev: bot.Sev1, state: fresh, ev: Event{Kind: EventStart},
			phase: bot.PhaseCalling, due: secs(30) + AnswerGrace, arm: true, calls: []string{"tanaka"}, notices: []NoticeKind{NoticeCalling}},
		{name: "start sev4: never calls", sev: bot.Sev4, state: fresh, ev: Event{Kind: EventStart}, phase: ""},
		{name: "timer before due: stale, nothing", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseChat, NextDue: t0.Add(time.Second)},
			ev: Event{Kind: EventTimer}, phase: bot.PhaseChat},
		{name: "chat window over: first contact", state: chat, ev: Event{Kind: EventTimer},
			phase: bot.PhaseCalling, due: secs(30) + AnswerGrace, arm: true, calls: []string{"tanaka"}, notices: []NoticeKind{NoticeCalling}},
		{name: "chat failed in the window: calls at once", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseChat, NextDue: t0.Add(time.Hour)},
			ev: Event{Kind: EventChatFailed}, phase: bot.PhaseCalling, due: secs(30) + AnswerGrace, arm: true, calls: []string{"tanaka"}, notices: []NoticeKind{NoticeChatDown}},
		{name: "chat failed while calling: nothing more", state: calling(0, 0, 0, time.Minute),
			ev: Event{Kind: EventChatFailed}, phase: bot.PhaseCalling, round: 0},
		{name: "call now in the window", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseChat, NextDue: t0.Add(time.Hour)},
			ev: Event{Kind: EventCallNow}, phase: bot.PhaseCalling, arm: true, due: secs(30) + AnswerGrace, calls: []string{"tanaka"}, notices: []NoticeKind{NoticeCallNow}},
		{name: "call now after exhaustion: another round", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseExhausted, Round: 1},
			ev: Event{Kind: EventCallNow}, phase: bot.PhaseCalling, round: 2, arm: true, due: secs(30) + AnswerGrace, calls: []string{"tanaka"}, notices: []NoticeKind{NoticeCallNow}},
		{name: "no answer: next in the sequence", state: calling(0, 0, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "a1", Outcome: bot.AttemptNoAnswer},
			phase:    bot.PhaseCalling, index: 1, arm: true, due: secs(30) + AnswerGrace, calls: []string{"suzuki"}, ended: []string{"a1=no_answer"}, hangUp: []string{"a1"}},
		{name: "pressed 2: next at once, no hang-up", state: calling(0, 0, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "a1", Outcome: bot.AttemptPassed},
			phase:    bot.PhaseCalling, index: 1, arm: true, due: secs(30) + AnswerGrace, calls: []string{"suzuki"}, ended: []string{"a1=passed"}},
		{name: "last of a sequential step: parallel step rings everyone", state: calling(0, 0, 1, time.Minute),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptNoAnswer), attempt("a2", 0, 0, 1, suzuki, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "a2", Outcome: bot.AttemptMachine},
			phase:    bot.PhaseCalling, step: 1, arm: true, due: secs(20) + AnswerGrace, calls: []string{"sato", "tanaka"}, ended: []string{"a2=machine"}, hangUp: []string{"a2"}},
		{name: "parallel: one ends, the other still rings", state: calling(0, 1, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("b1", 0, 1, 0, sato, bot.AttemptRinging), attempt("b2", 0, 1, 1, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "b1", Outcome: bot.AttemptBusy},
			phase:    bot.PhaseCalling, step: 1, ended: []string{"b1=busy"}, hangUp: []string{"b1"}},
		{name: "parallel: the last ends, round over, pause", state: calling(0, 1, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("b1", 0, 1, 0, sato, bot.AttemptBusy), attempt("b2", 0, 1, 1, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "b2", Outcome: bot.AttemptNoAnswer},
			phase:    bot.PhasePaused, round: 1, arm: true, due: 30 * time.Second, ended: []string{"b2=no_answer"}, hangUp: []string{"b2"}, notices: []NoticeKind{NoticeRoundOver}},
		{name: "pause over: the next round starts at step 1", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhasePaused, Round: 1, NextDue: t0},
			ev: Event{Kind: EventTimer}, phase: bot.PhaseCalling, round: 1, arm: true, due: secs(30) + AnswerGrace, calls: []string{"tanaka"}},
		{name: "last round over: exhausted, @here", state: calling(1, 1, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("c1", 1, 1, 0, sato, bot.AttemptNoAnswer), attempt("c2", 1, 1, 1, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "c2", Outcome: bot.AttemptFailed},
			phase:    bot.PhaseExhausted, round: 1, ended: []string{"c2=failed"}, hangUp: []string{"c2"}, notices: []NoticeKind{NoticeExhausted}},
		{name: "ring deadline: no answer, hang up, next", state: calling(0, 0, 0, 0),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventTimer},
			phase:    bot.PhaseCalling, index: 1, arm: true, due: secs(30) + AnswerGrace, calls: []string{"suzuki"}, ended: []string{"a1=no_answer"}, hangUp: []string{"a1"}},
		{name: "ring deadline while the call waits for its turn: deadline moves", state: calling(0, 0, 0, 0),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptPending)},
			ev:       Event{Kind: EventTimer}, phase: bot.PhaseCalling, arm: true, due: secs(30) + AnswerGrace},
		{name: "ring deadline with the request stuck: failed", state: calling(0, 0, 0, 0),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptPlacing)},
			ev:       Event{Kind: EventTimer},
			phase:    bot.PhaseCalling, index: 1, arm: true, due: secs(30) + AnswerGrace, calls: []string{"suzuki"}, ended: []string{"a1=failed"}, hangUp: []string{"a1"}},
		{name: "placed late: the ring time counts from now", state: calling(0, 0, 0, time.Second),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptRinging)},
			ev:       Event{Kind: EventPlaced, Attempt: "a1"}, phase: bot.PhaseCalling, arm: true, due: secs(30) + AnswerGrace},
		{name: "replayed outcome: nothing", state: calling(0, 0, 1, time.Minute),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptNoAnswer), attempt("a2", 0, 0, 1, suzuki, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "a1", Outcome: bot.AttemptNoAnswer}, phase: bot.PhaseCalling, index: 1},
		{name: "outcome of an earlier step's call: recorded, no move", state: calling(0, 1, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("a1", 0, 0, 0, tanaka, bot.AttemptPlacing), attempt("b1", 0, 1, 0, sato, bot.AttemptRinging)},
			ev:       Event{Kind: EventCallEnded, Attempt: "a1", Outcome: bot.AttemptBusy}, phase: bot.PhaseCalling, step: 1, ended: []string{"a1=busy"}, hangUp: []string{"a1"}},
		{name: "stop by a phone accept: others cancelled and hung up", state: calling(0, 1, 0, time.Minute),
			attempts: []bot.CallAttempt{attempt("b1", 0, 1, 0, sato, bot.AttemptRinging), attempt("b2", 0, 1, 1, tanaka, bot.AttemptRinging), attempt("b3", 0, 0, 0, suzuki, bot.AttemptPending)},
			ev:       Event{Kind: EventStop, Attempt: "b2"},
			phase:    bot.PhaseStopped, step: 1, ended: []string{"b1=canceled", "b2=accepted", "b3=canceled"}, hangUp: []string{"b1"}},
		{name: "stop in the chat window", state: chat, ev: Event{Kind: EventStop}, phase: bot.PhaseStopped},
		{name: "stop when exhausted: stays exhausted", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseExhausted}, ev: Event{Kind: EventStop}, phase: bot.PhaseExhausted},
		{name: "timer after stop: nothing", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhaseStopped}, ev: Event{Kind: EventTimer}, phase: bot.PhaseStopped},
		{name: "nobody to call in step 1: step 2", state: chat, rosters: [][]bot.Contact{nil, {sato}}, ev: Event{Kind: EventTimer},
			phase: bot.PhaseCalling, step: 1, arm: true, due: secs(20) + AnswerGrace, calls: []string{"sato"}, notices: []NoticeKind{NoticeCalling, NoticeEmptyStep}},
		{name: "nobody to call at all: rounds run out without calls", state: bot.Escalation{IncidentID: 1, Policy: "infra", Phase: bot.PhasePaused, Round: 1, NextDue: t0},
			rosters: [][]bot.Contact{nil, nil}, ev: Event{Kind: EventTimer},
			phase: bot.PhaseExhausted, round: 1, notices: []NoticeKind{NoticeEmptyStep, NoticeEmptyStep, NoticeExhausted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rosters := decideRosters
			if tt.rosters != nil {
				rosters = tt.rosters
			}
			sev := tt.sev
			if sev == "" {
				sev = bot.Sev2
			}
			d := Decide(Input{Policy: decidePolicy, Severity: sev, State: tt.state, Attempts: tt.attempts, Now: t0,
				Roster: func(step int) []bot.Contact { return rosters[step] }}, tt.ev)
			st := d.State
			if st.Phase != tt.phase || st.Round != tt.round || st.Step != tt.step || st.Index != tt.index {
				t.Errorf("state %s round %d step %d index %d, want %s %d %d %d", st.Phase, st.Round, st.Step, st.Index, tt.phase, tt.round, tt.step, tt.index)
			}
			if d.Arm != tt.arm {
				t.Errorf("arm %v, want %v", d.Arm, tt.arm)
			}
			if tt.arm && !st.NextDue.Equal(t0.Add(tt.due)) {
				t.Errorf("next due +%v, want +%v", st.NextDue.Sub(t0), tt.due)
			}
			var calls, ended []string
			for _, c := range d.Calls {
				calls = append(calls, c.Contact.ID)
			}
			for _, e := range d.Ended {
				ended = append(ended, fmt.Sprintf("%s=%s", e.Attempt, e.Status))
			}
			slices.Sort(ended)
			var notices []NoticeKind
			for _, n := range d.Notices {
				notices = append(notices, n.Kind)
			}
			if !slices.Equal(calls, tt.calls) || !slices.Equal(ended, tt.ended) || !slices.Equal(d.HangUp, tt.hangUp) || !slices.Equal(notices, tt.notices) {
				t.Errorf("calls %v ended %v hang up %v notices %v;\nwant calls %v ended %v hang up %v notices %v",
					calls, ended, d.HangUp, notices, tt.calls, tt.ended, tt.hangUp, tt.notices)
			}
			changed := len(d.Calls) > 0 || len(d.Ended) > 0 || st.Phase != tt.state.Phase
			if changed && !st.UpdatedAt.Equal(t0) {
				t.Errorf("updated at %v, want now", st.UpdatedAt)
			}
		})
	}
}

func TestPolicyForSeverity(t *testing.T) {
	for _, tt := range []struct {
		sev   bot.Severity
		ack   time.Duration
		calls bool
	}{
		{bot.Sev1, 0, true}, {bot.Sev2, 5 * time.Minute, true}, {bot.Sev3, 5 * time.Minute, true}, {bot.Sev4, 5 * time.Minute, false},
	} {
		ack, calls := decidePolicy.For(tt.sev)
		if ack != tt.ack || calls != tt.calls {
			t.Errorf("%s: ack %v calls %v, want %v %v", tt.sev, ack, calls, tt.ack, tt.calls)
		}
	}
	if _, calls := (Policy{ID: "empty"}).For(bot.Sev1); calls {
		t.Errorf("a policy without steps calls")
	}
}
