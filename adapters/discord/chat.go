// Package discord is Hotline on Discord: a bot.Chat that posts incidents as
// embeds with buttons and a thread started from each, the /incident
// application command, and the inbound handling of commands, buttons and
// reactions over the gateway or the HTTP interactions endpoint.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
	"github.com/hotline-dev/hotline/commands/chatwire"
)

// defaultAPIURL is discordgo's own base, the one its endpoints are built on.
var defaultAPIURL = discordgo.EndpointAPI

const (
	// defaultHTTPTimeout bounds one REST call when the caller gives no
	// client of its own; the job runner retries what timed out.
	defaultHTTPTimeout = 15 * time.Second
	// threadArchiveMinutes keeps an incident's thread open for a day of
	// silence (Discord allows 60, 1440, 4320 or 10080).
	threadArchiveMinutes = 1440
)

// Discord's JSON error codes that say what an operator does.
var discordErrorHints = map[int]string{
	10003: "check the service's channels.discord id",
	50001: "give the Hotline bot access to the channel (View Channel, Send Messages, Create Public Threads)",
	50013: "give the Hotline bot the Send Messages, Embed Links and Create Public Threads permissions",
	40001: "check chat.discord.bot_token",
}

// ChatConfig configures the Discord chat.
type ChatConfig struct {
	BotToken     string
	APIURL       string            // default "https://discord.com/api/v9/"
	Locale       string            // ja | en: button labels and update texts
	ServiceNames map[string]string // service id → display name
	HTTPClient   *http.Client      // optional
	Logger       *slog.Logger
}

// Chat posts incidents to Discord channels (bot.Chat, bot.KnowledgeBase).
type Chat struct {
	session *discordgo.Session
	locale  string
	names   map[string]string
	log     *slog.Logger
}

// NewChat checks cfg and builds the chat; it makes no call to Discord.
func NewChat(cfg ChatConfig) (*Chat, error) {
	var problems bot.Problems
	set := chatwire.Check(&problems, "chat.discord", cfg.BotToken, cfg.APIURL, defaultAPIURL, cfg.Locale)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	hc := chatwire.Client(cfg.HTTPClient, defaultHTTPTimeout, func(base http.RoundTripper) http.RoundTripper {
		if set.APIURL == defaultAPIURL {
			return base
		}
		// discordgo builds every URL on discord.com; the transport sends
		// them to api_url instead (a proxy, or a fake in tests).
		return rewrite{from: defaultAPIURL, to: set.APIURL, base: base}
	})

	token := strings.TrimSpace(cfg.BotToken)
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.Client = hc
	// A 429 goes back to the job queue with its retry_after instead of
	// holding a worker asleep; discordgo's buckets still pace what is sent.
	s.ShouldRetryOnRateLimit = false
	s.Identify.Intents = Intents
	s.StateEnabled = true
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Chat{session: s, locale: set.Locale, names: cfg.ServiceNames, log: logger.With("platform", "discord")}, nil
}

// Intents are the gateway intents Hotline asks for: guilds, guild messages
// and their reactions. None is privileged: commands and buttons come as
// interactions, which need no message content.
const Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentsGuildMessageReactions

// Platform is "discord".
func (c *Chat) Platform() string { return "discord" }

// Session is the discordgo session the chat posts with; the gateway and the
// interaction responses use the same one.
func (c *Chat) Session() *discordgo.Session { return c.session }

