package slack

import (
	"context"
	"strings"

	"github.com/hotline-dev/hotline/bot"
	"github.com/slack-go/slack"
)

// findRootLimit is how many of a channel's newest messages FindIncident
// looks through: a retry comes within minutes of the post, and one page is
// one call (conversations.history is Tier 3, 50+ a minute).
const findRootLimit = 50

// The bot asks for roots only of a chat that finds them; a signature that
// drifted would silently post twice again.
var _ bot.RootFinder = (*Chat)(nil)

// FindIncident finds the incident's root message among the channel's newest
// messages (bot.RootFinder), for a retry whose run before may have posted it
// and died before the thread was saved. A root is a bot's message whose
// header block is IncidentBlocks' and names the incident's reference; a
// member quoting the reference is not one, nor is a reply in a thread.
// Reading history takes the channels:history (groups:history for a private
// channel) scope; without it Slack refuses with missing_scope.
func (c *Chat) FindIncident(ctx context.Context, channel string, inc bot.Incident) (bot.Thread, bool, error) {
	if strings.TrimSpace(channel) == "" {
		return bot.Thread{}, false, bot.Invalid("find %s on slack: the service has no slack channel", inc.Ref())
	}
	var msgs []slack.Message
	err := c.call(ctx, "conversations.history", func(ctx context.Context) error {
		resp, err := c.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: channel, Limit: findRootLimit,
		})
		if resp != nil {
			msgs = resp.Messages
		}
		return err
	})
	if err != nil {
		return bot.Thread{}, false, err
	}
	for _, m := range msgs {
		if isRootOf(m, inc) {
			return bot.Thread{IncidentID: inc.ID, Platform: c.Platform(), Channel: channel, MessageID: m.Timestamp}, true, nil
		}
	}
	return bot.Thread{}, false, nil
}

// isRootOf says whether m is the root message IncidentBlocks rendered for
// inc, at any point of its life.
func isRootOf(m slack.Message, inc bot.Incident) bool {
	if m.BotID == "" || m.Timestamp == "" || (m.ThreadTimestamp != "" && m.ThreadTimestamp != m.Timestamp) {
		return false
	}
	ref := inc.Ref()
	for _, b := range m.Blocks.BlockSet {
		h, ok := b.(*slack.HeaderBlock)
		if !ok || h.BlockID != rootBlockHeader || h.Text == nil {
			continue
		}
		return h.Text.Text == ref || strings.HasPrefix(h.Text.Text, ref+" ")
	}
	return false
}
