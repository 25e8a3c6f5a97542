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

// noon is 2026-11-26 12:00 UTC, 21:00 JST.
var noon = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestRunStatus(t *testing.T) {
	tests := []struct {
		text, locale string
		thread       int64
		want         call
		reply        string
	}{
		{"status monitoring", "en", 7, call{Op: "SetStatus", Number: 7, Text: "monitoring"}, "INC-7 status set to monitoring by tanaka"},
		{"状況 INC-4 調査中", "ja", 7, call{Op: "SetStatus", Number: 4, Text: "investigating"}, "INC-4 の対応状況を tanaka が「調査中」にしました"},
		{"ステータス identified", "ja", 7, call{Op: "SetStatus", Number: 7, Text: "identified"}, "INC-7 の対応状況を tanaka が「特定済み」にしました"},
	}
	for _, tt := range tests {
		f := &fakeBot{}
		r := Run(context.Background(), f, Invocation{Text: tt.text, Actor: tanaka, Thread: tt.thread, Locale: tt.locale})
		tt.want.By = tanaka
		if len(f.calls) != 1 || f.calls[0] != tt.want {
			t.Errorf("%q: calls %+v, want [%+v]", tt.text, f.calls, tt.want)
		}
		if r.Text != tt.reply || r.Ephemeral || r.Incident == nil || r.Incident.Number != tt.want.Number {
			t.Errorf("%q: reply %+v, want %q in the channel with the incident", tt.text, r, tt.reply)
		}
	}

	f := &fakeBot{fakeIncidents: fakeIncidents{err: fmt.Errorf("INC-7 is already resolved: %w", bot.ErrConflict)}}
	if r := Run(context.Background(), f, Invocation{Text: "status monitoring", Actor: tanaka, Thread: 7}); r.Text != "INC-7 is already resolved" || !r.Ephemeral {
		t.Errorf("resolved incident: %+v", r)
	}
	f = &fakeBot{}
	if r := Run(context.Background(), f, Invocation{Text: "status monitoring", Actor: tanaka}); !strings.Contains(r.Text, "name the incident") || len(f.calls) != 0 {
		t.Errorf("no incident: %+v, calls %+v", r, f.calls)
	}
}

// TestRunMissingPort: an Incidents without the newer ports is a wiring bug:
// logged, answered generically, nothing called.
func TestRunMissingPort(t *testing.T) {
	for _, text := range []string{"status monitoring", "list", "show", "timeline", "new db01 down", "oncall override @suzuki 2h"} {
		var log bytes.Buffer
		restore := captureLog(&log)
		f := &fakeIncidents{}
		phone := &fakePhone{schedules: []string{"infra"}, contacts: map[string]string{"suzuki": "suzuki"}}
		r := Run(context.Background(), f, Invocation{Text: text, Actor: tanaka, Thread: 7, Service: "web", Phone: phone, At: noon})
		restore()
		if r.Text != "something went wrong; try again" || !r.Ephemeral || len(f.calls) != 0 {
			t.Errorf("%q: reply %+v, calls %+v", text, r, f.calls)
		}
		if !strings.Contains(log.String(), "is no commands.") {
			t.Errorf("%q: not logged: %s", text, log.String())
		}
	}
}

