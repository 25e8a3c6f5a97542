package bot

import (
	"context"
	"time"
)

// EscalationPhase is where an incident's phone escalation stands.
type EscalationPhase string

const (
	PhaseChat      EscalationPhase = "chat"      // waiting for an ack in chat until NextDue
	PhaseCalling   EscalationPhase = "calling"   // calls of the current step ring until NextDue
	PhasePaused    EscalationPhase = "paused"    // between rounds until NextDue
	PhaseExhausted EscalationPhase = "exhausted" // every round ran out; nobody accepted
	PhaseStopped   EscalationPhase = "stopped"   // acknowledged or resolved
)

// Escalation is the durable state of one incident's phone escalation.
type Escalation struct {
	IncidentID int64           `db:"incident_id"`
	Policy     string          `db:"policy"`
	Phase      EscalationPhase `db:"phase"`
	Round      int             `db:"round"` // 0-based
	Step       int             `db:"step"`  // 0-based index into the policy's steps
	Index      int             `db:"contact_index"`
	NextDue    time.Time       `db:"next_due"` // end of the chat window, ring deadline or pause
	UpdatedAt  time.Time       `db:"updated_at"`
}

// Active reports whether the escalation may still call someone.
func (e Escalation) Active() bool {
	return e.Phase == PhaseChat || e.Phase == PhaseCalling || e.Phase == PhasePaused
}

// AttemptStatus is where one call attempt stands.
type AttemptStatus string

const (
	AttemptPending  AttemptStatus = "pending"  // recorded; the call job will place it
	AttemptPlacing  AttemptStatus = "placing"  // the request may have left: ask before placing again
	AttemptRinging  AttemptStatus = "ringing"  // placed; waiting for a key or the end of the call
	AttemptAccepted AttemptStatus = "accepted" // pressed 1
	AttemptPassed   AttemptStatus = "passed"   // pressed 2
	AttemptNoAnswer AttemptStatus = "no_answer"
	AttemptHungUp   AttemptStatus = "hung_up" // answered, pressed nothing
	AttemptBusy     AttemptStatus = "busy"
	AttemptFailed   AttemptStatus = "failed"
	AttemptMachine  AttemptStatus = "machine" // voicemail or fax
	AttemptCanceled AttemptStatus = "canceled"
	AttemptSkipped  AttemptStatus = "skipped" // nobody to call: no phone, or already called this round
)

// Open reports whether the attempt's outcome is still to come.
func (s AttemptStatus) Open() bool {
	return s == AttemptPending || s == AttemptPlacing || s == AttemptRinging
}

// CallAttempt is one call of an escalation, recorded before the call is
// placed so that a replica taking over knows it may already ring.
type CallAttempt struct {
	ID         string        `db:"id"`
	IncidentID int64         `db:"incident_id"`
	Round      int           `db:"round"`
	Step       int           `db:"step"`
	Index      int           `db:"contact_index"`
	Contact    string        `db:"contact"`
	Phone      string        `db:"phone"`
	Status     AttemptStatus `db:"status"`
	CallID     string        `db:"call_id"`
	// SlotAt is the call's turn under the account's calls-per-second pace.
	SlotAt    *time.Time `db:"slot_at"`
	CreatedAt time.Time  `db:"created_at"`
	PlacedAt  *time.Time `db:"placed_at"`
	EndedAt   *time.Time `db:"ended_at"`
}

// Override puts Contact on call for Schedule between Start and End, in
// place of the rotation.
type Override struct {
	ID        int64     `db:"id"`
	Schedule  string    `db:"schedule"`
	Contact   string    `db:"contact"`
	Start     time.Time `db:"starts_at"`
	End       time.Time `db:"ends_at"`
	CreatedBy string    `db:"created_by"`
	CreatedAt time.Time `db:"created_at"`
}

// EscalationTx is the part of a write transaction that escalation uses.
// The incident's row lock (Tx.IncidentByID) serialises changes of one
// incident's escalation and calls.
type EscalationTx interface {
	// Escalation returns the incident's escalation, or ErrNotFound.
	Escalation(incidentID int64) (Escalation, error)
	SaveEscalation(e Escalation) error
	// CallAttempts returns the incident's attempts, oldest first.
	CallAttempts(incidentID int64) ([]CallAttempt, error)
	CallAttempt(id string) (CallAttempt, error)
	SaveCallAttempt(a CallAttempt) error
	// ReservePhoneSlot takes the next turn of account's pace, no earlier
	// than now and at least interval after the turn before, across replicas.
	ReservePhoneSlot(account string, now time.Time, interval time.Duration) (time.Time, error)
	// AddOverride stores o and sets its ID.
	AddOverride(o *Override) error
	// OverridesAt returns the overrides of every schedule in force at t.
	OverridesAt(t time.Time) ([]Override, error)
}

// PlacedCall pairs a call attempt with the call the phone platform created.
type PlacedCall struct {
	Attempt, CallID string
}

// CallRecorder records placed calls without taking their incidents' locks:
// it only fills an empty call id and moves "placing" on to "ringing", and
// saving an attempt never empties its call id, so it cannot undo what a
// concurrent transaction decided about the call.
type CallRecorder interface {
	RecordCalls(ctx context.Context, calls []PlacedCall) error
}

// EscalationReader answers questions about escalations from committed state.
type EscalationReader interface {
	Escalation(ctx context.Context, incidentID int64) (Escalation, error)
	CallAttempt(ctx context.Context, id string) (CallAttempt, error)
	CallAttempts(ctx context.Context, incidentID int64) ([]CallAttempt, error)
	// CallAttemptByCall returns the attempt that recorded the phone
	// platform's call id, or ErrNotFound: a replica adopting a call it found
	// leaves alone the calls other attempts placed.
	CallAttemptByCall(ctx context.Context, callID string) (CallAttempt, error)
	// Overrides returns the schedule's overrides that end after from and
	// start before to, by start time; an empty schedule means all schedules.
	Overrides(ctx context.Context, schedule string, from, to time.Time) ([]Override, error)
}

// Escalator is the phone fallback as Bot drives it from inside its own
// transactions, so arming and stopping commit with the change that caused
// them.
type Escalator interface {
	// Start arms the escalation of a newly opened incident. It may append
	// timeline events to inc, which the caller saves.
	Start(tx Tx, inc *Incident, now time.Time) error
	// Stop ends it: inc was acknowledged or resolved by `by`. Calls still
	// ringing are hung up; a phone ack marks its own attempt accepted.
	Stop(tx Tx, inc *Incident, by Actor, now time.Time) error
	// ChatFailed says inc's root message could not be posted: the chat
	// window is skipped and the phone rings at once.
	ChatFailed(ctx context.Context, inc Incident, cause error) error
}

// AddOverride puts a contact on call for a schedule for a while, in place of
// the rotation.
func (b *Bot) AddOverride(ctx context.Context, o Override) (Override, error) {
	var p Problems
	if o.Schedule == "" {
		p.Add("schedule", "name the schedule")
	}
	if o.Contact == "" {
		p.Add("contact", "name who takes over")
	}
	if !o.End.After(o.Start) {
		p.Add("end", "must be after the start")
	}
	if err := p.Err(); err != nil {
		return o, err
	}
	o.CreatedAt = b.clock.Now()
	err := b.store.Update(ctx, func(tx Tx) error { return tx.AddOverride(&o) })
	return o, err
}
