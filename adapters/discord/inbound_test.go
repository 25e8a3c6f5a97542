package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// Discord users and roles of the tests.
const (
	responderID = "1200000000000000001" // the contact tanaka
	otherUserID = "1200000000000000002" // no contact: acts as their Discord id
	oncallRole  = "1300000000000000001"
	otherRole   = "1300000000000000002"
)

// inbound is a real bot on SQLite with the Discord chat and inbound side.
type inbound struct {
	*hotline
	in *Inbound
}

// patientAnswers is the answer deadline of the tests that expect an answer
// at once: a loaded machine must not turn them into deferred ones. The
// fake waits as long; the tests of deferral set their own deadline.
const patientAnswers = 10 * time.Second

// newInbound builds the Inbound on a fresh hotline; configure may change
// the config, whose Incidents is the bot.
func newInbound(t *testing.T, configure func(*InboundConfig)) *inbound {
	t.Helper()
	h := newHotline(t, discordtest.WithInteractionDeadline(patientAnswers))
	cfg := InboundConfig{
		Session: h.chat.Session(), PublicKey: h.fake.PublicKey(),
		ApplicationID: discordtest.ApplicationID, GuildID: discordtest.GuildID,
		Incidents: h.bot, Threads: h.store, Dedup: h.store,
		Services: map[string]string{alertsChannel: "web"},
		Users:    map[string]string{responderID: "tanaka"},
		Locale:   "en", Logger: quiet,
	}
	if configure != nil {
		configure(&cfg)
	}
	in, err := NewInbound(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.answerWithin = patientAnswers
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.Wait(ctx); err != nil {
			t.Errorf("inbound work still running: %v", err)
		}
	})
	return &inbound{hotline: h, in: in}
}

// runGateway holds the gateway until the test ends; /incident is
// registered when it returns.
func (h *inbound) runGateway(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.in.RunGateway(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	if err := h.fake.WaitSessions(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/incident to be registered", func() bool {
		cmds, _ := h.fake.Commands(discordtest.GuildID)
		return len(cmds) == 1
	})
}

// interact delivers the interaction over the gateway and returns the
// bot's first answer.
func (h *inbound) interact(t *testing.T, i discordtest.Interaction) discordtest.Response {
	t.Helper()
	p, err := h.fake.Interact(i)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func wantMessage(t *testing.T, resp discordtest.Response, content string, ephemeral bool) {
	t.Helper()
	if resp.Type != discordtest.ResponseMessage || resp.Content != content || resp.Ephemeral() != ephemeral {
		t.Errorf("answer type %d %q (ephemeral %v), want type 4 %q (ephemeral %v)", resp.Type, resp.Content, resp.Ephemeral(), content, ephemeral)
	}
	if a := resp.AllowedMentions; a == nil || len(a.Parse) != 0 || len(a.Users) != 0 || len(a.Roles) != 0 {
		t.Errorf("answer allowed_mentions %+v, want parse []", a)
	}
}

func TestGatewayRegistersAndIdentifies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		appID string
	}{
		{"configured application", discordtest.ApplicationID},
		{"application from READY", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newInbound(t, func(c *InboundConfig) { c.ApplicationID = tt.appID })
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- h.in.RunGateway(ctx) }()
			if err := h.fake.WaitSessions(ctx, 1); err != nil {
				t.Fatal(err)
			}
			var cmds []discordtest.AppCommand
			var overwrites int
			waitFor(t, "/incident to be registered", func() bool {
				cmds, overwrites = h.fake.Commands(discordtest.GuildID)
				return overwrites > 0
			})
			if len(cmds) != 1 || cmds[0].Name != "incident" || overwrites != 1 {
				t.Fatalf("guild commands %+v after %d overwrites, want /incident once", cmds, overwrites)
			}
			if n := len(cmds[0].Options); n != 16 {
				t.Errorf("/incident has %d subcommands, want 16", n)
			}
			for _, o := range cmds[0].Options {
				if o.Type != 1 {
					t.Errorf("option %s has type %d, want a subcommand", o.Name, o.Type)
				}
			}
			if global, _ := h.fake.Commands(""); len(global) != 0 {
				t.Errorf("%d global commands, want /incident in the guild only", len(global))
			}

			sessions := h.fake.Sessions()
			if len(sessions) != 1 {
				t.Fatalf("%d sessions, want 1", len(sessions))
			}
			want := discordtest.IntentGuilds | discordtest.IntentGuildMessages | discordtest.IntentGuildMessageReactions
			if got := sessions[0].Intents; got != want || got&discordtest.PrivilegedIntents != 0 {
				t.Errorf("intents %b, want %b and nothing privileged", got, want)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("RunGateway after cancel: %v, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("RunGateway did not return after cancel")
			}
			waitFor(t, "the session to close", func() bool { return len(h.fake.Sessions()) == 0 })
			if n := h.fake.Identifies(); n != 1 {
				t.Errorf("%d identifies, want 1: the session must not reconnect by itself", n)
			}
		})
	}
}

