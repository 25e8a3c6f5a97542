package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// EventStatus: a responder said where the work on an incident stands. Its
// text is the phase (ProgressInvestigating ...). The phase lives only in the
// timeline: it narrates the work and changes neither the incident's Status
// nor its escalation.
const EventStatus EventKind = "status"

// The phases a responder reports with /incident status, in the order the
// work usually goes through them.
const (
	ProgressInvestigating = "investigating"
	ProgressIdentified    = "identified"
	ProgressMonitoring    = "monitoring"
)

// ValidProgress reports whether phase is one of the Progress constants.
func ValidProgress(phase string) bool {
	switch phase {
	case ProgressInvestigating, ProgressIdentified, ProgressMonitoring:
		return true
	}
	return false
}

// SetStatus records where the work on INC-number stands. A resolved
// incident is refused with ErrConflict: there is no work left to report on.
func (b *Bot) SetStatus(ctx context.Context, number int64, phase string, by Actor) (Incident, error) {
	phase = strings.ToLower(strings.TrimSpace(phase))
	if !ValidProgress(phase) {
		return Incident{}, Invalid("status %q: must be investigating, identified or monitoring", phase)
	}
	return b.change(ctx, number, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status == StatusResolved {
			return fmt.Errorf("%s is already resolved: %w", inc.Ref(), ErrConflict)
		}
		return appendEvent(tx, inc, EventStatus, by.ID, by.Source, phase, now)
	})
}

// LatestStatus is the phase of the newest status event among events (oldest
// first), "" when there is none.
func LatestStatus(events []Event) string {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == EventStatus {
			return events[i].Text
		}
	}
	return ""
}
