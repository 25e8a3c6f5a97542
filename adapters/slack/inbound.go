package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands"
	"github.com/hotline-dev/hotline/commands/chatwire"
)

// The action ids of the incident buttons; their value is the incident
// number ("12").
const (
	inboundActionAck      = "incident.ack"
	inboundActionOwn      = "incident.own"
	inboundActionResolve  = "incident.resolve"
	inboundActionEscalate = "incident.escalate"
)

const (
	// inboundMaxBody is far above anything Slack posts (a block_actions
	// payload with its message is tens of kilobytes).
	inboundMaxBody = 1 << 20
	// inboundAnswerWithin bounds everything done before answering, inside
	// Slack's 3 s deadline with room for the network.
	inboundAnswerWithin = 2 * time.Second
	// inboundWorkTimeout bounds the work done after the answer.
	inboundWorkTimeout = 30 * time.Second
)

// Threads finds the incident a root message belongs to (chatwire.Threads).
type Threads = chatwire.Threads

// Dedup remembers the platform ids already handled, across replicas.
type Dedup = bot.Deduper

// Escalator starts the phone escalation of an incident at once.
type Escalator interface {
	CallNow(ctx context.Context, number int64, by bot.Actor) (bot.Incident, error)
}

// Replier posts replies where a response_url is not at hand (reactions);
// *slack.Client satisfies it.
type Replier interface {
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
}

// InboundConfig is what the Slack endpoints need.
type InboundConfig struct {
	// SigningSecret checks the HTTP endpoints; without it they refuse
	// every request. It may be empty only when AppToken is set.
	SigningSecret string
	// AppToken is the app-level token (xapp-...) with which RunSocketMode
	// receives the same deliveries over Socket Mode.
	AppToken  string
	Incidents commands.Incidents
	Escalator Escalator // nil: "Call now" explains that no phone escalation is configured
	Threads   Threads   // maps a reacted-to root message to its incident
	Dedup     Dedup
	Reply     Replier // nil: a refused reaction is only logged
	// Views opens the postmortem modal after a Resolve click; nil: no
	// modal (the postmortem command still works).
	Views Views
	// Users maps a Slack user id to the contact id recorded as the actor;
	// unknown users act as their Slack user id.
	Users map[string]string
	// Reactions maps an emoji name to the command it runs on the incident;
	// nil means eyes=ack, raising_hand=own, white_check_mark=resolve.
	Reactions map[string]string
	BotUserID string // reactions by this user (the bot itself) are ignored
	Locale    string
	// Services maps a channel id to the service it belongs to, so that
	// `/incident new` there opens an incident of that service.
	Services map[string]string
	// Phone serves `/incident escalate` and `/incident oncall`; nil: they
	// explain that no phone escalation is configured.
	Phone commands.Phone
	// Authorizer says who may run what; nil: everyone may run everything.
	Authorizer *commands.Authorizer
	// Groups lists the workspace's user groups for the authorization rules
	// that name one ("slack:S0ONCALL"); nil: nobody is in any group.
	Groups GroupLister
	Logger *slog.Logger
	// HTTPClient posts to response_url; nil means a client with a timeout.
	HTTPClient *http.Client
}

// inboundDefaultReactions is the meaning of reactions on every platform.
func inboundDefaultReactions() map[string]string {
	return map[string]string{"eyes": commands.VerbAck, "raising_hand": commands.VerbOwn, "white_check_mark": commands.VerbResolve}
}

// Inbound handles Slack's deliveries, slash commands, button clicks and
// events, whether they come as signed HTTP requests (Register) or over
// Socket Mode (RunSocketMode). Nothing is believed without a valid
// signature or the app-level token's connection.
type Inbound struct {
	secret    string
	appToken  string
	incidents commands.Incidents
	escalator Escalator
	threads   Threads
	dedup     Dedup
	reply     Replier
	views     Views
	users     map[string]string
	reactions map[string]string
	botUserID string
	locale    string
	services  map[string]string
	phone     commands.Phone
	authz     *commands.Authorizer
	groups    *userGroups
	log       *slog.Logger
	client    *http.Client

	answerWithin time.Duration
	work         *chatwire.Work
}

