package twilio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

func TestNewPhoneNamesEveryProblem(t *testing.T) {
	_, err := NewPhone(Config{APIURL: "ftp://api", From: "0501234"})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, want := range []string{"account_sid: required", "auth_token: required", "from:", "api_url:", "public_url: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	_, err = NewPhone(Config{AccountSID: testAccount, AuthToken: "t0ken/with$", From: testFrom, PublicURL: publicURL})
	if err == nil || strings.Contains(err.Error(), "t0ken/with$") {
		t.Errorf("error = %v: want a refusal that does not echo the token", err)
	}
	if _, err := NewPhone(Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, PublicURL: publicURL}); err != nil {
		t.Errorf("a good config: %v", err)
	}
}

func TestPlaceCallSendsWhatTwilioNeeds(t *testing.T) {
	r := newRig(t)
	if err := r.fake.Expect("call " + tanaka + ": ring\ncall " + suzuki + ": ring"); err != nil {
		t.Fatal(err)
	}
	ja := sampleCall("ja")
	jaSID, err := r.phone.PlaceCall(ctxFor(t), ja)
	if err != nil {
		t.Fatal(err)
	}
	en := sampleCall("en")
	en.To, en.AttemptID, en.RingFor = suzuki, "att/43 x", 45500*time.Millisecond
	enSID, err := r.phone.PlaceCall(ctxFor(t), en)
	if err != nil {
		t.Fatal(err)
	}

	calls := r.fake.Calls()
	if len(calls) != 2 || calls[0].SID != jaSID || calls[1].SID != enSID {
		t.Fatalf("Twilio has %+v, want the two calls with the sids PlaceCall returned (%s, %s)", calls, jaSID, enSID)
	}
	for _, tt := range []struct {
		got                      int
		to, attempt, lang, voice string
		timeout                  int
	}{
		{0, tanaka, "att-42", "ja-JP", "Polly.Mizuki", 30},
		{1, suzuki, "att/43 x", "en-US", "Polly.Joanna", 46},
	} {
		c := calls[tt.got]
		if c.To != tt.to || c.From != testFrom || c.AccountSID != testAccount {
			t.Errorf("call %d: to %s from %s account %s", tt.got, c.To, c.From, c.AccountSID)
		}
		if c.Timeout != tt.timeout {
			t.Errorf("call %d: Timeout = %d, want %d", tt.got, c.Timeout, tt.timeout)
		}
		wantCallback := r.app.URL + "/v1/twilio/status?attempt=" + strings.NewReplacer("/", "%2F", " ", "+").Replace(tt.attempt)
		if c.StatusCallback != wantCallback || c.StatusCallbackMethod != "POST" {
			t.Errorf("call %d: StatusCallback %s %s, want POST %s", tt.got, c.StatusCallbackMethod, c.StatusCallback, wantCallback)
		}
		if want := []string{"initiated", "ringing", "answered", "completed"}; !reflect.DeepEqual(c.StatusCallbackEvents, want) {
			t.Errorf("call %d: StatusCallbackEvent = %v, want %v", tt.got, c.StatusCallbackEvents, want)
		}
		if c.MachineDetection != "Enable" || c.URL != "" {
			t.Errorf("call %d: MachineDetection %q, Url %q", tt.got, c.MachineDetection, c.URL)
		}
		checkCallTwiML(t, c.Twiml, r.app.URL, tt.attempt, tt.lang, tt.voice)
	}
}

func TestRingSeconds(t *testing.T) {
	for _, tt := range []struct {
		ring time.Duration
		want int
	}{
		{0, 60}, // unset: Twilio's default
		{2 * time.Second, 5},
		{5 * time.Second, 5},
		{30 * time.Second, 30},
		{30*time.Second + 200*time.Millisecond, 31},
		{10 * time.Minute, 600},
		{time.Hour, 600},
	} {
		if got := ringSeconds(tt.ring); got != tt.want {
			t.Errorf("ringSeconds(%v) = %d, want %d", tt.ring, got, tt.want)
		}
	}
}

func TestPlaceCallWithLongJapaneseTitleIsAccepted(t *testing.T) {
	r := newRig(t)
	r.fake.Expect("call " + tanaka + ": ring")
	c := sampleCall("ja")
	c.Incident.Title = longJapaneseTitle()
	if _, err := r.phone.PlaceCall(ctxFor(t), c); err != nil {
		t.Fatalf("Twilio refused the call: %v", err)
	}
	if n := utf8.RuneCountInString(r.fake.Calls()[0].Twiml); n > TwiMLLimit {
		t.Errorf("sent %d characters of TwiML", n)
	}
}

