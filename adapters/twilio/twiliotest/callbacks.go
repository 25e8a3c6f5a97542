package twiliotest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// statusCallback returns where the call's current status goes, or an empty
// target when the call did not ask for this event; s.mu is held.
func (s *Server) statusCallback(c *call) (target, method string, params url.Values) {
	event := c.rec.Status
	switch {
	case final(event):
		event = "completed" // sent whether asked for or not
	case event == "in-progress":
		event = "answered"
	}
	if c.rec.StatusCallback == "" || (event != "completed" && !slices.Contains(c.rec.StatusCallbackEvents, event)) {
		return "", "", nil
	}
	params = s.callParams(c)
	params.Set("CallbackSource", "call-progress-events")
	params.Set("Timestamp", c.updatedAt.Format(time.RFC1123Z))
	params.Set("SequenceNumber", strconv.Itoa(c.seq))
	c.seq++
	if final(c.rec.Status) {
		params.Set("CallDuration", strconv.Itoa(c.duration()))
	}
	return c.rec.StatusCallback, c.rec.StatusCallbackMethod, params
}

// callParams are the fields Twilio sends with every request about a call;
// s.mu is held.
func (s *Server) callParams(c *call) url.Values {
	v := url.Values{}
	v.Set("AccountSid", c.rec.AccountSID)
	v.Set("ApiVersion", apiVersion)
	v.Set("CallSid", c.rec.SID)
	v.Set("CallStatus", c.rec.Status)
	v.Set("Called", c.rec.To)
	v.Set("Caller", c.rec.From)
	v.Set("Direction", "outbound-api")
	v.Set("From", c.rec.From)
	v.Set("To", c.rec.To)
	if c.rec.AnsweredBy != "" {
		v.Set("AnsweredBy", c.rec.AnsweredBy)
	}
	return v
}

// send makes one signed request to the application and records it. Only
// loopback hosts are called: the fake never reaches beyond the machine.
func (s *Server) send(c *call, kind, method, target string, params url.Values) Callback {
	cb := Callback{Kind: kind, CallSID: c.rec.SID, Method: method, URL: target, Params: params}
	if method == http.MethodGet {
		cb.URL = withQuery(target, params)
		cb.Signature = Sign(s.opts.AuthToken, cb.URL, nil)
	} else {
		cb.Signature = Sign(s.opts.AuthToken, target, params)
	}
	if err := loopbackOnly(cb.URL); err != nil {
		cb.Err = err.Error()
	} else if resp, err := s.do(method, cb.URL, params, cb.Signature); err != nil {
		cb.Err = err.Error()
	} else {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cb.StatusCode, cb.Body = resp.StatusCode, string(body)
	}

	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	closing := s.ctx.Err() != nil
	if (cb.StatusCode/100 != 2) && !closing {
		s.problems = append(s.problems, fmt.Errorf("twiliotest: %s callback for call %s to %s: %s", kind, c.rec.SID, target, describe(cb)))
	}
	s.notify()
	s.mu.Unlock()
	return cb
}

func (s *Server) do(method, fullURL string, params url.Values, signature string) (*http.Response, error) {
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(s.ctx, method, fullURL, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	req.Header.Set("X-Twilio-Signature", signature)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("Accept", "*/*")
	return s.client.Do(req)
}

// Replay sends recorded callback i again, byte for byte and with the same
// signature, and returns the application's status code.
func (s *Server) Replay(i int) (status int, err error) {
	s.mu.Lock()
	if i < 0 || i >= len(s.callbacks) {
		n := len(s.callbacks)
		s.mu.Unlock()
		return 0, fmt.Errorf("twiliotest: no callback %d (have %d)", i, n)
	}
	cb := s.callbacks[i]
	s.mu.Unlock()
	resp, err := s.do(cb.Method, cb.URL, cb.Params, cb.Signature)
	if err != nil {
		return 0, fmt.Errorf("twiliotest: replay %d: %w", i, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func describe(cb Callback) string {
	if cb.Err != "" {
		return cb.Err
	}
	return fmt.Sprintf("answered %d %s", cb.StatusCode, strings.TrimSpace(cb.Body))
}

func withQuery(target string, params url.Values) string {
	if len(params) == 0 {
		return target
	}
	if strings.Contains(target, "?") {
		return target + "&" + params.Encode()
	}
	return target + "?" + params.Encode()
}

func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not sent: %w", err)
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("not sent: the fake Twilio only calls loopback addresses, not " + host)
}
