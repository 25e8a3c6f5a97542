package discordtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call is one REST request as the fake received it.
type Call struct {
	Method string
	Path   string      // after /api/v9/, without the query: "channels/1/messages"
	Query  url.Values  // the query string: wait=true
	Route  string      // the route it matched: "POST channels/{channel_id}/messages"
	Header http.Header // as sent, without Authorization
	Body   json.RawMessage
	Status int // the HTTP status the fake answered
	Code   int // Discord's JSON error code, 0 when none
}

// auth says what a route wants in Authorization.
type auth int

const (
	authBot      auth = iota // "Bot <token>", else 401
	authOptional             // Discord needs none (the token is in the URL); a wrong one is still 401
	authNone                 // not looked at: GET gateway answers anyone
)

type endpoint struct {
	method  string
	pattern string
	auth    auth
	handle  func(*Server, *request) reply
}

// routes are the REST endpoints the fake speaks; others are 404.
var routes = []endpoint{
	{"GET", "gateway", authNone, (*Server).getGateway},
	{"GET", "gateway/bot", authBot, (*Server).getGatewayBot},
	{"GET", "users/@me", authBot, (*Server).getMe},
	{"GET", "applications/{application_id}/commands", authBot, (*Server).listCommands},
	{"PUT", "applications/{application_id}/commands", authBot, (*Server).overwriteCommands},
	{"GET", "applications/{application_id}/guilds/{guild_id}/commands", authBot, (*Server).listCommands},
	{"PUT", "applications/{application_id}/guilds/{guild_id}/commands", authBot, (*Server).overwriteCommands},
	{"GET", "channels/{channel_id}", authBot, (*Server).getChannel},
	{"GET", "channels/{channel_id}/messages", authBot, (*Server).listMessages},
	{"POST", "channels/{channel_id}/messages", authBot, (*Server).createMessage},
	{"GET", "channels/{channel_id}/messages/{message_id}", authBot, (*Server).getMessage},
	{"PATCH", "channels/{channel_id}/messages/{message_id}", authBot, (*Server).editMessage},
	{"POST", "channels/{channel_id}/messages/{message_id}/threads", authBot, (*Server).startThread},
	{"POST", "interactions/{interaction_id}/{interaction_token}/callback", authOptional, (*Server).interactionCallback},
	{"POST", "webhooks/{application_id}/{interaction_token}", authOptional, (*Server).followup},
	{"GET", "webhooks/{application_id}/{interaction_token}/messages/{message_id}", authOptional, (*Server).getWebhookMessage},
	{"PATCH", "webhooks/{application_id}/{interaction_token}/messages/{message_id}", authOptional, (*Server).editWebhookMessage},
}

// request is one decoded REST call.
type request struct {
	method string
	path   string
	params map[string]string
	query  url.Values
	header http.Header
	body   []byte   // JSON: the body, or payload_json of a multipart body
	files  []string // multipart file names
}