func TestPlaceCallFailures(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		retryable  bool
		wait       time.Duration
		code       int
	}{
		{"rate limited", http.StatusTooManyRequests, "7", true, 7 * time.Second, 0},
		{"server error", http.StatusInternalServerError, "", true, 0, 0},
		{"unavailable with a date", http.StatusServiceUnavailable, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), true, time.Hour, 0},
		{"bad request", http.StatusBadRequest, "", false, 0, 20400},
		{"forbidden", http.StatusForbidden, "", false, 0, 20403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.fake.FailNext(1, tt.status, tt.retryAfter)
			_, err := r.phone.PlaceCall(ctxFor(t), sampleCall("en"))
			if err == nil {
				t.Fatal("no error")
			}
			var retry *bot.RetryableError
			var invalid *bot.InvalidError
			if errors.As(err, &retry) != tt.retryable || errors.As(err, &invalid) == tt.retryable {
				t.Fatalf("error %v (%T): retryable=%v invalid=%v, want retryable=%v", err, err,
					errors.As(err, &retry), errors.As(err, &invalid), tt.retryable)
			}
			if tt.retryable {
				if d := retry.RetryAfter - tt.wait; d < -2*time.Second || d > 0 {
					t.Errorf("RetryAfter = %v, want %v", retry.RetryAfter, tt.wait)
				}
				return
			}
			var refused *APIError
			if !errors.As(err, &refused) || refused.Status != tt.status || refused.Code != tt.code || refused.Message == "" {
				t.Errorf("error %v, want an *APIError with status %d and code %d", err, tt.status, tt.code)
			}
			if !strings.Contains(err.Error(), bot.MaskPhone(tanaka)) || strings.Contains(err.Error(), tanaka) {
				t.Errorf("error %q should name the callee masked", err)
			}
		})
	}
}

func TestPlaceCallRetryWorksAfterRateLimit(t *testing.T) {
	r := newRig(t)
	r.fake.Expect("call " + tanaka + ": ring")
	r.fake.FailNext(1, http.StatusTooManyRequests, "1")
	if _, err := r.phone.PlaceCall(ctxFor(t), sampleCall("en")); err == nil {
		t.Fatal("the rate-limited request succeeded")
	}
	if n := len(r.fake.Calls()); n != 0 {
		t.Fatalf("a refused request created %d calls", n)
	}
	sid, err := r.phone.PlaceCall(ctxFor(t), sampleCall("en"))
	if err != nil || len(r.fake.Calls()) != 1 || r.fake.Calls()[0].SID != sid {
		t.Fatalf("retry: %q %v, calls %+v", sid, err, r.fake.Calls())
	}
}

func TestPlaceCallWithWrongCredentials(t *testing.T) {
	r := newRig(t)
	cfg := r.cfg
	cfg.AuthToken = "wr0ngT0ken"
	phone, err := NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = phone.PlaceCall(ctxFor(t), sampleCall("en"))
	var refused *APIError
	var retry *bot.RetryableError
	if !errors.As(err, &refused) || refused.Status != 401 || refused.Code != 20003 || errors.As(err, &retry) {
		t.Fatalf("error = %v, want a permanent 401 with code 20003", err)
	}
	if strings.Contains(err.Error(), cfg.AuthToken) {
		t.Errorf("error %q shows the token", err)
	}
}

func TestPlaceCallNetworkErrorIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	phone, err := NewPhone(Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom,
		APIURL: "http://" + addr, PublicURL: publicURL, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = phone.PlaceCall(ctxFor(t), sampleCall("en"))
	var retry *bot.RetryableError
	if !errors.As(err, &retry) || retry.RetryAfter != 0 {
		t.Fatalf("error = %v, want a RetryableError", err)
	}
}

