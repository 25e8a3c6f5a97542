package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/bot"
)

const (
	inbSecret   = "8f742231b10e8888abcd99yyyzzz85a5"
	inbBotToken = "xoxb-inbound-test"
	inbBotUser  = "U0HOTLINE"
	inbRootTs   = "1700000000.000100" // root message of INC-3 (incident id 103)
	inbAckedTs  = "1700000000.000900" // root message of INC-9 (id 109), already acknowledged
)

// inbCall is one call the fake bot or escalator received.
type inbCall struct {
	Op     string // ack, assign, classify, note, resolve, callnow
	Number int64
	Owner  string
	Text   string
	By     bot.Actor
}

// inbIncidents is commands.Incidents that records calls. With a gate every
// call waits for it to close; refuse answers chosen numbers with an error.
type inbIncidents struct {
	gate   chan struct{}
	refuse map[int64]error

	mu    sync.Mutex
	calls []inbCall
}

func (f *inbIncidents) record(ctx context.Context, c inbCall) (bot.Incident, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return bot.Incident{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	if err := f.refuse[c.Number]; err != nil {
		return bot.Incident{}, err
	}
	return bot.Incident{ID: c.Number + 100, Number: c.Number}, nil
}

func (f *inbIncidents) Acknowledge(ctx context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	return f.record(ctx, inbCall{Op: "ack", Number: n, By: by})
}

func (f *inbIncidents) Assign(ctx context.Context, n int64, owner string, by bot.Actor) (bot.Incident, error) {
	return f.record(ctx, inbCall{Op: "assign", Number: n, Owner: owner, By: by})
}

func (f *inbIncidents) Classify(ctx context.Context, n int64, c bot.Classification, by bot.Actor) (bot.Incident, error) {
	return f.record(ctx, inbCall{Op: "classify", Number: n, Text: fmt.Sprint(c), By: by})
}

func (f *inbIncidents) Note(ctx context.Context, n int64, text string, by bot.Actor) (bot.Incident, error) {
	return f.record(ctx, inbCall{Op: "note", Number: n, Text: text, By: by})
}

func (f *inbIncidents) Resolve(ctx context.Context, n int64, summary string, by bot.Actor) (bot.Incident, error) {
	return f.record(ctx, inbCall{Op: "resolve", Number: n, Text: summary, By: by})
}

func (f *inbIncidents) seen() []inbCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]inbCall(nil), f.calls...)
}

// inbThreads knows the root messages of INC-3 and INC-9; their incident ids
// differ from their numbers so a test sees the number is looked up.
type inbThreads struct {
	mu      sync.Mutex
	lookups []string
}

var inbRoots = map[string]int64{"C0ALERTS/" + inbRootTs: 103, "C0ALERTS/" + inbAckedTs: 109}

func (f *inbThreads) ThreadByMessage(_ context.Context, platform, channel, messageID string) (bot.Thread, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, platform+":"+channel+"/"+messageID)
	id, ok := inbRoots[channel+"/"+messageID]
	if platform != "slack" || !ok {
		return bot.Thread{}, fmt.Errorf("thread %s/%s/%s: %w", platform, channel, messageID, bot.ErrNotFound)
	}
	return bot.Thread{IncidentID: id, Platform: platform, Channel: channel, MessageID: messageID}, nil
}

func (f *inbThreads) Incident(_ context.Context, id int64) (bot.Incident, error) {
	for _, known := range inbRoots {
		if known == id {
			return bot.Incident{ID: id, Number: id - 100}, nil
		}
	}
	return bot.Incident{}, bot.ErrNotFound
}

func (f *inbThreads) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lookups...)
}

// inbDedup is Dedup in memory; err makes it fail like a database that is down.
type inbDedup struct {
	err error

	mu   sync.Mutex
	keys map[string]bool
}

func (f *inbDedup) Remember(_ context.Context, key string) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	if f.keys[key] {
		return false, nil
	}
	f.keys[key] = true
	return true, nil
}

func (f *inbDedup) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.keys {
		out = append(out, k)
	}
	return out
}

type inbEscalator struct {
	err error

	mu    sync.Mutex
	calls []inbCall
}

func (f *inbEscalator) CallNow(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, inbCall{Op: "callnow", Number: n, By: by})
	return bot.Incident{Number: n}, f.err
}

func (f *inbEscalator) seen() []inbCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]inbCall(nil), f.calls...)
}

// inbHookPost is one POST to a response_url as Slack would receive it.
type inbHookPost struct {
	ContentType     string
	ResponseType    string `json:"response_type"`
	Text            string `json:"text"`
	ReplaceOriginal *bool  `json:"replace_original"`
}

