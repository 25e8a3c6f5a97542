package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
	"github.com/slack-go/slack"
)

const testChannel = "C0ALERTS"

func newFake(t *testing.T) *slacktest.Server {
	t.Helper()
	fake, err := slacktest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

func newTestChat(t *testing.T, fake *slacktest.Server, locale string) *Chat {
	t.Helper()
	c, err := NewChat(ChatConfig{
		BotToken: fake.Token(), APIURL: fake.APIURL(), Locale: locale,
		ServiceNames: map[string]string{"web": "Web shop"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// blocksOf parses a message's blocks as Slack holds them.
func blocksOf(t *testing.T, m slacktest.Message) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(m.Blocks, &out); err != nil {
		t.Fatalf("message %s: blocks do not parse: %v\n%s", m.TS, err, m.Blocks)
	}
	return out
}

func TestPostIncidentRootMessage(t *testing.T) {
	for _, tt := range []struct {
		locale string
		labels []string
	}{
		{"en", []string{"Acknowledge", "Take ownership", "Resolve", "Call now"}},
		{"ja", []string{"確認", "担当する", "解決", "今すぐ電話"}},
	} {
		t.Run(tt.locale, func(t *testing.T) {
			fake := newFake(t)
			chat := newTestChat(t, fake, tt.locale)
			th, err := chat.PostIncident(testCtx(t), testChannel, sampleIncident(bot.StatusTriggered))
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages(testChannel)
			if len(msgs) != 1 {
				t.Fatalf("%d messages in the channel, want the root only", len(msgs))
			}
			root := msgs[0]
			if th.Channel != testChannel || th.MessageID != root.TS || th.MessageID == "" || th.Platform != "slack" {
				t.Errorf("thread %+v, want channel %s and the root's ts %s", th, testChannel, root.TS)
			}
			if root.ThreadTS != "" {
				t.Errorf("root posted into a thread %s", root.ThreadTS)
			}
			if root.Text != "INC-12 db01 disk usage 95%" {
				t.Errorf("notification text %q, want INC-12 and the title", root.Text)
			}
			blocks := blocksOf(t, root)
			if got := headerText(t, blocks); got != "INC-12 db01 disk usage 95%" {
				t.Errorf("visible header %q", got)
			}
			var ids, values, labels []string
			for _, b := range buttonsOf(t, blocks) {
				ids, values, labels = append(ids, b.actionID), append(values, b.value), append(labels, b.label)
			}
			if want := []string{"incident.ack", "incident.own", "incident.resolve", "incident.escalate"}; !reflect.DeepEqual(ids, want) {
				t.Errorf("action ids %v, want %v", ids, want)
			}
			if want := []string{"12", "12", "12", "12"}; !reflect.DeepEqual(values, want) {
				t.Errorf("button values %v, want the incident number", values)
			}
			if !reflect.DeepEqual(labels, tt.labels) {
				t.Errorf("labels %v, want %v", labels, tt.labels)
			}
			raw := string(plainJSON(t, blocks, ""))
			if !strings.Contains(raw, "Web shop") {
				t.Errorf("service display name missing: %s", raw)
			}
		})
	}
}

func TestPostIncidentLongTitleFitsBlockKit(t *testing.T) {
	fake := newFake(t)
	inc := sampleIncident(bot.StatusTriggered)
	inc.Title = strings.Repeat("ディスク使用率が閾値を超えました ", 40)
	if _, err := newTestChat(t, fake, "ja").PostIncident(testCtx(t), testChannel, inc); err != nil {
		t.Fatalf("a %d-character title: %v", len([]rune(inc.Title)), err)
	}
	msgs := fake.Messages(testChannel)
	if len(msgs) != 1 || !strings.HasPrefix(headerText(t, blocksOf(t, msgs[0])), "INC-12 ディスク使用率") {
		t.Errorf("messages %+v", msgs)
	}
}

func TestPostIncidentNeedsChannel(t *testing.T) {
	fake := newFake(t)
	_, err := newTestChat(t, fake, "en").PostIncident(testCtx(t), "", sampleIncident(bot.StatusTriggered))
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %v, want an InvalidError", err)
	}
	if n := len(fake.Calls()); n != 0 {
		t.Errorf("%d calls made without a channel", n)
	}
}

// posted posts the sample root and returns its thread as the store keeps it.
func posted(t *testing.T, chat *Chat, inc bot.Incident) bot.Thread {
	t.Helper()
	th, err := chat.PostIncident(testCtx(t), testChannel, inc)
	if err != nil {
		t.Fatal(err)
	}
	th.PostedSeq, th.PostedAlerts = inc.LastSeq, inc.AlertCount
	return th
}

var eventAt = blocksCreated.Add(5 * time.Minute)

func TestPostUpdateEditsRootAndReplies(t *testing.T) {
	for _, tt := range []struct {
		locale string
		want   []string
	}{
		{"en", []string{
			"*acknowledged* — _by tanaka via phone_",
			"*note* restarted nginx — _by U01SUZUKI via slack_",
			"*alert* db01 disk usage 97% — _by prom via webhook_",
			"+2 alerts since the last update",
		}},
		{"ja", []string{
			"*確認* — _tanaka（phone 経由）_",
			"*メモ* restarted nginx — _U01SUZUKI（slack 経由）_",
			"*アラート* db01 disk usage 97% — _prom（webhook 経由）_",
			"前回の更新から +2 件のアラート",
		}},
	} {
		t.Run(tt.locale, func(t *testing.T) {
			fake := newFake(t)
			chat := newTestChat(t, fake, tt.locale)
			inc := sampleIncident(bot.StatusTriggered)
			th := posted(t, chat, inc)

			inc.Status, inc.Owner, inc.AlertCount = bot.StatusAcknowledged, "tanaka", inc.AlertCount+2
			events := []bot.Event{
				{Seq: 1, Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "phone", At: eventAt},
				{Seq: 2, Kind: bot.EventNote, Actor: "U01SUZUKI", Source: "slack", Text: "restarted nginx", At: eventAt.Add(time.Minute)},
				{Seq: 3, Kind: bot.EventAlert, Actor: "prom", Source: "webhook", Text: "db01 disk usage 97%", At: eventAt.Add(2 * time.Minute)},
			}
			if err := chat.PostUpdate(testCtx(t), th, inc, events); err != nil {
				t.Fatal(err)
			}

			msgs := fake.Messages(testChannel)
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want the root and one reply", len(msgs))
			}
			root := msgs[0]
			if root.TS != th.MessageID || root.Edited != 1 {
				t.Errorf("root %s edited %d times, want the root %s edited once", root.TS, root.Edited, th.MessageID)
			}
			var ids []string
			for _, b := range buttonsOf(t, blocksOf(t, root)) {
				ids = append(ids, b.actionID)
			}
			if want := []string{"incident.own", "incident.resolve"}; !reflect.DeepEqual(ids, want) {
				t.Errorf("buttons after the ack %v, want %v", ids, want)
			}
			if raw := string(root.Blocks); !strings.Contains(raw, "tanaka") {
				t.Errorf("edited root does not show the owner: %s", raw)
			}

			replies := fake.Thread(testChannel, th.MessageID)
			if len(replies) != 1 {
				t.Fatalf("%d replies, want one", len(replies))
			}
			lines := strings.Split(replies[0].Text, "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("reply has %d lines, want %d:\n%s", len(lines), len(tt.want), replies[0].Text)
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d %q, want it to contain %q", i+1, lines[i], want)
				}
			}
			if !strings.HasPrefix(lines[0], fmt.Sprintf("<!date^%d^{time}|00:35 UTC> ", eventAt.Unix())) {
				t.Errorf("line 1 %q does not start with the event's time", lines[0])
			}
		})
	}
}

func TestPostUpdateStormIsOneBoundedReply(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered)
	th := posted(t, chat, inc)

	var events []bot.Event
	for i := range 500 {
		events = append(events, bot.Event{Seq: i + 1, Kind: bot.EventAlert, Source: "webhook",
			Text: fmt.Sprintf("db%02d disk usage %d%%", i%40, 90+i%10), At: eventAt.Add(time.Duration(i) * time.Second)})
	}
	events = append(events, bot.Event{Seq: 501, Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "slack", At: eventAt.Add(time.Hour)})
	inc.AlertCount += 500
	if err := chat.PostUpdate(testCtx(t), th, inc, events); err != nil {
		t.Fatal(err)
	}
	replies := fake.Thread(testChannel, th.MessageID)
	if len(replies) != 1 {
		t.Fatalf("%d replies for a storm, want one", len(replies))
	}
	lines := strings.Split(replies[0].Text, "\n")
	if len(lines) > chattext.DigestLineLimit+2 {
		t.Errorf("reply has %d lines, want at most %d", len(lines), chattext.DigestLineLimit+2)
	}
	text := replies[0].Text
	for _, want := range []string{"*acknowledged* — _by tanaka via slack_", "… and 481 more", "+500 alerts since the last update", "db00 disk usage 90%"} {
		if !strings.Contains(text, want) {
			t.Errorf("reply lacks %q:\n%s", want, text)
		}
	}
}

