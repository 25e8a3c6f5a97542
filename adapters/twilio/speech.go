package twilio

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
)

// speech is what the callee hears, in one language.
type speech struct {
	language, voice string
	japanese        bool
}

// speechFor picks the language of a contact's locale: Japanese for ja
// (ja, ja-JP, ...), English otherwise.
func speechFor(locale string) speech {
	l := strings.ToLower(strings.TrimSpace(locale))
	if l == "ja" || strings.HasPrefix(l, "ja-") || strings.HasPrefix(l, "ja_") {
		return speech{language: "ja-JP", voice: "Polly.Mizuki", japanese: true}
	}
	return speech{language: "en-US", voice: "Polly.Joanna"}
}

// incidentName is how the incident number is spoken.
func (s speech) incidentName(inc bot.Incident) string {
	if s.japanese {
		return fmt.Sprintf("インシデント %d 番", inc.Number)
	}
	return inc.Ref()
}

// announce is said three times: who calls, about what, and which keys to press.
func (s speech) announce(service, title string, sev bot.Severity, inc bot.Incident) string {
	level := strings.TrimPrefix(string(sev), "sev")
	if !sev.Valid() {
		level = ""
	}
	var b strings.Builder
	if s.japanese {
		b.WriteString("こちらは Hotline です。")
		if service != "" {
			fmt.Fprintf(&b, "サービス %s で、", service)
		}
		fmt.Fprintf(&b, "%sが発生しています。", s.incidentName(inc))
		if title != "" {
			fmt.Fprintf(&b, "%s。", title)
		}
		if level != "" {
			fmt.Fprintf(&b, "重大度 %s。", level)
		}
		b.WriteString(s.prompt())
		return b.String()
	}
	b.WriteString("This is Hotline. ")
	if service != "" {
		fmt.Fprintf(&b, "Service %s has incident %s", service, inc.Ref())
	} else {
		fmt.Fprintf(&b, "Incident %s", inc.Ref())
	}
	if title != "" {
		fmt.Fprintf(&b, ": %s", title)
	}
	b.WriteString(". ")
	if level != "" {
		fmt.Fprintf(&b, "Severity %s. ", level)
	}
	b.WriteString(s.prompt())
	return b.String()
}

func (s speech) prompt() string {
	if s.japanese {
		return "対応する場合は 1 を、次の担当者に回す場合は 2 を押してください。"
	}
	return "Press 1 to take this incident, press 2 to pass it to the next person."
}

// promptAgain follows a key that meant nothing.
func (s speech) promptAgain() string {
	if s.japanese {
		return "対応する場合は 1 を、次の担当者に回す場合は 2 を押してください。"
	}
	return "Press 1 to take this incident, 2 to pass it on."
}

// noKey ends a call in which nobody pressed anything.
func (s speech) noKey() string {
	if s.japanese {
		return "キー入力が確認できませんでした。失礼します。"
	}
	return "No key was pressed. Goodbye."
}

func (s speech) accepted(inc bot.Incident) string {
	if s.japanese {
		return fmt.Sprintf("ありがとうございます。%sはあなたの担当になりました。チームにも伝わっています。失礼します。", s.incidentName(inc))
	}
	return fmt.Sprintf("Thank you. %s is yours; the team can see you have it. Goodbye.", inc.Ref())
}

func (s speech) passed(inc bot.Incident) string {
	if s.japanese {
		return fmt.Sprintf("%sを次の担当者に回します。失礼します。", s.incidentName(inc))
	}
	return fmt.Sprintf("Passing %s to the next person. Goodbye.", inc.Ref())
}

func (s speech) taken(inc bot.Incident, by string) string {
	by = clip(oneLine(by), 60)
	switch {
	case s.japanese && by != "":
		return fmt.Sprintf("%sは、すでに %s さんが対応しています。失礼します。", s.incidentName(inc), by)
	case s.japanese:
		return fmt.Sprintf("%sは、対応の必要がなくなりました。失礼します。", s.incidentName(inc))
	case by != "":
		return fmt.Sprintf("%s is already taken by %s. Goodbye.", inc.Ref(), by)
	}
	return fmt.Sprintf("%s no longer needs you. Goodbye.", inc.Ref())
}

// oneLine folds newlines and runs of spaces: a title is spoken, not laid out.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s to at most n runes, marking the cut with an ellipsis, and
// drops trailing sentence ends so the speech does not pause twice.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) > n {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return strings.TrimRight(s, " .。")
}
