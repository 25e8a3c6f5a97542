package charts

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// hotlineMetrics are the metrics Hotline exposes on /metrics that the alert
// rules may use; a rule naming anything else is alerting on nothing.
var hotlineMetrics = []string{
	"hotline_job_queue_depth",
	"hotline_job_oldest_due_seconds",
	"hotline_calls_requested_total",
	"hotline_calls_failed_total",
	"hotline_chat_posts_failed_total",
	"hotline_leader",
	"hotline_database_up",
	"hotline_job_failures_total",
}

var metricNamePattern = regexp.MustCompile(`\bhotline_[a-z_]+\b`)

// The rule file holds the alerts the issue asked for, each on the metrics it
// is about, with the thresholds it named.
func TestPrometheusRules(t *testing.T) {
	rf := readRuleFile(t)
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
		for _, m := range metricNamePattern.FindAllString(expr, -1) {
			if !slices.Contains(hotlineMetrics, m) {
				t.Errorf("%s: %s is not a metric Hotline exposes", name, m)
			}
		}
		if err := balanced(expr); err != "" {
			t.Errorf("%s: expr %q: %s", name, expr, err)
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

// balanced says what is wrong with the brackets of a PromQL expression,
// outside its quoted strings.
func balanced(expr string) string {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return "unbalanced " + string(r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inString {
		return "unterminated string"
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack)
	}
	return ""
}
