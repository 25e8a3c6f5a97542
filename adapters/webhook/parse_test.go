package webhook

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
)

// want is what a parsed payload must yield. Links are "Text URL" strings
// compared by prefix, so a long generator URL may be cut short here.
type want struct {
	fingerprint  string // exact; for groups see TestFingerprintFollowsGroup
	fpPrefix     string
	status       bot.AlertStatus
	title        string
	severity     bot.Severity
	labels       map[string]string
	links        []string
	body         []string // substrings, in this order
	bodyExcludes []string
}

func TestParsePayloads(t *testing.T) {
	tests := []struct {
		file string
		kind string // default: the file name's first word
		want want
	}{
		{file: "generic_minimal.json", want: want{
			fingerprint: bot.FingerprintOf("API latency high"),
			status:      bot.AlertFiring,
			title:       "API latency high",
		}},
		{file: "generic_full.json", want: want{
			fingerprint: "checkout-latency",
			status:      bot.AlertFiring,
			title:       "Checkout API p99 latency above 2s",
			severity:    bot.Sev2,
			labels:      map[string]string{"service": "checkout", "region": "ap-northeast-1", "env": "production"},
			links: []string{
				" https://grafana.example.com/d/checkout/latency",
				"Runbook https://wiki.example.com/runbooks/checkout-latency",
			},
			body: []string{"p99 latency of POST /api/checkout", "\nUpstream payment gateway is slow."},
		}},
		{file: "generic_ja.json", want: want{
			fingerprint: bot.FingerprintOf("db01 ディスク使用率 95%"),
			status:      bot.AlertFiring,
			title:       "db01 ディスク使用率 95%",
			severity:    bot.Sev1,
			labels:      map[string]string{"host": "db01", "環境": "本番"},
			links:       []string{"手順書 https://wiki.example.co.jp/runbooks/disk"},
			body:        []string{"/var のディスク使用率が 95% を超えました。", "担当: インフラチーム"},
		}},
		{file: "generic_ja_resolved.json", want: want{
			fingerprint: bot.FingerprintOf("db01 ディスク使用率 95%"),
			status:      bot.AlertResolved, // "RESOLVED": case does not matter
			title:       "db01 ディスク使用率 95%",
			severity:    bot.Sev3, // from labels.severity "warning"
			labels:      map[string]string{"host": "db01", "severity": "warning"},
			body:        []string{"使用率が 60% に下がりました。"},
		}},
		{file: "generic_numbers.json", want: want{
			fingerprint: "4012345",
			status:      bot.AlertFiring,
			title:       "Zabbix: Zabbix agent on web03 is unreachable for 5 minutes",
			severity:    bot.Sev2,
		}},
		{file: "alertmanager_firing.json", want: want{
			fpPrefix: "am:",
			status:   bot.AlertFiring,
			title:    "Filesystem has less than 5% space left.",
			severity: bot.Sev1,
			labels:   map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "job": "node", "severity": "critical"},
			links: []string{
				"Runbook https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemalmostoutofspace",
				"NodeFilesystemAlmostOutOfSpace http://prometheus.example.internal:9090/graph?g0.expr=",
				"Alertmanager http://alertmanager.example.internal:9093",
			},
			body: []string{
				`FIRING NodeFilesystemAlmostOutOfSpace {device="/dev/nvme0n1p2", fstype="ext4", instance="db01.example.internal:9100", mountpoint="/var/lib/postgresql"}`,
				"\n  Filesystem on /dev/nvme0n1p2 at db01.example.internal:9100 has only 3.12% available space left.\n",
				`instance="db02.example.internal:9100"`,
				`FIRING NodeFilesystemAlmostOutOfSpace {device="/dev/sdb1", fstype="xfs", instance="backup01.example.internal:9100", mountpoint="/backup"}`,
			},
			// Common labels and the common summary (the title) are not repeated per alert.
			bodyExcludes: []string{`job="node"`, "Filesystem has less than 5% space left.", "more"},
		}},
		{file: "alertmanager_resolved.json", want: want{
			fpPrefix: "am:",
			status:   bot.AlertResolved,
			title:    "Filesystem has less than 5% space left.",
			severity: bot.Sev1,
			labels:   map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "job": "node", "severity": "critical"},
			links: []string{
				"Runbook https://runbooks.prometheus-operator.dev/",
				"NodeFilesystemAlmostOutOfSpace http://prometheus.example.internal:9090/graph?",
				"Alertmanager http://alertmanager.example.internal:9093",
			},
			body:         []string{"RESOLVED NodeFilesystemAlmostOutOfSpace", "RESOLVED", "RESOLVED"},
			bodyExcludes: []string{"FIRING"},
		}},
		{file: "alertmanager_ja.json", want: want{
			fpPrefix: "am:",
			status:   bot.AlertFiring,
			title:    "db01 ディスク使用率 95%",
			severity: bot.Sev3,
			labels: map[string]string{
				"alertname": "DiskUsageHigh", "env": "本番", "instance": "db01:9100",
				"job": "node", "mountpoint": "/var", "severity": "warning",
			},
			links: []string{
				"Runbook https://wiki.example.co.jp/runbooks/ディスク逼迫",
				"Dashboard https://grafana.example.co.jp/d/rYdddlPWk/node-exporter-full?var-instance=db01:9100",
				"DiskUsageHigh http://prometheus.example.co.jp:9090/graph?",
				"Alertmanager http://alertmanager.example.co.jp:9093",
			},
			// The common description heads the body once.
			body: []string{"/var のディスク使用率が 95% を超えました。古いログを削除するか、ボリュームを拡張してください。\n\nFIRING DiskUsageHigh"},
		}},
		{file: "alertmanager_mixed.json", want: want{
			fpPrefix: "am:",
			status:   bot.AlertFiring,
			title:    "shop", // no common summary or alertname: the group labels
			// The resolved critical alert no longer counts; the firing ones are warnings.
			severity: bot.Sev3,
			labels:   map[string]string{"namespace": "shop", "prometheus": "monitoring/k8s"},
			links: []string{
				"Runbook https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
				"Runbook https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready",
				"Runbook https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedeploymentreplicasmismatch",
				"KubePodCrashLooping http://prometheus-k8s-0:9090/graph?",
				"KubePodNotReady http://prometheus-k8s-0:9090/graph?",
				"KubeDeploymentReplicasMismatch http://prometheus-k8s-0:9090/graph?",
				"Alertmanager https://alertmanager.example.com",
			},
			body: []string{
				`FIRING KubePodCrashLooping {container="checkout", pod="checkout-7d9f8b6c5-x2k4q", reason="CrashLoopBackOff", severity="warning"}` + "\n  Pod is crash looping.\n",
				"FIRING KubePodNotReady",
				`RESOLVED KubeDeploymentReplicasMismatch {deployment="checkout", severity="critical"}`,
				"… and 2 more", // truncatedAlerts
			},
			bodyExcludes: []string{`namespace="shop"`},
		}},
		{file: "grafana_firing.json", want: want{
			fpPrefix: "grafana:",
			status:   bot.AlertFiring,
			title:    "High memory usage Infrastructure (critical platform)",
			severity: bot.Sev1,
			labels: map[string]string{
				"alertname": "High memory usage", "grafana_folder": "Infrastructure",
				"severity": "critical", "team": "platform",
			},
			links: []string{
				"Runbook https://wiki.example.com/runbooks/high-memory",
				"Dashboard https://grafana.example.com/d/rYdddlPWk?orgId=1",
				"Panel https://grafana.example.com/d/rYdddlPWk?orgId=1&viewPanel=78",
				"High memory usage https://grafana.example.com/alerting/grafana/ddl2h5hu6k2rkc/view?orgId=1",
				"Silence https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage&matcher=grafana_folder%3DInfrastructure&matcher=instance%3Dapp01",
				"Silence https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage&matcher=grafana_folder%3DInfrastructure&matcher=instance%3Dapp02",
				"Grafana https://grafana.example.com/",
			},
			body:         []string{"**Firing**\n\nValue: A=93.41278076171875, C=1", "instance = app02.example.internal:9100"},
			bodyExcludes: []string{"[FIRING"},
		}},
		{file: "grafana_resolved.json", want: want{
			fpPrefix: "grafana:",
			status:   bot.AlertResolved,
			title:    "High memory usage Infrastructure (critical platform)",
			severity: bot.Sev1,
			labels: map[string]string{
				"alertname": "High memory usage", "grafana_folder": "Infrastructure",
				"severity": "critical", "team": "platform",
			},
			links: []string{
				"Runbook ", "Dashboard ", "Panel ", "High memory usage ", "Silence ", "Silence ",
				"Grafana https://grafana.example.com/",
			},
			body: []string{"**Resolved**"},
		}},
		{file: "grafana_ja_firing.json", want: want{
			fpPrefix: "grafana:",
			status:   bot.AlertFiring,
			title:    "db01 ディスク使用率 95%",
			severity: bot.Sev2,
			labels:   map[string]string{"alertname": "ディスク使用率", "grafana_folder": "基幹システム", "host": "db01", "severity": "high"},
			links: []string{
				"ディスク使用率 https://grafana.example.co.jp/alerting/grafana/a1b2c3d4/view",
				"Silence https://grafana.example.co.jp/alerting/silence/new?",
				"Grafana https://grafana.example.co.jp/",
			},
			// No message: the body is built from the alerts, values included.
			body: []string{"/var/lib/mysql の使用率が 95% に達しました。", "FIRING ディスク使用率", "B=95.2 C=1"},
		}},
		{file: "grafana_ja_resolved.json", want: want{
			fpPrefix: "grafana:",
			status:   bot.AlertResolved,
			title:    "db01 ディスク使用率 95%",
			severity: bot.Sev2,
			labels:   map[string]string{"alertname": "ディスク使用率", "grafana_folder": "基幹システム", "host": "db01", "severity": "high"},
			links:    []string{"ディスク使用率 ", "Silence ", "Grafana "},
			body:     []string{"RESOLVED ディスク使用率", "B=62.0 C=0"},
		}},
		{file: "grafana_default_title.json", want: want{
			fpPrefix: "grafana:",
			status:   bot.AlertFiring,
			// "[FIRING:2]  (API error rate payments)" says less than the alert name.
			title:  "API error rate",
			labels: map[string]string{"alertname": "API error rate", "team": "payments"},
			links: []string{
				"API error rate https://grafana.example.com/alerting/grafana/xk21pq/view",
				"Silence https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=zone%3Dap-northeast-1a",
				"Silence https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=zone%3Dap-northeast-1c",
				"Grafana https://grafana.example.com/",
			},
			body: []string{
				`FIRING API error rate {zone="ap-northeast-1a"}` + "\n  5xx rate above 2% in ap-northeast-1a\n  [ var='A' labels={zone=ap-northeast-1a} value=0.031 ]",
				`FIRING API error rate {zone="ap-northeast-1c"}`,
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, tt.file)
			kind := cmp.Or(tt.kind, kindOfFile(tt.file))
			alerts := mustParse(t, kind, body)
			if len(alerts) != 1 {
				t.Fatalf("got %d alerts, want 1", len(alerts))
			}
			a := alerts[0]
			w := tt.want
			if a.Source != kind {
				t.Errorf("Source = %q, want %q", a.Source, kind)
			}
			if w.fingerprint != "" && a.Fingerprint != w.fingerprint {
				t.Errorf("Fingerprint = %q, want %q", a.Fingerprint, w.fingerprint)
			}
			if w.fpPrefix != "" && (!strings.HasPrefix(a.Fingerprint, w.fpPrefix) || len(a.Fingerprint) < len(w.fpPrefix)+16) {
				t.Errorf("Fingerprint = %q, want %q and a hash", a.Fingerprint, w.fpPrefix)
			}
			if a.Status != w.status {
				t.Errorf("Status = %q, want %q", a.Status, w.status)
			}
			if a.Title != w.title {
				t.Errorf("Title = %q, want %q", a.Title, w.title)
			}
			if a.Severity != w.severity {
				t.Errorf("Severity = %q, want %q", a.Severity, w.severity)
			}
			if !maps.Equal(a.Labels, w.labels) {
				t.Errorf("Labels = %v, want %v", a.Labels, w.labels)
			}
			checkLinks(t, a.Links, w.links)
			checkBody(t, a.Body, w.body, w.bodyExcludes)
			if !bytes.Equal(a.Raw, body) {
				t.Errorf("Raw is not the payload as received")
			}
			if a.Integration != "" || a.Service != "" || !a.ReceivedAt.IsZero() {
				t.Errorf("parser set handler fields: integration %q service %q received %v", a.Integration, a.Service, a.ReceivedAt)
			}
			a.Service = "svc"
			if err := a.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		kind string // default: the file name's first word
		want []string
	}{
		{"generic_bad_empty.json", "", []string{"empty body"}},
		{"generic_bad_malformed.json", "", []string{"invalid JSON at offset 50: invalid character '}'"}},
		{"generic_bad_trailing.json", "", []string{"invalid JSON at offset 18: unexpected data after the top-level value"}},
		{"generic_bad_array.json", "", []string{"body must be a JSON object, got an array"}},
		{"generic_bad_missing_title.json", "", []string{"title: is required"}},
		{"generic_bad_blank_title.json", "", []string{"title: must not be blank"}},
		{"generic_bad_types.json", "", []string{
			"title: must be a string, got a number",
			"description: must be a string, got an object",
			"status: must be firing or resolved, got a boolean",
			"labels: must be an object of strings, got an array",
			"links: must be an array, got a string",
		}},
		{"generic_bad_label_value.json", "", []string{
			"labels.port: must be a string, got a number",
			"labels.tls: must be a string, got a boolean",
		}},
		{"generic_bad_severity.json", "", []string{`severity: must be one of sev1, sev2, sev3, sev4`, `got "urgent"`}},
		{"generic_bad_status.json", "", []string{`status: must be firing or resolved, got "acknowledged"`}},
		{"generic_bad_links.json", "", []string{
			`links[0]: must be an absolute http or https URL, got "not a url"`,
			"links[1].url: is required",
			"links[2]: must be a URL string or an object {text, url}, got a number",
			`links[3].url: must be an absolute http or https URL, got "javascript:alert(1)"`,
		}},
		{"alertmanager_bad_version.json", "", []string{`version: got "3", want "4"`}},
		{"alertmanager_bad_missing.json", "", []string{"alerts: is required", "groupKey: is required"}},
		{"alertmanager_bad_truncated.json", "", []string{"invalid JSON at offset 900: unexpected end of input"}},
		{"alertmanager_bad_types.json", "", []string{
			`status: must be firing or resolved, got "pending"`,
			"commonLabels: must be an object of strings, got an array",
			"alerts[0].labels.port: must be a string, got a number",
			"alerts[1]: must be an object, got a string",
		}},
		{"grafana_bad_status.json", "", []string{
			`status: must be firing or resolved, got "alerting"`,
			"alerts: must be an array, got an object",
			"message: must be a string, got a number",
		}},
		// A payload sent to an integration of the wrong kind says which kind to use.
		{"grafana_firing.json", "alertmanager", []string{`version: got "1", want "4"`, "kind grafana"}},
		{"alertmanager_firing.json", "grafana", []string{`version: got "4", want "1"`, "kind alertmanager"}},
		{"generic_bad_malformed.json", "alertmanager", []string{"invalid JSON at offset 50"}},
		{"generic_bad_array.json", "grafana", []string{"body must be a JSON object"}},
	}
	for _, tt := range tests {
		kind := cmp.Or(tt.kind, kindOfFile(tt.file))
		t.Run(kind+"/"+tt.file, func(t *testing.T) {
			msg := mustFail(t, kind, readTestdata(t, tt.file))
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// An incident is found again by its fingerprint, so the resolved notification
// of a group must carry the fingerprint of its firing one, and other groups
// must not.
func TestFingerprintFollowsGroup(t *testing.T) {
	fp := func(file string) string {
		t.Helper()
		return mustParse(t, kindOfFile(file), readTestdata(t, file))[0].Fingerprint
	}
	same := [][2]string{
		{"alertmanager_firing.json", "alertmanager_resolved.json"},
		{"grafana_firing.json", "grafana_resolved.json"},
		{"grafana_ja_firing.json", "grafana_ja_resolved.json"}, // no groupKey: title and common labels
		{"generic_ja.json", "generic_ja_resolved.json"},
	}
	for _, p := range same {
		if a, b := fp(p[0]), fp(p[1]); a != b {
			t.Errorf("%s and %s: fingerprints %q and %q differ", p[0], p[1], a, b)
		}
	}
	all := map[string]string{}
	for _, f := range []string{
		"alertmanager_firing.json", "alertmanager_ja.json", "alertmanager_mixed.json",
		"grafana_firing.json", "grafana_ja_firing.json", "grafana_default_title.json",
		"generic_minimal.json", "generic_full.json", "generic_ja.json",
	} {
		got := fp(f)
		if other, dup := all[got]; dup {
			t.Errorf("%s and %s share fingerprint %q", f, other, got)
		}
		all[got] = f
	}
}

func TestParserFor(t *testing.T) {
	for _, kind := range []string{"generic", "alertmanager", "grafana"} {
		if p, ok := ParserFor(kind); !ok || p == nil {
			t.Errorf("ParserFor(%q) = _, %v", kind, ok)
		}
	}
	for _, kind := range []string{"", "email", "Generic", "zabbix"} {
		if _, ok := ParserFor(kind); ok {
			t.Errorf("ParserFor(%q) found a parser", kind)
		}
	}
	if got, want := Kinds(), []string{"alertmanager", "generic", "grafana"}; !slices.Equal(got, want) {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
}

// A storm: the body lists the first alerts and counts the rest, the links stay
// a handful.
func TestAlertmanagerLargeGroup(t *testing.T) {
	var alerts []map[string]any
	for i := range 60 {
		alerts = append(alerts, map[string]any{
			"status":       "firing",
			"labels":       map[string]string{"alertname": fmt.Sprintf("Rule%02d", i), "instance": fmt.Sprintf("web%02d:9100", i)},
			"annotations":  map[string]string{"runbook_url": fmt.Sprintf("https://wiki.example.com/runbooks/%d", i)},
			"generatorURL": fmt.Sprintf("http://prometheus:9090/graph?g0.expr=rule%d", i),
		})
	}
	body, err := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "r",
		"externalURL": "http://alertmanager:9093", "truncatedAlerts": 5, "alerts": alerts,
	})
	if err != nil {
		t.Fatal(err)
	}
	a := mustParse(t, "alertmanager", body)[0]
	if n := strings.Count(a.Body, "FIRING Rule"); n != maxListedAlerts {
		t.Errorf("body lists %d alerts, want %d", n, maxListedAlerts)
	}
	if !strings.HasSuffix(a.Body, "… and 15 more") { // 10 not listed + 5 truncated by Alertmanager
		t.Errorf("body ends %q", a.Body[max(len(a.Body)-40, 0):])
	}
	count := map[string]int{}
	for _, l := range a.Links {
		count[l.Text]++
	}
	if count["Runbook"] != maxPerKind || count["Alertmanager"] != 1 || len(a.Links) != maxPerKind+maxSourceLinks+1 {
		t.Errorf("links = %v", a.Links)
	}
	if a.Title != "Alertmanager alert (r)" {
		t.Errorf("Title = %q", a.Title)
	}
}

func TestGrafanaTitle(t *testing.T) {
	tests := []struct{ title, alertname, want string }{
		{"[FIRING:1] db01 ディスク使用率 95%", "", "db01 ディスク使用率 95%"},
		{"[RESOLVED] db01 ディスク使用率 95%", "", "db01 ディスク使用率 95%"},
		{"[FIRING:2, RESOLVED:1] CPU high (web)", "", "CPU high (web)"},
		{"[firing:3]\tLower case\n(prod)", "", "Lower case (prod)"},
		{"CPU high [FIRING:1]", "", "CPU high [FIRING:1]"},
		{"[PROD] CPU high", "", "[PROD] CPU high"},
		{"[FIRING:1]  (blue)", "CPU high", "CPU high"},
		{"[FIRING:1]  (blue)", "", "(blue)"},
		{"", "CPU high", "CPU high"},
		{"", "", "Grafana alert (hotline)"},
	}
	for _, tt := range tests {
		common := map[string]string{}
		if tt.alertname != "" {
			common["alertname"] = tt.alertname
		}
		body, _ := json.Marshal(map[string]any{
			"status": "firing", "receiver": "hotline", "title": tt.title, "commonLabels": common,
			"alerts": []any{map[string]any{"status": "firing", "labels": common}},
		})
		a := mustParse(t, "grafana", body)[0]
		if a.Title != tt.want {
			t.Errorf("title %q, alertname %q: Title = %q, want %q", tt.title, tt.alertname, a.Title, tt.want)
		}
	}
}

func TestGenericLimits(t *testing.T) {
	long := strings.Repeat("ディスク", 200) // 800 runes
	body, _ := json.Marshal(map[string]any{"title": "  " + long + "\n", "fingerprint": strings.Repeat("x", 500)})
	a := mustParse(t, "generic", body)[0]
	if n := len([]rune(a.Title)); n != maxTitleRunes || !strings.HasSuffix(a.Title, "…") {
		t.Errorf("title has %d runes, ends %q", n, a.Title[len(a.Title)-6:])
	}
	if a.Fingerprint != "h:"+shortHash(strings.Repeat("x", 500)) {
		t.Errorf("long fingerprint kept as %q", a.Fingerprint)
	}
	// Without a fingerprint the whole title, not the shortened one, is the key.
	a = mustParse(t, "generic", []byte(`{"title": "`+long+`"}`))[0]
	if a.Fingerprint != bot.FingerprintOf(long) {
		t.Errorf("Fingerprint = %q, want hash of the full title", a.Fingerprint)
	}
}

func TestParseKeepsOwnCopy(t *testing.T) {
	body := []byte(`{"title": "x"}` + " \r\n\t")
	a := mustParse(t, "generic", body)[0]
	body[2] = 'X'
	if string(a.Raw[:3]) != `{"t` {
		t.Errorf("Raw shares the caller's buffer: %q", a.Raw)
	}
}

func mustParse(t *testing.T, kind string, body []byte) []bot.Alert {
	t.Helper()
	p, ok := ParserFor(kind)
	if !ok {
		t.Fatalf("no parser for %q", kind)
	}
	alerts, err := p(body)
	if err != nil {
		t.Fatalf("parse %s: %v", kind, err)
	}
	return alerts
}

// mustFail parses body, which must be refused with a *bot.InvalidError, and
// returns the error's message.
func mustFail(t *testing.T, kind string, body []byte) string {
	t.Helper()
	p, _ := ParserFor(kind)
	alerts, err := p(body)
	if err == nil {
		t.Fatalf("parse %s succeeded with %+v, want an error", kind, alerts)
	}
	var invalid *bot.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("error %v (%T) is not a *bot.InvalidError", err, err)
	}
	return err.Error()
}

func checkLinks(t *testing.T, got []bot.Link, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d links, want %d: %v", len(got), len(want), got)
		return
	}
	for i, l := range got {
		if s := l.Text + " " + l.URL; !strings.HasPrefix(s, want[i]) {
			t.Errorf("links[%d] = %q, want %q...", i, s, want[i])
		}
	}
}

func checkBody(t *testing.T, body string, want, exclude []string) {
	t.Helper()
	rest := body
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("body lacks %q (in order) in:\n%s", w, body)
			return
		}
		rest = rest[i+len(w):]
	}
	for _, x := range exclude {
		if strings.Contains(body, x) {
			t.Errorf("body contains %q:\n%s", x, body)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kindOfFile is the integration kind a testdata file is written for: the
// first word of its name.
func kindOfFile(name string) string {
	kind, _, _ := strings.Cut(filepath.Base(name), "_")
	return kind
}
