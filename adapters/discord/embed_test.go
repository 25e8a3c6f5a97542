package discord

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
)

func sampleIncident() bot.Incident {
	return bot.Incident{ID: 7, Number: 12, Service: "web", Title: "db01 disk 95%", Status: bot.StatusTriggered,
		Severity: bot.Sev2, CreatedAt: time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)}
}

func customIDs(components []discordgo.MessageComponent) []string {
	var out []string
	for _, c := range components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, b := range row.Components {
			out = append(out, b.(discordgo.Button).CustomID)
		}
	}
	return out
}

func TestIncidentMessageButtonsFollowStatus(t *testing.T) {
	tests := []struct {
		status bot.Status
		want   string
	}{
		{bot.StatusTriggered, "incident.ack:12 incident.own:12 incident.resolve:12 incident.escalate:12"},
		{bot.StatusAcknowledged, "incident.own:12 incident.resolve:12"},
		{bot.StatusResolved, ""},
	}
	for _, tt := range tests {
		inc := sampleIncident()
		inc.Status = tt.status
		embeds, components := IncidentMessage(inc, "Web shop", "en")
		if got := strings.Join(customIDs(components), " "); got != tt.want {
			t.Errorf("%s: buttons %q, want %q", tt.status, got, tt.want)
		}
		if len(embeds) != 1 {
			t.Fatalf("%s: %d embeds, want 1", tt.status, len(embeds))
		}
		wantColor := severityColors[bot.Sev2]
		if tt.status == bot.StatusResolved {
			wantColor = resolvedColor
		}
		if embeds[0].Color != wantColor {
			t.Errorf("%s: colour %#x, want %#x", tt.status, embeds[0].Color, wantColor)
		}
	}
}

func TestIncidentMessageShowsState(t *testing.T) {
	inc := sampleIncident()
	inc.Owner, inc.Priority = "tanaka", bot.Priority("P2")
	embeds, _ := IncidentMessage(inc, "Web shop", "ja")
	e := embeds[0]
	if e.Title != "INC-12 db01 disk 95%" {
		t.Errorf("title %q", e.Title)
	}
	fields := map[string]string{}
	for _, f := range e.Fields {
		fields[f.Name] = f.Value
	}
	want := map[string]string{"重大度": "sev2", "状態": "🔴 未確認", "担当者": "tanaka", "サービス": "Web shop", "優先度": "P2",
		"発生日時": "<t:1795741323:f>"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("field %s = %q, want %q (fields %v)", k, fields[k], v, fields)
		}
	}
	_, components := IncidentMessage(inc, "Web shop", "ja")
	row := components[0].(discordgo.ActionsRow)
	if label := row.Components[0].(discordgo.Button).Label; label != "確認" {
		t.Errorf("first button %q, want 確認", label)
	}
}

func TestIncidentMessageLongAndHostileTitle(t *testing.T) {
	inc := sampleIncident()
	inc.Title = strings.Repeat("障害 @everyone **bold** ", 40)
	embeds, _ := IncidentMessage(inc, "", "en")
	e := embeds[0]
	if n := utf8.RuneCountInString(e.Title); n > embedTitleLimit {
		t.Errorf("title has %d characters, limit %d", n, embedTitleLimit)
	}
	if e.Description == "" || strings.Contains(e.Description, "@everyone") || strings.Contains(e.Description, "**bold**") {
		t.Errorf("description should hold the whole title, escaped: %q", e.Description[:80])
	}
	for _, f := range e.Fields {
		if f.Name == "Service" && f.Value != "web" {
			t.Errorf("service without a name shows %q, want its id", f.Value)
		}
	}
}

func TestEscapeMarkdown(t *testing.T) {
	tests := map[string]string{
		"disk 95%":           "disk 95%",
		"**bold** _it_ ~x~":  `\*\*bold\*\* \_it\_ \~x\~`,
		"@everyone @here":    "@\u200beveryone @\u200bhere",
		"<@123> [a](http:b)": `\<@` + "\u200b" + `123\> \[a\](http:b)`,
		"`code` | > q":       "\\`code\\` \\| \\> q",
	}
	for in, want := range tests {
		if got := escapeMarkdown(in); got != want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseButton(t *testing.T) {
	for in, want := range map[string]struct {
		action string
		number int64
		ok     bool
	}{
		"incident.ack:12": {"incident.ack", 12, true},
		"incident.ack:0":  {"", 0, false},
		"incident.ack:x":  {"", 0, false},
		"incident.ack":    {"", 0, false},
		"":                {"", 0, false},
	} {
		a, n, ok := parseButton(in)
		if a != want.action || n != want.number || ok != want.ok {
			t.Errorf("parseButton(%q) = %q %d %v, want %+v", in, a, n, ok, want)
		}
	}
}
