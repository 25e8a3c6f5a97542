package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
)

const slackSecret = "e2eSlackSigningSecret0"

// slackRig is the real binary on PostgreSQL with a fake Slack (HTTP mode)
// and a fake Twilio: a chat ack must stop the phone escalation.
type slackRig struct {
	t     *testing.T
	p     *proc
	slack *slacktest.Server
	phone *twiliotest.Server
	// responses are what the binary posted to the response_url of buttons.
	mu        sync.Mutex
	responses []string
	respURL   string
}

func startSlackRig(t *testing.T) *slackRig { return startSlackRigMode(t, false) }

func startSlackRigMode(t *testing.T, socket bool) *slackRig { return startSlackRigWith(t, socket, "") }

// startSlackRigWith starts the rig in HTTP mode (signing secret) or in
// Socket Mode (app token only: no public URL reaches Hotline from Slack),
// with extra config appended.
func startSlackRigWith(t *testing.T, socket bool, extra string) *slackRig {
	t.Helper()
	fakeSlack, err := slacktest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakeSlack.Close)
	r := &slackRig{t: t, slack: fakeSlack, phone: newFakeTwilio(t)}
	resp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.responses = append(r.responses, string(b))
		r.mu.Unlock()
	}))
	t.Cleanup(resp.Close)
	r.respURL = resp.URL
	dir := t.TempDir()
	addr := freeAddr(t)
	slackAuth := `signing_secret: "${TEST_SLACK_SECRET}"`
	if socket {
		slackAuth = fmt.Sprintf("app_token: %q", fakeSlack.AppToken())
	}
	cfg := fmt.Sprintf(`database:
  url: %q
http:
  public_url: http://%s
  api_token: api-token
locale: en
chat:
  slack: {bot_token: %q, %s, api_url: %q}
phone:
  twilio: {account_sid: %s, auth_token: "${TEST_TWILIO_TOKEN}", from: "+815012345678", api_url: %q, calls_per_second: 50}
contacts:
  - {id: tanaka, name: 田中, phone: %q, slack: U01TANAKA}
schedules:
  - {id: infra, time_zone: Asia/Tokyo, rotation: weekly, handoff: "mon 09:00", members: [tanaka]}
policies:
  - {id: infra, ack_timeout: 3s, steps: [{call: [tanaka], ring_timeout: 20s}]}
services:
  - {id: web, name: Web shop, policy: infra, channels: {slack: C0ALERTS}, knowledge_base: {slack: C0KB}}
integrations:
  - {id: generic, kind: generic, service: web, token: generic-token}
%s`, pgtest.NewDatabase(t), addr, fakeSlack.Token(), slackAuth, fakeSlack.APIURL(), e2eAccount, r.phone.URL(), tanakaPhone, extra)
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.p = startServeAt(t, addr, dir, append([]string{"TEST_SLACK_SECRET=" + slackSecret}, escalationEnv...), "--config", path)
	return r
}

// post sends a request signed as Slack signs it (secret "" leaves it unsigned).
func (r *slackRig) post(path, contentType, body, secret string) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest("POST", r.p.url(path), strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	ts := time.Now().Unix()
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	if secret != "" {
		req.Header.Set("X-Slack-Signature", slacktest.Sign(secret, ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *slackRig) slash(text, user string) (int, string) {
	form := url.Values{"command": {"/incident"}, "text": {text}, "user_id": {user}, "user_name": {"tanaka"},
		"channel_id": {"C0ALERTS"}, "team_id": {"T0TEAM"}, "trigger_id": {fmt.Sprint("trig-", time.Now().UnixNano())},
		"response_url": {r.respURL}}
	return r.post("/v1/slack/commands", "application/x-www-form-urlencoded", form.Encode(), slackSecret)
}

func (r *slackRig) click(action string, number int, user string) int {
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": fmt.Sprint("click-", time.Now().UnixNano()), "response_url": r.respURL,
		"team": map[string]any{"id": "T0TEAM"}, "user": map[string]any{"id": user, "name": "tanaka"},
		"channel": map[string]any{"id": "C0ALERTS"},
		"actions": []map[string]any{{"action_id": action, "block_id": "incident-actions", "value": strconv.Itoa(number), "type": "button", "action_ts": "1700000000.1"}},
	})
	code, _ := r.post("/v1/slack/interactions", "application/x-www-form-urlencoded", url.Values{"payload": {string(payload)}}.Encode(), slackSecret)
	return code
}

func (r *slackRig) react(emoji, rootTS, user, eventID string) int {
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T0TEAM", "event_id": eventID, "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "reaction_added", "user": user, "reaction": emoji,
			"item": map[string]any{"type": "message", "channel": "C0ALERTS", "ts": rootTS}, "event_ts": "1700000001.000200"},
	})
	code, _ := r.post("/v1/slack/events", "application/json", string(body), slackSecret)
	return code
}

