package commands

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hotline-dev/hotline/commands/chattext"
)

// verbHelp is how one verb is written and what it does, per language.
type verbHelp struct {
	usage  string // after "/incident "
	en, ja string
}

var verbHelps = map[string]verbHelp{
	VerbAck: {"ack [INC-n]",
		"acknowledge: you are on it, and the phone calls stop",
		"確認します（対応開始）。電話での呼び出しが止まります"},
	VerbOwn: {"own [INC-n]",
		"make yourself the owner",
		"自分が担当者になります"},
	VerbAssign: {"assign [INC-n] @user",
		"make someone else the owner",
		"担当者を指定します"},
	VerbSev: {"sev [INC-n] 1-4",
		"set the severity, 1 (worst) to 4",
		"重大度を設定します（1 が最も重大、4 まで）"},
	VerbClassify: {"classify [INC-n] impact=high|medium|low urgency=high|medium|low",
		"set impact and/or urgency; the priority follows from them",
		"影響度と緊急度を設定します（どちらか一方でも可）。優先度はそこから決まります"},
	VerbNote: {"note [INC-n] text",
		"add a note to the timeline",
		"タイムラインにメモを残します"},
	VerbResolve: {"resolve [INC-n] [summary]",
		"resolve, with an optional summary",
		"解決済みにします（要約は任意）"},
	VerbStatus: {"status [INC-n] investigating|identified|monitoring",
		"say where the work stands (調査中, 特定済み, 監視中 work too)",
		"対応状況を記録します（調査中・特定済み・監視中、英語でも可）"},
	VerbEscalate: {"escalate [INC-n]",
		"phone the on-call contacts now, without waiting for the chat window",
		"チャットでの確認を待たずに、オンコール担当者へ今すぐ電話します"},
	VerbPostmortem: {"postmortem [INC-n] [cause=…] [fix=…] [followups=…]",
		"write the postmortem of a resolved incident; without fields, show what is known",
		"解決済みインシデントの振り返りを記録します（原因=… 対応=… 今後=…）。指定がなければ分かっている内容を表示します"},
	VerbNew: {"new title [sev1-4]",
		"declare an incident by hand for this channel's service",
		"このチャンネルのサービスのインシデントを手動で起票します"},
	VerbList: {"list",
		"the open incidents, newest first",
		"対応中のインシデントを新しい順に表示します"},
	VerbShow: {"show [INC-n]",
		"an incident's state: status, severity, owner, times",
		"インシデントの状態（状態・重大度・担当者・日時）を表示します"},
	VerbTimeline: {"timeline [INC-n]",
		"an incident's last 15 timeline events",
		"インシデントのタイムラインの直近 15 件を表示します"},
	VerbOnCall: {"oncall [schedule] | oncall override @user 2h [schedule]",
		"who is on call; or put someone on call for a while (2h, 30m, 1d)",
		"現在の当番を表示します。override で一時的に当番を交代します（2h, 30m, 1d）"},
	VerbHelp: {"help [command]",
		"this list, or how to use one command",
		"この一覧、またはコマンドの使い方を表示します"},
}

// Usage is the usage line of verb (an alias works too), "" for an unknown
// verb.
func Usage(verb string) string {
	v, ok := lookupVerb(verb)
	if !ok {
		return ""
	}
	return "/incident " + verbHelps[v].usage
}

// Help is the list of commands with a line on what each does, in Japanese
// for a "ja" locale and in English otherwise.
func Help(locale string) string {
	ja := isJapanese(locale)
	var b strings.Builder
	if ja {
		b.WriteString("インシデントのコマンド:\n")
	} else {
		b.WriteString("Incident commands:\n")
	}
	for _, v := range verbOrder {
		b.WriteString(Usage(v) + " — " + describe(v, ja) + "\n")
	}
	var pairs []string
	for _, a := range sortedAliases() {
		pairs = append(pairs, a+" = "+aliases[a])
	}
	if ja {
		b.WriteString("インシデントのスレッド内では INC-n を省略できます。\n")
		b.WriteString("別名: " + strings.Join(pairs, "、"))
	} else {
		b.WriteString("In an incident's thread, INC-n may be left out.\n")
		b.WriteString("Also: " + strings.Join(pairs, ", "))
	}
	return b.String()
}

// helpFor is the help of one verb: its usage, what it does, its aliases.
func helpFor(verb, locale string) string {
	ja := isJapanese(locale)
	text := Usage(verb) + " — " + describe(verb, ja)
	var names []string
	for _, a := range sortedAliases() {
		if aliases[a] == verb {
			names = append(names, a)
		}
	}
	if len(names) > 0 {
		if ja {
			text += "\n別名: " + strings.Join(names, "、")
		} else {
			text += "\nAlso: " + strings.Join(names, ", ")
		}
	}
	return text
}

func describe(verb string, ja bool) string {
	if ja {
		return verbHelps[verb].ja
	}
	return verbHelps[verb].en
}

// sortedAliases lists the aliases in the order of their verbs in the help,
// the English one of a verb before the Japanese one.
func sortedAliases() []string {
	var out []string
	for a := range aliases {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(slices.Index(verbOrder, aliases[a]), slices.Index(verbOrder, aliases[b])), cmp.Compare(a, b))
	})
	return out
}

// isJapanese reports whether locale is Japanese: "ja", "ja-JP", "ja_JP".
func isJapanese(locale string) bool { return chattext.Japanese(locale) }
