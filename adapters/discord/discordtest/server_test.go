package discordtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

const channel = "910000000000000001"

func newServer(t *testing.T, opts ...discordtest.Option) *discordtest.Server {
	t.Helper()
	s, err := discordtest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddChannel(channel)
	return s
}

// newSession is a real discordgo session whose requests for
// https://discord.com/api/v9/ go to the fake.
func newSession(t *testing.T, s *discordtest.Server, token string) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	dg.Client = &http.Client{Transport: s.Transport(), Timeout: 10 * time.Second}
	return dg
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiError is what Discord answered to a failed call: status, JSON code
// and the decoded body.
func apiError(err error) (status, code int, body map[string]any) {
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) {
		return 0, 0, nil
	}
	if rest.Message != nil {
		code = rest.Message.Code
	}
	_ = json.Unmarshal(rest.ResponseBody, &body)
	return rest.Response.StatusCode, code, body
}

// formErrorAt says whether a 50035 body names a problem at the dotted path.
func formErrorAt(body map[string]any, path string) bool {
	node, _ := body["errors"].(map[string]any)
	if path != "" {
		for _, key := range strings.Split(path, ".") {
			node, _ = node[key].(map[string]any)
		}
	}
	list, _ := node["_errors"].([]any)
	return len(list) > 0
}

func TestURLsAndTransportStayOnLoopback(t *testing.T) {
	s := newServer(t)
	u, err := url.Parse(s.APIURL())
	if err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/api/v9/" || u.Port() == "0" {
		t.Errorf("APIURL %q, want http://127.0.0.1:<port>/api/v9/", s.APIURL())
	}
	if !strings.HasPrefix(s.GatewayURL(), "ws://127.0.0.1:") {
		t.Errorf("GatewayURL %q", s.GatewayURL())
	}
	client := &http.Client{Transport: s.Transport()}
	for _, target := range []string{"https://cdn.discordapp.com/avatars/1/2.png", "https://example.com/api/v9/users/@me"} {
		if resp, err := client.Get(target); err == nil {
			resp.Body.Close()
			t.Errorf("GET %s went out through the fake's transport", target)
		}
	}
}

func TestAuthorizationAndUnknownRoutes(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	me, err := dg.User("@me")
	if err != nil || me.ID != discordtest.BotUserID || !me.Bot {
		t.Fatalf("users/@me: %+v, %v", me, err)
	}

	wrong := newSession(t, s, "not-the-token")
	_, err = wrong.User("@me")
	if status, code, body := apiError(err); status != 401 || code != 0 || body["message"] != "401: Unauthorized" {
		t.Errorf("wrong token: %d %d %v, want 401 {message: 401: Unauthorized, code: 0}", status, code, body)
	}
	if _, err := wrong.ChannelMessageSend(channel, "hi"); err == nil {
		t.Error("a message was sent with the wrong token")
	}

	// Raw calls: no Authorization at all, a bearer token, an unknown route,
	// GET gateway, which Discord answers without a token.
	for _, tc := range []struct {
		method, path, authorization string
		want                        int
		message                     string
	}{
		{"GET", "users/@me", "", 401, "401: Unauthorized"},
		{"GET", "users/@me", "Bearer " + s.Token(), 401, "401: Unauthorized"},
		{"GET", "users/@me", s.Token(), 401, "401: Unauthorized"},
		{"GET", "channels/" + channel + "/frobnicate", "Bot " + s.Token(), 404, "404: Not Found"},
		{"DELETE", "users/@me", "Bot " + s.Token(), 405, "405: Method Not Allowed"},
		{"GET", "gateway", "", 200, ""},
	} {
		req, _ := http.NewRequestWithContext(ctx(t), tc.method, s.APIURL()+tc.path, nil)
		if tc.authorization != "" {
			req.Header.Set("Authorization", tc.authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.message != "" && (body["message"] != tc.message || body["code"] != 0.0)) {
			t.Errorf("%s %s (%q): %d %v, want %d %q", tc.method, tc.path, tc.authorization, resp.StatusCode, body, tc.want, tc.message)
		}
	}
	for _, c := range s.Calls() {
		if c.Header.Get("Authorization") != "" {
			t.Errorf("call %s %s recorded the token", c.Method, c.Path)
		}
	}
}

func TestGatewayBot(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	gw, err := dg.GatewayBot()
	if err != nil {
		t.Fatal(err)
	}
	if gw.URL != s.GatewayURL()+"/" || gw.Shards != 1 || gw.SessionStartLimit.MaxConcurrency != 1 {
		t.Errorf("gateway/bot %+v, want %s/ with one shard", gw, s.GatewayURL())
	}
}

func incidentMessage() *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Content: "@here INC-7 opened",
		Embeds: []*discordgo.MessageEmbed{{
			Title: "INC-7 Database down", Color: 0xE01E5A, Description: "Primary is unreachable",
			Fields: []*discordgo.MessageEmbedField{{Name: "Service", Value: "db", Inline: true}, {Name: "Priority", Value: "P1", Inline: true}},
			Footer: &discordgo.MessageEmbedFooter{Text: "Hotline"},
		}},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Acknowledge", CustomID: "ack:INC-7", Style: discordgo.PrimaryButton},
			discordgo.Button{Label: "Resolve", CustomID: "resolve:INC-7", Style: discordgo.SuccessButton},
			discordgo.Button{Label: "Runbook", URL: "https://runbooks.example/db", Style: discordgo.LinkButton},
		}}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeEveryone}},
	}
}

