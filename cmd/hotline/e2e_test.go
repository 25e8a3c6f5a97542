package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
)

// stores runs a test once on the embedded SQLite file and once on a real
// PostgreSQL server.
func stores(t *testing.T, test func(t *testing.T, dir, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		test(t, dir, "sqlite:"+filepath.Join(dir, "hotline.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, t.TempDir(), pgtest.NewDatabase(t))
	})
}

func TestQuickStartWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, []string{"HOTLINE_CONFIG="})
	tokens := regexp.MustCompile(`Bearer ([0-9a-f]{32})`).FindAllStringSubmatch(p.stdout.String(), -1)
	if len(tokens) != 2 || !strings.Contains(p.stdout.String(), "/v1/integrations/default/alerts") {
		t.Fatalf("no ready curl line with tokens on stdout:\n%s", p.stdout)
	}
	if !strings.Contains(p.stdout.String(), "console chat") || !strings.Contains(p.stdout.String(), "dry run") {
		t.Errorf("start-up does not say it runs on the console and a dry-run phone:\n%s", p.stdout)
	}
	var acc map[string]any
	code := do(t, "POST", p.url("/v1/integrations/default/alerts"), tokens[0][1], `{"title": "db01 ディスク使用率 95%", "severity": "sev2"}`, &acc)
	if code != http.StatusAccepted || acc["incident"] != "INC-1" {
		t.Fatalf("test alert: %d %v", code, acc)
	}
	waitFor(t, "the incident on the console", func() bool {
		return strings.Contains(p.stdout.String(), "INC-1 db01 ディスク使用率 95%")
	})
	var inc map[string]any
	if code := do(t, "GET", p.url("/v1/incidents/INC-1"), tokens[1][1], "", &inc); code != 200 || inc["severity"] != "sev2" {
		t.Errorf("read API: %d %v", code, inc)
	}
	if _, err := os.Stat(filepath.Join(dir, "hotline.db")); err != nil {
		t.Errorf("no embedded database in the working folder: %v", err)
	}
	p.stop()
}

