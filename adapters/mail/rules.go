package mail

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/hotline-dev/hotline/bot"
)

// Action is what a rule makes of an alert mail.
type Action string

const (
	ActionOpen    Action = "open"    // a firing alert: opens an incident or joins the open one
	ActionResolve Action = "resolve" // a resolved alert: resolves the open incident of its key
	ActionDrop    Action = "drop"    // no alert at all
)

// Match says which mail a rule is for. Each part it names must match: a
// keyword list when any of its keywords occurs in that part, a regex when it
// matches that part. Matching is done on text folded with NFKC and lower
// case, so full-width ＣＲＩＴＩＣＡＬ, half-width ｴﾗｰ and "Critical" all match
// the keywords CRITICAL and エラー. A keyword made only of ASCII characters
// matches as a whole word (where it begins or ends with a letter, digit or _,
// the text next to it must not be one, as with RE2's \b), so OK does not
// match "token" nor DOWN "download", while サーバーDOWN and web01-down match;
// any other keyword (Japanese) matches as a substring. Regexes (RE2) are
// case-insensitive and see the same folded text: the subject and the display
// name on one line, the body with its lines. From matches the sender's
// address or display name; a from regex's captures come from the address
// when it matches there.
type Match struct {
	Subject, Body, From                []string
	SubjectRegex, BodyRegex, FromRegex string
}

// Rule turns the mail it matches into an action. Rules are tried in order;
// the first that matches decides.
type Rule struct {
	Match    Match
	Action   Action
	Severity bot.Severity // open only; "": the service's default
	// Key is the dedup key template: {name} is replaced by the named capture
	// (?P<name>…) of the rule's regexes (the first non-empty one when several
	// have it), {subject} by the folded subject and {from} by the sender's
	// address; the result is folded like the text (NFKC, lower case, one
	// space). "" (or a template that comes out blank) means the default key,
	// see RuleSet.
	Key string
}

// DefaultRules are the rules of an email integration that names none, in
// tiers: recoveries first, so a mail that says both (web01 is OK (was
// CRITICAL)) resolves; then states by severity, before the words that only
// say "this is a notification" (PROBLEM, ALERT), so a Nagios "PROBLEM …
// is WARNING" is sev3; then OK and UP alone, which resolve only when no
// problem word is in the subject; anything else is an alert at the
// service's default severity, since an alert mailbox's mail is an alert.
func DefaultRules() []Rule {
	return []Rule{
		{Match: Match{Subject: []string{"復旧", "回復", "解消", "RECOVERY", "RECOVERED", "RESOLVED", "CLEARED"}}, Action: ActionResolve},
		// The state now is OK or UP, whatever the mail says it was.
		{Match: Match{SubjectRegex: `\bis\s+(?:now\s+)?(?:ok|up)\b\s*(?:$|[(:!.,*\])】])|(?:->|→|=>|⇒)\s*(?:(?:ok|up)\b|正常)`}, Action: ActionResolve},
		{Match: Match{Subject: []string{"障害", "異常", "エラー", "ダウン", "CRITICAL", "CRIT", "FATAL", "DOWN", "ERROR", "FAILED", "FAILURE"}}, Action: ActionOpen, Severity: bot.Sev2},
		{Match: Match{Subject: []string{"警告", "注意", "WARNING", "WARN"}}, Action: ActionOpen, Severity: bot.Sev3},
		{Match: Match{Subject: []string{"PROBLEM", "ALERT", "ALERTING", "ALARM", "FIRING", "TRIGGERED"}}, Action: ActionOpen, Severity: bot.Sev2},
		{Match: Match{Subject: []string{"正常", "OK", "UP"}}, Action: ActionResolve},
		{Action: ActionOpen},
	}
}

// Limits of what a mail puts into an alert; the raw mail is kept whole.
const (
	maxKeyRunes        = 200
	maxAlertTitleRunes = 300
	maxAlertBodyRunes  = 8000
)

// noSubject is the title, and the last-resort key, of a mail with neither
// subject nor text.
const noSubject = "(no subject)"

