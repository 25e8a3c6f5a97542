package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
)

// The Discord channels of the web service (snowflakes, as Discord's are).
const (
	discordAlerts = "800000000000000001"
	discordKB     = "800000000000000002"
	discordTanaka = "100000000000000001" // tanaka's Discord user
	discordSuzuki = "100000000000000002" // not a contact: acts as the user id
)

// discordRig is the real binary (one or more replicas) on PostgreSQL with a
// fake Discord, optionally a fake Slack, and a fake Twilio.
type discordRig struct {
	t       *testing.T
	fake    *discordtest.Server
	slack   *slacktest.Server // nil unless Slack is configured too
	phone   *twiliotest.Server
	dir     string
	cfg     string
	env     []string
	dbURL   string
	replica []*proc
}

type discordRigOptions struct {
	ackTimeout string // default 3s
	withSlack  bool
}

func startDiscordRig(t *testing.T, o discordRigOptions) *discordRig {
	t.Helper()
	fake, err := discordtest.NewServer(discordtest.WithHeartbeatInterval(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.AddChannel(discordAlerts)
	fake.AddChannel(discordKB)
	r := &discordRig{t: t, fake: fake, phone: newFakeTwilio(t), dir: t.TempDir(), dbURL: pgtest.NewDatabase(t)}
	if o.ackTimeout == "" {
		o.ackTimeout = "3s"
	}
	slackChat, slackChannels, slackUser := "", "", ""
	if o.withSlack {
		r.slack, err = slacktest.NewServer()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.slack.Close)
		slackChat = fmt.Sprintf("\n  slack: {bot_token: %q, signing_secret: \"${TEST_SLACK_SECRET}\", api_url: %q}", r.slack.Token(), r.slack.APIURL())
		slackChannels, slackUser = "slack: C0ALERTS, ", ", slack: U01TANAKA"
	}
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`database:
  url: %q
http:
  public_url: http://%s
  api_token: api-token
locale: en
chat:
  discord: {bot_token: %q, application_id: %q, guild_id: %q, public_key: %q, api_url: %q}%s
phone:
  twilio: {account_sid: %s, auth_token: "${TEST_TWILIO_TOKEN}", from: "+815012345678", api_url: %q, calls_per_second: 50}
contacts:
  - {id: tanaka, name: 田中, phone: %q, discord: %q%s}
schedules:
  - {id: infra, time_zone: Asia/Tokyo, rotation: weekly, handoff: "mon 09:00", members: [tanaka]}
policies:
  - {id: infra, ack_timeout: %s, steps: [{call: [tanaka], ring_timeout: 20s}]}
services:
  - {id: web, name: Web shop, policy: infra, channels: {%sdiscord: %q}, knowledge_base: {discord: %q}}
integrations:
  - {id: generic, kind: generic, service: web, token: generic-token}
`, r.dbURL, addr, fake.Token(), discordtest.ApplicationID, discordtest.GuildID, fake.PublicKey(), fake.APIURL(), slackChat,
		e2eAccount, r.phone.URL(), tanakaPhone, discordTanaka, slackUser, o.ackTimeout, slackChannels, discordAlerts, discordKB)
	r.cfg = filepath.Join(r.dir, "hotline.yaml")
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A dead gateway holder's lease runs out in 2 s, so takeovers are quick.
	r.env = append([]string{"TEST_SLACK_SECRET=" + slackSecret, "HOTLINE_LEADER_LEASE=2s"}, escalationEnv...)
	r.replica = append(r.replica, startServeAt(t, addr, r.dir, r.env, "--config", r.cfg))
	r.waitGateway()
	return r
}

// addReplica starts another serve on the same database and config.
func (r *discordRig) addReplica() *proc {
	p := startServe(r.t, r.dir, r.env, "--config", r.cfg)
	r.replica = append(r.replica, p)
	return p
}

func (r *discordRig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	r.t.Cleanup(cancel)
	return ctx
}

