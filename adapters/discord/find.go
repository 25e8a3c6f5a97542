package discord

import (
	"context"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
)

// findRootLimit is how many of a channel's newest messages FindIncident
// looks through: a retry comes within minutes of the post, and one page is
// one call.
const findRootLimit = 50

// The bot asks for roots only of a chat that finds them; a signature that
// drifted would silently post twice again.
var _ bot.RootFinder = (*Chat)(nil)

// FindIncident finds the incident's root message among the channel's
// newest messages (bot.RootFinder), for a retry whose run before may have
// posted it and died before the thread was saved. A root is a bot's message
// whose first embed is IncidentMessage's: titled with the incident's
// reference and signed in the footer; a member quoting the reference is not
// one. Threads' replies are not the channel's messages, so they are never
// looked at.
func (c *Chat) FindIncident(ctx context.Context, channel string, inc bot.Incident) (bot.Thread, bool, error) {
	if strings.TrimSpace(channel) == "" {
		return bot.Thread{}, false, bot.Invalid("find %s on discord: the service has no discord channel", inc.Ref())
	}
	var msgs []*discordgo.Message
	err := c.call(ctx, "list messages", func(opt discordgo.RequestOption) error {
		var err error
		msgs, err = c.session.ChannelMessages(channel, findRootLimit, "", "", "", opt)
		return err
	})
	if err != nil {
		return bot.Thread{}, false, err
	}
	for _, m := range msgs {
		if isRootOf(m, inc) {
			return bot.Thread{IncidentID: inc.ID, Platform: c.Platform(), Channel: channel, MessageID: m.ID}, true, nil
		}
	}
	return bot.Thread{}, false, nil
}

// isRootOf says whether m is the root message IncidentMessage rendered for
// inc, at any point of its life.
func isRootOf(m *discordgo.Message, inc bot.Incident) bool {
	if m == nil || m.Author == nil || !m.Author.Bot || len(m.Embeds) == 0 {
		return false
	}
	e, ref := m.Embeds[0], inc.Ref()
	if e.Footer == nil || e.Footer.Text != embedFooter {
		return false
	}
	return e.Title == ref || strings.HasPrefix(e.Title, ref+" ")
}
