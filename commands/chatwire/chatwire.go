// Package chatwire is what the chat platform adapters (Slack, Discord)
// share on the wire: the checks of their API base URL and token, the HTTP
// client they call out with, reading a signed inbound POST, and the work
// they run after answering a delivery.
package chatwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/commands/chattext"
)

// Threads finds the incident whose root message a reaction, a mention or a
// thread belongs to. The stores satisfy it.
type Threads interface {
	ThreadByMessage(ctx context.Context, platform, channel, messageID string) (bot.Thread, error)
	// Incident reads an incident by its id: a thread knows the id, the
	// commands want the number.
	Incident(ctx context.Context, id int64) (bot.Incident, error)
}

// Settings are the checked common parts of a chat platform's config.
type Settings struct {
	APIURL string // ends in "/"
	Locale string // ja or en
}

// Check checks a platform's bot token, API base URL (defaultURL when empty)
// and locale, adding problems under prefix ("chat.slack").
func Check(problems *bot.Problems, prefix, token, apiURL, defaultURL, locale string) Settings {
	if strings.TrimSpace(token) == "" {
		problems.Add(prefix+".bot_token", "is required")
	}
	if apiURL == "" {
		apiURL = defaultURL
	}
	if u, err := url.Parse(apiURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems.Add(prefix+".api_url", fmt.Sprintf("%q is not an http(s) URL", apiURL))
	}
	if !strings.HasSuffix(apiURL, "/") {
		// The clients append method paths to the base as it is.
		apiURL += "/"
	}
	l := locale
	if l == "" {
		l = "en"
	}
	if !chattext.Supported(l) {
		problems.Add("locale", fmt.Sprintf("%q: must be ja or en", locale))
	}
	return Settings{APIURL: apiURL, Locale: l}
}

// Client is a copy of hc (nil: a client bounded by timeout) whose
// transport wrap wraps.
func Client(hc *http.Client, timeout time.Duration, wrap func(http.RoundTripper) http.RoundTripper) *http.Client {
	out := &http.Client{Timeout: timeout}
	if hc != nil {
		copied := *hc
		out = &copied
	}
	base := out.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = wrap(base)
	return out
}

// ReadPost reads a POST's body up to limit bytes. On a wrong method or a
// body it cannot take it answers (405, 413, 400) and reports false.
func ReadPost(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// Work runs what a delivery asks for after it is answered: detached from
// the request, bounded, panics contained, and waited for on shutdown.
type Work struct {
	Timeout time.Duration
	Log     *slog.Logger
	wg      sync.WaitGroup
}

// Go runs fn with a context that outlives ctx's cancellation but not
// w.Timeout.
func (w *Work) Go(ctx context.Context, fn func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.Timeout)
	w.wg.Go(func() {
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				w.Log.Error("inbound work panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		fn(ctx)
	})
}

// Wait waits for the work under way, or for ctx.
func (w *Work) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