// root waits for the n-th root message in the alerts channel and returns its ts.
func (r *slackRig) root(n int) string {
	r.t.Helper()
	var ts string
	waitFor(r.t, fmt.Sprintf("root message %d", n), func() bool {
		var roots []string
		for _, m := range r.slack.Messages("C0ALERTS") {
			if m.ThreadTS == "" {
				roots = append(roots, m.TS)
			}
		}
		if len(roots) >= n {
			ts = roots[n-1]
			return true
		}
		return false
	})
	return ts
}

func (r *slackRig) status(ref string) incidentDetail { return getIncident(r.t, r.p, ref) }

func TestSlackEndToEnd(t *testing.T) {
	r := startSlackRig(t)

	// Alert → root message with the number and title, then its thread.
	postAlert(t, r.p, "db01-disk")
	root := r.root(1)
	msgs := r.slack.Messages("C0ALERTS")
	if !strings.Contains(msgs[0].Text, "INC-1") || !strings.Contains(string(msgs[0].Blocks), `"incident.ack"`) {
		t.Errorf("root message %q blocks %s", msgs[0].Text, msgs[0].Blocks)
	}

	// Forged, stale and unsigned requests change nothing.
	if code, _ := r.post("/v1/slack/commands", "application/x-www-form-urlencoded", "text=ack+INC-1&user_id=U1", "wrong-secret"); code != 401 {
		t.Errorf("wrongly signed command: %d, want 401", code)
	}
	if code, _ := r.post("/v1/slack/commands", "application/x-www-form-urlencoded", "text=ack+INC-1&user_id=U1", ""); code != 401 {
		t.Errorf("unsigned command: %d, want 401", code)
	}
	if got := r.status("INC-1"); got.Status != "triggered" {
		t.Fatalf("a forged command changed INC-1: %s", got.Status)
	}

	// /incident ack in Slack acknowledges, by the mapped contact, and the
	// phone never rings.
	code, body := r.slash("ack INC-1", "U01TANAKA")
	if code != 200 || !strings.Contains(body, "INC-1") {
		t.Fatalf("slash ack: %d %s", code, body)
	}
	if got := r.status("INC-1"); got.Status != "acknowledged" || got.Owner != "tanaka" {
		t.Errorf("after /incident ack: %s owner %q", got.Status, got.Owner)
	}
	waitFor(t, "the ack in the thread", func() bool {
		for _, m := range r.slack.Thread("C0ALERTS", root) {
			if strings.Contains(m.Text, "acknowledged") {
				return true
			}
		}
		return false
	})
	if code, body := r.slash("bogus", "U01TANAKA"); code != 200 || !strings.Contains(body, "ephemeral") {
		t.Errorf("bad command: %d %s, want an ephemeral usage reply", code, body)
	}

	// The Acknowledge button.
	postAlert(t, r.p, "api-latency")
	r.root(2)
	if code := r.click("incident.ack", 2, "U01TANAKA"); code != 200 {
		t.Errorf("button: %d", code)
	}
	waitFor(t, "the button's ack", func() bool { return r.status("INC-2").Status == "acknowledged" })

	// The 👀 reaction on the root message, delivered twice (Slack retries).
	postAlert(t, r.p, "queue-depth")
	root3 := r.root(3)
	for range 2 {
		if code := r.react("eyes", root3, "U02SUZUKI", "Ev0003"); code != 200 {
			t.Errorf("reaction event: %d", code)
		}
	}
	waitFor(t, "the reaction's ack", func() bool { return r.status("INC-3").Status == "acknowledged" })
	acks := 0
	for _, e := range r.status("INC-3").Timeline {
		if e.Kind == "acknowledged" {
			acks++
			if e.Actor != "U02SUZUKI" || e.Source != "slack" {
				t.Errorf("reaction ack by %s/%s", e.Actor, e.Source)
			}
		}
	}
	if acks != 1 {
		t.Errorf("%d acks from one retried reaction event", acks)
	}

	// Nobody acked any of them by phone: the chat acks stopped escalation.
	time.Sleep(3500 * time.Millisecond)
	if n := len(r.phone.Calls()); n != 0 {
		t.Errorf("%d calls although every incident was acked in chat", n)
	}
	r.mu.Lock()
	if len(r.responses) == 0 || !strings.Contains(strings.Join(r.responses, "\n"), "INC-2") {
		t.Errorf("the button's reply did not reach response_url: %q", r.responses)
	}
	r.mu.Unlock()

	// Resolve, write the postmortem: it lands in the knowledge-base channel.
	if code, body := r.slash("resolve INC-1 old logs removed", "U01TANAKA"); code != 200 || !strings.Contains(body, "INC-1") {
		t.Fatalf("resolve: %d %s", code, body)
	}
	if code, body := r.slash("postmortem INC-1 cause=log rotation was off fix=removed old logs followups=turn rotation on", "U01TANAKA"); code != 200 {
		t.Fatalf("postmortem: %d %s", code, body)
	}
	waitFor(t, "the postmortem in the knowledge base", func() bool {
		for _, m := range r.slack.Messages("C0KB") {
			if strings.Contains(m.Text, "INC-1") && strings.Contains(m.Text, "removed old logs") {
				return true
			}
		}
		return false
	})
	// The next disk alert's thread says how it was fixed last time.
	postAlert(t, r.p, "db01-disk-again")
	next := r.root(4)
	waitFor(t, "similar past incidents in the new thread", func() bool {
		for _, m := range r.slack.Thread("C0ALERTS", next) {
			if strings.Contains(m.Text, "INC-1") && strings.Contains(m.Text, "removed old logs") {
				return true
			}
		}
		return false
	})

	// "@Hotline ack" in that thread: the thread's incident is implied.
	mention, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T0TEAM", "event_id": "EvMention1", "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "app_mention", "user": "U01TANAKA", "text": "<@" + slacktest.BotUserID + "> ack",
			"channel": "C0ALERTS", "ts": "1700000099.000100", "thread_ts": next, "event_ts": "1700000099.000100"},
	})
	if code, _ := r.post("/v1/slack/events", "application/json", string(mention), slackSecret); code != 200 {
		t.Errorf("mention: %d", code)
	}
	waitFor(t, "the mention's ack of the thread's incident", func() bool { return r.status("INC-4").Status == "acknowledged" })
}

