package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "s3cret"

// fakeHotline speaks the server's ingest contract on loopback. The first
// alert of every fingerprint is answered 503, as if the database had blinked,
// so a run has rejections whose number is known in advance; each later one
// is 202 with the incident its fingerprint opened. Every accepted alert is
// observed at 3ms in a hotline_ingest_commit_seconds histogram.
type fakeHotline struct {
	srv      *httptest.Server
	newConns atomic.Int64

	mu          sync.Mutex
	seen        map[string]bool  // fingerprints that got their 503
	incidents   map[string]int64 // fingerprint → incident id
	bad         []string         // requests that broke the contract
	committed   int              // observations in the 0.005 bucket
	outcomes    map[string]int
	integration string
}

func newFakeHotline(t *testing.T) *fakeHotline {
	t.Helper()
	f := &fakeHotline{
		seen:      map[string]bool{},
		incidents: map[string]int64{},
		outcomes:  map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/integrations/{id}/alerts", f.alerts)
	mux.HandleFunc("GET /metrics", f.metrics)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.newConns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHotline) alerts(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.integration = r.PathValue("id")
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		f.outcomes["unauthorized"]++
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var a genericAlert
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Title == "" || a.Fingerprint == "" ||
		a.Status != "firing" || !strings.HasPrefix(a.Severity, "sev") || a.Labels["source"] != "hotline-bench" {
		f.bad = append(f.bad, fmt.Sprintf("%+v (%v)", a, err))
		f.outcomes["invalid"]++
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	if !f.seen[a.Fingerprint] {
		f.seen[a.Fingerprint] = true
		f.outcomes["unavailable"]++
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	id, ok := f.incidents[a.Fingerprint]
	action := "appended"
	if !ok {
		id = int64(len(f.incidents) + 1)
		f.incidents[a.Fingerprint] = id
		action = "opened"
	}
	f.committed++
	f.outcomes["accepted"]++
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(alertAck{IncidentID: id, Incident: fmt.Sprintf("INC-%d", id), Action: action})
}

func (f *fakeHotline) metrics(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP %s Time from request received to the commit that enqueued its jobs.\n", commitHistogram)
	fmt.Fprintf(w, "# TYPE %s histogram\n", commitHistogram)
	for _, le := range []string{"0.001", "0.005", "0.01", "0.05", "+Inf"} {
		n := f.committed
		if le == "0.001" {
			n = 0
		}
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", commitHistogram, le, n)
	}
	fmt.Fprintf(w, "%s_sum %g\n%s_count %d\n", commitHistogram, 0.003*float64(f.committed), commitHistogram, f.committed)
	fmt.Fprintf(w, "# TYPE %s counter\n", receivedCounter)
	for outcome, n := range f.outcomes {
		fmt.Fprintf(w, "%s{integration=%q,outcome=%q} %d\n", receivedCounter, f.integration, outcome, n)
	}
	// Another integration's traffic must not leak into the figures.
	fmt.Fprintf(w, "%s{integration=\"other\",outcome=\"accepted\"} 12345\n", receivedCounter)
}

func (f *fakeHotline) badRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bad...)
}

func (f *fakeHotline) spec(total, fingerprints, concurrency int) loadSpec {
	return loadSpec{
		alertsURL:    f.srv.URL + "/v1/integrations/generic/alerts",
		token:        testToken,
		runID:        "test",
		severity:     "sev4",
		total:        total,
		fingerprints: fingerprints,
		concurrency:  concurrency,
	}
}

func TestSendAlertsCounts(t *testing.T) {
	const n, k, c = 1000, 10, 16
	f := newFakeHotline(t)

	res, err := sendAlerts(context.Background(), newClient(c), f.spec(n, k, c))
	if err != nil {
		t.Fatal(err)
	}

	if bad := f.badRequests(); len(bad) > 0 {
		t.Fatalf("server got %d alerts breaking the contract, first: %s", len(bad), bad[0])
	}
	if res.Sent != n || res.Accepted != n-k || res.Errors != 0 || res.Malformed != 0 || res.Stopped {
		t.Errorf("sent %d accepted %d errors %d malformed %d stopped %v; want sent %d accepted %d, no errors",
			res.Sent, res.Accepted, res.Errors, res.Malformed, res.Stopped, n, n-k)
	}
	if len(res.Rejected) != 1 || res.Rejected[http.StatusServiceUnavailable] != k {
		t.Errorf("rejected = %v, want {503: %d}", res.Rejected, k)
	}
	if len(res.Incidents) != k {
		t.Errorf("distinct incidents = %d, want %d", len(res.Incidents), k)
	}
	if res.Actions["opened"] != k || res.Actions["appended"] != n-2*k {
		t.Errorf("actions = %v, want opened %d appended %d", res.Actions, k, n-2*k)
	}
	if len(res.Latencies) != res.Accepted {
		t.Errorf("recorded %d latencies for %d accepted alerts", len(res.Latencies), res.Accepted)
	}
	for i := 1; i < len(res.Latencies); i++ {
		if res.Latencies[i] < res.Latencies[i-1] {
			t.Fatalf("latencies not sorted at %d", i)
		}
	}
	if res.Wall <= 0 {
		t.Errorf("wall = %v", res.Wall)
	}
	// Keep-alive with an idle slot per sender: connections are reused, not
	// dialled per request. The transport may race a spare dial or two.
	if conns := f.newConns.Load(); conns > 2*c {
		t.Errorf("%d connections for %d requests from %d senders: keep-alive not working", conns, n, c)
	}
}

func TestSendAlertsStopsAtDeadline(t *testing.T) {
	f := newFakeHotline(t)
	spec := f.spec(1000, 10, 4)
	spec.deadline = time.Now().Add(-time.Second)

	res, err := sendAlerts(context.Background(), newClient(4), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 || !res.Stopped {
		t.Errorf("sent %d stopped %v after the deadline, want 0 and stopped", res.Sent, res.Stopped)
	}
}

func TestSendAlertsCountsRejections(t *testing.T) {
	f := newFakeHotline(t)
	spec := f.spec(50, 5, 4)
	spec.token = "wrong"

	res, err := sendAlerts(context.Background(), newClient(4), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Rejected[http.StatusUnauthorized] != 50 || len(res.Incidents) != 0 {
		t.Errorf("accepted %d rejected %v incidents %d, want 0, {401: 50}, 0", res.Accepted, res.Rejected, len(res.Incidents))
	}
}

func TestScrapeDelta(t *testing.T) {
	f := newFakeHotline(t)
	client := newClient(2)
	ctx := context.Background()

	before, err := scrapeServer(ctx, client, f.srv.URL+"/metrics", "generic")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sendAlerts(ctx, client, f.spec(40, 4, 2)); err != nil {
		t.Fatal(err)
	}
	after, err := scrapeServer(ctx, client, f.srv.URL+"/metrics", "generic")
	if err != nil {
		t.Fatal(err)
	}

	delta, err := commitDelta(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if got := observations(delta); got != 36 {
		t.Errorf("observations = %v, want 36", got)
	}
	// All in (1ms, 5ms]: the median interpolates to 3ms.
	if got := histogramQuantile(0.5, delta); got < 0.003-1e-12 || got > 0.003+1e-12 {
		t.Errorf("p50 = %v, want 0.003", got)
	}
	if got, want := after.received["accepted"]-before.received["accepted"], 36.0; got != want {
		t.Errorf("server accepted delta = %v, want %v", got, want)
	}
	if _, err := commitDelta(after, before); err == nil {
		t.Error("commitDelta across a restart: want an error")
	}
}