func TestSendMessage(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	first, err := dg.ChannelMessageSendComplex(channel, incidentMessage())
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == "" || first.ChannelID != channel || first.Author == nil || first.Author.ID != discordtest.BotUserID ||
		!first.MentionEveryone || len(first.Components) != 1 || len(first.Embeds) != 1 || first.Embeds[0].Type != "rich" {
		t.Errorf("created message %+v", first)
	}
	reply, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: "@everyone quiet", Reference: first.Reference(),
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.ID <= first.ID || len(reply.ID) != len(first.ID) || reply.MessageReference == nil || reply.MessageReference.MessageID != first.ID {
		t.Errorf("reply %+v: want a larger snowflake referencing %s", reply, first.ID)
	}
	if _, err := dg.ChannelMessageSend(channel, "@everyone no allowed_mentions: pings"); err != nil {
		t.Fatal(err)
	}

	msgs := s.Messages(channel)
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	m := msgs[0]
	e := m.Embeds[0]
	if e.Title != "INC-7 Database down" || e.Color != 0xE01E5A || len(e.Fields) != 2 || e.Fields[1].Value != "P1" || e.Footer.Text != "Hotline" {
		t.Errorf("embed %+v", e)
	}
	buttons := m.Buttons()
	if len(buttons) != 3 || buttons[0].CustomID != "ack:INC-7" || buttons[0].Label != "Acknowledge" || buttons[2].URL == "" {
		t.Errorf("buttons %+v", buttons)
	}
	if b, found := m.Button("resolve:INC-7"); !found || b.Style != discordtest.ButtonSuccess {
		t.Errorf("Button(resolve) %+v %v", b, found)
	}
	if m.AllowedMentions == nil || m.AllowedMentions.Parse[0] != "everyone" || !m.MentionEveryone || msgs[1].MentionEveryone || msgs[1].ReplyTo != first.ID {
		t.Errorf("mentions: %+v %v / %v", m.AllowedMentions, m.MentionEveryone, msgs[1].MentionEveryone)
	}
	if n := s.EveryoneMentions(); n != 2 {
		t.Errorf("EveryoneMentions %d, want 2 (the reply's allowed_mentions parsed nothing)", n)
	}
	if got, found := s.Message(first.ID); !found || got.Content != first.Content {
		t.Errorf("Message(%s): %+v %v", first.ID, got, found)
	}
}

