package slack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/hotline-dev/hotline/bot"
)

func TestPostPostmortem(t *testing.T) {
	fake, err := slacktest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	c, err := NewChat(ChatConfig{BotToken: fake.Token(), APIURL: fake.APIURL(), Locale: "ja", ServiceNames: map[string]string{"web": "Web shop"}})
	if err != nil {
		t.Fatal(err)
	}
	var _ bot.KnowledgeBase = c
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	pm := bot.Postmortem{Number: 7, Service: "web", Title: "db01 ディスク使用率 95%", Severity: bot.Sev2, Owner: "tanaka",
		Cause: "ログ肥大 <rotate 漏れ>", Fix: "古いログを削除", TimeToAck: 90 * time.Second, TimeToResolve: 42 * time.Minute, AlertCount: 12,
		Timeline: []bot.Event{{Kind: bot.EventOpened, Actor: "prom", Text: "db01 ディスク使用率 95%", At: at},
			{Kind: bot.EventAcknowledged, Actor: "tanaka", Text: "acknowledged", At: at.Add(90 * time.Second)}}}
	if err := c.PostPostmortem(context.Background(), "C0KB", pm); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages("C0KB")
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the knowledge-base channel", len(msgs))
	}
	text := msgs[0].Text
	for _, want := range []string{"振り返り INC-7", "Web shop", "確認まで: 1m30s", "解決まで: 42m0s", "担当: tanaka",
		"原因:* ログ肥大 &lt;rotate 漏れ&gt;", "対応:* 古いログを削除", "今後の対応:* （未記入）", "acknowledged (tanaka)"} {
		if !strings.Contains(text, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, text)
		}
	}
	fake.FailNext("chat.postMessage", 1, 429, "ratelimited", "7")
	err = c.PostPostmortem(context.Background(), "C0KB", pm)
	var re *bot.RetryableError
	if !errors.As(err, &re) || re.RetryAfter != 7*time.Second {
		t.Errorf("429: %v, want retryable after 7s", err)
	}
}