func TestRunEscalate(t *testing.T) {
	f := &fakeBot{}
	if r := Run(context.Background(), f, Invocation{Text: "escalate", Actor: tanaka, Thread: 7}); r.Text != "no phone escalation is configured here" || !r.Ephemeral {
		t.Errorf("without a phone: %+v", r)
	}
	if r := Run(context.Background(), f, Invocation{Text: "呼び出し", Actor: tanaka, Thread: 7, Locale: "ja"}); r.Text != "電話でのエスカレーションは設定されていません" {
		t.Errorf("without a phone, ja: %+v", r)
	}

	p := &fakePhone{}
	r := Run(context.Background(), f, Invocation{Text: "escalate", Actor: tanaka, Thread: 7, Phone: p})
	if len(p.calls) != 1 || p.calls[0] != (call{Op: "CallNow", Number: 7, By: tanaka}) {
		t.Errorf("calls %+v, want CallNow of INC-7 by tanaka", p.calls)
	}
	if r.Text != "INC-7: calling the on-call contacts now, as tanaka asked" || r.Ephemeral || r.Incident == nil {
		t.Errorf("reply %+v", r)
	}
	r = Run(context.Background(), f, Invocation{Text: "エスカレ INC-9", Actor: tanaka, Thread: 7, Locale: "ja", Phone: p})
	if p.calls[1].Number != 9 || r.Text != "INC-9 について tanaka の依頼でオンコール担当者に電話します" {
		t.Errorf("ja: calls %+v, reply %+v", p.calls, r)
	}

	for _, tc := range []struct {
		err   error
		reply string
	}{
		{fmt.Errorf("INC-7 is acknowledged: nobody needs calling: %w", bot.ErrConflict), "INC-7 is acknowledged: nobody needs calling"},
		{bot.Invalid("INC-7 has no escalation policy: nobody to call"), "INC-7 has no escalation policy: nobody to call"},
		{fmt.Errorf("INC-7: %w", bot.ErrNotFound), "INC-7 does not exist"},
	} {
		p := &fakePhone{err: tc.err}
		r := Run(context.Background(), f, Invocation{Text: "escalate", Actor: tanaka, Thread: 7, Phone: p})
		if r.Text != tc.reply || !r.Ephemeral || r.Incident != nil {
			t.Errorf("%v: reply %+v, want %q", tc.err, r, tc.reply)
		}
	}
	p = &fakePhone{}
	if r := Run(context.Background(), f, Invocation{Text: "escalate", Actor: tanaka, Phone: p}); !strings.Contains(r.Text, "name the incident") || len(p.calls) != 0 {
		t.Errorf("no incident: %+v", r)
	}
}

func TestRunDeclare(t *testing.T) {
	inc := bot.Incident{Number: 12, Title: "db01 down", Severity: bot.Sev2, Status: bot.StatusTriggered}
	f := &fakeBot{declared: bot.IngestResult{Action: bot.IngestOpened, Incident: inc}}
	r := Run(context.Background(), f, Invocation{Text: "new db01 down sev2", Actor: tanaka, Service: "web"})
	want := call{Op: "Declare", Owner: "web", Text: "db01 down", Class: bot.Classification{Severity: bot.Sev2}, By: tanaka}
	if len(f.calls) != 1 || f.calls[0] != want {
		t.Errorf("calls %+v, want [%+v]", f.calls, want)
	}
	if r.Text != "INC-12 declared by tanaka: db01 down [sev2]" || r.Ephemeral || r.Incident == nil || r.Incident.Number != 12 {
		t.Errorf("reply %+v", r)
	}
	r = Run(context.Background(), f, Invocation{Text: "起票 db01 down", Actor: tanaka, Service: "web", Locale: "ja", Thread: 3})
	if f.calls[1].Class.Severity != "" || r.Text != "INC-12 を tanaka が起票しました: db01 down [sev2]" {
		t.Errorf("ja: calls %+v, reply %+v", f.calls, r)
	}

	f = &fakeBot{}
	r = Run(context.Background(), f, Invocation{Text: "new db01 down", Actor: tanaka})
	if r.Text != "this channel belongs to no service; use /incident new in a service's channel" || !r.Ephemeral || len(f.calls) != 0 {
		t.Errorf("no service: %+v, calls %+v", r, f.calls)
	}
	r = Run(context.Background(), f, Invocation{Text: "新規 db01 down", Actor: tanaka, Locale: "ja"})
	if !strings.Contains(r.Text, "どのサービスにも属していません") || len(f.calls) != 0 {
		t.Errorf("no service, ja: %+v", r)
	}
	f = &fakeBot{fakeIncidents: fakeIncidents{err: bot.Invalid(`service "gone" is not configured`)}}
	r = Run(context.Background(), f, Invocation{Text: "new db01 down", Actor: tanaka, Service: "gone"})
	if r.Text != `service "gone" is not configured` || !r.Ephemeral {
		t.Errorf("refused: %+v", r)
	}
	if r := Run(context.Background(), f, Invocation{Text: "new", Actor: tanaka, Service: "web"}); !strings.Contains(r.Text, "write the title") {
		t.Errorf("no title: %+v", r)
	}
}