func TestGatewayLost(t *testing.T) {
	t.Parallel()
	h := newInbound(t, nil)
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- h.in.RunGateway(ctx) }()
	if err := h.fake.WaitSessions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.fake.DropSessions()
	select {
	case err := <-done:
		if !errors.Is(err, errGatewayLost) {
			t.Errorf("RunGateway after the connection dropped: %v, want errGatewayLost", err)
		}
	case <-ctx.Done():
		t.Fatal("RunGateway did not return after the connection dropped")
	}
	if n := h.fake.Identifies(); n != 1 {
		t.Errorf("%d identifies, want 1: the leader loop, not discordgo, connects again", n)
	}
}

func TestSlashCommandOverGateway(t *testing.T) {
	t.Parallel()
	h := newInbound(t, nil)
	inc, th := h.openIncident(t)
	h.runGateway(t)

	resp := h.interact(t, discordtest.Command(alertsChannel, responderID, nil, "ack", map[string]any{"incident": "INC-1"}))
	wantMessage(t, resp, "INC-1 acknowledged by tanaka", false)
	got := h.incident(t, inc.ID)
	if got.Status != bot.StatusAcknowledged || got.Owner != "tanaka" {
		t.Errorf("incident %s owned by %q, want acknowledged by tanaka", got.Status, got.Owner)
	}
	acks := eventsOf(h.timeline(t, inc.ID), bot.EventAcknowledged)
	if len(acks) != 1 || acks[0].Actor != "tanaka" || acks[0].Source != "discord" {
		t.Errorf("ack events %+v, want one by tanaka via discord", acks)
	}
	waitFor(t, "the embed to show the ack", func() bool {
		root := h.message(t, th.MessageID)
		return root.Edits > 0 && fieldValue(root.Embeds[0], "Status") == "🟡 Acknowledged"
	})

	// In the incident's thread the incident goes without saying.
	resp = h.interact(t, discordtest.Command(th.MessageID, responderID, nil, "note", map[string]any{"text": "restarted db01"}))
	wantMessage(t, resp, "Note added to INC-1 by tanaka", false)
	notes := eventsOf(h.timeline(t, inc.ID), bot.EventNote)
	if len(notes) != 1 || notes[0].Text != "restarted db01" || notes[0].Actor != "tanaka" {
		t.Errorf("notes %+v, want the one written in the thread", notes)
	}

	// Outside a thread, without an incident: the usage, to the user only.
	before := len(h.timeline(t, inc.ID))
	resp = h.interact(t, discordtest.Command(alertsChannel, otherUserID, nil, "sev", map[string]any{"level": 1}))
	if resp.Type != discordtest.ResponseMessage || !resp.Ephemeral() || !strings.Contains(resp.Content, "usage: /incident sev") {
		t.Errorf("answer to a sev without an incident: type %d %q (ephemeral %v), want the usage, ephemeral", resp.Type, resp.Content, resp.Ephemeral())
	}
	if got := h.incident(t, inc.ID); got.Severity != bot.Sev2 || len(h.timeline(t, inc.ID)) != before {
		t.Errorf("a refused command changed the incident: %s, %d events (was %d)", got.Severity, len(h.timeline(t, inc.ID)), before)
	}
}

