package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/bot"
)

// sockRig is the inbound rig with RunSocketMode connected to the fake
// Slack's Socket Mode.
type sockRig struct {
	*inbRig
	fake *slacktest.Server
}

func newSockFake(t *testing.T) *slacktest.Server {
	t.Helper()
	fake, err := slacktest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// runSocketMode starts RunSocketMode and, at cleanup, cancels it and
// checks that it returns nil.
func runSocketMode(t *testing.T, h *Inbound, api *slack.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.RunSocketMode(ctx, api) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunSocketMode after cancel: %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("RunSocketMode did not return after cancel")
		}
	})
}

func newSockRig(t *testing.T, opt inbOptions) *sockRig {
	t.Helper()
	fake := newSockFake(t)
	config := opt.config
	opt.config = func(c *InboundConfig) {
		c.SigningSecret = "" // Socket Mode alone
		c.AppToken = fake.AppToken()
		if config != nil {
			config(c)
		}
	}
	rig := &sockRig{inbRig: newInbRig(t, opt), fake: fake}
	runSocketMode(t, rig.h, slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL())))
	rig.waitSocket(1)
	return rig
}

func sockCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (r *sockRig) waitSocket(n int) {
	r.t.Helper()
	if err := r.fake.WaitSocket(sockCtx(r.t), n); err != nil {
		r.t.Fatal(err)
	}
}

func (r *sockRig) push(env slacktest.Envelope) string {
	r.t.Helper()
	id, err := r.fake.PushEnvelope(env)
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

func (r *sockRig) waitAck(envelopeID string) slacktest.SocketAck {
	r.t.Helper()
	ack, err := r.fake.WaitAck(sockCtx(r.t), envelopeID)
	if err != nil {
		r.t.Fatal(err)
	}
	if ack.Problem != "" {
		r.t.Errorf("ack of %s: %s", envelopeID, ack.Problem)
	}
	return ack
}

// wantAcks checks that every envelope was acked once and nothing else was
// sent.
func (r *sockRig) wantAcks(envelopeIDs ...string) {
	r.t.Helper()
	acks := r.fake.SocketAcks()
	var got []string
	for _, a := range acks {
		if a.Problem != "" {
			r.t.Errorf("ack of %q: %s", a.EnvelopeID, a.Problem)
		}
		got = append(got, a.EnvelopeID)
	}
	if strings.Join(got, ",") != strings.Join(envelopeIDs, ",") {
		r.t.Errorf("acks %v, want %v", got, envelopeIDs)
	}
}

// sockSlash is a slash_commands payload: the fields of the HTTP form as a
// JSON object.
func (r *sockRig) sockSlash(user, text string) map[string]string {
	form, err := url.ParseQuery(r.slash(user, text))
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]string{}
	for k := range form {
		out[k] = form.Get(k)
	}
	return out
}

// sockClick is an interactive payload: the HTTP form's payload field.
func (r *sockRig) sockClick(user, actionID, value string) json.RawMessage {
	form, err := url.ParseQuery(r.click(user, actionID, value))
	if err != nil {
		r.t.Fatal(err)
	}
	return json.RawMessage(form.Get("payload"))
}

func TestSocketSlashCommand(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		wantType  string
		wantText  string
		wantCalls []inbCall
	}{
		{"ack", "ack INC-3", "in_channel", "INC-3 acknowledged by tanaka", []inbCall{{Op: "ack", Number: 3, By: inbTanaka()}}},
		{"refused by the bot", "ack INC-9", "ephemeral", "INC-9 is already acknowledged", []inbCall{{Op: "ack", Number: 9, By: inbTanaka()}}},
		{"no incident named, escaped for mrkdwn", "ack", "ephemeral", "ack: name the incident: INC-&lt;n&gt;", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newSockRig(t, inbOptions{})
			id := rig.push(slacktest.Envelope{Type: "slash_commands", Payload: rig.sockSlash("U01TANAKA", tt.text)})
			ack := rig.waitAck(id)
			var got struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if err := json.Unmarshal(ack.Payload, &got); err != nil {
				t.Fatalf("ack payload %q: %v", ack.Payload, err)
			}
			if got.ResponseType != tt.wantType || !strings.HasPrefix(got.Text, tt.wantText) {
				t.Errorf("ack payload %s, want response_type %q and text starting %q", ack.Payload, tt.wantType, tt.wantText)
			}
			rig.settle()
			rig.wantCalls(tt.wantCalls...)
			rig.wantAcks(id)
			if hooks, _ := rig.slack.posts(); len(hooks) != 0 {
				t.Errorf("response_url used although the ack carried the reply: %+v", hooks)
			}
		})
	}
}