func TestPlaceCallHonoursContext(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select { // Twilio does not answer in time
		case <-r.Context().Done():
		case <-release:
		case <-time.After(3 * time.Second):
		}
	}))
	defer stuck.Close()
	defer close(release)
	cfg := Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom,
		APIURL: stuck.URL, PublicURL: publicURL, Logger: quietLogger()}
	phone, err := NewPhone(cfg)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = phone.PlaceCall(ctx, sampleCall("en"))
	var retry *bot.RetryableError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &retry) {
		t.Errorf("error = %v, want the caller's deadline, not marked retryable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("PlaceCall took %v after its context ended", took)
	}

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := phone.PlaceCall(cancelled, sampleCall("en")); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v", err)
	}

	// Twilio not answering within the client's own timeout is worth a retry.
	cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	phone, _ = NewPhone(cfg)
	if _, err := phone.PlaceCall(ctxFor(t), sampleCall("en")); !errors.As(err, &retry) {
		t.Errorf("after the client timeout: %v, want a RetryableError", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 3 ", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFindCalls(t *testing.T) {
	r := newRig(t)
	r.fake.Expect("call " + tanaka + ": ring\ncall " + suzuki + ": ring\ncall " + tanaka + ": ring")
	ctx := ctxFor(t)
	t0 := time.Now()
	first, err := r.phone.PlaceCall(ctx, sampleCall("ja"))
	if err != nil {
		t.Fatal(err)
	}
	other := sampleCall("en")
	other.To = suzuki
	toSuzuki, err := r.phone.PlaceCall(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	newest, err := r.phone.PlaceCall(ctx, sampleCall("ja"))
	if err != nil {
		t.Fatal(err)
	}

	find := func(to string, since time.Time) []string {
		t.Helper()
		got, err := r.phone.FindCalls(ctx, to, since)
		if err != nil {
			t.Fatalf("FindCalls(%s, %v): %v", to, since, err)
		}
		return got
	}
	if got := find(tanaka, t0); !slices.Equal(got, []string{newest, first}) {
		t.Errorf("FindCalls(tanaka) = %q, want the newest call first: %q", got, []string{newest, first})
	}
	if got := find(suzuki, t0); !slices.Equal(got, []string{toSuzuki}) {
		t.Errorf("FindCalls(suzuki) = %q, want %q", got, toSuzuki)
	}
	// Twilio's dates have whole seconds: a since later in the same second
	// still finds the call.
	created := r.fake.Calls()[2].CreatedAt
	sameSecond := created.Truncate(time.Second).Add(999 * time.Millisecond)
	if got := find(tanaka, sameSecond); !slices.Contains(got, newest) {
		t.Errorf("FindCalls(since %v, call created %v) = %q, want it to hold %q", sameSecond, created, got, newest)
	}
	for _, tt := range []struct {
		to    string
		since time.Time
	}{
		{tanaka, created.Truncate(time.Second).Add(time.Second)},
		{tanaka, t0.Add(48 * time.Hour)},
		{"+819099998888", t0},
	} {
		if got := find(tt.to, tt.since); len(got) != 0 {
			t.Errorf("FindCalls(%s, %v) = %q, want none", tt.to, tt.since, got)
		}
	}
}

func TestHangUp(t *testing.T) {
	r := newRig(t)
	r.fake.Expect("call " + tanaka + ": ring")
	ctx := ctxFor(t)
	sid, err := r.phone.PlaceCall(ctx, sampleCall("en"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.phone.HangUp(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if err := r.fake.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	c := r.fake.Calls()[0]
	if c.Status != "completed" || c.Hangups != 1 {
		t.Errorf("after HangUp the call is %s with %d hang-ups, want completed with 1", c.Status, c.Hangups)
	}
	statuses, _ := r.eng.events()
	if last := statuses[len(statuses)-1]; last.Status != bot.CallCompleted || last.CallID != sid {
		t.Errorf("the engine last heard %+v, want the call completed", last)
	}

	// Hanging up a call that has ended is not an error (Twilio: 21220)...
	if err := r.phone.HangUp(ctx, sid); err != nil {
		t.Errorf("second HangUp: %v", err)
	}
	if c := r.fake.Calls()[0]; c.Hangups != 2 {
		t.Errorf("Twilio saw %d hang-ups, want 2", c.Hangups)
	}
	// ...nor is one Twilio does not know (404).
	if err := r.phone.HangUp(ctx, "CA00000000000000000000000000000000"); err != nil {
		t.Errorf("HangUp of an unknown call: %v", err)
	}
	var invalid *bot.InvalidError
	if err := r.phone.HangUp(ctx, "../Accounts"); !errors.As(err, &invalid) {
		t.Errorf("HangUp of a malformed sid: %v, want an InvalidError", err)
	}
}

func TestHangUpFailureIsReported(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"code":20500,"message":"Bad Gateway","more_info":"","status":502}`))
	}))
	defer failing.Close()
	phone, _ := NewPhone(Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom,
		APIURL: failing.URL, PublicURL: publicURL, Logger: quietLogger()})
	var retry *bot.RetryableError
	if err := phone.HangUp(ctxFor(t), "CA00000000000000000000000000000000"); !errors.As(err, &retry) {
		t.Errorf("HangUp through a 502: %v, want a RetryableError", err)
	}
}