func TestRunList(t *testing.T) {
	f := &fakeBot{incidents: []bot.Incident{
		{Number: 9, Severity: bot.Sev1, Status: bot.StatusTriggered, Title: "checkout 500s"},
		{Number: 4, Severity: bot.Sev3, Status: bot.StatusAcknowledged, Title: "db01 ディスク使用率 95%", Owner: "tanaka"},
	}}
	r := Run(context.Background(), f, Invocation{Text: "list", Actor: tanaka, Thread: 4})
	want := "Open incidents, newest first:\nINC-9 [sev1] triggered checkout 500s (no owner)\nINC-4 [sev3] acknowledged db01 ディスク使用率 95% (tanaka)"
	if r.Text != want || !r.Ephemeral || r.Incident != nil {
		t.Errorf("reply\n%s\nwant\n%s", r.Text, want)
	}
	if len(f.filters) != 1 || f.filters[0] != (bot.IncidentFilter{Status: "open", Limit: 10}) {
		t.Errorf("filters %+v, want open, 10", f.filters)
	}
	r = Run(context.Background(), f, Invocation{Text: "一覧", Locale: "ja"})
	if !strings.HasPrefix(r.Text, "対応中のインシデント（新しい順）:\n") || !strings.Contains(r.Text, "INC-9 [sev1] triggered checkout 500s (担当者なし)") {
		t.Errorf("ja: %s", r.Text)
	}

	f = &fakeBot{}
	for range 10 {
		f.incidents = append(f.incidents, bot.Incident{Number: int64(20 - len(f.incidents)), Severity: bot.Sev3, Status: bot.StatusTriggered, Title: "x"})
	}
	if r := Run(context.Background(), f, Invocation{Text: "list"}); !strings.HasPrefix(r.Text, "The newest 10 open incidents:") || strings.Count(r.Text, "\n") != 10 {
		t.Errorf("ten: %s", r.Text)
	}
	f = &fakeBot{}
	if r := Run(context.Background(), f, Invocation{Text: "list"}); r.Text != "No open incidents." {
		t.Errorf("none: %q", r.Text)
	}
	var log bytes.Buffer
	restore := captureLog(&log)
	f = &fakeBot{readErr: fmt.Errorf("%w: connection refused", bot.ErrUnavailable)}
	r = Run(context.Background(), f, Invocation{Text: "list"})
	restore()
	if r.Text != "something went wrong; try again" || !strings.Contains(log.String(), "connection refused") {
		t.Errorf("store down: %+v; log %s", r, log.String())
	}
}

func TestRunShow(t *testing.T) {
	opened := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	acked := opened.Add(3 * time.Minute)
	f := &fakeBot{
		incidents: []bot.Incident{{ID: 70, Number: 7, Service: "web", Title: "db01 down", Status: bot.StatusAcknowledged,
			Severity: bot.Sev2, Impact: bot.High, Urgency: bot.Low, Priority: "P3", Owner: "tanaka", AlertCount: 5,
			CreatedAt: opened, AcknowledgedAt: &acked, LastSeq: 3}},
		events: map[int64][]bot.Event{70: {
			{Seq: 1, Kind: bot.EventOpened, Text: "db01 down"},
			{Seq: 2, Kind: bot.EventStatus, Text: "investigating"},
			{Seq: 3, Kind: bot.EventStatus, Text: "monitoring"},
		}},
	}
	r := Run(context.Background(), f, Invocation{Text: "show", Thread: 7, Locale: "en"})
	want := "INC-7 db01 down\nstatus: acknowledged, monitoring\nseverity: sev2, priority P3 (impact high, urgency low)\n" +
		"service: web\nowner: tanaka\nopened: 2026-11-26 09:00 UTC\nacknowledged: 2026-11-26 09:03 UTC\nalerts: 5"
	if r.Text != want || !r.Ephemeral {
		t.Errorf("show:\n%s\nwant\n%s", r.Text, want)
	}
	r = Run(context.Background(), f, Invocation{Text: "表示 INC-7", Locale: "ja"})
	for _, s := range []string{"状態: acknowledged（監視中）", "担当者: tanaka", "発生: 2026-11-26 18:00 JST", "確認: 2026-11-26 18:03 JST", "アラート数: 5"} {
		if !strings.Contains(r.Text, s) {
			t.Errorf("ja show lacks %q:\n%s", s, r.Text)
		}
	}
	// A resolved incident shows its resolve, not the phase it last reported.
	resolved := opened.Add(time.Hour)
	f.incidents[0].Status, f.incidents[0].ResolvedAt = bot.StatusResolved, &resolved
	r = Run(context.Background(), f, Invocation{Text: "show INC-7"})
	if !strings.Contains(r.Text, "status: resolved\n") || !strings.Contains(r.Text, "resolved: 2026-11-26 10:00 UTC") {
		t.Errorf("resolved:\n%s", r.Text)
	}
	if r := Run(context.Background(), f, Invocation{Text: "show INC-9"}); r.Text != "INC-9 does not exist" {
		t.Errorf("missing: %q", r.Text)
	}
	if r := Run(context.Background(), f, Invocation{Text: "show"}); !strings.Contains(r.Text, "name the incident") {
		t.Errorf("no incident: %q", r.Text)
	}
}

