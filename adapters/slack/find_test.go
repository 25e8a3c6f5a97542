package slack

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
)

func TestFindIncident(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered) // INC-12
	th := posted(t, chat, inc)
	// Its thread has a digest that names it.
	acked := sampleIncident(bot.StatusAcknowledged)
	acked.LastSeq = 2
	note := []bot.Event{{Seq: 2, Kind: bot.EventNote, Actor: "tanaka", Source: "slack", Text: "INC-12 restarted", At: eventAt}}
	if err := chat.PostUpdate(testCtx(t), th, acked, note); err != nil {
		t.Fatal(err)
	}
	// Other incidents' roots: INC-120, whose reference starts with INC-12's,
	// and INC-1 without a title, whose header is the reference alone.
	longer := sampleIncident(bot.StatusTriggered)
	longer.ID, longer.Number = 70, 120
	posted(t, chat, longer)
	bare := sampleIncident(bot.StatusTriggered)
	bare.ID, bare.Number, bare.Title = 71, 1, ""
	bareTh := posted(t, chat, bare)
	// Members quote it in the channel and in its thread; its postmortem,
	// the bot's own message, names it as well.
	if _, err := fake.Say(testChannel, "U01TANAKA", "INC-12 db01 disk usage 95% again?", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Say(testChannel, "U01TANAKA", "INC-12 looking", th.MessageID); err != nil {
		t.Fatal(err)
	}
	if err := chat.PostPostmortem(testCtx(t), testChannel, bot.Postmortem{IncidentID: inc.ID, Number: inc.Number,
		Service: "web", Title: inc.Title, Severity: inc.Severity, Cause: "logs", Fix: "rotated"}); err != nil {
		t.Fatal(err)
	}

	got, found, err := chat.FindIncident(testCtx(t), testChannel, inc)
	if err != nil || !found {
		t.Fatalf("INC-12: %+v, %v, %v; want its root", got, found, err)
	}
	if got.MessageID != th.MessageID || got.Channel != testChannel || got.Platform != "slack" || got.IncidentID != inc.ID {
		t.Errorf("INC-12 found as %+v, want the root %s in %s", got, th.MessageID, testChannel)
	}
	if got, found, err := chat.FindIncident(testCtx(t), testChannel, bare); err != nil || !found || got.MessageID != bareTh.MessageID {
		t.Errorf("INC-1: %+v, %v, %v; want its root %s", got, found, err, bareTh.MessageID)
	}
	absent := sampleIncident(bot.StatusTriggered)
	absent.ID, absent.Number = 72, 3
	if got, found, err := chat.FindIncident(testCtx(t), testChannel, absent); err != nil || found {
		t.Errorf("INC-3, never posted: %+v, %v, %v; want not found", got, found, err)
	}
	calls := fake.Calls()
	last := calls[len(calls)-1]
	if last.Method != "conversations.history" || last.Form.Get("channel") != testChannel || last.Form.Get("limit") != "50" {
		t.Errorf("last call %s %v, want conversations.history of %s, limit 50", last.Method, last.Form, testChannel)
	}
	if n := len(fake.Messages(testChannel)); n != 7 {
		t.Errorf("%d messages in the channel, want the 7 the test made: looking posts nothing", n)
	}
}

func TestFindIncidentRefusals(t *testing.T) {
	fake := newFake(t)
	chat := newTestChat(t, fake, "en")
	inc := sampleIncident(bot.StatusTriggered)
	fake.FailNext("conversations.history", 1, http.StatusOK, "missing_scope", "")
	_, _, err := chat.FindIncident(testCtx(t), testChannel, inc)
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) || !strings.Contains(invalid.Reason, "missing_scope") {
		t.Errorf("without channels:history: %v, want an InvalidError naming missing_scope", err)
	}
	for _, channel := range []string{"", "#alerts"} {
		if _, found, err := chat.FindIncident(testCtx(t), channel, inc); !errors.As(err, &invalid) || found {
			t.Errorf("channel %q: %v, want an InvalidError", channel, err)
		}
	}
}
