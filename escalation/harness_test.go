package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/adapters/postgres"
	"github.com/hotline-dev/hotline/adapters/postgres/pgtest"
	"github.com/hotline-dev/hotline/adapters/sqlite"
	"github.com/hotline-dev/hotline/bot"
	"github.com/hotline-dev/hotline/bot/storetest"
)

// onStores runs an engine scenario on both stores: escalation is only as
// durable as the store under it.
func onStores(t *testing.T, scenario func(t *testing.T, open func(bot.Clock) bot.Store)) {
	t.Run("sqlite", func(t *testing.T) { scenario(t, sqliteOpener(t)) })
	t.Run("postgres", func(t *testing.T) { scenario(t, postgresOpener(t)) })
}

func sqliteOpener(t testing.TB) func(bot.Clock) bot.Store {
	return func(c bot.Clock) bot.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Options{Clock: c})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresOpener opens stores on one fresh database per test.
func postgresOpener(t testing.TB) func(bot.Clock) bot.Store {
	dsn := pgtest.NewDatabase(t)
	return func(c bot.Clock) bot.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.Options{Clock: c, Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// fakePhone is the bot.Phone port for engine tests; the Twilio adapter is
// tested against the fake Twilio server.
type fakePhone struct {
	mu      sync.Mutex
	calls   []bot.Call
	ids     []string
	hangUps []string
	finds   int
	// fail is returned by the next PlaceCall calls, in order; lostResponse
	// makes such a failure happen after the call was placed.
	fail         []error
	lostResponse bool
}

func (p *fakePhone) PlaceCall(_ context.Context, c bot.Call) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.fail) > 0 {
		err := p.fail[0]
		p.fail = p.fail[1:]
		if p.lostResponse {
			p.record(c)
		}
		return "", err
	}
	return p.record(c), nil
}

func (p *fakePhone) record(c bot.Call) string {
	id := fmt.Sprintf("CA%d", len(p.calls)+1)
	p.calls, p.ids = append(p.calls, c), append(p.ids, id)
	return id
}

func (p *fakePhone) FindCalls(_ context.Context, to string, since time.Time) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finds++
	var out []string
	for i := len(p.calls) - 1; i >= 0; i-- {
		if p.calls[i].To == to {
			out = append(out, p.ids[i])
		}
	}
	return out, nil
}

func (p *fakePhone) HangUp(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hangUps = append(p.hangUps, id)
	return nil
}

// called lists the contact names called so far, in order.
func (p *fakePhone) called() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.calls {
		out = append(out, c.ContactName)
	}
	return out
}

type fakeMailer struct {
	mu   sync.Mutex
	sent []bot.Mail
}

func (m *fakeMailer) Send(_ context.Context, mail bot.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *fakeMailer) subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sent {
		out = append(out, s.Subject)
	}
	return out
}

type world struct {
	t      *testing.T
	ctx    context.Context
	clock  *storetest.Clock
	store  bot.Store
	bot    *bot.Bot
	eng    *Engine
	phone  *fakePhone
	mail   *fakeMailer
	chat   *storetest.FakeChat
	late   []time.Duration
	lateMu sync.Mutex
}

var (
	quiet    = slog.New(slog.DiscardHandler)
	contacts = []bot.Contact{tanaka, suzuki, sato, {ID: "nophone", Name: "No Phone"}}
	admins   = []string{"admin@example.com"}
)

type worldOption func(*Config)