func TestRunTimeline(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var events []bot.Event
	for i := 1; i <= 40; i++ {
		events = append(events, bot.Event{Seq: i, Kind: bot.EventNote, Actor: "tanaka", Text: fmt.Sprintf("step %d\nmore", i), At: at.Add(time.Duration(i) * time.Minute)})
	}
	f := &fakeBot{
		incidents: []bot.Incident{{ID: 70, Number: 7, LastSeq: 40}, {ID: 30, Number: 3, LastSeq: 2}},
		events: map[int64][]bot.Event{70: events, 30: {
			{Seq: 1, Kind: bot.EventOpened, Actor: "prom", Text: "db01 down", At: at},
			{Seq: 2, Kind: bot.EventStatus, Actor: "U01SUZUKI", Text: "identified", At: at.Add(time.Minute)},
		}},
	}
	r := Run(context.Background(), f, Invocation{Text: "timeline", Thread: 7})
	lines := strings.Split(r.Text, "\n")
	if len(lines) != 16 || lines[0] != "INC-7 timeline, the last 15 of 40 events:" ||
		lines[1] != "2026-11-26 09:26 UTC note: step 26 more — tanaka" || lines[15] != "2026-11-26 09:40 UTC note: step 40 more — tanaka" {
		t.Errorf("timeline:\n%s", r.Text)
	}
	if len(f.afterSeqs) != 1 || f.afterSeqs[0] != 25 {
		t.Errorf("read after %v, want only the tail after 25", f.afterSeqs)
	}
	r = Run(context.Background(), f, Invocation{Text: "経緯 INC-3", Locale: "ja"})
	want := "INC-3 のタイムライン:\n2026-11-26 18:00 JST opened: db01 down — prom\n2026-11-26 18:01 JST status: identified — U01SUZUKI"
	if r.Text != want || !r.Ephemeral {
		t.Errorf("ja:\n%s\nwant\n%s", r.Text, want)
	}
	if r := Run(context.Background(), f, Invocation{Text: "timeline INC-9"}); r.Text != "INC-9 does not exist" {
		t.Errorf("missing: %q", r.Text)
	}
}

