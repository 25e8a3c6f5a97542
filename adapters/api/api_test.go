package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-dev/hotline/bot"
)

// fakeStore is the Reader port's fake.
type fakeStore struct {
	incidents []bot.Incident
	events    map[int64][]bot.Event
	down      bool
	lastLimit int
}

func (f *fakeStore) Ping(context.Context) error {
	if f.down {
		return fmt.Errorf("dial: %w", bot.ErrUnavailable)
	}
	return nil
}

func (f *fakeStore) Incident(_ context.Context, id int64) (bot.Incident, error) {
	for _, inc := range f.incidents {
		if inc.ID == id {
			return inc, nil
		}
	}
	return bot.Incident{}, bot.ErrNotFound
}

func (f *fakeStore) IncidentByNumber(_ context.Context, n int64) (bot.Incident, error) {
	for _, inc := range f.incidents {
		if inc.Number == n {
			return inc, nil
		}
	}
	return bot.Incident{}, bot.ErrNotFound
}

func (f *fakeStore) Incidents(_ context.Context, filter bot.IncidentFilter) ([]bot.Incident, error) {
	if f.down {
		return nil, bot.ErrUnavailable
	}
	f.lastLimit = filter.Limit
	var out []bot.Incident
	for i := len(f.incidents) - 1; i >= 0; i-- {
		inc := f.incidents[i]
		if filter.Status == "open" && !inc.Open() || filter.Status == "resolved" && inc.Open() {
			continue
		}
		out = append(out, inc)
	}
	return out, nil
}

func (f *fakeStore) Timeline(_ context.Context, id int64, after int) ([]bot.Event, error) {
	return f.events[id], nil
}

func (f *fakeStore) EachIncident(context.Context, func(bot.Incident) error) error { return nil }

func newAPI(t *testing.T) (*httptest.Server, *fakeStore) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	resolved := at.Add(time.Hour)
	st := &fakeStore{
		incidents: []bot.Incident{
			{ID: 1, Number: 1, Service: "web", Title: "db01 down", Status: bot.StatusResolved, Severity: bot.Sev2, AlertCount: 3, CreatedAt: at, ResolvedAt: &resolved},
			{ID: 2, Number: 2, Service: "web", Title: "api slow", Status: bot.StatusTriggered, Severity: bot.Sev3, AlertCount: 1, CreatedAt: at},
		},
		events: map[int64][]bot.Event{1: {
			{Kind: bot.EventOpened, Actor: "prom", Source: "alertmanager", Text: "db01 down", At: at},
			{Kind: bot.EventAcknowledged, Actor: "tanaka", Source: "phone", Text: "acknowledged", At: at.Add(time.Minute)},
		}},
	}
	mux := http.NewServeMux()
	New(Config{Store: st, Token: "api-token", Gatherer: prometheus.NewRegistry()}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, st
}

func get(t *testing.T, url, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: not JSON: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestIncidentDetailWireContract(t *testing.T) {
	srv, _ := newAPI(t)
	var raw map[string]any
	if code := get(t, srv.URL+"/v1/incidents/INC-1", "api-token", &raw); code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, key := range []string{"id", "number", "service", "title", "status", "severity", "alert_count", "created_at", "acknowledged_at", "resolved_at", "timeline"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("incident lacks %q: %v", key, raw)
		}
	}
	tl := raw["timeline"].([]any)
	second := tl[1].(map[string]any)
	if len(tl) != 2 || second["kind"] != "acknowledged" || second["actor"] != "tanaka" || second["source"] != "phone" ||
		second["text"] != "acknowledged" || second["at"] != "2026-11-26T09:01:00Z" || len(second) != 5 {
		t.Errorf("timeline entry %v: want exactly kind, actor, source, text, at", second)
	}
	var byID map[string]any
	if code := get(t, srv.URL+"/v1/incidents/1", "api-token", &byID); code != 200 || byID["title"] != "db01 down" {
		t.Errorf("by id: %d %v", code, byID)
	}
}

func TestListing(t *testing.T) {
	srv, st := newAPI(t)
	var out struct{ Incidents []Incident }
	get(t, srv.URL+"/v1/incidents", "api-token", &out)
	if len(out.Incidents) != 2 || out.Incidents[0].Number != 2 || st.lastLimit != 100 {
		t.Errorf("default listing: %+v (limit %d), want newest first, limit 100", out.Incidents, st.lastLimit)
	}
	get(t, srv.URL+"/v1/incidents?status=resolved&limit=10000", "api-token", &out)
	if len(out.Incidents) != 1 || out.Incidents[0].Ref != "INC-1" || st.lastLimit != 10000 {
		t.Errorf("resolved: %+v (limit %d)", out.Incidents, st.lastLimit)
	}
}

func TestRefusals(t *testing.T) {
	srv, st := newAPI(t)
	for _, tc := range []struct {
		path, token string
		want        int
		msg         string
	}{
		{"/v1/incidents", "", 401, "API token"},
		{"/v1/incidents", "api-token2", 401, "API token"},
		{"/v1/incidents/1", "", 401, "API token"},
		{"/v1/incidents?status=closed", "api-token", 400, "status"},
		{"/v1/incidents?limit=0", "api-token", 400, "limit"},
		{"/v1/incidents?limit=10001", "api-token", 400, "limit"},
		{"/v1/incidents/x1", "api-token", 400, "not an incident"},
		{"/v1/incidents/INC-x", "api-token", 400, "INC-"},
		{"/v1/incidents/99", "api-token", 404, "no such incident"},
	} {
		var e map[string]string
		if code := get(t, srv.URL+tc.path, tc.token, &e); code != tc.want || !strings.Contains(e["error"], tc.msg) {
			t.Errorf("GET %s: %d %q, want %d with %q", tc.path, code, e["error"], tc.want, tc.msg)
		}
	}
	st.down = true
	var e map[string]string
	if code := get(t, srv.URL+"/v1/incidents", "api-token", &e); code != 503 {
		t.Errorf("store down: %d %v, want 503", code, e)
	}
	if code := get(t, srv.URL+"/readyz", "", &e); code != 503 {
		t.Errorf("readyz with the store down: %d, want 503", code)
	}
	st.down = false
	if code := get(t, srv.URL+"/readyz", "", &e); code != 200 {
		t.Errorf("readyz: %d", code)
	}
}

// With no token configured the incident API is closed, not open.
func TestNoTokenMeansClosed(t *testing.T) {
	mux := http.NewServeMux()
	New(Config{Store: &fakeStore{}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if code := get(t, srv.URL+"/v1/incidents", "", nil); code != 401 {
		t.Errorf("no token configured, no token sent: %d, want 401", code)
	}
}
