package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// EventKind names what happened on an incident.
type EventKind string

const (
	EventOpened       EventKind = "opened"
	EventAlert        EventKind = "alert"
	EventAcknowledged EventKind = "acknowledged"
	EventAssigned     EventKind = "assigned"
	EventClassified   EventKind = "classified"
	EventNote         EventKind = "note"
	EventResolved     EventKind = "resolved"
	EventReopened     EventKind = "reopened"
	// EventEscalation: the phone escalation moved (calling, a round ran out ...).
	EventEscalation EventKind = "escalation"
	// EventCall: one call's outcome (no answer, passed, voicemail ...).
	EventCall EventKind = "call"
)

// Event is one append-only timeline entry. Each carries the hash of the one
// before it on the same incident, so a changed or removed row breaks the chain.
type Event struct {
	ID         int64     `json:"-" db:"id"`
	IncidentID int64     `json:"-" db:"incident_id"`
	Seq        int       `json:"-" db:"seq"` // 1, 2, ... within the incident
	Kind       EventKind `json:"kind" db:"kind"`
	Actor      string    `json:"actor" db:"actor"`
	Source     string    `json:"source" db:"source"` // webhook, slack, discord, phone, api, system ...
	Text       string    `json:"text" db:"text"`
	At         time.Time `json:"at" db:"at"`
	PrevHash   string    `json:"-" db:"prev_hash"`
	Hash       string    `json:"-" db:"hash"`
}

// Seal sets the event's PrevHash and Hash given the chain head before it.
func (e *Event) Seal(prevHash string) {
	e.PrevHash = prevHash
	e.Hash = e.computeHash()
}

func (e Event) computeHash() string {
	// JSON of a fixed struct is a stable encoding; time in UTC with nanoseconds
	// truncated to microseconds, the precision both stores keep.
	content, _ := json.Marshal(struct {
		Incident int64
		Seq      int
		Kind     EventKind
		Actor    string
		Source   string
		Text     string
		At       string
	}{e.IncidentID, e.Seq, e.Kind, e.Actor, e.Source, e.Text, e.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)})
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyChain checks that events (oldest first, one incident) link up and that
// none was altered; head is the incident's recorded chain head.
func VerifyChain(events []Event, head string) error {
	prev := ""
	for i, e := range events {
		if e.Seq != i+1 {
			return fmt.Errorf("event %d: sequence %d where %d was expected (an event is missing)", i+1, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("event %d: does not follow the event before it", e.Seq)
		}
		if e.computeHash() != e.Hash {
			return fmt.Errorf("event %d (%s): content does not match its hash", e.Seq, e.Kind)
		}
		prev = e.Hash
	}
	if prev != head {
		return fmt.Errorf("chain ends at event %d but the incident records a later head (events removed from the end)", len(events))
	}
	return nil
}