// inbEphemeral is one chat.postEphemeral call as Slack's Web API saw it.
type inbEphemeral struct{ Channel, User, Text string }

// inbSlack fakes the Slack side: response_url hooks and the Web API's
// chat.postEphemeral, both on loopback.
type inbSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	hooks      []inbHookPost
	ephemerals []inbEphemeral
}

func newInbSlack(t *testing.T) *inbSlack {
	s := &inbSlack{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hooks/", func(w http.ResponseWriter, r *http.Request) {
		var p inbHookPost
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("response_url: body is not JSON: %v", err)
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		p.ContentType = r.Header.Get("Content-Type")
		s.mu.Lock()
		s.hooks = append(s.hooks, p)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /api/chat.postEphemeral", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("chat.postEphemeral: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+inbBotToken && r.PostForm.Get("token") != inbBotToken {
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		s.mu.Lock()
		s.ephemerals = append(s.ephemerals, inbEphemeral{r.PostForm.Get("channel"), r.PostForm.Get("user"), r.PostForm.Get("text")})
		s.mu.Unlock()
		io.WriteString(w, `{"ok":true,"message_ts":"1700000003.000400"}`)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *inbSlack) responseURL() string { return s.srv.URL + "/hooks/T1/1/secretpath" }

func (s *inbSlack) posts() ([]inbHookPost, []inbEphemeral) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]inbHookPost(nil), s.hooks...), append([]inbEphemeral(nil), s.ephemerals...)
}

// inbLog collects what Hotline logs.
type inbLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *inbLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *inbLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type inbRig struct {
	t       *testing.T
	h       *Inbound
	url     string
	bot     *inbIncidents
	threads *inbThreads
	dedup   *inbDedup
	esc     *inbEscalator
	slack   *inbSlack
	log     *inbLog
}

type inbOptions struct {
	config       func(*InboundConfig)
	gate         chan struct{}
	answerWithin time.Duration
	dedupErr     error
	escalateErr  error
}

