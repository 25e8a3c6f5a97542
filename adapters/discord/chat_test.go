package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
)

// Channel snowflakes the fake knows once a test adds them.
const (
	alertsChannel = "1100000000000000001" // the web service's incidents
	kbChannel     = "1100000000000000002" // the web service's knowledge base
	lostChannel   = "1100000000000000009" // never added: Discord says Unknown Channel
)

// Routes as FailNext names them.
const (
	routeCreateMessage = "POST channels/{id}/messages"
	routeEditMessage   = "PATCH channels/{id}/messages/{id}"
	routeStartThread   = "POST channels/{id}/messages/{id}/threads"
)

var quiet = slog.New(slog.DiscardHandler)

func newFake(t *testing.T, opts ...discordtest.Option) *discordtest.Server {
	t.Helper()
	fake, err := discordtest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.AddChannel(alertsChannel)
	fake.AddChannel(kbChannel)
	return fake
}

func newTestChat(t *testing.T, fake *discordtest.Server) *Chat {
	t.Helper()
	c, err := NewChat(ChatConfig{
		BotToken: fake.Token(), APIURL: fake.APIURL(), Locale: "en",
		ServiceNames: map[string]string{"web": "Web shop"}, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hotline is a real bot on SQLite that posts to the fake Discord, with its
// job runner running.
type hotline struct {
	fake  *discordtest.Server
	chat  *Chat
	store *sqlite.Store
	bot   *bot.Bot
}

func newHotline(t *testing.T, opts ...discordtest.Option) *hotline {
	t.Helper()
	fake := newFake(t, opts...)
	chat := newTestChat(t, fake)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := bot.New(bot.Config{
		Store: st, Logger: quiet,
		Services: []bot.Service{{
			ID: "web", Name: "Web shop",
			Channels:      map[string]string{"discord": alertsChannel},
			KnowledgeBase: map[string]string{"discord": kbChannel},
		}},
		Chats: []bot.Chat{chat},
	})
	t.Cleanup(b.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.RunJobs(ctx, bot.RunnerConfig{Worker: "test", Poll: 100 * time.Millisecond}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("job runner: %v", err)
		}
	})
	return &hotline{fake: fake, chat: chat, store: st, bot: b}
}

func (h *hotline) ingest(t *testing.T, title string) bot.IngestResult {
	t.Helper()
	res, err := h.bot.Ingest(testCtx(t), bot.Alert{
		Integration: "generic", Source: "generic", Service: "web", Fingerprint: "db01",
		Status: bot.AlertFiring, Title: title, Severity: bot.Sev2, ReceivedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// openIncident ingests the db01 alert and waits until its root message is
// on Discord and its thread saved, so the inbound side can find it.
func (h *hotline) openIncident(t *testing.T) (bot.Incident, bot.Thread) {
	t.Helper()
	res := h.ingest(t, "db01 disk 95%")
	if res.Action != bot.IngestOpened {
		t.Fatalf("ingest: %s, want a new incident", res.Action)
	}
	th := h.thread(t, res.Incident.ID)
	return res.Incident, th
}

// thread waits for the incident's Discord thread to be saved.
func (h *hotline) thread(t *testing.T, incidentID int64) bot.Thread {
	t.Helper()
	var th bot.Thread
	waitFor(t, "the incident's discord thread to be saved", func() bool {
		threads, err := h.store.Threads(testCtx(t), incidentID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range threads {
			if x.Platform == "discord" {
				th = x
				return true
			}
		}
		return false
	})
	return th
}

func (h *hotline) incident(t *testing.T, id int64) bot.Incident {
	t.Helper()
	inc, err := h.store.Incident(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (h *hotline) timeline(t *testing.T, id int64) []bot.Event {
	t.Helper()
	events, err := h.store.Timeline(testCtx(t), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func eventsOf(events []bot.Event, kind bot.EventKind) []bot.Event {
	var out []bot.Event
	for _, e := range events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (h *hotline) message(t *testing.T, id string) discordtest.Message {
	t.Helper()
	m, ok := h.fake.Message(id)
	if !ok {
		t.Fatalf("no message %s on Discord", id)
	}
	return m
}

func fieldValue(e discordtest.Embed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func customIDsOf(m discordtest.Message) []string {
	var out []string
	for _, b := range m.Buttons() {
		out = append(out, b.CustomID)
	}
	return out
}

// mentionsNobody says the message was sent with allowed_mentions that let
// nothing ping.
func mentionsNobody(m discordtest.Message) bool {
	a := m.AllowedMentions
	return a != nil && a.Parse != nil && len(a.Parse) == 0 && len(a.Users) == 0 && len(a.Roles) == 0 && !a.RepliedUser
}

func callsOf(fake *discordtest.Server, route string) []discordtest.Call {
	var out []discordtest.Call
	for _, c := range fake.Calls() {
		if c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

func TestPostIncidentThroughBot(t *testing.T) {
	h := newHotline(t)
	inc, th := h.openIncident(t)

	msgs := h.fake.Messages(alertsChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the channel, want the root only", len(msgs))
	}
	root := msgs[0]
	if th.Channel != alertsChannel || th.MessageID != root.ID || th.Platform != "discord" || th.IncidentID != inc.ID {
		t.Errorf("saved thread %+v, want channel %s and the root %s", th, alertsChannel, root.ID)
	}
	if root.Content != "" || len(root.Embeds) != 1 {
		t.Fatalf("root: content %q and %d embeds, want one embed only", root.Content, len(root.Embeds))
	}
	e := root.Embeds[0]
	if e.Title != "INC-1 db01 disk 95%" {
		t.Errorf("embed title %q", e.Title)
	}
	if e.Color != 0xF0883E {
		t.Errorf("embed colour %#x, want sev2's orange", e.Color)
	}
	for name, want := range map[string]string{"Severity": "sev2", "Status": "🔴 Triggered", "Owner": "nobody", "Service": "Web shop"} {
		if got := fieldValue(e, name); got != want {
			t.Errorf("field %s = %q, want %q", name, got, want)
		}
	}
	if want := []string{"incident.ack:1", "incident.own:1", "incident.resolve:1", "incident.escalate:1"}; !reflect.DeepEqual(customIDsOf(root), want) {
		t.Errorf("buttons %v, want %v", customIDsOf(root), want)
	}
	if !mentionsNobody(root) {
		t.Errorf("allowed_mentions %+v, want parse []", root.AllowedMentions)
	}

	thread, ok := h.fake.Thread(root.ID)
	if !ok {
		t.Fatal("no thread started from the root message")
	}
	if thread.ID != root.ID || thread.ParentID != alertsChannel || thread.Name != "INC-1 db01 disk 95%" {
		t.Errorf("thread %+v, want id %s in %s named after the incident", thread, root.ID, alertsChannel)
	}
	if thread.AutoArchiveDuration != threadArchiveMinutes {
		t.Errorf("thread archives after %d minutes, want %d", thread.AutoArchiveDuration, threadArchiveMinutes)
	}
	if n := len(callsOf(h.fake, "POST channels/{channel_id}/messages")); n != 1 {
		t.Errorf("%d message creates, want 1", n)
	}
	if got := h.fake.Messages(thread.ID); len(got) != 0 {
		t.Errorf("%d replies in a new incident's thread, want none", len(got))
	}
}

// chatIncident is INC-1 as the bot would hand it to the chat.
func chatIncident() bot.Incident {
	return bot.Incident{ID: 41, Number: 1, Service: "web", Fingerprint: "db01", Title: "db01 disk 95%",
		Status: bot.StatusTriggered, Severity: bot.Sev2, AlertCount: 1, LastSeq: 1,
		CreatedAt: time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)}
}

// postedChat posts INC-1 directly and returns its thread as the bot would
// save it.
func postedChat(t *testing.T, chat *Chat, inc bot.Incident) bot.Thread {
	t.Helper()
	th, err := chat.PostIncident(testCtx(t), alertsChannel, inc)
	if err != nil {
		t.Fatal(err)
	}
	th.IncidentID, th.PostedSeq, th.PostedAlerts = inc.ID, inc.LastSeq, inc.AlertCount
	return th
}

var updateAt = time.Date(2026, 11, 27, 1, 10, 0, 0, time.UTC)

func TestPostUpdateEditsEmbedAndRepliesInThread(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	inc := chatIncident()
	th := postedChat(t, chat, inc)

	inc.Status, inc.Owner, inc.AlertCount, inc.LastSeq = bot.StatusAcknowledged, "tanaka", 3, 3
	events := []bot.Event{
		{Seq: 2, Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "discord", Text: "acknowledged", At: updateAt},
		{Seq: 3, Kind: bot.EventNote, Actor: "tanaka", Source: "discord", Text: "restarted nginx", At: updateAt.Add(time.Minute)},
	}
	if err := chat.PostUpdate(testCtx(t), th, inc, events); err != nil {
		t.Fatal(err)
	}

	msgs := fake.Messages(alertsChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the channel, want the root only: replies go to the thread", len(msgs))
	}
	root := msgs[0]
	if root.ID != th.MessageID || root.Edits != 1 {
		t.Errorf("root %s edited %d times, want %s edited once", root.ID, root.Edits, th.MessageID)
	}
	if got := fieldValue(root.Embeds[0], "Status"); got != "🟡 Acknowledged" {
		t.Errorf("status field %q after the ack", got)
	}
	if got := fieldValue(root.Embeds[0], "Owner"); got != "tanaka" {
		t.Errorf("owner field %q", got)
	}
	if want := []string{"incident.own:1", "incident.resolve:1"}; !reflect.DeepEqual(customIDsOf(root), want) {
		t.Errorf("buttons %v once acknowledged, want %v", customIDsOf(root), want)
	}
	replies := fake.Messages(th.MessageID)
	if len(replies) != 1 {
		t.Fatalf("%d replies in the thread, want one digest", len(replies))
	}
	want := "<t:1795741800:t> **acknowledged** — *by tanaka via discord*\n" +
		"<t:1795741860:t> **note** restarted nginx — *by tanaka via discord*\n" +
		"+2 alerts since the last update"
	if replies[0].Content != want {
		t.Errorf("digest\n%s\nwant\n%s", replies[0].Content, want)
	}
	if !mentionsNobody(replies[0]) {
		t.Errorf("digest allowed_mentions %+v, want parse []", replies[0].AllowedMentions)
	}

	// Nothing new: the embed is refreshed, nothing is said.
	th.PostedSeq, th.PostedAlerts = inc.LastSeq, inc.AlertCount
	if err := chat.PostUpdate(testCtx(t), th, inc, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages(th.MessageID)); n != 1 {
		t.Errorf("%d replies after an update with nothing new, want still 1", n)
	}

	inc.Status, inc.LastSeq = bot.StatusResolved, 4
	resolved := []bot.Event{{Seq: 4, Kind: bot.EventResolved, Actor: "tanaka", Source: "discord", Text: "resolved: disk cleaned", At: updateAt.Add(2 * time.Minute)}}
	if err := chat.PostUpdate(testCtx(t), th, inc, resolved); err != nil {
		t.Fatal(err)
	}
	root, _ = fake.Message(th.MessageID)
	if len(root.Buttons()) != 0 || len(root.Components) != 0 {
		t.Errorf("resolved root still has components %+v", root.Components)
	}
	if root.Embeds[0].Color != resolvedColor || root.Edits != 3 {
		t.Errorf("resolved root: colour %#x after %d edits, want green after 3", root.Embeds[0].Color, root.Edits)
	}
	replies = fake.Messages(th.MessageID)
	if len(replies) != 2 || !strings.Contains(replies[1].Content, "**resolved** disk cleaned") {
		t.Errorf("replies %+v, want the resolve as the second", replies)
	}
	if n := fake.EveryoneMentions(); n != 0 {
		t.Errorf("%d messages pinged everyone", n)
	}
}

func TestPostUpdateHereOnlyFromHotline(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	inc := chatIncident()
	th := postedChat(t, chat, inc)

	// An alert that tries to ping the channel: escaped, and nobody may be
	// pinged anyway.
	inc.LastSeq = 2
	hostile := []bot.Event{{Seq: 2, Kind: bot.EventAlert, Actor: "generic", Source: "webhook", Text: "@everyone @here db01 is down", At: updateAt}}
	if err := chat.PostUpdate(testCtx(t), th, inc, hostile); err != nil {
		t.Fatal(err)
	}
	replies := fake.Messages(th.MessageID)
	if len(replies) != 1 || !mentionsNobody(replies[0]) {
		t.Fatalf("replies %+v, want one that pings nobody", replies)
	}
	if strings.Contains(replies[0].Content, "@everyone") || strings.Contains(replies[0].Content, "@here") {
		t.Errorf("alert text not escaped: %q", replies[0].Content)
	}
	if n := fake.EveryoneMentions(); n != 0 {
		t.Fatalf("an alert's text pinged everyone (%d)", n)
	}

	// Hotline's own @here: an escalation that ran out of contacts.
	th.PostedSeq, inc.LastSeq = 2, 3
	ranOut := []bot.Event{{Seq: 3, Kind: bot.EventEscalation, Source: "system", Text: "@here nobody answered the phone", At: updateAt}}
	if err := chat.PostUpdate(testCtx(t), th, inc, ranOut); err != nil {
		t.Fatal(err)
	}
	replies = fake.Messages(th.MessageID)
	if len(replies) != 2 {
		t.Fatalf("%d replies, want 2", len(replies))
	}
	if !strings.Contains(replies[1].Content, "@here nobody answered the phone") {
		t.Errorf("escalation reply %q, want Hotline's @here", replies[1].Content)
	}
	if a := replies[1].AllowedMentions; a == nil || !reflect.DeepEqual(a.Parse, []string{"everyone"}) || len(a.Users) != 0 || len(a.Roles) != 0 {
		t.Errorf("escalation reply allowed_mentions %+v, want parse [everyone] only", a)
	}
	if n := fake.EveryoneMentions(); n != 1 {
		t.Errorf("%d messages pinged everyone, want the escalation only", n)
	}
}

func TestPostUpdateStormIsOneRootAndACount(t *testing.T) {
	t.Parallel()
	h := newHotline(t)
	inc, th := h.openIncident(t)
	if th.PostedAlerts != 1 {
		t.Fatalf("root posted with %d alerts, want 1", th.PostedAlerts)
	}

	const storm = 499
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, storm)
	for range storm {
		wg.Go(func() {
			res, err := h.bot.Ingest(testCtx(t), bot.Alert{
				Integration: "generic", Source: "generic", Service: "web", Fingerprint: "db01",
				Status: bot.AlertFiring, Title: "db01 disk 95%", Severity: bot.Sev2, ReceivedAt: time.Now(),
			})
			if err == nil && (res.Action != bot.IngestAppended || res.Incident.ID != inc.ID) {
				err = fmt.Errorf("alert %s to incident %d, want appended to %d", res.Action, res.Incident.ID, inc.ID)
			}
			errs <- err
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	waitFor(t, "the storm's digest", func() bool {
		return h.thread(t, inc.ID).PostedAlerts == storm+1
	})
	if n := len(h.fake.Messages(alertsChannel)); n != 1 {
		t.Errorf("%d messages in the channel after %d alerts, want the one root", n, storm+1)
	}
	counted := regexp.MustCompile(`^\+(\d+) alerts since the last update$`)
	total := 0
	replies := h.fake.Messages(th.MessageID)
	for _, r := range replies {
		m := counted.FindStringSubmatch(r.Content)
		if m == nil {
			t.Fatalf("reply %q, want only the count of alerts", r.Content)
		}
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	if total != storm {
		t.Errorf("replies count %d alerts, want %d", total, storm)
	}
	// A digest waits 3 s for the alerts after the first: a storm ingested
	// well within that is one digest; a slower one (a loaded machine) may
	// be a few.
	if took < 2*time.Second && len(replies) != 1 {
		t.Errorf("%d digests for a storm ingested in %v, want 1", len(replies), took)
	}
	if len(replies) > 1+int(took/(3*time.Second)) {
		t.Errorf("%d digests for a storm ingested in %v, want one per 3 s at most", len(replies), took)
	}
	if got := h.incident(t, inc.ID).AlertCount; got != storm+1 {
		t.Errorf("incident counts %d alerts, want %d", got, storm+1)
	}
	if root := h.message(t, th.MessageID); root.Edits < 1 {
		t.Errorf("root never edited after the storm")
	}
}

func TestPostIncidentThreadMissing(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	inc := chatIncident()

	fake.FailNext(routeStartThread, 1, http.StatusInternalServerError, 0)
	th := postedChat(t, chat, inc)
	msgs := fake.Messages(alertsChannel)
	if len(msgs) != 1 || th.MessageID != msgs[0].ID {
		t.Fatalf("messages %+v, thread %+v: want the root posted once and returned", msgs, th)
	}
	if _, ok := fake.Thread(th.MessageID); ok {
		t.Fatal("a thread exists although starting it failed")
	}

	inc.Status, inc.Owner, inc.LastSeq = bot.StatusAcknowledged, "tanaka", 2
	events := []bot.Event{{Seq: 2, Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "discord", Text: "acknowledged", At: updateAt}}
	if err := chat.PostUpdate(testCtx(t), th, inc, events); err != nil {
		t.Fatal(err)
	}
	thread, ok := fake.Thread(th.MessageID)
	if !ok || thread.Name != "INC-1 db01 disk 95%" {
		t.Fatalf("thread %+v (%v), want it started by the update", thread, ok)
	}
	replies := fake.Messages(th.MessageID)
	if len(replies) != 1 || !strings.Contains(replies[0].Content, "**acknowledged**") {
		t.Errorf("replies %+v, want the ack in the thread", replies)
	}
	if n := len(fake.Messages(alertsChannel)); n != 1 {
		t.Errorf("%d messages in the channel, want the root only", n)
	}
	if n := len(callsOf(fake, "POST channels/{channel_id}/messages/{message_id}/threads")); n != 2 {
		t.Errorf("%d thread starts, want the failed one and the update's", n)
	}
}

func TestChatErrors(t *testing.T) {
	type check func(t *testing.T, fake *discordtest.Server, err error)
	retryable := func(after time.Duration) check {
		return func(t *testing.T, _ *discordtest.Server, err error) {
			var r *bot.RetryableError
			if !errors.As(err, &r) {
				t.Fatalf("error %v (%T), want a RetryableError", err, err)
			}
			if d := r.RetryAfter - after; d < -250*time.Millisecond || d > 250*time.Millisecond {
				t.Errorf("retry after %v, want about %v", r.RetryAfter, after)
			}
			var invalid *bot.InvalidError
			if errors.As(err, &invalid) {
				t.Errorf("retryable error %v is also an InvalidError: the runner would give up", err)
			}
		}
	}
	invalid := func(hint string) check {
		return func(t *testing.T, _ *discordtest.Server, err error) {
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("error %v (%T), want an InvalidError", err, err)
			}
			if !strings.Contains(invalid.Reason, hint) {
				t.Errorf("reason %q does not say %q", invalid.Reason, hint)
			}
			var r *bot.RetryableError
			if errors.As(err, &r) {
				t.Errorf("refusal %v is retryable", err)
			}
		}
	}
	tests := []struct {
		name    string
		channel string
		token   string
		prepare func(fake *discordtest.Server)
		cancel  bool
		check   check
	}{
		{name: "rate limited", prepare: func(f *discordtest.Server) {
			f.FailNext(routeCreateMessage, 1, http.StatusTooManyRequests, 2*time.Second)
		},
			check: retryable(2 * time.Second)},
		{name: "500", prepare: func(f *discordtest.Server) { f.FailNext(routeCreateMessage, 1, http.StatusInternalServerError, 0) },
			check: retryable(0)},
		{name: "503", prepare: func(f *discordtest.Server) { f.FailNext(routeCreateMessage, 1, http.StatusServiceUnavailable, 0) },
			check: retryable(0)},
		{name: "502 after discordgo's retries", prepare: func(f *discordtest.Server) { f.FailNext(routeCreateMessage, 4, http.StatusBadGateway, 0) },
			check: func(t *testing.T, f *discordtest.Server, err error) {
				retryable(0)(t, f, err)
				if n := len(callsOf(f, "POST channels/{channel_id}/messages")); n != 4 {
					t.Errorf("%d attempts, want discordgo's 4", n)
				}
			}},
		{name: "unknown channel", channel: lostChannel, check: invalid("channels.discord")},
		{name: "missing permissions", prepare: func(f *discordtest.Server) { f.FailNext(routeCreateMessage, 1, http.StatusForbidden, 0) },
			check: invalid("permissions")},
		{name: "bad token", token: "OTAwMDAwMDAwMDAwMDAwMDAx.bad.token", check: invalid("bot_token")},
		{name: "cancelled", cancel: true, check: func(t *testing.T, _ *discordtest.Server, err error) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
			var invalid *bot.InvalidError
			if errors.As(err, &invalid) {
				t.Errorf("a cancelled call is a refusal: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			chat := newTestChat(t, fake)
			if tt.token != "" {
				var err error
				chat, err = NewChat(ChatConfig{BotToken: tt.token, APIURL: fake.APIURL(), Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.prepare != nil {
				tt.prepare(fake)
			}
			ctx, cancel := context.WithCancel(testCtx(t))
			if tt.cancel {
				cancel()
			}
			defer cancel()
			channel := alertsChannel
			if tt.channel != "" {
				channel = tt.channel
			}
			th, err := chat.PostIncident(ctx, channel, chatIncident())
			if err == nil {
				t.Fatalf("posted %+v, want an error", th)
			}
			tt.check(t, fake, err)
			if n := len(fake.Messages(alertsChannel)); n != 0 {
				t.Errorf("%d messages posted by a failed call", n)
			}
		})
	}
}

func TestPostUpdateErrors(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	inc := chatIncident()
	th := postedChat(t, chat, inc)
	inc.LastSeq = 2
	events := []bot.Event{{Seq: 2, Kind: bot.EventNote, Actor: "tanaka", Source: "discord", Text: "looking", At: updateAt}}

	fake.FailNext(routeEditMessage, 1, http.StatusTooManyRequests, time.Second)
	err := chat.PostUpdate(testCtx(t), th, inc, events)
	var r *bot.RetryableError
	if !errors.As(err, &r) || r.RetryAfter < 750*time.Millisecond {
		t.Fatalf("rate-limited edit: %v, want retryable after about 1s", err)
	}
	if n := len(fake.Messages(th.MessageID)); n != 0 {
		t.Fatalf("%d replies although the edit failed: the retry would post them twice", n)
	}

	// A chat of its own: discordgo holds the rate-limited bucket for a second.
	gone := th
	gone.MessageID = "1100000000000000077"
	err = newTestChat(t, fake).PostUpdate(testCtx(t), gone, inc, events)
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Errorf("edit of a deleted message: %v, want an InvalidError", err)
	}
}

func TestPostPostmortem(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	pm := bot.Postmortem{
		IncidentID: 41, Number: 4, Service: "web", Title: "db01 disk 95%", Severity: bot.Sev2, Owner: "tanaka",
		Cause: "old logs filled the disk @everyone", Fix: "rotated the logs", FollowUps: "alert at 80%",
		TimeToAck: 2 * time.Minute, TimeToResolve: 40 * time.Minute, AlertCount: 3,
		Timeline: []bot.Event{{Kind: bot.EventResolved, Actor: "tanaka", Text: "resolved @here", At: updateAt}},
	}
	if err := chat.PostPostmortem(testCtx(t), kbChannel, pm); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(kbChannel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the knowledge base, want 1", len(msgs))
	}
	m := msgs[0]
	for _, want := range []string{"Postmortem INC-4", "Web shop", "old logs filled the disk", "rotated the logs", "alert at 80%"} {
		if !strings.Contains(m.Content, want) {
			t.Errorf("postmortem does not say %q:\n%s", want, m.Content)
		}
	}
	if !mentionsNobody(m) || fake.EveryoneMentions() != 0 {
		t.Errorf("postmortem allowed_mentions %+v, %d everyone pings: want none", m.AllowedMentions, fake.EveryoneMentions())
	}
	if m.Flags&discordtest.FlagSuppressEmbeds == 0 {
		t.Errorf("flags %b: link previews not suppressed", m.Flags)
	}
	if n := len(fake.Messages(alertsChannel)); n != 0 {
		t.Errorf("%d messages in the incident channel", n)
	}

	err := chat.PostPostmortem(testCtx(t), lostChannel, pm)
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) || !strings.Contains(invalid.Reason, "10003") {
		t.Errorf("postmortem to an unknown channel: %v, want an InvalidError", err)
	}
}