func TestPostUpdateNothingNewOnlyEditsRoot(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered)
	th := posted(t, chat, inc)

	inc.Severity = bot.Sev1
	if err := chat.PostUpdate(testCtx(t), th, inc, nil); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(testChannel)
	if len(msgs) != 1 || msgs[0].Edited != 1 {
		t.Fatalf("messages %+v, want the root alone, edited once", msgs)
	}
	if !strings.Contains(string(msgs[0].Blocks), "sev1") {
		t.Errorf("edited root does not show the new severity: %s", msgs[0].Blocks)
	}
	var methods []string
	for _, c := range fake.Calls() {
		methods = append(methods, c.Method)
	}
	if want := []string{"chat.postMessage", "chat.update"}; !reflect.DeepEqual(methods, want) {
		t.Errorf("calls %v, want %v", methods, want)
	}
}

func TestPostUpdateAlertsOnly(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered)
	th := posted(t, chat, inc)

	inc.AlertCount++
	if err := chat.PostUpdate(testCtx(t), th, inc, nil); err != nil {
		t.Fatal(err)
	}
	replies := fake.Thread(testChannel, th.MessageID)
	if len(replies) != 1 || replies[0].Text != "+1 alert since the last update" {
		t.Fatalf("replies %+v, want one saying +1 alert", replies)
	}
}