// RuleSet is a checked list of rules, safe for concurrent use.
//
// The default key of a mail (a rule without Key) is its subject (else the
// first line of its text) folded with NFKC and lower case, with bracket
// characters (【】[](){}<>「」『』*), the subject keywords of the set's open and
// resolve rules, status words (problem, recovery, ok, is, was, 発生, 重要 …),
// standalone numbers with their unit (95%, 3.2s, 12GB, 1,024) and dates and
// times (2024/05/01, 10:23:45) removed, punctuation trimmed from the words
// left and whitespace folded. So 「【障害】web01 ディスク使用率 95%」 and
// 「【復旧】web01 ディスク使用率 60%」 share the key "web01 ディスク使用率", as do
// "** PROBLEM Service Alert: web01/HTTP is CRITICAL **" and its RECOVERY "…
// is OK **" ("service web01/http"), while web01 and web02, disk and cpu, stay
// apart: digits that are part of a word (web01, 10.0.0.1, web01:8080) are
// kept. The limits: two alerts whose subjects differ only by those words or
// numbers share a key ("Job 41 failed" and "Job 42 failed", an HTTP 500 and
// a 502), a keyword that names a thing rather than a state (a host as a
// keyword) is removed too, and a recovery worded differently from its
// problem ("connection lost" / "connection restored") does not find it. A
// rule's Key with a regex capture, key: "{host}", is the exact tool for
// those. A key longer than 200 characters keeps its first 180 and a hash of
// the whole; a subject with nothing left falls back to the sender's address.
type RuleSet struct {
	rules []compiledRule
	strip []keyword // removed from subjects for the default key, longest first
}

type compiledRule struct {
	subject, body, from       []keyword
	subjectRe, bodyRe, fromRe *regexp.Regexp
	action                    Action
	severity                  bot.Severity
	key                       []keyPart // nil: the default key
}

// keyword is a folded keyword; word: ASCII, matched as a whole word.
type keyword struct {
	text               string
	word               bool
	wordStart, wordEnd bool // the keyword's first/last byte is a word byte
}

// RulesError lists every problem of a rule list, each with its path from
// "rules" (rules[2].match.subject_regex: …), so config validation can put
// its own path in front.
type RulesError struct{ Problems bot.Problems }

func (e *RulesError) Error() string { return strings.Join(e.Problems, "; ") }

// Unwrap makes a RulesError a *bot.InvalidError too.
func (e *RulesError) Unwrap() error { return e.Problems.Err() }

// CompileRules checks rules and names every problem at once; nil or empty
// rules mean DefaultRules. A rule that matches everything (no keyword, no
// regex) is a catch-all and may only be the last. A mail no rule matches is
// dropped.
func CompileRules(rules []Rule) (*RuleSet, error) {
	if len(rules) == 0 {
		rules = DefaultRules()
	}
	var problems bot.Problems
	rs := &RuleSet{rules: make([]compiledRule, len(rules))}
	for i, r := range rules {
		path := fmt.Sprintf("rules[%d]", i)
		c := &rs.rules[i]
		c.action, c.severity = r.Action, r.Severity
		switch r.Action {
		case ActionOpen, ActionResolve, ActionDrop:
		case "":
			problems.Add(path+".action", "is required: open, resolve or drop")
		default:
			problems.Add(path+".action", "must be open, resolve or drop")
		}
		switch {
		case r.Severity == "":
		case r.Action != ActionOpen:
			problems.Add(path+".severity", "only an open rule has a severity")
		case !r.Severity.Valid():
			problems.Add(path+".severity", "must be sev1, sev2, sev3 or sev4")
		}
		c.subject = compileKeywords(&problems, path+".match.subject", r.Match.Subject)
		c.body = compileKeywords(&problems, path+".match.body", r.Match.Body)
		c.from = compileKeywords(&problems, path+".match.from", r.Match.From)
		c.subjectRe = compileRegex(&problems, path+".match.subject_regex", r.Match.SubjectRegex)
		c.bodyRe = compileRegex(&problems, path+".match.body_regex", r.Match.BodyRegex)
		c.fromRe = compileRegex(&problems, path+".match.from_regex", r.Match.FromRegex)
		if c.catchAll() && i != len(rules)-1 {
			problems.Add(path+".match", "matches every mail: only the last rule may be a catch-all")
		}
		if r.Key != "" {
			if r.Action == ActionDrop {
				problems.Add(path+".key", "a drop rule makes no alert, so it has no key")
			}
			c.key = parseKey(r.Key)
			for _, p := range c.key {
				if p.name != "" && p.name != "subject" && p.name != "from" && !c.captures(p.name) {
					problems.Add(path+".key", fmt.Sprintf("{%s} is not a capture of the rule's regexes", p.name))
				}
			}
		}
		if c.action == ActionOpen || c.action == ActionResolve {
			rs.strip = append(rs.strip, c.subject...)
		}
	}
	if len(problems) > 0 {
		return nil, &RulesError{Problems: problems}
	}
	for _, w := range keyStatusWords {
		rs.strip = append(rs.strip, newKeyword(w))
	}
	// Longest first, so 障害発生 goes before 障害 takes half of it.
	slices.SortFunc(rs.strip, func(a, b keyword) int {
		return cmp.Or(len(b.text)-len(a.text), strings.Compare(a.text, b.text))
	})
	rs.strip = slices.CompactFunc(rs.strip, func(a, b keyword) bool { return a.text == b.text })
	return rs, nil
}

