package twilio

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
)

// These tests play whole calls: Phone → fake Twilio → signed callbacks over
// loopback → Handler → engine, and back with TwiML.

func statusesOf(evs []bot.CallEvent) []string {
	var out []string
	for _, ev := range evs {
		s := string(ev.Status)
		if ev.AnsweredBy != "" && ev.Status == bot.CallInProgress {
			s += "(" + ev.AnsweredBy + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestScriptedCallAnswerPress9Press1(t *testing.T) {
	r := newRig(t)
	if err := r.fake.Expect("call " + tanaka + ": answer, press 9, press 1"); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	sid, err := r.phone.PlaceCall(ctx, sampleCall("en"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.fake.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	statuses, keys := r.eng.events()
	if got, want := statusesOf(statuses), []string{"initiated", "ringing", "in-progress(human)", "completed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("status events %q, want %q", got, want)
	}
	var digits []string
	for _, ev := range append(statuses, keys...) {
		if ev.AttemptID != "att-42" || ev.CallID != sid {
			t.Errorf("event %+v: want attempt att-42 and call %s", ev, sid)
		}
	}
	for _, k := range keys {
		digits = append(digits, k.Digits)
		if k.Status != bot.CallInProgress || k.AnsweredBy != "human" {
			t.Errorf("key event %+v", k)
		}
	}
	if !reflect.DeepEqual(digits, []string{"9", "1"}) {
		t.Errorf("keys %q, want 9 then 1", digits)
	}

	// What the callee heard after each key.
	var replies []node
	for _, cb := range r.fake.Callbacks() {
		if cb.Kind == "gather" {
			if cb.StatusCode != 200 {
				t.Fatalf("gather callback answered %d: %s", cb.StatusCode, cb.Body)
			}
			replies = append(replies, parseTwiML(t, cb.Body))
		}
	}
	if len(replies) != 2 {
		t.Fatalf("%d gather callbacks, want 2", len(replies))
	}
	if got := replies[0].names(); !reflect.DeepEqual(got, []string{"Gather", "Say", "Hangup"}) {
		t.Errorf("after 9: %v, want the question again", got)
	}
	if g := replies[0].children("Gather")[0]; g.attr("action") != r.app.URL+"/v1/twilio/gather?attempt=att-42" {
		t.Errorf("after 9 the key goes to %q", g.attr("action"))
	}
	if got := replies[1].names(); !reflect.DeepEqual(got, []string{"Say", "Hangup"}) ||
		!strings.Contains(replies[1].children("Say")[0].Text, "INC-12 is yours") {
		t.Errorf("after 1: %s", canonical(replies[1]))
	}
}

func TestScriptedCallOutcomes(t *testing.T) {
	tests := []struct {
		script   string
		statuses []string
		digits   []string
		machine  bool
	}{
		{"no answer", []string{"initiated", "ringing", "no-answer"}, nil, false},
		{"busy", []string{"initiated", "busy"}, nil, false},
		{"failed", []string{"failed"}, nil, false},
		{"machine", []string{"initiated", "ringing", "in-progress(machine_start)", "completed"}, nil, true},
		{"answer, hang up", []string{"initiated", "ringing", "in-progress(human)", "completed"}, nil, false},
		{"answer, press 2", []string{"initiated", "ringing", "in-progress(human)", "completed"}, []string{"2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			r := newRig(t)
			r.fake.Expect("call " + tanaka + ": " + tt.script)
			ctx := ctxFor(t)
			if _, err := r.phone.PlaceCall(ctx, sampleCall("ja")); err != nil {
				t.Fatal(err)
			}
			if err := r.fake.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			statuses, keys := r.eng.events()
			if got := statusesOf(statuses); !reflect.DeepEqual(got, tt.statuses) {
				t.Errorf("status events %q, want %q", got, tt.statuses)
			}
			var digits []string
			for _, k := range keys {
				digits = append(digits, k.Digits)
			}
			if !reflect.DeepEqual(digits, tt.digits) {
				t.Errorf("keys %q, want %q", digits, tt.digits)
			}
			if tt.machine {
				answered := statuses[2]
				if !answered.Machine() {
					t.Errorf("%+v does not read as a machine", answered)
				}
			}
		})
	}
}

func TestReplayedCallbackIsStillGenuine(t *testing.T) {
	r := newRig(t)
	r.fake.Expect("call " + tanaka + ": no answer")
	ctx := ctxFor(t)
	if _, err := r.phone.PlaceCall(ctx, sampleCall("en")); err != nil {
		t.Fatal(err)
	}
	if err := r.fake.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cbs := r.fake.Callbacks()
	last := len(cbs) - 1
	if cbs[last].Params.Get("CallStatus") != "no-answer" {
		t.Fatalf("last callback %+v", cbs[last])
	}
	// A verbatim replay passes the signature check: the signature covers no
	// time, so deduplicating is the engine's job. The handler must hand it
	// over unchanged.
	status, err := r.fake.Replay(last)
	if err != nil || status != 204 {
		t.Fatalf("replay: %d %v", status, err)
	}
	statuses, _ := r.eng.events()
	if n := len(statuses); n != 4 || statuses[n-1] != statuses[n-2] {
		t.Errorf("engine events %+v, want the no-answer twice, identical", statuses)
	}
}

func TestCallbackForUnknownCallIs404(t *testing.T) {
	r := newRig(t)
	r.eng.mu.Lock()
	r.eng.fail = bot.ErrNotFound
	r.eng.mu.Unlock()
	r.fake.Expect("call " + tanaka + ": no answer")
	ctx := ctxFor(t)
	if _, err := r.phone.PlaceCall(ctx, sampleCall("en")); err != nil {
		t.Fatal(err)
	}
	err := r.fake.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "answered 404") {
		t.Errorf("Wait = %v, want the callbacks refused with 404", err)
	}
	for _, cb := range r.fake.Callbacks() {
		if cb.StatusCode != 404 {
			t.Errorf("%s callback: %d, want 404", cb.Params.Get("CallStatus"), cb.StatusCode)
		}
	}
}
