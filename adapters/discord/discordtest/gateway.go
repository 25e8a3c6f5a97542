package discordtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The gateway as Discord speaks it with encoding=json: Hello (op 10) on
// connect, Heartbeat (1) answered by Heartbeat ACK (11), Identify (2)
// answered by the READY dispatch (op 0) and, with the GUILDS intent,
// GUILD_CREATE; Resume (6) answered by Invalid Session (9, d:false), as the
// fake keeps no session to resume. Problems close the connection with
// Discord's codes: 4001 unknown opcode, 4002 decode error, 4003 not
// authenticated, 4004 authentication failed, 4005 already authenticated,
// 4010 invalid shard, 4012 invalid API version, 4013 invalid intents,
// 4014 disallowed intents.
const gatewayPath = "/gateway"

type gatewayState struct {
	conns      map[*gatewayConn]bool // every open connection
	sessions   []*session            // identified and connected, newest last
	identifies int
	resumes    int
	closed     bool
}

func (g *gatewayState) init() { g.conns = map[*gatewayConn]bool{} }

type gatewayConn struct {
	ws         *websocket.Conn
	writes     sync.Mutex // one writer at a time; taken before Server.mu
	version    int
	heartbeats int      // under Server.mu
	session    *session // under Server.mu, once identified
}

type session struct {
	id      string
	intents int
	since   time.Time
	seq     int64 // under Server.mu
	conn    *gatewayConn
}

// frame is a gateway payload; s and t are null except in dispatches.
type frame struct {
	Op int     `json:"op"`
	D  any     `json:"d"`
	S  *int64  `json:"s"`
	T  *string `json:"t"`
}

func (c *gatewayConn) writeLocked(f frame) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(f)
}

func (c *gatewayConn) write(f frame) error {
	c.writes.Lock()
	defer c.writes.Unlock()
	return c.writeLocked(f)
}

