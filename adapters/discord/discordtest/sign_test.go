package discordtest_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/hotline-dev/hotline/adapters/discord/discordtest"
)

func publicKey(t *testing.T, s *discordtest.Server) ed25519.PublicKey {
	t.Helper()
	key, err := hex.DecodeString(s.PublicKey())
	if err != nil || len(key) != ed25519.PublicKeySize {
		t.Fatalf("PublicKey %q: %v", s.PublicKey(), err)
	}
	return key
}

func TestSignaturesVerifyWithDiscordgo(t *testing.T) {
	s := newServer(t)
	key := publicKey(t, s)
	req, err := s.SignedRequest("http://127.0.0.1:1/interactions", discordtest.Ping())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(req, key) {
		t.Fatal("discordgo does not verify the fake's signature")
	}
	var ping map[string]any
	if err := json.Unmarshal(body, &ping); err != nil || ping["type"] != 1.0 || ping["application_id"] != discordtest.ApplicationID || ping["id"] == "" {
		t.Errorf("signed PING %s", body)
	}
	if req.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(req.Header.Get("User-Agent"), "Discord-Interactions/") {
		t.Errorf("headers %v", req.Header)
	}

	tampered := bytes.Replace(body, []byte(`"type":1`), []byte(`"type":2`), 1)
	forged, _ := http.NewRequest("POST", "http://127.0.0.1:1/interactions", bytes.NewReader(tampered))
	forged.Header = req.Header.Clone()
	if discordgo.VerifyInteraction(forged, key) {
		t.Error("a tampered body verifies")
	}

	h := s.Sign([]byte(`{"type":1}`), "1700000000")
	sig, _ := hex.DecodeString(h.Get("X-Signature-Ed25519"))
	if h.Get("X-Signature-Timestamp") != "1700000000" || !ed25519.Verify(key, []byte(`1700000000{"type":1}`), sig) {
		t.Errorf("Sign %v is not ed25519 over timestamp+body", h)
	}
}

// endpoint is an interactions endpoint as a bot serves it: verify, answer
// PING with PONG and a command with a message.
func endpoint(t *testing.T, key ed25519.PublicKey, verify bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if verify && !discordgo.VerifyInteraction(r, key) {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var i discordgo.Interaction
		if err := json.NewDecoder(r.Body).Decode(&i); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp := discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}
		if i.Type == discordgo.InteractionApplicationCommand {
			resp = discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "ok " + i.ApplicationCommandData().Options[0].Name}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPInteractions(t *testing.T) {
	s := newServer(t)
	key := publicKey(t, s)
	dg := newSession(t, s, s.Token())
	if _, err := dg.ApplicationCommandBulkOverwrite(discordtest.ApplicationID, discordtest.GuildID, []*discordgo.ApplicationCommand{incidentCommand()}); err != nil {
		t.Fatal(err)
	}
	good := endpoint(t, key, true)
	if err := s.VerifyEndpoint(ctx(t), good.URL); err != nil {
		t.Errorf("a verifying endpoint: %v", err)
	}
	if err := s.VerifyEndpoint(ctx(t), endpoint(t, key, false).URL); err == nil {
		t.Error("an endpoint that skips verification passed")
	}

	p, err := s.Deliver(ctx(t), good.URL, discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7"}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx(t))
	if err != nil || r.Type != discordtest.ResponseMessage || r.Content != "ok ack" {
		t.Fatalf("response over HTTP: %+v %v", r, err)
	}
	// The token Discord sent works for follow-ups, as over the gateway.
	i := &discordgo.Interaction{ID: p.Interaction.ID, AppID: discordtest.ApplicationID, Token: p.Interaction.Token}
	if _, err := dg.FollowupMessageCreate(i, true, &discordgo.WebhookParams{Content: "more"}); err != nil {
		t.Errorf("follow-up of an HTTP interaction: %v", err)
	}
	if n := len(s.Messages(channel)); n != 2 {
		t.Errorf("%d channel messages, want the response and the follow-up", n)
	}

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer failing.Close()
	if _, err := s.Deliver(ctx(t), failing.URL, discordtest.Command(channel, tanaka, nil, "ack", map[string]any{"incident": "INC-7"})); err == nil {
		t.Error("an endpoint answering 500 was taken")
	}
}