func TestPostUpdateHereNotifies(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered)
	th := posted(t, chat, inc)

	events := []bot.Event{
		{Seq: 1, Kind: bot.EventAlert, Source: "webhook", Text: "@here <b>disk</b> & more", At: eventAt},
		{Seq: 2, Kind: bot.EventEscalation, Source: "system", Text: "@here nobody accepted by phone after 2 rounds", At: eventAt},
	}
	if err := chat.PostUpdate(testCtx(t), th, inc, events); err != nil {
		t.Fatal(err)
	}
	replies := fake.Thread(testChannel, th.MessageID)
	if len(replies) != 1 {
		t.Fatalf("%d replies, want one", len(replies))
	}
	lines := strings.Split(replies[0].Text, "\n")
	if len(lines) != 2 {
		t.Fatalf("reply %q, want two lines", replies[0].Text)
	}
	if !strings.HasSuffix(lines[1], "*escalation* <!here> nobody accepted by phone after 2 rounds") {
		t.Errorf("escalation line %q, want a real <!here> mention", lines[1])
	}
	if !strings.HasSuffix(lines[0], "*alert* @here &lt;b&gt;disk&lt;/b&gt; &amp; more — _via webhook_") {
		t.Errorf("alert line %q, want its text escaped and no mention", lines[0])
	}
}

func TestPostUpdateNeedsThread(t *testing.T) {
	fake := newFake(t)
	err := newTestChat(t, fake, "en").PostUpdate(testCtx(t), bot.Thread{Channel: testChannel}, sampleIncident(bot.StatusTriggered), nil)
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %v, want an InvalidError", err)
	}
}

