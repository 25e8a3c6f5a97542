package twiliotest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	apiVersion = "2010-04-01"
	twimlLimit = 4000 // characters, error 32018
)

// Twilio's error codes for what the fake refuses.
const (
	codeBadRequest       = 20001
	codeAuthenticate     = 20003
	codeMethodNotAllowed = 20004
	codeNotFound         = 20404
	codeNoTo             = 21201
	codeBadURL           = 21205
	codeBadTo            = 21211
	codeBadFrom          = 21212
	codeNoFrom           = 21213
	codeNotInProgress    = 21220
	codeBadCallback      = 21609
	codeBadEvent         = 21626
	codeTwiMLParse       = 12100
	codeTwiMLTooLong     = 32018
)

var callEvents = []string{"initiated", "ringing", "answered", "completed"}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+apiVersion+"/Accounts/")
	if !ok {
		notFound(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || !sameString(user, s.opts.AccountSID) || !sameString(pass, s.opts.AuthToken) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		twilioError(w, http.StatusUnauthorized, codeAuthenticate, "Authenticate")
		return
	}
	account, tail, _ := strings.Cut(rest, "/")
	if account != s.opts.AccountSID {
		notFound(w, r)
		return
	}
	switch {
	case tail == "Calls.json":
		switch r.Method {
		case http.MethodPost:
			s.createCall(w, r)
		case http.MethodGet:
			s.listCalls(w, r)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(tail, "Calls/") && strings.HasSuffix(tail, ".json") && strings.Count(tail, "/") == 1:
		sid := strings.TrimSuffix(strings.TrimPrefix(tail, "Calls/"), ".json")
		switch r.Method {
		case http.MethodPost:
			s.updateCall(w, r, sid)
		case http.MethodGet:
			s.fetchCall(w, r, sid)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	default:
		notFound(w, r)
	}
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if f := s.fail; f.n > 0 {
		s.fail.n--
		s.mu.Unlock()
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		twilioError(w, f.status, 20000+f.status, http.StatusText(f.status))
		return
	}
	s.mu.Unlock()

	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, codeBadRequest, "Invalid form: "+err.Error())
		return
	}
	c, code, msg := s.newCall(r.PostForm)
	if code != 0 {
		twilioError(w, http.StatusBadRequest, code, msg)
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		twilioError(w, http.StatusServiceUnavailable, 20503, "Service Unavailable")
		return
	}
	if e := s.takeExpectation(c.rec.To); e != nil {
		e.call, c.exp, c.rec.Script = c.rec.SID, e, e.line
	} else {
		s.problems = append(s.problems, fmt.Errorf("twiliotest: unexpected call %s to %s (left ringing)", c.rec.SID, c.rec.To))
	}
	s.calls = append(s.calls, c)
	s.bySID[c.rec.SID] = c
	body := s.callJSON(c)
	var hold time.Duration
	if s.delay.n > 0 {
		s.delay.n--
		hold = s.delay.d
	}
	s.wg.Add(1)
	s.notify()
	s.mu.Unlock()

	if c.exp == nil {
		s.logf("☎ unexpected call to %s", mask(c.rec.To))
	}
	go s.play(c)
	if hold > 0 {
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the client gave up: it never sees the sid
		case <-s.ctx.Done():
			return
		}
	}
	writeJSON(w, http.StatusCreated, body)
}

// newCall checks a create request the way Twilio does; a non-zero code is
// Twilio's error for the first problem.
func (s *Server) newCall(form url.Values) (c *call, code int, msg string) {
	to, from := form.Get("To"), form.Get("From")
	switch {
	case to == "":
		return nil, codeNoTo, "A 'To' phone number is required."
	case !e164Pattern.MatchString(to):
		return nil, codeBadTo, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	case from == "":
		return nil, codeNoFrom, "A 'From' phone number is required."
	case !e164Pattern.MatchString(from):
		return nil, codeBadFrom, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	}
	doc, src := form.Get("Twiml"), form.Get("Url")
	switch {
	case doc == "" && src == "":
		return nil, codeBadURL, "Either a 'Url' or 'Twiml' parameter is required."
	case doc != "" && src != "":
		return nil, codeBadRequest, "'Url' and 'Twiml' cannot be given together."
	case doc != "":
		if n := utf8.RuneCountInString(doc); n > twimlLimit {
			return nil, codeTwiMLTooLong, fmt.Sprintf("Twiml size exceeded maximum allowed value of %d characters (got %d).", twimlLimit, n)
		}
		if err := checkTwiML(doc); err != nil {
			return nil, codeTwiMLParse, "Document parse failure: " + err.Error()
		}
	case !absoluteHTTP(src):
		return nil, codeBadURL, fmt.Sprintf("Url %q is not a valid URL.", src)
	}
	method, ok := httpMethod(form.Get("Method"))
	if !ok {
		return nil, codeBadRequest, fmt.Sprintf("Method %q: want GET or POST.", form.Get("Method"))
	}
	timeout := 0
	if v := form.Get("Timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, codeBadRequest, fmt.Sprintf("Timeout %q: want a number of seconds.", v)
		}
		timeout = n
	}
	callback := form.Get("StatusCallback")
	if callback != "" && !absoluteHTTP(callback) {
		return nil, codeBadCallback, fmt.Sprintf("StatusCallback %q is not a valid URL.", callback)
	}
	callbackMethod, ok := httpMethod(form.Get("StatusCallbackMethod"))
	if !ok {
		return nil, codeBadRequest, fmt.Sprintf("StatusCallbackMethod %q: want GET or POST.", form.Get("StatusCallbackMethod"))
	}
	var events []string
	for _, v := range form["StatusCallbackEvent"] {
		for _, ev := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			if !slices.Contains(callEvents, ev) {
				return nil, codeBadEvent, fmt.Sprintf("Invalid 'StatusCallbackEvent' %q.", ev)
			}
			events = append(events, ev)
		}
	}
	md := form.Get("MachineDetection")
	if md != "" && md != "Enable" && md != "DetectMessageEnd" {
		return nil, codeBadRequest, fmt.Sprintf("MachineDetection %q: want Enable or DetectMessageEnd.", md)
	}
	now := time.Now().UTC()
	return &call{
		rec: Call{
			SID: newSID("CA"), AccountSID: s.opts.AccountSID, To: to, From: from,
			Twiml: doc, URL: src, Method: method, Timeout: timeout,
			StatusCallback: callback, StatusCallbackMethod: callbackMethod, StatusCallbackEvents: events,
			MachineDetection: md, CreatedAt: now, Status: "queued",
		},
		ended:     make(chan struct{}),
		updatedAt: now,
	}, 0, ""
}

