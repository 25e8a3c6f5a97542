package console

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
)

// fakeIncidents is the commands.Incidents port's fake.
type fakeIncidents struct {
	acked []int64
	by    []bot.Actor
}

func (f *fakeIncidents) Acknowledge(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	f.acked = append(f.acked, n)
	f.by = append(f.by, by)
	return bot.Incident{ID: n, Number: n, Status: bot.StatusAcknowledged}, nil
}
func (f *fakeIncidents) Assign(context.Context, int64, string, bot.Actor) (bot.Incident, error) {
	return bot.Incident{}, bot.ErrNotFound
}
func (f *fakeIncidents) Classify(context.Context, int64, bot.Classification, bot.Actor) (bot.Incident, error) {
	return bot.Incident{}, bot.ErrNotFound
}
func (f *fakeIncidents) Note(context.Context, int64, string, bot.Actor) (bot.Incident, error) {
	return bot.Incident{}, bot.ErrNotFound
}
func (f *fakeIncidents) Resolve(context.Context, int64, string, bot.Actor) (bot.Incident, error) {
	return bot.Incident{}, bot.ErrNotFound
}

func TestReadCommands(t *testing.T) {
	var out bytes.Buffer
	c := NewChat(&out)
	inc := &fakeIncidents{}
	in := strings.NewReader("/incident ack INC-3\n\nack\nfrobnicate INC-3\n")
	c.ReadCommands(context.Background(), in, inc, commands.Invocation{Actor: bot.Actor{ID: "ops", Source: "console"}, Locale: "en"})
	if len(inc.acked) != 1 || inc.acked[0] != 3 || inc.by[0] != (bot.Actor{ID: "ops", Source: "console"}) {
		t.Errorf("acks %v by %v, want INC-3 by ops via console", inc.acked, inc.by)
	}
	got := out.String()
	for _, want := range []string{"→ INC-3", "name the incident", `unknown command "frobnicate"`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
