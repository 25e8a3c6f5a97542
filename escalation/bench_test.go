package escalation

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// stampPhone records when each call request left, by incident.
type stampPhone struct {
	mu   sync.Mutex
	at   map[int64]time.Time
	done chan struct{}
	want int
}

func (p *stampPhone) PlaceCall(_ context.Context, c bot.Call) (string, error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.at[c.Incident.ID]; !ok {
		p.at[c.Incident.ID] = now
		if len(p.at) == p.want {
			close(p.done)
		}
	}
	return fmt.Sprint("CA", c.Incident.ID), nil
}

func (p *stampPhone) FindCalls(context.Context, string, time.Time) ([]string, error) {
	return nil, nil
}
func (p *stampPhone) HangUp(context.Context, string) error { return nil }

// BenchmarkAlertToFirstCall measures, on each store with the real job
// runner and wall clock, the time from Ingest of an alert to the first call
// request of its incident with ack_timeout 0 (p50/p99 reported), one alert
// at a time.
func BenchmarkAlertToFirstCall(b *testing.B) {
	benchStores(b, func(b *testing.B, open func(bot.Clock) bot.Store) {
		lat := runEscalations(b, open, b.N, 0, false)
		report(b, lat)
	})
}

// BenchmarkDueToCall1000 arms 1,000 incidents whose chat window ends at the
// same moment and measures how late each call request leaves after its due
// time (p50/p99/max reported).
func BenchmarkDueToCall1000(b *testing.B) {
	benchStores(b, func(b *testing.B, open func(bot.Clock) bot.Store) {
		var all []time.Duration
		for range b.N {
			all = append(all, runEscalations(b, open, 1000, 3*time.Second, true)...)
		}
		report(b, all)
	})
}

func benchStores(b *testing.B, fn func(b *testing.B, open func(bot.Clock) bot.Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, sqliteOpener(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, postgresOpener(b)) })
}

// runEscalations opens n incidents (sequentially or all at once) on a
// policy with the given chat window and returns, per incident, the time
// from its due moment (ingest + window) to its call request.
func runEscalations(b *testing.B, open func(bot.Clock) bot.Store, n int, window time.Duration, burst bool) []time.Duration {
	b.Helper()
	store := open(bot.SystemClock)
	phone := &stampPhone{at: map[int64]time.Time{}, done: make(chan struct{}), want: n}
	pol := Policy{ID: "p", AckTimeout: window, Steps: []Step{{Call: []string{"tanaka"}, RingTimeout: 30 * time.Second}}}
	eng, err := New(Config{Policies: []Policy{pol}, Contacts: contacts, ServicePolicies: map[string]string{"web": "p"},
		Phone: phone, PhoneAccount: "AC1", CallsPerSecond: math.Inf(1), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	bt := bot.New(bot.Config{Store: store, Escalator: eng, Logger: quiet, Committers: 2, BatchLinger: 2 * time.Millisecond,
		Services: []bot.Service{{ID: "web"}}})
	eng.Register(bt)
	defer bt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go bt.RunJobs(ctx, bot.RunnerConfig{Worker: "bench", Concurrency: 64}) // as serve runs it

	sent := make(map[int64]time.Time, n)
	var mu sync.Mutex
	ingest := func(i int) {
		start := time.Now()
		res, err := bt.Ingest(ctx, bot.Alert{Integration: "bench", Source: "generic", Service: "web",
			Fingerprint: fmt.Sprintf("fp-%d-%d", time.Now().UnixNano(), i), Status: bot.AlertFiring, Title: "db down", Severity: bot.Sev1})
		if err != nil {
			b.Error(err)
			return
		}
		mu.Lock()
		sent[res.Incident.ID] = start
		mu.Unlock()
	}
	b.ResetTimer()
	if burst {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); ingest(i) }()
		}
		wg.Wait()
	} else {
		for i := range n {
			ingest(i)
			waitCalls(b, phone, i+1)
		}
	}
	select {
	case <-phone.done:
	case <-time.After(window + time.Minute):
		b.Fatalf("only %d of %d calls placed", len(phone.at), n)
	}
	b.StopTimer()
	phone.mu.Lock()
	defer phone.mu.Unlock()
	var lat []time.Duration
	for id, at := range phone.at {
		// With a window, a call is due window after its incident was opened.
		lat = append(lat, at.Sub(sent[id].Add(window)))
	}
	return lat
}

func waitCalls(b *testing.B, p *stampPhone, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		got := len(p.at)
		p.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.Fatalf("call %d not placed within 10s", n)
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(.5), "p50-ms")
	b.ReportMetric(q(.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(0, "ns/op")
}