func TestSocketSlowCommandRepliesThroughResponseURL(t *testing.T) {
	gate := make(chan struct{})
	rig := newSockRig(t, inbOptions{gate: gate, answerWithin: 50 * time.Millisecond})
	id := rig.push(slacktest.Envelope{Type: "slash_commands", Payload: rig.sockSlash("U01TANAKA", "ack INC-3")})
	// The bot is stuck: Slack still gets its ack in time, without a reply.
	if ack := rig.waitAck(id); ack.Payload != nil {
		t.Errorf("ack payload %s while the bot is busy, want none", ack.Payload)
	}
	close(gate)
	inbEventually(t, "the reply on response_url", func() bool { hooks, _ := rig.slack.posts(); return len(hooks) > 0 })
	rig.settle()
	hooks, _ := rig.slack.posts()
	if len(hooks) != 1 || hooks[0].ResponseType != "in_channel" || hooks[0].Text != "INC-3 acknowledged by tanaka" {
		t.Errorf("response_url got %+v, want one in_channel \"INC-3 acknowledged by tanaka\"", hooks)
	}
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
}

func TestSocketCommandReplayRunsOnce(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	payload := rig.sockSlash("U01TANAKA", "ack INC-3") // one trigger_id
	first := rig.push(slacktest.Envelope{Type: "slash_commands", Payload: payload})
	if ack := rig.waitAck(first); !strings.Contains(string(ack.Payload), "acknowledged by tanaka") {
		t.Fatalf("first ack %s, want the reply", ack.Payload)
	}
	again := rig.push(slacktest.Envelope{Type: "slash_commands", Payload: payload})
	if ack := rig.waitAck(again); ack.Payload != nil {
		t.Errorf("replay acked with %s, want no reply", ack.Payload)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
	rig.wantAcks(first, again)
}

func TestSocketButton(t *testing.T) {
	gate := make(chan struct{})
	rig := newSockRig(t, inbOptions{gate: gate})
	id := rig.push(slacktest.Envelope{Type: "interactive", Payload: rig.sockClick("U01TANAKA", "incident.ack", "12")})
	// Acked while the bot is held: the action runs after the ack.
	if ack := rig.waitAck(id); ack.Payload != nil {
		t.Errorf("ack payload %s, want none", ack.Payload)
	}
	if calls := rig.bot.seen(); len(calls) != 0 {
		t.Fatalf("the action finished before the ack: %+v", calls)
	}
	close(gate)
	inbEventually(t, "the reply on response_url", func() bool { hooks, _ := rig.slack.posts(); return len(hooks) > 0 })
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 12, By: inbTanaka()})
	hooks, _ := rig.slack.posts()
	if len(hooks) != 1 || hooks[0].ResponseType != "ephemeral" || hooks[0].Text != "INC-12 acknowledged by tanaka" {
		t.Errorf("response_url got %+v, want one ephemeral \"INC-12 acknowledged by tanaka\"", hooks)
	}
	rig.wantAcks(id)
}

func TestSocketCallNowButton(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	id := rig.push(slacktest.Envelope{Type: "interactive", Payload: rig.sockClick("U01TANAKA", "incident.escalate", "12")})
	rig.waitAck(id)
	inbEventually(t, "the call", func() bool { return len(rig.esc.seen()) > 0 })
	rig.settle()
	if got := rig.esc.seen(); len(got) != 1 || got[0].Number != 12 || got[0].By != inbTanaka() {
		t.Errorf("escalator calls %+v, want one for INC-12 by tanaka", got)
	}
}

func TestSocketReactionRetryRunsOnce(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	payload := json.RawMessage(inbReaction("Ev0SOCKET", "reaction_added", "U01TANAKA", "eyes", inbRootTs))
	first := rig.push(slacktest.Envelope{Type: "events_api", Payload: payload})
	rig.waitAck(first)
	inbEventually(t, "the ack", func() bool { return len(rig.bot.seen()) > 0 })
	// Slack did not see the ack in time and delivers the event again.
	retry := rig.push(slacktest.Envelope{Type: "events_api", Payload: payload, RetryAttempt: 1, RetryReason: "timeout"})
	rig.waitAck(retry)
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
	if got := rig.threads.seen(); len(got) != 1 {
		t.Errorf("thread lookups %v, want one", got)
	}
	rig.wantAcks(first, retry)
}

func TestSocketIgnoredEventIsAcked(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	id := rig.push(slacktest.Envelope{Type: "events_api",
		Payload: json.RawMessage(inbReaction("Ev0REMOVED", "reaction_removed", "U01TANAKA", "eyes", inbRootTs))})
	rig.waitAck(id)
	rig.wantNothingHappened()
}

func TestSocketDedupDownLeavesEnvelopeUnacked(t *testing.T) {
	rig := newSockRig(t, inbOptions{dedupErr: fmt.Errorf("remember: %w", bot.ErrUnavailable)})
	rig.push(slacktest.Envelope{Type: "events_api",
		Payload: json.RawMessage(inbReaction("Ev0DOWN", "reaction_added", "U01TANAKA", "eyes", inbRootTs))})
	// Something after it is acked, so the event had its turn.
	ignored := rig.push(slacktest.Envelope{Type: "events_api",
		Payload: json.RawMessage(inbReaction("Ev0TADA", "reaction_added", "U01TANAKA", "tada", inbRootTs))})
	rig.waitAck(ignored)
	time.Sleep(100 * time.Millisecond)
	// Unacked, Slack delivers it again once the database is back.
	rig.wantAcks(ignored)
	rig.wantNothingHappened()
}

