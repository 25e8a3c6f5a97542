package bot

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Every cell of the ITIL impact × urgency matrix.
func TestPriorityMatrix(t *testing.T) {
	for _, tc := range []struct {
		impact, urgency Level
		want            Priority
	}{
		{High, High, "P1"}, {High, Medium, "P2"}, {High, Low, "P3"},
		{Medium, High, "P2"}, {Medium, Medium, "P3"}, {Medium, Low, "P4"},
		{Low, High, "P3"}, {Low, Medium, "P4"}, {Low, Low, "P5"},
		{"", High, ""}, {High, "", ""}, {"", "", ""},
	} {
		if got := PriorityOf(tc.impact, tc.urgency); got != tc.want {
			t.Errorf("PriorityOf(%q, %q) = %q, want %q", tc.impact, tc.urgency, got, tc.want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{
		"sev1": Sev1, "SEV2": Sev2, " 3 ": Sev3, "4": Sev4, "critical": Sev1, "high": Sev2,
		"warning": Sev3, "info": Sev4, "disaster": Sev1, "average": Sev3,
	} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "sev5", "0", "urgent!"} {
		_, err := ParseSeverity(bad)
		var invalid *InvalidError
		if !errors.As(err, &invalid) {
			t.Errorf("ParseSeverity(%q): %v, want an InvalidError", bad, err)
		}
	}
}

func TestParseLevel(t *testing.T) {
	if l, err := ParseLevel(" HIGH "); err != nil || l != High {
		t.Errorf("ParseLevel(HIGH) = %q, %v", l, err)
	}
	if _, err := ParseLevel("huge"); err == nil {
		t.Error("ParseLevel(huge): no error")
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]int64{"INC-42": 42, "inc-7": 7, "#9": 9, "12": 12} {
		if got, err := ParseRef(in); err != nil || got != want {
			t.Errorf("ParseRef(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "INC-", "INC-0", "INC--3", "INC-x", "PRJ-3"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q): no error", bad)
		}
	}
	if got := (Incident{Number: 5}).Ref(); got != "INC-5" {
		t.Errorf("Ref() = %q", got)
	}
}

func TestAlertValidate(t *testing.T) {
	ok := Alert{Service: "web", Fingerprint: "f", Status: AlertFiring, Title: "t"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid alert: %v", err)
	}
	bad := Alert{Status: "exploded", Severity: "sev0"}
	err := bad.Validate()
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("invalid alert: %v", err)
	}
	for _, part := range []string{"service: is required", "title: is required", "fingerprint: is required", "status: must be", "severity: must be"} {
		if !strings.Contains(invalid.Reason, part) {
			t.Errorf("reason %q lacks %q: every problem is named at once", invalid.Reason, part)
		}
	}
	first, again := FingerprintOf("db01 down"), FingerprintOf("db01 down")
	if first != again || first == FingerprintOf("db02 down") {
		t.Error("FingerprintOf is not a stable hash of the title")
	}
}

func chain(n int) []Event {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var events []Event
	prev := ""
	for i := range n {
		e := Event{IncidentID: 1, Seq: i + 1, Kind: EventNote, Actor: "tanaka", Source: "slack", Text: "再起動", At: at.Add(time.Duration(i) * time.Second)}
		e.Seal(prev)
		prev = e.Hash
		events = append(events, e)
	}
	return events
}

// Each kind of tampering breaks the chain and is named.
func TestVerifyChain(t *testing.T) {
	good := chain(4)
	head := good[3].Hash
	if err := VerifyChain(good, head); err != nil {
		t.Fatalf("untouched chain: %v", err)
	}
	for name, tc := range map[string]struct {
		tamper func([]Event) ([]Event, string)
		want   string
	}{
		"text edited":    {func(e []Event) ([]Event, string) { e[1].Text = "nothing happened"; return e, head }, "event 2"},
		"actor edited":   {func(e []Event) ([]Event, string) { e[2].Actor = "suzuki"; return e, head }, "event 3"},
		"time edited":    {func(e []Event) ([]Event, string) { e[0].At = e[0].At.Add(time.Hour); return e, head }, "event 1"},
		"middle removed": {func(e []Event) ([]Event, string) { return append(e[:1:1], e[2:]...), head }, "missing"},
		"last removed":   {func(e []Event) ([]Event, string) { return e[:3], head }, "removed from the end"},
		"resealed edit": {func(e []Event) ([]Event, string) {
			// Re-hashing the edited event alone does not help: the next one
			// still points at the old hash.
			e[1].Text = "nothing happened"
			e[1].Seal(e[0].Hash)
			return e, head
		}, "event 3"},
	} {
		events, h := tc.tamper(chain(4))
		err := VerifyChain(events, h)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: 5 * time.Minute} {
		for range 50 {
			d := Backoff(attempt)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ±20%%", attempt, d, base)
			}
		}
	}
}

func TestProblems(t *testing.T) {
	var p Problems
	if p.Err() != nil {
		t.Error("no problems is not an error")
	}
	p.Add("policies[0].steps[1].ring_timeout", "must be > 0")
	p.Add("", "general")
	if err := p.Err(); err == nil || err.Error() != "policies[0].steps[1].ring_timeout: must be > 0; general" {
		t.Errorf("Err() = %v", err)
	}
}