// reply is the fake's answer.
type reply struct {
	status int
	body   any    // marshalled as JSON; nil with 204
	text   string // a plain body instead (5xx)
	header http.Header
	code   int
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// apiError is Discord's JSON error: {"message": ..., "code": ...}.
func apiError(status, code int, message string) reply {
	return reply{status: status, code: code, body: map[string]any{"message": message, "code": code}}
}

func notFound() reply { return apiError(http.StatusNotFound, 0, "404: Not Found") }

func unauthorized() reply { return apiError(http.StatusUnauthorized, 0, "401: Unauthorized") }

func unknownChannel() reply { return apiError(http.StatusNotFound, 10003, "Unknown Channel") }

func unknownMessage() reply { return apiError(http.StatusNotFound, 10008, "Unknown Message") }

func unknownWebhook() reply { return apiError(http.StatusNotFound, 10015, "Unknown Webhook") }

func missingAccess() reply { return apiError(http.StatusForbidden, 50001, "Missing Access") }

func emptyMessage() reply {
	return apiError(http.StatusBadRequest, 50006, "Cannot send an empty message")
}

func invalidJSON() reply {
	return apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
}

const apiPrefix = "/api/v"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == gatewayPath || r.URL.Path == gatewayPath+"/" {
		s.serveGateway(w, r)
		return
	}
	path, versioned := apiPath(r.URL.Path)
	req, err := decode(r, path)
	var rep reply
	rt, params, status := match(r.Method, path)
	switch {
	case !versioned || status == http.StatusNotFound:
		rep = notFound()
	case status == http.StatusMethodNotAllowed:
		rep = apiError(http.StatusMethodNotAllowed, 0, "405: Method Not Allowed")
	case err != nil:
		rep = invalidJSON()
	default:
		req.params = params
		rep = s.handle(rt, req, r.Header.Get("Authorization"))
	}

	call := Call{Method: r.Method, Path: path, Query: req.query, Header: r.Header.Clone(), Body: req.body, Status: rep.status, Code: rep.code}
	call.Header.Del("Authorization")
	if rt != nil {
		call.Route = rt.method + " " + rt.pattern
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.notify()
	s.mu.Unlock()
	// Gateway events of what this call changed go out before the HTTP
	// answer, as Discord's usually do.
	s.flush()
	write(w, rep)
}

// apiPath cuts /api/v9/ (or v10) off the path.
func apiPath(p string) (string, bool) {
	for _, v := range []string{"9/", "10/"} {
		if rest, found := strings.CutPrefix(p, apiPrefix+v); found {
			return rest, true
		}
	}
	return strings.TrimPrefix(p, "/"), false
}

func (s *Server) handle(rt *endpoint, req *request, authorization string) reply {
	switch rt.auth {
	case authBot:
		if authorization != "Bot "+s.token {
			return unauthorized()
		}
	case authOptional:
		if authorization != "" && authorization != "Bot "+s.token {
			return unauthorized()
		}
	}
	if f, found := s.takeFailure(rt); found {
		return f.reply(rt)
	}
	var errs formErrors
	for name, v := range req.params {
		if name != "interaction_token" && v != "@original" && !isSnowflake(v) {
			errs.add(name, "NUMBER_TYPE_COERCE", fmt.Sprintf("Value %q is not snowflake.", v))
		}
	}
	if !errs.empty() {
		return errs.reply()
	}
	return rt.handle(s, req)
}

// match finds the route for method and path: 404 when no pattern fits
// the path, 405 when one does for another method.
func match(method, path string) (*endpoint, map[string]string, int) {
	segments := strings.Split(path, "/")
	status := http.StatusNotFound
	for i := range routes {
		rt := &routes[i]
		params, fits := fitPattern(rt.pattern, segments)
		if !fits {
			continue
		}
		if rt.method != method {
			status = http.StatusMethodNotAllowed
			continue
		}
		return rt, params, http.StatusOK
	}
	return nil, nil, status
}

func fitPattern(pattern string, segments []string) (map[string]string, bool) {
	parts := strings.Split(pattern, "/")
	if len(parts) != len(segments) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range parts {
		if name, isParam := strings.CutPrefix(p, "{"); isParam {
			if segments[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = segments[i]
			continue
		}
		if p != segments[i] {
			return nil, false
		}
	}
	return params, true
}

// decode reads a call as discordgo sends it: a JSON body, or multipart
// with the JSON in payload_json and files[n] parts.
func decode(r *http.Request, path string) (*request, error) {
	req := &request{method: r.Method, path: path, query: r.URL.Query(), header: r.Header}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil || len(raw) == 0 {
		return req, err
	}
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		req.body = raw
	case "multipart/form-data":
		form, err := readMultipart(raw, params["boundary"], req)
		if err != nil {
			return req, err
		}
		req.body = form
	default:
		return req, fmt.Errorf("content type %q", ctype)
	}
	if !json.Valid(req.body) {
		return req, fmt.Errorf("the body is not JSON")
	}
	return req, nil
}

func readMultipart(raw []byte, boundary string, req *request) ([]byte, error) {
	r := multipart.NewReader(bytes.NewReader(raw), boundary)
	var payload []byte
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return payload, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		switch name := part.FormName(); {
		case name == "payload_json":
			payload = data
		case strings.HasPrefix(name, "files["):
			req.files = append(req.files, part.FileName())
		}
	}
}

func write(w http.ResponseWriter, rep reply) {
	for k, vs := range rep.header {
		w.Header()[k] = vs
	}
	switch {
	case rep.status == http.StatusNoContent:
		w.WriteHeader(rep.status)
	case rep.body == nil:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.text)
	default:
		var buf bytes.Buffer
		_ = json.NewEncoder(&buf).Encode(rep.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = w.Write(buf.Bytes())
	}
}