// An alert storm of one outage is one root message and a few digests.
func TestSlackStormIsOneThread(t *testing.T) {
	r := startSlackRig(t)
	postAlert(t, r.p, "storm")
	root := r.root(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sent := 0
	var mu sync.Mutex
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				if sent >= 1000 {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				postAlert(t, r.p, "storm")
			}
		}()
	}
	wg.Wait()
	close(stop)
	waitFor(t, "the storm's alerts counted", func() bool {
		var list incidentList
		do(t, "GET", r.p.url("/v1/incidents"), "api-token", "", &list)
		return len(list.Incidents) == 1 && list.Incidents[0].AlertCount == 1001
	})
	time.Sleep(4 * time.Second) // the last digest
	roots, replies := 0, len(r.slack.Thread("C0ALERTS", root))
	for _, m := range r.slack.Messages("C0ALERTS") {
		if m.ThreadTS == "" {
			roots++
		}
	}
	if roots != 1 || replies == 0 || replies > 10 {
		t.Errorf("1,001 alerts of one outage: %d root messages, %d thread replies; want 1 and a few digests", roots, replies)
	}
	t.Logf("storm: 1 root message, %d digest replies", replies)
}

// The command language's newer verbs, end to end: declare an incident in a
// service's channel, ask who is on call, and call now.
func TestSlackDeclareOnCallEscalate(t *testing.T) {
	r := startSlackRig(t)
	expect(t, r.phone, "call "+tanakaPhone+": ring")
	code, body := r.slash("new checkout returns 500 sev1", "U01TANAKA")
	if code != 200 || !strings.Contains(body, "INC-1") {
		t.Fatalf("/incident new: %d %s", code, body)
	}
	r.root(1)
	inc := r.status("INC-1")
	if inc.Timeline[0].Kind != "opened" || inc.Timeline[0].Actor != "tanaka" {
		t.Errorf("declared incident's first event %+v", inc.Timeline[0])
	}
	if code, body := r.slash("oncall", "U01TANAKA"); code != 200 || !strings.Contains(body, "tanaka") {
		t.Errorf("/incident oncall: %d %s", code, body)
	}
	if code, body := r.slash("escalate INC-1", "U01TANAKA"); code != 200 || !strings.Contains(body, "INC-1") {
		t.Errorf("/incident escalate: %d %s", code, body)
	}
	waitFor(t, "the call asked for in chat", func() bool { return len(r.phone.Calls()) == 1 })
}

