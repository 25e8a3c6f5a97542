// Package slacktest is a fake Slack Web API on loopback, as strict as Slack
// about what Hotline sends: tokens, channels, threads, edits, Block Kit
// limits, ok:false answers and rate limits. It records every call so a test
// asserts what Slack would have seen.
//
// It is its own net/http server rather than slack-go's slacktest, whose
// canned handlers accept any token, keep no messages, cannot edit one and
// cannot fail on demand.
package slacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity of the bot the fake's token belongs to (auth.test).
const (
	BotUserID = "U0HOTLINE"
	BotID     = "B0HOTLINE"
	TeamID    = "T0HOTLINE"
	AppID     = "A0HOTLINE" // the app the app-level token belongs to
)

// Message is a message as the channel holds it.
type Message struct {
	Channel   string
	TS        string
	ThreadTS  string // the root's ts for a reply, else empty
	User      string // chat.postEphemeral: the one user who sees it
	Author    string // a member who posted it (Say); empty for the bot's own
	Text      string
	Blocks    json.RawMessage
	Edited    int      // how many chat.update calls changed it
	Reactions []string // reaction names the bot added
}

// Call is one Web API request as the fake received it.
type Call struct {
	Method string          // "chat.postMessage", ...
	Form   url.Values      // every parameter (JSON bodies flattened), without the token
	JSON   json.RawMessage // the body, when it was sent as JSON
	Status int             // the HTTP status the fake answered
	Error  string          // the ok:false error, empty when ok
}

type failure struct {
	status     int
	slackError string
	retryAfter string
}

// Server is the fake Slack Web API.
type Server struct {
	http     *http.Server
	ln       net.Listener
	token    string
	appToken string

	mu         sync.Mutex
	seq        int64
	messages   []*Message // every channel, in order
	ephemerals []Message
	views      []View
	userGroups map[string][]string // group id → member ids (usergroups.list)
	calls      []Call
	failures   map[string][]failure
	changed    chan struct{} // closed and replaced on every new message

	socket socketState
}

// NewServer starts the fake on 127.0.0.1 at a free port.
func NewServer() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("slacktest: listen: %w", err)
	}
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{
		ln:       ln,
		token:    "xoxb-hotline-test-" + hex.EncodeToString(secret),
		appToken: "xapp-1-" + AppID + "-1700000000-" + hex.EncodeToString(secret),
		failures: map[string][]failure{},
		changed:  make(chan struct{}),
	}
	s.socket.init()
	s.http = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// APIURL is the Web API base, ending in "/": chat.slack.api_url.
func (s *Server) APIURL() string { return "http://" + s.ln.Addr().String() + "/" }

// Close stops the server and drops its connections, Socket Mode ones too.
func (s *Server) Close() {
	_ = s.http.Close()
	s.closeSockets()
}

// Token is the bot token the fake accepts; any other gets invalid_auth.
func (s *Server) Token() string { return s.token }

// Messages returns the channel's messages, roots and replies, in the order
// they were posted.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, m.copy())
		}
	}
	return out
}

// Thread returns the replies under the root message rootTS, in order.
func (s *Server) Thread(channel, rootTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel && m.ThreadTS == rootTS {
			out = append(out, m.copy())
		}
	}
	return out
}

// Ephemerals returns the chat.postEphemeral messages, in order.
func (s *Server) Ephemerals() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.ephemerals))
	for i, m := range s.ephemerals {
		out[i] = m.copy()
	}
	return out
}

// Calls returns every API call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Form = cloneValues(c.Form)
		c.JSON = slices.Clone(c.JSON)
		out[i] = c
	}
	return out
}

// FailNext makes the next n calls of method ("*": any method) fail. With
// status 200 (or 0) the answer is ok:false with slackError; with another
// status it is that status, with an ok:false body when slackError is set.
// retryAfter, when set, is sent as the Retry-After header (429 with
// Retry-After is how Slack rate-limits). n <= 0 clears the method's
// pending failures.
func (s *Server) FailNext(method string, n int, status int, slackError string, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failures, method)
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	if status == http.StatusOK && slackError == "" {
		slackError = "internal_error"
	}
	for range n {
		s.failures[method] = append(s.failures[method], failure{status: status, slackError: slackError, retryAfter: retryAfter})
	}
}

