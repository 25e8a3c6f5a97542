package webhook

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// Limits keep one noisy payload from producing a chat message no platform will
// post; the raw payload is kept whole on the alert for anyone who needs more.
const (
	maxTitleRunes       = 300
	maxLineRunes        = 300  // one summary or description in a listing
	maxBodyRunes        = 8000 // a tool-rendered message (Grafana's)
	maxFingerprintBytes = 128
)

// oneLine collapses all whitespace, newlines included, to single spaces: a
// title is shown on one line in every chat client.
func oneLine(s string, max int) string {
	return truncate(strings.Join(strings.Fields(s), " "), max)
}

// truncate cuts s to at most max runes, marking the cut with an ellipsis.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// fingerprintKey keeps a sender's dedup key as it is unless it is long enough
// to bloat the incident index; then its hash stands in, still stable.
func fingerprintKey(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxFingerprintBytes {
		return "h:" + shortHash(s)
	}
	return s
}

// isWebURL reports whether s is an absolute http(s) URL: the only kind a
// responder can open from a chat message.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return true
	}
	return false
}

// severityOf reads a tool's severity label; a value Hotline does not know is
// left to the service's default rather than refusing the alert.
func severityOf(labels map[string]string) bot.Severity {
	for _, key := range []string{"severity", "priority", "level"} {
		if v, ok := labels[key]; ok {
			if sev, err := bot.ParseSeverity(v); err == nil {
				return sev
			}
		}
	}
	return ""
}

// worse reports whether a is a more urgent severity than b ("" is least).
func worse(a, b bot.Severity) bool {
	if a == "" {
		return false
	}
	return b == "" || a < b // sev1 < sev2 < ... as strings
}

// publicLabels copies labels without Prometheus' internal "__" ones, which
// mean nothing to a responder.
func publicLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, "__") {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// linkSet gathers links without duplicates and with a limit per kind of link,
// so a group of 200 alerts yields a handful of useful links rather than 200
// silence links crowding out the runbook.
type linkSet struct {
	links  []bot.Link
	seen   map[string]bool
	byKind map[string]int
}

func newLinkSet() *linkSet {
	return &linkSet{seen: map[string]bool{}, byKind: map[string]int{}}
}

// add keeps u, shown as text, if it is a web URL not seen before and fewer
// than limit links of its kind are kept.
func (s *linkSet) add(kind string, limit int, text, u string) {
	u = strings.TrimSpace(u)
	if s.byKind[kind] >= limit || s.seen[u] || !isWebURL(u) {
		return
	}
	s.seen[u] = true
	s.byKind[kind]++
	s.links = append(s.links, bot.Link{Text: oneLine(text, 80), URL: u})
}

func (s *linkSet) list() []bot.Link {
	if len(s.links) == 0 {
		return nil
	}
	return s.links
}
