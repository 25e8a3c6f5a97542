package bot

import (
	"context"
	"time"
)

// Store is Hotline's durable state. Update runs a write transaction; the
// read methods see committed state.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	Reader
	EscalationReader
	CallRecorder
	Threads
	Deduper
	JobQueue
	Knowledge
	Leases
	Ping(ctx context.Context) error
}

// Reader answers questions about committed incidents.
type Reader interface {
	Incident(ctx context.Context, id int64) (Incident, error)
	IncidentByNumber(ctx context.Context, number int64) (Incident, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// Timeline returns the incident's events with seq > afterSeq, oldest first.
	Timeline(ctx context.Context, incidentID int64, afterSeq int) ([]Event, error)
	// EachIncident calls fn for every incident in id order; for audits.
	EachIncident(ctx context.Context, fn func(Incident) error) error
}

// IncidentFilter selects incidents for a listing, newest first.
type IncidentFilter struct {
	Status string // open, resolved or all (empty: all)
	Limit  int
}

// Tx is one write transaction. Methods that return an incident lock its row
// until the transaction ends, so concurrent writers to one incident queue up.
// Writes may be buffered and are flushed no later than commit.
type Tx interface {
	// LockOpenIncidents locks the open incidents of these keys at once, in
	// one order, so the OpenIncidentFor calls that follow cost nothing more.
	// A store may treat it as a hint.
	LockOpenIncidents(keys []IncidentKey) error
	// LockIncidents locks the incidents with these ids at once, in id order,
	// and may read what the escalation methods will ask about them: a hint,
	// like LockOpenIncidents.
	LockIncidents(ids []int64) error
	// OpenIncidentFor returns the unresolved incident for service and
	// fingerprint, or ErrNotFound.
	OpenIncidentFor(service, fingerprint string) (Incident, error)
	// IncidentByNumber returns the incident INC-<number>, or ErrNotFound.
	IncidentByNumber(number int64) (Incident, error)
	// IncidentByID returns the incident with this id, or ErrNotFound.
	IncidentByID(id int64) (Incident, error)
	// CreateIncident inserts inc and sets its ID and Number.
	CreateIncident(inc *Incident) error
	// SaveIncident writes inc's mutable fields back.
	SaveIncident(inc Incident) error
	AddAlert(incidentID int64, a Alert) error
	// AppendEvent adds a sealed event to the timeline.
	AppendEvent(e Event) error
	// Enqueue adds a job. A job whose Key is already pending is merged into
	// the pending one, which runs at the earlier of the two RunAt times, so
	// repeated updates of one thing coalesce.
	Enqueue(j Job) error
	EscalationTx
	KnowledgeTx
}

// IncidentKey names the open incident alerts are deduplicated into.
type IncidentKey struct{ Service, Fingerprint string }

// Clock tells the time; tests inject one they can move.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock.
var SystemClock Clock = ClockFunc(time.Now)
