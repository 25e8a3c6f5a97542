// Package twilio is Hotline's phone: it places calls through Twilio's REST API
// (twilio-go), speaks the incident with TwiML and turns Twilio's signed
// status and gather callbacks into bot.CallEvents for the escalation engine.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/hotline-dev/hotline/bot"
)

// Config is phone.twilio plus http.public_url.
type Config struct {
	AccountSID string
	AuthToken  string
	From       string // E.164 caller id: a Twilio number of the account
	// APIURL replaces https://api.twilio.com for every REST call: a
	// corporate proxy, a regional edge or a test double on loopback.
	APIURL string
	// PublicURL is where Twilio reaches Hotline (http.public_url); callback
	// URLs are built on it and their signatures are checked against it.
	PublicURL  string
	HTTPClient *http.Client // optional; its Transport and Timeout are used
	Logger     *slog.Logger // optional
}

const (
	// DefaultAPIURL is Twilio's REST API.
	DefaultAPIURL = "https://api.twilio.com"

	// GatherPath and StatusPath are the callback endpoints NewHandler serves.
	GatherPath = "/v1/twilio/gather"
	StatusPath = "/v1/twilio/status"

	defaultTimeout = 10 * time.Second // twilio-go's own default
	findPageSize   = 20               // calls to one number within a day or so
	minRing        = 5 * time.Second  // Twilio's bounds for Timeout
	maxRing        = 600 * time.Second
	defaultRing    = 60 * time.Second // Twilio's default when RingFor is unset
)

// statusEvents are the call progress events Hotline asks Twilio to report.
var statusEvents = []string{"initiated", "ringing", "answered", "completed"}

var (
	e164     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alnum    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	sidShape = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// Phone places, finds and ends calls through Twilio. It implements bot.Phone.
type Phone struct {
	cfg       Config
	apiURL    string
	publicURL string
	transport http.RoundTripper
	timeout   time.Duration
	log       *slog.Logger
}

var _ bot.Phone = (*Phone)(nil)

// NewPhone checks cfg and returns a Phone; every problem is named at once.
func NewPhone(cfg Config) (*Phone, error) {
	var p bot.Problems
	switch {
	case cfg.AccountSID == "":
		p.Add("account_sid", "required")
	case !alnum.MatchString(cfg.AccountSID):
		p.Add("account_sid", "must be letters and digits (AC...)")
	}
	switch {
	case cfg.AuthToken == "":
		p.Add("auth_token", "required")
	case !alnum.MatchString(cfg.AuthToken): // twilio-go refuses any other token; never echo it
		p.Add("auth_token", "must be letters and digits")
	}
	if !e164.MatchString(cfg.From) {
		p.Add("from", fmt.Sprintf("%q is not an E.164 number like +815012345678", cfg.From))
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if err := checkBaseURL(apiURL); err != nil {
		p.Add("api_url", err.Error())
	}
	if cfg.PublicURL == "" {
		p.Add("public_url", "required: Twilio's callbacks come there")
	} else if err := checkBaseURL(cfg.PublicURL); err != nil {
		p.Add("public_url", err.Error())
	}
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}

	ph := &Phone{
		cfg:       cfg,
		apiURL:    strings.TrimRight(apiURL, "/"),
		publicURL: strings.TrimRight(cfg.PublicURL, "/"),
		transport: http.DefaultTransport,
		timeout:   defaultTimeout,
		log:       cfg.Logger,
	}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			ph.transport = cfg.HTTPClient.Transport
		}
		if cfg.HTTPClient.Timeout > 0 {
			ph.timeout = cfg.HTTPClient.Timeout
		}
	}
	if ph.log == nil {
		ph.log = slog.Default()
	}
	return ph, nil
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: no query or fragment, please", raw)
	}
	return nil
}

