package slack

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"
)

// The root message's buttons. The inbound handler maps these action ids to
// commands; each button's value is the incident number in decimal.
const (
	rootActionAck      = "incident.ack"
	rootActionOwn      = "incident.own"
	rootActionResolve  = "incident.resolve"
	rootActionEscalate = "incident.escalate"
)

// Block ids of the root message, stable across edits.
const (
	rootBlockHeader  = "incident.header"
	rootBlockTitle   = "incident.title"
	rootBlockFields  = "incident.fields"
	rootBlockActions = "incident.actions"
)

// Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
const (
	headerTextLimit  = 150
	sectionTextLimit = 3000
	fieldTextLimit   = 2000
)

const (
	// digestLineLimit keeps a storm's reply readable: the lines beyond it
	// are counted, not shown.
	digestLineLimit = 20
	// digestTextLimit bounds one event's text in a reply line.
	digestTextLimit = 300
)

// rootTexts are the words of the root message and the thread replies in one
// locale.
type rootTexts struct {
	ack, own, resolve, callNow                 string
	callTitle, callText, callConfirm, callDeny string
	severity, status, owner, service, priority string
	created, nobody                            string
	statuses                                   map[bot.Status]string
	kinds                                      map[bot.EventKind]string
	byVia, via                                 string // actor, source; source
	more                                       string // omitted lines
	alertsSince                                func(n int) string
}

var rootLocales = map[string]rootTexts{
	"en": {
		ack: "Acknowledge", own: "Take ownership", resolve: "Resolve", callNow: "Call now",
		callTitle:   "Call now?",
		callText:    "This phones the on-call contacts about %s now.",
		callConfirm: "Call", callDeny: "Cancel",
		severity: "Severity", status: "Status", owner: "Owner", service: "Service", priority: "Priority",
		created: "Created", nobody: "nobody",
		statuses: map[bot.Status]string{
			bot.StatusTriggered:    ":red_circle: Triggered",
			bot.StatusAcknowledged: ":large_yellow_circle: Acknowledged",
			bot.StatusResolved:     ":white_check_mark: Resolved",
		},
		kinds: map[bot.EventKind]string{
			bot.EventOpened: "opened", bot.EventAlert: "alert", bot.EventAcknowledged: "acknowledged",
			bot.EventAssigned: "assigned", bot.EventClassified: "classified", bot.EventNote: "note",
			bot.EventResolved: "resolved", bot.EventReopened: "reopened",
			bot.EventEscalation: "escalation", bot.EventCall: "call", bot.EventStatus: "status",
		},
		byVia: "by %s via %s", via: "via %s",
		more: "… and %d more",
		alertsSince: func(n int) string {
			if n == 1 {
				return "+1 alert since the last update"
			}
			return fmt.Sprintf("+%d alerts since the last update", n)
		},
	},
	"ja": {
		ack: "確認", own: "担当する", resolve: "解決", callNow: "今すぐ電話",
		callTitle:   "今すぐ電話しますか？",
		callText:    "%s についてオンコール担当者に今すぐ電話します。",
		callConfirm: "電話する", callDeny: "キャンセル",
		severity: "重大度", status: "状態", owner: "担当者", service: "サービス", priority: "優先度",
		created: "発生日時", nobody: "未割り当て",
		statuses: map[bot.Status]string{
			bot.StatusTriggered:    ":red_circle: 未確認",
			bot.StatusAcknowledged: ":large_yellow_circle: 確認済み",
			bot.StatusResolved:     ":white_check_mark: 解決済み",
		},
		kinds: map[bot.EventKind]string{
			bot.EventOpened: "発生", bot.EventAlert: "アラート", bot.EventAcknowledged: "確認",
			bot.EventAssigned: "担当", bot.EventClassified: "分類", bot.EventNote: "メモ",
			bot.EventResolved: "解決", bot.EventReopened: "再開",
			bot.EventEscalation: "エスカレーション", bot.EventCall: "電話", bot.EventStatus: "対応状況",
		},
		byVia: "%s（%s 経由）", via: "%s 経由",
		more: "…ほか %d 件",
		alertsSince: func(n int) string {
			return fmt.Sprintf("前回の更新から +%d 件のアラート", n)
		},
	},
}