// WaitMessages waits until the channel holds at least n messages.
func (s *Server) WaitMessages(ctx context.Context, channel string, n int) error {
	for {
		s.mu.Lock()
		got := 0
		for _, m := range s.messages {
			if m.Channel == channel {
				got++
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: %d of %d messages in %s: %w", got, n, channel, ctx.Err())
		}
	}
}

// request is one decoded Web API call.
type request struct {
	method string
	params url.Values
	json   json.RawMessage
	token  string
}

// reply is the fake's answer: a JSON body with ok and the method's fields.
type reply struct {
	status     int
	fields     map[string]any
	err        string
	retryAfter string
	messages   []string // response_metadata.messages, why Slack refused
}

func ok(fields map[string]any) reply { return reply{status: http.StatusOK, fields: fields} }

func refuse(code string, why ...string) reply {
	return reply{status: http.StatusOK, err: code, messages: why}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == socketPath {
		s.serveSocket(w, r)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/")
	req, err := decode(r, method)
	var rep reply
	switch {
	case err != nil:
		rep = refuse("invalid_form_data", err.Error())
	case r.Method != http.MethodPost && r.Method != http.MethodGet:
		rep = reply{status: http.StatusMethodNotAllowed}
	default:
		rep = s.handle(req)
	}

	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Form: req.params, JSON: req.json, Status: rep.status, Error: rep.err})
	s.mu.Unlock()
	write(w, rep)
}

func (s *Server) handle(req request) reply {
	if f, ok := s.takeFailure(req.method); ok {
		return reply{status: f.status, err: f.slackError, retryAfter: f.retryAfter}
	}
	if req.method == "apps.connections.open" {
		// The one method that takes the app-level token, and only it.
		switch {
		case req.token == "":
			return refuse("not_authed")
		case req.token == s.token, !strings.HasPrefix(req.token, "xapp-"):
			return refuse("not_allowed_token_type")
		case req.token != s.appToken:
			return refuse("invalid_auth")
		}
		return s.openConnection()
	}
	handler, known := methods[req.method]
	if !known {
		return reply{status: http.StatusNotFound, err: "unknown_method"}
	}
	switch {
	case req.token == "":
		return refuse("not_authed")
	case req.token != s.token:
		return refuse("invalid_auth")
	}
	return handler(s, req.params)
}

func (s *Server) takeFailure(method string) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{method, "*"} {
		if q := s.failures[key]; len(q) > 0 {
			s.failures[key] = q[1:]
			return q[0], true
		}
	}
	return failure{}, false
}

// decode reads a call as slack-go sends it: a form (token in the body or in
// an Authorization header), a query string, or JSON with the token in the
// Authorization header only, as Slack requires.
func decode(r *http.Request, method string) (request, error) {
	req := request{method: method, params: url.Values{}}
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		req.token = strings.TrimSpace(bearer)
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		raw, err := readBody(r)
		if err != nil {
			return req, err
		}
		req.json = raw
		var body map[string]any
		// apps.connections.open is posted with no body at all.
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil {
				return req, fmt.Errorf("the JSON body does not parse: %w", err)
			}
		}
		for k, v := range body {
			req.params.Set(k, flatten(v))
		}
		for k, vs := range r.URL.Query() {
			req.params[k] = append(req.params[k], vs...)
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return req, err
		}
		req.params = cloneValues(r.Form)
	default:
		if err := r.ParseForm(); err != nil {
			return req, err
		}
		req.params = cloneValues(r.Form)
	}
	if t := req.params.Get("token"); t != "" && req.token == "" && req.json == nil {
		req.token = t
	}
	req.params.Del("token")
	return req, nil
}

func readBody(r *http.Request) ([]byte, error) {
	const limit = 1 << 20
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > limit {
		return nil, fmt.Errorf("the body is over %d bytes", limit)
	}
	return raw, nil
}

// flatten turns a JSON value into the string a form would carry: strings
// as they are, objects and arrays (blocks, attachments) as JSON.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func write(w http.ResponseWriter, rep reply) {
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	if rep.status != http.StatusOK && rep.err == "" {
		// Slack's load balancers answer 5xx with a page, not JSON.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(rep.status)
		fmt.Fprintf(w, "<html><body>%d %s</body></html>\n", rep.status, http.StatusText(rep.status))
		return
	}
	body := map[string]any{"ok": rep.err == ""}
	for k, v := range rep.fields {
		body[k] = v
	}
	if rep.err != "" {
		body["error"] = rep.err
	}
	if len(rep.messages) > 0 {
		body["response_metadata"] = map[string]any{"messages": rep.messages}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(body)
}

func (m *Message) copy() Message {
	c := *m
	c.Blocks = slices.Clone(m.Blocks)
	c.Reactions = slices.Clone(m.Reactions)
	return c
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
