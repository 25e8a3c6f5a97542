package mail

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// Indexes of DefaultRules, as the README documents them.
const (
	ruleRecovery = iota
	ruleNowOK
	ruleProblem
	ruleWarning
	ruleNotification
	ruleOKUp
	ruleCatchAll
)

func mustCompile(t testing.TB, rules []Rule) *RuleSet {
	t.Helper()
	rs, err := CompileRules(rules)
	if err != nil {
		t.Fatalf("CompileRules: %v", err)
	}
	return rs
}

func TestDefaultRules(t *testing.T) {
	rs := mustCompile(t, nil)
	tests := []struct {
		subject string
		rule    int
		action  Action
		sev     bot.Severity
	}{
		// Japanese
		{"【障害】web01 ディスク使用率 95%", ruleProblem, ActionOpen, bot.Sev2},
		{"【復旧】web01 ディスク使用率 60%", ruleRecovery, ActionResolve, ""},
		{"web01 の障害が回復しました", ruleRecovery, ActionResolve, ""},
		{"web01 応答遅延 解消", ruleRecovery, ActionResolve, ""},
		{"web01 異常検知", ruleProblem, ActionOpen, bot.Sev2},
		{"バッチでエラーが発生しました", ruleProblem, ActionOpen, bot.Sev2},
		{"サーバーダウン web01", ruleProblem, ActionOpen, bot.Sev2},
		{"【警告】web01 CPU使用率 85%", ruleWarning, ActionOpen, bot.Sev3},
		{"注意: ディスク残量わずか", ruleWarning, ActionOpen, bot.Sev3},
		{"web01 正常", ruleOKUp, ActionResolve, ""},
		{"web01 異常→正常", ruleNowOK, ActionResolve, ""},
		{"web01 正常→異常", ruleProblem, ActionOpen, bot.Sev2},
		{"障害発生: web01", ruleProblem, ActionOpen, bot.Sev2},
		{"障害復旧: web01", ruleRecovery, ActionResolve, ""},
		{"夜間バッチ完了のお知らせ", ruleCatchAll, ActionOpen, ""},
		// Nagios
		{"** PROBLEM Service Alert: web01/HTTP is CRITICAL **", ruleProblem, ActionOpen, bot.Sev2},
		{"** PROBLEM Service Alert: web01/Load is WARNING **", ruleWarning, ActionOpen, bot.Sev3},
		{"** RECOVERY Service Alert: web01/HTTP is OK **", ruleRecovery, ActionResolve, ""},
		{"** PROBLEM Host Alert: web01 is DOWN **", ruleProblem, ActionOpen, bot.Sev2},
		{"** RECOVERY Host Alert: web01 is UP **", ruleRecovery, ActionResolve, ""},
		{"** PROBLEM Service Alert: web01/Disk is UNKNOWN **", ruleNotification, ActionOpen, bot.Sev2},
		// State now OK, whatever it was
		{"Service web01 is OK (was CRITICAL)", ruleNowOK, ActionResolve, ""},
		{"Service web01 is CRITICAL (was OK)", ruleProblem, ActionOpen, bot.Sev2},
		{"Check_MK: web01/HTTP CRIT -> OK", ruleNowOK, ActionResolve, ""},
		{"Check_MK: web01/HTTP OK -> CRIT", ruleProblem, ActionOpen, bot.Sev2},
		{"Check_MK: web01/HTTP OK -> WARN", ruleWarning, ActionOpen, bot.Sev3},
		{"UP alert: web01 (web01.example.com) is UP", ruleNowOK, ActionResolve, ""},
		{"DOWN alert: web01 (web01.example.com) is DOWN", ruleProblem, ActionOpen, bot.Sev2},
		{"Monitor is UP: web01", ruleNowOK, ActionResolve, ""},
		{"PROBLEM: CPU load is up 20%", ruleNotification, ActionOpen, bot.Sev2},
		// Zabbix
		{"Problem: High CPU utilization on web01", ruleNotification, ActionOpen, bot.Sev2},
		{"Resolved: High CPU utilization on web01", ruleRecovery, ActionResolve, ""},
		{"Resolved in 5m 3s: High CPU utilization on web01", ruleRecovery, ActionResolve, ""},
		// Alertmanager, Grafana, Datadog, CloudWatch, Uptime Kuma
		{"[FIRING:2] HighCPU (web01 node)", ruleNotification, ActionOpen, bot.Sev2},
		{"[RESOLVED] HighCPU (web01 node)", ruleRecovery, ActionResolve, ""},
		{"[Alerting] CPU high", ruleNotification, ActionOpen, bot.Sev2},
		{"[OK] CPU high", ruleOKUp, ActionResolve, ""},
		{"[Triggered on {host:web01}] CPU high", ruleNotification, ActionOpen, bot.Sev2},
		{"[Recovered on {host:web01}] CPU high", ruleRecovery, ActionResolve, ""},
		{"[Warn on {host:web01}] CPU high", ruleWarning, ActionOpen, bot.Sev3},
		{`ALARM: "cpu-high" in Asia Pacific (Tokyo)`, ruleNotification, ActionOpen, bot.Sev2},
		{`OK: "cpu-high" in Asia Pacific (Tokyo)`, ruleOKUp, ActionResolve, ""},
		{"[✅ Up] web01", ruleOKUp, ActionResolve, ""},
		{"[🔴 Down] web01", ruleProblem, ActionOpen, bot.Sev2},
		{"Link eth0 cleared", ruleRecovery, ActionResolve, ""},
		{"FATAL: db01 out of memory", ruleProblem, ActionOpen, bot.Sev2},
		{"Backup job failed on db01", ruleProblem, ActionOpen, bot.Sev2},
		{"Nightly report", ruleCatchAll, ActionOpen, ""},
		{"", ruleCatchAll, ActionOpen, ""},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			d := rs.Apply(Message{Subject: tt.subject, From: "monitor@example.com"})
			if d.Rule != tt.rule || d.Action != tt.action || d.Severity != tt.sev {
				t.Errorf("Apply(%q) = rule %d %s %q, want rule %d %s %q", tt.subject, d.Rule, d.Action, d.Severity, tt.rule, tt.action, tt.sev)
			}
			if d.Key == "" {
				t.Errorf("Apply(%q): empty key", tt.subject)
			}
		})
	}
}