// retryAfter reports whether err is retryable and after how long.
func retryAfter(err error) (bool, time.Duration) {
	var re *bot.RetryableError
	if errors.As(err, &re) {
		return true, re.RetryAfter
	}
	return false, 0
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		slackError string
		header     string
		retryable  bool
		after      time.Duration
		contains   string
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, "", "30", true, 30 * time.Second, "rate limit"},
		{"429 without Retry-After", http.StatusTooManyRequests, "", "", true, 0, "429"},
		{"500", http.StatusInternalServerError, "", "", true, 0, "500"},
		{"503 with Retry-After", http.StatusServiceUnavailable, "", "12", true, 12 * time.Second, "503"},
		{"ok:false ratelimited", http.StatusOK, "ratelimited", "7", true, 7 * time.Second, "ratelimited"},
		{"ok:false internal_error", http.StatusOK, "internal_error", "", true, 0, "internal_error"},
		{"ok:false service_unavailable", http.StatusOK, "service_unavailable", "", true, 0, "service_unavailable"},
		{"ok:false channel_not_found", http.StatusOK, "channel_not_found", "", false, 0, "channel_not_found"},
		{"ok:false not_in_channel", http.StatusOK, "not_in_channel", "", false, 0, "invite the Hotline app"},
		{"ok:false msg_too_long", http.StatusOK, "msg_too_long", "", false, 0, "msg_too_long"},
		{"404", http.StatusNotFound, "", "", false, 0, "HTTP 404"},
	}
	ops := []struct {
		name, method string
		skip         int // successful calls of method before the failing one
		run          func(ctx context.Context, c *Chat, th bot.Thread) error
	}{
		{"PostIncident", "chat.postMessage", 0, func(ctx context.Context, c *Chat, _ bot.Thread) error {
			_, err := c.PostIncident(ctx, testChannel, sampleIncident(bot.StatusTriggered))
			return err
		}},
		{"PostUpdate root edit", "chat.update", 0, func(ctx context.Context, c *Chat, th bot.Thread) error {
			return c.PostUpdate(ctx, th, sampleIncident(bot.StatusAcknowledged), nil)
		}},
		{"PostUpdate reply", "chat.postMessage", 0, func(ctx context.Context, c *Chat, th bot.Thread) error {
			inc := sampleIncident(bot.StatusAcknowledged)
			inc.AlertCount++
			return c.PostUpdate(ctx, th, inc, nil)
		}},
		{"FindIncident", "conversations.history", 0, func(ctx context.Context, c *Chat, _ bot.Thread) error {
			_, _, err := c.FindIncident(ctx, testChannel, sampleIncident(bot.StatusTriggered))
			return err
		}},
	}
	for _, op := range ops {
		for _, tt := range tests {
			t.Run(op.name+"/"+tt.name, func(t *testing.T) {
				fake := newFake(t)
				chat := newTestChat(t, fake, "en")
				th := posted(t, chat, sampleIncident(bot.StatusTriggered))
				fake.FailNext(op.method, 1, tt.status, tt.slackError, tt.header)

				err := op.run(testCtx(t), chat, th)
				if err == nil {
					t.Fatal("no error")
				}
				retryable, after := retryAfter(err)
				if retryable != tt.retryable || after != tt.after {
					t.Errorf("retryable %v after %v, want %v after %v (err %v)", retryable, after, tt.retryable, tt.after, err)
				}
				var invalid *bot.InvalidError
				if permanent := errors.As(err, &invalid); permanent == tt.retryable {
					t.Errorf("InvalidError %v for a retryable=%v failure: %v", permanent, tt.retryable, err)
				}
				if !strings.Contains(err.Error(), tt.contains) {
					t.Errorf("error %q does not say %q", err, tt.contains)
				}
				if invalid != nil && !strings.Contains(invalid.Reason, tt.contains) {
					t.Errorf("InvalidError reason %q does not say %q", invalid.Reason, tt.contains)
				}
			})
		}
	}
}

