package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// testSetStatus: a responder's progress report is a timeline event that the
// chat thread shows; it changes nothing else and is refused once resolved.
func testSetStatus(t *testing.T, h Harness) {
	chat := &FakeChat{Name: "fake"}
	b, clock := newBot(t, h, chat)
	inc := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	if _, err := b.RunDue(ctx(t), "test"); err != nil {
		t.Fatal(err)
	}
	suzuki := bot.Actor{ID: "U01SUZUKI", Source: "slack"}
	clock.Advance(time.Minute)
	got, err := b.SetStatus(ctx(t), inc.Number, " Investigating ", suzuki)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bot.StatusTriggered || got.AcknowledgedAt != nil || got.Owner != "" {
		t.Errorf("status changed the incident: %+v", got)
	}
	if _, err := b.SetStatus(ctx(t), inc.Number, bot.ProgressMonitoring, suzuki); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RunDue(ctx(t), "test"); err != nil {
		t.Fatal(err)
	}
	if n := len(chat.Updates); n == 0 || chat.Updates[n-1][len(chat.Updates[n-1])-1].Kind != bot.EventStatus {
		t.Errorf("chat updates %+v, want the status events posted to the thread", chat.Updates)
	}
	var invalid *bot.InvalidError
	if _, err := b.SetStatus(ctx(t), inc.Number, "resolved", suzuki); !errors.As(err, &invalid) {
		t.Errorf("phase resolved: %v, want an InvalidError", err)
	}
	if _, err := b.SetStatus(ctx(t), inc.Number+100, bot.ProgressIdentified, suzuki); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("missing incident: %v, want ErrNotFound", err)
	}
	events, err := b.Timeline(ctx(t), inc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if phase := bot.LatestStatus(events); phase != bot.ProgressMonitoring {
		t.Errorf("latest status %q, want monitoring", phase)
	}
	if e := events[1]; e.Kind != bot.EventStatus || e.Text != "investigating" || !e.At.Equal(clock.Now()) {
		t.Errorf("status event %+v, want investigating at %v", e, clock.Now())
	}
	if _, err := b.Resolve(ctx(t), inc.Number, "", suzuki); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetStatus(ctx(t), inc.Number, bot.ProgressIdentified, suzuki); !errors.Is(err, bot.ErrConflict) || !strings.Contains(err.Error(), "already resolved") {
		t.Errorf("status of a resolved incident: %v, want ErrConflict", err)
	}
	want := []string{"opened/prom/alertmanager", "status/U01SUZUKI/slack", "status/U01SUZUKI/slack", "resolved/U01SUZUKI/slack"}
	if got := timelineKinds(t, b, inc.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v\nwant     %v", got, want)
	}
}

// startRecorder is an Escalator that records what it was asked to arm.
type startRecorder struct {
	mu      sync.Mutex
	started []int64
}

func (r *startRecorder) Start(_ bot.Tx, inc *bot.Incident, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, inc.Number)
	return nil
}

func (r *startRecorder) Stop(bot.Tx, *bot.Incident, bot.Actor, time.Time) error { return nil }

func (r *startRecorder) ChatFailed(context.Context, bot.Incident, error) error { return nil }