func compileKeywords(problems *bot.Problems, path string, words []string) []keyword {
	var out []keyword
	for i, w := range words {
		k := newKeyword(w)
		if k.text == "" {
			problems.Add(fmt.Sprintf("%s[%d]", path, i), "must not be blank")
			continue
		}
		out = append(out, k)
	}
	return out
}

func newKeyword(w string) keyword {
	k := keyword{text: foldLine(w)}
	if k.text == "" {
		return k
	}
	for i := 0; i < len(k.text); i++ {
		if k.text[i] >= utf8.RuneSelf {
			return k
		}
	}
	k.word = true
	k.wordStart, k.wordEnd = isWordByte(k.text[0]), isWordByte(k.text[len(k.text)-1])
	return k
}

func compileRegex(problems *bot.Problems, path, expr string) *regexp.Regexp {
	if expr == "" {
		return nil
	}
	re, err := regexp.Compile("(?i)" + expr)
	if err != nil {
		// Compiled alone so the error quotes the pattern as written.
		if _, plain := regexp.Compile(expr); plain != nil {
			err = plain
		}
		problems.Add(path, err.Error())
		return nil
	}
	return re
}

func (c *compiledRule) catchAll() bool {
	return len(c.subject) == 0 && len(c.body) == 0 && len(c.from) == 0 &&
		c.subjectRe == nil && c.bodyRe == nil && c.fromRe == nil
}

func (c *compiledRule) captures(name string) bool {
	for _, re := range []*regexp.Regexp{c.subjectRe, c.bodyRe, c.fromRe} {
		if re != nil && re.SubexpIndex(name) >= 0 {
			return true
		}
	}
	return false
}

// Decision is what the rules make of one mail.
type Decision struct {
	Rule     int // index of the rule that matched; -1 when none did (Action is then drop)
	Action   Action
	Severity bot.Severity // open only; "": the service's default
	Key      string       // the alert's dedup key (fingerprint); "" for drop
}

// folded is a mail's parts as rules see them, folded on first use.
type folded struct {
	m                   Message
	subject, body, name *string
	from                string
}

func (f *folded) get(p **string, raw string, line bool) string {
	if *p == nil {
		s := foldText(raw)
		if line {
			s = strings.Join(strings.Fields(s), " ")
		}
		*p = &s
	}
	return **p
}

func (f *folded) Subject() string  { return f.get(&f.subject, f.m.Subject, true) }
func (f *folded) Body() string     { return f.get(&f.body, f.m.Text, false) }
func (f *folded) FromName() string { return f.get(&f.name, f.m.FromName, true) }

// Apply returns the decision of the first rule that matches m.
func (rs *RuleSet) Apply(m Message) Decision {
	f := &folded{m: m, from: strings.ToLower(strings.TrimSpace(m.From))}
	for i := range rs.rules {
		r := &rs.rules[i]
		vals, ok := r.match(f)
		if !ok {
			continue
		}
		d := Decision{Rule: i, Action: r.action}
		if r.action == ActionDrop {
			return d
		}
		if r.action == ActionOpen {
			d.Severity = r.severity
		}
		if r.key != nil {
			d.Key = fillKey(r.key, vals, f)
		}
		if d.Key == "" {
			d.Key = rs.defaultKey(m)
		}
		return d
	}
	return Decision{Rule: -1, Action: ActionDrop}
}

