package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/hotline-dev/hotline/bot"
)

// sdkBaseURL is what twilio-go's v2010 service puts before every path; it
// has no setting for it, so rebased swaps it for Config.APIURL.
const sdkBaseURL = "https://api.twilio.com"

// codeNotInProgress is Twilio's answer to ending a call that already ended.
const codeNotInProgress = 21220

// APIError is a refusal from Twilio that sending again will not change: a
// bad number, a malformed request, an account without permission. It
// unwraps to a *bot.InvalidError so the job runner gives up on the job.
type APIError struct {
	Status   int    // HTTP status
	Code     int    // Twilio error code, https://www.twilio.com/docs/errors/<code>
	Message  string // Twilio's message
	MoreInfo string
}

func (e *APIError) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("twilio refused (HTTP %d): %s", e.Status, e.Message)
	}
	return fmt.Sprintf("twilio refused (HTTP %d, error %d): %s", e.Status, e.Code, e.Message)
}

// Unwrap marks the refusal as permanent for errors.As(err, *bot.InvalidError).
func (e *APIError) Unwrap() error { return &bot.InvalidError{Reason: e.Error()} }

// do runs one twilio-go call bound to ctx and turns its failure into
// Hotline's error kinds.
func (p *Phone) do(ctx context.Context, call func(*openapi.ApiService) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	api, x := p.api(rctx)
	err := call(api)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The caller gave up (shutdown, its own deadline): it decides.
		if !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return err
	}
	status, retryAfter := x.result()
	var rest *client.TwilioRestError
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return bot.Retryable(err, parseRetryAfter(retryAfter, time.Now()))
	case status >= 400:
		refused := &APIError{Status: status, Message: err.Error()}
		if errors.As(err, &rest) {
			refused.Code, refused.Message, refused.MoreInfo = rest.Code, rest.Message, rest.MoreInfo
		}
		return refused
	case status == 0 && errors.As(err, &rest):
		// twilio-go refused before sending (its own checks).
		return &APIError{Status: rest.Status, Code: rest.Code, Message: rest.Message, MoreInfo: rest.MoreInfo}
	case status == 0:
		// No answer at all: refused connection, reset, our own timeout.
		return bot.Retryable(err, 0)
	}
	// A 2xx that could not be read. For a create the call may exist, so this
	// is not marked retryable: FindCalls is how a retry learns the truth.
	return err
}

// api returns a v2010 service whose requests carry ctx and go to APIURL.
// twilio-go builds requests with context.Background() and drops the
// response of a failed request, so exchange supplies both.
func (p *Phone) api(ctx context.Context) (*openapi.ApiService, *exchange) {
	x := &exchange{ctx: ctx, base: p.transport}
	c := &client.Client{
		Credentials: client.NewCredentials(p.cfg.AccountSID, p.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport: x,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(p.cfg.AccountSID)
	// Built by hand rather than with client.NewRequestHandler so TWILIO_EDGE
	// and TWILIO_REGION in the environment cannot move calls off APIURL.
	return openapi.NewApiService(&client.RequestHandler{Client: rebased{Client: c, base: p.apiURL}}), x
}

// rebased sends what twilio-go addresses to https://api.twilio.com to the
// configured API base instead.
type rebased struct {
	*client.Client
	base string
}

func (r rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]any, body ...byte) (*http.Response, error) {
	if rest, ok := strings.CutPrefix(rawURL, sdkBaseURL); ok {
		rawURL = r.base + rest
	}
	return r.Client.SendRequest(method, rawURL, data, headers, body...)
}

// exchange is the transport of one REST call: it binds the caller's
// context to the request and keeps the last response's status and
// Retry-After.
type exchange struct {
	ctx  context.Context
	base http.RoundTripper

	mu         sync.Mutex
	status     int
	retryAfter string
}

func (x *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := x.base.RoundTrip(req.WithContext(x.ctx))
	if resp != nil {
		x.mu.Lock()
		x.status, x.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		x.mu.Unlock()
	}
	return resp, err
}

func (x *exchange) result() (status int, retryAfter string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status, x.retryAfter
}

// parseRetryAfter reads delay-seconds or an HTTP date; zero when absent or
// unreadable, which leaves the wait to the runner's backoff.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
