package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

var _ Postmortems = (*bot.Bot)(nil)

func TestParsePostmortem(t *testing.T) {
	tests := []struct {
		text string
		want Command
	}{
		{"postmortem", Command{Verb: VerbPostmortem}},
		{"postmortem INC-7", Command{Verb: VerbPostmortem, Ref: 7}},
		{"振り返り", Command{Verb: VerbPostmortem}},
		{"ふりかえり #4", Command{Verb: VerbPostmortem, Ref: 4}},
		{"postmortem INC-7 cause=disk full by old logs fix=deleted old logs followups=log rotation",
			Command{Verb: VerbPostmortem, Ref: 7, Cause: "disk full by old logs", Fix: "deleted old logs", FollowUps: "log rotation"}},
		{"postmortem fix: restart worker pool  Cause: pool exhausted",
			Command{Verb: VerbPostmortem, Cause: "pool exhausted", Fix: "restart worker pool"}},
		{"振り返り INC-3 原因=古いログが溜まった　対応＝古いログを削除 今後：ログローテーション設定",
			Command{Verb: VerbPostmortem, Ref: 3, Cause: "古いログが溜まった", Fix: "古いログを削除", FollowUps: "ログローテーション設定"}},
		{"postmortem follow-ups=add an alert on disk=90%", Command{Verb: VerbPostmortem, FollowUps: "add an alert on disk=90%"}},
		// A word that only looks like a key stays in the value.
		{"postmortem cause=the fix=… was wrong fixes: none", Command{Verb: VerbPostmortem, Cause: "the", Fix: "… was wrong fixes: none"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.text, got, tt.want)
		}
	}
	for _, tc := range []struct{ text, reason string }{
		{"postmortem INC-3 disk was full", `"disk" is not key=value`},
		{"postmortem cause=", "cause= needs a value"},
		{"postmortem cause=a fix=b 原因=c", "cause given twice"},
		{"postmortem INC-x cause=a", `"INC-x" is not an incident`},
	} {
		_, err := Parse(tc.text)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Verb != VerbPostmortem || !strings.Contains(ue.Reason, tc.reason) {
			t.Errorf("Parse(%q): %v, want a postmortem UsageError saying %q", tc.text, err, tc.reason)
		}
	}
}

// fakePostmortems is fakeBot with a WritePostmortem that records its input.
type fakePostmortems struct {
	fakeBot
	inputs []bot.PostmortemInput
	pm     bot.Postmortem
}

func (f *fakePostmortems) WritePostmortem(_ context.Context, n int64, in bot.PostmortemInput, by bot.Actor) (bot.Postmortem, error) {
	f.calls = append(f.calls, call{Op: "WritePostmortem", Number: n, By: by})
	f.inputs = append(f.inputs, in)
	if f.err != nil {
		return bot.Postmortem{}, f.err
	}
	pm := f.pm
	pm.Number = n
	pm.Cause, pm.Fix, pm.FollowUps = in.Cause, in.Fix, in.FollowUps
	return pm, nil
}

func TestRunPostmortem(t *testing.T) {
	base := bot.Postmortem{Title: "db01 ディスク使用率 95%", Severity: bot.Sev2, Owner: "tanaka", AlertCount: 3,
		TimeToAck: 2*time.Minute + 10*time.Second, TimeToResolve: 42 * time.Minute}
	f := &fakePostmortems{pm: base}
	r := Run(context.Background(), f, Invocation{Text: "postmortem cause=old logs fix=deleted them followups=rotation", Actor: tanaka, Thread: 7})
	if len(f.calls) != 1 || f.calls[0].Number != 7 || f.calls[0].By != tanaka ||
		f.inputs[0] != (bot.PostmortemInput{Cause: "old logs", Fix: "deleted them", FollowUps: "rotation"}) {
		t.Fatalf("calls %+v inputs %+v", f.calls, f.inputs)
	}
	want := "Postmortem of INC-7: db01 ディスク使用率 95% [sev2]\ntime to ack: 2m0s / time to resolve: 42m0s / 3 alerts / owner: tanaka\n" +
		"cause: old logs\nfix: deleted them\nfollow-ups: rotation"
	if r.Text != want || r.Ephemeral {
		t.Errorf("reply %+v\nwant %q in the channel", r, want)
	}

	// Without fields: what is known, and how to add the rest.
	f = &fakePostmortems{pm: base}
	r = Run(context.Background(), f, Invocation{Text: "振り返り INC-4", Actor: tanaka, Thread: 7, Locale: "ja"})
	if len(f.inputs) != 1 || f.inputs[0] != (bot.PostmortemInput{}) || f.calls[0].Number != 4 {
		t.Fatalf("calls %+v inputs %+v", f.calls, f.inputs)
	}
	for _, s := range []string{"INC-4 の振り返り", "確認まで: 2m0s", "原因: （未記入）", "/incident 振り返り INC-4 原因=… 対応=… 今後=…"} {
		if !strings.Contains(r.Text, s) {
			t.Errorf("Japanese reply lacks %q:\n%s", s, r.Text)
		}
	}
	r = Run(context.Background(), &fakePostmortems{pm: bot.Postmortem{TimeToResolve: time.Hour}}, Invocation{Text: "postmortem", Actor: tanaka, Thread: 9})
	for _, s := range []string{"time to ack: never acknowledged", "cause: (not recorded)", "/incident postmortem INC-9 cause=… fix=…"} {
		if !strings.Contains(r.Text, s) {
			t.Errorf("reply lacks %q:\n%s", s, r.Text)
		}
	}

	// An open incident is refused with the bot's reason.
	f = &fakePostmortems{}
	f.err = fmt.Errorf("INC-7 is not resolved yet; write its postmortem once it is: %w", bot.ErrConflict)
	if r := Run(context.Background(), f, Invocation{Text: "postmortem fix=x", Actor: tanaka, Thread: 7}); r.Text != "INC-7 is not resolved yet; write its postmortem once it is" || !r.Ephemeral {
		t.Errorf("open incident: %+v", r)
	}
	// No incident named, outside a thread.
	f = &fakePostmortems{}
	if r := Run(context.Background(), f, Invocation{Text: "postmortem fix=x", Actor: tanaka}); !strings.Contains(r.Text, "name the incident") || len(f.calls) != 0 {
		t.Errorf("no incident: %+v", r)
	}
	// An Incidents without the port is a wiring bug.
	var log bytes.Buffer
	restore := captureLog(&log)
	r = Run(context.Background(), &fakeIncidents{}, Invocation{Text: "postmortem", Actor: tanaka, Thread: 7})
	restore()
	if r.Text != "something went wrong; try again" || !strings.Contains(log.String(), "is no commands.Postmortems") {
		t.Errorf("missing port: %+v, log %s", r, log.String())
	}
}

func TestHelpPostmortem(t *testing.T) {
	if !strings.Contains(Help("en"), "/incident postmortem [INC-n] [cause=…] [fix=…] [followups=…] — write the postmortem") ||
		!strings.Contains(Help("ja"), "振り返りを記録します") || !strings.Contains(helpFor(VerbPostmortem, "ja"), "別名: ふりかえり、振り返り") {
		t.Errorf("help:\n%s\n%s", Help("en"), helpFor(VerbPostmortem, "ja"))
	}
}