func newInbRig(t *testing.T, opt inbOptions) *inbRig {
	t.Helper()
	rig := &inbRig{
		t:       t,
		bot:     &inbIncidents{gate: opt.gate, refuse: map[int64]error{9: fmt.Errorf("INC-9 is already acknowledged: %w", bot.ErrConflict)}},
		threads: &inbThreads{},
		dedup:   &inbDedup{err: opt.dedupErr},
		esc:     &inbEscalator{err: opt.escalateErr},
		slack:   newInbSlack(t),
		log:     &inbLog{},
	}
	cfg := InboundConfig{
		SigningSecret: inbSecret,
		Incidents:     rig.bot,
		Escalator:     rig.esc,
		Threads:       rig.threads,
		Dedup:         rig.dedup,
		Reply:         slack.New(inbBotToken, slack.OptionAPIURL(rig.slack.srv.URL+"/api/")),
		Users:         map[string]string{"U01TANAKA": "tanaka"},
		BotUserID:     inbBotUser,
		Locale:        "en",
		Logger:        slog.New(slog.NewTextHandler(rig.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if opt.config != nil {
		opt.config(&cfg)
	}
	h, err := NewInbound(cfg)
	if err != nil {
		t.Fatalf("NewInbound: %v", err)
	}
	if opt.answerWithin > 0 {
		h.answerWithin = opt.answerWithin
	}
	rig.h = h
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	rig.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		if opt.gate != nil {
			select {
			case <-opt.gate:
			default:
				close(opt.gate)
			}
		}
		rig.settle()
		if strings.Contains(rig.log.String(), inbSecret) {
			t.Errorf("the signing secret was logged:\n%s", rig.log.String())
		}
	})
	return rig
}

// settle waits until the work started after answers is done.
func (r *inbRig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.h.Wait(ctx); err != nil {
		r.t.Fatalf("background work still running: %v", err)
	}
}

// inbSign signs body as Slack does.
func inbSign(secret string, ts int64, body string) string { return slacktest.Sign(secret, ts, body) }

type inbResponse struct {
	status int
	header http.Header
	body   string
}

// post sends body to path signed with the right secret and a fresh
// timestamp; edit changes the request after signing.
func (r *inbRig) post(path, contentType, body string, edit ...func(*http.Request)) inbResponse {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", inbSign(inbSecret, ts, body))
	for _, e := range edit {
		e(req)
	}
	return r.send(req)
}

func (r *inbRig) send(req *http.Request) inbResponse {
	r.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return inbResponse{resp.StatusCode, resp.Header, string(b)}
}

const (
	inbForm = "application/x-www-form-urlencoded"
	inbJSON = "application/json"
)

var inbTrigger struct {
	mu sync.Mutex
	n  int
}

// inbNextTrigger is a fresh trigger_id, as every Slack interaction has.
func inbNextTrigger() string {
	inbTrigger.mu.Lock()
	defer inbTrigger.mu.Unlock()
	inbTrigger.n++
	return fmt.Sprintf("13345224609.738474920.%08x", inbTrigger.n)
}

// slash is a slash command form as Slack posts it.
func (r *inbRig) slash(user, text string) string {
	return url.Values{
		"token":        {"gIkuvaNzQIHg97ATvDxqgjtO"},
		"team_id":      {"T1"},
		"team_domain":  {"example"},
		"channel_id":   {"C0ALERTS"},
		"channel_name": {"alerts"},
		"user_id":      {user},
		"user_name":    {"someone"},
		"command":      {"/incident"},
		"text":         {text},
		"api_app_id":   {"A0HOTLINE"},
		"response_url": {r.slack.responseURL()},
		"trigger_id":   {inbNextTrigger()},
	}.Encode()
}

// click is a block_actions payload form for one button.
func (r *inbRig) click(user, actionID, value string, edit ...func(payload map[string]any)) string {
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": "someone", "name": "someone", "team_id": "T1"},
		"api_app_id":   "A0HOTLINE",
		"token":        "gIkuvaNzQIHg97ATvDxqgjtO",
		"container":    map[string]any{"type": "message", "message_ts": inbRootTs, "channel_id": "C0ALERTS", "is_ephemeral": false},
		"trigger_id":   inbNextTrigger(),
		"team":         map[string]any{"id": "T1", "domain": "example"},
		"channel":      map[string]any{"id": "C0ALERTS", "name": "alerts"},
		"message":      map[string]any{"type": "message", "ts": inbRootTs, "text": "INC-12 db01 disk full"},
		"response_url": r.slack.responseURL(),
		"actions": []any{map[string]any{
			"action_id": actionID,
			"block_id":  "incident-actions",
			"text":      map[string]any{"type": "plain_text", "text": "Acknowledge", "emoji": true},
			"value":     value,
			"type":      "button",
			"action_ts": "1700000001.000200",
		}},
	}
	for _, e := range edit {
		e(payload)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		r.t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

// reaction is an event_callback carrying a reaction_added or
// reaction_removed event.
func inbReaction(eventID, kind, user, emoji, ts string) string {
	b, _ := json.Marshal(map[string]any{
		"token":      "gIkuvaNzQIHg97ATvDxqgjtO",
		"team_id":    "T1",
		"api_app_id": "A0HOTLINE",
		"event": map[string]any{
			"type":      kind,
			"user":      user,
			"reaction":  emoji,
			"item_user": inbBotUser,
			"item":      map[string]any{"type": "message", "channel": "C0ALERTS", "ts": ts},
			"event_ts":  "1700000002.000300",
		},
		"type":           "event_callback",
		"event_id":       eventID,
		"event_time":     1700000002,
		"authorizations": []any{map[string]any{"team_id": "T1", "user_id": inbBotUser, "is_bot": true}},
	})
	return string(b)
}

// inbEventually polls cond until it holds or the timeout passes.
func inbEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func inbTanaka() bot.Actor { return bot.Actor{ID: "tanaka", Source: "slack"} }

func (r *inbRig) wantCalls(want ...inbCall) {
	r.t.Helper()
	got := r.bot.seen()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		r.t.Errorf("bot calls:\n got %+v\nwant %+v", got, want)
	}
}

func (r *inbRig) wantNothingHappened() {
	r.t.Helper()
	r.settle()
	hooks, ephemerals := r.slack.posts()
	if calls, escs, lookups, keys := r.bot.seen(), r.esc.seen(), r.threads.seen(), r.dedup.seen(); len(calls)+len(escs)+len(lookups)+len(keys)+len(hooks)+len(ephemerals) > 0 {
		r.t.Errorf("something happened: bot %+v, escalator %+v, thread lookups %v, dedup %v, response_url %+v, ephemeral %+v",
			calls, escs, lookups, keys, hooks, ephemerals)
	}
}

func TestInboundSlashCommand(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		text      string
		wantType  string
		wantText  string // the reply starts with it
		wantCalls []inbCall
	}{
		{"ack by a known contact", "U01TANAKA", "ack INC-3", "in_channel", "INC-3 acknowledged by tanaka",
			[]inbCall{{Op: "ack", Number: 3, By: inbTanaka()}}},
		{"own by a stranger acts as the Slack id", "U0GUEST", "own INC-4", "in_channel", "INC-4 is now owned by U0GUEST",
			[]inbCall{{Op: "assign", Number: 4, Owner: "U0GUEST", By: bot.Actor{ID: "U0GUEST", Source: "slack"}}}},
		{"resolve with a summary", "U01TANAKA", "resolve INC-5 disk cleaned", "in_channel", "INC-5 resolved by tanaka",
			[]inbCall{{Op: "resolve", Number: 5, Text: "disk cleaned", By: inbTanaka()}}},
		{"help", "U01TANAKA", "help", "ephemeral", "Incident commands:\n/incident ack [INC-n]", nil},
		{"empty text is help", "U01TANAKA", "", "ephemeral", "Incident commands:", nil},
		{"unknown command", "U01TANAKA", "frobnicate INC-3", "ephemeral", "unknown command \"frobnicate\"\nusage:\n  /incident ack [INC-n]", nil},
		// Slack sends no thread with a slash command: the incident is named
		// or the command is refused; the <n> is escaped for mrkdwn.
		{"no incident named", "U01TANAKA", "ack", "ephemeral", "ack: name the incident: INC-&lt;n&gt;, or run the command in its thread", nil},
		{"refused by the bot", "U01TANAKA", "ack INC-9", "ephemeral", "INC-9 is already acknowledged",
			[]inbCall{{Op: "ack", Number: 9, By: inbTanaka()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			resp := rig.post("/v1/slack/commands", inbForm, rig.slash(tt.user, tt.text))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var got struct {
				ResponseType string `json:"response_type"`
				Text         string `json:"text"`
			}
			if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
				t.Fatalf("reply is not JSON: %v: %s", err, resp.body)
			}
			if got.ResponseType != tt.wantType {
				t.Errorf("response_type %q, want %q", got.ResponseType, tt.wantType)
			}
			if !strings.HasPrefix(got.Text, tt.wantText) {
				t.Errorf("text %q, want it to start with %q", got.Text, tt.wantText)
			}
			rig.wantCalls(tt.wantCalls...)
		})
	}
}

