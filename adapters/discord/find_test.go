package discord

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/bot/storetest"
)

const (
	routeListMessages = "GET channels/{id}/messages"
	memberID          = "1200000000000000001"
)

func TestFindIncident(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	inc := chatIncident() // INC-1
	th := postedChat(t, chat, inc)
	// Its thread has a digest that names it.
	acked := inc
	acked.Status, acked.Owner, acked.LastSeq = bot.StatusAcknowledged, "tanaka", 2
	note := []bot.Event{{Seq: 2, Kind: bot.EventNote, Actor: "tanaka", Source: "discord", Text: "INC-1 restarted", At: updateAt}}
	if err := chat.PostUpdate(testCtx(t), th, acked, note); err != nil {
		t.Fatal(err)
	}
	// Other incidents' roots: INC-10, whose reference starts with INC-1's,
	// and INC-2 without a title, whose embed title is the reference alone.
	longer := chatIncident()
	longer.ID, longer.Number = 50, 10
	postedChat(t, chat, longer)
	bare := chatIncident()
	bare.ID, bare.Number, bare.Title = 51, 2, ""
	bareTh := postedChat(t, chat, bare)
	// A member quotes it, with a link Discord unfurled into an embed that
	// looks like the root; its postmortem, the bot's own message, names it.
	if _, err := fake.Say(alertsChannel, memberID, "INC-1 db01 disk 95% again? https://status.example.com/INC-1",
		discordtest.Embed{Type: "link", Title: "INC-1 db01 disk 95%", Footer: &discordtest.EmbedFooter{Text: "Hotline"}}); err != nil {
		t.Fatal(err)
	}
	if err := chat.PostPostmortem(testCtx(t), alertsChannel, bot.Postmortem{IncidentID: inc.ID, Number: inc.Number,
		Service: "web", Title: inc.Title, Severity: inc.Severity, Cause: "logs", Fix: "rotated"}); err != nil {
		t.Fatal(err)
	}

	got, found, err := chat.FindIncident(testCtx(t), alertsChannel, inc)
	if err != nil || !found {
		t.Fatalf("INC-1: %+v, %v, %v; want its root", got, found, err)
	}
	if got.MessageID != th.MessageID || got.Channel != alertsChannel || got.Platform != "discord" || got.IncidentID != inc.ID {
		t.Errorf("INC-1 found as %+v, want the root %s in %s", got, th.MessageID, alertsChannel)
	}
	if got, found, err := chat.FindIncident(testCtx(t), alertsChannel, bare); err != nil || !found || got.MessageID != bareTh.MessageID {
		t.Errorf("INC-2: %+v, %v, %v; want its root %s", got, found, err, bareTh.MessageID)
	}
	absent := chatIncident()
	absent.ID, absent.Number = 52, 3
	if got, found, err := chat.FindIncident(testCtx(t), alertsChannel, absent); err != nil || found {
		t.Errorf("INC-3, never posted: %+v, %v, %v; want not found", got, found, err)
	}
	lists := callsOf(fake, "GET channels/{channel_id}/messages")
	if len(lists) != 3 || lists[0].Path != "channels/"+alertsChannel+"/messages" || lists[0].Query.Get("limit") != "50" {
		t.Errorf("list calls %+v, want 3 of %s with limit 50", lists, alertsChannel)
	}
	if n := len(fake.Messages(alertsChannel)); n != 5 {
		t.Errorf("%d messages in the channel, want the 5 the test made: looking posts nothing", n)
	}
}

