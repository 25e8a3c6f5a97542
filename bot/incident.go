package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status is where an incident stands: triggered → acknowledged → resolved.
type Status string

const (
	StatusTriggered    Status = "triggered"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// Severity is how bad the impact is, sev1 (worst) to sev4.
type Severity string

const (
	Sev1 Severity = "sev1"
	Sev2 Severity = "sev2"
	Sev3 Severity = "sev3"
	Sev4 Severity = "sev4"
)

// DefaultSeverity is given to an incident whose alerts name none.
const DefaultSeverity = Sev3

// Valid reports whether s is one of sev1..sev4.
func (s Severity) Valid() bool {
	switch s {
	case Sev1, Sev2, Sev3, Sev4:
		return true
	}
	return false
}

// ParseSeverity accepts sev1..sev4, SEV2, 2, critical/high/warning/info and the
// like, as monitoring tools spell them.
func ParseSeverity(s string) (Severity, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "sev1", "1", "critical", "crit", "disaster", "p1", "fatal", "emergency":
		return Sev1, nil
	case "sev2", "2", "high", "error", "major", "p2":
		return Sev2, nil
	case "sev3", "3", "warning", "warn", "average", "medium", "minor", "p3":
		return Sev3, nil
	case "sev4", "4", "info", "information", "low", "notice", "ok", "p4", "p5", "not_classified":
		return Sev4, nil
	}
	return "", Invalid("severity %q: must be one of sev1, sev2, sev3, sev4", s)
}

// Level is an impact or urgency rating.
type Level string

const (
	High   Level = "high"
	Medium Level = "medium"
	Low    Level = "low"
)

// ParseLevel accepts high, medium or low.
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(strings.TrimSpace(s))); l {
	case High, Medium, Low:
		return l, nil
	}
	return "", Invalid("%q: must be high, medium or low", s)
}

// Priority is P1 (act now) to P5, derived from impact and urgency.
type Priority string

// priorityMatrix is the ITIL impact × urgency table.
var priorityMatrix = map[[2]Level]Priority{
	{High, High}: "P1", {High, Medium}: "P2", {High, Low}: "P3",
	{Medium, High}: "P2", {Medium, Medium}: "P3", {Medium, Low}: "P4",
	{Low, High}: "P3", {Low, Medium}: "P4", {Low, Low}: "P5",
}

// PriorityOf derives the priority from impact and urgency; empty when either
// is unset.
func PriorityOf(impact, urgency Level) Priority {
	return priorityMatrix[[2]Level{impact, urgency}]
}

// Incident is one outage being handled: the alerts that share a service and a
// fingerprint while it is open, and what responders did about it.
type Incident struct {
	ID             int64      `json:"id" db:"id"`
	Number         int64      `json:"number" db:"number"`
	Service        string     `json:"service" db:"service"`
	Fingerprint    string     `json:"fingerprint" db:"fingerprint"`
	Title          string     `json:"title" db:"title"`
	Status         Status     `json:"status" db:"status"`
	Severity       Severity   `json:"severity" db:"severity"`
	Impact         Level      `json:"impact,omitempty" db:"impact"`
	Urgency        Level      `json:"urgency,omitempty" db:"urgency"`
	Priority       Priority   `json:"priority,omitempty" db:"priority"`
	Owner          string     `json:"owner,omitempty" db:"owner"`
	AlertCount     int        `json:"alert_count" db:"alert_count"`
	CreatedAt      time.Time  `json:"created_at" db:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at" db:"acknowledged_at"`
	ResolvedAt     *time.Time `json:"resolved_at" db:"resolved_at"`
	// LastHash is the hash of the newest timeline event: the chain's head.
	LastHash string `json:"-" db:"last_hash"`
	LastSeq  int    `json:"-" db:"last_seq"`
}

// Ref is the human name of the incident, INC-<n>.
func (i Incident) Ref() string { return fmt.Sprintf("INC-%d", i.Number) }

// Open reports whether the incident still wants attention or a resolve.
func (i Incident) Open() bool { return i.Status != StatusResolved }

// ParseRef reads "INC-42", "inc-42", "#42" or "42" into 42.
func ParseRef(s string) (int64, error) {
	v := strings.TrimSpace(s)
	v = strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(v), "INC-"), "#")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, Invalid("%q is not an incident: write INC-<number>", s)
	}
	return n, nil
}