func TestInboundSlashCommandReplayRunsOnce(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	form := rig.slash("U01TANAKA", "ack INC-3")
	if resp := rig.post("/v1/slack/commands", inbForm, form); resp.status != http.StatusOK || !strings.Contains(resp.body, "acknowledged") {
		t.Fatalf("first: %d %s", resp.status, resp.body)
	}
	// The same signed request again, within the five minutes.
	if resp := rig.post("/v1/slack/commands", inbForm, form); resp.status != http.StatusOK || resp.body != "" {
		t.Errorf("replay: %d %q, want 200 and no reply", resp.status, resp.body)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
}

func TestInboundSlowCommandRepliesThroughResponseURL(t *testing.T) {
	gate := make(chan struct{})
	rig := newInbRig(t, inbOptions{gate: gate, answerWithin: 50 * time.Millisecond})
	// The bot is stuck: Slack still gets its answer in time.
	resp := rig.post("/v1/slack/commands", inbForm, rig.slash("U01TANAKA", "ack INC-3"))
	if resp.status != http.StatusOK || resp.body != "" {
		t.Fatalf("answer while the bot is busy: %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	if hooks, _ := rig.slack.posts(); len(hooks) != 0 {
		t.Fatalf("response_url posted before the command finished: %+v", hooks)
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

func TestInboundRefusesUnverified(t *testing.T) {
	stale := time.Now().Add(-6 * time.Minute).Unix()
	future := time.Now().Add(6 * time.Minute).Unix()
	cases := []struct {
		name     string
		edit     func(body string) func(*http.Request)
		wantBody string
	}{
		{"unsigned", func(string) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Del("X-Slack-Signature")
				r.Header.Del("X-Slack-Request-Timestamp")
			}
		}, "missing X-Slack-Signature"},
		{"no timestamp", func(string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") }
		}, "missing"},
		{"wrong secret", func(body string) func(*http.Request) {
			return func(r *http.Request) {
				ts := time.Now().Unix()
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
				r.Header.Set("X-Slack-Signature", inbSign("not-the-secret", ts, body))
			}
		}, "invalid X-Slack-Signature"},
		{"stale timestamp", func(body string) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(stale, 10))
				r.Header.Set("X-Slack-Signature", inbSign(inbSecret, stale, body))
			}
		}, "stale"},
		{"timestamp in the future", func(body string) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(future, 10))
				r.Header.Set("X-Slack-Signature", inbSign(inbSecret, future, body))
			}
		}, "stale"},
		{"signature of another timestamp", func(body string) func(*http.Request) {
			return func(r *http.Request) {
				r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(time.Now().Unix()-1, 10))
				r.Header.Set("X-Slack-Signature", inbSign(inbSecret, time.Now().Unix()-60, body))
			}
		}, "invalid X-Slack-Signature"},
		{"not hex", func(string) func(*http.Request) {
			return func(r *http.Request) { r.Header.Set("X-Slack-Signature", "v0=zz") }
		}, "invalid X-Slack-Signature"},
	}
	for _, path := range []string{"/v1/slack/commands", "/v1/slack/interactions", "/v1/slack/events"} {
		for _, c := range cases {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				rig := newInbRig(t, inbOptions{})
				contentType, body := inbValidBody(rig, path)
				resp := rig.post(path, contentType, body, c.edit(body))
				if resp.status != http.StatusUnauthorized || !strings.Contains(resp.body, c.wantBody) {
					t.Errorf("got %d %q, want 401 saying %q", resp.status, resp.body, c.wantBody)
				}
				rig.wantNothingHappened()
			})
		}
		t.Run(path+"/tampered body", func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			contentType, body := inbValidBody(rig, path)
			tampered := strings.Replace(body, "U01TANAKA", "U01SUZUKI", 1)
			if tampered == body {
				t.Fatal("the body did not change")
			}
			resp := rig.post(path, contentType, body, func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(tampered))
				r.ContentLength = int64(len(tampered))
			})
			if resp.status != http.StatusUnauthorized || !strings.Contains(resp.body, "invalid X-Slack-Signature") {
				t.Errorf("got %d %q, want 401", resp.status, resp.body)
			}
			rig.wantNothingHappened()
		})
	}
}