// rootTextsFor returns the locale's texts; anything but ja is English.
func rootTextsFor(locale string) rootTexts {
	if t, ok := rootLocales[locale]; ok {
		return t
	}
	return rootLocales["en"]
}

// IncidentBlocks renders an incident's root message: the reference and
// title as a header everyone sees, its state as fields, and the buttons
// that still make sense for its status.
func IncidentBlocks(inc bot.Incident, serviceName, locale string) []slack.Block {
	t := rootTextsFor(locale)
	title := singleLine(inc.Title)
	heading := inc.Ref()
	if title != "" {
		heading += " " + title
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainTextObject(cutRunes(heading, headerTextLimit)), slack.HeaderBlockOptionBlockID(rootBlockHeader)),
	}
	if utf8.RuneCountInString(heading) > headerTextLimit {
		// A header holds 150 characters; the whole title still has to be
		// readable, so it follows in full.
		full := "*" + inc.Ref() + "* " + escapeMrkdwn(title)
		blocks = append(blocks, slack.NewSectionBlock(mrkdwnTextObject(cutRunes(full, sectionTextLimit)), nil, nil, slack.SectionBlockOptionBlockID(rootBlockTitle)))
	}

	owner := inc.Owner
	if owner == "" {
		owner = t.nobody
	}
	if serviceName == "" {
		serviceName = inc.Service
	}
	status, ok := t.statuses[inc.Status]
	if !ok {
		status = string(inc.Status)
	}
	fields := []*slack.TextBlockObject{
		rootField(t.severity, escapeMrkdwn(string(inc.Severity))),
		rootField(t.status, status),
		rootField(t.owner, escapeMrkdwn(owner)),
		rootField(t.service, escapeMrkdwn(serviceName)),
	}
	if inc.Priority != "" {
		fields = append(fields, rootField(t.priority, escapeMrkdwn(string(inc.Priority))))
	}
	if !inc.CreatedAt.IsZero() {
		created := inc.CreatedAt.UTC()
		// Slack shows <!date> in each reader's own time zone.
		fields = append(fields, rootField(t.created, fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>",
			created.Unix(), created.Format("2006-01-02 15:04 UTC"))))
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID(rootBlockFields)))

	if buttons := rootButtons(inc, t); len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock(rootBlockActions, buttons...))
	}
	return blocks
}

// rootButtons are the actions left for the incident's status: all four
// while triggered, ownership and resolve once acknowledged, none when
// resolved.
func rootButtons(inc bot.Incident, t rootTexts) []slack.BlockElement {
	if inc.Status == bot.StatusResolved {
		return nil
	}
	number := strconv.FormatInt(inc.Number, 10)
	triggered := inc.Status == bot.StatusTriggered
	var out []slack.BlockElement
	if triggered {
		out = append(out, slack.NewButtonBlockElement(rootActionAck, number, plainTextObject(t.ack)).WithStyle(slack.StylePrimary))
	}
	out = append(out,
		slack.NewButtonBlockElement(rootActionOwn, number, plainTextObject(t.own)),
		slack.NewButtonBlockElement(rootActionResolve, number, plainTextObject(t.resolve)),
	)
	if triggered {
		// Phoning people is not undone by a second click, so it asks first.
		call := slack.NewButtonBlockElement(rootActionEscalate, number, plainTextObject(t.callNow)).WithStyle(slack.StyleDanger)
		call.Confirm = slack.NewConfirmationBlockObject(
			plainTextObject(t.callTitle),
			plainTextObject(fmt.Sprintf(t.callText, inc.Ref())),
			plainTextObject(t.callConfirm),
			plainTextObject(t.callDeny),
		).WithStyle(slack.StyleDanger)
		out = append(out, call)
	}
	return out
}

