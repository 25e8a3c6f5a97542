package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// *bot.Bot serves every port Run looks for.
var (
	_ Reader       = (*bot.Bot)(nil)
	_ StatusSetter = (*bot.Bot)(nil)
	_ Declarer     = (*bot.Bot)(nil)
	_ Overrider    = (*bot.Bot)(nil)
)

// fakeBot is fakeIncidents with the ports of the newer verbs: it records
// calls like fakeIncidents and reads from what the test put in it.
type fakeBot struct {
	fakeIncidents
	incidents []bot.Incident        // newest first
	events    map[int64][]bot.Event // by incident id, oldest first
	filters   []bot.IncidentFilter  // Incidents was asked for
	afterSeqs []int                 // Timeline was asked for
	declared  bot.IngestResult      // Declare's answer
	overrides []bot.Override        // AddOverride received
	readErr   error                 // returned by every read while set
}

func (f *fakeBot) SetStatus(_ context.Context, n int64, phase string, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "SetStatus", Number: n, Text: phase, By: by})
}

func (f *fakeBot) Declare(_ context.Context, service, title string, sev bot.Severity, by bot.Actor) (bot.IngestResult, error) {
	f.calls = append(f.calls, call{Op: "Declare", Owner: service, Text: title, Class: bot.Classification{Severity: sev}, By: by})
	return f.declared, f.err
}

func (f *fakeBot) AddOverride(_ context.Context, o bot.Override) (bot.Override, error) {
	f.overrides = append(f.overrides, o)
	o.ID = int64(len(f.overrides))
	return o, f.err
}

func (f *fakeBot) Incidents(_ context.Context, filter bot.IncidentFilter) ([]bot.Incident, error) {
	f.filters = append(f.filters, filter)
	return f.incidents, f.readErr
}

func (f *fakeBot) IncidentByNumber(_ context.Context, n int64) (bot.Incident, error) {
	if f.readErr != nil {
		return bot.Incident{}, f.readErr
	}
	for _, i := range f.incidents {
		if i.Number == n {
			return i, nil
		}
	}
	return bot.Incident{}, fmt.Errorf("INC-%d: %w", n, bot.ErrNotFound)
}

func (f *fakeBot) Timeline(_ context.Context, id int64, afterSeq int) ([]bot.Event, error) {
	f.afterSeqs = append(f.afterSeqs, afterSeq)
	var out []bot.Event
	for _, e := range f.events[id] {
		if e.Seq > afterSeq {
			out = append(out, e)
		}
	}
	return out, f.readErr
}

// fakePhone is the escalation engine as commands sees it.
type fakePhone struct {
	calls     []call
	err       error
	schedules []string
	shifts    map[string]OnCall
	asked     []time.Time       // OnCall's at
	contacts  map[string]string // chat user or contact id → contact id
}

func (p *fakePhone) CallNow(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	p.calls = append(p.calls, call{Op: "CallNow", Number: n, By: by})
	if p.err != nil {
		return bot.Incident{}, p.err
	}
	return bot.Incident{Number: n, Status: bot.StatusTriggered}, nil
}

func (p *fakePhone) Schedules() []string { return p.schedules }

func (p *fakePhone) OnCall(_ context.Context, schedule string, at time.Time) (OnCall, error) {
	p.asked = append(p.asked, at)
	if p.err != nil {
		return OnCall{}, p.err
	}
	s, ok := p.shifts[schedule]
	if !ok {
		return OnCall{}, fmt.Errorf("schedule %q: %w", schedule, bot.ErrNotFound)
	}
	return s, nil
}

func (p *fakePhone) Contact(user string) (string, bool) {
	c, ok := p.contacts[user]
	return c, ok
}
