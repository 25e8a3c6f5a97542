package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hotline-dev/hotline/bot"
)

// fakeBot is the Ingester port's fake: it records alerts and can fail.
type fakeBot struct {
	mu     sync.Mutex
	alerts []bot.Alert
	fail   error
}

func (f *fakeBot) Ingest(_ context.Context, a bot.Alert) (bot.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return bot.IngestResult{}, f.fail
	}
	f.alerts = append(f.alerts, a)
	return bot.IngestResult{Action: bot.IngestOpened, Incident: bot.Incident{ID: 7, Number: 7}}, nil
}

func newServer(t *testing.T) (*httptest.Server, *fakeBot, *Handler) {
	t.Helper()
	fb := &fakeBot{}
	h, err := NewHandler(Config{
		Integrations: []Integration{
			{ID: "generic", Kind: "generic", Service: "web", Token: "s3cret"},
			{ID: "prom", Kind: "alertmanager", Service: "web", Token: "prom-token"},
			{ID: "grafana", Kind: "grafana", Service: "api", Token: "graf-token"},
		},
		Bot:          fb,
		MaxBodyBytes: 64 << 10,
		Metrics:      prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, fb, h
}

func post(t *testing.T, url, auth, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return resp.StatusCode, out, resp.Header
}

func TestAcceptsEachKind(t *testing.T) {
	srv, fb, _ := newServer(t)
	for _, tc := range []struct{ id, auth, file, wantTitle string }{
		{"generic", "Bearer s3cret", "generic_full.json", ""},
		{"prom", "Bearer prom-token", "alertmanager_firing.json", ""},
		{"grafana", "Bearer graf-token", "grafana_firing.json", ""},
	} {
		body, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		status, out, _ := post(t, srv.URL+"/v1/integrations/"+tc.id+"/alerts", tc.auth, string(body))
		if status != http.StatusAccepted || out["incident"] != "INC-7" || out["incident_id"] != 7.0 || out["action"] != "opened" {
			t.Errorf("%s: %d %v", tc.id, status, out)
		}
	}
	if len(fb.alerts) != 3 {
		t.Fatalf("%d alerts reached the bot, want 3", len(fb.alerts))
	}
	a := fb.alerts[2]
	if a.Integration != "grafana" || a.Service != "api" || a.Source != "grafana" || a.ReceivedAt.IsZero() || len(a.Raw) == 0 {
		t.Errorf("alert not stamped with its integration: %+v", a)
	}
}

func TestTokenInQuery(t *testing.T) {
	srv, fb, _ := newServer(t)
	status, _, _ := post(t, srv.URL+"/v1/integrations/generic/alerts?token=s3cret", "", `{"title":"db01 down"}`)
	if status != http.StatusAccepted || len(fb.alerts) != 1 {
		t.Errorf("?token=: status %d, %d alerts", status, len(fb.alerts))
	}
}

// Every refusal answers with a clear error and reaches the bot with nothing.
func TestRefusals(t *testing.T) {
	srv, fb, h := newServer(t)
	big := `{"title":"x","description":"` + strings.Repeat("a", 70<<10) + `"}`
	for _, tc := range []struct {
		name, path, auth, body string
		status                 int
		errPart                string
	}{
		{"unknown integration", "/v1/integrations/nope/alerts", "Bearer s3cret", `{"title":"x"}`, 404, "unknown integration"},
		{"no token", "/v1/integrations/generic/alerts", "", `{"title":"x"}`, 401, "token"},
		{"wrong token", "/v1/integrations/generic/alerts", "Bearer s3cret2", `{"title":"x"}`, 401, "token"},
		{"other integration's token", "/v1/integrations/generic/alerts", "Bearer prom-token", `{"title":"x"}`, 401, "token"},
		{"basic auth", "/v1/integrations/generic/alerts", "Basic czNjcmV0", `{"title":"x"}`, 401, "token"},
		{"malformed JSON", "/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":`, 400, "JSON"},
		{"missing title", "/v1/integrations/generic/alerts", "Bearer s3cret", `{"description":"x"}`, 400, "title"},
		{"wrong type", "/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":"x","labels":[1]}`, 400, "labels"},
		{"bad severity", "/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":"x","severity":"sev9"}`, 400, "severity"},
		{"wrong alertmanager version", "/v1/integrations/prom/alerts", "Bearer prom-token", `{"version":"3","groupKey":"g","status":"firing","alerts":[]}`, 400, "version"},
		{"oversized", "/v1/integrations/generic/alerts", "Bearer s3cret", big, 413, "larger than"},
	} {
		status, out, hdr := post(t, srv.URL+tc.path, tc.auth, tc.body)
		msg, _ := out["error"].(string)
		if status != tc.status || !strings.Contains(msg, tc.errPart) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, status, msg, tc.status, tc.errPart)
		}
		if status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
	if len(fb.alerts) != 0 {
		t.Errorf("refused requests reached the bot: %+v", fb.alerts)
	}
	if n := testutil.ToFloat64(h.received.WithLabelValues("generic", "unauthorized")); n != 4 {
		t.Errorf("unauthorized counter %v, want 4", n)
	}
	// GET is not a way in.
	resp, err := http.Get(srv.URL + "/v1/integrations/generic/alerts?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
}

func TestStoreDownIs503(t *testing.T) {
	srv, fb, h := newServer(t)
	fb.fail = fmt.Errorf("begin: %w", bot.ErrUnavailable)
	status, out, hdr := post(t, srv.URL+"/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":"db01 down"}`)
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(out["error"].(string), "retry") {
		t.Errorf("store down: %d %v (Retry-After %q), want 503 asking to retry", status, out, hdr.Get("Retry-After"))
	}
	fb.fail = bot.Invalid("service %q is not configured", "web")
	if status, _, _ := post(t, srv.URL+"/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":"x"}`); status != 400 {
		t.Errorf("domain refusal: %d, want 400", status)
	}
	fb.fail = nil
	if status, _, _ := post(t, srv.URL+"/v1/integrations/generic/alerts", "Bearer s3cret", `{"title":"x"}`); status != 202 {
		t.Errorf("store back: %d, want 202", status)
	}
	if n := testutil.ToFloat64(h.received.WithLabelValues("generic", "accepted")); n != 1 {
		t.Errorf("accepted counter %v, want 1", n)
	}
}

func TestUnknownKindRefusedAtStart(t *testing.T) {
	_, err := NewHandler(Config{Integrations: []Integration{{ID: "x", Kind: "pagerduty", Service: "web", Token: "t"}}})
	if err == nil || !strings.Contains(err.Error(), "pagerduty") {
		t.Errorf("unknown kind: %v", err)
	}
}
