package slacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode as Slack speaks it: apps.connections.open with the app-level
// token hands out a one-time wss URL; the connection starts with hello,
// carries envelopes to the app and the app's acknowledgements back.
const (
	socketPath = "/link/"
	// socketAckLimit is the size at which Slack silently drops an ack.
	socketAckLimit = 20 * 1024
	// socketPingEvery is how often the fake pings, as Slack does, so a
	// client that watches for Slack's pings keeps the connection.
	socketPingEvery = 2 * time.Second
)

// Envelope is one Socket Mode delivery a test pushes to the app.
type Envelope struct {
	Type         string // events_api, interactive, slash_commands
	Payload      any    // marshalled as JSON; a json.RawMessage is sent as it is
	RetryAttempt int    // events_api: 1 and up for a redelivery
	RetryReason  string // events_api: "timeout" and the like
}

// SocketAck is one acknowledgement the app sent over a Socket Mode
// connection.
type SocketAck struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
	// Problem says why Slack would not take this ack: an envelope it never
	// sent, one acked before, an ack over 20 KB, a frame that is no ack.
	Problem string
}

type socketConn struct {
	conn   *websocket.Conn
	writes sync.Mutex // gorilla/websocket allows one writer at a time
	done   chan struct{}
}

func (c *socketConn) writeJSON(v any) error {
	c.writes.Lock()
	defer c.writes.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(v)
}

// socketState is the Socket Mode side of the Server, under Server.mu.
type socketState struct {
	tickets   map[string]bool // issued and not yet used
	conns     []*socketConn   // open, greeted, newest last
	greeted   int             // connections ever greeted with hello
	envelopes map[string]bool // pushed envelope ids: true once acked
	acks      []SocketAck
	changed   chan struct{} // closed and replaced on every change
	closed    bool
}

func (st *socketState) init() {
	st.tickets = map[string]bool{}
	st.envelopes = map[string]bool{}
	st.changed = make(chan struct{})
}

// notifySocket wakes the waiters; s.mu is held.
func (s *Server) notifySocket() {
	close(s.socket.changed)
	s.socket.changed = make(chan struct{})
}

// AppToken is the app-level token (xapp-...) apps.connections.open accepts;
// any other gets invalid_auth, the bot token not_allowed_token_type.
func (s *Server) AppToken() string { return s.appToken }

func (s *Server) openConnection() reply {
	ticket := randomHex(16)
	s.mu.Lock()
	s.socket.tickets[ticket] = true
	s.mu.Unlock()
	return ok(map[string]any{"url": "ws://" + s.ln.Addr().String() + socketPath + "?ticket=" + ticket + "&app_id=" + AppID})
}

// serveSocket is the WebSocket endpoint behind the URL apps.connections.open
// handed out. A ticket opens one connection.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.socket.tickets[ticket] && !s.socket.closed
	delete(s.socket.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	// Slack's clients send Origin: https://api.slack.com.
	upgrader := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &socketConn{conn: conn, done: make(chan struct{})}
	defer s.dropSocket(c)

	s.mu.Lock()
	n := s.socket.greeted + 1
	s.mu.Unlock()
	hello := map[string]any{
		"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "applink-hotline-test", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID},
	}
	if err := c.writeJSON(hello); err != nil {
		return
	}
	s.mu.Lock()
	if s.socket.closed {
		s.mu.Unlock()
		return
	}
	s.socket.greeted++
	s.socket.conns = append(s.socket.conns, c)
	s.notifySocket()
	s.mu.Unlock()

	go c.ping()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		s.recordAck(data)
	}
}

