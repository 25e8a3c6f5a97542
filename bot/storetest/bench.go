package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-dev/hotline/bot"
)

// BenchmarkIngest measures Bot.Ingest on a store without HTTP in front:
// parallel senders, alerts spread over 100 fingerprints, chat sync jobs
// running as in serve (on a chat that only records). It reports accepted
// alerts per second.
func BenchmarkIngest(b *testing.B, newStore func(b *testing.B) bot.Store, committers int) {
	st := newStore(b)
	bt := bot.New(bot.Config{
		Store:      st,
		Services:   []bot.Service{{ID: "web", Name: "Web", Channels: map[string]string{"fake": "C1"}}},
		Chats:      []bot.Chat{&FakeChat{Name: "fake"}},
		Committers: committers,
	})
	defer bt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); bt.RunJobs(ctx, bot.RunnerConfig{Worker: "bench"}) }()
	defer func() { cancel(); <-jobsDone }()
	var n atomic.Int64
	b.SetParallelism(32) // 32 × GOMAXPROCS senders, like many monitoring sources
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a := bot.Alert{Integration: "bench", Source: "generic", Service: "web", Fingerprint: fmt.Sprint("fp", i%100),
				Status: bot.AlertFiring, Title: "db01 ディスク使用率 95%", Raw: []byte(`{"title":"db01 ディスク使用率 95%"}`)}
			if _, err := bt.Ingest(context.Background(), a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
}