// inbValidBody is a request on path that would change something if believed.
func inbValidBody(rig *inbRig, path string) (contentType, body string) {
	switch path {
	case "/v1/slack/commands":
		return inbForm, rig.slash("U01TANAKA", "ack INC-3")
	case "/v1/slack/interactions":
		return inbForm, rig.click("U01TANAKA", "incident.ack", "3")
	}
	return inbJSON, inbReaction("Ev0UNSIGNED", "reaction_added", "U01TANAKA", "eyes", inbRootTs)
}

func TestInboundBadRequests(t *testing.T) {
	huge := url.Values{"user_id": {"U01TANAKA"}, "text": {"note INC-3 " + strings.Repeat("x", 1<<20)}}.Encode()
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		want        int
	}{
		{"oversized command", "/v1/slack/commands", inbForm, huge, http.StatusRequestEntityTooLarge},
		{"oversized event", "/v1/slack/events", inbJSON, `{"type":"event_callback","x":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
		{"malformed form", "/v1/slack/commands", inbForm, "user_id=U01TANAKA&text=%zz", http.StatusBadRequest},
		{"command without a user", "/v1/slack/commands", inbForm, "text=ack+INC-3&team_id=T1", http.StatusBadRequest},
		{"payload not JSON", "/v1/slack/interactions", inbForm, url.Values{"payload": {`{"type":"block_actions",`}}.Encode(), http.StatusBadRequest},
		{"no payload", "/v1/slack/interactions", inbForm, "foo=bar", http.StatusBadRequest},
		{"click without a user", "/v1/slack/interactions", inbForm,
			url.Values{"payload": {`{"type":"block_actions","trigger_id":"1.2.3","actions":[{"action_id":"incident.ack","block_id":"b","value":"3"}]}`}}.Encode(), http.StatusBadRequest},
		{"event not JSON", "/v1/slack/events", inbJSON, `{"type":"event_callback",`, http.StatusBadRequest},
		{"reaction without event_id", "/v1/slack/events", inbJSON, inbReaction("", "reaction_added", "U01TANAKA", "eyes", inbRootTs), http.StatusBadRequest},
		{"url_verification without a challenge", "/v1/slack/events", inbJSON, `{"type":"url_verification","token":"x"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			resp := rig.post(tt.path, tt.contentType, tt.body)
			if resp.status != tt.want {
				t.Errorf("status %d (%q), want %d", resp.status, resp.body, tt.want)
			}
			rig.wantNothingHappened()
		})
	}
	for _, path := range []string{"/v1/slack/commands", "/v1/slack/interactions", "/v1/slack/events"} {
		t.Run("GET "+path, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			req, _ := http.NewRequest(http.MethodGet, rig.url+path, nil)
			resp := rig.send(req)
			if resp.status != http.StatusMethodNotAllowed || resp.header.Get("Allow") != http.MethodPost {
				t.Errorf("got %d, Allow %q; want 405, Allow POST", resp.status, resp.header.Get("Allow"))
			}
			rig.wantNothingHappened()
		})
	}
}