func (c *socketConn) ping() {
	tick := time.NewTicker(socketPingEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
			if err := c.conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

func (s *Server) recordAck(data []byte) {
	var frame struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	ack := SocketAck{}
	if err := json.Unmarshal(data, &frame); err != nil || frame.EnvelopeID == "" {
		ack.Problem = "not an acknowledgement (no envelope_id): " + string(data)
	} else {
		ack.EnvelopeID = frame.EnvelopeID
		if len(frame.Payload) > 0 && string(frame.Payload) != "null" {
			ack.Payload = slices.Clone(frame.Payload)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ack.Problem == "" {
		acked, sent := s.socket.envelopes[ack.EnvelopeID]
		switch {
		case !sent:
			ack.Problem = "unknown envelope_id"
		case acked:
			ack.Problem = "acked twice"
		case len(data) >= socketAckLimit:
			ack.Problem = fmt.Sprintf("the ack is %d bytes; Slack drops acks of %d bytes or more", len(data), socketAckLimit)
		default:
			s.socket.envelopes[ack.EnvelopeID] = true
		}
	}
	s.socket.acks = append(s.socket.acks, ack)
	s.notifySocket()
}

func (s *Server) dropSocket(c *socketConn) {
	s.mu.Lock()
	s.socket.conns = slices.DeleteFunc(s.socket.conns, func(o *socketConn) bool { return o == c })
	s.notifySocket()
	s.mu.Unlock()
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	_ = c.conn.Close()
}

func (s *Server) closeSockets() {
	s.mu.Lock()
	s.socket.closed = true
	conns := slices.Clone(s.socket.conns)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.Close()
	}
}

// ErrNoSocket is returned by PushSocket when no app is connected.
var ErrNoSocket = errors.New("slacktest: no Socket Mode connection")

// PushSocket sends an envelope of envelopeType (events_api, interactive,
// slash_commands) carrying payload over the newest connection, as Slack
// delivers to one of the app's connections.
func (s *Server) PushSocket(envelopeType string, payload any) (envelopeID string, err error) {
	return s.PushEnvelope(Envelope{Type: envelopeType, Payload: payload})
}

// PushEnvelope is PushSocket with the retry fields.
func (s *Server) PushEnvelope(env Envelope) (envelopeID string, err error) {
	switch env.Type {
	case "events_api", "interactive", "slash_commands":
	default:
		return "", fmt.Errorf("slacktest: Slack sends no %q envelope", env.Type)
	}
	payload, err := json.Marshal(env.Payload)
	if err != nil {
		return "", fmt.Errorf("slacktest: envelope payload: %w", err)
	}
	id := randomUUID()
	frame := map[string]any{
		"envelope_id": id,
		"type":        env.Type,
		"payload":     json.RawMessage(payload),
		// Slack takes a response in the ack of commands and interactions.
		"accepts_response_payload": env.Type != "events_api",
	}
	if env.Type == "events_api" {
		frame["retry_attempt"] = env.RetryAttempt
		frame["retry_reason"] = env.RetryReason
	}
	s.mu.Lock()
	if len(s.socket.conns) == 0 {
		s.mu.Unlock()
		return "", ErrNoSocket
	}
	c := s.socket.conns[len(s.socket.conns)-1]
	s.socket.envelopes[id] = false
	s.mu.Unlock()
	if err := c.writeJSON(frame); err != nil {
		return "", fmt.Errorf("slacktest: push envelope: %w", err)
	}
	return id, nil
}

// DisconnectSockets sends every connection Slack's "disconnect" message,
// as Slack does before it refreshes a connection; the app is to open a new
// one. reason is "warning", "refresh_requested" and the like.
func (s *Server) DisconnectSockets(reason string) error {
	s.mu.Lock()
	conns := slices.Clone(s.socket.conns)
	s.mu.Unlock()
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.writeJSON(map[string]any{
			"type": "disconnect", "reason": reason,
			"debug_info": map[string]any{"host": "applink-hotline-test"},
		}))
	}
	return errors.Join(errs...)
}

// DropSockets cuts every connection without a word, like a network
// failure.
func (s *Server) DropSockets() {
	s.mu.Lock()
	conns := slices.Clone(s.socket.conns)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.conn.Close()
	}
}

// WaitSocket waits until n connections in all have been greeted with hello
// and one is open to push to.
func (s *Server) WaitSocket(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		greeted, open, changed := s.socket.greeted, len(s.socket.conns), s.socket.changed
		s.mu.Unlock()
		if greeted >= n && open > 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: %d of %d Socket Mode connections, %d open: %w", greeted, n, open, ctx.Err())
		}
	}
}

// SocketConnections is how many connections have been greeted so far.
func (s *Server) SocketConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socket.greeted
}

// SocketAcks returns every ack received, in order, the refused ones too.
func (s *Server) SocketAcks() []SocketAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SocketAck, len(s.socket.acks))
	for i, a := range s.socket.acks {
		a.Payload = slices.Clone(a.Payload)
		out[i] = a
	}
	return out
}

// WaitAck waits for the first ack of envelopeID.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (SocketAck, error) {
	for {
		s.mu.Lock()
		changed := s.socket.changed
		for _, a := range s.socket.acks {
			if a.EnvelopeID == envelopeID {
				a.Payload = slices.Clone(a.Payload)
				s.mu.Unlock()
				return a, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return SocketAck{}, fmt.Errorf("slacktest: no ack of envelope %s: %w", envelopeID, ctx.Err())
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// randomUUID is an envelope id shaped like Slack's.
func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
