package discordtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

const member = "920000000000000001"

// ids lists the messages' ids in the order given.
func ids(msgs []*discordgo.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestChannelMessages(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	if got, err := dg.ChannelMessages(channel, 0, "", "", ""); err != nil || len(got) != 0 {
		t.Fatalf("an empty channel: %+v, %v", got, err)
	}
	root, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
		Embeds: []*discordgo.MessageEmbed{{Title: "INC-7 Database down", Footer: &discordgo.MessageEmbedFooter{Text: "Hotline"}}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Acknowledge", CustomID: "incident.ack:7", Style: discordgo.PrimaryButton}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.MessageThreadStartComplex(channel, root.ID, &discordgo.ThreadStart{Name: "INC-7"}); err != nil {
		t.Fatal(err)
	}
	reply, err := dg.ChannelMessageSend(root.ID, "acknowledged")
	if err != nil {
		t.Fatal(err)
	}
	said, err := s.Say(channel, member, "INC-7 looks like the disk again")
	if err != nil {
		t.Fatal(err)
	}
	second, err := dg.ChannelMessageSend(channel, "INC-8")
	if err != nil {
		t.Fatal(err)
	}

	got, err := dg.ChannelMessages(channel, 0, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{second.ID, said.ID, root.ID}; fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("channel messages %v, want %v: newest first, the thread's reply not among them", ids(got), want)
	}
	bot, human, first := got[0], got[1], got[2]
	if bot.Author == nil || !bot.Author.Bot || bot.Author.ID != discordtest.BotUserID || bot.ChannelID != channel {
		t.Errorf("the bot's message: author %+v", bot.Author)
	}
	if human.Author == nil || human.Author.Bot || human.Author.ID != member || human.Content != "INC-7 looks like the disk again" {
		t.Errorf("the member's message: %+v by %+v", human, human.Author)
	}
	if len(first.Embeds) != 1 || first.Embeds[0].Title != "INC-7 Database down" || first.Embeds[0].Footer == nil ||
		first.Embeds[0].Footer.Text != "Hotline" || len(first.Components) != 1 || first.Thread == nil || first.Thread.ID != root.ID {
		t.Errorf("the root as listed: %+v", first)
	}
	if got, err := dg.ChannelMessages(root.ID, 0, "", "", ""); err != nil || fmt.Sprint(ids(got)) != fmt.Sprint([]string{reply.ID}) {
		t.Errorf("the thread's messages: %v, %v; want its reply", ids(got), err)
	}
	if calls := s.Calls(); calls[len(calls)-1].Route != "GET channels/{channel_id}/messages" {
		t.Errorf("route %q", calls[len(calls)-1].Route)
	}

	// Pages: limit, before, after, around.
	for _, tc := range []struct {
		name                  string
		limit                 int
		before, after, around string
		want                  []string
	}{
		{"limit", 2, "", "", "", []string{second.ID, said.ID}},
		{"before", 0, second.ID, "", "", []string{said.ID, root.ID}},
		{"after", 1, "", root.ID, "", []string{said.ID}},
		{"after the newest", 0, "", second.ID, "", nil},
		{"around", 2, "", "", said.ID, []string{said.ID, root.ID}},
		{"around, wide", 3, "", "", said.ID, []string{second.ID, said.ID, root.ID}},
	} {
		got, err := dg.ChannelMessages(channel, tc.limit, tc.before, tc.after, tc.around)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, ids(got), err, tc.want)
		}
	}

	// 50 by default, up to 100.
	for i := range 120 {
		if _, err := s.Say(channel, member, fmt.Sprint("message ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := dg.ChannelMessages(channel, 0, "", "", ""); err != nil || len(got) != 50 || got[0].Content != "message 119" {
		t.Errorf("default page: %d messages, newest %q, %v; want the 50 newest", len(got), got[0].Content, err)
	}
	if got, err := dg.ChannelMessages(channel, 100, "", "", ""); err != nil || len(got) != 100 {
		t.Errorf("limit 100: %d messages, %v", len(got), err)
	}
}

func TestChannelMessagesRefusals(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	_, err := dg.ChannelMessages("910000000000000999", 0, "", "", "")
	if status, code, _ := apiError(err); status != 404 || code != 10003 {
		t.Errorf("unknown channel: %d %d, want 404 10003", status, code)
	}
	for name, query := range map[string]string{
		"limit":  "limit=101",
		"before": "before=yesterday",
		"after":  "before=910000000000000001&after=910000000000000002",
	} {
		req, _ := http.NewRequestWithContext(ctx(t), "GET", s.APIURL()+"channels/"+channel+"/messages?"+query, nil)
		req.Header.Set("Authorization", "Bot "+s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 400 || body["code"] != 50035.0 || !formErrorAt(body, name) {
			t.Errorf("?%s: %d %v, want 400 50035 naming %s", query, resp.StatusCode, body, name)
		}
	}
	if _, err := dg.ChannelMessages(channel, 0, "", "", "", discordgo.WithContext(ctx(t))); err != nil {
		t.Errorf("after the refusals: %v", err)
	}
	wrong := newSession(t, s, "not-the-token")
	if _, err := wrong.ChannelMessages(channel, 0, "", "", ""); err == nil {
		t.Error("messages listed with the wrong token")
	} else if status, _, _ := apiError(err); status != 401 {
		t.Errorf("wrong token: %d, want 401", status)
	}
	if _, err := s.Say(channel, discordtest.BotUserID, "as the bot"); err == nil {
		t.Error("Say as the bot accepted")
	}
}