func TestMessageRefusals(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	long := func(n int) string { return strings.Repeat("x", n) }
	embed := func(mod func(*discordgo.MessageEmbed)) *discordgo.MessageSend {
		e := &discordgo.MessageEmbed{Title: "t", Description: "d"}
		mod(e)
		return &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{e}}
	}
	row := func(buttons ...discordgo.MessageComponent) discordgo.MessageComponent {
		return discordgo.ActionsRow{Components: buttons}
	}
	button := func(id string) discordgo.MessageComponent { return discordgo.Button{Label: "b", CustomID: id} }
	fields := func(n int) []*discordgo.MessageEmbedField {
		out := make([]*discordgo.MessageEmbedField, n)
		for i := range out {
			out[i] = &discordgo.MessageEmbedField{Name: "n", Value: "v"}
		}
		return out
	}

	for _, tc := range []struct {
		name string
		msg  *discordgo.MessageSend
		path string
	}{
		{"content over 2000", &discordgo.MessageSend{Content: long(2001)}, "content"},
		{"eleven embeds", &discordgo.MessageSend{Embeds: make11Embeds()}, "embeds"},
		{"title over 256", embed(func(e *discordgo.MessageEmbed) { e.Title = long(257) }), "embeds.0.title"},
		{"description over 4096", embed(func(e *discordgo.MessageEmbed) { e.Description = long(4097) }), "embeds.0.description"},
		{"26 fields", embed(func(e *discordgo.MessageEmbed) { e.Fields = fields(26) }), "embeds.0.fields"},
		{"field name over 256", embed(func(e *discordgo.MessageEmbed) {
			e.Fields = []*discordgo.MessageEmbedField{{Name: long(257), Value: "v"}}
		}), "embeds.0.fields.0.name"},
		{"field value over 1024", embed(func(e *discordgo.MessageEmbed) {
			e.Fields = []*discordgo.MessageEmbedField{{Name: "n", Value: long(1025)}}
		}), "embeds.0.fields.0.value"},
		{"empty field value", embed(func(e *discordgo.MessageEmbed) { e.Fields = []*discordgo.MessageEmbedField{{Name: "n"}} }), "embeds.0.fields.0.value"},
		{"footer over 2048", embed(func(e *discordgo.MessageEmbed) { e.Footer = &discordgo.MessageEmbedFooter{Text: long(2049)} }), "embeds.0.footer.text"},
		{"embeds over 6000 in all", &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{{Description: long(4000)}, {Description: long(2001)}}}, "embeds"},
		{"six rows", &discordgo.MessageSend{Components: []discordgo.MessageComponent{
			row(button("a")), row(button("b")), row(button("c")), row(button("d")), row(button("e")), row(button("f"))}}, "components"},
		{"six buttons in a row", &discordgo.MessageSend{Components: []discordgo.MessageComponent{
			row(button("a"), button("b"), button("c"), button("d"), button("e"), button("f"))}}, "components.0.components"},
		{"label over 80", &discordgo.MessageSend{Components: []discordgo.MessageComponent{
			row(discordgo.Button{Label: long(81), CustomID: "a"})}}, "components.0.components.0.label"},
		{"custom_id over 100", &discordgo.MessageSend{Components: []discordgo.MessageComponent{row(button(long(101)))}}, "components.0.components.0.custom_id"},
		{"custom_id twice", &discordgo.MessageSend{Components: []discordgo.MessageComponent{row(button("a")), row(button("a"))}}, "components.1.components.0.custom_id"},
		{"button without custom_id", &discordgo.MessageSend{Components: []discordgo.MessageComponent{row(discordgo.Button{Label: "b"})}}, "components.0.components.0.custom_id"},
		{"a button outside a row", &discordgo.MessageSend{Components: []discordgo.MessageComponent{button("a")}}, "components.0.type"},
		{"users parsed and listed", &discordgo.MessageSend{Content: "x", AllowedMentions: &discordgo.MessageAllowedMentions{
			Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}, Users: []string{"1"}}}, "allowed_mentions"},
		{"reply to an unknown message", &discordgo.MessageSend{Content: "x", Reference: &discordgo.MessageReference{MessageID: "1"}}, "message_reference"},
	} {
		_, err := dg.ChannelMessageSendComplex(channel, tc.msg)
		status, code, body := apiError(err)
		if status != 400 || code != 50035 || body["message"] != "Invalid Form Body" || !formErrorAt(body, tc.path) {
			t.Errorf("%s: %d %d %v, want 400 50035 naming %s", tc.name, status, code, body, tc.path)
		}
	}

	_, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{})
	if status, code, _ := apiError(err); status != 400 || code != 50006 {
		t.Errorf("empty message: %d %d, want 400 50006", status, code)
	}
	_, err = dg.ChannelMessageSend("910000000000000999", "hi")
	if status, code, body := apiError(err); status != 404 || code != 10003 || body["message"] != "Unknown Channel" {
		t.Errorf("unknown channel: %d %d %v, want 404 10003", status, code, body)
	}
	_, err = dg.ChannelMessageSend("alerts", "hi")
	if status, code, body := apiError(err); status != 400 || code != 50035 || !formErrorAt(body, "channel_id") {
		t.Errorf("channel name for an id: %d %d %v, want 50035 at channel_id", status, code, body)
	}
	// Exactly at the limits is fine.
	if _, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: long(2000), Embeds: []*discordgo.MessageEmbed{
		{Title: long(256), Description: long(4096), Fields: fields(25)}, {Description: long(6000 - 256 - 4096 - 50)}}}); err != nil {
		t.Errorf("a message at the limits: %v", err)
	}
	if n := len(s.Messages(channel)); n != 1 {
		t.Errorf("%d messages stored, want only the one at the limits", n)
	}
}

