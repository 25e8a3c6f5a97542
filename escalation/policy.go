// Package escalation is Hotline's phone fallback: escalation policies,
// on-call schedules, and the durable engine that decides who to call next,
// when, and for how long.
package escalation

import (
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// Policy says how an unacknowledged incident escalates: a chat-first window,
// then steps of calls, then more rounds, then the final step (mail to the
// admins, @here in chat).
type Policy struct {
	ID          string
	AckTimeout  time.Duration // chat first; 0 calls at once
	Steps       []Step
	Repeat      int           // rounds after the first
	RepeatPause time.Duration // between rounds
	Notify      []string      // admins' e-mail addresses
	// Severities overrides the policy for some severities: sev1 may skip the
	// chat window, sev4 may never call.
	Severities map[bot.Severity]SeverityRule
}

// Step is one call list.
type Step struct {
	Call        []string // contact ids and "schedule:<id>"
	Parallel    bool     // ring everyone at once; default one after another
	RingTimeout time.Duration
}

// SeverityRule changes a policy for one severity.
type SeverityRule struct {
	AckTimeout *time.Duration // nil: the policy's
	NoCalls    bool           // chat only
}

// ScheduleTarget prefixes a step's call target that names a schedule.
const ScheduleTarget = "schedule:"

// For returns the chat window and whether calls are made at all for an
// incident of severity sev.
func (p Policy) For(sev bot.Severity) (ackTimeout time.Duration, calls bool) {
	ackTimeout, calls = p.AckTimeout, len(p.Steps) > 0
	if r, ok := p.Severities[sev]; ok {
		if r.AckTimeout != nil {
			ackTimeout = *r.AckTimeout
		}
		if r.NoCalls {
			calls = false
		}
	}
	return ackTimeout, calls
}