// match reports whether every part r names matches; with a key template it
// also returns the regexes' named captures.
func (r *compiledRule) match(f *folded) (map[string]string, bool) {
	if len(r.subject) > 0 && !anyKeyword(r.subject, f.Subject()) {
		return nil, false
	}
	if len(r.body) > 0 && !anyKeyword(r.body, f.Body()) {
		return nil, false
	}
	if len(r.from) > 0 && !anyKeyword(r.from, f.from) && !anyKeyword(r.from, f.FromName()) {
		return nil, false
	}
	var vals map[string]string
	if r.key != nil {
		vals = map[string]string{}
	}
	if r.subjectRe != nil && !matchRegex(r.subjectRe, f.Subject(), vals) {
		return nil, false
	}
	if r.bodyRe != nil && !matchRegex(r.bodyRe, f.Body(), vals) {
		return nil, false
	}
	if r.fromRe != nil && !matchRegex(r.fromRe, f.from, vals) && !matchRegex(r.fromRe, f.FromName(), vals) {
		return nil, false
	}
	return vals, true
}

// matchRegex matches re against s, adding its named captures to vals (the
// first non-empty value of a name wins) when vals is not nil.
func matchRegex(re *regexp.Regexp, s string, vals map[string]string) bool {
	if vals == nil {
		return re.MatchString(s)
	}
	sub := re.FindStringSubmatch(s)
	if sub == nil {
		return false
	}
	for i, name := range re.SubexpNames() {
		if name != "" && vals[name] == "" {
			vals[name] = sub[i]
		}
	}
	return true
}

func anyKeyword(ks []keyword, s string) bool {
	for _, k := range ks {
		if i, _ := k.find(s, 0); i >= 0 {
			return true
		}
	}
	return false
}

// find returns the first occurrence of k in s at or after from, or -1.
func (k keyword) find(s string, from int) (int, int) {
	for from <= len(s) {
		i := strings.Index(s[from:], k.text)
		if i < 0 {
			return -1, -1
		}
		i += from
		j := i + len(k.text)
		if !k.word || ((!k.wordStart || i == 0 || !isWordByte(s[i-1])) && (!k.wordEnd || j == len(s) || !isWordByte(s[j]))) {
			return i, j
		}
		from = i + 1
	}
	return -1, -1
}

// Alert builds the alert of a mail that d opens or resolves (d from Apply;
// the caller does not call Alert for a drop, which has no alert: it returns
// the zero Alert). The title is the subject, else the first line of the
// text, else "(no subject)", on one line and cut to 300 characters; the
// body is the text cut to 8000; the labels name the sender, the Message-ID
// and the rule's index. raw is kept as it is, not copied.
func (rs *RuleSet) Alert(integration, service string, m Message, d Decision, raw []byte, received time.Time) bot.Alert {
	var status bot.AlertStatus
	switch d.Action {
	case ActionOpen:
		status = bot.AlertFiring
	case ActionResolve:
		status = bot.AlertResolved
	default:
		return bot.Alert{}
	}
	key := d.Key
	if key == "" {
		key = rs.defaultKey(m)
	}
	labels := map[string]string{"rule": strconv.Itoa(d.Rule)}
	if from := strings.ToLower(strings.TrimSpace(m.From)); from != "" {
		labels["from"] = from
	}
	if m.MessageID != "" {
		labels["message_id"] = m.MessageID
	}
	body := strings.TrimSpace(m.Text)
	if utf8.RuneCountInString(body) > maxAlertBodyRunes {
		body = clipRunes(body, maxAlertBodyRunes-1) + "…"
	}
	title := cmp.Or(strings.Join(strings.Fields(headline(m)), " "), noSubject)
	if utf8.RuneCountInString(title) > maxAlertTitleRunes {
		title = clipRunes(title, maxAlertTitleRunes-1) + "…"
	}
	return bot.Alert{
		Integration: integration,
		Source:      "email",
		Service:     service,
		Fingerprint: key,
		Status:      status,
		Title:       title,
		Body:        body,
		Severity:    d.Severity,
		Labels:      labels,
		Raw:         raw,
		ReceivedAt:  received,
	}
}

// headline is what names a mail: its subject, else the first non-blank
// line of its text; "" when it has neither.
func headline(m Message) string {
	if s := strings.TrimSpace(m.Subject); s != "" {
		return s
	}
	for line := range strings.Lines(m.Text) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

// foldText is s as rules see it: NFKC (full-width and half-width forms
// alike) and lower case.
func foldText(s string) string { return strings.ToLower(norm.NFKC.String(s)) }

// foldLine is foldText with whitespace runs folded to one space.
func foldLine(s string) string { return strings.Join(strings.Fields(foldText(s)), " ") }

// clipRunes returns the first n runes of s.
func clipRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordByte is a byte of an ASCII word, as RE2's \b sees it.
func isWordByte(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
