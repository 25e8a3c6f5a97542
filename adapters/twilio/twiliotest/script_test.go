package twiliotest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line    string
		to      string
		outcome string
		presses []string
		hangUp  bool
		err     string // part of the error; empty: parses
	}{
		{line: "call +819011112222: no answer", to: "+819011112222", outcome: outcomeNoAnswer},
		{line: "CALL +819011112222 :  No-Answer", to: "+819011112222", outcome: outcomeNoAnswer},
		{line: "call +819011112222: answer, press 1", to: "+819011112222", outcome: outcomeAnswer, presses: []string{"1"}},
		{line: "answer, press 2", outcome: outcomeAnswer, presses: []string{"2"}},
		{line: "answer, press 9, press 1", outcome: outcomeAnswer, presses: []string{"9", "1"}},
		{line: "answer,press 12#", outcome: outcomeAnswer, presses: []string{"12#"}},
		{line: "answer, hang up", outcome: outcomeAnswer, hangUp: true},
		{line: "answer, press 1, hangup", outcome: outcomeAnswer, presses: []string{"1"}, hangUp: true},
		{line: "answer", outcome: outcomeAnswer},
		{line: "machine", outcome: outcomeMachine},
		{line: "busy", outcome: outcomeBusy},
		{line: "failed", outcome: outcomeFailed},
		{line: "call +14155550100: ring", to: "+14155550100", outcome: outcomeRing},

		{line: "call +819011112222 answer", err: `needs a ":"`},
		{line: "call 09011112222: answer", err: "not an E.164 number"},
		{line: "call +819011112222:", err: "say what the callee does"},
		{line: "pick up", err: `unknown outcome "pick up"`},
		{line: "busy, press 1", err: `"busy" takes no further steps`},
		{line: "no answer, hang up", err: "takes no further steps"},
		{line: "answer, press", err: `"press" needs the keys`},
		{line: "answer, press x", err: "keys are 0-9"},
		{line: "answer, press 1,", err: "empty step"},
		{line: "answer, hang up, press 1", err: "after hanging up"},
		{line: "answer, hang up, hang up", err: "hangs up twice"},
		{line: "answer, dance", err: `unknown step "dance"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			e, err := parseLine(tt.line)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.to != tt.to || e.outcome != tt.outcome || !reflect.DeepEqual(e.presses, tt.presses) || e.hangUp != tt.hangUp {
				t.Errorf("got to=%q outcome=%q presses=%q hangUp=%v, want to=%q outcome=%q presses=%q hangUp=%v",
					e.to, e.outcome, e.presses, e.hangUp, tt.to, tt.outcome, tt.presses, tt.hangUp)
			}
		})
	}
}

func TestExpectIsAllOrNothing(t *testing.T) {
	s := newFake(t)
	err := s.Expect("call +819011112222: answer, press 1\n\n# a comment\nanswer, jump")
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("error = %v, want one naming line 4", err)
	}
	if len(s.expects) != 0 {
		t.Errorf("a script with a bad line added %d expectations", len(s.expects))
	}
	if err := s.Expect("  \n# nothing\n"); err == nil {
		t.Error("a script without a call was accepted")
	}
	if err := s.Expect("call +819011112222: answer, press 1\nbusy"); err != nil {
		t.Fatal(err)
	}
	if len(s.expects) != 2 {
		t.Errorf("got %d expectations, want 2", len(s.expects))
	}
}

func TestTakeExpectationPrefersTheNumber(t *testing.T) {
	s := newFake(t)
	if err := s.Expect("busy\ncall +819011112222: no answer\ncall +819011112222: answer, press 1"); err != nil {
		t.Fatal(err)
	}
	first := s.takeExpectation("+819011112222")
	first.call = "CA1"
	second := s.takeExpectation("+819011112222")
	second.call = "CA2"
	other := s.takeExpectation("+819033334444")
	if first.outcome != outcomeNoAnswer || second.outcome != outcomeAnswer || other.outcome != outcomeBusy {
		t.Errorf("took %q, %q, %q; want the number's own lines in order, then the any-number line", first.line, second.line, other.line)
	}
	other.call = "CA3"
	if e := s.takeExpectation("+819011112222"); e != nil {
		t.Errorf("a fourth call took %q; all were taken", e.line)
	}
}