// NewInbound checks cfg and names every problem at once.
func NewInbound(cfg InboundConfig) (*Inbound, error) {
	var problems bot.Problems
	if cfg.SigningSecret == "" && cfg.AppToken == "" {
		problems.Add("signing_secret", "is required (or app_token, for Socket Mode)")
	}
	if cfg.AppToken != "" && !strings.HasPrefix(cfg.AppToken, "xapp-") {
		problems.Add("app_token", "must be an app-level token (xapp-...), not a bot or user token")
	}
	if cfg.Incidents == nil {
		problems.Add("incidents", "is required")
	}
	if cfg.Threads == nil {
		problems.Add("threads", "is required")
	}
	if cfg.Dedup == nil {
		problems.Add("dedup", "is required")
	}
	reactions := cfg.Reactions
	if reactions == nil {
		reactions = inboundDefaultReactions()
	}
	for emoji, command := range reactions {
		// A reaction names no incident itself: the thread does.
		if _, err := commands.Parse(command + " INC-1"); err != nil || strings.TrimSpace(command) == "" {
			problems.Add("reactions."+emoji, fmt.Sprintf("%q is not a command that needs nothing but the incident (ack, own, resolve)", command))
		}
	}
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("slack inbound: %w", err)
	}
	h := &Inbound{
		secret:       cfg.SigningSecret,
		appToken:     cfg.AppToken,
		incidents:    cfg.Incidents,
		escalator:    cfg.Escalator,
		threads:      cfg.Threads,
		dedup:        cfg.Dedup,
		reply:        cfg.Reply,
		views:        cfg.Views,
		users:        maps.Clone(cfg.Users),
		reactions:    maps.Clone(reactions),
		botUserID:    cfg.BotUserID,
		locale:       cfg.Locale,
		services:     cfg.Services,
		phone:        cfg.Phone,
		authz:        cfg.Authorizer,
		groups:       groupsFrom(cfg.Groups),
		log:          cfg.Logger,
		client:       cfg.HTTPClient,
		answerWithin: inboundAnswerWithin,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.work = &chatwire.Work{Timeout: inboundWorkTimeout, Log: h.log.With("platform", "slack")}
	if h.client == nil {
		h.client = &http.Client{Timeout: 10 * time.Second}
	}
	return h, nil
}

// Register serves POST /v1/slack/commands, /v1/slack/interactions and
// /v1/slack/events on mux. The patterns carry no method, so a GET is
// answered 405 here even when mux has a catch-all.
func (h *Inbound) Register(mux *http.ServeMux) {
	mux.HandleFunc("/v1/slack/commands", h.verified(h.command))
	mux.HandleFunc("/v1/slack/interactions", h.verified(h.interaction))
	mux.HandleFunc("/v1/slack/events", h.verified(h.event))
}

// Wait waits for the work requests started after their answer, or for ctx.
// Call it on shutdown once the server no longer accepts requests.
func (h *Inbound) Wait(ctx context.Context) error { return h.work.Wait(ctx) }

// inboundHandler handles a request whose body is read and verified (r.Body
// reads it again); it answers by deadline.
type inboundHandler func(w http.ResponseWriter, r *http.Request, body []byte, deadline time.Time)

