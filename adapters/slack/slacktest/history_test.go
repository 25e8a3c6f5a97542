package slacktest_test

import (
	"slices"
	"testing"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/slack-go/slack"
)

const member = "U01TANAKA"

func timestamps(msgs []slack.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Timestamp
	}
	return out
}

func TestConversationsHistory(t *testing.T) {
	s, api := newServer(t)
	history := func(p slack.GetConversationHistoryParameters) *slack.GetConversationHistoryResponse {
		t.Helper()
		p.ChannelID = channel
		got, err := api.GetConversationHistoryContext(ctx(t), &p)
		if err != nil {
			t.Fatalf("conversations.history %+v: %v", p, err)
		}
		return got
	}
	if got := history(slack.GetConversationHistoryParameters{}); len(got.Messages) != 0 || got.HasMore {
		t.Fatalf("an empty channel: %+v", got)
	}

	header := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "INC-7 Database down", false, false),
		slack.HeaderBlockOptionBlockID("incident.header"))
	_, root, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("INC-7", false), slack.MsgOptionBlocks(header))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("acknowledged", false), slack.MsgOptionTS(root))
	if err != nil {
		t.Fatal(err)
	}
	memberReply, err := s.Say(channel, member, "見ています", root)
	if err != nil {
		t.Fatal(err)
	}
	said, err := s.Say(channel, member, "INC-7 again?", "")
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("INC-8", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx(t), "C0OTHER", slack.MsgOptionText("elsewhere", false)); err != nil {
		t.Fatal(err)
	}

	got := history(slack.GetConversationHistoryParameters{})
	if want := []string{second, said, root}; !slices.Equal(timestamps(got.Messages), want) || got.HasMore {
		t.Fatalf("history %v (more %v), want %v: newest first, no replies, no other channel", timestamps(got.Messages), got.HasMore, want)
	}
	bot, human, first := got.Messages[0], got.Messages[1], got.Messages[2]
	if bot.Type != "message" || bot.BotID != slacktest.BotID || bot.User != slacktest.BotUserID || bot.Text != "INC-8" {
		t.Errorf("the bot's message %+v", bot.Msg)
	}
	if human.BotID != "" || human.User != member || human.Text != "INC-7 again?" {
		t.Errorf("the member's message %+v", human.Msg)
	}
	if first.ThreadTimestamp != root || first.ReplyCount != 2 || first.LatestReply != memberReply ||
		!slices.Equal(first.ReplyUsers, []string{slacktest.BotUserID, member}) {
		t.Errorf("the root: thread_ts %q, %d replies, latest %q, by %v; want its two replies", first.ThreadTimestamp,
			first.ReplyCount, first.LatestReply, first.ReplyUsers)
	}
	if hb, ok := firstBlock(first).(*slack.HeaderBlock); !ok || hb.BlockID != "incident.header" || hb.Text.Text != "INC-7 Database down" {
		t.Errorf("the root's blocks %+v", first.Blocks.BlockSet)
	}
	if slices.Contains(timestamps(got.Messages), reply) {
		t.Error("a thread reply is listed with the channel's messages")
	}

	// Pages: limit and cursor.
	page := history(slack.GetConversationHistoryParameters{Limit: 2})
	if !slices.Equal(timestamps(page.Messages), []string{second, said}) || !page.HasMore || page.ResponseMetaData.NextCursor == "" {
		t.Fatalf("first page %v, more %v, cursor %q", timestamps(page.Messages), page.HasMore, page.ResponseMetaData.NextCursor)
	}
	rest := history(slack.GetConversationHistoryParameters{Limit: 2, Cursor: page.ResponseMetaData.NextCursor})
	if !slices.Equal(timestamps(rest.Messages), []string{root}) || rest.HasMore {
		t.Errorf("second page %v, more %v", timestamps(rest.Messages), rest.HasMore)
	}

	// oldest and latest, exclusive unless inclusive.
	for _, tc := range []struct {
		name string
		p    slack.GetConversationHistoryParameters
		want []string
	}{
		{"oldest", slack.GetConversationHistoryParameters{Oldest: said}, []string{second}},
		{"oldest, inclusive", slack.GetConversationHistoryParameters{Oldest: said, Inclusive: true}, []string{second, said}},
		{"latest", slack.GetConversationHistoryParameters{Latest: said}, []string{root}},
		{"latest, inclusive", slack.GetConversationHistoryParameters{Latest: said, Inclusive: true}, []string{said, root}},
		{"between", slack.GetConversationHistoryParameters{Oldest: root, Latest: second}, []string{said}},
	} {
		if got := history(tc.p); !slices.Equal(timestamps(got.Messages), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, timestamps(got.Messages), tc.want)
		}
	}

	// Refusals.
	for _, tc := range []struct {
		name string
		p    slack.GetConversationHistoryParameters
		want string
	}{
		{"a channel name", slack.GetConversationHistoryParameters{ChannelID: "#alerts"}, "channel_not_found"},
		{"no channel", slack.GetConversationHistoryParameters{}, "channel_not_found"},
		{"bad oldest", slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: "yesterday"}, "invalid_ts_oldest"},
		{"bad latest", slack.GetConversationHistoryParameters{ChannelID: channel, Latest: "now"}, "invalid_ts_latest"},
		{"bad cursor", slack.GetConversationHistoryParameters{ChannelID: channel, Cursor: "not-a-cursor"}, "invalid_cursor"},
	} {
		if _, err := api.GetConversationHistoryContext(ctx(t), &tc.p); slackError(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	wrong := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, err := wrong.GetConversationHistoryContext(ctx(t), &slack.GetConversationHistoryParameters{ChannelID: channel}); slackError(err) != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx(t), channel, said, slack.MsgOptionText("edited", false)); slackError(err) != "cant_update_message" {
		t.Errorf("the bot edits a member's message: %v, want cant_update_message", err)
	}
	if _, err := s.Say(channel, slacktest.BotUserID, "as the bot", ""); err == nil {
		t.Error("Say as the bot accepted")
	}
}

func firstBlock(m slack.Message) slack.Block {
	if len(m.Blocks.BlockSet) == 0 {
		return nil
	}
	return m.Blocks.BlockSet[0]
}