// PostIncident posts the incident's embed with its buttons and starts the
// incident's thread from it. A thread started from a message has that
// message's id, so the thread is the message id.
func (c *Chat) PostIncident(ctx context.Context, channel string, inc bot.Incident) (bot.Thread, error) {
	if strings.TrimSpace(channel) == "" {
		return bot.Thread{}, bot.Invalid("post %s to discord: the service has no discord channel", inc.Ref())
	}
	embeds, components := IncidentMessage(inc, c.serviceName(inc.Service), c.locale)
	var msg *discordgo.Message
	err := c.call(ctx, "create message", func(opt discordgo.RequestOption) error {
		var err error
		msg, err = c.session.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
			Embeds: embeds, Components: components, AllowedMentions: noMentions(),
		}, opt)
		return err
	})
	if err != nil {
		return bot.Thread{}, err
	}
	if msg == nil || msg.ID == "" {
		return bot.Thread{}, errors.New("discord create message: the answer has no message id")
	}
	th := bot.Thread{IncidentID: inc.ID, Platform: c.Platform(), Channel: channel, MessageID: msg.ID}
	if err := c.startThread(ctx, th, inc); err != nil {
		// The message stands and is saved: posting it again would show the
		// incident twice. The first update starts the thread again.
		c.log.WarnContext(ctx, "discord thread not started; the next update tries again", "incident", inc.Ref(), "err", err)
	}
	c.log.DebugContext(ctx, "incident posted", "incident", inc.Ref(), "channel", channel, "message", msg.ID)
	return th, nil
}

func (c *Chat) startThread(ctx context.Context, th bot.Thread, inc bot.Incident) error {
	name := inc.Ref()
	if title := chattext.SingleLine(inc.Title); title != "" {
		name += " " + title
	}
	return c.call(ctx, "start thread", func(opt discordgo.RequestOption) error {
		_, err := c.session.MessageThreadStartComplex(th.Channel, th.MessageID, &discordgo.ThreadStart{
			Name: chattext.CutRunes(name, threadNameLimit), AutoArchiveDuration: threadArchiveMinutes,
		}, opt)
		return err
	})
}

// PostUpdate edits the embed to show inc as it is now, then posts one reply
// into the thread that digests the new events and alerts; with nothing new
// to say there is no reply.
func (c *Chat) PostUpdate(ctx context.Context, th bot.Thread, inc bot.Incident, events []bot.Event) error {
	if th.Channel == "" || th.MessageID == "" {
		return bot.Invalid("update %s on discord: the thread has no channel or message id", inc.Ref())
	}
	embeds, components := IncidentMessage(inc, c.serviceName(inc.Service), c.locale)
	if components == nil {
		// An empty list removes the buttons; a missing one keeps them.
		components = []discordgo.MessageComponent{}
	}
	err := c.call(ctx, "edit message", func(opt discordgo.RequestOption) error {
		_, err := c.session.ChannelMessageEditComplex(&discordgo.MessageEdit{
			ID: th.MessageID, Channel: th.Channel, Embeds: &embeds, Components: &components,
		}, opt)
		return err
	})
	if err != nil {
		return err
	}
	reply := chattext.DigestReply(events, inc.AlertCount-th.PostedAlerts, c.locale, discordMarkup)
	if reply == "" {
		return nil
	}
	send := &discordgo.MessageSend{Content: chattext.CutRunes(reply, contentLimit), AllowedMentions: noMentions()}
	if strings.Contains(reply, "@here") {
		// Only Hotline's own @here survives the digest's escaping.
		send.AllowedMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeEveryone}}
	}
	post := func() error {
		return c.call(ctx, "create message", func(opt discordgo.RequestOption) error {
			_, err := c.session.ChannelMessageSendComplex(th.MessageID, send, opt)
			return err
		})
	}
	err = post()
	if code := discordCode(err); code == codeUnknownChannel {
		// The thread was never started (PostIncident could not): start it
		// now and post again.
		if err := c.startThread(ctx, th, inc); err != nil && discordCode(err) != codeThreadExists {
			return err
		}
		err = post()
	}
	return err
}

