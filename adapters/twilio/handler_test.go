package twilio

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
	"github.com/hotline-dev/hotline/bot"
)

const callSID = "CA0123456789abcdef0123456789abcdef"

func newHandler(eng Engine) http.Handler {
	return NewHandler(Config{AuthToken: testToken, PublicURL: publicURL + "/", Logger: quietLogger()}, eng)
}

// callbackForm is what Twilio posts about a call.
func callbackForm(status string, extra ...string) url.Values {
	f := url.Values{
		"AccountSid": {testAccount}, "ApiVersion": {"2010-04-01"}, "CallSid": {callSID},
		"CallStatus": {status}, "Direction": {"outbound-api"}, "From": {testFrom}, "To": {tanaka},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// send posts form to target (path and query) on h with signature sig.
func send(h http.Handler, method, target string, form url.Values, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func signed(target string, form url.Values) string {
	return twiliotest.Sign(testToken, publicURL+target, form)
}

func TestHandlerRefusesWithoutChangingAnything(t *testing.T) {
	const gather = "/v1/twilio/gather?attempt=att-42"
	form := callbackForm("in-progress", "Digits", "1")
	tampered := callbackForm("in-progress", "Digits", "2")
	huge := callbackForm("in-progress", "Digits", "1", "Padding", strings.Repeat("x", 70<<10))
	tests := []struct {
		name   string
		method string
		target string
		form   url.Values
		sig    string
		status int
	}{
		{"wrong signature", "POST", gather, form, twiliotest.Sign("an0therT0ken", publicURL+gather, form), 403},
		{"missing signature", "POST", gather, form, "", 403},
		{"signature for another URL", "POST", gather, form, signed("/v1/twilio/gather?attempt=att-43", form), 403},
		{"signature for another host", "POST", gather, form, twiliotest.Sign(testToken, "https://evil.example.com"+gather, form), 403},
		{"signature over other fields", "POST", gather, tampered, signed(gather, form), 403},
		{"status signed as gather", "POST", "/v1/twilio/status?attempt=att-42", form, signed(gather, form), 403},
		{"GET", "GET", gather, form, signed(gather, form), 405},
		{"oversized body", "POST", gather, huge, signed(gather, huge), 413},
		{"malformed body", "POST", gather, url.Values{}, "", 400}, // body replaced below
		{"no attempt", "POST", "/v1/twilio/gather", form, signed("/v1/twilio/gather", form), 400},
		{"unknown path", "POST", "/v1/twilio/other?attempt=att-42", form, signed("/v1/twilio/other?attempt=att-42", form), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := &engine{}
			h := newHandler(eng)
			var rec *httptest.ResponseRecorder
			if tt.name == "malformed body" {
				req := httptest.NewRequest("POST", gather, strings.NewReader("Digits=%zz"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", "x")
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			} else {
				rec = send(h, tt.method, tt.target, tt.form, tt.sig)
			}
			if rec.Code != tt.status {
				t.Errorf("status %d (%s), want %d", rec.Code, strings.TrimSpace(rec.Body.String()), tt.status)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
			if eng.touched() {
				t.Error("the engine heard of a refused request")
			}
		})
	}
}

func TestHandlerWithoutAuthTokenTrustsNothing(t *testing.T) {
	eng := &engine{}
	h := NewHandler(Config{PublicURL: publicURL, Logger: quietLogger()}, eng)
	const target = "/v1/twilio/status?attempt=att-42"
	form := callbackForm("ringing")
	if rec := send(h, "POST", target, form, twiliotest.Sign("", publicURL+target, form)); rec.Code != 403 || eng.touched() {
		t.Errorf("signed with the empty token: %d, engine touched %v", rec.Code, eng.touched())
	}
}

func TestHandlerMapsEngineErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{fmt.Errorf("attempt att-42: %w", bot.ErrNotFound), 404},
		{fmt.Errorf("store: %w", bot.ErrUnavailable), 503},
		{errors.New("boom"), 500},
	}
	for _, tt := range tests {
		for _, target := range []string{"/v1/twilio/status?attempt=att-42", "/v1/twilio/gather?attempt=att-42"} {
			h := newHandler(&engine{fail: tt.err})
			form := callbackForm("in-progress", "Digits", "1")
			if rec := send(h, "POST", target, form, signed(target, form)); rec.Code != tt.status {
				t.Errorf("%s with %v: %d, want %d", target, tt.err, rec.Code, tt.status)
			}
		}
	}
}

func TestHandlerMapsStatusCallbacks(t *testing.T) {
	tests := []struct {
		form url.Values
		want bot.CallEvent
	}{
		{callbackForm("initiated"), bot.CallEvent{Status: bot.CallInitiated}},
		{callbackForm("ringing"), bot.CallEvent{Status: bot.CallRinging}},
		{callbackForm("in-progress", "AnsweredBy", "human"), bot.CallEvent{Status: bot.CallInProgress, AnsweredBy: "human"}},
		{callbackForm("in-progress", "AnsweredBy", "machine_start"), bot.CallEvent{Status: bot.CallInProgress, AnsweredBy: "machine_start"}},
		{callbackForm("completed", "CallDuration", "12", "AnsweredBy", "human"), bot.CallEvent{Status: bot.CallCompleted, AnsweredBy: "human"}},
		{callbackForm("no-answer"), bot.CallEvent{Status: bot.CallNoAnswer}},
		{callbackForm("busy"), bot.CallEvent{Status: bot.CallBusy}},
	}
	for _, tt := range tests {
		eng := &engine{}
		h := newHandler(eng)
		const target = "/v1/twilio/status?attempt=att%2F42"
		rec := send(h, "POST", target, tt.form, signed(target, tt.form))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%v: status %d %s", tt.form, rec.Code, rec.Body)
		}
		want := tt.want
		want.AttemptID, want.CallID = "att/42", callSID
		statuses, keys := eng.events()
		if len(keys) != 0 || len(statuses) != 1 || statuses[0] != want {
			t.Errorf("%s: engine got %+v, want %+v", tt.form.Get("CallStatus"), statuses, want)
		}
		if want.AnsweredBy == "machine_start" && !statuses[0].Machine() {
			t.Error("a machine answer does not read as a machine")
		}
	}
}

func TestHandlerRepliesToKeys(t *testing.T) {
	const target = "/v1/twilio/gather?attempt=att-42"
	tests := []struct {
		digits string
		taken  bool
		golden string
	}{
		{"1", false, "reply_accepted_en.xml"},
		{"2", false, "reply_passed_en.xml"},
		{"9", false, "reply_again_en.xml"},
		{"1", true, "reply_taken_en.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			eng := &engine{taken: tt.taken, takenBy: "Suzuki"}
			form := callbackForm("in-progress", "Digits", tt.digits, "AnsweredBy", "human")
			rec := send(newHandler(eng), "POST", target, form, signed(target, form))
			if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d, Content-Type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			golden(t, tt.golden, rec.Body.String())
			_, keys := eng.events()
			want := bot.CallEvent{AttemptID: "att-42", CallID: callSID, Digits: tt.digits, Status: bot.CallInProgress, AnsweredBy: "human"}
			if !reflect.DeepEqual(keys, []bot.CallEvent{want}) {
				t.Errorf("engine got %+v, want %+v", keys, want)
			}
		})
	}
}
