package console

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func TestChatPrintsThread(t *testing.T) {
	var out bytes.Buffer
	c := NewChat(&out)
	inc := bot.Incident{ID: 3, Number: 3, Title: "db01 ディスク使用率 95%", Service: "web", Severity: bot.Sev2, Status: bot.StatusTriggered}
	th, err := c.PostIncident(context.Background(), "terminal", inc)
	if err != nil || th.MessageID != "3" {
		t.Fatalf("PostIncident: %+v, %v", th, err)
	}
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	var events []bot.Event
	for range 8 {
		events = append(events, bot.Event{Kind: bot.EventAlert, Text: "firing: db01", At: at})
	}
	events = append(events, bot.Event{Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "phone", Text: "acknowledged", At: at})
	inc.Status, inc.Owner, inc.AlertCount = bot.StatusAcknowledged, "tanaka", 8
	th.PostedAlerts = 1
	if err := c.PostUpdate(context.Background(), th, inc, events); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"INC-3 db01 ディスク使用率 95%", "[sev2] triggered", "alert: … and 3 more alerts",
		"INC-3 acknowledged (by tanaka via phone)", "INC-3 alert: firing: db01\n", "INC-3 +7 alerts since the last update", "INC-3 is acknowledged, severity sev2, owner tanaka, 8 alerts"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "firing: db01"); n != 5 {
		t.Errorf("%d alert lines, want 5 before the digest line", n)
	}
}

func TestPhoneMasksNumber(t *testing.T) {
	var out bytes.Buffer
	p := NewPhone(&out)
	id, err := p.PlaceCall(context.Background(), bot.Call{To: "+819011112222", Incident: bot.Incident{Number: 1, Title: "down"}})
	if err != nil || id == "" {
		t.Fatalf("PlaceCall: %q, %v", id, err)
	}
	if strings.Contains(out.String(), "9011112222") || !strings.Contains(out.String(), "+81********22") {
		t.Errorf("number not masked: %s", out.String())
	}
}
