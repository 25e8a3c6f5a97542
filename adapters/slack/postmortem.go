package slack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/bot"
)

// PostPostmortem posts an incident's postmortem summary to the service's
// knowledge-base channel (bot.KnowledgeBase).
func (c *Chat) PostPostmortem(ctx context.Context, channel string, pm bot.Postmortem) error {
	text := postmortemText(pm, c.serviceName(pm.Service), c.locale)
	return c.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		_, _, err := c.api.PostMessageContext(ctx, channel,
			slack.MsgOptionText(text, false),
			slack.MsgOptionDisableLinkUnfurl(),
			slack.MsgOptionDisableMediaUnfurl(),
		)
		return err
	})
}

// postmortemText is the summary as Slack mrkdwn: what happened, how long it
// took, who owned it, cause, fix, follow-ups and the timeline.
func postmortemText(pm bot.Postmortem, service, locale string) string {
	ja := inboundJapanese(locale)
	pick := func(en, jp string) string { return inboundPick(ja, en, jp) }
	unknown := pick("(not written yet)", "（未記入）")
	field := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return unknown
		}
		return escapeMrkdwn(s)
	}
	dur := func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.Round(time.Second).String()
	}
	owner := pm.Owner
	if owner == "" {
		owner = pick("nobody", "未割り当て")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s %s: %s* (%s, %s)\n", pick("Postmortem", "振り返り"), pm.Ref(), escapeMrkdwn(pm.Title), escapeMrkdwn(service), pm.Severity)
	fmt.Fprintf(&b, "%s %s · %s %s · %s %s · %s %d\n",
		pick("Time to ack:", "確認まで:"), dur(pm.TimeToAck), pick("time to resolve:", "解決まで:"), dur(pm.TimeToResolve),
		pick("owner:", "担当:"), escapeMrkdwn(owner), pick("alerts:", "アラート数:"), pm.AlertCount)
	fmt.Fprintf(&b, "*%s* %s\n*%s* %s\n*%s* %s\n", pick("Cause:", "原因:"), field(pm.Cause), pick("Fix:", "対応:"), field(pm.Fix),
		pick("Follow-ups:", "今後の対応:"), field(pm.FollowUps))
	if len(pm.Timeline) > 0 {
		fmt.Fprintf(&b, "*%s*\n", pick("Timeline", "経緯"))
		events := pm.Timeline
		const keep = 30
		if len(events) > keep {
			events = events[len(events)-keep:]
		}
		for _, e := range events {
			line := fmt.Sprintf("%s %s", e.At.UTC().Format("01-02 15:04Z"), e.Kind)
			if e.Text != "" && e.Text != string(e.Kind) {
				line += ": " + escapeMrkdwn(e.Text)
			}
			if e.Actor != "" {
				line += fmt.Sprintf(" (%s)", escapeMrkdwn(e.Actor))
			}
			b.WriteString("• " + line + "\n")
		}
	}
	return b.String()
}
