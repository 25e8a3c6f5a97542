package commands

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hotline-dev/hotline/bot"
)

// fakeGroups answers a group lookup with groups or err and counts the
// lookups.
type fakeGroups struct {
	groups []string
	err    error
	calls  int
}

func (f *fakeGroups) lookup(context.Context) ([]string, error) {
	f.calls++
	return f.groups, f.err
}

var oncallRules = []Rule{
	{Verbs: []string{"resolve", "assign", "escalate", "oncall", "new"}, Contacts: []string{"tanaka", "suzuki"}, Groups: []string{"slack:S0ONCALL"}},
}

func TestAllowed(t *testing.T) {
	suzuki := bot.Actor{ID: "suzuki", Source: "slack"}
	sato := bot.Actor{ID: "sato", Source: "slack"}
	stranger := bot.Actor{ID: "U09STRANGER", Source: "slack"}
	lookupFailed := errors.New("usergroups.list: ratelimited")
	tests := []struct {
		name        string
		rules       []Rule // nil: a nil *Authorizer
		verb        string
		by          bot.Actor
		locale      string
		groups      *fakeGroups // nil: the adapter supplies no lookup
		allowed     bool
		why         string // exact, when refused
		groupCalls  int
		whyContains string
	}{
		{name: "no authorizer", verb: VerbResolve, by: stranger, allowed: true},
		{name: "open verb", rules: oncallRules, verb: VerbAck, by: stranger, groups: &fakeGroups{}, allowed: true},
		{name: "open verb, no lookup", rules: oncallRules, verb: VerbNote, by: sato, groups: &fakeGroups{err: lookupFailed}, allowed: true},
		{name: "contact", rules: oncallRules, verb: VerbResolve, by: suzuki, groups: &fakeGroups{}, allowed: true},
		{name: "contact needs no lookup", rules: oncallRules, verb: VerbResolve, by: tanaka, groups: &fakeGroups{err: lookupFailed}, allowed: true},
		{name: "group", rules: oncallRules, verb: VerbResolve, by: stranger, groups: &fakeGroups{groups: []string{"slack:S0DEV", "slack:S0ONCALL"}}, allowed: true, groupCalls: 1},
		{name: "other group", rules: oncallRules, verb: VerbResolve, by: stranger, groups: &fakeGroups{groups: []string{"slack:S0DEV", "discord:42"}}, groupCalls: 1,
			why: "Only tanaka, suzuki or members of slack:S0ONCALL may resolve incidents here."},
		{name: "refused ja", rules: oncallRules, verb: VerbResolve, by: sato, locale: "ja", groups: &fakeGroups{}, groupCalls: 1,
			why: "ここでインシデントの解決ができるのは tanaka、suzuki、slack:S0ONCALL のメンバーだけです。"},
		{name: "no lookup supplied", rules: oncallRules, verb: VerbEscalate, by: sato,
			why: "Only tanaka, suzuki or members of slack:S0ONCALL may escalate incidents here."},
		{name: "lookup failed", rules: oncallRules, verb: VerbAssign, by: sato, groups: &fakeGroups{err: lookupFailed}, groupCalls: 1,
			why: "Could not look up your groups, so assign is refused for now; try again. Only tanaka, suzuki or members of slack:S0ONCALL may assign incidents here."},
		{name: "lookup failed ja", rules: oncallRules, verb: VerbNew, by: sato, locale: "ja", groups: &fakeGroups{err: lookupFailed}, groupCalls: 1,
			why: "所属グループを確認できなかったため、今は new を実行できません。もう一度お試しください。ここでインシデントの起票ができるのは tanaka、suzuki、slack:S0ONCALL のメンバーだけです。"},
		{name: "contacts only: no lookup", rules: []Rule{{Verbs: []string{"ack"}, Contacts: []string{"tanaka"}}}, verb: VerbAck, by: sato, groups: &fakeGroups{groups: []string{"slack:S0ONCALL"}},
			why: "Only tanaka may acknowledge incidents here."},
		{name: "actor without id", rules: []Rule{{Verbs: []string{"ack"}, Contacts: []string{"tanaka"}}}, verb: VerbAck, by: bot.Actor{Source: "slack"},
			why: "Only tanaka may acknowledge incidents here."},
		{name: "contacts only ja", rules: []Rule{{Verbs: []string{"sev"}, Contacts: []string{"tanaka", "suzuki"}}}, verb: VerbSev, by: sato, locale: "ja",
			why: "ここで重大度の設定ができるのは tanaka、suzuki だけです。"},
		{name: "star", rules: []Rule{{Verbs: []string{"*"}, Groups: []string{"discord:1234567890"}}}, verb: VerbShow, by: sato, groups: &fakeGroups{groups: []string{"discord:99"}}, groupCalls: 1,
			why: "Only members of discord:1234567890 may show incidents here."},
		{name: "star, member", rules: []Rule{{Verbs: []string{"*"}, Groups: []string{"discord:1234567890"}}}, verb: VerbList, by: sato, groups: &fakeGroups{groups: []string{"discord:1234567890"}}, allowed: true, groupCalls: 1},
		{name: "star, help", rules: []Rule{{Verbs: []string{"*"}, Contacts: []string{"tanaka"}}}, verb: VerbHelp, by: sato, allowed: true},
		{name: "alias in a rule", rules: []Rule{{Verbs: []string{"close"}, Contacts: []string{"tanaka"}}}, verb: VerbResolve, by: sato,
			why: "Only tanaka may resolve incidents here."},
		{name: "second rule allows", rules: []Rule{
			{Verbs: []string{"resolve"}, Contacts: []string{"tanaka"}},
			{Verbs: []string{"resolve", "ack"}, Contacts: []string{"sato"}},
		}, verb: VerbResolve, by: sato, allowed: true},
		{name: "rules add up in the refusal", rules: []Rule{
			{Verbs: []string{"resolve"}, Contacts: []string{"tanaka"}},
			{Verbs: []string{"*"}, Contacts: []string{"suzuki", "tanaka"}, Groups: []string{"slack:S0SRE"}},
			{Verbs: []string{"ack"}, Contacts: []string{"sato"}},
		}, verb: VerbResolve, by: sato, groups: &fakeGroups{}, groupCalls: 1,
			why: "Only tanaka, suzuki or members of slack:S0SRE may resolve incidents here."},
		{name: "group of another rule's verb", rules: []Rule{
			{Verbs: []string{"resolve"}, Contacts: []string{"tanaka"}},
			{Verbs: []string{"ack"}, Groups: []string{"slack:S0ONCALL"}},
		}, verb: VerbResolve, by: sato, groups: &fakeGroups{groups: []string{"slack:S0ONCALL"}},
			why: "Only tanaka may resolve incidents here."},
		{name: "two groups", rules: []Rule{{Verbs: []string{"oncall"}, Groups: []string{"slack:S0ONCALL", "discord:42"}}}, verb: VerbOnCall, by: sato, groups: &fakeGroups{}, groupCalls: 1,
			why: "Only members of slack:S0ONCALL or members of discord:42 may see or change who is on call here."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a *Authorizer
			if tt.rules != nil {
				var err error
				if a, err = NewAuthorizer(tt.rules); err != nil {
					t.Fatal(err)
				}
			}
			var lookup func(context.Context) ([]string, error)
			if tt.groups != nil {
				lookup = tt.groups.lookup
			}
			var log bytes.Buffer
			restore := captureLog(&log)
			ok, why := a.Allowed(context.Background(), tt.verb, tt.by, tt.locale, lookup)
			restore()
			if ok != tt.allowed {
				t.Errorf("allowed %v (%q), want %v", ok, why, tt.allowed)
			}
			if tt.allowed && why != "" {
				t.Errorf("allowed with a reason %q", why)
			}
			if !tt.allowed && why != tt.why {
				t.Errorf("reason\n %q\nwant\n %q", why, tt.why)
			}
			if tt.groups != nil && tt.groups.calls != tt.groupCalls {
				t.Errorf("group lookups %d, want %d", tt.groups.calls, tt.groupCalls)
			}
			if tt.groups != nil && tt.groups.err != nil && tt.groupCalls > 0 && !strings.Contains(log.String(), tt.groups.err.Error()) {
				t.Errorf("failed lookup not logged: %s", log.String())
			}
		})
	}
}