func make11Embeds() []*discordgo.MessageEmbed {
	out := make([]*discordgo.MessageEmbed, 11)
	for i := range out {
		out[i] = &discordgo.MessageEmbed{Title: "t"}
	}
	return out
}

func TestEditMessage(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	m, err := dg.ChannelMessageSendComplex(channel, incidentMessage())
	if err != nil {
		t.Fatal(err)
	}
	edited, err := dg.ChannelMessageEditComplex(discordgo.NewMessageEdit(channel, m.ID).SetContent("INC-7 acknowledged by tanaka"))
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != "INC-7 acknowledged by tanaka" || edited.EditedTimestamp == nil || len(edited.Embeds) != 1 || len(edited.Components) != 1 {
		t.Errorf("after a content edit %+v: want the embeds and buttons kept", edited)
	}
	none := []discordgo.MessageComponent{}
	if _, err := dg.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: channel, ID: m.ID, Components: &none}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Message(m.ID)
	if got.Edits != 2 || len(got.Components) != 0 || got.Content != "INC-7 acknowledged by tanaka" || got.Embeds[0].Title != "INC-7 Database down" {
		t.Errorf("message after two edits %+v", got)
	}

	_, err = dg.ChannelMessageEdit(channel, "910000000000000777", "x")
	if status, code, _ := apiError(err); status != 404 || code != 10008 {
		t.Errorf("edit of an unknown message: %d %d, want 404 10008", status, code)
	}
	empty, noEmbeds := "", []*discordgo.MessageEmbed{}
	_, err = dg.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: channel, ID: m.ID, Content: &empty, Embeds: &noEmbeds})
	if status, code, _ := apiError(err); status != 400 || code != 50006 {
		t.Errorf("edit to nothing: %d %d, want 400 50006", status, code)
	}
	tooLong := strings.Repeat("x", 2001)
	_, err = dg.ChannelMessageEdit(channel, m.ID, tooLong)
	if _, code, body := apiError(err); code != 50035 || !formErrorAt(body, "content") {
		t.Errorf("edit over 2000: %d %v", code, body)
	}
	if got, _ := s.Message(m.ID); got.Edits != 2 {
		t.Errorf("refused edits counted: %d", got.Edits)
	}
}

