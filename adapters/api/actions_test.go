package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-dev/hotline/bot"
)

// fakeActions is the Actions port's fake: it records what the API asked.
type fakeActions struct {
	calls []string
}

func (f *fakeActions) Acknowledge(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	f.calls = append(f.calls, fmt.Sprintf("ack INC-%d by %s/%s", n, by.ID, by.Source))
	if n == 1 {
		return bot.Incident{}, fmt.Errorf("INC-1 is already resolved: %w", bot.ErrConflict)
	}
	return bot.Incident{ID: n, Number: n, Status: bot.StatusAcknowledged, Owner: by.ID}, nil
}

func (f *fakeActions) Resolve(_ context.Context, n int64, summary string, by bot.Actor) (bot.Incident, error) {
	f.calls = append(f.calls, fmt.Sprintf("resolve INC-%d %q by %s/%s", n, summary, by.ID, by.Source))
	return bot.Incident{ID: n, Number: n, Status: bot.StatusResolved}, nil
}

func (f *fakeActions) CallNow(_ context.Context, n int64, by bot.Actor) (bot.Incident, error) {
	f.calls = append(f.calls, fmt.Sprintf("escalate INC-%d by %s/%s", n, by.ID, by.Source))
	return bot.Incident{ID: n, Number: n, Status: bot.StatusTriggered}, nil
}

func TestActions(t *testing.T) {
	_, st := newAPI(t)
	acts := &fakeActions{}
	mux := http.NewServeMux()
	New(Config{Store: st, Actions: acts, Token: "api-token", Gatherer: prometheus.NewRegistry()}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, token, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		path, token, body string
		want              int
	}{
		{"/v1/incidents/INC-2/ack", "api-token", `{"by": "tanaka"}`, 200},
		{"/v1/incidents/2/ack", "api-token", "", 200},
		{"/v1/incidents/INC-1/ack", "api-token", "", 409},
		{"/v1/incidents/INC-2/resolve", "api-token", `{"summary": "disk cleaned"}`, 200},
		{"/v1/incidents/INC-2/escalate", "api-token", "", 200},
		{"/v1/incidents/INC-2/ack", "", "", 401},
		{"/v1/incidents/INC-2/ack", "wrong", "", 401},
		{"/v1/incidents/INC-9/ack", "api-token", "", 404},
		{"/v1/incidents/INC-x/ack", "api-token", "", 400},
		{"/v1/incidents/INC-2/reopen", "api-token", "", 404},
		{"/v1/incidents/INC-2/ack", "api-token", `{"by": 7}`, 400},
		{"/v1/incidents/INC-2/ack", "api-token", `{"who": "x"}`, 400},
		{"/v1/incidents/INC-2/ack", "api-token", `{"by": "` + strings.Repeat("x", 70<<10) + `"}`, 413},
	} {
		if got := post(tt.path, tt.token, tt.body); got != tt.want {
			t.Errorf("POST %s %.20q: %d, want %d", tt.path, tt.body, got, tt.want)
		}
	}
	want := []string{
		"ack INC-2 by tanaka/api", "ack INC-2 by api/api", "ack INC-1 by api/api",
		`resolve INC-2 "disk cleaned" by api/api`, "escalate INC-2 by api/api",
	}
	if strings.Join(acts.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(acts.calls, "\n"), strings.Join(want, "\n"))
	}
}