func TestRunOnCall(t *testing.T) {
	until := noon.Add(21 * time.Hour)
	newPhone := func(schedules ...string) *fakePhone {
		return &fakePhone{schedules: schedules,
			shifts: map[string]OnCall{
				"infra": {Schedule: "infra", Contact: "tanaka", Until: until},
				"db":    {Schedule: "db", Contact: "suzuki", Until: until, Override: true},
			},
			contacts: map[string]string{"suzuki": "suzuki", "U01SUZUKI": "suzuki"}}
	}
	f := &fakeBot{}
	if r := Run(context.Background(), f, Invocation{Text: "oncall", Actor: tanaka}); r.Text != "no phone escalation is configured here" {
		t.Errorf("no phone: %q", r.Text)
	}
	if r := Run(context.Background(), f, Invocation{Text: "oncall", Actor: tanaka, Phone: newPhone()}); r.Text != "no on-call schedules are configured" {
		t.Errorf("no schedules: %q", r.Text)
	}

	p := newPhone("infra", "db")
	r := Run(context.Background(), f, Invocation{Text: "oncall", Actor: tanaka, Phone: p, At: noon})
	want := "infra: tanaka until 2026-11-27 09:00 UTC\ndb: suzuki until 2026-11-27 09:00 UTC (override)"
	if r.Text != want || !r.Ephemeral {
		t.Errorf("oncall:\n%s\nwant\n%s", r.Text, want)
	}
	if len(p.asked) != 2 || !p.asked[0].Equal(noon) {
		t.Errorf("asked at %v, want the invocation's time", p.asked)
	}
	r = Run(context.Background(), f, Invocation{Text: "当番 db", Locale: "ja", Phone: p, At: noon})
	if r.Text != "db: suzuki（2026-11-27 18:00 JST まで）（交代）" {
		t.Errorf("ja one schedule: %q", r.Text)
	}
	r = Run(context.Background(), f, Invocation{Text: "oncall web", Phone: p, At: noon})
	if r.Text != `unknown schedule "web"; the schedules are: infra, db` || len(p.asked) != 3 {
		t.Errorf("unknown schedule: %q", r.Text)
	}

	// Overrides.
	p = newPhone("infra")
	r = Run(context.Background(), f, Invocation{Text: "oncall override <@U01SUZUKI|suzuki> 2h", Actor: tanaka, Phone: p, At: noon})
	wantO := bot.Override{Schedule: "infra", Contact: "suzuki", Start: noon, End: noon.Add(2 * time.Hour), CreatedBy: "tanaka"}
	if len(f.overrides) != 1 || f.overrides[0] != wantO {
		t.Errorf("overrides %+v, want [%+v]", f.overrides, wantO)
	}
	if r.Text != "suzuki is on call for infra until 2026-11-26 14:00 UTC (override by tanaka)" || r.Ephemeral {
		t.Errorf("override reply %+v", r)
	}
	p = newPhone("infra", "db")
	r = Run(context.Background(), f, Invocation{Text: "当番 交代 @suzuki 30分 db", Actor: tanaka, Locale: "ja", Phone: p, At: noon})
	if len(f.overrides) != 2 || f.overrides[1].Schedule != "db" || !f.overrides[1].End.Equal(noon.Add(30*time.Minute)) ||
		r.Text != "suzuki が db の当番を 2026-11-26 21:30 JST まで交代します（tanaka が設定）" {
		t.Errorf("ja override: %+v, reply %q", f.overrides, r.Text)
	}
	for _, tc := range []struct{ text, reply string }{
		{"oncall override @suzuki 2h", "name the schedule: infra, db\nusage: " + Usage(VerbOnCall)},
		{"oncall override @sato 2h infra", "@sato is not a contact: name someone from the contacts list"},
		{"oncall override @suzuki 2h web", `unknown schedule "web"; the schedules are: infra, db`},
	} {
		r := Run(context.Background(), f, Invocation{Text: tc.text, Actor: tanaka, Phone: p, At: noon})
		if r.Text != tc.reply || !r.Ephemeral || len(f.overrides) != 2 {
			t.Errorf("%q: reply %q, overrides %d; want %q and nothing stored", tc.text, r.Text, len(f.overrides), tc.reply)
		}
	}
	f = &fakeBot{fakeIncidents: fakeIncidents{err: bot.Invalid("end: must be after the start")}}
	r = Run(context.Background(), f, Invocation{Text: "oncall override @suzuki 2h infra", Actor: tanaka, Phone: p, At: noon})
	if r.Text != "end: must be after the start" || !r.Ephemeral {
		t.Errorf("refused by the bot: %+v", r)
	}
	f = &fakeBot{}
	p.err = errors.New("boom")
	var log bytes.Buffer
	restore := captureLog(&log)
	r = Run(context.Background(), f, Invocation{Text: "oncall", Phone: p, At: noon})
	restore()
	if r.Text != "something went wrong; try again" || !strings.Contains(log.String(), "boom") {
		t.Errorf("engine failed: %+v; log %s", r, log.String())
	}
}