func TestThreads(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	root, err := dg.ChannelMessageSend(channel, "INC-7 opened")
	if err != nil {
		t.Fatal(err)
	}
	thread, err := dg.MessageThreadStartComplex(channel, root.ID, &discordgo.ThreadStart{Name: "INC-7 Database down", AutoArchiveDuration: 1440})
	if err != nil {
		t.Fatal(err)
	}
	if thread.ID != root.ID || thread.ParentID != channel || thread.Type != discordgo.ChannelTypeGuildPublicThread ||
		thread.ThreadMetadata == nil || thread.ThreadMetadata.AutoArchiveDuration != 1440 {
		t.Errorf("thread %+v", thread)
	}
	if got, found := s.Thread(root.ID); !found || got.ParentID != channel || got.Name != "INC-7 Database down" {
		t.Errorf("Thread(%s) %+v %v", root.ID, got, found)
	}
	if _, err := dg.ChannelMessageSend(thread.ID, "acknowledged"); err != nil {
		t.Fatal(err)
	}
	if msgs := s.Messages(thread.ID); len(msgs) != 1 || msgs[0].ChannelID != thread.ID {
		t.Errorf("thread messages %+v", msgs)
	}
	if got, _ := s.Message(root.ID); got.ThreadID != thread.ID {
		t.Errorf("root %+v does not know its thread", got)
	}

	_, err = dg.MessageThreadStartComplex(channel, root.ID, &discordgo.ThreadStart{Name: "again"})
	if status, code, _ := apiError(err); status != 400 || code != 160004 {
		t.Errorf("second thread: %d %d, want 400 160004", status, code)
	}
	other, _ := dg.ChannelMessageSend(channel, "INC-8")
	for name, start := range map[string]*discordgo.ThreadStart{
		"name":                  {Name: ""},
		"auto_archive_duration": {Name: "x", AutoArchiveDuration: 30},
	} {
		_, err = dg.MessageThreadStartComplex(channel, other.ID, start)
		if _, code, body := apiError(err); code != 50035 || !formErrorAt(body, name) {
			t.Errorf("thread with a bad %s: %d %v", name, code, body)
		}
	}
	_, err = dg.MessageThreadStartComplex(channel, "910000000000000777", &discordgo.ThreadStart{Name: "x"})
	if _, code, _ := apiError(err); code != 10008 {
		t.Errorf("thread from an unknown message: %d, want 10008", code)
	}
	inThread := s.Messages(thread.ID)[0]
	_, err = dg.MessageThreadStartComplex(thread.ID, inThread.ID, &discordgo.ThreadStart{Name: "x"})
	if _, code, _ := apiError(err); code != 50024 {
		t.Errorf("thread inside a thread: %d, want 50024", code)
	}
}

