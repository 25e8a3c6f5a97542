package slacktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
	"github.com/slack-go/slack"
)

const channel = "C0ALERTS"

func newServer(t *testing.T) (*slacktest.Server, *slack.Client) {
	t.Helper()
	s, err := slacktest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, slack.New(s.Token(), slack.OptionAPIURL(s.APIURL()))
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// slackError is the ok:false error string of err, or "".
func slackError(err error) string {
	var r slack.SlackErrorResponse
	if errors.As(err, &r) {
		return r.Err
	}
	return ""
}

func TestLoopbackAndAPIURL(t *testing.T) {
	s, _ := newServer(t)
	u, err := url.Parse(s.APIURL())
	if err != nil || u.Hostname() != "127.0.0.1" || !strings.HasSuffix(s.APIURL(), "/") || u.Port() == "0" {
		t.Errorf("APIURL %q, want http://127.0.0.1:<port>/", s.APIURL())
	}
}

func TestAuth(t *testing.T) {
	s, api := newServer(t)
	who, err := api.AuthTestContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if who.UserID != slacktest.BotUserID || who.BotID != slacktest.BotID || who.TeamID != slacktest.TeamID {
		t.Errorf("auth.test %+v", who)
	}

	wrong := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if _, err := wrong.AuthTestContext(ctx(t)); slackError(err) != "invalid_auth" {
		t.Errorf("wrong token: %v, want invalid_auth", err)
	}
	if _, _, err := wrong.PostMessageContext(ctx(t), channel, slack.MsgOptionText("hi", false)); slackError(err) != "invalid_auth" {
		t.Errorf("post with a wrong token: %v, want invalid_auth", err)
	}
	none := slack.New("", slack.OptionAPIURL(s.APIURL()))
	if _, err := none.AuthTestContext(ctx(t)); slackError(err) != "not_authed" {
		t.Errorf("no token: %v, want not_authed", err)
	}
	if n := len(s.Messages(channel)); n != 0 {
		t.Errorf("%d messages posted without a valid token", n)
	}
	for _, c := range s.Calls() {
		if c.Form.Has("token") {
			t.Errorf("call %s recorded the token", c.Method)
		}
	}
}

// rawPost sends a JSON body the way Slack's JSON clients do.
func rawPost(t *testing.T, s *slacktest.Server, method, token string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, s.APIURL()+method, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJSONBodies(t *testing.T) {
	s, _ := newServer(t)
	got := rawPost(t, s, "chat.postMessage", s.Token(), map[string]any{
		"channel": channel, "text": "from JSON",
		"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*hi*"}}},
	})
	if got["ok"] != true || got["channel"] != channel {
		t.Fatalf("JSON post: %v", got)
	}
	msgs := s.Messages(channel)
	if len(msgs) != 1 || msgs[0].Text != "from JSON" || !strings.Contains(string(msgs[0].Blocks), "*hi*") {
		t.Errorf("messages %+v", msgs)
	}
	calls := s.Calls()
	if last := calls[len(calls)-1]; len(last.JSON) == 0 || last.Form.Get("channel") != channel {
		t.Errorf("JSON call recorded as %+v", last)
	}
	// Slack takes no token from a JSON body: only the Authorization header.
	got = rawPost(t, s, "chat.postMessage", "", map[string]any{"token": s.Token(), "channel": channel, "text": "x"})
	if got["ok"] != false || got["error"] != "not_authed" {
		t.Errorf("token in a JSON body: %v, want not_authed", got)
	}
}

var tsForm = regexp.MustCompile(`^\d{10}\.\d{6}$`)

func TestPostMessageAndThreads(t *testing.T) {
	s, api := newServer(t)
	ch, root, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	if ch != channel || !tsForm.MatchString(root) {
		t.Errorf("channel %q ts %q", ch, root)
	}
	_, reply, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("reply", false), slack.MsgOptionTS(root))
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("another root", false))
	if err != nil {
		t.Fatal(err)
	}
	if !(root < reply && reply < other) {
		t.Errorf("ts not increasing: %s %s %s", root, reply, other)
	}

	_, _, err = api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("x", false), slack.MsgOptionTS("1600000000.000100"))
	if slackError(err) != "thread_not_found" {
		t.Errorf("reply to an unknown ts: %v, want thread_not_found", err)
	}
	_, _, err = api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("x", false), slack.MsgOptionTS(reply))
	if slackError(err) != "thread_not_found" {
		t.Errorf("reply to a reply: %v, want thread_not_found", err)
	}
	_, _, err = api.PostMessageContext(ctx(t), "C0OTHER", slack.MsgOptionText("x", false), slack.MsgOptionTS(root))
	if slackError(err) != "thread_not_found" {
		t.Errorf("reply to a root of another channel: %v, want thread_not_found", err)
	}

	msgs := s.Messages(channel)
	if len(msgs) != 3 || msgs[0].Text != "root" || msgs[1].ThreadTS != root || msgs[2].ThreadTS != "" {
		t.Errorf("messages %+v", msgs)
	}
	if th := s.Thread(channel, root); len(th) != 1 || th[0].TS != reply || th[0].Text != "reply" {
		t.Errorf("thread %+v", th)
	}
}

