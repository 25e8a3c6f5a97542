package commands

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hotline-dev/hotline/bot"
)

// The verbs of the command language, as Command.Verb carries them.
const (
	VerbAck        = "ack"
	VerbOwn        = "own"
	VerbAssign     = "assign"
	VerbSev        = "sev"
	VerbClassify   = "classify"
	VerbNote       = "note"
	VerbResolve    = "resolve"
	VerbStatus     = "status"
	VerbEscalate   = "escalate"
	VerbNew        = "new"
	VerbList       = "list"
	VerbShow       = "show"
	VerbTimeline   = "timeline"
	VerbOnCall     = "oncall"
	VerbPostmortem = "postmortem"
	VerbHelp       = "help"
)

// verbOrder is the order of the help and of the command list in errors.
var verbOrder = []string{VerbAck, VerbOwn, VerbAssign, VerbSev, VerbClassify, VerbStatus, VerbNote, VerbEscalate,
	VerbResolve, VerbPostmortem, VerbNew, VerbList, VerbShow, VerbTimeline, VerbOnCall, VerbHelp}

// aliases maps the other words responders type to a verb. Keys are lower
// case; the Japanese ones are what a responder types with the IME on.
var aliases = map[string]string{
	"acknowledge": VerbAck,
	"take":        VerbOwn,
	"severity":    VerbSev,
	"close":       VerbResolve,
	"確認":          VerbAck,
	"担当":          VerbOwn,
	"解決":          VerbResolve,
	"メモ":          VerbNote,
	"状況":          VerbStatus,
	"ステータス":       VerbStatus,
	"page":        VerbEscalate,
	"呼び出し":        VerbEscalate,
	"エスカレ":        VerbEscalate,
	"declare":     VerbNew,
	"新規":          VerbNew,
	"起票":          VerbNew,
	"一覧":          VerbList,
	"表示":          VerbShow,
	"経緯":          VerbTimeline,
	"タイムライン":      VerbTimeline,
	"on-call":     VerbOnCall,
	"当番":          VerbOnCall,
	"振り返り":        VerbPostmortem,
	"ふりかえり":       VerbPostmortem,
}

// Command is one parsed "/incident ..." command.
type Command struct {
	Verb string // one of the Verb constants
	// Ref is the incident number named in the command; 0 when the incident
	// is implied by the thread the command was run in.
	Ref int64
	// Owner is the new owner of assign: a name from @name, or the user id
	// of a Slack or Discord mention.
	Owner    string
	Severity bot.Severity // sev; new, when given
	Impact   bot.Level    // classify
	Urgency  bot.Level    // classify
	// Text is the note, the resolve summary, the title of new (all with the
	// spacing the responder typed), or for help the verb asked about.
	Text string
	// Phase is the progress status reports: bot.ProgressInvestigating ...
	Phase string
	// Schedule is the on-call schedule oncall names, "" when none.
	Schedule string
	// Override is oncall override: Owner takes Schedule for Duration.
	Override bool
	Duration time.Duration
	// Cause, Fix and FollowUps are what postmortem writes; empty when not given.
	Cause, Fix, FollowUps string
}

// UsageError says what was wrong with a command and how to write it. Its
// text is meant for the responder who typed the command.
type UsageError struct {
	Verb   string // the verb, "" when the verb itself was not understood
	Reason string
	Usage  string // one usage line, or several separated by newlines
}

func (e *UsageError) Error() string {
	msg := e.Reason
	if e.Verb != "" {
		msg = e.Verb + ": " + msg
	}
	switch {
	case e.Usage == "":
	case strings.Contains(e.Usage, "\n"):
		msg += "\nusage:\n  " + strings.ReplaceAll(e.Usage, "\n", "\n  ")
	default:
		msg += "\nusage: " + e.Usage
	}
	return msg
}

