package twilio

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/twilio/twiliotest"
	"github.com/hotline-dev/hotline/bot"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testToken   = "s3cr3tT0ken"
	testFrom    = "+815012345678"
	tanaka      = "+819011112222"
	suzuki      = "+819033334444"
)

// engine is the Engine port's fake: it records events and answers keys the
// way the escalation engine does (1 accepts, 2 passes, else ask again).
type engine struct {
	mu       sync.Mutex
	statuses []bot.CallEvent
	keys     []bot.CallEvent
	fail     error  // returned by both methods when set
	takenBy  string // with taken: the incident is someone else's
	taken    bool
}

func (e *engine) Keypress(_ context.Context, ev bot.CallEvent) (bot.KeypressReply, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return bot.KeypressReply{}, e.fail
	}
	e.keys = append(e.keys, ev)
	r := bot.KeypressReply{Locale: "en", Incident: bot.Incident{Number: 12, Title: "db01 disk usage 95%"}}
	switch {
	case e.taken:
		r.Outcome, r.TakenBy = bot.KeypressTaken, e.takenBy
	case ev.Digits == "1":
		r.Outcome = bot.KeypressAccepted
	case ev.Digits == "2":
		r.Outcome = bot.KeypressPassed
	default:
		r.Outcome = bot.KeypressAgain
	}
	return r, nil
}

func (e *engine) CallStatus(_ context.Context, ev bot.CallEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.statuses = append(e.statuses, ev)
	return nil
}

func (e *engine) events() (statuses, keys []bot.CallEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]bot.CallEvent(nil), e.statuses...), append([]bot.CallEvent(nil), e.keys...)
}

func (e *engine) touched() bool {
	s, k := e.events()
	return len(s)+len(k) > 0
}

// rig is Hotline's Twilio side on loopback: a fake Twilio, the callback
// handler served where PublicURL points, and a Phone talking to the fake.
type rig struct {
	fake  *twiliotest.Server
	app   *httptest.Server
	eng   *engine
	cfg   Config
	phone *Phone
}

func newRig(t *testing.T) *rig {
	t.Helper()
	fake, err := twiliotest.New(twiliotest.Options{AccountSID: testAccount, AuthToken: testToken, Step: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	r := &rig{fake: fake, app: app, eng: &engine{}}
	r.cfg = Config{
		AccountSID: testAccount,
		AuthToken:  testToken,
		From:       testFrom,
		APIURL:     fake.URL(),
		PublicURL:  app.URL,
		Logger:     quietLogger(),
	}
	mux.Handle("/v1/twilio/", NewHandler(r.cfg, r.eng))
	if r.phone, err = NewPhone(r.cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