// TestDefaultRulesEveryKeyword: each keyword of each default rule decides
// on its own, upper, lower and full-width.
func TestDefaultRulesEveryKeyword(t *testing.T) {
	rs := mustCompile(t, nil)
	for i, r := range DefaultRules() {
		for _, kw := range r.Match.Subject {
			for _, form := range []string{kw, strings.ToLower(kw), fullWidth(kw)} {
				subject := "db01 " + form + " at night"
				d := rs.Apply(Message{Subject: subject})
				if d.Rule != i || d.Action != r.Action || d.Severity != r.Severity {
					t.Errorf("Apply(%q) = rule %d %s %q, want rule %d %s %q", subject, d.Rule, d.Action, d.Severity, i, r.Action, r.Severity)
				}
			}
		}
	}
}

// fullWidth turns ASCII letters and digits into their full-width forms.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '!' && r <= '~' {
			return r - '!' + '！'
		}
		return r
	}, s)
}

func TestApplyFoldsWidthAndCase(t *testing.T) {
	rs := mustCompile(t, []Rule{
		{Match: Match{Subject: []string{"カタカナ"}}, Action: ActionOpen, Severity: bot.Sev1},
		{Match: Match{Subject: []string{"ｴﾗｰ"}}, Action: ActionOpen, Severity: bot.Sev2},
		{Match: Match{Subject: []string{"ＣＲＩＴＩＣＡＬ"}}, Action: ActionOpen, Severity: bot.Sev3},
		{Match: Match{SubjectRegex: `^DISK (?P<pct>\d+)%$`}, Action: ActionOpen, Severity: bot.Sev4},
	})
	tests := []struct {
		subject string
		rule    int
	}{
		{"ｶﾀｶﾅ", 0},
		{"カタカナ", 0},
		{"エラー", 1},
		{"ｴﾗｰ", 1},
		{"critical", 2},
		{"ＣＲＩＴＩＣＡＬ", 2},
		{"Critical", 2},
		{"ｃｒｉｔｉｃａｌ", 2},
		{"ｄｉｓｋ　９５％", 3}, // full-width digits, space and percent sign against an ASCII regex
		{"Disk 95%", 3},
		{"critically low", -1},
	}
	for _, tt := range tests {
		if d := rs.Apply(Message{Subject: tt.subject}); d.Rule != tt.rule {
			t.Errorf("Apply(%q) = rule %d, want %d", tt.subject, d.Rule, tt.rule)
		}
	}
}

func TestApplyKeywordWordBoundaries(t *testing.T) {
	rs := mustCompile(t, []Rule{
		{Match: Match{Subject: []string{"OK"}}, Action: ActionResolve},
		{Match: Match{Subject: []string{"DOWN"}}, Action: ActionOpen},
		{Match: Match{Subject: []string{"UP"}}, Action: ActionResolve},
		{Match: Match{Subject: []string{"[prod]"}}, Action: ActionOpen}, // no word edge: a substring
		{Match: Match{Subject: []string{"停止"}}, Action: ActionOpen},
	})
	tests := []struct {
		subject string
		rule    int
	}{
		{"OK", 0},
		{"web01 OK", 0},
		{"web01: ok!", 0},
		{"(OK) web01", 0},
		{"web01はOK", 0}, // Japanese next to an ASCII keyword is a boundary
		{"token expired", -1},
		{"OKAY", -1},
		{"bookkeeping", -1},
		{"web01 DOWN", 1},
		{"サーバーDOWN", 1},
		{"web01-down", 1},
		{"download slow", -1},
		{"shutdown", -1},
		{"web01_down", -1}, // _ is a word character, as in RE2's \b
		{"web01 UP", 2},
		{"backup done", -1},
		{"upgrade done", -1},
		{"x[prod]y", 3},
		{"サービス停止中", 4}, // Japanese keywords are substrings
	}
	for _, tt := range tests {
		if d := rs.Apply(Message{Subject: tt.subject}); d.Rule != tt.rule {
			t.Errorf("Apply(%q) = rule %d, want %d", tt.subject, d.Rule, tt.rule)
		}
	}
}