func TestIngestEndToEnd(t *testing.T) {
	stores(t, func(t *testing.T, dir, dbURL string) {
		cfg := writeConfig(t, dir, dbURL)
		p := startServe(t, dir, testEnv, "--config", cfg)
		alertsURL := func(id string) string { return p.url("/v1/integrations/" + id + "/alerts") }
		payload := func(name string) string {
			b, err := os.ReadFile("../../adapters/webhook/testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		var first, second, resolved map[string]any
		do(t, "POST", alertsURL("prom"), "prom-token", payload("alertmanager_firing.json"), &first)
		do(t, "POST", alertsURL("prom"), "prom-token", payload("alertmanager_firing.json"), &second)
		do(t, "POST", alertsURL("prom"), "prom-token", payload("alertmanager_resolved.json"), &resolved)
		if first["action"] != "opened" || second["action"] != "appended" || resolved["action"] != "resolved" ||
			first["incident_id"] != second["incident_id"] || first["incident_id"] != resolved["incident_id"] {
			t.Errorf("alertmanager group: %v / %v / %v", first, second, resolved)
		}
		var g map[string]any
		if code := do(t, "POST", alertsURL("grafana"), "grafana-token", payload("grafana_firing.json"), &g); code != 202 || g["action"] != "opened" {
			t.Errorf("grafana: %d %v", code, g)
		}
		if code := do(t, "POST", alertsURL("generic")+"?token=generic-token", "", `{"title":"db01 down","severity":"sev1"}`, &g); code != 202 {
			t.Errorf("generic: %d %v", code, g)
		}
		before := listIncidents(t, p, "?status=all")
		if len(before.Incidents) != 3 {
			t.Fatalf("%d incidents, want 3: %+v", len(before.Incidents), before)
		}
		if top := before.Incidents[0]; top.Title != "db01 down" || top.Severity != "sev1" || top.Status != "triggered" {
			t.Errorf("newest incident: %+v", top)
		}
		if open := listIncidents(t, p, "?status=open"); len(open.Incidents) != 2 {
			t.Errorf("%d open incidents, want 2", len(open.Incidents))
		}
		if two := listIncidents(t, p, "?limit=2"); len(two.Incidents) != 2 {
			t.Errorf("limit=2 gave %d", len(two.Incidents))
		}
		var detail struct {
			Status   string `json:"status"`
			Timeline []struct{ Kind, Actor, Source, Text, At string }
		}
		id := int64(first["incident_id"].(float64))
		if code := do(t, "GET", p.url(fmt.Sprintf("/v1/incidents/%d", id)), "api-token", "", &detail); code != 200 {
			t.Fatalf("incident detail: %d", code)
		}
		if detail.Status != "resolved" || len(detail.Timeline) != 2 || detail.Timeline[0].Kind != "opened" ||
			detail.Timeline[1].Kind != "resolved" || detail.Timeline[0].Actor != "prom" || detail.Timeline[0].Source != "alertmanager" || detail.Timeline[0].At == "" {
			t.Errorf("timeline: %+v", detail)
		}

		// Bad input of every kind: a clear error, and nothing changes.
		big := `{"title":"x","description":"` + strings.Repeat("あ", 30000) + `"}`
		for _, tc := range []struct {
			name, url, token, body string
			want                   int
		}{
			{"unsigned", alertsURL("generic"), "", `{"title":"x"}`, 401},
			{"wrong token", alertsURL("generic"), "prom-token", `{"title":"x"}`, 401},
			{"unknown integration", alertsURL("nagios"), "generic-token", `{"title":"x"}`, 404},
			{"malformed", alertsURL("generic"), "generic-token", `{"title": "x"`, 400},
			{"missing title", alertsURL("generic"), "generic-token", `{"severity":"sev1"}`, 400},
			{"wrong shape", alertsURL("prom"), "prom-token", `{"version":"4","groupKey":"x","status":"firing","alerts":"no"}`, 400},
			{"oversized", alertsURL("generic"), "generic-token", big, 413},
		} {
			var e map[string]string
			if code := do(t, "POST", tc.url, tc.token, tc.body, &e); code != tc.want || e["error"] == "" {
				t.Errorf("%s: %d %v, want %d with an error message", tc.name, code, e, tc.want)
			}
		}
		for _, tc := range []struct {
			path, token string
			want        int
		}{
			{"/v1/incidents", "", 401},
			{"/v1/incidents", "generic-token", 401},
			{"/v1/incidents?limit=10001", "api-token", 400},
			{"/v1/incidents?limit=x", "api-token", 400},
			{"/v1/incidents?status=closed", "api-token", 400},
			{"/v1/incidents/999999", "api-token", 404},
			{"/v1/incidents/INC-999999", "api-token", 404},
			{"/v1/incidents/abc", "api-token", 400},
		} {
			var e map[string]string
			if code := do(t, "GET", p.url(tc.path), tc.token, "", &e); code != tc.want || e["error"] == "" {
				t.Errorf("GET %s: %d %v, want %d with an error", tc.path, code, e, tc.want)
			}
		}
		after := listIncidents(t, p, "?status=all")
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("refused requests changed incidents:\nbefore %+v\nafter  %+v", before, after)
		}
		var health map[string]string
		if code := do(t, "GET", p.url("/healthz"), "", "", &health); code != 200 {
			t.Errorf("healthz: %d", code)
		}
		metrics := func() string {
			resp, err := http.Get(p.url("/metrics"))
			if err != nil {
				t.Fatal(err)
			}
			return readAll(t, resp)
		}
		for _, want := range []string{
			`hotline_alerts_received_total{integration="generic",outcome="unauthorized"} 2`,
			`hotline_alerts_received_total{integration="prom",outcome="accepted"} 3`,
			`hotline_incidents_opened_total{service="web"} 3`,
			`hotline_ingest_commit_seconds_count 5`,
		} {
			if m := metrics(); !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// Chat jobs run after the answer: wait for them rather than race them.
		waitFor(t, "chat jobs in /metrics", func() bool {
			return strings.Contains(metrics(), `hotline_job_duration_seconds_count{kind="chat.sync"}`)
		})
		// Self-monitoring: the database answered and nothing waits.
		waitFor(t, "an empty queue in /metrics", func() bool {
			m := metrics()
			return strings.Contains(m, "hotline_database_up 1") && strings.Contains(m, "hotline_job_queue_depth 0") &&
				strings.Contains(m, "hotline_job_oldest_due_seconds 0")
		})
		waitFor(t, "three threads on the console", func() bool {
			return strings.Count(p.stdout.String(), "┏ INC-") == 3
		})
		p.stop()
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pour sends alerts with unique titles from several senders until stop is
// closed and returns the titles answered 202.
func pour(t *testing.T, p *proc, stop <-chan struct{}, senders int) []string {
	return pourCounting(t, p, stop, senders, new(atomic.Int64))
}

// pourCounting is pour that counts the accepted alerts in count as it goes.
func pourCounting(t *testing.T, p *proc, stop <-chan struct{}, senders int, count *atomic.Int64) []string {
	var mu sync.Mutex
	var accepted []string
	var n atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("alert %d-%d", w, n.Add(1))
				req, _ := http.NewRequest("POST", p.url("/v1/integrations/generic/alerts"),
					strings.NewReader(fmt.Sprintf(`{"title":%q,"fingerprint":"fp-%d"}`, title, n.Load()%50)))
				req.Header.Set("Authorization", "Bearer generic-token")
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is gone: this alert was not accepted
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, title)
					mu.Unlock()
					count.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return accepted
}

// A kill -9 while alerts pour in loses none that was answered 202.
func TestKillNineLosesNoAcceptedAlert(t *testing.T) {
	stores(t, func(t *testing.T, dir, dbURL string) {
		cfg := writeConfig(t, dir, dbURL)
		p := startServe(t, dir, testEnv, "--config", cfg)
		stop := make(chan struct{})
		result := make(chan []string)
		var count atomic.Int64
		go func() { result <- pourCounting(t, p, stop, 16, &count) }()
		// Kill once plenty are in flight, however slow the machine is today.
		waitFor(t, "300 alerts accepted", func() bool { return count.Load() >= 300 })
		time.Sleep(100 * time.Millisecond)
		p.kill9()
		close(stop)
		accepted := <-result
		if len(accepted) < 100 {
			t.Fatalf("only %d alerts accepted before the kill: the test proves nothing", len(accepted))
		}
		q := startServe(t, dir, testEnv, "--config", cfg)
		stored := map[string]bool{}
		counted := 0
		for _, inc := range listIncidents(t, q, "?status=all&limit=10000").Incidents {
			counted += inc.AlertCount
		}
		// Every accepted alert's title is in the alerts table; read it directly.
		db := openDB(t, dbURL)
		rows, err := db.Query(`SELECT title FROM alerts`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var title string
			rows.Scan(&title)
			stored[title] = true
		}
		rows.Close()
		lost := 0
		for _, title := range accepted {
			if !stored[title] {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%d of %d alerts answered 202 are gone after kill -9", lost, len(accepted))
		}
		if counted < len(accepted) {
			t.Errorf("incidents count %d alerts, fewer than the %d accepted", counted, len(accepted))
		}
		t.Logf("%d alerts accepted before kill -9, %d stored, none lost", len(accepted), len(stored))
		q.stop()
	})
}

// SIGTERM lets requests under way finish: every 202 is stored and the
// process exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "hotline.db")
	cfg := writeConfig(t, dir, dbURL)
	p := startServe(t, dir, testEnv, "--config", cfg)
	stop := make(chan struct{})
	result := make(chan []string)
	go func() { result <- pour(t, p, stop, 8) }()
	time.Sleep(500 * time.Millisecond)
	p.stop()
	close(stop)
	accepted := <-result
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.stderr)
	}
	db := openDB(t, dbURL)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM alerts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < len(accepted) {
		t.Errorf("%d alerts stored, %d were accepted", n, len(accepted))
	}
}

func openDB(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	driver, dsn := "postgres", dbURL
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func runBinary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestConfigCheckCommand(t *testing.T) {
	env := []string{"PGPASSWORD=x", "HOTLINE_API_TOKEN=t", "SLACK_BOT_TOKEN=xoxb", "SLACK_APP_TOKEN=xapp", "SLACK_SIGNING_SECRET=s",
		"DISCORD_BOT_TOKEN=d", "TWILIO_ACCOUNT_SID=AC1", "TWILIO_AUTH_TOKEN=a", "IMAP_PASSWORD=i", "SMTP_PASSWORD=s",
		"PROM_TOKEN=p", "GRAFANA_TOKEN=g", "GENERIC_TOKEN=g"}
	out, code := runBinary(t, env, "config", "check", "testdata/config-example.yaml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("example config: exit %d\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("locale: fr\npolicies:\n  - id: p\n    steps:\n      - {call: [nobody], ring_timeout: 0s}\nservices:\n  - {id: web, policy: infrax}\n"), 0o600)
	out, code = runBinary(t, nil, "config", "check", bad)
	if code != 1 {
		t.Errorf("bad config: exit %d, want 1", code)
	}
	for _, want := range []string{"locale", "policies[0].steps[0].ring_timeout", "services[0].policy"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "hotline.db")
	cfg := writeConfig(t, dir, dbURL)
	p := startServe(t, dir, testEnv, "--config", cfg)
	for _, body := range []string{`{"title":"db01 down","fingerprint":"db01"}`, `{"title":"db01 down again","fingerprint":"db01"}`, `{"title":"web02 slow"}`} {
		if code := do(t, "POST", p.url("/v1/integrations/generic/alerts"), "generic-token", body, nil); code != 202 {
			t.Fatalf("alert: %d", code)
		}
	}
	p.stop()
	out, code := runBinary(t, testEnv, "audit", "verify", "--config", cfg)
	if code != 0 || !strings.Contains(out, "audit OK: 2 incidents") {
		t.Fatalf("untouched: exit %d\n%s", code, out)
	}
	db := openDB(t, dbURL)
	// Someone with database access gets around the append-only trigger.
	for _, q := range []string{
		`DROP TRIGGER timeline_events_no_update`,
		`UPDATE timeline_events SET text = 'nothing happened' WHERE incident_id = 1 AND seq = 2`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	out, code = runBinary(t, testEnv, "audit", "verify", "--config", cfg)
	if code != 1 || !strings.Contains(out, "INC-1: event 2") || strings.Contains(out, "INC-2:") {
		t.Errorf("tampered: exit %d, want 1 naming INC-1 event 2 only\n%s", code, out)
	}
}

func TestMigrateAndVersionCommands(t *testing.T) {
	stores(t, func(t *testing.T, dir, dbURL string) {
		cfg := writeConfig(t, dir, dbURL)
		for range 2 { // the second run finds nothing to do
			out, code := runBinary(t, testEnv, "migrate", "--config", cfg)
			if code != 0 || !strings.Contains(out, "is up to date") {
				t.Fatalf("migrate: exit %d\n%s", code, out)
			}
		}
		db := openDB(t, dbURL)
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM incidents`).Scan(&n); err != nil {
			t.Errorf("schema not there after migrate: %v", err)
		}
	})
	out, code := runBinary(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "hotline ") {
		t.Errorf("version: exit %d %q", code, out)
	}
	if _, code := runBinary(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// A database that goes away means 503 (the sender retries), /readyz says so,
// and Hotline recovers by itself when the database is back.
func TestDatabaseDownIs503(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	p := startServe(t, dir, testEnv, "--config", writeConfig(t, dir, dbURL))
	post := func() (int, map[string]any) {
		var out map[string]any
		code := do(t, "POST", p.url("/v1/integrations/generic/alerts"), "generic-token", `{"title":"db01 down"}`, &out)
		return code, out
	}
	if code, out := post(); code != 202 {
		t.Fatalf("before the outage: %d %v", code, out)
	}
	admin := openDB(t, pgtest.URL(t))
	name := dbURL[strings.LastIndex(dbURL, "/")+1 : strings.Index(dbURL, "?")]
	setConnections := func(allow bool) {
		t.Helper()
		if _, err := admin.Exec(fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %v", name, allow)); err != nil {
			t.Fatal(err)
		}
		if !allow {
			if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	setConnections(false)
	for range 5 {
		if code, out := post(); code != 503 || !strings.Contains(fmt.Sprint(out["error"]), "retry") {
			t.Errorf("database down: %d %v, want 503 asking to retry", code, out)
		}
	}
	var ready map[string]string
	if code := do(t, "GET", p.url("/readyz"), "", "", &ready); code != 503 {
		t.Errorf("readyz with the database down: %d", code)
	}
	if m := metricsOf(t, p); !strings.Contains(m, "hotline_database_up 0") {
		t.Errorf("/metrics with the database down lacks hotline_database_up 0")
	}
	setConnections(true)
	waitFor(t, "ingest to recover", func() bool { c, _ := post(); return c == 202 })
	if code := do(t, "GET", p.url("/readyz"), "", "", &ready); code != 200 {
		t.Errorf("readyz after recovery: %d", code)
	}
	db := openDB(t, dbURL)
	var n int
	if err := db.QueryRow(`SELECT alert_count FROM incidents`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var stored int
	db.QueryRow(`SELECT COUNT(*) FROM alerts`).Scan(&stored)
	if n != stored {
		t.Errorf("incident counts %d alerts, %d stored: a refused request left something behind", n, stored)
	}
}

// Two replicas on one PostgreSQL take alerts of the same fingerprints at the
// same time: each fingerprint still has one incident, and every accepted
// alert is counted on it exactly once.
func TestTwoReplicasShareIncidents(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, dbURL)
	a := startServe(t, dir, testEnv, "--config", cfg)
	b := startServe(t, dir, testEnv, "--config", cfg)
	stop := make(chan struct{})
	results := make(chan []string, 2)
	for _, p := range []*proc{a, b} {
		go func() { results <- pour(t, p, stop, 8) }()
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	accepted := len(<-results) + len(<-results)
	db := openDB(t, dbURL)
	var incidents, open, counted, stored int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE status <> 'resolved'), COALESCE(SUM(alert_count), 0) FROM incidents`).Scan(&incidents, &open, &counted); err != nil {
		t.Fatal(err)
	}
	db.QueryRow(`SELECT COUNT(*) FROM alerts`).Scan(&stored)
	if incidents != 50 || open != 50 {
		t.Errorf("%d incidents (%d open) for 50 fingerprints sent to two replicas, want 50", incidents, open)
	}
	// A request that timed out after its commit is stored but not accepted;
	// nothing accepted may be missing, nothing stored may be counted twice.
	if counted != stored || stored < accepted {
		t.Errorf("accepted %d, stored %d, counted on incidents %d", accepted, stored, counted)
	}
	t.Logf("two replicas: %d alerts accepted into %d incidents", accepted, incidents)
}
