// Package discordtest is a fake Discord on loopback — the REST API under
// /api/v9/ and the gateway WebSocket — as strict as Discord about what a bot
// sends: tokens, channels, message, embed and component limits, command
// schemas, one response per interaction within three seconds, rate limits.
// It records every call so a test asserts what Discord would have seen, and
// it delivers interactions and reactions over the gateway, or signed over
// HTTP, the way Discord does.
//
// A test points a real discordgo session at it through Transport, which
// sends discordgo's https://discord.com/api/v9/ requests to the fake; the
// gateway URL comes from GET gateway as usual:
//
//	srv, err := discordtest.NewServer()
//	srv.AddChannel(alerts)
//	dg, err := discordgo.New("Bot " + srv.Token())
//	dg.Client = &http.Client{Transport: srv.Transport()}
//	err = dg.Open()
//	p, err := srv.Interact(discordtest.Command(alerts, user, roles, "ack", map[string]any{"incident": "INC-7"}))
//	resp, err := p.Wait(ctx) // what the bot answered, within Discord's 3 s
package discordtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Identity of the bot, its application and the one guild it is in.
const (
	BotUserID     = "900000000000000001"
	ApplicationID = "900000000000000002"
	GuildID       = "900000000000000003"
	BotUsername   = "hotline"
)

// Gateway intents Discord calls privileged: an identify asking for one the
// application has not been granted is closed with 4014.
const (
	IntentGuilds                = 1 << 0
	IntentGuildMembers          = 1 << 1
	IntentGuildPresences        = 1 << 8
	IntentGuildMessages         = 1 << 9
	IntentGuildMessageReactions = 1 << 10
	IntentMessageContent        = 1 << 15
	PrivilegedIntents           = IntentGuildMembers | IntentGuildPresences | IntentMessageContent
	// knownIntents are the bits Discord defines; others close with 4013.
	knownIntents = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 |
		1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<15 | 1<<16 | 1<<20 | 1<<21 | 1<<24 | 1<<25
)

const (
	defaultHeartbeat = 41250 * time.Millisecond
	// defaultDeadline is how long Discord waits for the first response to
	// an interaction before the user sees "The application did not respond".
	defaultDeadline = 3 * time.Second
)

// Option configures a Server.
type Option func(*config)

type config struct {
	heartbeat  time.Duration
	deadline   time.Duration
	privileged int
}

// WithHeartbeatInterval sets the heartbeat_interval of Hello (default
// 41.25 s, as Discord). discordgo heartbeats at once and then every
// interval, and reconnects after five intervals without an ack.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(c *config) { c.heartbeat = max(d, time.Millisecond) }
}

// WithInteractionDeadline sets how long an interaction waits for its first
// response (default 3 s, as Discord); later callbacks get 10062.
func WithInteractionDeadline(d time.Duration) Option {
	return func(c *config) { c.deadline = d }
}

// WithPrivilegedIntents grants the application privileged intents
// (IntentGuildMembers, IntentGuildPresences, IntentMessageContent). Without
// it an identify that asks for one is closed with 4014, as for an app whose
// intents were never switched on in the developer portal.
func WithPrivilegedIntents(intents int) Option {
	return func(c *config) { c.privileged = intents & PrivilegedIntents }
}

// Server is the fake Discord.
type Server struct {
	http      *http.Server
	ln        net.Listener
	token     string
	public    ed25519.PublicKey
	private   ed25519.PrivateKey
	cfg       config
	transport *http.Transport

	mu           sync.Mutex
	lastID       uint64
	channels     map[string]*Channel
	messages     []*Message // every message, in order
	commands     map[string]*commandScope
	interactions map[string]*interactionRecord // by interaction id
	tokens       map[string]*interactionRecord // by interaction token
	modals       map[string][]modalField       // opened modals by custom_id
	everyone     int
	calls        []Call
	failures     map[string][]failure
	outbox       []outgoing
	gateway      gatewayState
	changed      chan struct{} // closed and replaced on every change
}

// NewServer starts the fake on 127.0.0.1 at a free port.
func NewServer(opts ...Option) (*Server, error) {
	cfg := config{heartbeat: defaultHeartbeat, deadline: defaultDeadline}
	for _, o := range opts {
		o(&cfg)
	}
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("discordtest: key pair: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("discordtest: listen: %w", err)
	}
	s := &Server{
		ln:           ln,
		token:        botToken(),
		public:       public,
		private:      private,
		cfg:          cfg,
		transport:    &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16},
		channels:     map[string]*Channel{},
		commands:     map[string]*commandScope{},
		interactions: map[string]*interactionRecord{},
		tokens:       map[string]*interactionRecord{},
		modals:       map[string][]modalField{},
		failures:     map[string][]failure{},
		changed:      make(chan struct{}),
	}
	s.gateway.init()
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// botToken looks like a Discord bot token: base64 of the user id, a
// timestamp and an HMAC, separated by dots.
func botToken() string {
	return "OTAwMDAwMDAwMDAwMDAwMDAx." + randomHex(3) + "." + randomHex(19)
}

// Close stops the server and drops its gateway connections.
func (s *Server) Close() {
	_ = s.http.Close()
	s.closeGateway()
	s.transport.CloseIdleConnections()
}

// URL is the server's base, http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// APIURL is the REST base, ending in "/": http://127.0.0.1:PORT/api/v9/.
func (s *Server) APIURL() string { return s.URL() + "/api/v9/" }

// GatewayURL is the WebSocket URL GET gateway hands out.
func (s *Server) GatewayURL() string { return "ws://" + s.ln.Addr().String() + gatewayPath }

// Token is the bot token; REST calls carry it as "Authorization: Bot
// <token>", the gateway's identify as "Bot <token>" or bare.
func (s *Server) Token() string { return s.token }

// AddChannel makes a guild text channel with this id (a snowflake: digits
// only). Messages can be sent only to channels added here and to threads the
// fake started.
func (s *Server) AddChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[id]; ok {
		return
	}
	s.channels[id] = &Channel{ID: id, Type: ChannelTypeText, Name: "channel-" + id, GuildID: GuildID}
	s.notify()
}

// Channel is a guild channel or a thread.
type Channel struct {
	ID                  string
	Type                int // ChannelTypeText or ChannelTypePublicThread
	Name                string
	GuildID             string
	ParentID            string // a thread's channel
	OwnerID             string // who started a thread
	AutoArchiveDuration int    // a thread's, in minutes
}

// Channel types the fake knows.
const (
	ChannelTypeText         = 0
	ChannelTypePublicThread = 11
)

// Calls returns every REST call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Header = c.Header.Clone()
		c.Query = maps.Clone(c.Query)
		c.Body = slices.Clone(c.Body)
		out[i] = c
	}
	return out
}

// EveryoneMentions counts the messages created (in channels, as interaction
// responses or follow-ups) that pinged @everyone or @here: the content says
// so and allowed_mentions, when sent, lets "everyone" through.
func (s *Server) EveryoneMentions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.everyone
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitUntil waits until cond, checked under s.mu, holds.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// discordEpoch is the first millisecond of 2015, where snowflakes count from.
const discordEpoch = 1420070400000

// nextID is a fresh snowflake, larger than every one before; s.mu is held.
func (s *Server) nextID() string {
	id := uint64(time.Now().UnixMilli()-discordEpoch) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

func isSnowflake(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// timestamp is how Discord writes times: ISO 8601 with microseconds.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}