func TestApplyCustomRules(t *testing.T) {
	rs := mustCompile(t, []Rule{
		{Match: Match{From: []string{"staging.example.com", "ステージング"}}, Action: ActionDrop},
		{Match: Match{Subject: []string{"backup"}, Body: []string{"failed", "失敗"}}, Action: ActionOpen, Severity: bot.Sev3},
		{Match: Match{SubjectRegex: `^\[(?P<env>[a-z]+)\] (?P<host>[a-z0-9.-]+) `}, Action: ActionOpen, Severity: bot.Sev1, Key: "{env}/{host}"},
		{Match: Match{Subject: []string{"障害"}}, Action: ActionOpen, Severity: bot.Sev2},
		{Match: Match{Subject: []string{"障害", "復旧"}}, Action: ActionResolve},
		{Match: Match{FromRegex: `^nagios@`, BodyRegex: `(?m)^state: ok$`}, Action: ActionResolve},
	})
	tests := []struct {
		name   string
		m      Message
		rule   int
		action Action
		sev    bot.Severity
		key    string
	}{
		{"from address", Message{Subject: "【障害】web01", From: "alerts@staging.example.com"}, 0, ActionDrop, "", ""},
		{"from display name", Message{Subject: "【障害】web01", From: "alerts@example.com", FromName: "ステージング監視"}, 0, ActionDrop, "", ""},
		{"subject and body", Message{Subject: "Backup report", Text: "job db01\nresult: FAILED"}, 1, ActionOpen, bot.Sev3, "report"},
		{"subject and Japanese body", Message{Subject: "Backup report", Text: "db01 のバックアップに失敗しました"}, 1, ActionOpen, bot.Sev3, "report"},
		{"subject without body", Message{Subject: "Backup report", Text: "all fine"}, -1, ActionDrop, "", ""},
		{"regex with captures", Message{Subject: "[PROD] Web01.example.com disk full"}, 2, ActionOpen, bot.Sev1, "prod/web01.example.com"},
		{"first match wins", Message{Subject: "障害復旧 web01"}, 3, ActionOpen, bot.Sev2, "web01"},
		{"second match", Message{Subject: "復旧 web01"}, 4, ActionResolve, "", "web01"},
		{"from regex and body regex", Message{Subject: "Service web01/HTTP", From: "nagios@example.com", Text: "Host: web01\nState: OK\n"}, 5, ActionResolve, "", "service web01/http"},
		{"from regex without body", Message{Subject: "Service web01/HTTP", From: "nagios@example.com", Text: "State: CRITICAL"}, -1, ActionDrop, "", ""},
		{"nothing matches", Message{Subject: "hello"}, -1, ActionDrop, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rs.Apply(tt.m)
			want := Decision{Rule: tt.rule, Action: tt.action, Severity: tt.sev, Key: tt.key}
			if got != want {
				t.Errorf("Apply = %+v, want %+v", got, want)
			}
		})
	}
}