// Parse reads the text after "/incident". Empty text asks for the help.
// Every refusal is a *UsageError.
func Parse(text string) (Command, error) {
	p := &parser{rest: text}
	word := p.next()
	if word == "" {
		return Command{Verb: VerbHelp}, nil
	}
	verb, ok := lookupVerb(word)
	if !ok {
		if isRefWord(word) {
			// "/incident INC-7 ack": say how to write it rather than
			// "unknown command".
			next, ok := lookupVerb(p.next())
			if !ok {
				next = "<command>"
			}
			return Command{}, &UsageError{Reason: fmt.Sprintf("start with the command, then the incident: /incident %s %s", next, fold(word)), Usage: allUsages()}
		}
		return Command{}, unknownVerb(word)
	}
	p.verb = verb
	cmd := Command{Verb: verb}
	var err error
	switch verb {
	case VerbHelp:
		if topic := p.next(); topic != "" {
			v, ok := lookupVerb(topic)
			if !ok {
				return Command{}, unknownVerb(topic)
			}
			cmd.Text = v
		}
	case VerbAck, VerbOwn, VerbEscalate, VerbShow, VerbTimeline:
		cmd.Ref, err = p.ref()
	case VerbList:
	case VerbAssign:
		if cmd.Ref, err = p.ref(); err == nil {
			cmd.Owner, err = p.user("name the new owner: @name")
		}
	case VerbStatus:
		if cmd.Ref, err = p.ref(); err == nil {
			cmd.Phase, err = p.phase()
		}
	case VerbNew:
		cmd.Text, cmd.Severity, err = p.titleSeverity()
	case VerbOnCall:
		err = p.onCall(&cmd)
	case VerbPostmortem:
		if cmd.Ref, err = p.ref(); err == nil {
			err = p.postmortemFields(&cmd)
		}
	case VerbSev:
		if cmd.Ref, err = p.ref(); err == nil {
			cmd.Severity, err = p.severity()
		}
	case VerbClassify:
		if cmd.Ref, err = p.ref(); err == nil {
			cmd.Impact, cmd.Urgency, err = p.levels()
		}
	case VerbNote, VerbResolve:
		cmd.Ref = p.textRef()
		cmd.Text = strings.TrimSpace(p.rest)
		p.rest = ""
		if verb == VerbNote && cmd.Text == "" {
			err = p.fail("write the text of the note")
		}
	}
	if err == nil {
		err = p.end()
	}
	if err != nil {
		return Command{}, err
	}
	return cmd, nil
}

func lookupVerb(word string) (string, bool) {
	w := strings.ToLower(fold(word))
	for _, v := range verbOrder {
		if w == v {
			return v, true
		}
	}
	v, ok := aliases[w]
	return v, ok
}

func unknownVerb(word string) *UsageError {
	return &UsageError{Reason: fmt.Sprintf("unknown command %q", word), Usage: allUsages()}
}

// parser hands out the words of a command one at a time and keeps the
// unread rest as typed, so a note keeps its spacing.
type parser struct {
	verb string
	rest string
}

// next pops the next word. Words are split at any Unicode space (the
// ideographic space a Japanese IME types included), except inside <...>,
// where Slack puts "<@U123|display name>".
func (p *parser) next() string {
	s := strings.TrimLeftFunc(p.rest, unicode.IsSpace)
	inAngle := false
	end := len(s)
	for i, r := range s {
		if r == '<' {
			inAngle = true
		} else if r == '>' {
			inAngle = false
		} else if unicode.IsSpace(r) && !inAngle {
			end = i
			break
		}
	}
	p.rest = s[end:]
	return s[:end]
}

func (p *parser) peek() string {
	saved := p.rest
	w := p.next()
	p.rest = saved
	return w
}

func (p *parser) fail(format string, args ...any) *UsageError {
	return &UsageError{Verb: p.verb, Reason: fmt.Sprintf(format, args...), Usage: Usage(p.verb)}
}

// end refuses words left over: "ack INC-3 now" should not ack silently and
// drop "now".
func (p *parser) end() error {
	if w := p.next(); w != "" {
		return p.fail("unexpected %q", w)
	}
	return nil
}