// Socket Mode: no request reaches Hotline from Slack; Hotline dials out and
// answers envelopes on the WebSocket.
func TestSlackSocketMode(t *testing.T) {
	r := startSlackRigMode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.slack.WaitSocket(ctx, 1); err != nil {
		t.Fatalf("hotline did not open a Socket Mode connection: %v", err)
	}
	postAlert(t, r.p, "db01-disk")
	r.root(1)
	id, err := r.slack.PushSocket("slash_commands", map[string]string{"command": "/incident", "text": "ack INC-1",
		"user_id": "U01TANAKA", "user_name": "tanaka", "channel_id": "C0ALERTS", "team_id": "T0TEAM",
		"trigger_id": "sock-trigger-1", "response_url": r.respURL})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := r.slack.WaitAck(ctx, id)
	if err != nil || ack.Problem != "" || !strings.Contains(string(ack.Payload), "INC-1") {
		t.Fatalf("ack %+v, %v", ack, err)
	}
	if got := r.status("INC-1"); got.Status != "acknowledged" || got.Owner != "tanaka" {
		t.Errorf("after the Socket Mode command: %s owner %q", got.Status, got.Owner)
	}
	// Without a signing secret the HTTP endpoints are not there to forge.
	if code, _ := r.post("/v1/slack/commands", "application/x-www-form-urlencoded", "text=resolve+INC-1&user_id=U1", slackSecret); code != 404 {
		t.Errorf("HTTP command in Socket Mode: %d, want 404", code)
	}
}

// Only the on-call group may resolve: a refusal says who may, and a member of
// the Slack user group gets through.
func TestSlackAuthorization(t *testing.T) {
	r := startSlackRigWith(t, false, "authorization:\n  - {commands: [resolve], allow: [\"slack:S0ONCALL\"]}\n")
	r.slack.SetUserGroups(map[string][]string{"S0ONCALL": {"U02SUZUKI"}})
	postAlert(t, r.p, "db01-disk")
	r.root(1)
	code, body := r.slash("resolve INC-1 done", "U01TANAKA")
	if code != 200 || !strings.Contains(body, "ephemeral") || !strings.Contains(body, "slack:S0ONCALL") {
		t.Errorf("resolve by a non-member: %d %s, want an ephemeral refusal naming the group", code, body)
	}
	if got := r.status("INC-1"); got.Status == "resolved" {
		t.Fatalf("a refused resolve resolved INC-1")
	}
	if code, body := r.slash("ack INC-1", "U01TANAKA"); code != 200 || r.status("INC-1").Status != "acknowledged" {
		t.Errorf("ack is open to anyone: %d %s", code, body)
	}
	if code, body := r.slash("resolve INC-1 done", "U02SUZUKI"); code != 200 || r.status("INC-1").Status != "resolved" {
		t.Errorf("resolve by a group member: %d %s, status %s", code, body, r.status("INC-1").Status)
	}
}
