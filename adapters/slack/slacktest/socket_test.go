package slacktest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/hotline-dev/hotline/adapters/slack/slacktest"
)

func TestConnectionsOpenTakesOnlyTheAppToken(t *testing.T) {
	s, _ := newServer(t)
	if !strings.HasPrefix(s.AppToken(), "xapp-") {
		t.Errorf("AppToken %q is not an app-level token", s.AppToken())
	}
	for token, want := range map[string]string{
		"":                   "not_authed",
		s.Token():            "not_allowed_token_type",
		"xapp-1-A0X-1-wrong": "invalid_auth",
	} {
		_, _, err := slack.New("", slack.OptionAppLevelToken(token), slack.OptionAPIURL(s.APIURL())).StartSocketModeContext(ctx(t))
		if got := slackError(err); got != want {
			t.Errorf("token %q: error %v, want %s", token, err, want)
		}
	}
	_, wsURL, err := slack.New("", slack.OptionAppLevelToken(s.AppToken()), slack.OptionAPIURL(s.APIURL())).StartSocketModeContext(ctx(t))
	if err != nil || !strings.HasPrefix(wsURL, "ws://127.0.0.1:") || !strings.Contains(wsURL, "ticket=") {
		t.Errorf("with the app token: %q, %v; want a ws:// loopback URL with a ticket", wsURL, err)
	}
}

// dial opens a Socket Mode connection as a client does and reads hello.
func dial(t *testing.T, s *slacktest.Server) *websocket.Conn {
	t.Helper()
	_, wsURL, err := slack.New("", slack.OptionAppLevelToken(s.AppToken()), slack.OptionAPIURL(s.APIURL())).StartSocketModeContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx(t), wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var hello struct{ Type string }
	if err := conn.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("first frame %+v, %v; want hello", hello, err)
	}
	// A ticket opens one connection.
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx(t), wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("the same ticket again: %v, want 401", err)
	}
	return conn
}

func TestSocketEnvelopesAndAcks(t *testing.T) {
	s, _ := newServer(t)
	if _, err := s.PushSocket("events_api", map[string]any{}); !errors.Is(err, slacktest.ErrNoSocket) {
		t.Errorf("push without a connection: %v, want ErrNoSocket", err)
	}
	conn := dial(t, s)
	if err := s.WaitSocket(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushSocket("hello", nil); err == nil {
		t.Error("pushed an envelope type Slack never sends")
	}
	id, err := s.PushEnvelope(slacktest.Envelope{Type: "events_api", Payload: map[string]any{"event_id": "Ev1"}, RetryAttempt: 1, RetryReason: "timeout"})
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		EnvelopeID   string `json:"envelope_id"`
		Type         string
		Payload      map[string]any
		RetryAttempt int    `json:"retry_attempt"`
		RetryReason  string `json:"retry_reason"`
	}
	if err := conn.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	if env.EnvelopeID != id || env.Type != "events_api" || env.Payload["event_id"] != "Ev1" || env.RetryAttempt != 1 || env.RetryReason != "timeout" {
		t.Errorf("envelope %+v, want %s events_api with the payload and the retry", env, id)
	}
	for _, frame := range []any{
		map[string]any{"envelope_id": id, "payload": map[string]any{"text": "done"}},
		map[string]any{"envelope_id": id},
		map[string]any{"envelope_id": "never-sent"},
	} {
		if err := conn.WriteJSON(frame); err != nil {
			t.Fatal(err)
		}
	}
	ack, err := s.WaitAck(ctx(t), id)
	if err != nil || ack.Problem != "" || string(ack.Payload) != `{"text":"done"}` {
		t.Errorf("first ack %+v, %v; want it taken with its payload", ack, err)
	}
	for len(s.SocketAcks()) < 3 {
		if _, err := s.WaitAck(ctx(t), "never-sent"); err != nil {
			t.Fatal(err)
		}
	}
	acks := s.SocketAcks()
	if acks[1].Problem != "acked twice" || acks[2].Problem != "unknown envelope_id" {
		t.Errorf("acks %+v, want the second refused as acked twice and the third as unknown", acks)
	}
}