// waitGateway waits for a gateway session and /incident registered in the
// guild.
func (r *discordRig) waitGateway() {
	r.t.Helper()
	if err := r.fake.WaitSessions(r.ctx(), 1); err != nil {
		r.t.Fatalf("no gateway session: %v", err)
	}
	waitFor(r.t, "/incident registered", func() bool {
		cmds, _ := r.fake.Commands(discordtest.GuildID)
		return len(cmds) == 1
	})
}

// root waits for the n-th incident embed in the alerts channel.
func (r *discordRig) root(n int) discordtest.Message {
	r.t.Helper()
	var root discordtest.Message
	waitFor(r.t, fmt.Sprintf("embed %d", n), func() bool {
		var roots []discordtest.Message
		for _, m := range r.fake.Messages(discordAlerts) {
			if len(m.Embeds) > 0 {
				roots = append(roots, m)
			}
		}
		if len(roots) >= n {
			root = roots[n-1]
			_, threaded := r.fake.Thread(root.ID)
			return threaded
		}
		return false
	})
	return root
}

// interact sends an interaction over the gateway and waits for its answer.
func (r *discordRig) interact(i discordtest.Interaction) discordtest.Response {
	r.t.Helper()
	p, err := r.fake.Interact(i)
	if err != nil {
		r.t.Fatalf("interaction: %v", err)
	}
	resp, err := p.Wait(r.ctx())
	if err != nil {
		r.t.Fatalf("interaction answer: %v", err)
	}
	return resp
}

// threadSays reports whether a message in the incident's thread holds s.
func (r *discordRig) threadSays(root discordtest.Message, s string) bool {
	for _, m := range r.fake.Messages(root.ID) {
		if strings.Contains(m.Content, s) {
			return true
		}
	}
	return false
}

func (r *discordRig) status(ref string) incidentDetail { return getIncident(r.t, r.replica[0], ref) }

