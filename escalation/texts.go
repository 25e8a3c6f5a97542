package escalation

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

type textKey int

const (
	textCalling textKey = iota
	textPassed
	textNoAnswer
	textHungUp
	textBusy
	textMachine
	textFailed
	textNoAck
	textCallingAtOnce
	textChatDown
	textCallNow
	textCallNowAsked
	textEmptyStep
	textRoundOver
	textExhausted
)

// texts are the timeline entries the engine writes, in English and Japanese.
var texts = map[string]map[textKey]string{
	"en": {
		textCalling:       "calling %s (%s)",
		textPassed:        "%s passed it to the next person",
		textNoAnswer:      "%s did not answer",
		textHungUp:        "%s answered but pressed no key",
		textBusy:          "%s's line was busy",
		textMachine:       "voicemail answered for %s (not an acknowledgement)",
		textFailed:        "the call to %s failed",
		textNoAck:         "nobody acknowledged in chat within %s: calling by phone",
		textCallingAtOnce: "calling by phone at once",
		textChatDown:      "chat is unreachable: calling by phone now",
		textCallNow:       "calling by phone now",
		textCallNowAsked:  "asked to call by phone now",
		textEmptyStep:     "step %d has nobody to call right now",
		textRoundOver:     "round %d of %d: nobody accepted; calling again in %s",
		textExhausted:     "@here nobody accepted by phone after %d rounds",
	},
	"ja": {
		textCalling:       "%s に発信しています (%s)",
		textPassed:        "%s が次の担当者に回しました",
		textNoAnswer:      "%s は応答しませんでした",
		textHungUp:        "%s は応答しましたがキーを押しませんでした",
		textBusy:          "%s は話し中でした",
		textMachine:       "%s の留守番電話が応答しました (確認ではありません)",
		textFailed:        "%s への発信に失敗しました",
		textNoAck:         "%s 以内にチャットで確認がなかったため電話で呼び出します",
		textCallingAtOnce: "すぐに電話で呼び出します",
		textChatDown:      "チャットに接続できないため、すぐに電話で呼び出します",
		textCallNow:       "今すぐ電話で呼び出します",
		textCallNowAsked:  "電話での呼び出しが依頼されました",
		textEmptyStep:     "ステップ %d には今呼び出せる人がいません",
		textRoundOver:     "%d / %d 周目: 誰も応答しませんでした。%s 後にもう一度呼び出します",
		textExhausted:     "@here %d 周呼び出しましたが誰も応答しませんでした",
	},
}

func (e *Engine) text(k textKey, args ...any) string {
	t, ok := texts[e.locale]
	if !ok {
		t = texts["en"]
	}
	return fmt.Sprintf(t[k], args...)
}

type mailKind int

const (
	mailCalling mailKind = iota + 1
	mailAccepted
	mailRoundOver
	mailExhausted
)

var mailSubjects = map[string]map[mailKind]string{
	"en": {
		mailCalling:   "[Hotline] %s: calling on-call by phone",
		mailAccepted:  "[Hotline] %s: accepted by phone",
		mailRoundOver: "[Hotline] %s: nobody accepted this round",
		mailExhausted: "[Hotline] %s: NOBODY ACCEPTED",
	},
	"ja": {
		mailCalling:   "[Hotline] %s: 電話での呼び出しを開始しました",
		mailAccepted:  "[Hotline] %s: 電話で対応者が決まりました",
		mailRoundOver: "[Hotline] %s: この周では誰も応答しませんでした",
		mailExhausted: "[Hotline] %s: 誰も応答しませんでした",
	},
}

// mail is the status mail to the policy's admins; for mailAccepted, what is
// who accepted.
func (e *Engine) mail(pol Policy, inc *bot.Incident, kind mailKind, what string, now time.Time) bot.Mail {
	subjects, ok := mailSubjects[e.locale]
	if !ok {
		subjects = mailSubjects["en"]
	}
	var b strings.Builder
	at := now.Local().Format("2006-01-02 15:04:05 MST")
	if e.locale == "ja" {
		if kind == mailAccepted {
			fmt.Fprintf(&b, "%s が電話で %s を引き受けました (%s)。\n\n", what, inc.Ref(), at)
		} else {
			fmt.Fprintf(&b, "%s\n(%s)\n\n", what, at)
		}
		fmt.Fprintf(&b, "インシデント: %s %s\nサービス: %s\n重大度: %s\n状態: %s\n", inc.Ref(), inc.Title, e.serviceName(inc.Service), inc.Severity, inc.Status)
	} else {
		if kind == mailAccepted {
			fmt.Fprintf(&b, "%s accepted %s by phone at %s.\n\n", what, inc.Ref(), at)
		} else {
			fmt.Fprintf(&b, "%s\n(%s)\n\n", what, at)
		}
		fmt.Fprintf(&b, "Incident: %s %s\nService: %s\nSeverity: %s\nStatus: %s\n", inc.Ref(), inc.Title, e.serviceName(inc.Service), inc.Severity, inc.Status)
	}
	return bot.Mail{To: pol.Notify, Subject: fmt.Sprintf(subjects[kind], inc.Ref()) + " " + inc.Title, Body: b.String()}
}