// testDeclare: an incident declared by hand is opened like an alert's, chat
// and escalation included, and never merges into another.
func testDeclare(t *testing.T, h Harness) {
	chat := &FakeChat{Name: "fake"}
	esc := &startRecorder{}
	clock := NewClock()
	b := bot.New(bot.Config{
		Store: h.New(t, clock),
		Clock: clock,
		Services: []bot.Service{
			{ID: "web", Name: "Web shop", Channels: map[string]string{"fake": "C0ALERTS"}},
			{ID: "batch", Name: "Batch", Severity: bot.Sev4},
		},
		Chats:     []bot.Chat{chat},
		Escalator: esc,
	})
	t.Cleanup(b.Close)
	tanaka := bot.Actor{ID: "U01TANAKA", Source: "slack"}

	first, err := b.Declare(ctx(t), "web", "  checkout 500s ", bot.Sev2, tanaka)
	if err != nil {
		t.Fatal(err)
	}
	inc := first.Incident
	if first.Action != bot.IngestOpened || inc.Title != "checkout 500s" || inc.Severity != bot.Sev2 ||
		inc.Service != "web" || inc.Status != bot.StatusTriggered || !strings.HasPrefix(inc.Fingerprint, "manual-") {
		t.Errorf("declared: %+v", first)
	}
	second, err := b.Declare(ctx(t), "web", "checkout 500s", bot.Sev2, tanaka)
	if err != nil {
		t.Fatal(err)
	}
	if second.Action != bot.IngestOpened || second.Incident.ID == inc.ID || second.Incident.Fingerprint == inc.Fingerprint {
		t.Errorf("a second declaration %+v merged into %s", second, inc.Ref())
	}
	quiet, err := b.Declare(ctx(t), "batch", "nightly job late", "", tanaka)
	if err != nil {
		t.Fatal(err)
	}
	if quiet.Incident.Severity != bot.Sev4 {
		t.Errorf("severity %s, want the service default sev4", quiet.Incident.Severity)
	}
	if fmt.Sprint(esc.started) != fmt.Sprint([]int64{inc.Number, second.Incident.Number, quiet.Incident.Number}) {
		t.Errorf("escalation armed for %v, want every declared incident", esc.started)
	}
	if _, err := b.RunDue(ctx(t), "test"); err != nil {
		t.Fatal(err)
	}
	if len(chat.Posts) != 2 || chat.Posts[0].ID != inc.ID {
		t.Errorf("chat posts %+v, want both web incidents", chat.Posts)
	}
	if got, want := timelineKinds(t, b, inc.ID), []string{"opened/U01TANAKA/manual"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v, want %v", got, want)
	}

	for name, args := range map[string][2]string{
		"unknown service": {"nope", "t"},
		"no service":      {"", "t"},
		"no title":        {"web", " \u3000"},
	} {
		var invalid *bot.InvalidError
		if _, err := b.Declare(ctx(t), args[0], args[1], "", tanaka); !errors.As(err, &invalid) {
			t.Errorf("%s: %v, want an InvalidError", name, err)
		}
	}
	if _, err := b.Declare(ctx(t), "web", "t", "sev9", tanaka); err == nil {
		t.Error("severity sev9 accepted")
	}
	if _, err := b.Declare(ctx(t), "web", "t", "", bot.Actor{Source: "slack"}); err == nil {
		t.Error("declared by nobody")
	}
	if list, _ := b.Incidents(ctx(t), bot.IncidentFilter{Status: "all"}); len(list) != 3 {
		t.Errorf("%d incidents, want the 3 declared: refusals open none", len(list))
	}
}

// testReads: the Bot's read methods see what the store committed.
func testReads(t *testing.T, h Harness) {
	b, _ := newBot(t, h)
	disk := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	cpu := ingest(t, b, alert("cpu", bot.AlertFiring)).Incident
	if _, err := b.Resolve(ctx(t), disk.Number, "", bot.Actor{ID: "tanaka", Source: "slack"}); err != nil {
		t.Fatal(err)
	}
	open, err := b.Incidents(ctx(t), bot.IncidentFilter{Status: "open", Limit: 10})
	if err != nil || len(open) != 1 || open[0].ID != cpu.ID {
		t.Errorf("open incidents %+v, %v; want only %s", open, err, cpu.Ref())
	}
	got, err := b.IncidentByNumber(ctx(t), disk.Number)
	if err != nil || got.ID != disk.ID || got.Status != bot.StatusResolved {
		t.Errorf("IncidentByNumber: %+v, %v", got, err)
	}
	if _, err := b.IncidentByNumber(ctx(t), cpu.Number+100); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("missing: %v, want ErrNotFound", err)
	}
	events, err := b.Timeline(ctx(t), disk.ID, 1)
	if err != nil || len(events) != 1 || events[0].Kind != bot.EventResolved {
		t.Errorf("timeline after seq 1: %+v, %v; want the resolve", events, err)
	}
}
