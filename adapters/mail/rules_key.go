// Dedup keys: a rule's key template, and the default key made from the
// subject (see RuleSet) by removing keywords, status words and measures.

package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keyStatusWords are removed from the subject to make the default key, on
// top of the keywords of the set's open and resolve rules: the words that
// change between the problem mail and its recovery (states, notification
// types, the verbs around them) and severity tags.
var keyStatusWords = []string{
	"problem", "recovery", "recovered", "resolved", "cleared", "ok", "up", "down",
	"critical", "crit", "warning", "warn", "unknown", "unreachable", "pending",
	"error", "failed", "failure", "succeeded", "success",
	"alert", "alerting", "alarm", "firing", "triggered", "re-triggered", "updated",
	"acknowledgement", "acknowledged", "flappingstart", "flappingstop", "flappingdisabled",
	"downtimestart", "downtimeend", "downtimecancelled",
	"info", "information", "notice", "fatal", "disaster", "emergency",
	"is", "was", "are", "were", "now", "in", "has", "been", "became", "changed", "still",
	"障害", "復旧", "回復", "解消", "正常", "異常", "警告", "注意", "エラー", "ダウン", "停止",
	"発生", "検知", "継続", "解除", "再通知", "重要", "緊急", "重大", "致命的", "重度", "軽度", "情報",
}

// keyPart is literal text, or the value named by name when name is set.
type keyPart struct{ text, name string }

// parseKey splits a key template into text and {name} references; a brace
// that does not enclose a name is text.
func parseKey(tmpl string) []keyPart {
	var parts []keyPart
	for tmpl != "" {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(tmpl[open:], '}')
		if end < 0 {
			break
		}
		name := tmpl[open+1 : open+end]
		if !isName(name) {
			parts = append(parts, keyPart{text: tmpl[:open+1]})
			tmpl = tmpl[open+1:]
			continue
		}
		parts = append(parts, keyPart{text: tmpl[:open]}, keyPart{name: name})
		tmpl = tmpl[open+end+1:]
	}
	return append(parts, keyPart{text: tmpl})
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isWordByte(c) && (i > 0 || c < '0' || c > '9')) {
			return false
		}
	}
	return s != ""
}

func fillKey(parts []keyPart, vals map[string]string, f *folded) string {
	var b strings.Builder
	for _, p := range parts {
		switch v, ok := vals[p.name]; {
		case p.name == "":
			b.WriteString(p.text)
		case ok:
			b.WriteString(v)
		case p.name == "subject":
			b.WriteString(f.Subject())
		case p.name == "from":
			b.WriteString(f.from)
		}
	}
	return capKey(foldLine(b.String()))
}

// defaultKey is m's dedup key without a template: see RuleSet.
func (rs *RuleSet) defaultKey(m Message) string {
	s := foldText(headline(m))
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune("【】[](){}<>「」『』〔〕〈〉《》*", r) {
			return ' '
		}
		return r
	}, s)
	for _, k := range rs.strip {
		s = removeKeyword(s, k)
	}
	s = removeMeasures(s)
	words := strings.Fields(s)
	kept := words[:0]
	for _, w := range words {
		if w = strings.TrimFunc(w, isPunctOrSymbol); w != "" {
			kept = append(kept, w)
		}
	}
	if key := strings.Join(kept, " "); key != "" {
		return capKey(key)
	}
	if from := strings.ToLower(strings.TrimSpace(m.From)); from != "" {
		return capKey(from)
	}
	if h := foldLine(headline(m)); h != "" {
		return capKey(h)
	}
	return noSubject
}

func removeKeyword(s string, k keyword) string {
	i, j := k.find(s, 0)
	if i < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i >= 0 {
		b.WriteString(s[last:i])
		b.WriteByte(' ')
		last = j
		i, j = k.find(s, j)
	}
	b.WriteString(s[last:])
	return b.String()
}

var (
	numberRun   = regexp.MustCompile(`^[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?$`)
	dateTimeRun = regexp.MustCompile(`^(?:(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?)t?)?` +
		`(?:[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?(?:[+-][0-9]{2}:?[0-9]{2})?$`)
	// measureUnits may follow a number, longest first.
	measureUnits = []string{
		"seconds", "minutes", "second", "minute", "hours", "iops", "gbps", "mbps", "kbps",
		"secs", "mins", "hour", "days", "bps", "rps", "qps", "ops", "sec", "min", "hrs", "day",
		"kib", "mib", "gib", "tib", "°c", "°f", "kb", "mb", "gb", "tb", "pb", "ms", "μs", "us", "ns", "hr",
		"%", "b", "k", "m", "g", "t", "s", "h", "d", "w",
	}
)

// removeMeasures removes standalone numbers with their unit, dates and
// times. A number is standalone when no letter or digit is attached to it,
// directly or through . : / - @ (web01, 10.0.0.1, v1.2, web01:8080 stay).
func removeMeasures(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || attached(s, i) {
			continue
		}
		j := i
		for j < len(s) {
			if isDigit(s[j]) {
				j++
			} else if j+1 < len(s) && strings.IndexByte(".,:/-+t", s[j]) >= 0 && isDigit(s[j+1]) {
				j += 2
			} else {
				break
			}
		}
		run, end := s[i:j], j
		switch {
		case numberRun.MatchString(run):
			k := j
			if k < len(s) && s[k] == ' ' {
				k++
			}
			for _, u := range measureUnits {
				if strings.HasPrefix(s[k:], u) && (k+len(u) == len(s) || !isWordByte(s[k+len(u)])) {
					end = k + len(u)
					break
				}
			}
		case dateTimeRun.MatchString(run):
			if end < len(s) && s[end] == 'z' {
				end++
			}
		default:
			i = j - 1
			continue
		}
		if end < len(s) && isWordByte(s[end]) {
			i = j - 1
			continue
		}
		b.WriteString(s[last:i])
		b.WriteByte(' ')
		last, i = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// attached reports whether the digit at i continues a word: a word byte
// before it, or a joiner with a word byte before that.
func attached(s string, i int) bool {
	if i == 0 {
		return false
	}
	if isWordByte(s[i-1]) {
		return true
	}
	return strings.IndexByte(".:/-@", s[i-1]) >= 0 && i >= 2 && isWordByte(s[i-2])
}

// capKey keeps a key readable and bounded: a long one keeps its start and a
// hash of the whole, so two long subjects that differ at the end stay apart.
func capKey(s string) string {
	if utf8.RuneCountInString(s) <= maxKeyRunes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimSpace(clipRunes(s, 180)) + " #" + hex.EncodeToString(sum[:6])
}

func isPunctOrSymbol(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
