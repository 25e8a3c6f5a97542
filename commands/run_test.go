package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
)

// call is one call the fake received.
type call struct {
	Op     string
	Number int64
	Owner  string
	Class  bot.Classification
	Text   string
	By     bot.Actor
}

// fakeIncidents records calls and answers each with err, or with the
// incident as the bot would have changed it.
type fakeIncidents struct {
	calls []call
	err   error
}

func (f *fakeIncidents) answer(c call) (bot.Incident, error) {
	f.calls = append(f.calls, c)
	if f.err != nil {
		return bot.Incident{}, f.err
	}
	inc := bot.Incident{Number: c.Number, Status: bot.StatusTriggered, Severity: bot.Sev3, Owner: c.Owner}
	switch c.Op {
	case "Acknowledge":
		inc.Status, inc.Owner = bot.StatusAcknowledged, c.By.ID
	case "Classify":
		inc.Impact, inc.Urgency = c.Class.Impact, c.Class.Urgency
		inc.Priority = bot.PriorityOf(inc.Impact, inc.Urgency)
	case "Resolve":
		inc.Status = bot.StatusResolved
	}
	return inc, nil
}

func (f *fakeIncidents) Acknowledge(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "Acknowledge", Number: n, By: by})
}

func (f *fakeIncidents) Assign(_ context.Context, n int64, owner string, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "Assign", Number: n, Owner: owner, By: by})
}

func (f *fakeIncidents) Classify(_ context.Context, n int64, c bot.Classification, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "Classify", Number: n, Class: c, By: by})
}

func (f *fakeIncidents) Note(_ context.Context, n int64, text string, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "Note", Number: n, Text: text, By: by})
}

func (f *fakeIncidents) Resolve(_ context.Context, n int64, summary string, by bot.Actor) (bot.Incident, error) {
	return f.answer(call{Op: "Resolve", Number: n, Text: summary, By: by})
}

var _ Incidents = (*bot.Bot)(nil)

var tanaka = bot.Actor{ID: "tanaka", Source: "slack"}

func TestRunChanges(t *testing.T) {
	tests := []struct {
		text   string
		thread int64
		locale string
		want   call
		reply  string
	}{
		{"ack INC-7", 0, "en", call{Op: "Acknowledge", Number: 7}, "INC-7 acknowledged by tanaka"},
		{"ack", 7, "ja", call{Op: "Acknowledge", Number: 7}, "INC-7 を tanaka が確認しました"},
		{"確認", 7, "ja-JP", call{Op: "Acknowledge", Number: 7}, "INC-7 を tanaka が確認しました"},
		// An explicit reference wins over the thread's incident.
		{"ack INC-9", 7, "en", call{Op: "Acknowledge", Number: 9}, "INC-9 acknowledged by tanaka"},
		{"own", 7, "en", call{Op: "Assign", Number: 7, Owner: "tanaka"}, "INC-7 is now owned by tanaka"},
		{"take INC-2", 0, "ja", call{Op: "Assign", Number: 2, Owner: "tanaka"}, "INC-2 を tanaka が担当します"},
		{"assign <@U02SUZUKI|suzuki>", 7, "en", call{Op: "Assign", Number: 7, Owner: "U02SUZUKI"}, "INC-7 assigned to U02SUZUKI by tanaka"},
		{"assign @suzuki", 7, "ja", call{Op: "Assign", Number: 7, Owner: "suzuki"}, "INC-7 の担当者を tanaka が suzuki にしました"},
		{"sev 2", 7, "en", call{Op: "Classify", Number: 7, Class: bot.Classification{Severity: bot.Sev2}}, "INC-7 severity set to sev2 by tanaka"},
		{"sev INC-4 critical", 7, "ja", call{Op: "Classify", Number: 4, Class: bot.Classification{Severity: bot.Sev1}}, "INC-4 の重大度を tanaka が sev1 にしました"},
		{"classify impact=high urgency=low", 7, "en",
			call{Op: "Classify", Number: 7, Class: bot.Classification{Impact: bot.High, Urgency: bot.Low}},
			"INC-7 classified by tanaka: impact high, urgency low, priority P3"},
		{"classify urgency:high", 7, "ja",
			call{Op: "Classify", Number: 7, Class: bot.Classification{Urgency: bot.High}},
			"INC-7 を tanaka が分類しました: 緊急度 high"},
		{"note INC-7 restarted  db01", 0, "en", call{Op: "Note", Number: 7, Text: "restarted  db01"}, "Note added to INC-7 by tanaka"},
		{"メモ DBを再起動しました", 7, "ja", call{Op: "Note", Number: 7, Text: "DBを再起動しました"}, "INC-7 に tanaka がメモを追加しました"},
		{"resolve extended the disk", 7, "en", call{Op: "Resolve", Number: 7, Text: "extended the disk"}, "INC-7 resolved by tanaka"},
		{"解決 INC-3", 7, "ja", call{Op: "Resolve", Number: 3}, "INC-3 を tanaka が解決しました"},
	}
	for _, tt := range tests {
		f := &fakeIncidents{}
		r := Run(context.Background(), f, Invocation{Text: tt.text, Actor: tanaka, Thread: tt.thread, Locale: tt.locale})
		tt.want.By = tanaka
		if len(f.calls) != 1 || f.calls[0] != tt.want {
			t.Errorf("%q: calls %+v, want [%+v]", tt.text, f.calls, tt.want)
		}
		if r.Text != tt.reply || r.Ephemeral {
			t.Errorf("%q: reply %q (ephemeral %v), want %q in the channel", tt.text, r.Text, r.Ephemeral, tt.reply)
		}
		if r.Incident == nil || r.Incident.Number != tt.want.Number {
			t.Errorf("%q: reply incident %+v, want INC-%d", tt.text, r.Incident, tt.want.Number)
		}
	}
}

