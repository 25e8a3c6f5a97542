package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
)

const (
	e2eAccount   = "AC00000000000000000000000000000001"
	e2eAuthToken = "twilioAuthToken0"
	tanakaPhone  = "+819011112222"
	suzukiPhone  = "+819033334444"
	satoPhone    = "+819055556666"
)

// writeEscalationConfig is a config with three on-call contacts called one
// after another when nobody acks in chat within ackTimeout.
func writeEscalationConfig(t *testing.T, dir, dbURL, publicURL, twilioURL, ackTimeout string) string {
	t.Helper()
	cfg := fmt.Sprintf(`database:
  url: %q
http:
  public_url: %s
  api_token: api-token
locale: ja
phone:
  twilio: {account_sid: %s, auth_token: "${TEST_TWILIO_TOKEN}", from: "+815012345678", api_url: %q, calls_per_second: 50}
contacts:
  - {id: tanaka, name: 田中, phone: %q, locale: ja}
  - {id: suzuki, name: 鈴木, phone: %q, locale: en}
  - {id: sato, name: 佐藤, phone: %q}
policies:
  - id: infra
    ack_timeout: %s
    steps:
      - {call: [tanaka, suzuki, sato], ring_timeout: 20s}
    notify: [admin@example.com]
services:
  - {id: web, name: Web shop, policy: infra}
integrations:
  - {id: generic, kind: generic, service: web, token: generic-token}
`, dbURL, publicURL, e2eAccount, twilioURL, tanakaPhone, suzukiPhone, satoPhone, ackTimeout)
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var escalationEnv = []string{"TEST_TWILIO_TOKEN=" + e2eAuthToken}

func newFakeTwilio(t *testing.T) *twiliotest.Server {
	t.Helper()
	fake, err := twiliotest.New(twiliotest.Options{AccountSID: e2eAccount, AuthToken: e2eAuthToken, Step: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

func expect(t *testing.T, fake *twiliotest.Server, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if err := fake.Expect(l); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFake(t *testing.T, fake *twiliotest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.Wait(ctx); err != nil {
		// Only the callbacks lost in the partition may have failed.
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.Contains(line, "503 network partition") {
				t.Fatalf("fake Twilio: %v", err)
			}
		}
	}
	if err := fake.Err(); err != nil {
		t.Fatalf("fake Twilio saw: %v", err)
	}
}

type incidentDetail struct {
	Number   int64  `json:"number"`
	Status   string `json:"status"`
	Owner    string `json:"owner"`
	Timeline []struct {
		Kind, Actor, Source, Text string
	} `json:"timeline"`
}

func getIncident(t *testing.T, p *proc, ref string) incidentDetail {
	t.Helper()
	var inc incidentDetail
	if code := do(t, "GET", p.url("/v1/incidents/"+ref), "api-token", "", &inc); code != 200 {
		t.Fatalf("get %s: %d", ref, code)
	}
	return inc
}

func calledNumbers(fake *twiliotest.Server) []string {
	var out []string
	for _, c := range fake.Calls() {
		out = append(out, c.To)
	}
	return out
}

// startEscalating runs one replica on a fresh PostgreSQL database with the
// three-contact policy and a fake Twilio whose callbacks reach it directly.
func startEscalating(t *testing.T, ackTimeout string) (*proc, *twiliotest.Server) {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	fake := newFakeTwilio(t)
	addr := freeAddr(t)
	cfg := writeEscalationConfig(t, dir, dbURL, "http://"+addr, fake.URL(), ackTimeout)
	return startServeAt(t, addr, dir, escalationEnv, "--config", cfg), fake
}

func postAlert(t *testing.T, p *proc, fingerprint string) {
	t.Helper()
	body := fmt.Sprintf(`{"title": "db01 ディスク使用率 95%%", "severity": "sev2", "fingerprint": %q}`, fingerprint)
	if code := do(t, "POST", p.url("/v1/integrations/generic/alerts"), "generic-token", body, nil); code != 202 {
		t.Fatalf("alert: %d", code)
	}
}

// No ack in chat → calls in order → the keypad decides → acknowledged, on
// the real binary with PostgreSQL and the fake Twilio; then every callback
// path gets forged, unknown and replayed requests.
func TestEscalationEndToEnd(t *testing.T) {
	p, fake := startEscalating(t, "1s")
	addr := p.addr
	expect(t, fake, "call "+tanakaPhone+": no answer", "call "+suzukiPhone+": answer, press 2", "call "+satoPhone+": answer, press 9, press 1")
	start := time.Now()
	postAlert(t, p, "db01-disk")
	waitFake(t, fake)
	if got := calledNumbers(fake); !slices.Equal(got, []string{tanakaPhone, suzukiPhone, satoPhone}) {
		t.Fatalf("called %v", got)
	}
	if first := fake.Calls()[0].CreatedAt.Sub(start); first < time.Second {
		t.Errorf("first call %v after the alert: the 1s chat window was skipped", first)
	}
	if c := fake.Calls()[0]; !strings.Contains(c.Twiml, `language="ja-JP"`) || !strings.Contains(c.Twiml, "INC-1") && !strings.Contains(c.Twiml, "1 番") {
		t.Errorf("tanaka's call does not speak Japanese about the incident: %s", c.Twiml)
	}
	waitFor(t, "the phone ack", func() bool { return getIncident(t, p, "INC-1").Status == "acknowledged" })
	inc := getIncident(t, p, "INC-1")
	if inc.Owner != "sato" {
		t.Errorf("owner %q, want sato", inc.Owner)
	}
	var lines []string
	for _, e := range inc.Timeline {
		lines = append(lines, fmt.Sprintf("%s %s/%s", e.Kind, e.Actor, e.Source))
	}
	for _, want := range []string{"call tanaka/phone", "call suzuki/phone", "acknowledged sato/phone"} {
		if !slices.Contains(lines, want) {
			t.Errorf("timeline %v lacks %q", lines, want)
		}
	}
	if out := p.stdout.String(); !strings.Contains(out, "┏ INC-1") || !strings.Contains(out, "would mail admin@example.com") {
		t.Errorf("console chat and status mail not shown:\n%s", out)
	}

	// Forged, unknown and replayed callbacks change nothing.
	before := len(getIncident(t, p, "INC-1").Timeline)
	callbacks := fake.Callbacks()
	gather := slices.IndexFunc(callbacks, func(c twiliotest.Callback) bool { return c.Kind == "gather" && c.Params.Get("Digits") == "1" })
	if gather < 0 {
		t.Fatalf("no gather callback with 1 among %d", len(callbacks))
	}
	g := callbacks[gather]
	post := func(target, signature string, form url.Values) int {
		req, _ := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if signature != "" {
			req.Header.Set("X-Twilio-Signature", signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(g.URL, "", g.Params); code != 403 {
		t.Errorf("unsigned gather: %d, want 403", code)
	}
	if code := post(g.URL, twiliotest.Sign("wrong-token", g.URL, g.Params), g.Params); code != 403 {
		t.Errorf("gather signed with another token: %d, want 403", code)
	}
	tampered := url.Values{}
	for k, v := range g.Params {
		tampered[k] = v
	}
	tampered.Set("Digits", "2")
	if code := post(g.URL, g.Signature, tampered); code != 403 {
		t.Errorf("gather with a changed digit under the old signature: %d, want 403", code)
	}
	unknown := strings.Replace(g.URL, "attempt=", "attempt=nope", 1)
	if code := post(unknown, twiliotest.Sign(e2eAuthToken, unknown, g.Params), g.Params); code != 404 {
		t.Errorf("gather for an unknown call: %d, want 404", code)
	}
	statusURL := "http://" + addr + "/v1/twilio/status?attempt=nope"
	form := url.Values{"CallSid": {"CA0"}, "CallStatus": {"completed"}, "AccountSid": {e2eAccount}}
	if code := post(statusURL, twiliotest.Sign(e2eAuthToken, statusURL, form), form); code != 404 {
		t.Errorf("status for an unknown call: %d, want 404", code)
	}
	if code := post(statusURL, "", form); code != 403 {
		t.Errorf("unsigned status: %d, want 403", code)
	}
	for i := range callbacks {
		if code, err := fake.Replay(i); err != nil || code >= 300 {
			t.Errorf("replay of callback %d (%s %s): %d %v", i, callbacks[i].Kind, callbacks[i].Params.Get("CallStatus"), code, err)
		}
	}
	after := getIncident(t, p, "INC-1")
	if len(after.Timeline) != before || after.Status != "acknowledged" || after.Owner != "sato" {
		t.Errorf("forged and replayed callbacks changed the incident: %d → %d events, %s, owner %s", before, len(after.Timeline), after.Status, after.Owner)
	}
	time.Sleep(300 * time.Millisecond)
	if got := calledNumbers(fake); len(got) != 3 {
		t.Errorf("replays placed calls: %v", got)
	}
}

// failoverProxy is the load balancer in front of replicas: Twilio's
// callbacks reach whichever replica is alive.
func failoverProxy(t *testing.T, backends func() []*proc, blackout *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if blackout.Load() {
			http.Error(w, "network partition", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		for _, p := range backends() {
			req, _ := http.NewRequest(r.Method, p.url(r.URL.RequestURI()), strings.NewReader(string(body)))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue // that replica is dead: try the next
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no replica alive", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Two replicas; the one whose call request is in flight is killed -9 before
// it learns the call's id, and Twilio's status callbacks do not get through
// meanwhile. The other takes the attempt over when its lease runs out, asks
// Twilio, finds the call and does not place it again; the next call still
// happens, once.
func TestEscalationReplicaKilledMidCall(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	fake := newFakeTwilio(t)
	var mu sync.Mutex
	var replicas []*proc
	var blackout atomic.Bool
	proxy := failoverProxy(t, func() []*proc { mu.Lock(); defer mu.Unlock(); return slices.Clone(replicas) }, &blackout)
	cfg := writeEscalationConfig(t, dir, dbURL, proxy.URL, fake.URL(), "0s")
	env := append([]string{"HOTLINE_JOB_LEASE=2s"}, escalationEnv...)
	a := startServe(t, dir, env, "--config", cfg)
	mu.Lock()
	replicas = append(replicas, a)
	mu.Unlock()

	expect(t, fake, "call "+tanakaPhone+": ring", "call "+suzukiPhone+": answer, press 1")
	fake.DelayNext(1, time.Minute) // tanaka's call is placed; its response never reaches a
	blackout.Store(true)
	postAlert(t, a, "db01-disk")
	waitFor(t, "the call to tanaka", func() bool { return len(fake.Calls()) == 1 })
	b := startServe(t, dir, env, "--config", cfg)
	mu.Lock()
	replicas = append(replicas, b)
	mu.Unlock()
	a.kill9()
	mu.Lock()
	replicas = []*proc{b}
	mu.Unlock()

	// b takes the call job over once a's lease has run out and finds the call.
	waitFor(t, "b to take the attempt over", func() bool { return strings.Contains(b.stderr.String(), "not calling again") })
	if got := calledNumbers(fake); !slices.Equal(got, []string{tanakaPhone}) {
		t.Fatalf("after the takeover: called %v, want tanaka once", got)
	}
	blackout.Store(false)
	if err := fake.End(fake.Calls()[0].SID, "no-answer"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fake.Wait(ctx); err != nil {
		// Only the callbacks lost in the partition may have failed.
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.Contains(line, "503 network partition") {
				t.Fatalf("fake Twilio: %v", err)
			}
		}
	}
	waitFor(t, "the phone ack", func() bool { return getIncident(t, b, "INC-1").Status == "acknowledged" })
	time.Sleep(500 * time.Millisecond)
	if got := calledNumbers(fake); !slices.Equal(got, []string{tanakaPhone, suzukiPhone}) {
		t.Errorf("called %v, want tanaka then suzuki, once each", got)
	}
	if inc := getIncident(t, b, "INC-1"); inc.Owner != "suzuki" {
		t.Errorf("owner %q, want suzuki", inc.Owner)
	}
}

// The demo tells the whole story on its own: alert, thread, no ack, calls in
// order (no answer, pass, accept), acknowledged, resolved.
func TestDemoCommand(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--step", "30ms")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"┏ INC-1 db01 disk usage 95%",
		"nobody acknowledged in chat within 4s: calling by phone",
		"田中 (Tanaka) did not answer",
		"鈴木 (Suzuki) passed it to the next person",
		"INC-1 acknowledged (by sato via phone)",
		"would mail oncall-admins@example.com",
		"INC-1 resolved: old logs removed from db01",
		"Done:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "did not answer") > strings.Index(text, "passed it") || strings.Index(text, "passed it") > strings.Index(text, "acknowledged (by sato") {
		t.Errorf("the story is out of order:\n%s", text)
	}
}

// An ack through the API stops the escalation at once: the ringing call is
// hung up and nobody else is called.
func TestAPIAckStopsRingingCall(t *testing.T) {
	p, fake := startEscalating(t, "0s")
	expect(t, fake, "call "+tanakaPhone+": ring")
	postAlert(t, p, "db01-disk")
	waitFor(t, "the call to ring", func() bool { return len(fake.Calls()) == 1 && fake.Calls()[0].Status == "ringing" })
	var inc struct{ Status, Owner string }
	if code := do(t, "POST", p.url("/v1/incidents/INC-1/ack"), "api-token", `{"by": "suzuki"}`, &inc); code != 200 || inc.Status != "acknowledged" {
		t.Fatalf("API ack: %d %+v", code, inc)
	}
	waitFor(t, "the ringing call to be hung up", func() bool { return fake.Calls()[0].Hangups == 1 })
	if code := do(t, "POST", p.url("/v1/incidents/INC-1/ack"), "api-token", "", nil); code != 409 {
		t.Errorf("second ack: %d, want 409", code)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d calls after the ack, want 1", n)
	}
	detail := getIncident(t, p, "INC-1")
	if detail.Owner != "suzuki" || detail.Timeline[len(detail.Timeline)-1].Source != "api" {
		t.Errorf("after the API ack: %+v", detail)
	}
}
