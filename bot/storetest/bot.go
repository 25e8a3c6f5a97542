package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// exerciseBot runs the Bot service on the store: the domain's transactions
// are only as good as the store under them.
func exerciseBot(t *testing.T, h Harness) {
	t.Run("IngestDedup", func(t *testing.T) { testIngestDedup(t, h) })
	t.Run("IngestConcurrent", func(t *testing.T) { testIngestConcurrent(t, h) })
	t.Run("IngestRejects", func(t *testing.T) { testIngestRejects(t, h) })
	t.Run("Operations", func(t *testing.T) { testOperations(t, h) })
	t.Run("ChatJobs", func(t *testing.T) { testChatJobs(t, h) })
	t.Run("ChatRetryFindsRoot", func(t *testing.T) { testChatRetryFindsRoot(t, h) })
	t.Run("SetStatus", func(t *testing.T) { testSetStatus(t, h) })
	t.Run("Declare", func(t *testing.T) { testDeclare(t, h) })
	t.Run("Reads", func(t *testing.T) { testReads(t, h) })
}

// FakeChat records what Bot asked a chat platform to do.
type FakeChat struct {
	mu        sync.Mutex
	Name      string
	Fail      error // returned by every call while set
	Posts     []bot.Incident
	Updates   [][]bot.Event
	NewAlerts []int          // per update: alerts since the one before
	Edits     []bot.Incident // per update: the incident the root was edited to show
}

func (c *FakeChat) Platform() string { return c.Name }

func (c *FakeChat) PostIncident(_ context.Context, channel string, inc bot.Incident) (bot.Thread, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		return bot.Thread{}, c.Fail
	}
	c.Posts = append(c.Posts, inc)
	return bot.Thread{Channel: channel, MessageID: fmt.Sprint("m", inc.ID)}, nil
}

func (c *FakeChat) PostUpdate(_ context.Context, th bot.Thread, inc bot.Incident, events []bot.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Fail != nil {
		return c.Fail
	}
	c.Updates = append(c.Updates, events)
	c.Edits = append(c.Edits, inc)
	c.NewAlerts = append(c.NewAlerts, inc.AlertCount-th.PostedAlerts)
	return nil
}

func newBot(t *testing.T, h Harness, chats ...bot.Chat) (*bot.Bot, *Clock) {
	clock := NewClock()
	b := bot.New(bot.Config{
		Store: h.New(t, clock),
		Clock: clock,
		Services: []bot.Service{
			{ID: "web", Name: "Web shop", Channels: map[string]string{"fake": "C0ALERTS"}},
			{ID: "batch", Name: "Batch", Severity: bot.Sev4},
		},
		Chats:      chats,
		Committers: 2,
	})
	t.Cleanup(b.Close)
	return b, clock
}

func alert(fp string, status bot.AlertStatus) bot.Alert {
	return bot.Alert{Integration: "prom", Source: "alertmanager", Service: "web", Fingerprint: fp, Status: status,
		Title: "db01 ディスク使用率 95%", Severity: bot.Sev3}
}

func ingest(t *testing.T, b *bot.Bot, a bot.Alert) bot.IngestResult {
	t.Helper()
	res, err := b.Ingest(ctx(t), a)
	if err != nil {
		t.Fatalf("ingest %s/%s: %v", a.Fingerprint, a.Status, err)
	}
	return res
}