// TestRunRefused: help and refused commands answer only the responder and
// call nothing.
func TestRunRefused(t *testing.T) {
	_, sevErr := Parse("sev 7")
	tests := []struct {
		name   string
		in     Invocation
		reply  string // exact, or
		substr []string
	}{
		{name: "empty", in: Invocation{Text: "", Thread: 7, Locale: "en"}, reply: Help("en")},
		{name: "help ja", in: Invocation{Text: "help", Locale: "ja"}, reply: Help("ja")},
		{name: "help verb", in: Invocation{Text: "help close", Locale: "en"}, substr: []string{Usage("resolve"), "resolve, with an optional summary", "Also: close, 解決"}},
		{name: "help verb ja", in: Invocation{Text: "help sev", Locale: "ja"}, substr: []string{Usage("sev"), "重大度", "別名: severity"}},
		{name: "bad severity", in: Invocation{Text: "sev 7", Thread: 7}, reply: sevErr.Error()},
		{name: "unknown", in: Invocation{Text: "reboot db01", Thread: 7}, substr: []string{`unknown command "reboot"`, Usage("ack"), Usage("help")}},
		{name: "note without text", in: Invocation{Text: "note INC-7", Thread: 7}, substr: []string{"write the text of the note", Usage("note")}},
		{name: "junk", in: Invocation{Text: "ack INC-3 now"}, substr: []string{`unexpected "now"`}},
		{name: "no incident", in: Invocation{Text: "ack", Locale: "en"},
			reply: "ack: name the incident: INC-<n>, or run the command in its thread\nusage: /incident ack [INC-n]"},
		{name: "no incident ja", in: Invocation{Text: "resolve fixed", Locale: "ja"},
			substr: []string{"INC-<n>", "スレッド", Usage("resolve")}},
	}
	for _, tt := range tests {
		f := &fakeIncidents{}
		tt.in.Actor = tanaka
		r := Run(context.Background(), f, tt.in)
		if len(f.calls) != 0 {
			t.Errorf("%s: called %+v", tt.name, f.calls)
		}
		if !r.Ephemeral || r.Incident != nil {
			t.Errorf("%s: ephemeral %v, incident %+v; want an ephemeral reply without an incident", tt.name, r.Ephemeral, r.Incident)
		}
		if tt.reply != "" && r.Text != tt.reply {
			t.Errorf("%s: reply\n%s\nwant\n%s", tt.name, r.Text, tt.reply)
		}
		for _, s := range tt.substr {
			if !strings.Contains(r.Text, s) {
				t.Errorf("%s: reply %q lacks %q", tt.name, r.Text, s)
			}
		}
	}
}

