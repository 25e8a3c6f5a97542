package commands

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// phases maps what a responder types for status to the phase. Keys are
// lower case, full-width already folded.
var phases = map[string]string{
	bot.ProgressInvestigating: bot.ProgressInvestigating,
	bot.ProgressIdentified:    bot.ProgressIdentified,
	bot.ProgressMonitoring:    bot.ProgressMonitoring,
	"調査中":                     bot.ProgressInvestigating,
	"特定済み":                    bot.ProgressIdentified,
	"特定済":                     bot.ProgressIdentified,
	"監視中":                     bot.ProgressMonitoring,
}

// phaseNames is how the Japanese replies name a phase.
var phaseNames = map[string]string{
	bot.ProgressInvestigating: "調査中",
	bot.ProgressIdentified:    "特定済み",
	bot.ProgressMonitoring:    "監視中",
}

func (p *parser) phase() (string, error) {
	w := p.next()
	if w == "" {
		return "", p.fail("give the phase: investigating, identified or monitoring")
	}
	ph, ok := phases[strings.ToLower(fold(w))]
	if !ok {
		return "", p.fail("%q is not a phase: write investigating, identified or monitoring", w)
	}
	return ph, nil
}

// titleSeverity reads the title of new, as typed, and an optional severity
// as its last word. Only sev1–sev4 counts as one there: "API latency high"
// is a title, not a sev2 incident called "API latency".
func (p *parser) titleSeverity() (string, bot.Severity, error) {
	text := strings.TrimSpace(p.rest)
	p.rest = ""
	start, end := 0, strings.LastIndexFunc(text, unicode.IsSpace)
	if end >= 0 {
		_, size := utf8.DecodeRuneInString(text[end:])
		start = end + size
	} else {
		end = 0
	}
	var sev bot.Severity
	if s, ok := sevWord(text[start:]); ok {
		sev = s
		text = strings.TrimRightFunc(text[:end], unicode.IsSpace)
	}
	if text == "" {
		return "", "", p.fail("write the title of the incident")
	}
	return text, sev, nil
}

// sevWord reads sev1..sev4 in any case, full-width included.
func sevWord(w string) (bot.Severity, bool) {
	s := bot.Severity(strings.ToLower(fold(w)))
	return s, s.Valid()
}

// overrideWords start "oncall override @user 2h".
var overrideWords = map[string]bool{"override": true, "交代": true, "代理": true}

// onCall reads "[schedule]" or "override @user <duration> [schedule]".
func (p *parser) onCall(cmd *Command) error {
	if !overrideWords[strings.ToLower(fold(p.peek()))] {
		cmd.Schedule = fold(p.next())
		return nil
	}
	p.next()
	cmd.Override = true
	var err error
	if cmd.Owner, err = p.user("name who takes over: @name"); err != nil {
		return err
	}
	if cmd.Duration, err = p.duration(); err != nil {
		return err
	}
	cmd.Schedule = fold(p.next())
	return nil
}

// maxOverride bounds an override typed in chat: a typo of 200h should not
// take someone off the rotation for weeks.
const maxOverride = 14 * 24 * time.Hour

// duration reads 2h, 90m, 1h30m, 1d, 2時間, 30分, 1日.
func (p *parser) duration() (time.Duration, error) {
	w := p.next()
	if w == "" {
		return 0, p.fail("give how long: 2h, 30m, 1d")
	}
	d, ok := parseDuration(w)
	if !ok {
		return 0, p.fail("%q is not a duration: write 2h, 30m or 1d", w)
	}
	if d <= 0 || d > maxOverride {
		return 0, p.fail("%q: an override lasts more than 0 and at most 14d", w)
	}
	return d, nil
}

func parseDuration(w string) (time.Duration, bool) {
	s := strings.ToLower(fold(w))
	s = strings.NewReplacer("時間", "h", "分", "m", "日", "d").Replace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 1000 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