func TestSocketReconnects(t *testing.T) {
	rig := newSockRig(t, inbOptions{})
	if err := rig.fake.DisconnectSockets("refresh_requested"); err != nil {
		t.Fatal(err)
	}
	rig.waitSocket(2)
	rig.fake.DropSockets()
	rig.waitSocket(3)
	id := rig.push(slacktest.Envelope{Type: "slash_commands", Payload: rig.sockSlash("U01TANAKA", "ack INC-3")})
	if ack := rig.waitAck(id); !strings.Contains(string(ack.Payload), "INC-3 acknowledged by tanaka") {
		t.Errorf("ack after reconnecting: %s", ack.Payload)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
}

func TestSocketWrongAppToken(t *testing.T) {
	fake := newSockFake(t)
	h, err := NewInbound(InboundConfig{AppToken: "xapp-1-A0OTHER-1-0000", Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- h.RunSocketMode(context.Background(), slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL())))
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") || !strings.Contains(err.Error(), "app_token") {
			t.Errorf("RunSocketMode: %v, want an error naming invalid_auth and app_token", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunSocketMode kept going with a wrong app token")
	}
	if n := fake.SocketConnections(); n != 0 {
		t.Errorf("%d connections opened with a wrong token", n)
	}
}

func TestSocketCancelWhileSlackIsUnreachable(t *testing.T) {
	// A port nobody listens on: slack-go retries with backoff.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h, err := NewInbound(InboundConfig{AppToken: "xapp-1-A0HOTLINE-1-0000", Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.RunSocketMode(ctx, slack.New("xoxb-x", slack.OptionAPIURL("http://"+addr+"/"))) }()
	select {
	case err := <-done:
		t.Fatalf("RunSocketMode returned before cancel: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after cancel: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
}

func TestSocketModeConfig(t *testing.T) {
	base := InboundConfig{Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}}

	socketOnly := base
	socketOnly.AppToken = "xapp-1-A0HOTLINE-1-0000"
	h, err := NewInbound(socketOnly)
	if err != nil {
		t.Fatalf("an app token without a signing secret was refused: %v", err)
	}

	botToken := base
	botToken.AppToken = "xoxb-not-an-app-token"
	if _, err := NewInbound(botToken); err == nil || !strings.Contains(err.Error(), "app_token") {
		t.Errorf("a bot token as app_token: err %v, want one about app_token", err)
	}

	httpOnly := base
	httpOnly.SigningSecret = inbSecret
	h, err = NewInbound(httpOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.RunSocketMode(context.Background(), slack.New("xoxb-x")); err == nil || !strings.Contains(err.Error(), "app_token") {
		t.Errorf("RunSocketMode without an app token: %v, want an error about app_token", err)
	}

	// Without a signing secret the HTTP endpoints believe nobody: a request
	// signed with the empty secret is refused and runs nothing.
	bot := &inbIncidents{}
	socketOnly.Incidents = bot
	h, err = NewInbound(socketOnly)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	body := url.Values{"user_id": {"U01TANAKA"}, "text": {"ack INC-3"}, "trigger_id": {"1.2.3"}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, "/v1/slack/commands", strings.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", inbForm)
	req.Header.Set("X-Slack-Request-Timestamp", fmt.Sprint(ts))
	req.Header.Set("X-Slack-Signature", slacktest.Sign("", ts, body))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "no signing_secret") {
		t.Errorf("signed with the empty secret: %d %q, want 401 saying there is no signing_secret", rec.Code, rec.Body.String())
	}
	if calls := bot.seen(); len(calls) != 0 {
		t.Errorf("commands ran: %+v", calls)
	}
}

func TestSocketOpenFailures(t *testing.T) {
	t.Run("a refusal no retry mends stops it", func(t *testing.T) {
		fake := newSockFake(t)
		fake.FailNext("apps.connections.open", 1, http.StatusOK, "missing_scope", "")
		h, err := NewInbound(InboundConfig{AppToken: fake.AppToken(), Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			done <- h.RunSocketMode(context.Background(), slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL())))
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "connections:write") {
				t.Errorf("RunSocketMode: %v, want an error naming the connections:write scope", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("RunSocketMode retried a missing scope")
		}
	})
	t.Run("a transient failure is retried", func(t *testing.T) {
		fake := newSockFake(t)
		fake.FailNext("apps.connections.open", 1, http.StatusServiceUnavailable, "", "")
		h, err := NewInbound(InboundConfig{AppToken: fake.AppToken(), Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}})
		if err != nil {
			t.Fatal(err)
		}
		runSocketMode(t, h, slack.New(fake.Token(), slack.OptionAPIURL(fake.APIURL())))
		if err := fake.WaitSocket(sockCtx(t), 1); err != nil {
			t.Fatal(err)
		}
		opens := 0
		for _, c := range fake.Calls() {
			if c.Method == "apps.connections.open" {
				opens++
			}
		}
		if opens != 2 {
			t.Errorf("apps.connections.open called %d times, want 2 (the failure, then the retry)", opens)
		}
	})
}