func TestPostMessageRefusals(t *testing.T) {
	_, api := newServer(t)
	dividers := make([]slack.Block, 51)
	for i := range dividers {
		dividers[i] = slack.NewDividerBlock()
	}
	button := func(id, label string) slack.BlockElement {
		return slack.NewButtonBlockElement(id, "1", slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
	}
	tests := []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"no channel", "", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"a channel name", "#alerts", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"nothing to show", channel, nil, "no_text"},
		{"text over 40,000 characters", channel, []slack.MsgOption{slack.MsgOptionText(strings.Repeat("あ", 40001), false)}, "msg_too_long"},
		{"51 blocks", channel, []slack.MsgOption{slack.MsgOptionBlocks(dividers...)}, "invalid_blocks"},
		{"header over 150 characters", channel, []slack.MsgOption{slack.MsgOptionBlocks(
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false)))}, "invalid_blocks"},
		{"mrkdwn header", channel, []slack.MsgOption{slack.MsgOptionBlocks(
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.MarkdownType, "x", false, false)))}, "invalid_blocks"},
		{"11 fields", channel, []slack.MsgOption{slack.MsgOptionBlocks(slack.NewSectionBlock(nil, func() []*slack.TextBlockObject {
			var f []*slack.TextBlockObject
			for range 11 {
				f = append(f, slack.NewTextBlockObject(slack.MarkdownType, "f", false, false))
			}
			return f
		}(), nil))}, "invalid_blocks"},
		{"duplicate action id", channel, []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("", button("a", "A"), button("a", "B")))}, "invalid_blocks"},
		{"button label over 75 characters", channel, []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("", button("a", strings.Repeat("x", 76))))}, "invalid_blocks"},
		{"duplicate block id", channel, []slack.MsgOption{slack.MsgOptionBlocks(
			slack.NewDividerBlock(), slack.NewActionBlock("b", button("a", "A")), slack.NewActionBlock("b", button("c", "C")))}, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(ctx(t), tt.channel, tt.opts...)
			if got := slackError(err); got != tt.want {
				t.Errorf("error %v, want ok:false %s", err, tt.want)
			}
		})
	}
	// At the limits Slack still accepts.
	_, _, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText(strings.Repeat("あ", 40000), false),
		slack.MsgOptionBlocks(dividers[:50]...))
	if err != nil {
		t.Errorf("40,000 characters and 50 blocks: %v", err)
	}
}

func TestInvalidBlocksSayWhy(t *testing.T) {
	_, api := newServer(t)
	_, _, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionBlocks(
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false))))
	var r slack.SlackErrorResponse
	if !errors.As(err, &r) || len(r.ResponseMetadata.Messages) == 0 || !strings.Contains(r.ResponseMetadata.Messages[0], "/blocks/0/text/text") {
		t.Errorf("error %#v, want response_metadata naming /blocks/0/text/text", err)
	}
}