// verified reads the body (capped), checks Slack's signature over the raw
// bytes and only then hands the request on, its body readable again.
func (h *Inbound) verified(next inboundHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(h.answerWithin)
		body, ok := chatwire.ReadPost(w, r, inboundMaxBody)
		if !ok {
			return
		}
		if err := h.verify(r.Header, body); err != nil {
			reason := inboundRefusal(err)
			h.log.WarnContext(r.Context(), "slack request refused", "platform", "slack", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", reason)
			http.Error(w, reason, http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r, body, deadline)
	}
}

func (h *Inbound) verify(header http.Header, body []byte) error {
	if h.secret == "" {
		// An empty key would sign for anyone.
		return errInboundNoSecret
	}
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

var errInboundNoSecret = errors.New("no signing secret")

// inboundRefusal says why a request was refused, without the signature.
func inboundRefusal(err error) string {
	switch {
	case errors.Is(err, errInboundNoSecret):
		return "no signing_secret is configured: Slack reaches Hotline over Socket Mode only"
	case errors.Is(err, slack.ErrMissingHeaders):
		return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return "X-Slack-Request-Timestamp is more than 5 minutes off: stale or replayed request"
	}
	return "invalid X-Slack-Signature"
}

// inboundAnswer is how one delivery is answered, whatever carries it: the
// HTTP response or the Socket Mode acknowledgement.
type inboundAnswer struct {
	status int         // 200 takes the delivery; 4xx refuses it; 503 asks for it again
	reason string      // why it was refused
	reply  *inboundMsg // a slash command's answer, when it came in time
	body   any         // a JSON answer of another shape (view_submission's response_action)
	plain  string      // url_verification's challenge
}

func inboundTaken() inboundAnswer { return inboundAnswer{status: http.StatusOK} }

func inboundRefused(status int, reason string) inboundAnswer {
	return inboundAnswer{status: status, reason: reason}
}

// writeAnswer sends a as the HTTP response.
func writeAnswer(w http.ResponseWriter, a inboundAnswer) {
	switch {
	case a.status != http.StatusOK:
		http.Error(w, a.reason, a.status)
	case a.reply != nil:
		inboundJSON(w, *a.reply)
	case a.body != nil:
		inboundJSON(w, a.body)
	case a.plain != "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, a.plain)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// firstDelivery records key. When the delivery is a replay (200, nothing
// runs) or cannot be recorded (503, the sender delivers it again) it
// reports false with that answer. retry is Slack's retry count, for the log.
func (h *Inbound) firstDelivery(ctx context.Context, deadline time.Time, key, retry string) (bool, inboundAnswer) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	first, err := h.dedup.Remember(ctx, key)
	if err != nil {
		h.log.ErrorContext(ctx, "slack request not handled: cannot record its delivery", "platform", "slack", "key", key, "err", err)
		return false, inboundRefused(http.StatusServiceUnavailable, "cannot record the delivery; retry later")
	}
	if !first {
		h.log.DebugContext(ctx, "slack delivery seen before; ignored", "platform", "slack", "key", key, "retry", retry)
		return false, inboundTaken()
	}
	return true, inboundAnswer{}
}

// background runs fn after the answer, detached from the delivery but
// bounded, with panics contained.
func (h *Inbound) background(ctx context.Context, fn func(ctx context.Context)) { h.work.Go(ctx, fn) }

// invocation is a command as the command language takes it, from channel
// (empty when it does not matter).
func (h *Inbound) invocation(text string, by bot.Actor, channel string, user string) commands.Invocation {
	in := commands.Invocation{Text: text, Actor: by, Locale: h.locale, Service: h.services[channel], Phone: h.phone,
		Authorizer: h.authz}
	if h.groups != nil {
		in.Groups = func(ctx context.Context) ([]string, error) { return h.groups.of(ctx, user) }
	}
	return in
}

func (h *Inbound) actor(userID string) bot.Actor {
	if id, ok := h.users[userID]; ok && id != "" {
		return bot.Actor{ID: id, Source: "slack"}
	}
	return bot.Actor{ID: userID, Source: "slack"}
}

// command answers "/incident ..." posted over HTTP.
func (h *Inbound) command(w http.ResponseWriter, r *http.Request, _ []byte, deadline time.Time) {
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed slash command: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeAnswer(w, h.handleCommand(r.Context(), cmd, deadline, r.Header.Get("X-Slack-Retry-Num")))
}

// handleCommand runs "/incident ...": the answer carries the reply when the
// command is done by deadline, else it is empty and the reply goes through
// response_url.
func (h *Inbound) handleCommand(ctx context.Context, cmd slack.SlashCommand, deadline time.Time, retry string) inboundAnswer {
	if cmd.UserID == "" {
		return inboundRefused(http.StatusBadRequest, "malformed slash command: no user_id")
	}
	// Slack does not retry slash commands; this turns a replay within the
	// signature's five minutes into nothing.
	if cmd.TriggerID != "" {
		if first, answer := h.firstDelivery(ctx, deadline, "slack:command:"+cmd.TeamID+":"+cmd.TriggerID, retry); !first {
			return answer
		}
	}
	// Slack sends no thread_ts with a slash command, so the incident must be
	// named (INC-n).
	in := h.invocation(cmd.Text, h.actor(cmd.UserID), cmd.ChannelID, cmd.UserID)
	replies := make(chan commands.Reply, 1)
	h.background(ctx, func(ctx context.Context) {
		reply := commands.Run(ctx, h.incidents, in)
		h.logReply(ctx, "slack command", in.Actor, reply)
		replies <- reply
	})
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case reply := <-replies:
		msg := inboundMessage(reply.Text, reply.Ephemeral)
		return inboundAnswer{status: http.StatusOK, reply: &msg}
	case <-timer.C:
		h.background(ctx, func(ctx context.Context) {
			select {
			case reply := <-replies:
				h.respond(ctx, cmd.ResponseURL, in.Actor, inboundMessage(reply.Text, reply.Ephemeral))
			case <-ctx.Done():
			}
		})
		return inboundTaken()
	}
}

// interaction handles a button click posted over HTTP.
func (h *Inbound) interaction(w http.ResponseWriter, r *http.Request, _ []byte, deadline time.Time) {
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "malformed interaction payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeAnswer(w, h.handleInteraction(r.Context(), ic, deadline, r.Header.Get("X-Slack-Retry-Num")))
}

// handleInteraction takes a button click at once and runs the action after;
// a modal's submission is answered once it is saved.
func (h *Inbound) handleInteraction(ctx context.Context, ic slack.InteractionCallback, deadline time.Time, retry string) inboundAnswer {
	if ic.Type == slack.InteractionTypeViewSubmission {
		return h.handleViewSubmission(ctx, ic, deadline, retry)
	}
	actions := ic.ActionCallback.BlockActions
	if ic.Type != slack.InteractionTypeBlockActions || len(actions) == 0 {
		h.log.DebugContext(ctx, "slack interaction ignored", "platform", "slack", "type", ic.Type)
		return inboundTaken()
	}
	if ic.User.ID == "" {
		return inboundRefused(http.StatusBadRequest, "malformed interaction payload: no user")
	}
	// trigger_id is unique per click; action_ts with the user is the
	// fallback for payloads without one.
	id := ic.TriggerID
	if id == "" && actions[0].ActionTs != "" {
		id = ic.User.ID + ":" + actions[0].ActionTs
	}
	if id == "" {
		return inboundRefused(http.StatusBadRequest, "malformed interaction payload: neither trigger_id nor action_ts")
	}
	if first, answer := h.firstDelivery(ctx, deadline, "slack:interaction:"+ic.Team.ID+":"+id, retry); !first {
		return answer
	}
	by := h.actor(ic.User.ID)
	trigger := ic.TriggerID
	h.background(ctx, func(ctx context.Context) {
		for _, a := range actions {
			text := h.runAction(ctx, a, trigger, ic.User.ID, by)
			msg := inboundMessage(text, true)
			if ic.ResponseURL != "" {
				h.respond(ctx, ic.ResponseURL, by, msg)
			} else {
				h.postEphemeral(ctx, ic.Channel.ID, ic.User.ID, by, text)
			}
		}
	})
	return inboundTaken()
}

// inboundEnvelope is the outer part of every Events API request.
type inboundEnvelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	EventID   string `json:"event_id"`
	Event     struct {
		Type string `json:"type"`
	} `json:"event"`
}

// event handles the Events API posted over HTTP.
func (h *Inbound) event(w http.ResponseWriter, r *http.Request, body []byte, deadline time.Time) {
	writeAnswer(w, h.handleEvent(r.Context(), body, deadline, r.Header.Get("X-Slack-Retry-Num")))
}

// handleEvent handles an Events API envelope (body): the URL check and
// reactions.
func (h *Inbound) handleEvent(ctx context.Context, body []byte, deadline time.Time, retry string) inboundAnswer {
	var env inboundEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return inboundRefused(http.StatusBadRequest, "malformed event: "+err.Error())
	}
	switch env.Type {
	case slackevents.URLVerification:
		if env.Challenge == "" {
			return inboundRefused(http.StatusBadRequest, "url_verification without a challenge")
		}
		return inboundAnswer{status: http.StatusOK, plain: env.Challenge}
	case slackevents.CallbackEvent:
	default:
		return inboundTaken() // app_rate_limited and what comes later
	}
	if env.Event.Type != string(slackevents.ReactionAdded) && env.Event.Type != string(slackevents.AppMention) {
		// reaction_removed undoes nothing: an ack stays an ack.
		return inboundTaken()
	}
	parsed, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken()) // the signature is checked
	if err != nil {
		return inboundRefused(http.StatusBadRequest, "malformed event: "+err.Error())
	}
	if m, ok := parsed.InnerEvent.Data.(*slackevents.AppMentionEvent); ok {
		return h.handleMention(ctx, env.EventID, m, deadline, retry)
	}
	ev, ok := parsed.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok || env.EventID == "" || ev.User == "" {
		return inboundRefused(http.StatusBadRequest, "malformed event: reaction_added needs event_id and user")
	}
	// "raising_hand::skin-tone-3" is still raising_hand.
	emoji, _, _ := strings.Cut(ev.Reaction, "::")
	verb, mapped := h.reactions[emoji]
	if !mapped || ev.User == h.botUserID || ev.Item.Type != "message" || ev.Item.Channel == "" || ev.Item.Timestamp == "" {
		return inboundTaken()
	}
	if first, answer := h.firstDelivery(ctx, deadline, "slack:event:"+env.EventID, retry); !first {
		return answer
	}
	by := h.actor(ev.User)
	channel, ts, user := ev.Item.Channel, ev.Item.Timestamp, ev.User
	h.background(ctx, func(ctx context.Context) {
		h.react(ctx, verb, channel, ts, user, by)
	})
	return inboundTaken()
}

func groupsFrom(l GroupLister) *userGroups {
	if l == nil {
		return nil
	}
	return &userGroups{api: l}
}
