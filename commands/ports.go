package commands

import (
	"context"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// The verbs beyond the original ones need more of the bot than Incidents.
// Run finds these ports on the Incidents value it is given, the way io.Copy
// finds io.WriterTo: *bot.Bot has them all, so callers of Run pass the same
// value as before. A verb whose port is missing answers that it is not
// available here.

// Reader reads committed incidents for list, show and timeline.
type Reader interface {
	Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error)
	IncidentByNumber(ctx context.Context, number int64) (bot.Incident, error)
	// Timeline returns the incident's events with seq > afterSeq, oldest first.
	Timeline(ctx context.Context, incidentID int64, afterSeq int) ([]bot.Event, error)
}

// StatusSetter records where the work on an incident stands (status).
type StatusSetter interface {
	SetStatus(ctx context.Context, number int64, phase string, by bot.Actor) (bot.Incident, error)
}

// Declarer opens an incident by hand (new).
type Declarer interface {
	Declare(ctx context.Context, service, title string, sev bot.Severity, by bot.Actor) (bot.IngestResult, error)
}

// Overrider stores an on-call override (oncall override).
type Overrider interface {
	AddOverride(ctx context.Context, o bot.Override) (bot.Override, error)
}

// Phone is the escalation engine as escalate and oncall need it, without
// commands importing it. The composition root wraps *escalation.Engine:
// CallNow as it is, OnCall from Engine.OnCall's Shift, Schedules from the
// configured schedule ids, Contact from the configured contacts.
type Phone interface {
	// CallNow skips the chat window of INC-number and calls at once.
	CallNow(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error)
	// Schedules lists the on-call schedule ids, in configuration order.
	Schedules() []string
	// OnCall says who is on call for schedule at t; bot.ErrNotFound for an
	// unknown schedule.
	OnCall(ctx context.Context, schedule string, at time.Time) (OnCall, error)
	// Contact returns the contact id a user named in a command stands for:
	// a contact id as typed (@tanaka) or the contact whose chat user id a
	// mention carries; false when the user is no contact.
	Contact(user string) (string, bool)
}

// OnCall is one schedule's current shift.
type OnCall struct {
	Schedule string
	Contact  string
	Until    time.Time // the end of the shift; zero when unknown
	Override bool      // an override, not the rotation
}