// PostPostmortem posts an incident's postmortem summary to the service's
// knowledge-base channel (bot.KnowledgeBase).
func (c *Chat) PostPostmortem(ctx context.Context, channel string, pm bot.Postmortem) error {
	text := chattext.Postmortem(pm, c.serviceName(pm.Service), c.locale, discordMarkup)
	return c.call(ctx, "create message", func(opt discordgo.RequestOption) error {
		_, err := c.session.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
			Content: chattext.CutRunes(text, contentLimit), AllowedMentions: noMentions(),
			Flags: discordgo.MessageFlagsSuppressEmbeds,
		}, opt)
		return err
	})
}

func (c *Chat) serviceName(id string) string {
	if name := c.names[id]; name != "" {
		return name
	}
	return id
}

// noMentions lets a message ping nobody, whatever its text holds.
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// Discord's JSON error codes Hotline acts on.
const (
	codeUnknownChannel = 10003
	codeUnknownWebhook = 10015
	codeThreadExists   = 160004
)

// discordCode is the JSON error code of a refused REST call, 0 otherwise.
func discordCode(err error) int {
	var rest *discordgo.RESTError
	if errors.As(err, &rest) && rest.Message != nil {
		return rest.Message.Code
	}
	return 0
}

// call runs one REST call with ctx and turns its failure into Hotline's
// error kinds: RetryableError for rate limits, 5xx and network failures; a
// refusal that unwraps to *bot.InvalidError for the rest.
func (c *Chat) call(ctx context.Context, what string, do func(discordgo.RequestOption) error) error {
	return classify(ctx, what, do(discordgo.WithContext(ctx)))
}

func classify(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("discord %s: %w", what, err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller gave up (shutdown, its deadline): it decides what next.
		return fmt.Errorf("discord %s: %w: %w", what, ctxErr, err)
	}
	var limited *discordgo.RateLimitError
	var rest *discordgo.RESTError
	var noAnswer *url.Error
	switch {
	case errors.As(err, &limited):
		var after time.Duration
		if limited.RateLimit != nil && limited.TooManyRequests != nil {
			after = limited.RetryAfter
		}
		return bot.Retryable(wrapped, after)
	case errors.As(err, &rest) && rest.Response != nil:
		status := rest.Response.StatusCode
		if status == http.StatusTooManyRequests || status >= 500 {
			return bot.Retryable(wrapped, 0)
		}
		return &refusal{what: what, status: status, rest: rest}
	case strings.HasPrefix(err.Error(), "Exceeded Max retries HTTP 5"):
		// discordgo retried a 502 itself and gives up with a plain error.
		return bot.Retryable(wrapped, 0)
	case errors.As(err, &noAnswer):
		// No answer at all: refused connection, reset, timeout.
		return bot.Retryable(wrapped, 0)
	}
	// An answer that could not be read: the message may exist, so this is
	// left to the runner's backoff without a hint.
	return wrapped
}

// refusal is an answer that sending again will not change (a missing
// channel, a bad token, a message Discord rejects). It unwraps to a
// *bot.InvalidError, so the job runner gives up, and to discordgo's error.
type refusal struct {
	what   string
	status int
	rest   *discordgo.RESTError
}

func (e *refusal) Error() string {
	msg := fmt.Sprintf("discord %s refused: HTTP %d", e.what, e.status)
	if m := e.rest.Message; m != nil {
		msg += fmt.Sprintf(" (code %d: %s)", m.Code, m.Message)
		if hint := discordErrorHints[m.Code]; hint != "" {
			msg += ": " + hint
		}
	}
	if e.status == http.StatusUnauthorized {
		msg += ": check chat.discord.bot_token"
	}
	return msg
}

func (e *refusal) Unwrap() []error {
	return []error{&bot.InvalidError{Reason: e.Error()}, e.rest}
}

// rewrite sends requests for discordgo's built-in base URL to another.
type rewrite struct {
	from, to string
	base     http.RoundTripper
}

func (t rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if s := req.URL.String(); strings.HasPrefix(s, t.from) {
		u, err := url.Parse(t.to + strings.TrimPrefix(s, t.from))
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.URL, req.Host = u, u.Host
	}
	return t.base.RoundTrip(req)
}
