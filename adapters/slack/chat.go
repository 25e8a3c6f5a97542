// Package slack is Hotline on Slack: a bot.Chat that posts incidents as Block
// Kit root messages with threaded updates, and the inbound handler for
// commands, buttons and reactions.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chatwire"
	"github.com/slack-go/slack"
)

const (
	defaultAPIURL = "https://slack.com/api/"
	// defaultHTTPTimeout bounds one Web API call when the caller gives no
	// client of its own; the job runner retries what timed out.
	defaultHTTPTimeout = 15 * time.Second
)

// retryableSlackErrors are the ok:false error strings that mean "not now"
// rather than "never": Slack's own trouble and rate limits.
var retryableSlackErrors = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// slackErrorHints say what an operator does about a permanent refusal.
var slackErrorHints = map[string]string{
	"channel_not_found": "check the service's channels.slack id",
	"not_in_channel":    "invite the Hotline app to the channel",
	"is_archived":       "the channel is archived",
	"invalid_auth":      "check chat.slack.bot_token",
	"not_authed":        "check chat.slack.bot_token",
	"token_revoked":     "chat.slack.bot_token was revoked",
	"account_inactive":  "chat.slack.bot_token belongs to a deactivated app",
	"missing_scope":     "add the scope to the Slack app",
}

// ChatConfig configures the Slack chat.
type ChatConfig struct {
	BotToken     string
	APIURL       string            // default "https://slack.com/api/"
	Locale       string            // ja | en: button labels and update texts
	ServiceNames map[string]string // service id → display name
	HTTPClient   *http.Client      // optional
	Logger       *slog.Logger
}

// Chat posts incidents to Slack channels (bot.Chat).
type Chat struct {
	api    *slack.Client
	locale string
	names  map[string]string
	log    *slog.Logger
}

// NewChat checks cfg and builds the chat; it makes no call to Slack.
func NewChat(cfg ChatConfig) (*Chat, error) {
	var problems bot.Problems
	set := chatwire.Check(&problems, "chat.slack", cfg.BotToken, cfg.APIURL, defaultAPIURL, cfg.Locale)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	hc := chatwire.Client(cfg.HTTPClient, defaultHTTPTimeout, func(base http.RoundTripper) http.RoundTripper {
		return wireRecorder{base: base}
	})

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Chat{
		api:    slack.New(cfg.BotToken, slack.OptionAPIURL(set.APIURL), slack.OptionHTTPClient(hc)),
		locale: set.Locale,
		names:  cfg.ServiceNames,
		log:    logger.With("platform", "slack"),
	}, nil
}

// Platform is "slack".
func (c *Chat) Platform() string { return "slack" }

// Client is the Web API client the chat posts with, for the inbound handler's
// replies.
func (c *Chat) Client() *slack.Client { return c.api }

// PostIncident posts the incident's root message; its ts is the thread's id.
func (c *Chat) PostIncident(ctx context.Context, channel string, inc bot.Incident) (bot.Thread, error) {
	if strings.TrimSpace(channel) == "" {
		return bot.Thread{}, bot.Invalid("post %s to slack: the service has no slack channel", inc.Ref())
	}
	var gotChannel, ts string
	err := c.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		gotChannel, ts, err = c.api.PostMessageContext(ctx, channel,
			slack.MsgOptionText(rootFallback(inc), false),
			slack.MsgOptionBlocks(IncidentBlocks(inc, c.serviceName(inc.Service), c.locale)...),
		)
		return err
	})
	if err != nil {
		return bot.Thread{}, err
	}
	if ts == "" {
		// Without the ts nothing can be threaded or edited later.
		return bot.Thread{}, fmt.Errorf("slack chat.postMessage: the answer has no ts")
	}
	if gotChannel == "" {
		gotChannel = channel
	}
	c.log.DebugContext(ctx, "incident posted", "incident", inc.Ref(), "channel", gotChannel, "ts", ts)
	return bot.Thread{IncidentID: inc.ID, Platform: c.Platform(), Channel: gotChannel, MessageID: ts}, nil
}