func TestFindIncidentErrors(t *testing.T) {
	inc := chatIncident()
	for _, tt := range []struct {
		name      string
		channel   string
		prepare   func(f *discordtest.Server)
		cancel    bool
		retryable bool
		after     time.Duration
		hint      string // in the InvalidError's reason
	}{
		{name: "rate limited", prepare: func(f *discordtest.Server) {
			f.FailNext(routeListMessages, 1, http.StatusTooManyRequests, 2*time.Second)
		},
			retryable: true, after: 2 * time.Second},
		{name: "500", prepare: func(f *discordtest.Server) { f.FailNext(routeListMessages, 1, http.StatusInternalServerError, 0) },
			retryable: true},
		{name: "missing access", prepare: func(f *discordtest.Server) { f.FailNext(routeListMessages, 1, http.StatusForbidden, 0) },
			hint: "permissions"},
		{name: "unknown channel", channel: lostChannel, hint: "channels.discord"},
		{name: "no channel", channel: " ", hint: "no discord channel"},
		{name: "cancelled", cancel: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			chat := newTestChat(t, fake)
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
			th, found, err := chat.FindIncident(ctx, channel, inc)
			if err == nil || found {
				t.Fatalf("found %+v (%v), want an error", th, found)
			}
			var retry *bot.RetryableError
			var invalid *bot.InvalidError
			switch {
			case tt.cancel:
				if !errors.Is(err, context.Canceled) || errors.As(err, &invalid) {
					t.Errorf("cancelled: %v, want context.Canceled and no refusal", err)
				}
			case tt.retryable:
				if !errors.As(err, &retry) || errors.As(err, &invalid) {
					t.Fatalf("error %v, want a RetryableError only", err)
				}
				if d := retry.RetryAfter - tt.after; d < -250*time.Millisecond || d > 250*time.Millisecond {
					t.Errorf("retry after %v, want about %v", retry.RetryAfter, tt.after)
				}
			default:
				if !errors.As(err, &invalid) || errors.As(err, &retry) || !strings.Contains(invalid.Reason, tt.hint) {
					t.Errorf("error %v, want an InvalidError saying %q", err, tt.hint)
				}
			}
		})
	}
}

// A replica claims a new incident's sync, Discord takes the root, and the
// replica dies before the thread is saved: the replica that takes the job
// over finds that root instead of posting a second one.
func TestRetryFindsRootThroughBot(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake)
	clock := storetest.NewClock()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := bot.New(bot.Config{
		Store: st, Clock: clock, Logger: quiet, Chats: []bot.Chat{chat},
		Services: []bot.Service{{ID: "web", Name: "Web shop", Channels: map[string]string{"discord": alertsChannel}}},
	})
	t.Cleanup(b.Close)
	ingest := func(fingerprint string) bot.Incident {
		t.Helper()
		res, err := b.Ingest(testCtx(t), bot.Alert{Integration: "generic", Source: "generic", Service: "web",
			Fingerprint: fingerprint, Status: bot.AlertFiring, Title: fingerprint + " disk 95%", Severity: bot.Sev2, ReceivedAt: clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res.Incident
	}
	runDue := func() {
		t.Helper()
		if _, err := b.RunDue(testCtx(t), "alive"); err != nil {
			t.Fatal(err)
		}
	}

	// The first attempt posts without looking.
	first := ingest("db01")
	runDue()
	if n := len(callsOf(fake, "GET channels/{channel_id}/messages")); n != 0 || len(fake.Messages(alertsChannel)) != 1 {
		t.Fatalf("first attempt: %d lookups, %d messages; want the root posted without looking", n, len(fake.Messages(alertsChannel)))
	}

	inc := ingest("db02")
	jobs, err := st.Claim(testCtx(t), "dead", 16, 30*time.Second)
	if err != nil || len(jobs) != 1 || jobs[0].IncidentID != inc.ID {
		t.Fatalf("claim the sync of %s: %+v, %v", inc.Ref(), jobs, err)
	}
	if _, err := chat.PostIncident(testCtx(t), alertsChannel, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acknowledge(testCtx(t), inc.Number, bot.Actor{ID: "tanaka", Source: "phone"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Second)
	runDue()

	var roots []discordtest.Message
	for _, m := range fake.Messages(alertsChannel) {
		if len(m.Embeds) > 0 && strings.HasPrefix(m.Embeds[0].Title, inc.Ref()+" ") {
			roots = append(roots, m)
		}
	}
	if len(roots) != 1 {
		t.Fatalf("%d roots of %s in the channel, want the one the dead replica posted", len(roots), inc.Ref())
	}
	root := roots[0]
	if got := fieldValue(root.Embeds[0], "Status"); got != "🟡 Acknowledged" || root.Edits != 1 {
		t.Errorf("the found root: status %q after %d edits, want edited once to show the ack", got, root.Edits)
	}
	threads, err := st.Threads(testCtx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := st.Incident(testCtx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(threads) != 1 || threads[0].MessageID != root.ID || threads[0].PostedSeq != now.LastSeq {
		t.Errorf("threads %+v, want the found root %s saved as showing seq %d", threads, root.ID, now.LastSeq)
	}
	if n := len(callsOf(fake, "GET channels/{channel_id}/messages")); n != 1 {
		t.Errorf("%d lookups, want one, by the retry", n)
	}
	if threads, err := st.Threads(testCtx(t), first.ID); err != nil || len(threads) != 1 {
		t.Errorf("%s's thread: %+v, %v", first.Ref(), threads, err)
	}
}