func newWorld(t *testing.T, open func(bot.Clock) bot.Store, pol Policy, opts ...worldOption) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clock: storetest.NewClock(), phone: &fakePhone{}, mail: &fakeMailer{},
		chat: &storetest.FakeChat{Name: "fake"}}
	w.store = open(w.clock)
	if pol.Notify == nil {
		pol.Notify = admins
	}
	cfg := Config{
		Policies: []Policy{pol}, Contacts: contacts, ServicePolicies: map[string]string{"web": pol.ID},
		ServiceNames: map[string]string{"web": "Web shop"}, Phone: w.phone, PhoneAccount: "AC1", CallsPerSecond: math.Inf(1),
		Logger: quiet, Clock: w.clock,
		Hooks: Hooks{CallRequested: func(late time.Duration) { w.lateMu.Lock(); w.late = append(w.late, late); w.lateMu.Unlock() }},
	}
	for _, o := range opts {
		o(&cfg)
	}
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.eng = eng
	w.bot = bot.New(bot.Config{Store: w.store, Clock: w.clock, Logger: quiet, Escalator: eng, Mailer: w.mail, Chats: []bot.Chat{w.chat},
		Services: []bot.Service{{ID: "web", Name: "Web shop", Channels: map[string]string{"fake": "C0ALERTS"}}}})
	eng.Register(w.bot)
	t.Cleanup(w.bot.Close)
	return w
}

func (w *world) ingest(fp string, sev bot.Severity) bot.Incident {
	w.t.Helper()
	res, err := w.bot.Ingest(w.ctx, bot.Alert{Integration: "prom", Source: "alertmanager", Service: "web", Fingerprint: fp,
		Status: bot.AlertFiring, Title: "db01 ディスク使用率 95%", Severity: sev})
	if err != nil {
		w.t.Fatalf("ingest: %v", err)
	}
	w.run()
	return res.Incident
}

// run runs every due job, as a runner would right now.
func (w *world) run() {
	w.t.Helper()
	if _, err := w.bot.RunDue(w.ctx, "test"); err != nil {
		w.t.Fatalf("run jobs: %v", err)
	}
}

// advance moves time on and runs what came due.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	w.clock.Advance(d)
	w.run()
}

func (w *world) wantCalled(want ...string) {
	w.t.Helper()
	if got := w.phone.called(); strings.Join(got, ",") != strings.Join(want, ",") {
		w.t.Fatalf("called %v, want %v", got, want)
	}
}

// attempt returns the i-th (0-based) placed call's attempt.
func (w *world) attempt(inc bot.Incident, i int) bot.CallAttempt {
	w.t.Helper()
	as, err := w.store.CallAttempts(w.ctx, inc.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if i >= len(as) {
		w.t.Fatalf("attempt %d of %d", i, len(as))
	}
	return as[i]
}

func (w *world) status(inc bot.Incident, i int, s bot.CallStatus, answeredBy string) {
	w.t.Helper()
	a := w.attempt(inc, i)
	if err := w.eng.CallStatus(w.ctx, bot.CallEvent{AttemptID: a.ID, CallID: a.CallID, Status: s, AnsweredBy: answeredBy}); err != nil {
		w.t.Fatalf("status %s: %v", s, err)
	}
	w.run()
}

func (w *world) press(inc bot.Incident, i int, digits string) bot.KeypressReply {
	w.t.Helper()
	a := w.attempt(inc, i)
	r, err := w.eng.Keypress(w.ctx, bot.CallEvent{AttemptID: a.ID, CallID: a.CallID, Digits: digits})
	if err != nil {
		w.t.Fatalf("press %s: %v", digits, err)
	}
	w.run()
	return r
}

func (w *world) escalation(inc bot.Incident) bot.Escalation {
	w.t.Helper()
	e, err := w.store.Escalation(w.ctx, inc.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *world) incident(inc bot.Incident) bot.Incident {
	w.t.Helper()
	got, err := w.store.Incident(w.ctx, inc.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// timeline returns the incident's timeline as "kind actor/source: text" lines.
func (w *world) timeline(inc bot.Incident) []string {
	w.t.Helper()
	evs, err := w.store.Timeline(w.ctx, inc.ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s/%s: %s", e.Kind, e.Actor, e.Source, e.Text))
	}
	return out
}

func (w *world) wantTimeline(inc bot.Incident, want ...string) {
	w.t.Helper()
	got := w.timeline(inc)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		w.t.Errorf("timeline:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func isNotFound(err error) bool { return errors.Is(err, bot.ErrNotFound) }
