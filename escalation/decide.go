package escalation

import (
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// AnswerGrace is how long a call may go on after it stopped ringing (the
// callee hears the incident up to three times) before the engine stops
// waiting for its outcome and moves on. Status callbacks normally come
// long before.
const AnswerGrace = 90 * time.Second

// EventKind is what happened to an escalation.
type EventKind int

const (
	EventStart      EventKind = iota // the incident was opened
	EventTimer                       // the escalation's NextDue came
	EventChatFailed                  // the incident could not be posted to chat
	EventCallNow                     // a responder asked for the phone now
	EventPlaced                      // a call was placed: its ring time starts now
	EventCallEnded                   // a call ended without an accept
	EventStop                        // acknowledged or resolved
)

// Event is one input to Decide.
type Event struct {
	Kind    EventKind
	Attempt string            // EventPlaced, EventCallEnded; EventStop: the call that accepted, if any
	Outcome bot.AttemptStatus // EventCallEnded
}

// Input is everything Decide knows.
type Input struct {
	Policy   Policy
	Severity bot.Severity
	State    bot.Escalation
	Attempts []bot.CallAttempt
	Now      time.Time
	// Roster lists whom a step calls at Now, in order, each contact once,
	// all with a phone number.
	Roster func(step int) []bot.Contact
}

// Decision is what the engine must do: save State, record the new and the
// ended calls, hang up, tell people, and run the timer at State.NextDue.
type Decision struct {
	State   bot.Escalation
	Calls   []NewCall
	Ended   []Ended
	HangUp  []string // attempts whose call may still be up
	Notices []Notice
	Arm     bool
}

// NewCall is a call to record and place.
type NewCall struct {
	Contact            bot.Contact
	Round, Step, Index int
	RingFor            time.Duration
}

// Ended is an attempt's outcome.
type Ended struct {
	Attempt string
	Status  bot.AttemptStatus
}

// NoticeKind is news worth a timeline entry and, for some, a mail.
type NoticeKind int

const (
	NoticeCalling   NoticeKind = iota + 1 // nobody acked in chat in time: calling starts
	NoticeChatDown                        // chat is unreachable: calling starts at once
	NoticeCallNow                         // a responder asked for calls now
	NoticeEmptyStep                       // a step had nobody to call
	NoticeRoundOver                       // a round ran out; another follows after the pause
	NoticeExhausted                       // every round ran out: nobody accepted
)

// Notice is one piece of news.
type Notice struct {
	Kind        NoticeKind
	Round, Step int
}

// Decide is the escalation state machine: given the state and an event, what
// happens next. It is pure; the engine loads its input and carries out the
// decision in one transaction.
func Decide(in Input, ev Event) Decision {
	x := &decider{in: in, d: Decision{State: in.State}, closed: map[string]bool{}}
	x.apply(ev)
	if len(x.d.Calls) > 0 || len(x.d.Ended) > 0 || x.d.State != in.State {
		x.d.State.UpdatedAt = in.Now
	}
	return x.d
}

type decider struct {
	in     Input
	d      Decision
	closed map[string]bool // attempts ended by this decision
}

func (x *decider) apply(ev Event) {
	st := &x.d.State
	now := x.in.Now
	switch ev.Kind {
	case EventStart:
		ack, calls := x.in.Policy.For(x.in.Severity)
		if !calls {
			return
		}
		st.Policy, st.Round, st.Step, st.Index = x.in.Policy.ID, 0, 0, 0
		if ack <= 0 {
			x.beginStep(0, 0, NoticeCalling)
			return
		}
		st.Phase, st.NextDue = bot.PhaseChat, now.Add(ack)
		x.d.Arm = true
	case EventTimer:
		if !st.Active() || now.Before(st.NextDue) {
			return // a timer armed for an earlier plan
		}
		switch st.Phase {
		case bot.PhaseChat:
			x.beginStep(0, 0, NoticeCalling)
		case bot.PhasePaused:
			x.beginStep(st.Round, 0, 0)
		case bot.PhaseCalling:
			x.ringDeadline()
		}
	case EventChatFailed:
		if st.Phase == bot.PhaseChat {
			x.beginStep(0, 0, NoticeChatDown)
		}
	case EventCallNow:
		switch st.Phase {
		case bot.PhaseChat:
			x.beginStep(0, 0, NoticeCallNow)
		case bot.PhasePaused:
			x.beginStep(st.Round, 0, NoticeCallNow)
		case bot.PhaseExhausted:
			x.beginStep(st.Round+1, 0, NoticeCallNow)
		}
	case EventPlaced:
		a, ok := x.attempt(ev.Attempt)
		if !ok || !x.current(a) {
			return
		}
		if due := now.Add(x.ringTimeout(a.Step) + AnswerGrace); due.After(st.NextDue) {
			st.NextDue = due
			x.d.Arm = true
		}
	case EventCallEnded:
		a, ok := x.attempt(ev.Attempt)
		if !ok || !a.Status.Open() {
			return // a replay, or an outcome already decided
		}
		x.end(a, ev.Outcome)
		if x.current(a) && len(x.openInStep()) == 0 {
			x.next()
		}
	case EventStop:
		for _, a := range x.in.Attempts {
			if a.ID == ev.Attempt {
				x.end(a, bot.AttemptAccepted)
			} else if a.Status.Open() {
				x.end(a, bot.AttemptCanceled)
			}
		}
		if st.Active() {
			st.Phase = bot.PhaseStopped
		}
	}
}

// beginStep starts calling step of round, skipping steps with nobody to
// call; past the last step the round is over.
func (x *decider) beginStep(round, step int, notice NoticeKind) {
	st := &x.d.State
	p := x.in.Policy
	if notice != 0 {
		x.notice(notice, round, step)
	}
	for {
		if step >= len(p.Steps) {
			st.Step, st.Index = 0, 0
			if round < p.Repeat {
				x.notice(NoticeRoundOver, round, 0)
				st.Phase, st.Round, st.NextDue = bot.PhasePaused, round+1, x.in.Now.Add(p.RepeatPause)
				x.d.Arm = true
				return
			}
			x.notice(NoticeExhausted, round, 0)
			st.Phase, st.Round = bot.PhaseExhausted, round
			return
		}
		roster := x.in.Roster(step)
		if len(roster) == 0 {
			x.notice(NoticeEmptyStep, round, step)
			step++
			continue
		}
		st.Phase, st.Round, st.Step, st.Index = bot.PhaseCalling, round, step, 0
		if p.Steps[step].Parallel {
			for i, c := range roster {
				x.call(c, round, step, i)
			}
		} else {
			x.call(roster[0], round, step, 0)
		}
		return
	}
}

// next moves on after the current call (sequential) or step (parallel)
// ended without an accept.
func (x *decider) next() {
	st := &x.d.State
	if !x.in.Policy.Steps[st.Step].Parallel {
		if roster := x.in.Roster(st.Step); st.Index+1 < len(roster) {
			st.Index++
			x.call(roster[st.Index], st.Round, st.Step, st.Index)
			return
		}
	}
	x.beginStep(st.Round, st.Step+1, 0)
}

// ringDeadline ends the current calls that outlived their ring time and
// grace without an outcome. Calls still waiting for their turn in the
// account's pace have not rung yet: the deadline moves.
func (x *decider) ringDeadline() {
	st := &x.d.State
	open := x.openInStep()
	for _, a := range open {
		if a.Status == bot.AttemptPending {
			st.NextDue = x.in.Now.Add(x.ringTimeout(st.Step) + AnswerGrace)
			x.d.Arm = true
			return
		}
	}
	for _, a := range open {
		outcome := bot.AttemptNoAnswer
		if a.Status == bot.AttemptPlacing {
			outcome = bot.AttemptFailed // the call request never got through
		}
		x.end(a, outcome)
	}
	x.next()
}

func (x *decider) call(c bot.Contact, round, step, index int) {
	ring := x.ringTimeout(step)
	x.d.Calls = append(x.d.Calls, NewCall{Contact: c, Round: round, Step: step, Index: index, RingFor: ring})
	x.d.State.NextDue = x.in.Now.Add(ring + AnswerGrace)
	x.d.Arm = true
}

func (x *decider) end(a bot.CallAttempt, status bot.AttemptStatus) {
	x.closed[a.ID] = true
	x.d.Ended = append(x.d.Ended, Ended{Attempt: a.ID, Status: status})
	if a.Status == bot.AttemptPlacing || a.Status == bot.AttemptRinging {
		if status != bot.AttemptAccepted && status != bot.AttemptPassed {
			x.d.HangUp = append(x.d.HangUp, a.ID)
		}
	}
}

func (x *decider) notice(kind NoticeKind, round, step int) {
	x.d.Notices = append(x.d.Notices, Notice{Kind: kind, Round: round, Step: step})
}

func (x *decider) attempt(id string) (bot.CallAttempt, bool) {
	for _, a := range x.in.Attempts {
		if a.ID == id {
			return a, true
		}
	}
	return bot.CallAttempt{}, false
}

// current reports whether a belongs to the step being called.
func (x *decider) current(a bot.CallAttempt) bool {
	st := x.d.State
	return st.Phase == bot.PhaseCalling && a.Round == st.Round && a.Step == st.Step
}

// openInStep lists the current step's calls whose outcome is still to come.
func (x *decider) openInStep() []bot.CallAttempt {
	var out []bot.CallAttempt
	for _, a := range x.in.Attempts {
		if x.current(a) && a.Status.Open() && !x.closed[a.ID] {
			out = append(out, a)
		}
	}
	return out
}

func (x *decider) ringTimeout(step int) time.Duration {
	if step < 0 || step >= len(x.in.Policy.Steps) {
		return 0
	}
	return x.in.Policy.Steps[step].RingTimeout
}