func TestInboundButtonAck(t *testing.T) {
	gate := make(chan struct{})
	rig := newInbRig(t, inbOptions{gate: gate})
	payload := rig.click("U01TANAKA", "incident.ack", "12")

	// The bot is held: the 200 comes back without waiting for it.
	resp := rig.post("/v1/slack/interactions", inbForm, payload)
	if resp.status != http.StatusOK || resp.body != "" {
		t.Fatalf("got %d %q, want 200 and an empty body", resp.status, resp.body)
	}
	if calls := rig.bot.seen(); len(calls) != 0 {
		t.Fatalf("the ack finished before the answer: %+v", calls)
	}
	close(gate)
	inbEventually(t, "the reply on response_url", func() bool { hooks, _ := rig.slack.posts(); return len(hooks) > 0 })
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 12, By: inbTanaka()})
	hooks, ephemerals := rig.slack.posts()
	if len(hooks) != 1 {
		t.Fatalf("response_url got %d posts, want 1: %+v", len(hooks), hooks)
	}
	got := hooks[0]
	if got.ResponseType != "ephemeral" || got.Text != "INC-12 acknowledged by tanaka" ||
		got.ReplaceOriginal == nil || *got.ReplaceOriginal || !strings.HasPrefix(got.ContentType, "application/json") {
		t.Errorf("response_url got %+v (replace_original %v), want ephemeral \"INC-12 acknowledged by tanaka\", replace_original false, JSON",
			got, got.ReplaceOriginal)
	}
	if len(ephemerals) != 0 {
		t.Errorf("chat.postEphemeral used although response_url was there: %+v", ephemerals)
	}

	// Slack (or anyone holding the request) sends the same click again.
	resp = rig.post("/v1/slack/interactions", inbForm, payload)
	if resp.status != http.StatusOK {
		t.Errorf("replay: status %d, want 200", resp.status)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 12, By: inbTanaka()})
	if hooks, _ := rig.slack.posts(); len(hooks) != 1 {
		t.Errorf("replay answered again: %+v", hooks)
	}
}

func TestInboundButtons(t *testing.T) {
	conflict := fmt.Errorf("INC-12 is acknowledged: nobody needs calling: %w", bot.ErrConflict)
	tests := []struct {
		name         string
		action       string
		value        string
		noEscalator  bool
		escalateErr  error
		wantText     string
		wantCalls    []inbCall
		wantCallNows []inbCall
	}{
		{name: "own", action: "incident.own", value: "12", wantText: "INC-12 is now owned by tanaka",
			wantCalls: []inbCall{{Op: "assign", Number: 12, Owner: "tanaka", By: inbTanaka()}}},
		{name: "resolve", action: "incident.resolve", value: "12", wantText: "INC-12 resolved by tanaka",
			wantCalls: []inbCall{{Op: "resolve", Number: 12, By: inbTanaka()}}},
		{name: "refused ack", action: "incident.ack", value: "9", wantText: "INC-9 is already acknowledged",
			wantCalls: []inbCall{{Op: "ack", Number: 9, By: inbTanaka()}}},
		{name: "unknown action", action: "incident.delete", value: "12", wantText: `unknown action "incident.delete"; nothing was changed`},
		{name: "no incident in the value", action: "incident.ack", value: "twelve", wantText: "this button names no incident; nothing was changed"},
		{name: "escalate", action: "incident.escalate", value: "12", wantText: "Calling the on-call for INC-12 now (asked by tanaka)",
			wantCallNows: []inbCall{{Op: "callnow", Number: 12, By: inbTanaka()}}},
		{name: "escalate refused", action: "incident.escalate", value: "12", escalateErr: conflict, wantText: "INC-12 is acknowledged: nobody needs calling",
			wantCallNows: []inbCall{{Op: "callnow", Number: 12, By: inbTanaka()}}},
		{name: "escalate without phone", action: "incident.escalate", value: "12", noEscalator: true,
			wantText: "No phone escalation is configured, so nobody can be called."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{escalateErr: tt.escalateErr, config: func(c *InboundConfig) {
				if tt.noEscalator {
					c.Escalator = nil
				}
			}})
			resp := rig.post("/v1/slack/interactions", inbForm, rig.click("U01TANAKA", tt.action, tt.value))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			inbEventually(t, "the reply on response_url", func() bool { hooks, _ := rig.slack.posts(); return len(hooks) > 0 })
			rig.settle()
			hooks, _ := rig.slack.posts()
			if len(hooks) != 1 || hooks[0].ResponseType != "ephemeral" || hooks[0].Text != tt.wantText {
				t.Errorf("response_url got %+v, want one ephemeral %q", hooks, tt.wantText)
			}
			rig.wantCalls(tt.wantCalls...)
			if got := rig.esc.seen(); !reflect.DeepEqual(got, tt.wantCallNows) && len(got)+len(tt.wantCallNows) > 0 {
				t.Errorf("CallNow calls %+v, want %+v", got, tt.wantCallNows)
			}
		})
	}
}