func TestFailNext(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	dg.ShouldRetryOnRateLimit = false
	send := func() error {
		_, err := dg.ChannelMessageSend(channel, "x")
		return err
	}

	s.FailNext("POST channels/{id}/messages", 1, http.StatusTooManyRequests, 20*time.Millisecond)
	var limited *discordgo.RateLimitError
	if err := send(); !errors.As(err, &limited) || limited.RetryAfter != 20*time.Millisecond || limited.Message != "You are being rate limited." {
		t.Fatalf("429: %v, want a RateLimitError with retry_after 20ms", err)
	}
	// discordgo keeps the bucket closed for X-RateLimit-Reset-After, then sends.
	if err := send(); err != nil {
		t.Errorf("after the rate limit: %v", err)
	}

	dg.ShouldRetryOnRateLimit = true
	s.FailNext("POST channels/{channel_id}/messages", 1, http.StatusTooManyRequests, 20*time.Millisecond)
	if err := send(); err != nil {
		t.Errorf("429 with retries on: %v, want discordgo to wait and retry", err)
	}

	s.FailNext("POST channels/{id}/messages", 1, http.StatusBadGateway, 0)
	if err := send(); err != nil {
		t.Errorf("one 502: %v, want discordgo to retry", err)
	}
	s.FailNext("POST channels/{id}/messages", 4, http.StatusBadGateway, 0)
	if err := send(); err == nil || !strings.Contains(err.Error(), "Exceeded Max retries HTTP 502") {
		t.Errorf("four 502s: %v, want discordgo to give up after 3 retries", err)
	}
	s.FailNext("*", 1, http.StatusInternalServerError, 0)
	if status, _, body := apiError(send()); status != 500 || body != nil {
		t.Errorf("500: %d %v, want a RESTError with a plain body", status, body)
	}
	s.FailNext("POST channels/{id}/messages", 1, http.StatusForbidden, 0)
	if status, code, _ := apiError(send()); status != 403 || code != 50013 {
		t.Errorf("403: %d %d, want 50013 Missing Permissions", status, code)
	}
	s.FailNext("PATCH channels/{id}/messages/{id}", 2, http.StatusInternalServerError, 0)
	s.FailNext("PATCH channels/{id}/messages/{id}", 0, 0, 0)
	if err := send(); err != nil {
		t.Errorf("failures of another route, then cleared: %v", err)
	}

	var got []int
	for _, c := range s.Calls() {
		if c.Route != "POST channels/{channel_id}/messages" || c.Path != "channels/"+channel+"/messages" {
			t.Errorf("call %+v", c)
		}
		got = append(got, c.Status)
	}
	want := []int{429, 200, 429, 200, 502, 200, 502, 502, 502, 502, 500, 403, 200}
	if len(got) != len(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if c := s.Calls()[1]; !strings.Contains(c.Header.Get("User-Agent"), "DiscordBot") || !strings.Contains(string(c.Body), `"content":"x"`) {
		t.Errorf("recorded call %+v", c)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	s := newServer(t)
	s.FailNext("GET users/@me", 1, http.StatusTooManyRequests, 1500*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx(t), "GET", s.APIURL()+"users/@me", nil)
	req.Header.Set("Authorization", "Bot "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	h := resp.Header
	if resp.StatusCode != 429 || body["retry_after"] != 1.5 || body["global"] != false || body["message"] != "You are being rate limited." ||
		h.Get("Retry-After") != "2" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset-After") != "1.500" || h.Get("X-RateLimit-Bucket") == "" {
		t.Errorf("429: %d %s %v", resp.StatusCode, raw, h)
	}
}

func TestReadsFilesAndWaitMessages(t *testing.T) {
	s := newServer(t)
	dg := newSession(t, s, s.Token())
	go func() {
		for range 2 {
			_, _ = dg.ChannelMessageSend(channel, "x")
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

	// A file goes as multipart with payload_json, as discordgo sends it.
	withFile, err := dg.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: "timeline",
		Files: []*discordgo.File{{Name: "INC-7.txt", ContentType: "text/plain", Reader: strings.NewReader("12:00 paged")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(withFile.Attachments) != 1 || withFile.Attachments[0].Filename != "INC-7.txt" {
		t.Errorf("attachments %+v", withFile.Attachments)
	}
	if m, _ := s.Message(withFile.ID); len(m.Files) != 1 || m.Content != "timeline" {
		t.Errorf("stored %+v", m)
	}

	ch, err := dg.Channel(channel)
	if err != nil || ch.ID != channel || ch.GuildID != discordtest.GuildID || ch.Type != discordgo.ChannelTypeGuildText || ch.LastMessageID != withFile.ID {
		t.Errorf("GET channel: %+v %v", ch, err)
	}
	got, err := dg.ChannelMessage(channel, withFile.ID)
	if err != nil || got.Content != "timeline" {
		t.Errorf("GET message: %+v %v", got, err)
	}
	if _, err := dg.ChannelMessage(channel, "910000000000000777"); err == nil {
		t.Error("GET of an unknown message")
	}

	defer func() {
		if recover() == nil {
			t.Error("FailNext of a route the fake does not serve did not panic")
		}
	}()
	s.FailNext("POST channels/{id}/messagez", 1, 500, 0)
}
