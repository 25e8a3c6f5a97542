package twiliotest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "tok3n"
	callee      = "+819011112222"
	caller      = "+815012345678"
)

func newFake(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{AccountSID: testAccount, AuthToken: testToken, Step: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// rest makes a raw request to the fake, as any Twilio client would.
func rest(t *testing.T, s *Server, method, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	target := s.URL() + path
	if method == http.MethodGet {
		if form != nil {
			target += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func callsPath(account string) string { return "/2010-04-01/Accounts/" + account + "/Calls.json" }

func createForm(mod func(url.Values)) url.Values {
	f := url.Values{
		"To":    {callee},
		"From":  {caller},
		"Twiml": {`<Response><Say>hello</Say></Response>`},
	}
	if mod != nil {
		mod(f)
	}
	return f
}

func TestRESTRefusesLikeTwilio(t *testing.T) {
	s := newFake(t)
	tests := []struct {
		name       string
		account    string
		user, pass string
		form       url.Values
		status     int
		code       float64
	}{
		{"no credentials", testAccount, "", "", createForm(nil), 401, 20003},
		{"wrong token", testAccount, testAccount, "nope", createForm(nil), 401, 20003},
		{"another account", "AC99999999999999999999999999999999", testAccount, testToken, createForm(nil), 404, 20404},
		{"no To", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Del("To") }), 400, 21201},
		{"bad To", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("To", "090-1111-2222") }), 400, 21211},
		{"no From", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Del("From") }), 400, 21213},
		{"bad From", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("From", "hotline") }), 400, 21212},
		{"neither Twiml nor Url", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Del("Twiml") }), 400, 21205},
		{"both Twiml and Url", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("Url", "http://127.0.0.1/twiml") }), 400, 20001},
		{"malformed Twiml", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("Twiml", "<Response><Say>hi</Response>") }), 400, 12100},
		{"Twiml without Response", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("Twiml", "<Say>hi</Say>") }), 400, 12100},
		{"Twiml over 4000 characters", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("Twiml", twimlOf(4001)) }), 400, 32018},
		{"bad status callback", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("StatusCallback", "/v1/twilio/status") }), 400, 21609},
		{"bad status event", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Add("StatusCallbackEvent", "answred") }), 400, 21626},
		{"bad Timeout", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("Timeout", "30s") }), 400, 20001},
		{"bad MachineDetection", testAccount, testAccount, testToken, createForm(func(f url.Values) { f.Set("MachineDetection", "yes") }), 400, 20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rest(t, s, http.MethodPost, callsPath(tt.account), tt.user, tt.pass, tt.form)
			if status != tt.status || body["code"] != tt.code || body["status"] != float64(tt.status) {
				t.Fatalf("got %d %v, want %d with code %v", status, body, tt.status, tt.code)
			}
			if msg, _ := body["message"].(string); msg == "" || !strings.HasPrefix(body["more_info"].(string), "https://www.twilio.com/docs/errors/") {
				t.Errorf("error body %v lacks Twilio's message or more_info", body)
			}
		})
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("refused requests created %d calls", n)
	}
}

// twimlOf is a well-formed document of exactly n characters, most of them
// Japanese: Twilio counts characters, not bytes.
func twimlOf(n int) string {
	const head, tail = "<Response><Say>", "</Say></Response>"
	return head + strings.Repeat("あ", n-len(head)-len(tail)) + tail
}

func TestCreateAnswersLikeTwilio(t *testing.T) {
	s := newFake(t)
	status, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(func(f url.Values) {
		f.Set("Twiml", twimlOf(4000)) // at the limit is fine
		f.Set("Timeout", "30")
		f.Set("StatusCallback", "http://127.0.0.1:1/v1/twilio/status?attempt=a1")
		f["StatusCallbackEvent"] = []string{"initiated", "ringing", "answered", "completed"}
		f.Set("MachineDetection", "Enable")
	}))
	if status != http.StatusCreated {
		t.Fatalf("status %d: %v", status, body)
	}
	sid, _ := body["sid"].(string)
	if !regexp.MustCompile(`^CA[0-9a-f]{32}$`).MatchString(sid) {
		t.Errorf("sid %q is not CA + 32 hex digits", sid)
	}
	if body["status"] != "queued" || body["to"] != callee || body["from"] != caller || body["account_sid"] != testAccount {
		t.Errorf("call resource %v", body)
	}
	if body["uri"] != "/2010-04-01/Accounts/"+testAccount+"/Calls/"+sid+".json" {
		t.Errorf("uri = %v", body["uri"])
	}
	created, err := time.Parse(time.RFC1123Z, body["date_created"].(string))
	if err != nil || time.Since(created) > time.Minute {
		t.Errorf("date_created %v is not a recent RFC 1123 date with numeric zone: %v", body["date_created"], err)
	}
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("recorded %d calls", len(calls))
	}
	c := calls[0]
	if c.SID != sid || c.Timeout != 30 || c.MachineDetection != "Enable" || c.StatusCallbackMethod != "POST" ||
		!reflect.DeepEqual(c.StatusCallbackEvents, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("recorded %+v", c)
	}
}

