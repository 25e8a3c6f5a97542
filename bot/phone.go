package bot

import (
	"context"
	"strings"
	"time"
)

// Contact is a person Hotline may call, mail or mention.
type Contact struct {
	ID      string
	Name    string
	Phone   string // E.164
	Email   string
	Slack   string // user id
	Discord string // user id
	Locale  string // ja | en
}

// Call asks Phone to ring one contact about one incident.
type Call struct {
	AttemptID   string // the call attempt; carried in callback URLs
	To          string // E.164
	Locale      string // language the callee hears: ja | en
	ContactName string
	ServiceName string
	Incident    Incident
	RingFor     time.Duration // how long the phone rings before "no answer"
}

// Phone places calls. Errors worth retrying are RetryableError.
type Phone interface {
	PlaceCall(ctx context.Context, c Call) (callID string, err error)
	// FindCalls returns the ids of the calls to `to` created at or after
	// since, newest first; none is an empty list. A replica that took over an
	// attempt whose outcome it does not know asks before it places the call
	// again, and adopts only a call no other attempt has recorded.
	FindCalls(ctx context.Context, to string, since time.Time) (callIDs []string, err error)
	// HangUp ends a call that is queued, ringing or in progress; a call that
	// has already ended is not an error.
	HangUp(ctx context.Context, callID string) error
}

// CallStatus is a call's progress as the phone platform reports it.
type CallStatus string

const (
	CallQueued     CallStatus = "queued"
	CallInitiated  CallStatus = "initiated"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress" // answered
	CallCompleted  CallStatus = "completed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallFailed     CallStatus = "failed"
	CallCanceled   CallStatus = "canceled"
)

// Ended reports whether the call is over.
func (s CallStatus) Ended() bool {
	switch s {
	case CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled:
		return true
	}
	return false
}

// CallEvent is what the phone platform reports about a placed call: a key
// the callee pressed (Digits) or a status change (Status).
type CallEvent struct {
	AttemptID  string
	CallID     string
	Digits     string
	Status     CallStatus
	AnsweredBy string // human, machine_start, machine_end_beep, fax, unknown ...
}

// Machine reports whether an answering machine or fax took the call: a
// voicemail is not an acknowledgement.
func (e CallEvent) Machine() bool {
	return strings.HasPrefix(e.AnsweredBy, "machine") || e.AnsweredBy == "fax"
}

// KeypressOutcome is what a callee's key did.
type KeypressOutcome string

const (
	KeypressAccepted KeypressOutcome = "accepted" // 1: the incident is theirs
	KeypressPassed   KeypressOutcome = "passed"   // 2: the next person is called
	KeypressTaken    KeypressOutcome = "taken"    // someone else has it, or it was resolved
	KeypressAgain    KeypressOutcome = "again"    // another key: ask again
)

// KeypressReply tells the phone adapter what to say to the callee.
type KeypressReply struct {
	Outcome  KeypressOutcome
	Locale   string
	Incident Incident
	TakenBy  string // with KeypressTaken: who has the incident, if anyone
}

// MaskPhone keeps the country code and the last two digits, for logs and
// timelines.
func MaskPhone(e164 string) string {
	if len(e164) <= 5 {
		return strings.Repeat("*", len(e164))
	}
	return e164[:3] + strings.Repeat("*", len(e164)-5) + e164[len(e164)-2:]
}