// rootFallback is the message text Slack shows in notifications and to
// clients that cannot render blocks.
func rootFallback(inc bot.Incident) string {
	s := inc.Ref()
	if title := singleLine(inc.Title); title != "" {
		s += " " + title
	}
	return escapeMrkdwn(s)
}

// digestReply renders the thread reply: one line per event (the newest
// state changes first to be kept when there are too many), "… and N more"
// for the rest, and the count of alerts since the last update. Empty when
// there is nothing new.
func digestReply(events []bot.Event, newAlerts int, locale string) string {
	t := rootTextsFor(locale)
	kept, omitted := digestSelect(events, digestLineLimit)
	var lines []string
	for _, e := range kept {
		lines = append(lines, digestLine(e, t))
	}
	if omitted > 0 {
		lines = append(lines, fmt.Sprintf(t.more, omitted))
	}
	if newAlerts > 0 {
		lines = append(lines, t.alertsSince(newAlerts))
	}
	return strings.Join(lines, "\n")
}

// digestSelect picks at most limit events, in their order. State changes
// (anything but an alert) go first, the newest of them when even they are
// too many; the earliest alerts fill the rest. It returns how many it left
// out.
func digestSelect(events []bot.Event, limit int) (kept []bot.Event, omitted int) {
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

// digestLine reads "<time> *acknowledged* text — _by tanaka via phone_".
func digestLine(e bot.Event, t rootTexts) string {
	var b strings.Builder
	if !e.At.IsZero() {
		at := e.At.UTC()
		fmt.Fprintf(&b, "<!date^%d^{time}|%s> ", at.Unix(), at.Format("15:04 UTC"))
	}
	kind, ok := t.kinds[e.Kind]
	if !ok {
		kind = string(e.Kind)
	}
	b.WriteString("*" + escapeMrkdwn(kind) + "*")
	text := strings.TrimPrefix(singleLine(e.Text), string(e.Kind)+": ")
	if text != "" && text != string(e.Kind) {
		text = escapeMrkdwn(cutRunes(text, digestTextLimit))
		if e.Kind != bot.EventAlert {
			// Hotline's own "@here" (an escalation that ran out) must ping
			// the channel. Alert texts come from outside and never do.
			text = mentionHere(text)
		}
		b.WriteString(" " + text)
	}
	actor, source := cutRunes(singleLine(e.Actor), 100), cutRunes(singleLine(e.Source), 100)
	switch {
	case actor != "" && source != "":
		b.WriteString(" — _" + escapeMrkdwn(fmt.Sprintf(t.byVia, actor, source)) + "_")
	case actor != "":
		b.WriteString(" — _" + escapeMrkdwn(actor) + "_")
	case source != "" && source != "system":
		b.WriteString(" — _" + escapeMrkdwn(fmt.Sprintf(t.via, source)) + "_")
	}
	return b.String()
}

// mentionHere turns each standalone "@here" (not part of an address such as
// ops@here.example) into Slack's <!here> mention, which notifies the
// channel's active members.
func mentionHere(s string) string {
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
			b.WriteString("<!here>")
		} else {
			b.WriteString(word)
		}
		s = s[i+len(word):]
	}
}

func rootField(label, value string) *slack.TextBlockObject {
	return mrkdwnTextObject(cutRunes("*"+label+"*\n"+value, fieldTextLimit))
}

func plainTextObject(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func mrkdwnTextObject(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// escapeMrkdwn escapes the three characters Slack reads as markup (&, <, >),
// so text from alerts cannot form links or mentions.
func escapeMrkdwn(s string) string { return slackutilsx.EscapeMessage(s) }

// singleLine folds line breaks and runs of spaces into single spaces.
func singleLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// cutRunes cuts s to at most n characters, marking the cut with "…".
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