func TestFailNext(t *testing.T) {
	s := newFake(t)
	s.FailNext(2, http.StatusTooManyRequests, "3")
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+callsPath(testAccount), strings.NewReader(createForm(nil).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testAccount, testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || body["code"] != float64(20429) {
			t.Fatalf("request %d: %d Retry-After=%q %v", i, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	if status, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(nil)); status != 201 {
		t.Fatalf("third request: %d %v", status, body)
	}
}

func TestDelayNext(t *testing.T) {
	s := newFake(t)
	s.Expect("call " + callee + ": ring")
	s.DelayNext(1, time.Minute)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+callsPath(testAccount), strings.NewReader(createForm(nil).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testAccount, testToken)
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the delayed create answered %d at once", resp.StatusCode)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the client waited %v", took)
	}
	if calls := s.Calls(); len(calls) != 1 || calls[0].To != callee {
		t.Fatalf("calls %+v: the delayed request must still create the call", calls)
	}
	// Only the next request was delayed.
	if status, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(nil)); status != 201 {
		t.Fatalf("next create: %d %v", status, body)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	s := newFake(t)
	var sids []string
	for _, to := range []string{callee, "+819033334444", callee, callee} {
		_, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(func(f url.Values) { f.Set("To", to) }))
		sids = append(sids, body["sid"].(string))
	}
	today := time.Now().UTC().Format(time.DateOnly)
	status, body := rest(t, s, http.MethodGet, callsPath(testAccount), testAccount, testToken,
		url.Values{"To": {callee}, "StartTime>": {today}, "PageSize": {"2"}})
	if status != 200 {
		t.Fatalf("list: %d %v", status, body)
	}
	got := listedSIDs(body)
	if want := []string{sids[3], sids[2]}; !reflect.DeepEqual(got, want) {
		t.Errorf("page 0 = %v, want the two newest calls to the number %v", got, want)
	}
	next, _ := body["next_page_uri"].(string)
	if next == "" || body["page_size"] != float64(2) || body["page"] != float64(0) {
		t.Fatalf("paging fields: %v", body)
	}
	u, _ := url.Parse(next)
	_, body = rest(t, s, http.MethodGet, u.Path, testAccount, testToken, u.Query())
	if got, want := listedSIDs(body), []string{sids[0]}; !reflect.DeepEqual(got, want) || body["next_page_uri"] != nil {
		t.Errorf("page 1 = %v next=%v, want %v and no next page", got, body["next_page_uri"], want)
	}

	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	_, body = rest(t, s, http.MethodGet, callsPath(testAccount), testAccount, testToken, url.Values{"To": {callee}, "StartTime>": {tomorrow}})
	if got := listedSIDs(body); len(got) != 0 {
		t.Errorf("calls started tomorrow: %v", got)
	}
	status, _ = rest(t, s, http.MethodGet, callsPath(testAccount), testAccount, testToken, url.Values{"StartTime>": {"yesterday"}})
	if status != 400 {
		t.Errorf("a bad date: %d, want 400", status)
	}
}

func listedSIDs(body map[string]any) []string {
	var out []string
	calls, _ := body["calls"].([]any)
	for _, c := range calls {
		out = append(out, c.(map[string]any)["sid"].(string))
	}
	return out
}

// app is the application side of the callbacks: it checks every signature
// with twilio-go's own validator and records what it got.
type app struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []url.Values // every verified callback, in order
	replies map[string]string
}

