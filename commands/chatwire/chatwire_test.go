package chatwire

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

func TestCheck(t *testing.T) {
	var p bot.Problems
	s := Check(&p, "chat.discord", "tok", "", "https://discord.com/api/v9/", "ja")
	if len(p) != 0 || s.APIURL != "https://discord.com/api/v9/" || s.Locale != "ja" {
		t.Errorf("defaults: %+v %v", s, p)
	}
	s = Check(&p, "chat.slack", "tok", "http://127.0.0.1:9/api", "x", "")
	if len(p) != 0 || s.APIURL != "http://127.0.0.1:9/api/" || s.Locale != "en" {
		t.Errorf("api url without slash: %+v %v", s, p)
	}
	Check(&p, "chat.slack", " ", "ftp://x", "x", "fr")
	want := []string{"chat.slack.bot_token: is required", `chat.slack.api_url: "ftp://x" is not an http(s) URL`, `locale: "fr": must be ja or en`}
	if strings.Join(p, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems %q, want %q", p, want)
	}
}

func TestReadPost(t *testing.T) {
	tests := []struct {
		method, body string
		status       int
	}{
		{"POST", "hello", 0},
		{"GET", "", http.StatusMethodNotAllowed},
		{"POST", strings.Repeat("x", 65), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		body, ok := ReadPost(w, httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body)), 64)
		if tt.status == 0 {
			if !ok || string(body) != tt.body {
				t.Errorf("%s %d bytes: %q %v", tt.method, len(tt.body), body, ok)
			}
			continue
		}
		if ok || w.Code != tt.status {
			t.Errorf("%s %d bytes: ok %v status %d, want %d", tt.method, len(tt.body), ok, w.Code, tt.status)
		}
	}
}

func TestWorkOutlivesTheRequestAndContainsPanics(t *testing.T) {
	w := &Work{Timeout: time.Second, Log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request is over
	done := make(chan error, 1)
	w.Go(ctx, func(ctx context.Context) { done <- ctx.Err() })
	w.Go(ctx, func(context.Context) { panic("boom") })
	if err := <-done; err != nil {
		t.Errorf("work saw the request's cancellation: %v", err)
	}
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := w.Wait(wait); err != nil {
		t.Errorf("wait: %v", err)
	}
}
