package chattext

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func TestEveryEventKindHasALabel(t *testing.T) {
	kinds := []bot.EventKind{bot.EventOpened, bot.EventAlert, bot.EventAcknowledged, bot.EventAssigned, bot.EventClassified,
		bot.EventNote, bot.EventResolved, bot.EventReopened, bot.EventEscalation, bot.EventCall, bot.EventStatus}
	for locale, w := range locales {
		for _, k := range kinds {
			if w.Kinds[k] == "" {
				t.Errorf("%s: no label for %q", locale, k)
			}
		}
	}
}

func TestForFallsBackToEnglish(t *testing.T) {
	for locale, want := range map[string]string{"ja": "確認", "ja-JP": "確認", "en": "Acknowledge", "fr": "Acknowledge", "": "Acknowledge"} {
		if got := For(locale).Ack; got != want {
			t.Errorf("For(%q).Ack = %q, want %q", locale, got, want)
		}
	}
}

// neutral escapes "@" the way a platform that pings on a bare "@here"
// must, to show that Hotline's own mention survives escaping.
var neutral = Markup{
	Escape: func(s string) string { return strings.ReplaceAll(s, "@", "@\u200b") },
	Bold:   func(s string) string { return "**" + s + "**" },
	Italic: func(s string) string { return "*" + s + "*" },
	Time:   func(t time.Time) string { return t.UTC().Format("15:04") },
	Here:   "@here",
}

func TestDigestLineMentionsOnlyHotlinesOwnHere(t *testing.T) {
	at := time.Date(2026, 11, 27, 1, 2, 0, 0, time.UTC)
	own := DigestLine(bot.Event{Kind: bot.EventEscalation, Text: "@here nobody accepted \uE000", At: at, Source: "system"}, For("en"), neutral)
	if want := "01:02 **escalation** @here nobody accepted "; own != want {
		t.Errorf("escalation line = %q, want %q", own, want)
	}
	alert := DigestLine(bot.Event{Kind: bot.EventAlert, Text: "@here @everyone disk full", At: at}, For("en"), neutral)
	if strings.Contains(alert, "@here") || strings.Contains(alert, "@everyone") {
		t.Errorf("alert line %q pings", alert)
	}
	pinging := DigestLine(bot.Event{Kind: bot.EventNote, Text: "@here please look", Actor: "suzuki", Source: "discord"}, For("en"), neutral)
	if strings.Contains(pinging, "@here") {
		t.Errorf("a responder's note pings: %q", pinging)
	}
	note := DigestLine(bot.Event{Kind: bot.EventNote, Text: "ask ops@here.example", Actor: "tanaka", Source: "discord"}, For("ja"), neutral)
	if want := "**メモ** ask ops@\u200bhere.example — *tanaka（discord 経由）*"; note != want {
		t.Errorf("note line = %q, want %q", note, want)
	}
}