// PlaceCall asks Twilio to ring c.To and speak the incident. Twilio's 429 and
// 5xx and network failures are bot.RetryableError; a refusal (a bad number, a
// bad request) is an *APIError, which unwraps to a *bot.InvalidError so the
// job runner does not try again.
func (p *Phone) PlaceCall(ctx context.Context, c bot.Call) (string, error) {
	if c.AttemptID == "" {
		return "", bot.Invalid("place call: the call has no attempt id")
	}
	if !e164.MatchString(c.To) {
		return "", bot.Invalid("place call: %q is not an E.164 phone number", bot.MaskPhone(c.To))
	}
	doc, err := CallTwiML(c, p.publicURL)
	if err != nil {
		return "", fmt.Errorf("place call for %s: %w", c.Incident.Ref(), err)
	}
	params := (&openapi.CreateCallParams{}).
		SetTo(c.To).
		SetFrom(p.cfg.From).
		SetTwiml(doc).
		SetTimeout(ringSeconds(c.RingFor)).
		SetStatusCallback(p.publicURL + StatusPath + "?attempt=" + url.QueryEscape(c.AttemptID)).
		SetStatusCallbackMethod(http.MethodPost).
		SetStatusCallbackEvent(statusEvents).
		SetMachineDetection("Enable")

	var call *openapi.ApiV2010Call
	err = p.do(ctx, func(api *openapi.ApiService) (err error) {
		call, err = api.CreateCall(params)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("place call to %s for %s: %w", bot.MaskPhone(c.To), c.Incident.Ref(), err)
	}
	if call == nil || call.Sid == nil || *call.Sid == "" {
		return "", fmt.Errorf("place call to %s for %s: Twilio answered without a call sid", bot.MaskPhone(c.To), c.Incident.Ref())
	}
	p.log.InfoContext(ctx, "call placed", "platform", "twilio", "call", *call.Sid, "attempt", c.AttemptID,
		"incident", c.Incident.Ref(), "to", bot.MaskPhone(c.To))
	return *call.Sid, nil
}

// RequestTimeout is the longest one request to Twilio may take.
func (p *Phone) RequestTimeout() time.Duration { return p.timeout }

// ringSeconds is RingFor in whole seconds (rounded up), within Twilio's 5..600.
func ringSeconds(d time.Duration) int {
	if d <= 0 {
		d = defaultRing
	}
	d = min(max(d, minRing), maxRing)
	return int((d + time.Second - 1) / time.Second)
}

// FindCalls returns the calls to `to` that Twilio created at or after since,
// newest first. Twilio's dates have second precision, so since is truncated
// to the second.
func (p *Phone) FindCalls(ctx context.Context, to string, since time.Time) ([]string, error) {
	since = since.Truncate(time.Second)
	// Twilio filters start times by day; the exact comparison is below.
	day := since.UTC().Truncate(24 * time.Hour)
	params := (&openapi.ListCallParams{}).
		SetTo(to).
		SetStartTimeAfter(day).
		SetPageSize(findPageSize).
		SetLimit(findPageSize)

	var calls []openapi.ApiV2010Call
	err := p.do(ctx, func(api *openapi.ApiService) (err error) {
		calls, err = api.ListCall(params)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find calls to %s: %w", bot.MaskPhone(to), err)
	}
	type found struct {
		sid     string
		created time.Time
	}
	var list []found
	for _, c := range calls {
		if c.Sid == nil || c.DateCreated == nil {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, *c.DateCreated)
		if err != nil || created.Before(since) {
			continue
		}
		list = append(list, found{*c.Sid, created})
	}
	// Twilio lists newest first; within one second its order stands.
	slices.SortStableFunc(list, func(a, b found) int { return b.created.Compare(a.created) })
	out := make([]string, len(list))
	for i, f := range list {
		out[i] = f.sid
	}
	return out, nil
}

// HangUp ends a call that is queued, ringing or in progress. A call that has
// already ended (Twilio answers 404 or error 21220) is not an error.
func (p *Phone) HangUp(ctx context.Context, callID string) error {
	if !sidShape.MatchString(callID) {
		return bot.Invalid("hang up: %q is not a call sid", callID)
	}
	err := p.do(ctx, func(api *openapi.ApiService) error {
		_, err := api.UpdateCall(callID, (&openapi.UpdateCallParams{}).SetStatus("completed"))
		return err
	})
	var refused *APIError
	if errors.As(err, &refused) && (refused.Status == http.StatusNotFound || refused.Code == codeNotInProgress) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hang up %s: %w", callID, err)
	}
	return nil
}