func newApp(t *testing.T) *app {
	a := &app{t: t, replies: map[string]string{
		"9": `<Response><Gather numDigits="1" action="/gather?again=1"><Say>Press 1 or 2.</Say></Gather><Hangup/></Response>`,
		"1": `<Response><Say>Thanks.</Say><Hangup/></Response>`,
	}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		params := map[string]string{}
		for k, v := range r.PostForm {
			params[k] = v[0]
		}
		v := client.NewRequestValidator(testToken)
		if !v.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		form := r.PostForm
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		form.Set("_path", r.URL.Path)
		a.mu.Lock()
		a.reqs = append(a.reqs, form)
		a.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/gather") {
			a.mu.Lock()
			reply := a.replies[form.Get("Digits")]
			a.mu.Unlock()
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, reply)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// story is the callbacks as "status:ringing" and "gather:9" lines.
func (a *app) story(sid string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, f := range a.reqs {
		if f.Get("CallSid") != sid {
			continue
		}
		line := strings.TrimPrefix(f.Get("_path"), "/") + ":" + f.Get("CallStatus")
		if d := f.Get("Digits"); d != "" {
			line = "gather:" + d
		}
		if ab := f.Get("AnsweredBy"); ab != "" && f.Get("CallStatus") == "in-progress" && f.Get("Digits") == "" {
			line += "(" + ab + ")"
		}
		out = append(out, line)
	}
	return out
}

func (a *app) twiml() string {
	return `<Response><Gather numDigits="1" action="` + a.srv.URL + `/gather?attempt=a1" method="POST"><Say>Press 1.</Say></Gather><Hangup/></Response>`
}

func placeVia(t *testing.T, s *Server, a *app, to string, events []string) string {
	t.Helper()
	return placeWith(t, s, a, to, events, "Enable")
}

func placeWith(t *testing.T, s *Server, a *app, to string, events []string, machineDetection string) string {
	t.Helper()
	status, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(func(f url.Values) {
		f.Set("To", to)
		f.Set("Twiml", a.twiml())
		f.Set("StatusCallback", a.srv.URL+"/status?attempt=a1")
		f["StatusCallbackEvent"] = events
		if machineDetection != "" {
			f.Set("MachineDetection", machineDetection)
		}
	}))
	if status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	return body["sid"].(string)
}

var allEvents = []string{"initiated", "ringing", "answered", "completed"}

