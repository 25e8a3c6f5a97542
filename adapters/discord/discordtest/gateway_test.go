package discordtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

const hotlineIntents = discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentGuildMessageReactions

// openSession opens a discordgo session's gateway against the fake and
// closes it at the end. It waits for the first heartbeat: discordgo's
// heartbeat goroutine, started by Open, would otherwise block on the
// session lock that Close holds, then beat on the closed connection and
// reconnect.
func openSession(t *testing.T, s *discordtest.Server, intents discordgo.Intent) *discordgo.Session {
	t.Helper()
	dg := newSession(t, s, s.Token())
	dg.Identify.Intents = intents
	if err := dg.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	closeLater(t, dg)
	if err := s.WaitSessions(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitHeartbeats(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	return dg
}

// closeLater closes the session when the test ends without waiting for
// it: discordgo's Close sleeps a second for the close handshake, holding
// the session's lock, so nothing reconnects meanwhile.
func closeLater(t *testing.T, dg *discordgo.Session) {
	t.Cleanup(func() { go func() { _ = dg.Close() }() })
}

// events forwards one kind of discordgo event to a channel.
func events[T any](dg *discordgo.Session) <-chan T {
	ch := make(chan T, 16)
	dg.AddHandler(func(_ *discordgo.Session, e T) { ch <- e })
	return ch
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-ctx(t).Done():
		var zero T
		t.Fatalf("no %T event", zero)
		return zero
	}
}

// readySnapshot is what the test reads of READY.
type readySnapshot struct {
	version                  int
	sessionID, userID, appID string
	bot                      bool
	guildIDs                 []string
	unavailable              bool
}

func TestIdentifyReadyAndHeartbeats(t *testing.T) {
	t.Parallel()
	s := newServer(t, discordtest.WithHeartbeatInterval(20*time.Millisecond))
	dg := newSession(t, s, s.Token())
	dg.Identify.Intents = hotlineIntents
	// discordgo's heartbeat goroutine can beat once more while Close waits
	// out its second, fail, and reconnect after Close; this test needs no
	// reconnects.
	dg.ShouldReconnectOnError = false
	// State updates READY's guilds in place from GUILD_CREATE, which the
	// fake, like Discord, sends right after: with handlers on their own
	// goroutines, reading READY's guilds races with that.
	dg.SyncEvents = true
	ready := make(chan readySnapshot, 1)
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		snap := readySnapshot{version: r.Version, sessionID: r.SessionID}
		if r.User != nil {
			snap.userID, snap.bot = r.User.ID, r.User.Bot
		}
		if r.Application != nil {
			snap.appID = r.Application.ID
		}
		for _, g := range r.Guilds {
			snap.guildIDs = append(snap.guildIDs, g.ID)
			snap.unavailable = g.Unavailable
		}
		ready <- snap
	})
	guilds := make(chan []string, 1)
	dg.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) {
		var ids []string
		for _, c := range g.Channels {
			ids = append(ids, g.ID+"/"+c.ID)
		}
		guilds <- ids
	})
	if err := dg.Open(); err != nil {
		t.Fatal(err)
	}
	closeLater(t, dg)

	r := receive(t, ready)
	if err := s.WaitSessions(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	sessions := s.Sessions()
	if len(sessions) != 1 || sessions[0].Intents != int(hotlineIntents) || sessions[0].ID != r.sessionID {
		t.Errorf("sessions %+v, ready session %s", sessions, r.sessionID)
	}
	if r.version != 9 || r.userID != discordtest.BotUserID || !r.bot || len(r.guildIDs) != 1 ||
		r.guildIDs[0] != discordtest.GuildID || !r.unavailable || r.appID != discordtest.ApplicationID {
		t.Errorf("READY %+v", r)
	}
	if ids := receive(t, guilds); len(ids) != 1 || ids[0] != discordtest.GuildID+"/"+channel {
		t.Errorf("GUILD_CREATE channels %v", ids)
	}
	// Ten intervals: discordgo reconnects after five without an ack, so
	// one session still means every heartbeat was acked.
	if err := s.WaitHeartbeats(ctx(t), 10); err != nil {
		t.Fatal(err)
	}
	if s.Identifies() != 1 || s.Resumes() != 0 || len(s.Sessions()) != 1 {
		t.Errorf("identifies %d resumes %d sessions %d, want one session throughout", s.Identifies(), s.Resumes(), len(s.Sessions()))
	}
	if s.Sessions()[0].Sequence != 2 {
		t.Errorf("sequence %d, want 2 (READY, GUILD_CREATE)", s.Sessions()[0].Sequence)
	}
}

func TestGatewayRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	closeCode := func(err error) int {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return 0
	}

	// GET gateway needs no token, so a wrong one is found out at Identify.
	wrong := newSession(t, s, "not-the-token")
	if err := wrong.Open(); closeCode(err) != 4004 {
		t.Errorf("wrong token: %v, want close 4004 Authentication failed.", err)
	}
	privileged := newSession(t, s, s.Token())
	privileged.Identify.Intents = hotlineIntents | discordgo.IntentMessageContent
	if err := privileged.Open(); closeCode(err) != 4014 {
		t.Errorf("MESSAGE_CONTENT not granted: %v, want close 4014", err)
	}
	if n := len(s.Sessions()); n != 0 {
		t.Errorf("%d sessions after refused identifies", n)
	}

	granted := newServer(t, discordtest.WithPrivilegedIntents(discordtest.IntentMessageContent))
	openSession(t, granted, hotlineIntents|discordgo.IntentMessageContent)
}

func TestDropSessionsThenDiscordgoReconnects(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dg := openSession(t, s, hotlineIntents)
	first := s.Sessions()[0].ID

	s.DropSessions()
	if n := len(s.Sessions()); n != 0 {
		t.Fatalf("%d sessions right after DropSessions", n)
	}
	// discordgo tries to resume, gets Invalid Session and identifies anew
	// on the same connection.
	if err := s.WaitSessions(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if again := s.Sessions()[0].ID; again == first {
		t.Errorf("the same session %s after the drop", again)
	}
	if s.Resumes() != 1 || s.Identifies() != 2 {
		t.Errorf("resumes %d identifies %d, want 1 and 2", s.Resumes(), s.Identifies())
	}
	// The new session takes dispatches.
	reactions := events[*discordgo.MessageReactionAdd](dg)
	m, err := dg.ChannelMessageSend(channel, "still here")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.React(channel, m.ID, "910000000000000042", "👀"); err != nil {
		t.Fatal(err)
	}
	receive(t, reactions)
}

func TestReactions(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if err := s.React(channel, "1", "2", "👀"); !errors.Is(err, discordtest.ErrNoSession) {
		t.Errorf("react with nobody connected: %v, want ErrNoSession", err)
	}
	dg := openSession(t, s, hotlineIntents)
	reactions := events[*discordgo.MessageReactionAdd](dg)
	m, err := dg.ChannelMessageSend(channel, "INC-7 opened")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.React(channel, m.ID, "910000000000000042", "✅"); err != nil {
		t.Fatal(err)
	}
	r := receive(t, reactions)
	if r.UserID != "910000000000000042" || r.MessageID != m.ID || r.ChannelID != channel || r.GuildID != discordtest.GuildID ||
		r.Emoji.Name != "✅" || r.Emoji.ID != "" || r.Member == nil || r.Member.User.ID != "910000000000000042" {
		t.Errorf("reaction %+v (member %+v)", r.MessageReaction, r.Member)
	}
	if got, _ := s.Message(m.ID); len(got.Reactions) != 1 || got.Reactions[0].Emoji != "✅" {
		t.Errorf("reactions on the message %+v", got.Reactions)
	}
	if err := s.React(channel, "910000000000000777", "1", "✅"); err == nil {
		t.Error("reaction to a message the bot never sent")
	}

	deaf := newServer(t)
	openSession(t, deaf, discordgo.IntentGuilds|discordgo.IntentGuildMessages)
	if err := deaf.React(channel, m.ID, "1", "✅"); err == nil {
		t.Error("reaction delivered to a session without GUILD_MESSAGE_REACTIONS")
	}
}

func TestMessageEventsOverTheGateway(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dg := openSession(t, s, hotlineIntents)
	created := events[*discordgo.MessageCreate](dg)
	updated := events[*discordgo.MessageUpdate](dg)
	threads := events[*discordgo.ThreadCreate](dg)
	m, err := dg.ChannelMessageSend(channel, "INC-7 opened")
	if err != nil {
		t.Fatal(err)
	}
	if e := receive(t, created); e.ID != m.ID || e.Author.ID != discordtest.BotUserID || e.GuildID != discordtest.GuildID || e.Content != "INC-7 opened" {
		t.Errorf("MESSAGE_CREATE %+v", e.Message)
	}
	if _, err := dg.ChannelMessageEdit(channel, m.ID, "INC-7 resolved"); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, updated); e.ID != m.ID || e.Content != "INC-7 resolved" {
		t.Errorf("MESSAGE_UPDATE %+v", e.Message)
	}
	if _, err := dg.MessageThreadStart(channel, m.ID, "INC-7", 1440); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, threads); e.ID != m.ID || e.ParentID != channel || !e.NewlyCreated {
		t.Errorf("THREAD_CREATE %+v", e.Channel)
	}
	if err := s.Dispatch("TYPING_START", map[string]any{"channel_id": channel, "user_id": "1", "timestamp": 1700000000}); err != nil {
		t.Errorf("Dispatch: %v", err)
	}
}