// updateCall ends a call: Status=completed ends it whatever its state,
// canceled only while it is queued or ringing. The fake does not redirect.
func (s *Server) updateCall(w http.ResponseWriter, r *http.Request, sid string) {
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, codeBadRequest, "Invalid form: "+err.Error())
		return
	}
	status := r.PostForm.Get("Status")
	if status != "completed" && status != "canceled" {
		twilioError(w, http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("Status %q: the fake Twilio only ends calls (completed or canceled).", status))
		return
	}
	s.mu.Lock()
	c, ok := s.bySID[sid]
	if !ok {
		s.mu.Unlock()
		notFound(w, r)
		return
	}
	c.rec.Hangups++
	if final(c.rec.Status) {
		s.mu.Unlock()
		twilioError(w, http.StatusBadRequest, codeNotInProgress, "Call is not in-progress. Cannot redirect.")
		return
	}
	if status == "canceled" && c.rec.Status == "in-progress" {
		body := s.callJSON(c) // canceling does not touch an answered call
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
		return
	}
	s.endLocked(c, status)
	posting := !s.closed
	if posting {
		s.wg.Add(1)
	}
	body := s.callJSON(c)
	s.mu.Unlock()

	if posting {
		go func() {
			defer s.wg.Done()
			s.postEnd(c)
		}()
	}
	writeJSON(w, http.StatusOK, body)
}

// callJSON is the call resource as Twilio renders it; s.mu is held.
func (s *Server) callJSON(c *call) map[string]any {
	rec := c.rec
	path := "/" + apiVersion + "/Accounts/" + rec.AccountSID + "/Calls/" + rec.SID
	var start, end, duration, answeredBy any
	if rec.Status != "queued" {
		start = rec.CreatedAt.Format(time.RFC1123Z)
	}
	if final(rec.Status) {
		end = c.endedAt.Format(time.RFC1123Z)
		duration = strconv.Itoa(c.duration())
	}
	if rec.AnsweredBy != "" {
		answeredBy = rec.AnsweredBy
	}
	return map[string]any{
		"sid":              rec.SID,
		"account_sid":      rec.AccountSID,
		"annotation":       nil,
		"answered_by":      answeredBy,
		"api_version":      apiVersion,
		"caller_name":      nil,
		"date_created":     rec.CreatedAt.Format(time.RFC1123Z),
		"date_updated":     c.updatedAt.Format(time.RFC1123Z),
		"direction":        "outbound-api",
		"duration":         duration,
		"end_time":         end,
		"forwarded_from":   nil,
		"from":             rec.From,
		"from_formatted":   rec.From,
		"group_sid":        nil,
		"parent_call_sid":  nil,
		"phone_number_sid": "PN" + strings.Repeat("0", 32),
		"price":            nil,
		"price_unit":       "USD",
		"queue_time":       "0",
		"start_time":       start,
		"status":           rec.Status,
		"to":               rec.To,
		"to_formatted":     rec.To,
		"trunk_sid":        nil,
		"uri":              path + ".json",
		"subresource_uris": map[string]string{
			"events":        path + "/Events.json",
			"notifications": path + "/Notifications.json",
			"recordings":    path + "/Recordings.json",
		},
	}
}

// duration is the answered time in whole seconds; s.mu is held.
func (c *call) duration() int {
	if c.answeredAt.IsZero() || c.endedAt.IsZero() {
		return 0
	}
	return int(c.endedAt.Sub(c.answeredAt).Round(time.Second) / time.Second)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		"status":    status,
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	twilioError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	twilioError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, "Method not allowed")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func sameString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func httpMethod(v string) (string, bool) {
	switch strings.ToUpper(v) {
	case "", "POST":
		return "POST", true
	case "GET":
		return "GET", true
	}
	return "", false
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func newSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
