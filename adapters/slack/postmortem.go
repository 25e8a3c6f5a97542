package slack

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
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

// postmortemText is the summary as Slack mrkdwn.
func postmortemText(pm bot.Postmortem, service, locale string) string {
	return chattext.Postmortem(pm, service, locale, slackMarkup)
}
