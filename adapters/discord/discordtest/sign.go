package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// HTTP interactions as Discord sends them to an app's interactions
// endpoint URL: a POST of the interaction JSON, signed with the
// application's ed25519 key over timestamp+body, answered within 3 s by
// the interaction response as the HTTP body.

// interactionsUserAgent is the User-Agent of Discord's requests.
const interactionsUserAgent = "Discord-Interactions/1.0 (+https://discord.com)"

// PublicKey is the application's public key, hex, as the developer portal
// shows it.
func (s *Server) PublicKey() string { return hex.EncodeToString(s.public) }

// Sign returns the X-Signature-Ed25519 and X-Signature-Timestamp headers
// Discord sends with body: the hex signature of timestamp+body.
func (s *Server) Sign(body []byte, timestamp string) http.Header {
	msg := append([]byte(timestamp), body...)
	h := http.Header{}
	h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(s.private, msg)))
	h.Set("X-Signature-Timestamp", timestamp)
	return h
}

// SignedRequest is the POST Discord makes to an interactions endpoint at
// url: the interaction filled and checked as Interact does (and recorded,
// so its callback, edits and follow-ups are taken), signed now.
func (s *Server) SignedRequest(url string, i Interaction) (*http.Request, error) {
	req, _, err := s.signedInteraction(url, i)
	return req, err
}

func (s *Server) signedInteraction(url string, i Interaction) (*http.Request, *interactionRecord, error) {
	s.mu.Lock()
	rec, err := s.prepare(i, true)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	body, err := json.Marshal(rec.i)
	if err != nil {
		s.forget(rec)
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("discordtest: interaction: %w", err)
	}
	s.mu.Unlock()
	req, err := s.signedPost(url, body, strconv.FormatInt(time.Now().Unix(), 10))
	return req, rec, err
}

func (s *Server) signedPost(url string, body []byte, ts string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("discordtest: signed request: %w", err)
	}
	for k, vs := range s.Sign(body, ts) {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", interactionsUserAgent)
	return req, nil
}

// Deliver sends the interaction to the endpoint at url as Discord does and
// takes the HTTP answer as the interaction's response, with the same
// checks as the callback route. It fails when the endpoint answers
// anything but 200 with a response Discord would take, or not within the
// deadline: Discord then shows "This interaction failed".
func (s *Server) Deliver(ctx context.Context, url string, i Interaction) (*Pending, error) {
	req, rec, err := s.signedInteraction(url, i)
	if err != nil {
		return nil, err
	}
	id := rec.i.ID
	p := &Pending{Interaction: rec.i, srv: s}

	client := &http.Client{Timeout: s.cfg.deadline}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return p, fmt.Errorf("discordtest: deliver interaction %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return p, fmt.Errorf("discordtest: deliver interaction %s: %w", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("discordtest: the endpoint answered interaction %s with %s: %s", id, resp.Status, body)
	}
	s.mu.Lock()
	rep := apiError(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	if !rec.acked {
		rep = s.respond(rec, body, nil)
	}
	s.mu.Unlock()
	s.flush()
	if rep.status >= 400 {
		answer, _ := json.Marshal(rep.body)
		return p, fmt.Errorf("discordtest: Discord refuses the endpoint's response to %s (%d): %s", id, rep.status, answer)
	}
	return p, nil
}

// VerifyEndpoint checks an interactions endpoint as Discord does before it
// saves the URL: a signed PING must get 200 and {"type": 1}, a PING with a
// bad signature 401.
func (s *Server) VerifyEndpoint(ctx context.Context, url string) error {
	req, err := s.SignedRequest(url, Ping())
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: s.cfg.deadline}
	status, body, err := roundTrip(ctx, client, req)
	if err != nil {
		return err
	}
	var pong struct {
		Type int `json:"type"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &pong) != nil || pong.Type != ResponsePong {
		return fmt.Errorf("discordtest: a signed PING got %d %s, want 200 {\"type\":1}", status, body)
	}

	raw, _ := req.GetBody()
	forged, _ := io.ReadAll(raw)
	bad, err := s.signedPost(url, forged, strconv.FormatInt(time.Now().Unix(), 10))
	if err != nil {
		return err
	}
	sig, err := hex.DecodeString(bad.Header.Get("X-Signature-Ed25519"))
	if err != nil {
		return err
	}
	sig[0] ^= 1
	bad.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	status, body, err = roundTrip(ctx, client, bad)
	if err != nil {
		return err
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("discordtest: a PING with a bad signature got %d %s, want 401", status, body)
	}
	return nil
}

func roundTrip(ctx context.Context, client *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, fmt.Errorf("discordtest: %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