func TestUpdate(t *testing.T) {
	s, api := newServer(t)
	_, root, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("v1", false))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"v2", "v3"} {
		if _, _, _, err := api.UpdateMessageContext(ctx(t), channel, root, slack.MsgOptionText(text, false),
			slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
			t.Fatal(err)
		}
	}
	msgs := s.Messages(channel)
	if len(msgs) != 1 || msgs[0].Text != "v3" || msgs[0].Edited != 2 || !strings.Contains(string(msgs[0].Blocks), "divider") {
		t.Errorf("messages %+v, want the one message edited twice", msgs)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx(t), channel, "1600000000.000100", slack.MsgOptionText("x", false)); slackError(err) != "message_not_found" {
		t.Errorf("update of an unknown ts: %v, want message_not_found", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx(t), "C0OTHER", root, slack.MsgOptionText("x", false)); slackError(err) != "message_not_found" {
		t.Errorf("update in the wrong channel: %v, want message_not_found", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx(t), channel, root, slack.MsgOptionText(strings.Repeat("x", 40001), false)); slackError(err) != "msg_too_long" {
		t.Errorf("update over 40,000 characters: %v, want msg_too_long", err)
	}
}

func TestEphemeralReactionsAndLookups(t *testing.T) {
	s, api := newServer(t)
	_, root, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}

	if _, err := api.PostEphemeralContext(ctx(t), channel, "", slack.MsgOptionText("x", false)); slackError(err) != "user_not_found" {
		t.Errorf("ephemeral without a user: %v, want user_not_found", err)
	}
	ts, err := api.PostEphemeralContext(ctx(t), channel, "U01TANAKA", slack.MsgOptionText("only you", false), slack.MsgOptionTS(root))
	if err != nil || ts == "" {
		t.Fatalf("ephemeral: %q %v", ts, err)
	}
	if e := s.Ephemerals(); len(e) != 1 || e[0].User != "U01TANAKA" || e[0].Text != "only you" || e[0].ThreadTS != root {
		t.Errorf("ephemerals %+v", e)
	}
	if n := len(s.Messages(channel)); n != 1 {
		t.Errorf("an ephemeral became one of the channel's %d messages", n)
	}

	item := slack.NewRefToMessage(channel, root)
	if err := api.AddReactionContext(ctx(t), "eyes", item); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReactionContext(ctx(t), "eyes", item); slackError(err) != "already_reacted" {
		t.Errorf("second reaction: %v, want already_reacted", err)
	}
	if err := api.AddReactionContext(ctx(t), "eyes", slack.NewRefToMessage(channel, "1600000000.000100")); slackError(err) != "message_not_found" {
		t.Errorf("reaction to an unknown ts: %v, want message_not_found", err)
	}
	if m := s.Messages(channel); len(m[0].Reactions) != 1 || m[0].Reactions[0] != "eyes" {
		t.Errorf("reactions %v", m[0].Reactions)
	}

	info, err := api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: channel})
	if err != nil || info.ID != channel || !info.IsMember {
		t.Errorf("conversations.info: %+v %v", info, err)
	}
	if _, err := api.GetConversationInfoContext(ctx(t), &slack.GetConversationInfoInput{ChannelID: "general"}); slackError(err) != "channel_not_found" {
		t.Errorf("conversations.info of a name: %v, want channel_not_found", err)
	}
	user, err := api.GetUserInfoContext(ctx(t), "U01TANAKA")
	if err != nil || user.ID != "U01TANAKA" || user.Name == "" {
		t.Errorf("users.info: %+v %v", user, err)
	}
	if _, err := api.GetUserInfoContext(ctx(t), "nobody"); slackError(err) != "user_not_found" {
		t.Errorf("users.info of a bad id: %v, want user_not_found", err)
	}
}

func TestFailNext(t *testing.T) {
	s, api := newServer(t)
	post := func() error {
		_, _, err := api.PostMessageContext(ctx(t), channel, slack.MsgOptionText("x", false))
		return err
	}

	s.FailNext("chat.postMessage", 2, http.StatusTooManyRequests, "", "30")
	for i := range 2 {
		var limited *slack.RateLimitedError
		if err := post(); !errors.As(err, &limited) || limited.RetryAfter != 30*time.Second {
			t.Errorf("call %d: %v, want a 429 with Retry-After 30", i+1, err)
		}
	}
	if err := post(); err != nil {
		t.Errorf("after the failures: %v", err)
	}

	s.FailNext("chat.postMessage", 1, http.StatusOK, "channel_not_found", "")
	if err := post(); slackError(err) != "channel_not_found" {
		t.Errorf("ok:false: %v, want channel_not_found", err)
	}

	s.FailNext("chat.postMessage", 1, http.StatusInternalServerError, "", "")
	var status slack.StatusCodeError
	if err := post(); !errors.As(err, &status) || status.Code != http.StatusInternalServerError {
		t.Errorf("500: %v", err)
	}

	s.FailNext("*", 1, http.StatusOK, "", "")
	if _, err := api.AuthTestContext(ctx(t)); slackError(err) != "internal_error" {
		t.Errorf("any method: %v, want internal_error", err)
	}

	s.FailNext("chat.update", 3, http.StatusOK, "fatal_error", "")
	s.FailNext("chat.update", 0, 0, "", "")
	if err := post(); err != nil {
		t.Errorf("cleared failures of another method affected this one: %v", err)
	}

	// Every call is recorded with what the fake answered.
	var got []string
	for _, c := range s.Calls() {
		got = append(got, c.Method+" "+http.StatusText(c.Status)+" "+c.Error)
	}
	want := []string{
		"chat.postMessage Too Many Requests ", "chat.postMessage Too Many Requests ", "chat.postMessage OK ",
		"chat.postMessage OK channel_not_found", "chat.postMessage Internal Server Error ",
		"auth.test OK internal_error", "chat.postMessage OK ",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls\n got %q\nwant %q", got, want)
	}
	if c := s.Calls()[2]; c.Form.Get("channel") != channel || c.Form.Get("text") != "x" {
		t.Errorf("recorded form %v", c.Form)
	}
}

func TestUnknownMethod(t *testing.T) {
	s, _ := newServer(t)
	got := rawPost(t, s, "chat.frobnicate", s.Token(), map[string]any{})
	if got["ok"] != false || got["error"] != "unknown_method" {
		t.Errorf("unknown method: %v", got)
	}
}

func TestWaitMessages(t *testing.T) {
	s, api := newServer(t)
	go func() {
		for range 2 {
			_, _, _ = api.PostMessage(channel, slack.MsgOptionText("x", false))
		}
	}()
	if err := s.WaitMessages(ctx(t), channel, 2); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.WaitMessages(short, channel, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a third message: %v, want the deadline", err)
	}
}