// PostUpdate edits the root message to show inc as it is now, then posts
// one reply under it that digests the new events and alerts; with nothing
// new to say there is no reply.
func (c *Chat) PostUpdate(ctx context.Context, th bot.Thread, inc bot.Incident, events []bot.Event) error {
	if th.Channel == "" || th.MessageID == "" {
		return bot.Invalid("update %s on slack: the thread has no channel or message id", inc.Ref())
	}
	err := c.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, th.Channel, th.MessageID,
			slack.MsgOptionText(rootFallback(inc), false),
			slack.MsgOptionBlocks(IncidentBlocks(inc, c.serviceName(inc.Service), c.locale)...),
		)
		return err
	})
	if err != nil {
		return err
	}
	reply := digestReply(events, inc.AlertCount-th.PostedAlerts, c.locale)
	if reply == "" {
		return nil
	}
	return c.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		_, _, err := c.api.PostMessageContext(ctx, th.Channel,
			slack.MsgOptionText(reply, false),
			slack.MsgOptionTS(th.MessageID),
			// Links in alert texts would otherwise unfold into previews.
			slack.MsgOptionDisableLinkUnfurl(),
			slack.MsgOptionDisableMediaUnfurl(),
		)
		return err
	})
}

func (c *Chat) serviceName(id string) string {
	if name := c.names[id]; name != "" {
		return name
	}
	return id
}

// call runs one Web API call and turns its failure into Hotline's error
// kinds: RetryableError for rate limits, 5xx, Slack's own trouble and
// network failures; a refusal that unwraps to *bot.InvalidError for the rest.
func (c *Chat) call(ctx context.Context, method string, do func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	rec := &wireRecord{}
	err := do(context.WithValue(ctx, wireRecordKey{}, rec))
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller gave up (shutdown, its deadline): it decides what next.
		if !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return fmt.Errorf("slack %s: %w", method, err)
	}
	status, retryAfter := rec.result()
	wrapped := fmt.Errorf("slack %s: %w", method, err)
	var limited *slack.RateLimitedError
	var refused slack.SlackErrorResponse
	switch {
	case errors.As(err, &limited):
		return bot.Retryable(wrapped, limited.RetryAfter)
	case status == http.StatusTooManyRequests || status >= 500:
		return bot.Retryable(wrapped, parseRetryAfter(retryAfter, time.Now()))
	case errors.As(err, &refused):
		if retryableSlackErrors[refused.Err] {
			return bot.Retryable(wrapped, parseRetryAfter(retryAfter, time.Now()))
		}
		return &slackRefusal{method: method, code: refused.Err, details: refusalDetails(refused), cause: err}
	case status >= 400:
		return &slackRefusal{method: method, code: fmt.Sprintf("HTTP %d", status), cause: err}
	case status == 0:
		// No answer at all: refused connection, reset, timeout.
		return bot.Retryable(wrapped, 0)
	}
	// A 200 that could not be read: the message may exist, so this is left
	// to the runner's backoff without a hint.
	return wrapped
}

func refusalDetails(r slack.SlackErrorResponse) string {
	var parts []string
	if r.Needed != "" {
		parts = append(parts, "needs "+r.Needed)
	}
	parts = append(parts, r.ResponseMetadata.Messages...)
	return strings.Join(parts, "; ")
}

// slackRefusal is an answer that sending again will not change (a missing
// channel, a bad token, a message Slack rejects). It unwraps to a
// *bot.InvalidError, so the job runner gives up, and to slack-go's error.
type slackRefusal struct {
	method  string
	code    string // Slack's error string, or "HTTP 404"
	details string
	cause   error
}

func (e *slackRefusal) Error() string {
	msg := fmt.Sprintf("slack %s refused: %s", e.method, e.code)
	if e.details != "" {
		msg += " (" + e.details + ")"
	}
	if hint := slackErrorHints[e.code]; hint != "" {
		msg += ": " + hint
	}
	return msg
}

func (e *slackRefusal) Unwrap() []error {
	return []error{&bot.InvalidError{Reason: e.Error()}, e.cause}
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; zero when
// absent or unreadable (the runner's backoff applies).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// wireRecord keeps the HTTP status and Retry-After of the call whose
// context carries it: slack-go drops both when the answer is an ok:false
// or a 5xx.
type wireRecord struct {
	mu         sync.Mutex
	status     int
	retryAfter string
}

type wireRecordKey struct{}

func (r *wireRecord) result() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.retryAfter
}

// wireRecorder is the HTTP transport under slack-go that fills the
// request's wireRecord.
type wireRecorder struct{ base http.RoundTripper }

func (t wireRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if rec, ok := req.Context().Value(wireRecordKey{}).(*wireRecord); ok && resp != nil {
		rec.mu.Lock()
		rec.status, rec.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		rec.mu.Unlock()
	}
	return resp, err
}