func TestApplyKeyTemplate(t *testing.T) {
	tests := []struct {
		name string
		rule Rule
		m    Message
		key  string
	}{
		{"subject capture",
			Rule{Match: Match{SubjectRegex: `(?P<host>web\d+)`}, Action: ActionOpen, Key: "{host}"},
			Message{Subject: "【障害】WEB01 ディスク使用率 95%"}, "web01"},
		{"full-width subject capture",
			Rule{Match: Match{SubjectRegex: `(?P<host>web\d+)`}, Action: ActionOpen, Key: "{host}"},
			Message{Subject: "【障害】ＷＥＢ０１ ディスク使用率 95%"}, "web01"},
		{"recovery has the same key",
			Rule{Match: Match{SubjectRegex: `(?P<host>web\d+)`}, Action: ActionResolve, Key: "{host}"},
			Message{Subject: "【復旧】web01 全サービス正常"}, "web01"},
		{"text around captures",
			Rule{Match: Match{SubjectRegex: `^(?P<host>\S+) (?P<check>\S+)`}, Action: ActionOpen, Key: "host={host} check={check}"},
			Message{Subject: "db01 Disk  full"}, "host=db01 check=disk"},
		{"body capture",
			Rule{Match: Match{BodyRegex: `(?m)^host:\s*(?P<host>\S+)$`}, Action: ActionOpen, Key: "{host}"},
			Message{Subject: "alert", Text: "Check: HTTP\nHost: db02\n"}, "db02"},
		{"from capture and built-in subject",
			Rule{Match: Match{FromRegex: `^(?P<tool>[a-z]+)@`}, Action: ActionOpen, Key: "{tool}: {subject}"},
			Message{Subject: "Disk  FULL", From: "zabbix@example.com"}, "zabbix: disk full"},
		{"display name capture",
			Rule{Match: Match{FromRegex: `^(?P<tool>\S+) monitor$`}, Action: ActionOpen, Key: "{tool}"},
			Message{Subject: "x", From: "a@example.com", FromName: "Zabbix Monitor"}, "zabbix"},
		{"built-in from",
			Rule{Action: ActionOpen, Key: "{from}"},
			Message{Subject: "x", From: "Monitor@Example.com"}, "monitor@example.com"},
		{"first non-empty capture of a name",
			Rule{Match: Match{SubjectRegex: `(?:on (?P<host>\S+))?`, BodyRegex: `host=(?P<host>\S+)`}, Action: ActionOpen, Key: "{host}"},
			Message{Subject: "disk full", Text: "host=db03"}, "db03"},
		{"a capture shadows a built-in",
			Rule{Match: Match{SubjectRegex: `^(?P<subject>\S+)`}, Action: ActionOpen, Key: "{subject}"},
			Message{Subject: "db01 disk full"}, "db01"},
		{"braces around no name are text",
			Rule{Match: Match{SubjectRegex: `(?P<host>db\d+)`}, Action: ActionOpen, Key: "{{host}} {not a name} {}"},
			Message{Subject: "db01 down"}, "{db01} {not a name} {}"},
		{"blank template falls back to the default key",
			Rule{Match: Match{SubjectRegex: `down(?: on (?P<host>\S+))?`}, Action: ActionOpen, Key: "{host}"},
			Message{Subject: "【障害】web01 down"}, "web01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustCompile(t, []Rule{tt.rule})
			d := rs.Apply(tt.m)
			if d.Rule != 0 || d.Key != tt.key {
				t.Errorf("Apply = rule %d key %q, want rule 0 key %q", d.Rule, d.Key, tt.key)
			}
		})
	}
}

func TestCompileRulesRefusals(t *testing.T) {
	open := Match{Subject: []string{"障害"}}
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"subject regex",
			[]Rule{{Match: Match{SubjectRegex: `(web`}, Action: ActionOpen}},
			"rules[0].match.subject_regex: error parsing regexp: missing closing ): `(web`"},
		{"body regex",
			[]Rule{{Match: open, Action: ActionOpen}, {Match: Match{BodyRegex: `host=(?P<h>\S+`}, Action: ActionOpen}},
			"rules[1].match.body_regex: error parsing regexp: missing closing ): `host=(?P<h>\\S+`"},
		{"from regex",
			[]Rule{{Match: Match{FromRegex: `a**`}, Action: ActionDrop}},
			"rules[0].match.from_regex: error parsing regexp: invalid nested repetition operator: `**`"},
		{"key names no capture",
			[]Rule{{Match: Match{SubjectRegex: `(?P<hostname>\S+)`}, Action: ActionOpen, Key: "{host}"}},
			"rules[0].key: {host} is not a capture of the rule's regexes"},
		{"key names an unnamed group",
			[]Rule{{Match: Match{SubjectRegex: `on (\S+)`}, Action: ActionOpen, Key: "{1}-{host}"}},
			"rules[0].key: {host} is not a capture of the rule's regexes"},
		{"key names another rule's capture",
			[]Rule{{Match: Match{SubjectRegex: `(?P<host>\S+)`}, Action: ActionOpen}, {Action: ActionResolve, Key: "{host}"}},
			"rules[1].key: {host} is not a capture of the rule's regexes"},
		{"key of a drop rule",
			[]Rule{{Match: open, Action: ActionDrop, Key: "{subject}"}},
			"rules[0].key: a drop rule makes no alert, so it has no key"},
		{"unknown action",
			[]Rule{{Match: open, Action: ActionOpen}, {Match: open, Action: "close"}},
			"rules[1].action: must be open, resolve or drop"},
		{"missing action",
			[]Rule{{Match: open}},
			"rules[0].action: is required: open, resolve or drop"},
		{"unknown severity",
			[]Rule{{Match: open, Action: ActionOpen, Severity: "high"}},
			"rules[0].severity: must be sev1, sev2, sev3 or sev4"},
		{"severity of a resolve rule",
			[]Rule{{Match: open, Action: ActionResolve, Severity: bot.Sev2}},
			"rules[0].severity: only an open rule has a severity"},
		{"blank keyword",
			[]Rule{{Match: Match{Subject: []string{"障害", " "}, Body: []string{"　"}}, Action: ActionOpen}},
			"rules[0].match.subject[1]: must not be blank; rules[0].match.body[0]: must not be blank"},
		{"catch-all before the last rule",
			[]Rule{{Action: ActionOpen}, {Match: open, Action: ActionResolve}},
			"rules[0].match: matches every mail: only the last rule may be a catch-all"},
		{"every problem at once",
			[]Rule{{Action: "close", Severity: "sev9"}, {Match: Match{SubjectRegex: `[`}, Action: ActionOpen, Key: "{host}"}},
			"rules[0].action: must be open, resolve or drop; rules[0].severity: only an open rule has a severity; " +
				"rules[0].match: matches every mail: only the last rule may be a catch-all; " +
				"rules[1].match.subject_regex: error parsing regexp: missing closing ]: `[`; " +
				"rules[1].key: {host} is not a capture of the rule's regexes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := CompileRules(tt.rules)
			if err == nil {
				t.Fatalf("CompileRules = %v, want error %q", rs, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("CompileRules error\n got %q\nwant %q", err, tt.want)
			}
			var invalid *bot.InvalidError
			if !errors.As(err, &invalid) || invalid.Reason != tt.want {
				t.Errorf("CompileRules error %v is not a *bot.InvalidError with the same reason", err)
			}
			var re *RulesError
			if !errors.As(err, &re) || strings.Join(re.Problems, "; ") != tt.want {
				t.Errorf("CompileRules error %v is not a *RulesError listing the problems", err)
			}
		})
	}
}