func TestRunBotErrors(t *testing.T) {
	secret := errors.New("pq: password authentication failed for user hotline at 10.0.0.3")
	tests := []struct {
		name   string
		err    error
		text   string
		locale string
		reply  string
		logged bool // the error is internal: logged, not shown
	}{
		{name: "not found", err: fmt.Errorf("INC-7: %w", bot.ErrNotFound), text: "ack", reply: "INC-7 does not exist"},
		{name: "not found ja", err: fmt.Errorf("INC-7: %w", bot.ErrNotFound), text: "ack", locale: "ja", reply: "INC-7 は存在しません"},
		{name: "already acknowledged", err: fmt.Errorf("INC-7 is already acknowledged: %w", bot.ErrConflict), text: "ack", reply: "INC-7 is already acknowledged"},
		{name: "already resolved", err: fmt.Errorf("INC-7 is already resolved: %w", bot.ErrConflict), text: "close", reply: "INC-7 is already resolved"},
		{name: "store conflict", err: fmt.Errorf("%w: UNIQUE constraint failed: jobs.key", bot.ErrConflict), text: "ack", reply: "something went wrong; try again", logged: true},
		{name: "invalid", err: bot.Invalid("assign: name the new owner"), text: "own", reply: "assign: name the new owner"},
		{name: "unavailable", err: fmt.Errorf("%w: connection refused", bot.ErrUnavailable), text: "note db01 is back", reply: "something went wrong; try again", logged: true},
		{name: "internal", err: secret, text: "sev 1", reply: "something went wrong; try again", logged: true},
		{name: "internal ja", err: secret, text: "sev 1", locale: "ja", reply: "問題が発生しました。もう一度お試しください", logged: true},
		{name: "cancelled", err: context.Canceled, text: "resolve", reply: "something went wrong; try again", logged: true},
	}
	for _, tt := range tests {
		var log bytes.Buffer
		restore := captureLog(&log)
		f := &fakeIncidents{err: tt.err}
		r := Run(context.Background(), f, Invocation{Text: tt.text, Actor: tanaka, Thread: 7, Locale: tt.locale})
		restore()
		if len(f.calls) != 1 {
			t.Errorf("%s: calls %+v, want one", tt.name, f.calls)
		}
		if r.Text != tt.reply || !r.Ephemeral || r.Incident != nil {
			t.Errorf("%s: reply %+v, want ephemeral %q without an incident", tt.name, r, tt.reply)
		}
		if logged := strings.Contains(log.String(), tt.err.Error()); logged != tt.logged {
			t.Errorf("%s: error logged %v, want %v; log: %s", tt.name, logged, tt.logged, log.String())
		}
	}
}

// TestRunWithoutActor: an adapter that forgot the actor gets no change made
// by nobody.
func TestRunWithoutActor(t *testing.T) {
	var log bytes.Buffer
	defer captureLog(&log)()
	f := &fakeIncidents{}
	r := Run(context.Background(), f, Invocation{Text: "own INC-7", Actor: bot.Actor{Source: "slack"}})
	if len(f.calls) != 0 {
		t.Errorf("called %+v", f.calls)
	}
	if r.Text != "something went wrong; try again" || !r.Ephemeral {
		t.Errorf("reply %+v", r)
	}
	if !strings.Contains(log.String(), "without an actor") {
		t.Errorf("not logged: %q", log.String())
	}
}

func TestHelp(t *testing.T) {
	en, ja := Help("en"), Help("ja")
	for _, v := range verbOrder {
		for _, h := range []string{en, ja} {
			if !strings.Contains(h, Usage(v)+" — ") {
				t.Errorf("help lacks %q:\n%s", Usage(v), h)
			}
		}
	}
	for alias, verb := range aliases {
		if !strings.Contains(en, alias+" = "+verb) || !strings.Contains(ja, alias+" = "+verb) {
			t.Errorf("help does not list the alias %s = %s", alias, verb)
		}
	}
	for _, s := range []string{"make yourself the owner", "INC-n may be left out"} {
		if !strings.Contains(en, s) {
			t.Errorf("English help lacks %q", s)
		}
	}
	for _, s := range []string{"自分が担当者になります", "INC-n を省略できます"} {
		if !strings.Contains(ja, s) {
			t.Errorf("Japanese help lacks %q", s)
		}
	}
	if Help("") != en || Help("fr") != en || Help("ja-JP") != ja {
		t.Error("locales other than ja should get English, ja-JP Japanese")
	}
	if Usage("close") != "/incident resolve [INC-n] [summary]" || Usage("メモ") != Usage("note") || Usage("reboot") != "" {
		t.Errorf("Usage: close %q, メモ %q, reboot %q", Usage("close"), Usage("メモ"), Usage("reboot"))
	}
}

// captureLog sends the default logger to w until the returned func runs.
func captureLog(w *bytes.Buffer) (restore func()) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(w, nil)))
	return func() { slog.SetDefault(prev) }
}