// close ends the connection as Discord does: a close frame with the code
// and reason, then the socket.
func (c *gatewayConn) close(code int, reason string) {
	c.writes.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.writes.Unlock()
	_ = c.ws.Close()
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &gatewayConn{ws: ws, version: 9}
	s.mu.Lock()
	if s.gateway.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.gateway.conns[c] = true
	s.mu.Unlock()
	defer s.dropConn(c)

	q := r.URL.Query()
	switch v := q.Get("v"); v {
	case "", "9":
	case "10":
		c.version = 10
	default:
		c.close(4012, "Invalid API version.")
		return
	}
	if e := q.Get("encoding"); e != "" && e != "json" {
		c.close(4002, "Error while decoding payload.") // the fake speaks JSON only
		return
	}
	if q.Get("compress") != "" {
		c.close(4000, "Unknown error.") // the fake does not compress the transport
		return
	}
	hello := frame{Op: 10, D: map[string]any{"heartbeat_interval": s.cfg.heartbeat.Milliseconds(), "_trace": []string{`["discordtest",{"micros":0}]`}}}
	if err := c.write(hello); err != nil {
		return
	}
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Op *int            `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if mt != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Op == nil {
			c.close(4002, "Error while decoding payload.")
			return
		}
		switch *f.Op {
		case 1:
			s.mu.Lock()
			c.heartbeats++
			s.notify()
			s.mu.Unlock()
			if c.write(frame{Op: 11}) != nil {
				return
			}
		case 2:
			if !s.identify(c, f.D) {
				return
			}
		case 6:
			if !s.resume(c, f.D) {
				return
			}
		case 3, 4, 8: // presence, voice state, request guild members: taken, not acted on
			s.mu.Lock()
			identified := c.session != nil
			s.mu.Unlock()
			if !identified {
				c.close(4003, "Not authenticated.")
				return
			}
		default:
			c.close(4001, "Unknown opcode.")
			return
		}
	}
}

// identify checks an Identify and answers READY; false when it closed the
// connection.
func (s *Server) identify(c *gatewayConn, d json.RawMessage) bool {
	var id struct {
		Token   string `json:"token"`
		Intents *int   `json:"intents"`
		Shard   []int  `json:"shard"`
	}
	if json.Unmarshal(d, &id) != nil {
		c.close(4002, "Error while decoding payload.")
		return false
	}
	s.mu.Lock()
	already := c.session != nil
	s.mu.Unlock()
	switch {
	case already:
		c.close(4005, "Already authenticated.")
		return false
	case strings.TrimPrefix(id.Token, "Bot ") != s.token:
		c.close(4004, "Authentication failed.")
		return false
	case id.Intents == nil || *id.Intents&^knownIntents != 0:
		c.close(4013, "Invalid intent(s).")
		return false
	case *id.Intents&PrivilegedIntents&^s.cfg.privileged != 0:
		c.close(4014, "Disallowed intent(s).")
		return false
	case id.Shard != nil && !slices.Equal(id.Shard, []int{0, 1}):
		c.close(4010, "Invalid shard.") // the fake is one shard (gateway/bot says shards: 1)
		return false
	}

	sess := &session{id: randomHex(16), intents: *id.Intents, since: time.Now(), conn: c}
	// READY and GUILD_CREATE go out before anything else can be dispatched
	// to the session: it is published only after them.
	c.writes.Lock()
	defer c.writes.Unlock()
	ready := map[string]any{
		"v":                  c.version,
		"user":               mergeMaps(botUserJSON(), map[string]any{"verified": true, "mfa_enabled": false, "email": nil}),
		"session_id":         sess.id,
		"session_type":       "normal",
		"resume_gateway_url": s.GatewayURL(),
		"guilds":             []any{map[string]any{"id": GuildID, "unavailable": true}},
		"application":        map[string]any{"id": ApplicationID, "flags": 0},
		"private_channels":   []any{},
		"relationships":      []any{},
		"presences":          []any{},
		"user_settings":      map[string]any{},
		"_trace":             []string{`["discordtest",{"micros":0}]`},
	}
	if id.Shard != nil {
		ready["shard"] = id.Shard
	}
	frames := []frame{dispatchFrame("READY", ready, 1)}
	if sess.intents&IntentGuilds != 0 {
		s.mu.Lock()
		guild := s.guildJSON()
		s.mu.Unlock()
		frames = append(frames, dispatchFrame("GUILD_CREATE", guild, 2))
	}
	for _, f := range frames {
		if c.writeLocked(f) != nil {
			return false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.seq = int64(len(frames))
	if !s.gateway.conns[c] {
		return false
	}
	c.session = sess
	s.gateway.sessions = append(s.gateway.sessions, sess)
	s.gateway.identifies++
	s.notify()
	return true
}

// resume answers every Resume with Invalid Session, d:false: the client
// must identify again (discordgo does, on the same connection).
func (s *Server) resume(c *gatewayConn, d json.RawMessage) bool {
	var r struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
	}
	if json.Unmarshal(d, &r) != nil {
		c.close(4002, "Error while decoding payload.")
		return false
	}
	s.mu.Lock()
	already := c.session != nil
	s.gateway.resumes++
	s.notify()
	s.mu.Unlock()
	switch {
	case already:
		c.close(4005, "Already authenticated.")
		return false
	case strings.TrimPrefix(r.Token, "Bot ") != s.token:
		c.close(4004, "Authentication failed.")
		return false
	}
	return c.write(frame{Op: 9, D: false}) == nil
}

func dispatchFrame(event string, data any, seq int64) frame {
	return frame{Op: 0, D: data, S: &seq, T: &event}
}

func (s *Server) closeGateway() {
	s.mu.Lock()
	s.gateway.closed = true
	s.mu.Unlock()
	s.DropSessions()
}

func (s *Server) dropConn(c *gatewayConn) {
	s.mu.Lock()
	delete(s.gateway.conns, c)
	s.gateway.sessions = slices.DeleteFunc(s.gateway.sessions, func(o *session) bool { return o.conn == c })
	s.notify()
	s.mu.Unlock()
	_ = c.ws.Close()
}

// guildJSON is the guild as GUILD_CREATE carries it; s.mu is held.
func (s *Server) guildJSON() map[string]any {
	channels, threads := []any{}, []any{}
	ids := make([]string, 0, len(s.channels))
	for id := range s.channels {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := s.channels[id]
		if c.Type == ChannelTypePublicThread {
			threads = append(threads, s.channelJSON(c))
		} else {
			channels = append(channels, s.channelJSON(c))
		}
	}
	joined := timestamp(time.Now().Add(-24 * time.Hour))
	return map[string]any{
		"id": GuildID, "name": "Hotline Test", "icon": nil, "owner_id": "900000000000000009",
		"unavailable": false, "large": false, "member_count": 2, "joined_at": joined,
		"preferred_locale": "en-US", "features": []any{}, "emojis": []any{}, "stickers": []any{},
		"channels": channels, "threads": threads, "voice_states": []any{}, "presences": []any{},
		"stage_instances": []any{}, "guild_scheduled_events": []any{},
		"members": []any{map[string]any{"user": botUserJSON(), "roles": []any{}, "joined_at": joined, "deaf": false, "mute": false, "flags": 0}},
		"roles": []any{map[string]any{
			"id": GuildID, "name": "@everyone", "permissions": "2248473465835073", "position": 0,
			"color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0,
		}},
	}
}

func mergeMaps(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}