func TestCompileRulesAccepts(t *testing.T) {
	for name, rules := range map[string][]Rule{
		"catch-all last":     {{Match: Match{Subject: []string{"x"}}, Action: ActionDrop}, {Action: ActionOpen, Severity: bot.Sev4}},
		"built-ins in a key": {{Action: ActionResolve, Key: "{subject} from {from}"}},
		"a regex only":       {{Match: Match{BodyRegex: `.`}, Action: ActionDrop}, {Action: ActionOpen}},
	} {
		if _, err := CompileRules(rules); err != nil {
			t.Errorf("%s: CompileRules: %v", name, err)
		}
	}
}

func TestCompileRulesDefaults(t *testing.T) {
	m := Message{Subject: "** PROBLEM Service Alert: web01/HTTP is CRITICAL **"}
	want := mustCompile(t, DefaultRules()).Apply(m)
	for _, rules := range [][]Rule{nil, {}} {
		if got := mustCompile(t, rules).Apply(m); got != want {
			t.Errorf("CompileRules(%#v).Apply = %+v, want the default rules' %+v", rules, got, want)
		}
	}
	rules := DefaultRules()
	rules[0].Action = ActionDrop
	rules[2].Match.Subject[0] = "x"
	if !reflect.DeepEqual(DefaultRules()[:3], []Rule{
		{Match: Match{Subject: []string{"復旧", "回復", "解消", "RECOVERY", "RECOVERED", "RESOLVED", "CLEARED"}}, Action: ActionResolve},
		DefaultRules()[1],
		{Match: Match{Subject: []string{"障害", "異常", "エラー", "ダウン", "CRITICAL", "CRIT", "FATAL", "DOWN", "ERROR", "FAILED", "FAILURE"}}, Action: ActionOpen, Severity: bot.Sev2},
	}) {
		t.Error("changing the slice DefaultRules returned changed the defaults")
	}
	if last := DefaultRules()[len(DefaultRules())-1]; !reflect.DeepEqual(last, Rule{Action: ActionOpen}) {
		t.Errorf("the last default rule is %+v, want a catch-all open at the service's severity", last)
	}
}