func timelineKinds(t *testing.T, b *bot.Bot, id int64) []string {
	t.Helper()
	events, err := b.Store().Timeline(ctx(t), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := b.Store().Incident(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.VerifyChain(events, inc.LastHash); err != nil {
		t.Errorf("timeline of %s does not verify: %v", inc.Ref(), err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, string(e.Kind)+"/"+e.Actor+"/"+e.Source)
	}
	return kinds
}

func testIngestDedup(t *testing.T, h Harness) {
	b, _ := newBot(t, h)
	first := ingest(t, b, alert("disk", bot.AlertFiring))
	if first.Action != bot.IngestOpened || first.Incident.Status != bot.StatusTriggered {
		t.Fatalf("first alert: %+v", first)
	}
	again := ingest(t, b, alert("disk", bot.AlertFiring))
	worse := alert("disk", bot.AlertFiring)
	worse.Severity = bot.Sev1
	ingest(t, b, worse)
	other := alert("disk", bot.AlertFiring)
	other.Title = "db01 ディスク使用率 99%"
	ingest(t, b, other)
	cpu := ingest(t, b, alert("cpu", bot.AlertFiring))
	if again.Action != bot.IngestAppended || again.Incident.ID != first.Incident.ID {
		t.Errorf("repeat alert: %+v, want appended to %d", again, first.Incident.ID)
	}
	if cpu.Action != bot.IngestOpened || cpu.Incident.ID == first.Incident.ID {
		t.Errorf("other fingerprint: %+v, want a new incident", cpu)
	}
	resolved := ingest(t, b, alert("disk", bot.AlertResolved))
	if resolved.Action != bot.IngestResolved || resolved.Incident.ID != first.Incident.ID || resolved.Incident.ResolvedAt == nil {
		t.Errorf("resolved alert: %+v", resolved)
	}
	if r := ingest(t, b, alert("disk", bot.AlertResolved)); r.Action != bot.IngestIgnored {
		t.Errorf("resolve with nothing open: %+v, want ignored", r)
	}
	reopened := ingest(t, b, alert("disk", bot.AlertFiring))
	if reopened.Action != bot.IngestOpened || reopened.Incident.Number <= cpu.Incident.Number {
		t.Errorf("firing after resolve: %+v, want a new, higher-numbered incident", reopened)
	}
	inc, err := b.Store().Incident(ctx(t), first.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.AlertCount != 5 || inc.Status != bot.StatusResolved || inc.Severity != bot.Sev1 {
		t.Errorf("stored incident: %+v, want 5 alerts, resolved, raised to sev1", inc)
	}
	// Repeats are counted, not narrated; what changes something is.
	want := []string{"opened/prom/alertmanager", "classified/prom/alertmanager", "alert/prom/alertmanager", "resolved/prom/alertmanager"}
	if got := timelineKinds(t, b, inc.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v\nwant     %v", got, want)
	}
}

func testIngestConcurrent(t *testing.T, h Harness) {
	b, _ := newBot(t, h)
	const senders, perSender, fingerprints = 16, 40, 10
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				a := alert(fmt.Sprint("fp", (w+i)%fingerprints), bot.AlertFiring)
				if _, err := b.Ingest(context.Background(), a); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	list, err := b.Store().Incidents(ctx(t), bot.IncidentFilter{Status: "all", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, inc := range list {
		total += inc.AlertCount
		if kinds := timelineKinds(t, b, inc.ID); len(kinds) != 1 {
			t.Errorf("%s: timeline %v, want only the opening: repeats are counted", inc.Ref(), kinds)
		}
	}
	if len(list) != fingerprints || total != senders*perSender {
		t.Errorf("%d incidents with %d alerts, want %d with %d", len(list), total, fingerprints, senders*perSender)
	}
}

func testIngestRejects(t *testing.T, h Harness) {
	b, _ := newBot(t, h)
	for name, a := range map[string]bot.Alert{
		"unknown service": {Service: "nope", Fingerprint: "f", Status: bot.AlertFiring, Title: "t"},
		"no title":        {Service: "web", Fingerprint: "f", Status: bot.AlertFiring},
		"bad status":      {Service: "web", Fingerprint: "f", Status: "exploded", Title: "t"},
		"bad severity":    {Service: "web", Fingerprint: "f", Status: bot.AlertFiring, Title: "t", Severity: "sev9"},
	} {
		_, err := b.Ingest(ctx(t), a)
		var invalid *bot.InvalidError
		if !errors.As(err, &invalid) {
			t.Errorf("%s: err %v, want an InvalidError", name, err)
		}
	}
	if list, _ := b.Store().Incidents(ctx(t), bot.IncidentFilter{}); len(list) != 0 {
		t.Errorf("rejected alerts opened %d incidents", len(list))
	}
	// The service's default severity applies when the alert names none.
	a := alert("quiet", bot.AlertFiring)
	a.Service, a.Severity = "batch", ""
	if res := ingest(t, b, a); res.Incident.Severity != bot.Sev4 {
		t.Errorf("severity %s, want the service default sev4", res.Incident.Severity)
	}
}

func testOperations(t *testing.T, h Harness) {
	b, clock := newBot(t, h)
	inc := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	n := inc.Number
	tanaka := bot.Actor{ID: "tanaka", Source: "phone"}
	clock.Advance(2 * time.Minute)
	acked, err := b.Acknowledge(ctx(t), n, tanaka)
	if err != nil {
		t.Fatal(err)
	}
	if acked.Status != bot.StatusAcknowledged || acked.Owner != "tanaka" || !acked.AcknowledgedAt.Equal(clock.Now()) {
		t.Errorf("acknowledged: %+v", acked)
	}
	if _, err := b.Acknowledge(ctx(t), n, bot.Actor{ID: "U02", Source: "slack"}); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("second ack: %v, want ErrConflict", err)
	}
	if _, err := b.Acknowledge(ctx(t), n+100, tanaka); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("ack of a missing incident: %v, want ErrNotFound", err)
	}
	slackUser := bot.Actor{ID: "U01SUZUKI", Source: "slack"}
	if _, err := b.Assign(ctx(t), n, "suzuki", slackUser); err != nil {
		t.Fatal(err)
	}
	c, err := b.Classify(ctx(t), n, bot.Classification{Impact: bot.High, Urgency: bot.Low}, slackUser)
	if err != nil {
		t.Fatal(err)
	}
	if c.Priority != "P3" || c.Owner != "suzuki" {
		t.Errorf("classified: priority %s owner %s, want P3 suzuki", c.Priority, c.Owner)
	}
	if _, err := b.Note(ctx(t), n, "  ", slackUser); err == nil {
		t.Error("empty note accepted")
	}
	if _, err := b.Note(ctx(t), n, "ログを削除して再起動", slackUser); err != nil {
		t.Fatal(err)
	}
	r, err := b.Resolve(ctx(t), n, "disk cleaned", slackUser)
	if err != nil || r.Status != bot.StatusResolved {
		t.Fatalf("resolve: %+v, %v", r, err)
	}
	if _, err := b.Resolve(ctx(t), n, "", slackUser); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("second resolve: %v, want ErrConflict", err)
	}
	want := []string{"opened/prom/alertmanager", "acknowledged/tanaka/phone",
		"assigned/U01SUZUKI/slack", "classified/U01SUZUKI/slack", "note/U01SUZUKI/slack", "resolved/U01SUZUKI/slack"}
	if got := timelineKinds(t, b, inc.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("timeline %v\nwant     %v", got, want)
	}
}

func testChatJobs(t *testing.T, h Harness) {
	chat := &FakeChat{Name: "fake"}
	b, clock := newBot(t, h, chat)
	run := func() int {
		n, err := b.RunDue(ctx(t), "test")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	inc := ingest(t, b, alert("disk", bot.AlertFiring)).Incident
	run()
	if len(chat.Posts) != 1 || chat.Posts[0].ID != inc.ID {
		t.Fatalf("posts %+v, want the new incident once", chat.Posts)
	}
	for range 50 {
		ingest(t, b, alert("disk", bot.AlertFiring))
	}
	if ran := run(); ran != 0 {
		t.Errorf("a storm's digest ran at once (%d jobs), want it to wait for more alerts", ran)
	}
	clock.Advance(3 * time.Second)
	if ran := run(); ran != 1 {
		t.Errorf("%d jobs for a storm of 50 alerts, want one coalesced update within 3s", ran)
	}
	if len(chat.Updates) != 1 || chat.NewAlerts[0] != 50 {
		t.Fatalf("updates %d %v, want one telling of the 50 new alerts", len(chat.Updates), chat.NewAlerts)
	}
	// The platform is down: the job stays and runs once it is back.
	chat.Fail = bot.Retryable(errors.New("503 from slack"), time.Minute)
	if _, err := b.Acknowledge(ctx(t), inc.Number, bot.Actor{ID: "tanaka", Source: "slack"}); err != nil {
		t.Fatal(err)
	}
	run()
	chat.Fail = nil
	if run() != 0 {
		t.Error("retried before its Retry-After")
	}
	clock.Advance(time.Minute)
	run()
	if len(chat.Updates) != 2 || chat.Updates[1][0].Kind != bot.EventAcknowledged {
		t.Errorf("after the outage: updates %+v, want the ack", chat.Updates)
	}
	// The ack's sync ran; alerts after it need a digest of their own, and
	// a second storm again costs one update.
	for range 5 {
		ingest(t, b, alert("disk", bot.AlertFiring))
	}
	clock.Advance(3 * time.Second)
	if ran := run(); ran != 1 || len(chat.NewAlerts) != 3 || chat.NewAlerts[2] != 5 {
		t.Errorf("alerts after the ack: %d jobs, new alerts per update %v; want one update with 5", ran, chat.NewAlerts)
	}
	// A service without a chat channel enqueues nothing.
	quiet := alert("x", bot.AlertFiring)
	quiet.Service = "batch"
	ingest(t, b, quiet)
	if n := run(); n != 0 {
		t.Errorf("%d jobs for a service without channels", n)
	}
}
