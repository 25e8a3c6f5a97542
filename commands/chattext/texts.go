// Package chattext is what Hotline says on every chat platform, apart from
// how each platform marks it up: the words of the root message, its buttons
// and the thread digests in Japanese and English, which events a digest
// keeps, and the postmortem summary. Slack and Discord render it with their
// own Markup.
package chattext

import (
	"fmt"
	"strings"

	"github.com/hotline-dev/hotline/bot"
)

// Texts are the words of the root message and the thread replies in one
// locale.
type Texts struct {
	Ack, Own, Resolve, CallNow                 string
	CallTitle, CallText, CallConfirm, CallDeny string // CallText has one %s: the incident
	Severity, Status, Owner, Service, Priority string
	Created, Nobody                            string
	Statuses                                   map[bot.Status]string
	Kinds                                      map[bot.EventKind]string
	ByVia, Via                                 string // "by %s via %s" (actor, source); "via %s"
	More                                       string // "… and %d more": omitted lines
	AlertsSince                                func(n int) string
}

var locales = map[string]Texts{
	"en": {
		Ack: "Acknowledge", Own: "Take ownership", Resolve: "Resolve", CallNow: "Call now",
		CallTitle:   "Call now?",
		CallText:    "This phones the on-call contacts about %s now.",
		CallConfirm: "Call", CallDeny: "Cancel",
		Severity: "Severity", Status: "Status", Owner: "Owner", Service: "Service", Priority: "Priority",
		Created: "Created", Nobody: "nobody",
		Statuses: map[bot.Status]string{
			bot.StatusTriggered:    "Triggered",
			bot.StatusAcknowledged: "Acknowledged",
			bot.StatusResolved:     "Resolved",
		},
		Kinds: map[bot.EventKind]string{
			bot.EventOpened: "opened", bot.EventAlert: "alert", bot.EventAcknowledged: "acknowledged",
			bot.EventAssigned: "assigned", bot.EventClassified: "classified", bot.EventNote: "note",
			bot.EventResolved: "resolved", bot.EventReopened: "reopened",
			bot.EventEscalation: "escalation", bot.EventCall: "call", bot.EventStatus: "status",
		},
		ByVia: "by %s via %s", Via: "via %s",
		More: "… and %d more",
		AlertsSince: func(n int) string {
			if n == 1 {
				return "+1 alert since the last update"
			}
			return fmt.Sprintf("+%d alerts since the last update", n)
		},
	},
	"ja": {
		Ack: "確認", Own: "担当する", Resolve: "解決", CallNow: "今すぐ電話",
		CallTitle:   "今すぐ電話しますか？",
		CallText:    "%s についてオンコール担当者に今すぐ電話します。",
		CallConfirm: "電話する", CallDeny: "キャンセル",
		Severity: "重大度", Status: "状態", Owner: "担当者", Service: "サービス", Priority: "優先度",
		Created: "発生日時", Nobody: "未割り当て",
		Statuses: map[bot.Status]string{
			bot.StatusTriggered:    "未確認",
			bot.StatusAcknowledged: "確認済み",
			bot.StatusResolved:     "解決済み",
		},
		Kinds: map[bot.EventKind]string{
			bot.EventOpened: "発生", bot.EventAlert: "アラート", bot.EventAcknowledged: "確認",
			bot.EventAssigned: "担当", bot.EventClassified: "分類", bot.EventNote: "メモ",
			bot.EventResolved: "解決", bot.EventReopened: "再開",
			bot.EventEscalation: "エスカレーション", bot.EventCall: "電話", bot.EventStatus: "対応状況",
		},
		ByVia: "%s（%s 経由）", Via: "%s 経由",
		More: "…ほか %d 件",
		AlertsSince: func(n int) string {
			return fmt.Sprintf("前回の更新から +%d 件のアラート", n)
		},
	},
}

// Supported reports whether locale is one Hotline speaks: ja or en.
func Supported(locale string) bool {
	_, ok := locales[locale]
	return ok
}

// For returns the locale's texts; anything but Japanese is English.
func For(locale string) Texts {
	if Japanese(locale) {
		return locales["ja"]
	}
	return locales["en"]
}

// Japanese reports whether locale is Japanese (ja, ja-JP, ja_JP).
func Japanese(locale string) bool {
	l := strings.ToLower(locale)
	return l == "ja" || strings.HasPrefix(l, "ja-") || strings.HasPrefix(l, "ja_")
}

// Pick returns jp when ja, else en.
func Pick(ja bool, en, jp string) string {
	if ja {
		return jp
	}
	return en
}