// TestDefaultKeyPairs: a recovery finds the problem it recovers.
func TestDefaultKeyPairs(t *testing.T) {
	rs := mustCompile(t, nil)
	tests := []struct{ problem, recovery, key string }{
		{"【障害】web01 ディスク使用率 95%", "【復旧】web01 ディスク使用率 95%", "web01 ディスク使用率"},
		{"【障害】web01 ディスク使用率 95%", "【復旧】web01 ディスク使用率 60%", "web01 ディスク使用率"},
		{"ＰＲＯＢＬＥＭ: web01 is down", "RECOVERY: web01 is down", "web01"},
		{"PROBLEM: web01 is down", "RECOVERY: web01 is down", "web01"},
		{"** PROBLEM Service Alert: web01/HTTP is CRITICAL **", "** RECOVERY Service Alert: web01/HTTP is OK **", "service web01/http"},
		{"** PROBLEM Host Alert: web01 is DOWN **", "** RECOVERY Host Alert: web01 is UP **", "host web01"},
		{"Service web01 is CRITICAL", "Service web01 is OK (was CRITICAL)", "service web01"},
		{"Check_MK: web01/HTTP OK -> CRIT", "Check_MK: web01/HTTP CRIT -> OK", "check_mk web01/http"},
		{"Problem: High CPU utilization on web01", "Resolved: High CPU utilization on web01", "high cpu utilization on web01"},
		{"Problem: High CPU utilization on web01", "Resolved in 1h 5m 3s: High CPU utilization on web01", "high cpu utilization on web01"},
		{"Problem: Zabbix agent on db01 is unreachable for 5 minutes", "Resolved in 10m: Zabbix agent on db01 is unreachable for 5 minutes", "zabbix agent on db01 for"},
		{"[FIRING:2] HighCPU (web01 node)", "[RESOLVED] HighCPU (web01 node)", "highcpu web01 node"},
		{`ALARM: "cpu-high" in Asia Pacific (Tokyo)`, `OK: "cpu-high" in Asia Pacific (Tokyo)`, "cpu-high asia pacific tokyo"},
		{"[Triggered on {host:web01}] CPU high", "[Recovered on {host:web01}] CPU high", "on host:web01 cpu high"},
		{"障害発生: web01 応答なし", "障害復旧: web01 応答なし", "web01 応答なし"},
		{"【重要】【障害】db01 ping応答なし", "【復旧】db01 ping応答なし", "db01 ping応答なし"},
		{"2024/05/01 10:23:45 【障害】db01 応答時間 3.2秒", "2024/05/01 10:31:02 【復旧】db01 応答時間 0.4秒", "db01 応答時間 秒"},
		{"[CRITICAL] db01 replication lag 120s at 2024-05-01T10:23:45+09:00", "[OK] db01 replication lag 2s at 2024-05-01T10:40:00Z", "db01 replication lag at"},
		{"[🔴 Down] web01", "[✅ Up] web01", "web01"},
		{"ｻｰﾊﾞｰﾀﾞｳﾝ web01", "サーバー回復 web01", "サーバー web01"},
	}
	for _, tt := range tests {
		t.Run(tt.problem, func(t *testing.T) {
			p := rs.Apply(Message{Subject: tt.problem, From: "monitor@example.com"})
			r := rs.Apply(Message{Subject: tt.recovery, From: "monitor@example.com"})
			if p.Action != ActionOpen || r.Action != ActionResolve {
				t.Fatalf("problem %s by rule %d, recovery %s by rule %d: want open and resolve", p.Action, p.Rule, r.Action, r.Rule)
			}
			if p.Key != tt.key || r.Key != tt.key {
				t.Errorf("keys %q and %q, want both %q", p.Key, r.Key, tt.key)
			}
		})
	}
}

// TestDefaultKeyFollowUps: notifications about an open problem (an
// acknowledgement, flapping, a re-notification, a bigger group) share its
// key, so they join its incident instead of opening another.
func TestDefaultKeyFollowUps(t *testing.T) {
	rs := mustCompile(t, nil)
	for _, group := range [][]string{
		{"** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
			"** ACKNOWLEDGEMENT Service Alert: web01/HTTP is CRITICAL **",
			"** FLAPPINGSTART Service Alert: web01/HTTP is CRITICAL **",
			"** PROBLEM Service Alert: web01/HTTP is UNKNOWN **",
			"** PROBLEM Service Alert: web01/HTTP is WARNING **"},
		{"Problem: High CPU utilization on web01", "Updated problem in 1h 2m: High CPU utilization on web01"},
		{"[FIRING:1] HighCPU (web01 node)", "[FIRING:3] HighCPU (web01 node)"},
		{"【障害】db01 応答なし", "【障害】【再通知】db01 応答なし", "【重要】【障害継続】db01 応答なし"},
	} {
		want := rs.Apply(Message{Subject: group[0]}).Key
		for _, s := range group[1:] {
			if d := rs.Apply(Message{Subject: s}); d.Action != ActionOpen || d.Key != want {
				t.Errorf("Apply(%q) = %s with key %q, want open with key %q", s, d.Action, d.Key, want)
			}
		}
	}
}

// TestDefaultKeyPairsOfCustomRules: the keywords of the set's own rules
// leave the key, as in the README's example.
func TestDefaultKeyPairsOfCustomRules(t *testing.T) {
	rs := mustCompile(t, []Rule{
		{Match: Match{Subject: []string{"障害", "CRITICAL", "DOWN"}}, Action: ActionOpen, Severity: bot.Sev2},
		{Match: Match{Subject: []string{"復旧", "RECOVERY", "RECOVERED", "おさまりました"}}, Action: ActionResolve},
	})
	for _, pair := range [][3]string{
		{"【障害】db01 ディスク使用率 95%", "【復旧】db01 ディスク使用率 60%", "db01 ディスク使用率"},
		{"db01 の負荷上昇 障害", "db01 の負荷上昇 おさまりました", "db01 の負荷上昇"},
	} {
		p, r := rs.Apply(Message{Subject: pair[0]}), rs.Apply(Message{Subject: pair[1]})
		if p.Action != ActionOpen || r.Action != ActionResolve || p.Key != pair[2] || r.Key != pair[2] {
			t.Errorf("%q → %+v, %q → %+v; want open and resolve with key %q", pair[0], p, pair[1], r, pair[2])
		}
	}
}