func TestPlaysScripts(t *testing.T) {
	tests := []struct {
		script string
		events []string
		want   []string
	}{
		{"no answer", allEvents, []string{"status:initiated", "status:ringing", "status:no-answer"}},
		{"busy", allEvents, []string{"status:initiated", "status:busy"}},
		{"failed", allEvents, []string{"status:failed"}},
		{"machine", allEvents, []string{"status:initiated", "status:ringing", "status:in-progress(machine_start)", "status:completed"}},
		{"answer, hang up", allEvents, []string{"status:initiated", "status:ringing", "status:in-progress(human)", "status:completed"}},
		{"answer, press 1", allEvents, []string{"status:initiated", "status:ringing", "status:in-progress(human)", "gather:1", "status:completed"}},
		{"answer, press 9, press 1", allEvents, []string{"status:initiated", "status:ringing", "status:in-progress(human)", "gather:9", "gather:1", "status:completed"}},
		{"answer, press 1", nil, []string{"gather:1", "status:completed"}}, // completed is always sent
		{"no answer", []string{"ringing"}, []string{"status:ringing", "status:no-answer"}},
	}
	for _, tt := range tests {
		t.Run(tt.script+" "+strings.Join(tt.events, "+"), func(t *testing.T) {
			s, a := newFake(t), newApp(t)
			if err := s.Expect("call " + callee + ": " + tt.script); err != nil {
				t.Fatal(err)
			}
			sid := placeVia(t, s, a, callee, tt.events)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if got := a.story(sid); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("callbacks\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStatusCallbackFields(t *testing.T) {
	s, a := newFake(t), newApp(t)
	s.Expect("call " + callee + ": answer, hang up")
	sid := placeVia(t, s, a, callee, allEvents)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cbs := s.Callbacks()
	if len(cbs) != 4 {
		t.Fatalf("got %d callbacks", len(cbs))
	}
	for i, cb := range cbs {
		p := cb.Params
		for k, want := range map[string]string{
			"AccountSid": testAccount, "CallSid": sid, "From": caller, "To": callee, "Direction": "outbound-api",
			"ApiVersion": "2010-04-01", "SequenceNumber": string(rune('0' + i)),
		} {
			if p.Get(k) != want {
				t.Errorf("callback %d: %s = %q, want %q", i, k, p.Get(k), want)
			}
		}
		if _, err := time.Parse(time.RFC1123Z, p.Get("Timestamp")); err != nil {
			t.Errorf("callback %d: Timestamp %q: %v", i, p.Get("Timestamp"), err)
		}
		if cb.Signature != Sign(testToken, cb.URL, cb.Params) || cb.StatusCode != 204 {
			t.Errorf("callback %d: signature %q, status %d", i, cb.Signature, cb.StatusCode)
		}
	}
	if last := cbs[3].Params; last.Get("CallStatus") != "completed" || last.Get("CallDuration") == "" || last.Get("AnsweredBy") != "human" {
		t.Errorf("final callback %v", last)
	}
	if status, err := s.Replay(0); err != nil || status != 204 {
		t.Errorf("replay: %d %v", status, err)
	}
}

func TestAnsweredByOnlyWithMachineDetection(t *testing.T) {
	s, a := newFake(t), newApp(t)
	s.Expect("call " + callee + ": answer, press 1")
	sid := placeWith(t, s, a, callee, allEvents, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"status:initiated", "status:ringing", "status:in-progress", "gather:1", "status:completed"}
	if got := a.story(sid); !reflect.DeepEqual(got, want) {
		t.Errorf("callbacks %q, want %q (no AnsweredBy without MachineDetection)", got, want)
	}
	for _, cb := range s.Callbacks() {
		if cb.Params.Has("AnsweredBy") {
			t.Errorf("%s callback carries AnsweredBy=%s", cb.Kind, cb.Params.Get("AnsweredBy"))
		}
	}
}

func TestSignMatchesTwilioValidator(t *testing.T) {
	params := url.Values{"CallSid": {"CA1"}, "Digits": {"1"}, "To": {"+819011112222"}, "Empty": {""}}
	fullURL := "https://hotline.example.com/v1/twilio/gather?attempt=a%2F1"
	sig := Sign(testToken, fullURL, params)
	flat := map[string]string{}
	for k, v := range params {
		flat[k] = v[0]
	}
	v := client.NewRequestValidator(testToken)
	if !v.Validate(fullURL, flat, sig) {
		t.Fatalf("twilio-go rejects Sign's %q", sig)
	}
	if v.Validate("https://hotline.example.com/v1/twilio/gather?attempt=a%2F2", flat, sig) {
		t.Error("the signature also fits another URL")
	}
	flat["Digits"] = "2"
	if v.Validate(fullURL, flat, sig) {
		t.Error("the signature also fits other parameters")
	}
}

func TestRingPressEndAndHangUp(t *testing.T) {
	s, a := newFake(t), newApp(t)
	s.Expect("call " + callee + ": ring\ncall +819033334444: ring")
	first := placeVia(t, s, a, callee, allEvents)
	second := placeVia(t, s, a, "+819033334444", allEvents)
	waitStatus(t, s, first, "ringing")
	waitStatus(t, s, second, "ringing")

	if err := s.Press(first, "9"); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(s, first); got != "in-progress" {
		t.Fatalf("after 9 (asks again) the call is %s", got)
	}
	if err := s.Press(first, "1"); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(s, first); got != "completed" {
		t.Fatalf("after the final reply the call is %s", got)
	}
	if err := s.Press(first, "1"); err == nil {
		t.Error("pressed a key on an ended call")
	}

	// The application hangs up the second call through the REST API.
	path := "/2010-04-01/Accounts/" + testAccount + "/Calls/" + second + ".json"
	status, body := rest(t, s, http.MethodPost, path, testAccount, testToken, url.Values{"Status": {"completed"}})
	if status != 200 || body["status"] != "completed" {
		t.Fatalf("hang up: %d %v", status, body)
	}
	status, body = rest(t, s, http.MethodPost, path, testAccount, testToken, url.Values{"Status": {"completed"}})
	if status != 400 || body["code"] != float64(21220) {
		t.Errorf("hanging up twice: %d %v, want 400 with 21220", status, body)
	}
	status, _ = rest(t, s, http.MethodPost, "/2010-04-01/Accounts/"+testAccount+"/Calls/CA00000000000000000000000000000000.json",
		testAccount, testToken, url.Values{"Status": {"completed"}})
	if status != 404 {
		t.Errorf("hanging up an unknown call: %d, want 404", status)
	}
	if err := s.End(second, "completed"); err == nil {
		t.Error("ended an ended call")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := a.story(second), []string{"status:initiated", "status:ringing", "status:completed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("hung-up call: %q, want %q", got, want)
	}
	if c := findCall(s, second); c.Hangups != 2 {
		t.Errorf("Hangups = %d, want 2", c.Hangups)
	}
}

func TestErrReportsWhatWentWrong(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("unexpected call", func(t *testing.T) {
		s, a := newFake(t), newApp(t)
		placeVia(t, s, a, callee, allEvents)
		if err := s.Wait(ctx); err == nil || !strings.Contains(err.Error(), "unexpected call") {
			t.Errorf("Wait = %v, want the unexpected call", err)
		}
		sid := s.Calls()[0].SID
		waitStatus(t, s, sid, "ringing")
		time.Sleep(10 * time.Millisecond) // ten Steps: it does not move on by itself
		if got := statusOf(s, sid); got != "ringing" {
			t.Errorf("the unexpected call is %s, want it left ringing", got)
		}
	})
	t.Run("a key nobody asks for", func(t *testing.T) {
		s, a := newFake(t), newApp(t)
		s.Expect("call " + callee + ": answer, press 1, press 2") // the reply to 1 hangs up
		placeVia(t, s, a, callee, allEvents)
		if err := s.Wait(ctx); err == nil || !strings.Contains(err.Error(), "asks for no more keys") {
			t.Errorf("Wait = %v, want the unasked-for 2", err)
		}
	})
	t.Run("unparsable reply", func(t *testing.T) {
		s, a := newFake(t), newApp(t)
		a.mu.Lock()
		a.replies["1"] = "<Response><Say>oops</Response>"
		a.mu.Unlock()
		s.Expect("call " + callee + ": answer, press 1")
		placeVia(t, s, a, callee, allEvents)
		if err := s.Wait(ctx); err == nil || !strings.Contains(err.Error(), "does not parse") {
			t.Errorf("Wait = %v, want the unparsable TwiML", err)
		}
	})
	t.Run("refused callback", func(t *testing.T) {
		s := newFake(t)
		gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unknown call", http.StatusNotFound)
		}))
		defer gone.Close()
		s.Expect("call " + callee + ": no answer")
		status, body := rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(func(f url.Values) {
			f.Set("StatusCallback", gone.URL+"/status?attempt=a1")
		}))
		if status != 201 {
			t.Fatalf("create: %d %v", status, body)
		}
		if err := s.Wait(ctx); err == nil || !strings.Contains(err.Error(), "answered 404") {
			t.Errorf("Wait = %v, want the 404", err)
		}
	})
}

func TestNeverCallsBeyondLoopback(t *testing.T) {
	s := newFake(t)
	s.Expect("call " + callee + ": no answer")
	rest(t, s, http.MethodPost, callsPath(testAccount), testAccount, testToken, createForm(func(f url.Values) {
		f.Set("StatusCallback", "https://hotline.example.com/v1/twilio/status?attempt=a1")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "only calls loopback") {
		t.Errorf("Wait = %v, want the refusal to call hotline.example.com", err)
	}
	for _, cb := range s.Callbacks() {
		if cb.StatusCode != 0 {
			t.Errorf("callback to %s got an answer", cb.URL)
		}
	}
}

func waitStatus(t *testing.T, s *Server, sid, status string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for statusOf(s, sid) != status {
		if time.Now().After(deadline) {
			t.Fatalf("call %s is %s, never %s", sid, statusOf(s, sid), status)
		}
		time.Sleep(time.Millisecond)
	}
}

func statusOf(s *Server, sid string) string { return findCall(s, sid).Status }

func findCall(s *Server, sid string) Call {
	for _, c := range s.Calls() {
		if c.SID == sid {
			return c
		}
	}
	return Call{}
}