// isRefWord reports whether word is meant as an incident reference: INC-…
// or # followed by a digit. A bare number is not one, so "sev 2" stays a
// severity.
func isRefWord(word string) bool {
	w := strings.ToUpper(fold(word))
	if strings.HasPrefix(w, "INC-") {
		return true
	}
	rest, ok := strings.CutPrefix(w, "#")
	return ok && rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

// ref reads the optional incident reference that stands right after the verb.
func (p *parser) ref() (int64, error) {
	if !isRefWord(p.peek()) {
		return 0, nil
	}
	w := p.next()
	n, err := bot.ParseRef(fold(w))
	if err != nil {
		return 0, p.fail("%q is not an incident: write INC-<number>", w)
	}
	return n, nil
}

// textRef is ref for verbs followed by free text: a first word that is not a
// valid reference ("#hashtag", "INC-x") is left as text.
func (p *parser) textRef() int64 {
	saved := p.rest
	n, err := p.ref()
	if err != nil {
		p.rest = saved
		return 0
	}
	return n
}

// user reads @name or a mention; missing is the refusal when there is none.
func (p *parser) user(missing string) (string, error) {
	w := p.next()
	if w == "" {
		return "", p.fail("%s", missing)
	}
	u, ok := parseUser(fold(w))
	if !ok {
		return "", p.fail("%q is not a user: write @name or mention them", w)
	}
	switch strings.ToLower(u) {
	case "here", "channel", "everyone":
		if p.verb == VerbAssign {
			return "", p.fail("assign one person, not @%s", u)
		}
		return "", p.fail("name one person, not @%s", u)
	}
	return u, nil
}

// parseUser reads @name, a Slack mention <@U123> or <@U123|name>, or a
// Discord mention <@123> or <@!123> into the name or the platform's user id.
func parseUser(w string) (string, bool) {
	if inner, ok := strings.CutPrefix(w, "<@"); ok {
		inner, ok = strings.CutSuffix(inner, ">")
		if !ok {
			return "", false
		}
		inner = strings.TrimPrefix(inner, "!") // Discord's nickname mention
		id, _, _ := strings.Cut(inner, "|")    // Slack appends |name
		if id == "" || strings.IndexFunc(id, notIDRune) >= 0 {
			return "", false // <@&123> is a Discord role, not a user
		}
		return id, true
	}
	name, ok := strings.CutPrefix(w, "@")
	if !ok || name == "" || strings.ContainsAny(name, "@<>") {
		return "", false
	}
	return name, true
}

func notIDRune(r rune) bool {
	return !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
}

func (p *parser) severity() (bot.Severity, error) {
	w := p.next()
	if w == "" {
		return "", p.fail("give a severity (sev1–sev4)")
	}
	s, err := bot.ParseSeverity(fold(w))
	if err != nil {
		return "", p.fail("%q is not a severity (sev1–sev4)", w)
	}
	return s, nil
}

// levels reads impact=… and urgency=… (or key:value), either or both, in
// any order.
func (p *parser) levels() (impact, urgency bot.Level, err error) {
	for {
		w := p.next()
		if w == "" {
			break
		}
		pair := strings.ToLower(fold(w))
		i := strings.IndexAny(pair, "=:")
		if i < 0 {
			return "", "", p.fail("%q is not key=value: write impact=high or urgency=low", w)
		}
		key, value := pair[:i], pair[i+1:]
		var dst *bot.Level
		switch key {
		case "impact":
			dst = &impact
		case "urgency":
			dst = &urgency
		default:
			return "", "", p.fail("unknown key %q: use impact or urgency", key)
		}
		if *dst != "" {
			return "", "", p.fail("%s given twice", key)
		}
		l, err := bot.ParseLevel(value)
		if err != nil {
			return "", "", p.fail("%s %q is not high, medium or low", key, value)
		}
		*dst = l
	}
	if impact == "" && urgency == "" {
		return "", "", p.fail("give impact=… and/or urgency=…")
	}
	return impact, urgency, nil
}

// fold turns full-width ASCII (ＩＮＣ－７, ＃７, ２, ＠) into ASCII: with the
// IME on, that is what a Japanese keyboard types.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '！' && r <= '～' {
			return r - '！' + '!'
		}
		return r
	}, s)
}

// allUsages is every command's usage line, one a line.
func allUsages() string {
	lines := make([]string, len(verbOrder))
	for i, v := range verbOrder {
		lines[i] = Usage(v)
	}
	return strings.Join(lines, "\n")
}