// TestDefaultKeyDistinct: different alerts keep different keys.
func TestDefaultKeyDistinct(t *testing.T) {
	rs := mustCompile(t, nil)
	subjects := []string{
		"【障害】web01 ディスク使用率 95%",
		"【障害】web02 ディスク使用率 95%",
		"【障害】web01 CPU使用率 95%",
		"【障害】web01 ディスク使用率(/var) 95%",
		"** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
		"** PROBLEM Service Alert: web02/HTTP is CRITICAL **",
		"** PROBLEM Service Alert: web01/SSH is CRITICAL **",
		"** PROBLEM Host Alert: web01 is DOWN **",
		"PING CRITICAL 10.0.0.1",
		"PING CRITICAL 10.0.0.2",
		"HTTP CRITICAL web01:8080",
		"HTTP CRITICAL web01:8081",
		"Problem: High CPU utilization on web01",
		"Problem: High memory utilization on web01",
		"[FIRING:1] HighCPU (web01 node)",
		"[FIRING:1] HighCPU (web02 node)",
		"disk full on db01 v1.2",
		"disk full on db01 v1.3",
		"ERROR: 5xx rate high",
		"ERROR: 4xx rate high",
	}
	seen := map[string]string{}
	for _, s := range subjects {
		d := rs.Apply(Message{Subject: s})
		if other, dup := seen[d.Key]; dup {
			t.Errorf("%q and %q share the key %q", s, other, d.Key)
		}
		seen[d.Key] = s
	}
}

func TestDefaultKeyFallbacks(t *testing.T) {
	rs := mustCompile(t, nil)
	tests := []struct {
		name string
		m    Message
		key  string
	}{
		{"first line of the text without a subject", Message{Text: "\n\n  PROBLEM: db01 is down\nmore"}, "db01"},
		{"the sender when nothing is left", Message{Subject: "【障害】", From: "Zabbix@Example.com"}, "zabbix@example.com"},
		{"the folded subject without a sender", Message{Subject: "【障害】  ALERT"}, "【障害】 alert"},
		{"nothing at all", Message{}, "(no subject)"},
		{"measurements, dates and times go", Message{Subject: "PROBLEM db01 load 12.5 mem 1,024 MB 3 GB 95 % 2024-05-01 10:23 12/31"}, "db01 load mem"},
		{"numbers that are part of a word stay", Message{Subject: "PROBLEM db01 10.0.0.1 web01:8080 v2 2xx #3"}, "db01 10.0.0.1 web01:8080 v2 2xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := rs.Apply(tt.m); d.Key != tt.key {
				t.Errorf("key %q, want %q", d.Key, tt.key)
			}
		})
	}
}

// TestDefaultKeyLong: a long key keeps a readable start and a hash of the
// whole, so subjects that differ only at the end stay apart.
func TestDefaultKeyLong(t *testing.T) {
	rs := mustCompile(t, nil)
	long := strings.Repeat("ディスク ", 150)
	prefix := strings.TrimSpace(strings.Repeat("ディスク ", 36)) // 180 runes
	keys := map[string]bool{}
	for _, end := range []string{"db01", "db02"} {
		d := rs.Apply(Message{Subject: long + end})
		if n := utf8.RuneCountInString(d.Key); n > maxKeyRunes || !strings.HasPrefix(d.Key, prefix+" #") {
			t.Errorf("key %q (%d runes), want at most %d starting with the subject", d.Key, n, maxKeyRunes)
		}
		if again := rs.Apply(Message{Subject: long + end}); again.Key != d.Key {
			t.Errorf("key %q then %q: not stable", d.Key, again.Key)
		}
		keys[d.Key] = true
	}
	if len(keys) != 2 {
		t.Errorf("subjects that differ at the end share the key %v", keys)
	}
}