func TestNewAuthorizerRefuses(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"unknown verb", []Rule{{Verbs: []string{"resolve", "resolv"}, Contacts: []string{"tanaka"}}},
			`authorization rule 0: unknown command "resolv" (ack, own, assign, sev, classify, status, note, escalate, resolve, postmortem, new, list, show, timeline, oncall or "*")`},
		{"help", []Rule{{Verbs: []string{"help"}, Contacts: []string{"tanaka"}}}, "authorization rule 0: help is always allowed; leave it out"},
		{"no verbs", []Rule{{Contacts: []string{"tanaka"}}}, "authorization rule 0: names no command"},
		{"empty contact", []Rule{{Verbs: []string{"ack"}, Contacts: []string{"tanaka", ""}}}, "authorization rule 0: an empty contact id"},
		{"nobody", []Rule{{Verbs: []string{"ack"}}, {Verbs: []string{"resolve"}}}, "authorization rule 0: allows nobody"},
		{"unknown platform", []Rule{{Verbs: []string{"ack"}, Groups: []string{"teams:ops"}}},
			`authorization rule 0: "teams:ops" is not a group: write slack:<user group id> or discord:<role id>`},
		{"slack group", []Rule{{Verbs: []string{"ack"}, Contacts: []string{"a"}}, {Verbs: []string{"ack"}, Groups: []string{"slack:oncall"}}},
			`authorization rule 1: "slack:oncall": a Slack user group id is S followed by capital letters and digits, like slack:S0ONCALL`},
		{"discord role", []Rule{{Verbs: []string{"ack"}, Groups: []string{"discord:<@&12>"}}},
			`authorization rule 0: "discord:<@&12>": a Discord role id is digits only, like discord:1234567890`},
	}
	for _, tt := range tests {
		a, err := NewAuthorizer(tt.rules)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: NewAuthorizer = %v, %v; want error %q", tt.name, a, err, tt.want)
		}
	}
	if _, err := NewAuthorizer(nil); err != nil {
		t.Errorf("no rules: %v", err)
	}
}

