package slack

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
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

// slackStatuses marks each status the way Slack readers scan for it.
var slackStatuses = map[bot.Status]string{
	bot.StatusTriggered:    ":red_circle:",
	bot.StatusAcknowledged: ":large_yellow_circle:",
	bot.StatusResolved:     ":white_check_mark:",
}

// slackMarkup is how chattext's words are written in Slack mrkdwn.
var slackMarkup = chattext.Markup{
	Escape: escapeMrkdwn,
	Bold:   func(s string) string { return "*" + s + "*" },
	Italic: func(s string) string { return "_" + s + "_" },
	Time: func(t time.Time) string {
		at := t.UTC()
		return fmt.Sprintf("<!date^%d^{time}|%s>", at.Unix(), at.Format("15:04 UTC"))
	},
	Here: "<!here>",
}

// IncidentBlocks renders an incident's root message: the reference and
// title as a header everyone sees, its state as fields, and the buttons
// that still make sense for its status.
func IncidentBlocks(inc bot.Incident, serviceName, locale string) []slack.Block {
	t := chattext.For(locale)
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
		owner = t.Nobody
	}
	if serviceName == "" {
		serviceName = inc.Service
	}
	status, ok := t.Statuses[inc.Status]
	if !ok {
		status = string(inc.Status)
	}
	if mark := slackStatuses[inc.Status]; mark != "" {
		status = mark + " " + status
	}
	fields := []*slack.TextBlockObject{
		rootField(t.Severity, escapeMrkdwn(string(inc.Severity))),
		rootField(t.Status, status),
		rootField(t.Owner, escapeMrkdwn(owner)),
		rootField(t.Service, escapeMrkdwn(serviceName)),
	}
	if inc.Priority != "" {
		fields = append(fields, rootField(t.Priority, escapeMrkdwn(string(inc.Priority))))
	}
	if !inc.CreatedAt.IsZero() {
		created := inc.CreatedAt.UTC()
		// Slack shows <!date> in each reader's own time zone.
		fields = append(fields, rootField(t.Created, fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>",
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
func rootButtons(inc bot.Incident, t chattext.Texts) []slack.BlockElement {
	if inc.Status == bot.StatusResolved {
		return nil
	}
	number := strconv.FormatInt(inc.Number, 10)
	triggered := inc.Status == bot.StatusTriggered
	var out []slack.BlockElement
	if triggered {
		out = append(out, slack.NewButtonBlockElement(rootActionAck, number, plainTextObject(t.Ack)).WithStyle(slack.StylePrimary))
	}
	out = append(out,
		slack.NewButtonBlockElement(rootActionOwn, number, plainTextObject(t.Own)),
		slack.NewButtonBlockElement(rootActionResolve, number, plainTextObject(t.Resolve)),
	)
	if triggered {
		// Phoning people is not undone by a second click, so it asks first.
		call := slack.NewButtonBlockElement(rootActionEscalate, number, plainTextObject(t.CallNow)).WithStyle(slack.StyleDanger)
		call.Confirm = slack.NewConfirmationBlockObject(
			plainTextObject(t.CallTitle),
			plainTextObject(fmt.Sprintf(t.CallText, inc.Ref())),
			plainTextObject(t.CallConfirm),
			plainTextObject(t.CallDeny),
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

// digestReply renders the thread reply in Slack mrkdwn.
func digestReply(events []bot.Event, newAlerts int, locale string) string {
	return chattext.DigestReply(events, newAlerts, locale, slackMarkup)
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

func singleLine(s string) string { return chattext.SingleLine(s) }

func cutRunes(s string, n int) string { return chattext.CutRunes(s, n) }