func TestRuleSetAlert(t *testing.T) {
	rs := mustCompile(t, nil)
	received := time.Date(2025, 5, 1, 10, 23, 0, 0, time.UTC)
	raw := []byte("Subject: x\r\n\r\nbody")
	msg := Message{
		MessageID: "abc@mail.example.com",
		From:      "nagios@example.com",
		FromName:  "Nagios",
		Subject:   "** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
		Text:      "\nService: HTTP\nHost: web01\n",
	}
	t.Run("open", func(t *testing.T) {
		d := rs.Apply(msg)
		got := rs.Alert("monitor-mail", "web", msg, d, raw, received)
		want := bot.Alert{
			Integration: "monitor-mail",
			Source:      "email",
			Service:     "web",
			Fingerprint: "service web01/http",
			Status:      bot.AlertFiring,
			Title:       "** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
			Body:        "Service: HTTP\nHost: web01",
			Severity:    bot.Sev2,
			Labels:      map[string]string{"from": "nagios@example.com", "message_id": "abc@mail.example.com", "rule": fmt.Sprint(ruleProblem)},
			Raw:         raw,
			ReceivedAt:  received,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Alert =\n%+v\nwant\n%+v", got, want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("resolve", func(t *testing.T) {
		m := msg
		m.Subject, m.MessageID = "** RECOVERY Service Alert: web01/HTTP is OK **", ""
		got := rs.Alert("monitor-mail", "web", m, rs.Apply(m), raw, received)
		if got.Status != bot.AlertResolved || got.Severity != "" || got.Fingerprint != "service web01/http" ||
			!reflect.DeepEqual(got.Labels, map[string]string{"from": "nagios@example.com", "rule": fmt.Sprint(ruleRecovery)}) {
			t.Errorf("Alert = %+v, want a resolved alert of key service web01/http without message_id", got)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("title from the text", func(t *testing.T) {
		m := Message{From: "a@example.com", Text: "\n  db01   disk full  \nsecond line"}
		got := rs.Alert("i", "web", m, rs.Apply(m), nil, received)
		if got.Title != "db01 disk full" || got.Severity != "" || got.Status != bot.AlertFiring || got.Labels["rule"] != fmt.Sprint(ruleCatchAll) {
			t.Errorf("Alert = %+v, want title %q at the service's severity", got, "db01 disk full")
		}
	})
	t.Run("no subject, no text", func(t *testing.T) {
		m := Message{}
		got := rs.Alert("i", "web", m, rs.Apply(m), nil, received)
		if got.Title != "(no subject)" || got.Body != "" || got.Fingerprint == "" || got.Labels["from"] != "" {
			t.Errorf("Alert = %+v, want title (no subject) and a key", got)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	})
	t.Run("long title and body are cut", func(t *testing.T) {
		m := Message{Subject: strings.Repeat("障害 ", 400), Text: strings.Repeat("あ", MaxText/3)}
		got := rs.Alert("i", "web", m, rs.Apply(m), nil, received)
		if n := utf8.RuneCountInString(got.Title); n != maxAlertTitleRunes || !strings.HasSuffix(got.Title, "…") {
			t.Errorf("title of %d runes, want %d ending in …", n, maxAlertTitleRunes)
		}
		if n := utf8.RuneCountInString(got.Body); n != maxAlertBodyRunes || !strings.HasSuffix(got.Body, "…") {
			t.Errorf("body of %d runes, want %d ending in …", n, maxAlertBodyRunes)
		}
	})
	t.Run("drop has no alert", func(t *testing.T) {
		got := rs.Alert("i", "web", msg, Decision{Rule: -1, Action: ActionDrop}, raw, received)
		if !reflect.DeepEqual(got, bot.Alert{}) {
			t.Errorf("Alert for a drop = %+v, want none", got)
		}
	})
	t.Run("a decision without a key gets the default key", func(t *testing.T) {
		got := rs.Alert("i", "web", msg, Decision{Rule: 0, Action: ActionOpen}, raw, received)
		if got.Fingerprint != "service web01/http" {
			t.Errorf("fingerprint %q, want the default key", got.Fingerprint)
		}
	})
}

// TestApplyConcurrent: a RuleSet is shared by the SMTP sessions.
func TestApplyConcurrent(t *testing.T) {
	rs := mustCompile(t, []Rule{{Match: Match{SubjectRegex: `(?P<host>web\d+)`}, Action: ActionOpen, Key: "{host}"}})
	done := make(chan string)
	for i := range 8 {
		go func() {
			var bad string
			for range 200 {
				if d := rs.Apply(Message{Subject: fmt.Sprintf("web%02d down", i)}); d.Key != fmt.Sprintf("web%02d", i) {
					bad = d.Key
				}
			}
			done <- bad
		}()
	}
	for range 8 {
		if bad := <-done; bad != "" {
			t.Errorf("concurrent Apply gave key %q", bad)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	rs := mustCompile(b, nil)
	m := Message{
		MessageID: "20250501102300.1234@nagios.example.com",
		From:      "nagios@example.com",
		FromName:  "Nagios",
		Subject:   "** PROBLEM Service Alert: web01/HTTP is CRITICAL **",
		Text: strings.Repeat("***** Nagios *****\n\nNotification Type: PROBLEM\n\nService: HTTP\nHost: web01\n"+
			"Address: 10.0.0.1\nState: CRITICAL\n\nDate/Time: Thu May 1 10:23:00 JST 2025\n\n"+
			"Additional Info:\n\nHTTP CRITICAL: HTTP/1.1 503 Service Unavailable - 512 bytes in 0.002 second response time\n", 4),
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := rs.Apply(m); d.Action != ActionOpen {
			b.Fatal(d)
		}
	}
}