func TestCheckGroup(t *testing.T) {
	for g, valid := range map[string]bool{
		"slack:S0ONCALL": true, "discord:1234567890": true,
		"slack:": false, "slack:S": false, "slack:U01TANAKA": false, "slack:s0oncall": false,
		"discord:": false, "discord:ops": false, "S0ONCALL": false, "Slack:S0ONCALL": false, "tanaka": false,
	} {
		if err := CheckGroup(g); (err == nil) != valid {
			t.Errorf("CheckGroup(%q) = %v, want valid %v", g, err, valid)
		}
	}
}

// TestRunAuthorization: a refused command is answered with the reason, only
// to the responder, and changes nothing; help and open verbs run as before.
func TestRunAuthorization(t *testing.T) {
	a, err := NewAuthorizer(oncallRules)
	if err != nil {
		t.Fatal(err)
	}
	sato := bot.Actor{ID: "sato", Source: "slack"}
	tests := []struct {
		name   string
		in     Invocation
		groups *fakeGroups
		calls  int    // calls the bot got
		reply  string // exact
	}{
		{name: "refused", in: Invocation{Text: "resolve fixed it", Thread: 7, Actor: sato}, groups: &fakeGroups{groups: []string{"slack:S0DEV"}},
			reply: "Only tanaka, suzuki or members of slack:S0ONCALL may resolve incidents here."},
		{name: "refused ja", in: Invocation{Text: "解決", Thread: 7, Actor: sato, Locale: "ja"}, groups: &fakeGroups{},
			reply: "ここでインシデントの解決ができるのは tanaka、suzuki、slack:S0ONCALL のメンバーだけです。"},
		{name: "lookup failed", in: Invocation{Text: "assign INC-3 @suzuki", Actor: sato}, groups: &fakeGroups{err: errors.New("timeout")},
			reply: "Could not look up your groups, so assign is refused for now; try again. Only tanaka, suzuki or members of slack:S0ONCALL may assign incidents here."},
		{name: "new refused before the service check", in: Invocation{Text: "new db01 down", Actor: sato}, groups: &fakeGroups{},
			reply: "Only tanaka, suzuki or members of slack:S0ONCALL may declare incidents here."},
		{name: "group member", in: Invocation{Text: "resolve", Thread: 7, Actor: sato}, groups: &fakeGroups{groups: []string{"slack:S0ONCALL"}}, calls: 1,
			reply: "INC-7 resolved by sato"},
		{name: "contact", in: Invocation{Text: "close", Thread: 7, Actor: tanaka}, calls: 1, reply: "INC-7 resolved by tanaka"},
		{name: "open verb", in: Invocation{Text: "ack", Thread: 7, Actor: sato}, groups: &fakeGroups{}, calls: 1, reply: "INC-7 acknowledged by sato"},
		{name: "help", in: Invocation{Text: "help resolve", Actor: sato}, groups: &fakeGroups{}, reply: helpFor(VerbResolve, "")},
		{name: "usage error first", in: Invocation{Text: "assign INC-3", Actor: sato}, groups: &fakeGroups{},
			reply: "assign: name the new owner: @name\nusage: " + Usage(VerbAssign)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeIncidents{}
			tt.in.Authorizer = a
			if tt.groups != nil {
				tt.in.Groups = tt.groups.lookup
			}
			var log bytes.Buffer
			restore := captureLog(&log)
			r := Run(context.Background(), f, tt.in)
			restore()
			if len(f.calls) != tt.calls {
				t.Errorf("bot calls %+v, want %d", f.calls, tt.calls)
			}
			if r.Text != tt.reply {
				t.Errorf("reply\n %q\nwant\n %q", r.Text, tt.reply)
			}
			if tt.calls == 0 && (!r.Ephemeral || r.Incident != nil) {
				t.Errorf("refusal %+v: want ephemeral, no incident", r)
			}
		})
	}
}