func TestInboundButtonWithoutResponseURL(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	noURL := func(p map[string]any) { delete(p, "response_url") }
	if resp := rig.post("/v1/slack/interactions", inbForm, rig.click("U01TANAKA", "incident.ack", "9", noURL)); resp.status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.status, resp.body)
	}
	inbEventually(t, "the ephemeral reply", func() bool { _, e := rig.slack.posts(); return len(e) > 0 })
	rig.settle()
	want := []inbEphemeral{{Channel: "C0ALERTS", User: "U01TANAKA", Text: "INC-9 is already acknowledged"}}
	if _, got := rig.slack.posts(); !reflect.DeepEqual(got, want) {
		t.Errorf("chat.postEphemeral got %+v, want %+v", got, want)
	}
	rig.wantCalls(inbCall{Op: "ack", Number: 9, By: inbTanaka()})
}

func TestInboundURLVerification(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	const challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
	body := `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"` + challenge + `","type":"url_verification"}`
	resp := rig.post("/v1/slack/events", inbJSON, body)
	if resp.status != http.StatusOK || resp.body != challenge {
		t.Errorf("got %d %q, want 200 and the challenge", resp.status, resp.body)
	}
	resp = rig.post("/v1/slack/events", inbJSON, body, func(r *http.Request) { r.Header.Del("X-Slack-Signature") })
	if resp.status != http.StatusUnauthorized || strings.Contains(resp.body, challenge) {
		t.Errorf("unsigned: got %d %q, want 401 without the challenge", resp.status, resp.body)
	}
	rig.wantNothingHappened()
}

func TestInboundReactions(t *testing.T) {
	tests := []struct {
		name          string
		kind          string
		user          string
		emoji         string
		ts            string
		wantCalls     []inbCall
		wantLookup    bool
		wantEphemeral []inbEphemeral
	}{
		{name: "eyes acknowledges", kind: "reaction_added", user: "U01TANAKA", emoji: "eyes", ts: inbRootTs, wantLookup: true,
			wantCalls: []inbCall{{Op: "ack", Number: 3, By: inbTanaka()}}},
		{name: "raising hand with a skin tone owns", kind: "reaction_added", user: "U01TANAKA", emoji: "raising_hand::skin-tone-3", ts: inbRootTs, wantLookup: true,
			wantCalls: []inbCall{{Op: "assign", Number: 3, Owner: "tanaka", By: inbTanaka()}}},
		{name: "check mark resolves", kind: "reaction_added", user: "U0GUEST", emoji: "white_check_mark", ts: inbRootTs, wantLookup: true,
			wantCalls: []inbCall{{Op: "resolve", Number: 3, By: bot.Actor{ID: "U0GUEST", Source: "slack"}}}},
		{name: "refused: the reactor learns why", kind: "reaction_added", user: "U01TANAKA", emoji: "eyes", ts: inbAckedTs, wantLookup: true,
			wantCalls:     []inbCall{{Op: "ack", Number: 9, By: inbTanaka()}},
			wantEphemeral: []inbEphemeral{{Channel: "C0ALERTS", User: "U01TANAKA", Text: "INC-9 is already acknowledged"}}},
		{name: "a message that is no incident", kind: "reaction_added", user: "U01TANAKA", emoji: "eyes", ts: "1700000000.555555", wantLookup: true},
		{name: "the bot's own reaction", kind: "reaction_added", user: inbBotUser, emoji: "eyes", ts: inbRootTs},
		{name: "an emoji with no meaning", kind: "reaction_added", user: "U01TANAKA", emoji: "tada", ts: inbRootTs},
		{name: "reaction removed", kind: "reaction_removed", user: "U01TANAKA", emoji: "eyes", ts: inbRootTs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newInbRig(t, inbOptions{})
			resp := rig.post("/v1/slack/events", inbJSON, inbReaction("Ev0REACT", tt.kind, tt.user, tt.emoji, tt.ts))
			if resp.status != http.StatusOK {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			if len(tt.wantCalls) > 0 {
				inbEventually(t, "the command", func() bool { return len(rig.bot.seen()) > 0 })
			}
			if len(tt.wantEphemeral) > 0 {
				inbEventually(t, "the ephemeral reply", func() bool { _, e := rig.slack.posts(); return len(e) > 0 })
			}
			rig.settle()
			rig.wantCalls(tt.wantCalls...)
			var wantLookups []string
			if tt.wantLookup {
				wantLookups = []string{"slack:C0ALERTS/" + tt.ts}
			}
			if got := rig.threads.seen(); !reflect.DeepEqual(got, wantLookups) {
				t.Errorf("thread lookups %v, want %v", got, wantLookups)
			}
			hooks, ephemerals := rig.slack.posts()
			if !reflect.DeepEqual(ephemerals, tt.wantEphemeral) {
				t.Errorf("ephemeral replies %+v, want %+v", ephemerals, tt.wantEphemeral)
			}
			if len(hooks) != 0 {
				t.Errorf("response_url posts for an event: %+v", hooks)
			}
		})
	}
}