func TestRefusalKeepsSlackError(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	fake.FailNext("chat.postMessage", 1, http.StatusOK, "channel_not_found", "")
	_, err := chat.PostIncident(testCtx(t), testChannel, sampleIncident(bot.StatusTriggered))
	var slackErr slack.SlackErrorResponse
	if !errors.As(err, &slackErr) || slackErr.Err != "channel_not_found" {
		t.Errorf("error %v does not carry slack-go's SlackErrorResponse", err)
	}
}

func TestFakeRefusalsReachTheCaller(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	th := posted(t, chat, sampleIncident(bot.StatusTriggered))

	// A root someone deleted: the fake answers as Slack does.
	th.MessageID = "1600000000.000100"
	err := chat.PostUpdate(testCtx(t), th, sampleIncident(bot.StatusTriggered), nil)
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("update of a missing root: %v, want a permanent message_not_found", err)
	}
	// A channel that is not an id.
	_, err = chat.PostIncident(testCtx(t), "#alerts", sampleIncident(bot.StatusTriggered))
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("post to #alerts: %v, want a permanent channel_not_found", err)
	}
}

func TestWrongTokenIsPermanent(t *testing.T) {
	fake := newFake(t)
	chat, err := NewChat(ChatConfig{BotToken: "xoxb-not-the-one", APIURL: fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = chat.PostIncident(testCtx(t), testChannel, sampleIncident(bot.StatusTriggered))
	if retryable, _ := retryAfter(err); retryable {
		t.Errorf("a wrong token is retryable: %v", err)
	}
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("error %v, want a permanent invalid_auth", err)
	}
	if n := len(fake.Messages(testChannel)); n != 0 {
		t.Errorf("%d messages posted with a wrong token", n)
	}
}

func TestNetworkFailureIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	chat, err := NewChat(ChatConfig{BotToken: "xoxb-1", APIURL: "http://" + addr + "/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = chat.PostIncident(testCtx(t), testChannel, sampleIncident(bot.StatusTriggered))
	if retryable, after := retryAfter(err); !retryable || after != 0 {
		t.Errorf("refused connection: %v, want retryable with the runner's backoff", err)
	}
}

func TestContextIsHonoured(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		fake := newFake(t)
		chat := newTestChat(t, fake, "en")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := chat.PostIncident(ctx, testChannel, sampleIncident(bot.StatusTriggered))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if n := len(fake.Calls()); n != 0 {
			t.Errorf("%d calls made with a cancelled context", n)
		}
	})
	t.Run("cancelled while Slack is slow", func(t *testing.T) {
		release := make(chan struct{})
		stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(stall.Close)
		t.Cleanup(func() { close(release) })
		chat, err := NewChat(ChatConfig{BotToken: "xoxb-1", APIURL: stall.URL + "/"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = chat.PostUpdate(ctx, bot.Thread{Channel: testChannel, MessageID: "1700000000.000100"}, sampleIncident(bot.StatusTriggered), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("returned after %v, not when the context ended", waited)
		}
	})
}

func TestNewChatChecksConfig(t *testing.T) {
	_, err := NewChat(ChatConfig{APIURL: "ftp://x", Locale: "fr"})
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %v, want an InvalidError", err)
	}
	for _, want := range []string{"chat.slack.bot_token", "chat.slack.api_url", "locale"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	fake := newFake(t)
	// A base without the trailing slash still reaches the methods.
	chat, err := NewChat(ChatConfig{BotToken: fake.Token(), APIURL: strings.TrimSuffix(fake.APIURL(), "/")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chat.PostIncident(testCtx(t), testChannel, sampleIncident(bot.StatusTriggered)); err != nil {
		t.Errorf("api_url without a trailing slash: %v", err)
	}
	if chat.Platform() != "slack" || chat.Client() == nil {
		t.Errorf("platform %q, client %v", chat.Platform(), chat.Client())
	}
}

// The chat satisfies the port.
var _ bot.Chat = (*Chat)(nil)