func TestButtonsAndPostmortemForm(t *testing.T) {
	t.Parallel()
	h := newInbound(t, nil)
	inc, th := h.openIncident(t)
	h.runGateway(t)

	resp := h.interact(t, discordtest.Button(alertsChannel, th.MessageID, otherUserID, nil, "incident.ack:1"))
	wantMessage(t, resp, "INC-1 acknowledged by "+otherUserID, true)
	if got := h.incident(t, inc.ID); got.Status != bot.StatusAcknowledged {
		t.Fatalf("incident %s after the Acknowledge button", got.Status)
	}

	resp = h.interact(t, discordtest.Button(alertsChannel, th.MessageID, responderID, nil, "incident.resolve:1"))
	if resp.Type != discordtest.ResponseModal || resp.CustomID != "incident.postmortem:1" || resp.Title != "Postmortem INC-1" {
		t.Fatalf("answer to Resolve: type %d custom id %q title %q, want the postmortem form", resp.Type, resp.CustomID, resp.Title)
	}
	var inputs []string
	for _, row := range resp.Components {
		for _, c := range row.Components {
			inputs = append(inputs, c.CustomID)
		}
	}
	if want := []string{"cause", "fix", "followups"}; !reflect.DeepEqual(inputs, want) {
		t.Errorf("form inputs %v, want %v", inputs, want)
	}
	if got := h.incident(t, inc.ID); got.Status != bot.StatusResolved {
		t.Fatalf("incident %s after the Resolve button", got.Status)
	}

	resp = h.interact(t, discordtest.ModalSubmit(alertsChannel, responderID, "incident.postmortem:1",
		map[string]string{"cause": "old logs filled the disk", "fix": "rotated the logs", "followups": "alert at 80%"}))
	wantMessage(t, resp, "Postmortem of INC-1 saved by tanaka", false)
	pm, err := h.store.Postmortem(testCtx(t), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Cause != "old logs filled the disk" || pm.Fix != "rotated the logs" || pm.FollowUps != "alert at 80%" || pm.By != "tanaka" {
		t.Errorf("stored postmortem %+v", pm)
	}
	if err := h.fake.WaitMessages(testCtx(t), kbChannel, 1); err != nil {
		t.Fatal(err)
	}
	posted := h.fake.Messages(kbChannel)
	if len(posted) != 1 {
		t.Fatalf("%d postmortems in the knowledge base, want 1", len(posted))
	}
	for _, want := range []string{"Postmortem INC-1: db01 disk 95%", "old logs filled the disk", "rotated the logs"} {
		if !strings.Contains(posted[0].Content, want) {
			t.Errorf("knowledge-base post does not say %q:\n%s", want, posted[0].Content)
		}
	}
	if !mentionsNobody(posted[0]) {
		t.Errorf("knowledge-base post allowed_mentions %+v", posted[0].AllowedMentions)
	}
	waitFor(t, "the root to lose its buttons", func() bool { return len(h.message(t, th.MessageID).Buttons()) == 0 })
}

func TestReactions(t *testing.T) {
	t.Parallel()
	h := newInbound(t, nil)
	inc, th := h.openIncident(t)
	h.runGateway(t)
	unrelated, err := h.chat.Session().ChannelMessageSend(alertsChannel, "lunch at noon")
	if err != nil {
		t.Fatal(err)
	}

	// These change nothing: the bot's own reaction, and one on a message
	// that is no incident's.
	for _, r := range []struct{ message, user, emoji string }{
		{th.MessageID, discordtest.BotUserID, "👀"},
		{th.MessageID, discordtest.BotUserID, "✅"},
		{unrelated.ID, responderID, "✅"},
	} {
		if err := h.fake.React(alertsChannel, r.message, r.user, r.emoji); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.fake.React(alertsChannel, th.MessageID, responderID, "👀"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 👀 to acknowledge", func() bool { return h.incident(t, inc.ID).Status == bot.StatusAcknowledged })
	acks := eventsOf(h.timeline(t, inc.ID), bot.EventAcknowledged)
	if len(acks) != 1 || acks[0].Actor != "tanaka" || acks[0].Source != "discord" {
		t.Errorf("ack events %+v, want one by tanaka via discord", acks)
	}

	// Refused: the reply goes to the thread and pings that user only.
	if err := h.fake.React(alertsChannel, th.MessageID, otherUserID, "👀"); err != nil {
		t.Fatal(err)
	}
	var refusal discordtest.Message
	waitFor(t, "the refusal in the thread", func() bool {
		for _, m := range h.fake.Messages(th.MessageID) {
			if strings.HasPrefix(m.Content, "<@"+otherUserID+">") {
				refusal = m
				return true
			}
		}
		return false
	})
	if refusal.Content != "<@"+otherUserID+"> INC-1 is already acknowledged" {
		t.Errorf("refusal %q", refusal.Content)
	}
	if a := refusal.AllowedMentions; a == nil || len(a.Parse) != 0 || !reflect.DeepEqual(a.Users, []string{otherUserID}) || len(a.Roles) != 0 {
		t.Errorf("refusal allowed_mentions %+v, want users [%s] only", a, otherUserID)
	}

	got := h.incident(t, inc.ID)
	if got.Status != bot.StatusAcknowledged || got.Owner != "tanaka" {
		t.Errorf("incident %s owned by %q, want acknowledged by tanaka only", got.Status, got.Owner)
	}
	if n := len(eventsOf(h.timeline(t, inc.ID), bot.EventResolved)); n != 0 {
		t.Errorf("%d resolves: a ✅ that should be ignored was not", n)
	}
	for _, m := range h.fake.Messages(th.MessageID) {
		if strings.Contains(m.Content, discordtest.BotUserID) {
			t.Errorf("a reply to the bot's own reaction: %q", m.Content)
		}
	}
	if msgs := h.fake.Messages(alertsChannel); len(msgs) != 2 {
		t.Errorf("%d messages in the channel, want the root and the unrelated one", len(msgs))
	}
}

// countingDedup is the store's Dedup, counting the sightings of each key.
type countingDedup struct {
	Dedup
	mu   sync.Mutex
	seen map[string]int
}

func (d *countingDedup) Remember(ctx context.Context, key string) (bool, error) {
	first, err := d.Dedup.Remember(ctx, key)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[key]++
	return first, err
}

func (d *countingDedup) count(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[key]
}

func TestInteractionDeliveredTwiceRunsOnce(t *testing.T) {
	t.Parallel()
	t.Run("gateway", func(t *testing.T) {
		var dedup *countingDedup
		h := newInbound(t, func(c *InboundConfig) {
			dedup = &countingDedup{Dedup: c.Dedup, seen: map[string]int{}}
			c.Dedup = dedup
		})
		inc, _ := h.openIncident(t)
		h.runGateway(t)

		p, err := h.fake.Interact(discordtest.Command(alertsChannel, responderID, nil, "note", map[string]any{"incident": "INC-1", "text": "once"}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Wait(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, resp, "Note added to INC-1 by tanaka", false)
		// The gateway delivers the same event again (a resume, another
		// replica's connection).
		if err := h.fake.Dispatch("INTERACTION_CREATE", p.Interaction); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the second delivery to be looked up", func() bool { return dedup.count("discord:interaction:"+p.Interaction.ID) == 2 })
		if err := h.in.Wait(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if notes := eventsOf(h.timeline(t, inc.ID), bot.EventNote); len(notes) != 1 {
			t.Errorf("%d notes, want the command run once", len(notes))
		}
		if n := len(h.fake.Responses(p.Interaction.ID)); n != 1 {
			t.Errorf("%d answers, want 1", n)
		}
	})

	t.Run("two replicas", func(t *testing.T) {
		h := newInbound(t, nil)
		inc, _ := h.openIncident(t)
		if err := h.in.RegisterCommands(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		twin, err := NewInbound(InboundConfig{
			Session: h.chat.Session(), PublicKey: h.fake.PublicKey(), ApplicationID: discordtest.ApplicationID,
			GuildID: discordtest.GuildID, Incidents: h.bot, Threads: h.store, Dedup: h.store,
			Services: map[string]string{alertsChannel: "web"}, Logger: quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		twin.answerWithin = patientAnswers
		urls := []string{serveInteractions(t, h.in), serveInteractions(t, twin)}
		req, err := h.fake.SignedRequest(urls[0], discordtest.Command(alertsChannel, responderID, nil, "note", map[string]any{"incident": "INC-1", "text": "once"}))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(req.Body)
		var answered int
		for _, u := range urls {
			status, answer := send(t, http.MethodPost, u, body, req.Header)
			if status == http.StatusOK && strings.Contains(string(answer), "Note added") {
				answered++
			}
		}
		if answered != 1 {
			t.Errorf("%d replicas ran the command, want 1", answered)
		}
		if notes := eventsOf(h.timeline(t, inc.ID), bot.EventNote); len(notes) != 1 {
			t.Errorf("%d notes, want the command run once", len(notes))
		}
	})
}

func TestAuthorizationByRole(t *testing.T) {
	t.Parallel()
	authz, err := commands.NewAuthorizer([]commands.Rule{{Verbs: []string{"resolve"}, Groups: []string{"discord:" + oncallRole}}})
	if err != nil {
		t.Fatal(err)
	}
	h := newInbound(t, func(c *InboundConfig) { c.Authorizer = authz })
	inc, th := h.openIncident(t)
	h.runGateway(t)
	refusal := "Only members of discord:" + oncallRole + " may resolve incidents here."
	before := len(h.timeline(t, inc.ID))

	resp := h.interact(t, discordtest.Command(alertsChannel, responderID, nil, "resolve", map[string]any{"incident": "INC-1"}))
	wantMessage(t, resp, refusal, true)
	resp = h.interact(t, discordtest.Button(alertsChannel, th.MessageID, responderID, []string{otherRole}, "incident.resolve:1"))
	wantMessage(t, resp, refusal, true)
	if got := h.incident(t, inc.ID); got.Status != bot.StatusTriggered || len(h.timeline(t, inc.ID)) != before {
		t.Fatalf("refused resolves changed the incident: %s, %d events (was %d)", got.Status, len(h.timeline(t, inc.ID)), before)
	}

	// Acknowledging is open to everyone.
	resp = h.interact(t, discordtest.Command(alertsChannel, otherUserID, nil, "ack", map[string]any{"incident": "INC-1"}))
	wantMessage(t, resp, "INC-1 acknowledged by "+otherUserID, false)

	resp = h.interact(t, discordtest.Command(alertsChannel, responderID, []string{otherRole, oncallRole}, "resolve",
		map[string]any{"incident": "INC-1", "summary": "disk cleaned"}))
	wantMessage(t, resp, "INC-1 resolved by tanaka", false)
	if got := h.incident(t, inc.ID); got.Status != bot.StatusResolved {
		t.Errorf("incident %s after a resolve by a member of the role", got.Status)
	}
}

// serveInteractions serves the Inbound's HTTP endpoint on loopback and
// returns its URL.
func serveInteractions(t *testing.T, in *Inbound) string {
	t.Helper()
	mux := http.NewServeMux()
	in.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/discord/interactions"
}

func send(t *testing.T, method, url string, body []byte, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, answer
}

func TestHTTPInteractions(t *testing.T) {
	t.Parallel()
	h := newInbound(t, nil)
	inc, _ := h.openIncident(t)
	if err := h.in.RegisterCommands(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	url := serveInteractions(t, h.in)

	if err := h.fake.VerifyEndpoint(testCtx(t), url); err != nil {
		t.Fatalf("Discord would not save the endpoint: %v", err)
	}
	ping, err := h.fake.SignedRequest(url, discordtest.Ping())
	if err != nil {
		t.Fatal(err)
	}
	pingBody, _ := io.ReadAll(ping.Body)
	if status, answer := send(t, http.MethodPost, url, pingBody, ping.Header); status != http.StatusOK || strings.TrimSpace(string(answer)) != `{"type":1}` {
		t.Errorf("PING: %d %s, want 200 {\"type\":1}", status, answer)
	}

	// signedNote is a note command as Discord posts it, signed now.
	signedNote := func(text string) ([]byte, http.Header) {
		req, err := h.fake.SignedRequest(url, discordtest.Command(alertsChannel, responderID, nil, "note", map[string]any{"incident": "INC-1", "text": text}))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		return body, req.Header
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	_, stranger, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}

	unsignedBody, unsigned := signedNote("unsigned")
	unsigned = unsigned.Clone()
	unsigned.Del("X-Signature-Ed25519")
	unsigned.Del("X-Signature-Timestamp")

	strangerBody, _ := signedNote("signed by a stranger")
	strangerSigned := http.Header{"Content-Type": {"application/json"}}
	strangerSigned.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(stranger, append([]byte(now), strangerBody...))))
	strangerSigned.Set("X-Signature-Timestamp", now)

	tamperedBody, tampered := signedNote("benign text")
	tamperedBody = bytes.Replace(tamperedBody, []byte("benign text"), []byte("forged text"), 1)

	staleBody, _ := signedNote("stale")
	stale := h.fake.Sign(staleBody, strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10))
	futureBody, _ := signedNote("future")
	future := h.fake.Sign(futureBody, strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10))
	oddBody, _ := signedNote("odd timestamp")
	odd := h.fake.Sign(oddBody, "yesterday")

	huge := []byte(`{"type":2,"padding":"` + strings.Repeat("x", 300<<10) + `"}`)
	malformed := []byte(`{"type":2,"id":`)
	getBody, getHeader := signedNote("by GET")

	before := h.timeline(t, inc.ID)
	for _, tt := range []struct {
		name   string
		method string
		body   []byte
		header http.Header
		status int
	}{
		{"unsigned", http.MethodPost, unsignedBody, unsigned, http.StatusUnauthorized},
		{"signed by another key", http.MethodPost, strangerBody, strangerSigned, http.StatusUnauthorized},
		{"tampered body", http.MethodPost, tamperedBody, tampered, http.StatusUnauthorized},
		{"stale timestamp", http.MethodPost, staleBody, stale, http.StatusUnauthorized},
		{"future timestamp", http.MethodPost, futureBody, future, http.StatusUnauthorized},
		{"timestamp not a time", http.MethodPost, oddBody, odd, http.StatusUnauthorized},
		{"oversized body", http.MethodPost, huge, h.fake.Sign(huge, now), http.StatusRequestEntityTooLarge},
		{"malformed JSON", http.MethodPost, malformed, h.fake.Sign(malformed, now), http.StatusBadRequest},
		{"GET", http.MethodGet, getBody, getHeader, http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := send(t, tt.method, url, tt.body, tt.header)
			if status != tt.status {
				t.Errorf("%d %s, want %d", status, answer, tt.status)
			}
			if after := h.timeline(t, inc.ID); len(after) != len(before) {
				t.Errorf("the refused request changed the timeline: %d events, was %d", len(after), len(before))
			}
			if got := h.incident(t, inc.ID); got.Status != bot.StatusTriggered {
				t.Errorf("incident %s after a refused request", got.Status)
			}
		})
	}

	body, header := signedNote("from the endpoint")
	status, answer := send(t, http.MethodPost, url, body, header)
	var reply struct {
		Type int `json:"type"`
		Data struct {
			Content string `json:"content"`
			Flags   int    `json:"flags"`
		} `json:"data"`
	}
	if status != http.StatusOK || json.Unmarshal(answer, &reply) != nil {
		t.Fatalf("signed command: %d %s, want 200 and the reply", status, answer)
	}
	if reply.Type != discordtest.ResponseMessage || reply.Data.Content != "Note added to INC-1 by tanaka" || reply.Data.Flags&discordtest.FlagEphemeral != 0 {
		t.Errorf("reply %+v, want the note's confirmation for everyone", reply)
	}
	notes := eventsOf(h.timeline(t, inc.ID), bot.EventNote)
	if len(notes) != 1 || notes[0].Text != "from the endpoint" || notes[0].Source != "discord" {
		t.Fatalf("notes %+v, want the one command", notes)
	}

	// The same signed request again, within the signature's five minutes.
	status, answer = send(t, http.MethodPost, url, body, header)
	if strings.Contains(string(answer), "Note added") {
		t.Errorf("replay answered %d %s: the command ran again", status, answer)
	}
	if notes := eventsOf(h.timeline(t, inc.ID), bot.EventNote); len(notes) != 1 {
		t.Errorf("%d notes after a replay, want 1", len(notes))
	}

	// Delivered as Discord does, the answer is one Discord takes.
	p, err := h.fake.Deliver(testCtx(t), url, discordtest.Command(alertsChannel, responderID, nil, "ack", map[string]any{"incident": "INC-1"}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Wait(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantMessage(t, resp, "INC-1 acknowledged by tanaka", false)
	if got := h.incident(t, inc.ID); got.Status != bot.StatusAcknowledged {
		t.Errorf("incident %s after an ack over HTTP", got.Status)
	}
}

// gatedAcks is the bot with acknowledgements that wait for release.
type gatedAcks struct {
	*bot.Bot
	release chan struct{}
}

func (g *gatedAcks) Acknowledge(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error) {
	select {
	case <-g.release:
	case <-ctx.Done():
		return bot.Incident{}, ctx.Err()
	}
	return g.Bot.Acknowledge(ctx, number, by)
}

func TestSlowCommandDefersThenEdits(t *testing.T) {
	t.Parallel()
	ack := discordtest.Command(alertsChannel, responderID, nil, "ack", map[string]any{"incident": "INC-1"})
	for _, tt := range []struct {
		name    string
		deliver func(t *testing.T, h *inbound) *discordtest.Pending
	}{
		{"gateway", func(t *testing.T, h *inbound) *discordtest.Pending {
			h.runGateway(t)
			p, err := h.fake.Interact(ack)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
		{"http", func(t *testing.T, h *inbound) *discordtest.Pending {
			if err := h.in.RegisterCommands(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			p, err := h.fake.Deliver(testCtx(t), serveInteractions(t, h.in), ack)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			h := newInbound(t, func(c *InboundConfig) { c.Incidents = &gatedAcks{Bot: c.Incidents.(*bot.Bot), release: gate} })
			// Short, yet long enough for the dedup write on a loaded
			// machine: the deadline bounds it too. The gated ack is what
			// makes the command slow.
			h.in.answerWithin = 500 * time.Millisecond
			inc, _ := h.openIncident(t)

			p := tt.deliver(t, h)
			first, err := p.Wait(testCtx(t))
			if err != nil {
				close(gate)
				t.Fatal(err)
			}
			if first.Type != discordtest.ResponseDeferredMessage || !first.Ephemeral() {
				t.Errorf("first answer type %d flags %b, want 5, ephemeral", first.Type, first.Flags)
			}
			close(gate)

			var edit discordtest.Response
			waitFor(t, "the reply as an edit of the deferred answer", func() bool {
				for _, r := range h.fake.Responses(p.Interaction.ID) {
					if r.Kind == discordtest.KindEdit {
						edit = r
						return true
					}
				}
				return false
			})
			if edit.Content != "INC-1 acknowledged by tanaka" || edit.MessageID != first.MessageID {
				t.Errorf("edit of %s to %q, want @original (%s) to say the ack", edit.MessageID, edit.Content, first.MessageID)
			}
			if edit.Flags&discordtest.FlagLoading != 0 {
				t.Errorf("the deferred answer still shows \"thinking\" after the edit")
			}
			if got := h.incident(t, inc.ID); got.Status != bot.StatusAcknowledged {
				t.Errorf("incident %s after the slow ack", got.Status)
			}
			if n := len(h.fake.Responses(p.Interaction.ID)); n != 2 {
				t.Errorf("%d answers, want the deferral and one edit", n)
			}
		})
	}
}

// deadlineClock is the Inbound's clock, remembering the last time it told:
// when the newest interaction arrived.
type deadlineClock struct {
	mu   sync.Mutex
	last time.Time
}

func (c *deadlineClock) now() time.Time {
	n := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = n
	return n
}

// acksAtDeadline is the bot with acknowledgements that return right after
// the newest interaction's answer deadline, plus delta.
type acksAtDeadline struct {
	*bot.Bot
	clock  *deadlineClock
	within time.Duration
	mu     sync.Mutex
	delta  time.Duration
}

func (a *acksAtDeadline) Acknowledge(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error) {
	inc, err := a.Bot.Acknowledge(ctx, number, by)
	a.clock.mu.Lock()
	a.mu.Lock()
	until := a.clock.last.Add(a.within + a.delta)
	a.mu.Unlock()
	a.clock.mu.Unlock()
	time.Sleep(time.Until(until))
	return inc, err
}

// A command done just after the deadline races its deferred answer to
// Discord; its reply must still replace "thinking…".
func TestCommandDoneAtDeadlineStillReplies(t *testing.T) {
	const within = 50 * time.Millisecond
	clock := &deadlineClock{}
	acks := &acksAtDeadline{clock: clock, within: within}
	h := newInbound(t, func(c *InboundConfig) {
		acks.Bot = c.Incidents.(*bot.Bot)
		c.Incidents, c.Now = acks, clock.now
	})
	h.in.answerWithin = within
	h.openIncident(t)
	h.runGateway(t)

	deferred := 0
	for i := range 30 {
		acks.mu.Lock()
		acks.delta = time.Duration(i%5) * 200 * time.Microsecond
		acks.mu.Unlock()
		p, err := h.fake.Interact(discordtest.Command(alertsChannel, responderID, nil, "ack", map[string]any{"incident": "INC-1"}))
		if err != nil {
			t.Fatal(err)
		}
		first, err := p.Wait(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.in.Wait(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if first.Type != discordtest.ResponseDeferredMessage {
			continue
		}
		deferred++
		var answers []string
		for _, r := range h.fake.Responses(p.Interaction.ID) {
			answers = append(answers, fmt.Sprintf("%s %d %q", r.Kind, r.Type, r.Content))
		}
		if len(answers) != 2 || !strings.HasPrefix(answers[1], `edit 0 "INC-1 `) {
			t.Fatalf("interaction %d (%v after the deadline): answers %q, want the deferral and then the reply as an edit",
				i, acks.delta, answers)
		}
	}
	if deferred == 0 {
		t.Fatal("no command was deferred: the test did not reach the deadline")
	}
}
