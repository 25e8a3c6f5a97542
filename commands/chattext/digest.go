package chattext

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

const (
	// DigestLineLimit keeps a storm's reply readable: the lines beyond it
	// are counted, not shown.
	DigestLineLimit = 20
	// DigestTextLimit bounds one event's text in a reply line.
	DigestTextLimit = 300
)

// Markup is how one platform writes what chattext says.
type Markup struct {
	// Escape makes text from outside (alerts, notes) inert: no links,
	// mentions or formatting of its own.
	Escape func(string) string
	Bold   func(string) string
	Italic func(string) string
	// Time shows an instant, ideally in each reader's own time zone.
	Time func(time.Time) string
	// Here is the platform's channel-wide mention that Hotline's own
	// "@here" (an escalation that ran out) becomes.
	Here string
}

// DigestReply renders a thread reply: one line per event (the newest state
// changes first to be kept when there are too many), "… and N more" for the
// rest, and the count of alerts since the last update. Empty when there is
// nothing new.
func DigestReply(events []bot.Event, newAlerts int, locale string, m Markup) string {
	t := For(locale)
	kept, omitted := DigestSelect(events, DigestLineLimit)
	var lines []string
	for _, e := range kept {
		lines = append(lines, DigestLine(e, t, m))
	}
	if omitted > 0 {
		lines = append(lines, fmt.Sprintf(t.More, omitted))
	}
	if newAlerts > 0 {
		lines = append(lines, t.AlertsSince(newAlerts))
	}
	return strings.Join(lines, "\n")
}

// DigestSelect picks at most limit events, in their order. State changes
// (anything but an alert) go first, the newest of them when even they are
// too many; the earliest alerts fill the rest. It returns how many it left
// out.
func DigestSelect(events []bot.Event, limit int) (kept []bot.Event, omitted int) {
	if len(events) <= limit {
		return events, 0
	}
	var changes int
	for _, e := range events {
		if e.Kind != bot.EventAlert {
			changes++
		}
	}
	skipChanges := max(changes-limit, 0) // the oldest ones
	alertRoom := max(limit-changes, 0)
	for _, e := range events {
		if e.Kind == bot.EventAlert {
			if alertRoom == 0 {
				continue
			}
			alertRoom--
		} else if skipChanges > 0 {
			skipChanges--
			continue
		}
		kept = append(kept, e)
	}
	return kept, len(events) - len(kept)
}

// DigestLine reads "<time> *acknowledged* text — _by tanaka via phone_".
func DigestLine(e bot.Event, t Texts, m Markup) string {
	var b strings.Builder
	if !e.At.IsZero() {
		b.WriteString(m.Time(e.At) + " ")
	}
	kind, ok := t.Kinds[e.Kind]
	if !ok {
		kind = string(e.Kind)
	}
	b.WriteString(m.Bold(m.Escape(kind)))
	text := strings.TrimPrefix(SingleLine(e.Text), string(e.Kind)+": ")
	if text != "" && text != string(e.Kind) {
		text = CutRunes(strings.ReplaceAll(text, hereMark, ""), DigestTextLimit)
		if e.Kind == bot.EventEscalation {
			// Hotline's own "@here" (an escalation that ran out) must ping
			// the channel. Alerts and notes come from outside and never do.
			// The mark survives escaping, which may neutralise a written
			// "@here".
			text = strings.ReplaceAll(m.Escape(MentionHere(text, hereMark)), hereMark, m.Here)
		} else {
			text = m.Escape(text)
		}
		b.WriteString(" " + text)
	}
	actor, source := CutRunes(SingleLine(e.Actor), 100), CutRunes(SingleLine(e.Source), 100)
	switch {
	case actor != "" && source != "":
		b.WriteString(" — " + m.Italic(m.Escape(fmt.Sprintf(t.ByVia, actor, source))))
	case actor != "":
		b.WriteString(" — " + m.Italic(m.Escape(actor)))
	case source != "" && source != "system":
		b.WriteString(" — " + m.Italic(m.Escape(fmt.Sprintf(t.Via, source))))
	}
	return b.String()
}

// hereMark stands for a mention while the text around it is escaped: a
// private-use character no platform's escaping touches.
const hereMark = "\uE000"

// HasHere reports whether s holds a standalone "@here" that MentionHere
// would turn into a mention.
func HasHere(s string) bool { return MentionHere(s, "\x00") != s }

// MentionHere turns each standalone "@here" (not part of an address such as
// ops@here.example) into mention, the platform's channel-wide ping.
func MentionHere(s, mention string) string {
	const word = "@here"
	var b strings.Builder
	for {
		i := strings.Index(s, word)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(word):])
		standalone := (i == 0 || !(unicode.IsLetter(before) || unicode.IsDigit(before) || strings.ContainsRune("._+-", before))) &&
			(i+len(word) == len(s) || !(unicode.IsLetter(after) || unicode.IsDigit(after) || after == '_' || after == '-'))
		b.WriteString(s[:i])
		if standalone {
			b.WriteString(mention)
		} else {
			b.WriteString(word)
		}
		s = s[i+len(word):]
	}
}

// SingleLine folds line breaks and runs of spaces into single spaces.
func SingleLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// CutRunes cuts s to at most n characters, marking the cut with "…".
func CutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
