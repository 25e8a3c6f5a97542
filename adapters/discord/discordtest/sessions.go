package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrNoSession is returned when nothing is connected and identified to
// receive a dispatch.
var ErrNoSession = errors.New("discordtest: no identified gateway session")

// Session is an identified gateway connection.
type Session struct {
	ID         string
	Intents    int
	Since      time.Time
	Heartbeats int   // heartbeats received on the connection
	Sequence   int64 // s of the last dispatch sent
}

// dispatch sends one event to the session with its next sequence number.
func (s *Server) dispatch(sess *session, event string, data json.RawMessage) error {
	c := sess.conn
	c.writes.Lock()
	defer c.writes.Unlock()
	s.mu.Lock()
	if c.session != sess || !s.gateway.conns[c] {
		s.mu.Unlock()
		return ErrNoSession
	}
	sess.seq++
	seq := sess.seq
	s.mu.Unlock()
	if err := c.writeLocked(dispatchFrame(event, data, seq)); err != nil {
		return fmt.Errorf("discordtest: dispatch %s: %w", event, err)
	}
	return nil
}

// outgoing is an event a REST call caused, sent once the call is handled
// to every session whose intents ask for it.
type outgoing struct {
	event  string
	data   json.RawMessage
	intent int
}

// queue: s.mu is held.
func (s *Server) queue(event string, data any, intent int) {
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	s.outbox = append(s.outbox, outgoing{event: event, data: raw, intent: intent})
}

func (s *Server) flush() {
	s.mu.Lock()
	out := s.outbox
	s.outbox = nil
	sessions := slices.Clone(s.gateway.sessions)
	s.mu.Unlock()
	for _, o := range out {
		for _, sess := range sessions {
			if sess.intents&o.intent != 0 {
				_ = s.dispatch(sess, o.event, o.data)
			}
		}
	}
}

// newest is the session Discord would pick; s.mu is held.
func (s *Server) newest() *session {
	if n := len(s.gateway.sessions); n > 0 {
		return s.gateway.sessions[n-1]
	}
	return nil
}

// Dispatch sends any event (op 0, t: event) with data, marshalled as JSON,
// to the newest identified session.
func (s *Server) Dispatch(event string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("discordtest: dispatch %s: %w", event, err)
	}
	s.mu.Lock()
	sess := s.newest()
	s.mu.Unlock()
	if sess == nil {
		return ErrNoSession
	}
	return s.dispatch(sess, event, raw)
}

// React dispatches MESSAGE_REACTION_ADD for userID adding emoji (a unicode
// emoji, or "name:id" for a custom one) to a message the bot sent, to the
// newest session, which must have the GUILD_MESSAGE_REACTIONS intent for
// Discord to deliver it.
func (s *Server) React(channelID, messageID, userID, emoji string) error {
	s.mu.Lock()
	sess := s.newest()
	m := s.findMessage(messageID)
	switch {
	case sess == nil:
		s.mu.Unlock()
		return ErrNoSession
	case sess.intents&IntentGuildMessageReactions == 0:
		s.mu.Unlock()
		return fmt.Errorf("discordtest: the session has no GUILD_MESSAGE_REACTIONS intent; Discord would not deliver the reaction")
	case m == nil || m.ChannelID != channelID || m.Ephemeral:
		s.mu.Unlock()
		return fmt.Errorf("discordtest: no message %s in channel %s to react to", messageID, channelID)
	}
	m.Reactions = append(m.Reactions, Reaction{UserID: userID, Emoji: emoji})
	s.notify()
	s.mu.Unlock()

	e := map[string]any{"id": nil, "name": emoji}
	if name, id, custom := strings.Cut(emoji, ":"); custom {
		e = map[string]any{"id": id, "name": name, "animated": false}
	}
	member := Member{User: User{ID: userID}}
	data := map[string]any{
		"user_id": userID, "channel_id": channelID, "message_id": messageID, "guild_id": GuildID,
		"member": member, "emoji": e, "message_author_id": BotUserID,
		"burst": false, "burst_colors": []any{}, "type": 0,
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return s.dispatch(sess, "MESSAGE_REACTION_ADD", raw)
}

// Sessions returns the identified sessions connected now, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, len(s.gateway.sessions))
	for i, sess := range s.gateway.sessions {
		out[i] = Session{ID: sess.id, Intents: sess.intents, Since: sess.since, Heartbeats: sess.conn.heartbeats, Sequence: sess.seq}
	}
	return out
}

// Identifies counts the successful identifies so far; Resumes the Resume
// payloads (each answered with Invalid Session).
func (s *Server) Identifies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gateway.identifies
}

// Resumes counts the Resume payloads received.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gateway.resumes
}

// WaitSessions waits until at least n identified sessions are connected.
func (s *Server) WaitSessions(ctx context.Context, n int) error {
	got := 0
	err := s.waitUntil(ctx, func() bool {
		got = len(s.gateway.sessions)
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("discordtest: %d of %d gateway sessions: %w", got, n, err)
	}
	return nil
}

// WaitHeartbeats waits until the newest session has sent at least n
// heartbeats.
func (s *Server) WaitHeartbeats(ctx context.Context, n int) error {
	got := 0
	err := s.waitUntil(ctx, func() bool {
		if sess := s.newest(); sess != nil {
			got = sess.conn.heartbeats
		}
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("discordtest: %d of %d heartbeats: %w", got, n, err)
	}
	return nil
}

// DropSessions closes every gateway connection abruptly, without a close
// frame, as a network failure would; the sessions are gone when it returns.
func (s *Server) DropSessions() {
	s.mu.Lock()
	conns := make([]*gatewayConn, 0, len(s.gateway.conns))
	for c := range s.gateway.conns {
		conns = append(conns, c)
		delete(s.gateway.conns, c)
	}
	s.gateway.sessions = nil
	s.notify()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}