func TestDiscordEndToEnd(t *testing.T) {
	r := startDiscordRig(t, discordRigOptions{})
	p := r.replica[0]

	// Identify asked for the minimal intents only.
	if s := r.fake.Sessions(); len(s) != 1 || s[0].Intents != discordtest.IntentGuilds|discordtest.IntentGuildMessages|discordtest.IntentGuildMessageReactions {
		t.Errorf("sessions %+v, want one with guilds|guild messages|guild message reactions", s)
	}

	// Alert → embed with buttons, and a thread started from it.
	postAlert(t, p, "db01-disk")
	root := r.root(1)
	if !strings.HasPrefix(root.Embeds[0].Title, "INC-1 ") || len(root.Buttons()) != 4 {
		t.Errorf("embed %q with %d buttons, want INC-1 and 4", root.Embeds[0].Title, len(root.Buttons()))
	}
	if th, ok := r.fake.Thread(root.ID); !ok || !strings.HasPrefix(th.Name, "INC-1") {
		t.Errorf("no thread INC-1 started from the embed: %+v", th)
	}

	// The HTTP interactions endpoint passes Discord's check and refuses
	// forgeries.
	if err := r.fake.VerifyEndpoint(r.ctx(), p.url("/v1/discord/interactions")); err != nil {
		t.Errorf("endpoint check: %v", err)
	}
	forged, _ := r.fake.SignedRequest(p.url("/v1/discord/interactions"), discordtest.Command(discordAlerts, discordTanaka, nil, "ack",
		map[string]any{"incident": "INC-1"}))
	forged.Header.Set("X-Signature-Ed25519", strings.Repeat("ab", 64))
	if resp, err := http.DefaultClient.Do(forged); err != nil || resp.StatusCode != 401 {
		t.Errorf("forged interaction: %v %v, want 401", resp, err)
	}
	if got := r.status("INC-1"); got.Status != "triggered" {
		t.Fatalf("a forged interaction changed INC-1: %s", got.Status)
	}

	// /incident ack over the gateway, by the mapped contact.
	resp := r.interact(discordtest.Command(discordAlerts, discordTanaka, nil, "ack", map[string]any{"incident": "INC-1"}))
	if !strings.Contains(resp.Content, "INC-1 acknowledged by tanaka") || resp.Ephemeral() {
		t.Errorf("ack reply %+v", resp)
	}
	if got := r.status("INC-1"); got.Status != "acknowledged" || got.Owner != "tanaka" {
		t.Errorf("after /incident ack: %s owner %q", got.Status, got.Owner)
	}
	waitFor(t, "the embed edited and the ack in the thread", func() bool {
		m, _ := r.fake.Message(root.ID)
		return m.Edits > 0 && len(m.Buttons()) == 2 && r.threadSays(root, "acknowledged")
	})
	// A mistake: ephemeral, with the usage.
	resp = r.interact(discordtest.Command(discordAlerts, discordTanaka, nil, "sev", map[string]any{"level": 1}))
	if !resp.Ephemeral() || !strings.Contains(resp.Content, "/incident sev") {
		t.Errorf("sev without an incident: %+v, want an ephemeral usage reply", resp)
	}

	// The 👀 reaction on the embed.
	postAlert(t, p, "api-latency")
	root2 := r.root(2)
	if err := r.fake.React(discordAlerts, root2.ID, discordSuzuki, "👀"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reaction's ack", func() bool { return r.status("INC-2").Status == "acknowledged" })
	for _, e := range r.status("INC-2").Timeline {
		if e.Kind == "acknowledged" && (e.Actor != discordSuzuki || e.Source != "discord") {
			t.Errorf("reaction ack by %s/%s", e.Actor, e.Source)
		}
	}

	// The Acknowledge button.
	postAlert(t, p, "queue-depth")
	root3 := r.root(3)
	resp = r.interact(discordtest.Button(discordAlerts, root3.ID, discordTanaka, nil, "incident.ack:3"))
	if !resp.Ephemeral() || !strings.Contains(resp.Content, "INC-3") {
		t.Errorf("button reply %+v", resp)
	}
	if got := r.status("INC-3"); got.Status != "acknowledged" {
		t.Errorf("after the button: %s", got.Status)
	}

	// In the incident's thread, the incident is implied.
	resp = r.interact(discordtest.Command(root3.ID, discordTanaka, nil, "note", map[string]any{"text": "queue drained by hand"}))
	if !strings.Contains(resp.Content, "INC-3") {
		t.Errorf("note in the thread: %+v", resp)
	}

	// Resolve by button: the postmortem form, then the summary in the
	// knowledge-base channel.
	resp = r.interact(discordtest.Button(discordAlerts, root.ID, discordTanaka, nil, "incident.resolve:1"))
	if resp.Type != discordtest.ResponseModal || resp.CustomID != "incident.postmortem:1" {
		t.Fatalf("resolve button answered %+v, want the postmortem form", resp)
	}
	resp = r.interact(discordtest.ModalSubmit(discordAlerts, discordTanaka, "incident.postmortem:1", map[string]string{
		"cause": "log rotation was off", "fix": "removed old logs", "followups": "turn rotation on"}))
	if !strings.Contains(resp.Content, "INC-1") {
		t.Errorf("postmortem form reply %+v", resp)
	}
	waitFor(t, "the postmortem in the knowledge base", func() bool {
		for _, m := range r.fake.Messages(discordKB) {
			if strings.Contains(m.Content, "Postmortem INC-1") && strings.Contains(m.Content, "removed old logs") {
				return true
			}
		}
		return false
	})
	if got := r.status("INC-1"); got.Status != "resolved" {
		t.Errorf("INC-1 %s after the resolve button", got.Status)
	}

	// The same over the HTTP endpoint: resolve INC-2.
	pending, err := r.fake.Deliver(r.ctx(), p.url("/v1/discord/interactions"), discordtest.Command(discordAlerts, discordTanaka, nil, "resolve",
		map[string]any{"incident": "INC-2", "summary": "restarted the api"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := pending.Wait(r.ctx()); err != nil || !strings.Contains(resp.Content, "INC-2 resolved") {
		t.Errorf("resolve over HTTP: %+v %v", resp, err)
	}

	// A new incident like INC-1 names it, and its fix, in its thread.
	postAlert(t, p, "db02-disk")
	root4 := r.root(4)
	waitFor(t, "the similar-incident hint in the new thread", func() bool {
		return r.threadSays(root4, "INC-1") && r.threadSays(root4, "removed old logs")
	})
	r.interact(discordtest.Command(root4.ID, discordTanaka, nil, "ack", nil))

	// Every incident was acknowledged in chat: the phone never rang.
	time.Sleep(3500 * time.Millisecond)
	if n := len(r.phone.Calls()); n != 0 {
		t.Errorf("%d calls although every incident was acked in Discord", n)
	}
}

// When Discord refuses the embed, the chat window is skipped: the phone
// rings long before the ack timeout.
func TestDiscordDownCallsAtOnce(t *testing.T) {
	r := startDiscordRig(t, discordRigOptions{ackTimeout: "10m"})
	expect(t, r.phone, "call "+tanakaPhone+": answer, press 1")
	r.fake.FailNext("POST channels/{id}/messages", 1000, 500, 0)
	postAlert(t, r.replica[0], "db01-disk")
	waitFor(t, "the call", func() bool { return len(r.phone.Calls()) == 1 })
	waitFor(t, "the phone ack", func() bool { return r.status("INC-1").Status == "acknowledged" })
	if m := metricsOf(t, r.replica[0]); !strings.Contains(m, `hotline_chat_posts_failed_total{platform="discord"}`) ||
		!strings.Contains(m, "hotline_calls_requested_total 1") {
		t.Errorf("/metrics lacks the failed posts or the call:\n%s", m)
	}
}

func TestSlackAndDiscordStayInStep(t *testing.T) {
	r := startDiscordRig(t, discordRigOptions{withSlack: true})
	p := r.replica[0]
	s := &slackRig{t: t, p: p, slack: r.slack}
	postAlert(t, p, "db01-disk")
	root := r.root(1)
	slackRoot := s.root(1)

	// Ack in Discord: Slack's root shows it, and its thread says so.
	r.interact(discordtest.Command(discordAlerts, discordTanaka, nil, "ack", map[string]any{"incident": "INC-1"}))
	waitFor(t, "Slack brought up to date", func() bool {
		for _, m := range r.slack.Messages("C0ALERTS") {
			if m.TS == slackRoot && m.Edited > 0 && strings.Contains(string(m.Blocks), "Acknowledged") {
				for _, reply := range r.slack.Thread("C0ALERTS", slackRoot) {
					if strings.Contains(reply.Text, "acknowledged") {
						return true
					}
				}
			}
		}
		return false
	})

	// A note in Slack reaches the Discord thread; a resolve in Slack turns
	// the embed green and takes its buttons away.
	if code, body := s.slash("note INC-1 disk grows 1GB/min from app logs", "U01TANAKA"); code != 200 {
		t.Fatalf("slack note: %d %s", code, body)
	}
	waitFor(t, "the note in the Discord thread", func() bool { return r.threadSays(root, "disk grows 1GB/min") })
	if code, body := s.slash("resolve INC-1", "U01TANAKA"); code != 200 {
		t.Fatalf("slack resolve: %d %s", code, body)
	}
	waitFor(t, "the embed resolved", func() bool {
		m, _ := r.fake.Message(root.ID)
		return len(m.Buttons()) == 0 && len(m.Embeds) == 1 && m.Embeds[0].Color == 0x3BA55D
	})
	// Each platform has exactly one root message for the incident.
	embeds := 0
	for _, m := range r.fake.Messages(discordAlerts) {
		if len(m.Embeds) > 0 {
			embeds++
		}
	}
	if embeds != 1 {
		t.Errorf("%d embeds in the Discord channel, want 1", embeds)
	}
	roots := 0
	for _, m := range r.slack.Messages("C0ALERTS") {
		if m.ThreadTS == "" {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("%d Slack root messages, want 1", roots)
	}
}

// Two replicas: one holds the gateway; when it is killed the other takes
// over within seconds, and no interaction is handled twice, even when the
// same signed interaction reaches both replicas.
func TestDiscordGatewayFailover(t *testing.T) {
	r := startDiscordRig(t, discordRigOptions{})
	a := r.replica[0]
	b := r.addReplica()
	postAlert(t, a, "db01-disk")
	r.root(1)

	// One signed interaction delivered to both replicas runs once.
	req, err := r.fake.SignedRequest(a.url("/v1/discord/interactions"), discordtest.Command(discordAlerts, discordTanaka, nil, "note",
		map[string]any{"incident": "INC-1", "text": "delivered twice"}))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	for _, p := range []*proc{a, b} {
		again, _ := http.NewRequest("POST", p.url("/v1/discord/interactions"), bytes.NewReader(body))
		again.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(again)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("delivery to %s: %v %v", p.addr, resp, err)
		}
		resp.Body.Close()
	}

	// Exactly one session, held by the lease holder.
	time.Sleep(2500 * time.Millisecond) // b has tried to take the lease at least once
	if n := len(r.fake.Sessions()); n != 1 {
		t.Fatalf("%d gateway sessions with two replicas, want 1", n)
	}
	holder := leaseHolder(t, r.dbURL, "discord.gateway")
	leader, other := a, b
	if strings.HasSuffix(holder, "-"+strconv.Itoa(b.cmd.Process.Pid)) {
		leader, other = b, a
	}
	before := r.fake.Identifies()
	leader.kill9()
	killed := time.Now()
	waitFor(t, "the other replica's gateway", func() bool {
		return r.fake.Identifies() > before && len(r.fake.Sessions()) == 1
	})
	takeover := time.Since(killed)
	t.Logf("gateway taken over %v after the leader was killed", takeover.Round(10*time.Millisecond))
	if takeover > 10*time.Second {
		t.Errorf("takeover took %v, want within 10s", takeover)
	}
	if got := leaseHolder(t, r.dbURL, "discord.gateway"); !strings.HasSuffix(got, "-"+strconv.Itoa(other.cmd.Process.Pid)) {
		t.Errorf("lease held by %q, want the surviving replica", got)
	}

	// /metrics says who leads: the survivor now, nobody else.
	waitFor(t, "hotline_leader in the survivor's /metrics", func() bool {
		return strings.Contains(metricsOf(t, other), `hotline_leader{lease="discord.gateway"} 1`)
	})

	// The survivor handles interactions, each once.
	for i := range 5 {
		resp := r.interact(discordtest.Command(discordAlerts, discordTanaka, nil, "note", map[string]any{"incident": "INC-1", "text": fmt.Sprint("after takeover ", i)}))
		if !strings.Contains(resp.Content, "INC-1") {
			t.Errorf("note %d: %+v", i, resp)
		}
	}
	notes := map[string]int{}
	for _, e := range getIncident(t, other, "INC-1").Timeline {
		if e.Kind == "note" {
			notes[e.Text]++
		}
	}
	for text, n := range notes {
		if n != 1 {
			t.Errorf("note %q recorded %d times", text, n)
		}
	}
	if len(notes) != 6 {
		t.Errorf("notes %v, want the twice-delivered one and 5 after the takeover", notes)
	}
}

// leaseHolder reads who holds a lease, straight from the database.
func leaseHolder(t *testing.T, dbURL, name string) string {
	t.Helper()
	var holder string
	if err := openDB(t, dbURL).QueryRow(`SELECT holder FROM leases WHERE name = $1 AND expires_at > now()`, name).Scan(&holder); err != nil {
		t.Fatalf("lease %s: %v", name, err)
	}
	return holder
}

func metricsOf(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := http.Get(p.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
