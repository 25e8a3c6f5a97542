package commands

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// Postmortems writes an incident's postmortem (postmortem); *bot.Bot is one.
type Postmortems interface {
	WritePostmortem(ctx context.Context, number int64, in bot.PostmortemInput, by bot.Actor) (bot.Postmortem, error)
}

// postmortemKeys maps the keys of postmortem, lower case and folded, to the
// field they set.
var postmortemKeys = map[string]string{
	"cause":      "cause",
	"原因":         "cause",
	"fix":        "fix",
	"対応":         "fix",
	"followups":  "followups",
	"follow-ups": "followups",
	"followup":   "followups",
	"今後":         "followups",
}

// postmortemFields reads "cause=… fix=… followups=…" (key:value too). A
// value runs to the next key, spaces and all: "cause=disk full by old logs".
func (p *parser) postmortemFields(cmd *Command) error {
	text := strings.TrimSpace(p.rest)
	p.rest = ""
	if text == "" {
		return nil
	}
	type field struct{ key, value string }
	var fields []field
	for len(text) > 0 {
		key, value, ok := cutPostmortemKey(text)
		if !ok {
			if len(fields) == 0 {
				return p.fail("%q is not key=value: write cause=… fix=… followups=…", firstWord(text))
			}
			break
		}
		rest := value
		end := len(rest)
		for i, r := range rest {
			if i > 0 && unicode.IsSpace(r) {
				if _, _, ok := cutPostmortemKey(strings.TrimLeftFunc(rest[i:], unicode.IsSpace)); ok {
					end = i
					break
				}
			}
		}
		fields = append(fields, field{key, strings.TrimSpace(rest[:end])})
		text = strings.TrimLeftFunc(rest[end:], unicode.IsSpace)
	}
	for _, f := range fields {
		var dst *string
		switch f.key {
		case "cause":
			dst = &cmd.Cause
		case "fix":
			dst = &cmd.Fix
		default:
			dst = &cmd.FollowUps
		}
		if *dst != "" {
			return p.fail("%s given twice", f.key)
		}
		if f.value == "" {
			return p.fail("%s= needs a value", f.key)
		}
		*dst = f.value
	}
	return nil
}

// cutPostmortemKey reads a known key and its = or : at the start of text.
func cutPostmortemKey(text string) (key, value string, ok bool) {
	i := strings.IndexFunc(text, func(r rune) bool { return r == '=' || r == ':' || r == '＝' || r == '：' || unicode.IsSpace(r) })
	if i <= 0 {
		return "", "", false
	}
	sep, size := utf8.DecodeRuneInString(text[i:])
	if unicode.IsSpace(sep) {
		return "", "", false
	}
	key, ok = postmortemKeys[strings.ToLower(fold(text[:i]))]
	if !ok {
		return "", "", false
	}
	return key, text[i+size:], true
}

func firstWord(text string) string {
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		return text[:i]
	}
	return text
}

// postmortem writes (or shows, without fields) the postmortem of a resolved
// incident; the summary is posted in the channel for everyone to see.
func postmortem(ctx context.Context, inc Incidents, cmd Command, number int64, by bot.Actor, ja bool) Reply {
	pms, ok := inc.(Postmortems)
	if !ok {
		return failure(ctx, errNoPort(VerbPostmortem, "Postmortems"), VerbPostmortem, number, by, ja)
	}
	pm, err := pms.WritePostmortem(ctx, number, bot.PostmortemInput{Cause: cmd.Cause, Fix: cmd.Fix, FollowUps: cmd.FollowUps}, by)
	if err != nil {
		return failure(ctx, err, VerbPostmortem, number, by, ja)
	}
	return Reply{Text: postmortemSummary(pm, ja)}
}

// postmortemSummary is the postmortem as a chat reply, with a hint on how to
// add what is missing.
func postmortemSummary(pm bot.Postmortem, ja bool) string {
	unknown := pick(ja, "(not recorded)", "（未記入）")
	or := func(s string) string {
		if s == "" {
			return unknown
		}
		return s
	}
	ack := pick(ja, "never acknowledged", "確認なし")
	if pm.TimeToAck > 0 {
		ack = roundDuration(pm.TimeToAck)
	}
	var b strings.Builder
	if ja {
		fmt.Fprintf(&b, "%s の振り返り: %s [%s]\n", pm.Ref(), pm.Title, pm.Severity)
		fmt.Fprintf(&b, "確認まで: %s / 解決まで: %s / アラート %d 件 / 担当: %s\n", ack, roundDuration(pm.TimeToResolve), pm.AlertCount, or(pm.Owner))
		fmt.Fprintf(&b, "原因: %s\n対応: %s\n今後: %s", or(pm.Cause), or(pm.Fix), or(pm.FollowUps))
	} else {
		fmt.Fprintf(&b, "Postmortem of %s: %s [%s]\n", pm.Ref(), pm.Title, pm.Severity)
		fmt.Fprintf(&b, "time to ack: %s / time to resolve: %s / %d alerts / owner: %s\n", ack, roundDuration(pm.TimeToResolve), pm.AlertCount, or(pm.Owner))
		fmt.Fprintf(&b, "cause: %s\nfix: %s\nfollow-ups: %s", or(pm.Cause), or(pm.Fix), or(pm.FollowUps))
	}
	if pm.Cause == "" || pm.Fix == "" {
		b.WriteString(pick(ja,
			fmt.Sprintf("\nAdd what is missing: /incident postmortem %s cause=… fix=… followups=…", pm.Ref()),
			fmt.Sprintf("\n未記入の項目は次のように追加できます: /incident 振り返り %s 原因=… 対応=… 今後=…", pm.Ref())))
	}
	return b.String()
}

func roundDuration(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	return d.String()
}
