package charts

import (
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// registeredMetrics lists the metric names cmd/hotline registers, read from
// its source: a rule on any other hotline_ metric alerts on nothing.
func registeredMetrics(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../cmd/hotline/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricLiteral.FindAllSubmatch(src, -1) {
			names = append(names, string(m[1]))
		}
	}
	if len(names) == 0 {
		t.Fatal("no hotline_ metric found in cmd/hotline")
	}
	return names
}

var metricLiteral = regexp.MustCompile(`"(hotline_[a-z_]+)"`)

// validateRules is `promtool check rules`: Prometheus's own rule-file
// parser, which parses every expression as PromQL and every label and
// annotation as a template, and refuses unknown fields.
func validateRules(data []byte) (*rulefmt.RuleGroups, []error) {
	return rulefmt.Parse(data, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
}

var promParser = parser.NewParser(parser.Options{})

// exprMetrics lists the metric names an expression selects.
func exprMetrics(t *testing.T, expr string) []string {
	t.Helper()
	node, err := promParser.ParseExpr(expr)
	if err != nil {
		t.Fatalf("%q: %v", expr, err)
	}
	var names []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// The rule file holds the alerts the issue asked for, each on the metrics it
// is about, with the thresholds it named.
func TestPrometheusRules(t *testing.T) {
	rf, data := readRuleFile(t)
	if _, errs := validateRules(data); len(errs) > 0 {
		t.Fatalf("files/prometheus-rules.yaml is not a valid Prometheus rule file: %v", errors.Join(errs...))
	}
	registered := registeredMetrics(t)
	rules := map[string]rule{}
	for _, g := range rf.Groups {
		if g.Name == "" {
			t.Error("a rule group without a name")
		}
		for _, r := range g.Rules {
			if _, dup := rules[r.Alert]; dup {
				t.Errorf("alert %s twice", r.Alert)
			}
			rules[r.Alert] = r
		}
	}
	want := map[string][]string{ // alert → what its expression must say
		"HotlineDown":             {`up{job="hotline"} == 0`, `absent(up{job="hotline"})`},
		"HotlineDatabaseDown":     {"hotline_database_up == 0"},
		"HotlineQueueStuck":       {"hotline_job_oldest_due_seconds", "> 120"},
		"HotlineCallsFailing":     {"increase(hotline_calls_failed_total[15m])", "increase(hotline_calls_requested_total[15m])", "> 0.5", ">= 1"},
		"HotlineNoLeader":         {"sum by (namespace, job, lease) (hotline_leader) == 0"},
		"HotlineChatPostsFailing": {"hotline_chat_posts_failed_total", "platform"},
	}
	if got := slices.Sorted(maps.Keys(rules)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("alerts = %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	wantFor := map[string]time.Duration{"HotlineQueueStuck": 5 * time.Minute, "HotlineNoLeader": 2 * time.Minute}
	for name, r := range rules {
		expr := strings.Join(strings.Fields(r.Expr), " ")
		for _, s := range want[name] {
			if !strings.Contains(expr, s) {
				t.Errorf("%s: expr %q lacks %q", name, expr, s)
			}
		}
		for _, m := range exprMetrics(t, r.Expr) {
			if strings.HasPrefix(m, "hotline_") && !slices.Contains(registered, m) {
				t.Errorf("%s: %s is not a metric Hotline exposes (it has %v)", name, m, registered)
			}
		}
		if r.For != "" {
			d, err := time.ParseDuration(r.For)
			if err != nil {
				t.Errorf("%s: for %q: %v", name, r.For, err)
			}
			if w, ok := wantFor[name]; ok && d != w {
				t.Errorf("%s: for %s, want %s", name, d, w)
			}
		} else if _, ok := wantFor[name]; ok {
			t.Errorf("%s: no for, want %s", name, wantFor[name])
		}
		if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", name, sev)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: wants a summary and a description", name)
		}
	}
}

// Prometheus's checker refuses what the chart must never ship: broken PromQL,
// a broken template, an unknown field, an alert without an expression.
func TestValidateRulesRefuses(t *testing.T) {
	for name, tt := range map[string]struct{ rule, want string }{
		"unclosed bracket": {"alert: A\n        expr: sum(hotline_leader", "unclosed left parenthesis"},
		"unknown function": {"alert: A\n        expr: ratee(hotline_calls_failed_total[5m]) > 0", "unknown function"},
		"bad duration":     {"alert: A\n        expr: hotline_leader == 0\n        for: 2 minutes", "unknown unit"},
		"broken template":  {"alert: A\n        expr: hotline_leader == 0\n        annotations: {summary: \"{{ $labels.lease\"}", "annotation \"summary\""},
		"unknown field":    {"alert: A\n        expr: hotline_leader == 0\n        severity: critical", "field severity not found"},
		"no expression":    {"alert: A", "field 'expr' must be set"},
		"alert and record": {"alert: A\n        record: a:b\n        expr: hotline_leader", "only one of 'record' and 'alert'"},
	} {
		t.Run(name, func(t *testing.T) {
			file := "groups:\n  - name: hotline\n    rules:\n      - " + tt.rule + "\n"
			_, errs := validateRules([]byte(file))
			if err := errors.Join(errs...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s\ngot %v, want an error saying %q", file, err, tt.want)
			}
		})
	}
}