func TestInboundEventRetryRunsOnce(t *testing.T) {
	rig := newInbRig(t, inbOptions{})
	body := inbReaction("Ev0RETRIED", "reaction_added", "U01TANAKA", "eyes", inbRootTs)
	if resp := rig.post("/v1/slack/events", inbJSON, body); resp.status != http.StatusOK {
		t.Fatalf("first: status %d", resp.status)
	}
	inbEventually(t, "the ack", func() bool { return len(rig.bot.seen()) > 0 })
	resp := rig.post("/v1/slack/events", inbJSON, body, func(r *http.Request) {
		r.Header.Set("X-Slack-Retry-Num", "1")
		r.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	})
	if resp.status != http.StatusOK {
		t.Errorf("retry: status %d, want 200 so Slack stops retrying", resp.status)
	}
	rig.settle()
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
	if _, ephemerals := rig.slack.posts(); len(ephemerals) != 0 {
		t.Errorf("the retry was answered: %+v", ephemerals)
	}
}

func TestInboundDedupDown(t *testing.T) {
	rig := newInbRig(t, inbOptions{dedupErr: fmt.Errorf("remember: %w", bot.ErrUnavailable)})
	for _, req := range []struct{ path, contentType, body string }{
		{"/v1/slack/interactions", inbForm, rig.click("U01TANAKA", "incident.ack", "3")},
		{"/v1/slack/events", inbJSON, inbReaction("Ev0DOWN", "reaction_added", "U01TANAKA", "eyes", inbRootTs)},
		{"/v1/slack/commands", inbForm, rig.slash("U01TANAKA", "ack INC-3")},
	} {
		// Not a 2xx, so Slack retries once the database is back.
		if resp := rig.post(req.path, req.contentType, req.body); resp.status != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", req.path, resp.status)
		}
	}
	rig.wantNothingHappened()
}

func TestNewInboundConfig(t *testing.T) {
	_, err := NewInbound(InboundConfig{})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, want := range []string{"signing_secret: is required", "incidents: is required", "threads: is required", "dedup: is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	valid := InboundConfig{SigningSecret: inbSecret, Incidents: &inbIncidents{}, Threads: &inbThreads{}, Dedup: &inbDedup{}}
	if _, err := NewInbound(valid); err != nil {
		t.Errorf("a minimal config was refused: %v", err)
	}
	bad := valid
	bad.Reactions = map[string]string{"memo": "note", "eyes": "ack"}
	if _, err := NewInbound(bad); err == nil || !strings.Contains(err.Error(), "reactions.memo") || strings.Contains(err.Error(), "reactions.eyes") {
		t.Errorf("reactions naming a command that needs text: err %v, want one about reactions.memo only", err)
	}
}

func TestInboundCustomReactions(t *testing.T) {
	rig := newInbRig(t, inbOptions{config: func(c *InboundConfig) {
		c.Reactions = map[string]string{"ok_hand": "ack"}
	}})
	for i, emoji := range []string{"eyes", "ok_hand"} {
		body := inbReaction("Ev0CUSTOM"+strconv.Itoa(i), "reaction_added", "U01TANAKA", emoji, inbRootTs)
		if resp := rig.post("/v1/slack/events", inbJSON, body); resp.status != http.StatusOK {
			t.Fatalf("%s: status %d", emoji, resp.status)
		}
	}
	inbEventually(t, "the ack", func() bool { return len(rig.bot.seen()) > 0 })
	rig.settle()
	// eyes means nothing once the reactions are configured.
	rig.wantCalls(inbCall{Op: "ack", Number: 3, By: inbTanaka()})
}
