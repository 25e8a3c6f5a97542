// Package twiliotest is a fake Twilio on loopback, for tests and for
// `hotline demo`: it serves the REST calls Hotline makes (create, list and
// update Calls) as strictly as Twilio does, and plays each created call from
// a one-line script by posting real, signed status and gather callbacks.
//
//	s, _ := twiliotest.New(twiliotest.Options{AccountSID: "AC1", AuthToken: "secret"})
//	defer s.Close()
//	s.Expect("call +819011112222: answer, press 9, press 1")
//	... place the call with api_url = s.URL() ...
//	err := s.Wait(ctx) // nil once the call has played out without a failed callback
package twiliotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a fake Twilio.
type Options struct {
	AccountSID, AuthToken string
	// Step is the pause between a simulated call's stages (default 10ms; the
	// demo uses about a second so a person can follow it).
	Step time.Duration
	// Logf, if set, narrates the calls ("☎ ringing +81******22").
	Logf func(format string, args ...any)
}

// Call is a call as the fake recorded it.
type Call struct {
	SID, AccountSID, To, From string
	Twiml                     string // inline TwiML, or
	URL, Method               string // where to fetch it
	Timeout                   int    // seconds; 0 when not given
	StatusCallback            string
	StatusCallbackMethod      string
	StatusCallbackEvents      []string
	MachineDetection          string
	CreatedAt                 time.Time
	Status                    string // queued, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
	AnsweredBy                string // human or machine_start once answered with MachineDetection
	Hangups                   int    // requests to end it (POST Calls/{Sid}.json with Status)
	Script                    string // the expectation it took; empty for an unexpected call
}

// Callback is one request the fake made to the application.
type Callback struct {
	Kind       string // status, gather, or twiml (fetching a call's Url)
	CallSID    string
	Method     string
	URL        string     // the signed URL; for GET it carries the parameters
	Params     url.Values // the form fields (for GET, the same as the query)
	Signature  string     // X-Twilio-Signature
	StatusCode int        // 0 when there was no response
	Body       string
	Err        string // why there was no response
}

// Server is a fake Twilio listening on 127.0.0.1.
type Server struct {
	opts   Options
	ln     net.Listener
	srv    *http.Server
	client *http.Client
	ctx    context.Context // cancelled by Close: stops players and callbacks
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	calls     []*call
	bySID     map[string]*call
	expects   []*expectation
	callbacks []Callback
	problems  []error
	fail      failure
	delay     delayed
	changed   chan struct{} // closed and replaced on every change Wait watches
}

type delayed struct {
	n int
	d time.Duration
}

type failure struct {
	n          int
	status     int
	retryAfter string
}

// call is a Call while it plays.
type call struct {
	rec        Call
	exp        *expectation
	ended      chan struct{} // closed when the call reaches a final status
	post       sync.Mutex    // one call's callbacks go out one at a time, in order
	seq        int           // SequenceNumber of its next status callback
	updatedAt  time.Time
	answeredAt time.Time
	endedAt    time.Time
	gather     *gatherVerb // where the callee's next key goes; nil when nothing asks for one
}

// New starts a fake Twilio on 127.0.0.1 with a free port.
func New(opts Options) (*Server, error) {
	if opts.AccountSID == "" || opts.AuthToken == "" {
		return nil, errors.New("twiliotest: AccountSID and AuthToken are required")
	}
	if opts.Step <= 0 {
		opts.Step = 10 * time.Millisecond
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("twiliotest: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts: opts,
		ln:   ln,
		client: &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			Timeout:   15 * time.Second, // Twilio's own webhook timeout
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		ctx:     ctx,
		cancel:  cancel,
		bySID:   map[string]*call{},
		changed: make(chan struct{}),
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveREST), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the REST base to configure as phone.twilio.api_url.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server and every call still playing.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.srv.Close()
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// FailNext makes the next n create-call requests fail with status, in
// Twilio's JSON error shape, with Retry-After when retryAfter is not empty.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = failure{n: n, status: status, retryAfter: retryAfter}
}

// DelayNext makes the next n successful create-call requests create and
// play their call as usual but hold the response back for d, or until the
// client gives up or the server closes: a client that dies meanwhile never
// learns the call's sid (the lost-response case FindCalls exists for).
func (s *Server) DelayNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = delayed{n: n, d: d}
}

// Calls returns every call created so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.rec
		out[i].StatusCallbackEvents = slices.Clone(c.rec.StatusCallbackEvents)
	}
	return out
}

// Callbacks returns every request made to the application, in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.callbacks))
	for i, cb := range s.callbacks {
		out[i] = cb
		out[i].Params = cloneValues(cb.Params)
	}
	return out
}

// Err reports unexpected calls and failed callbacks (no response, a non-2xx
// answer, TwiML that does not parse or asks for no key the script presses).
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.problems...)
}

// Wait returns when every expectation has been taken by a call and played
// out to its final status callback, with Err. When ctx ends first it names
// what is still pending.
func (s *Server) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		var pending []string
		for _, e := range s.expects {
			if !e.done {
				state := "no call yet"
				if e.call != "" {
					state = e.call + " " + s.bySID[e.call].rec.Status
				}
				pending = append(pending, fmt.Sprintf("%q (%s)", e.line, state))
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(pending) == 0 {
			return s.Err()
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("twiliotest: not played out: %s: %w", strings.Join(pending, ", "), ctx.Err()), s.Err())
		}
	}
}

// notify wakes Wait; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// problem records a failure for Err; s.mu is not held.
func (s *Server) problem(err error) {
	s.mu.Lock()
	s.problems = append(s.problems, err)
	s.notify()
	s.mu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *Server) lookup(sid string) (*call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.bySID[sid]
	if !ok {
		return nil, fmt.Errorf("twiliotest: no call %s", sid)
	}
	return c, nil
}

// mask keeps the country code and the last two digits, like bot.MaskPhone.
func mask(e164 string) string {
	if len(e164) <= 5 {
		return strings.Repeat("*", len(e164))
	}
	return e164[:3] + strings.Repeat("*", len(e164)-5) + e164[len(e164)-2:]
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