// failure is one answer FailNext queued.
type failure struct {
	status     int
	retryAfter time.Duration
}

var anyParam = regexp.MustCompile(`\{[^}]*\}`)

// routeKey is a route with its parameters unnamed, so FailNext takes
// "POST channels/{id}/messages" for "POST channels/{channel_id}/messages".
func routeKey(route string) string {
	method, path, _ := strings.Cut(strings.TrimSpace(route), " ")
	return strings.ToUpper(method) + " " + anyParam.ReplaceAllString(strings.Trim(path, "/"), "{}")
}

// FailNext makes the next n calls of route fail with status. route is a
// method and a path pattern, "POST channels/{id}/messages" (parameter names
// do not matter), or "*" for any route. A 429 is Discord's rate limit: the
// JSON body with retry_after and the Retry-After and X-RateLimit-* headers
// for retryAfter. A 5xx has a plain body, as from Discord's edge. Another
// 4xx has Discord's JSON error (403 is 50013 Missing Permissions). n <= 0
// clears the route's pending failures. A route the fake does not serve
// panics: the failure would never happen.
func (s *Server) FailNext(route string, n, status int, retryAfter time.Duration) {
	key := "*"
	if route != "*" {
		key = routeKey(route)
		if !slices.ContainsFunc(routes, func(rt endpoint) bool { return routeKey(rt.method+" "+rt.pattern) == key }) {
			panic(fmt.Sprintf("discordtest: FailNext: the fake serves no route %q", route))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.failures, key)
		return
	}
	for range n {
		s.failures[key] = append(s.failures[key], failure{status: status, retryAfter: retryAfter})
	}
}

func (s *Server) takeFailure(rt *endpoint) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{routeKey(rt.method + " " + rt.pattern), "*"} {
		if q := s.failures[key]; len(q) > 0 {
			s.failures[key] = q[1:]
			return q[0], true
		}
	}
	return failure{}, false
}

func (f failure) reply(rt *endpoint) reply {
	switch {
	case f.status == http.StatusTooManyRequests:
		secs := f.retryAfter.Seconds()
		bucket := sha256.Sum256([]byte(rt.method + " " + rt.pattern))
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(f.retryAfter).UnixMilli())/1000, 'f', 3, 64))
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", hex.EncodeToString(bucket[:16]))
		h.Set("X-RateLimit-Scope", "user")
		return reply{status: f.status, header: h, body: map[string]any{
			"message": "You are being rate limited.", "retry_after": math.Round(secs*1000) / 1000, "global": false,
		}}
	case f.status >= 500:
		return reply{status: f.status, text: fmt.Sprintf("%d %s\n", f.status, http.StatusText(f.status))}
	case f.status == http.StatusForbidden:
		return apiError(f.status, 50013, "Missing Permissions")
	case f.status == http.StatusUnauthorized:
		return unauthorized()
	}
	return apiError(f.status, 0, fmt.Sprintf("%d: %s", f.status, http.StatusText(f.status)))
}

// Transport sends requests for Discord's API (https://discord.com/api/...,
// where discordgo's endpoints point) to the fake, so a discordgo.Session
// with Client: &http.Client{Transport: srv.Transport()} talks to it
// unchanged. Requests for any other host fail: tests stay off the internet.
func (s *Server) Transport() http.RoundTripper { return redirect{s} }

type redirect struct{ s *Server }

func (t redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	addr := t.s.ln.Addr().String()
	u := *r.URL
	switch {
	case (u.Host == "discord.com" || u.Host == "discordapp.com") && strings.HasPrefix(u.Path, "/api/"):
		u.Scheme, u.Host = "http", addr
	case u.Host == addr:
	default:
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("discordtest: %s is not Discord's API; the fake keeps tests off the internet", r.URL.Redacted())
	}
	out := r.Clone(r.Context())
	out.URL, out.Host = &u, addr
	return t.s.transport.RoundTrip(out)
}

func (s *Server) getGateway(*request) reply {
	return ok(map[string]any{"url": s.GatewayURL()})
}

func (s *Server) getGatewayBot(*request) reply {
	return ok(map[string]any{"url": s.GatewayURL(), "shards": 1, "session_start_limit": map[string]any{
		"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1,
	}})
}

func (s *Server) getMe(*request) reply {
	return ok(mergeMaps(botUserJSON(), map[string]any{"verified": true, "mfa_enabled": false, "email": nil, "locale": "en-US"}))
}
