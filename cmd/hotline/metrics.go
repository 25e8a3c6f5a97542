package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hotline-dev/hotline/bot"
)

// newMetrics registers the process's metrics and returns the domain hooks
// that feed them. queue is read at each scrape for the queue's state and
// the database's health.
func newMetrics(queue queueReader) (*prometheus.Registry, bot.Hooks) {
	reg := prometheus.NewRegistry()
	chatFailed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_chat_posts_failed_total", Help: "Root messages and updates a chat platform did not take (retried), by platform.",
	}, []string{"platform"})
	reg.MustRegister(chatFailed, &queueCollector{queue: queue})
	opened := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_incidents_opened_total", Help: "Incidents opened, by service.",
	}, []string{"service"})
	commit := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hotline_ingest_commit_seconds",
		Help:    "Time from an alert's receipt to the commit that enqueued its follow-up jobs.",
		Buckets: []float64{.0005, .001, .002, .005, .0075, .01, .015, .02, .03, .04, .05, .075, .1, .2, .5, 1, 2, 5},
	})
	jobWait := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_job_wait_seconds",
		Help:    "Time from a job's due time to its start, by kind.",
		Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30},
	}, []string{"kind"})
	jobRun := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_job_duration_seconds",
		Help:    "Time a job ran, by kind.",
		Buckets: prometheus.DefBuckets,
	}, []string{"kind"})
	jobFailed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_job_failures_total", Help: "Job runs that failed, by kind.",
	}, []string{"kind"})
	reg.MustRegister(opened, commit, jobWait, jobRun, jobFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hooks := bot.Hooks{
		IncidentOpened:  func(inc bot.Incident) { opened.WithLabelValues(inc.Service).Inc() },
		IngestCommitted: func(wait time.Duration) { commit.Observe(wait.Seconds()) },
		ChatPostFailed:  func(platform string) { chatFailed.WithLabelValues(platform).Inc() },
		JobDone: func(kind string, wait, ran time.Duration, err error) {
			jobWait.WithLabelValues(kind).Observe(max(wait, 0).Seconds())
			jobRun.WithLabelValues(kind).Observe(ran.Seconds())
			if err != nil {
				jobFailed.WithLabelValues(kind).Inc()
			}
		},
	}
	return reg, hooks
}

// leaderGauge is hotline_leader{lease}: 1 while this replica holds the
// lease (the Discord gateway, the IMAP poller), else 0. Summed over the
// replicas it is 1 when all is well: 0 means nobody holds it.
func leaderGauge(reg *prometheus.Registry, leases ...string) func(lease string, leader bool) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hotline_leader", Help: "1 while this replica holds the named lease (discord.gateway, mail.imap).",
	}, []string{"lease"})
	reg.MustRegister(g)
	for _, l := range leases {
		g.WithLabelValues(l).Set(0)
	}
	return func(lease string, leader bool) {
		v := 0.0
		if leader {
			v = 1
		}
		g.WithLabelValues(lease).Set(v)
	}
}

// queueReader is the store as the queue's metrics read it.
type queueReader interface {
	QueueStats(ctx context.Context) (bot.QueueStats, error)
}

// queueCollector reads the job queue at each scrape: how much work waits,
// for how long, and whether the database answered at all. A stuck queue or
// a dead database shows here even when nothing else runs.
type queueCollector struct{ queue queueReader }

var (
	queueDepthDesc = prometheus.NewDesc("hotline_job_queue_depth",
		"Jobs due and waiting for a worker (across all replicas).", nil, nil)
	queueOldestDesc = prometheus.NewDesc("hotline_job_oldest_due_seconds",
		"How long the longest-waiting due job has waited; 0 when none waits.", nil, nil)
	databaseUpDesc = prometheus.NewDesc("hotline_database_up",
		"1 when this replica's database answered the scrape's query, else 0.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueOldestDesc
	ch <- databaseUpDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.queue.QueueStats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(st.Due))
	oldest := 0.0
	if !st.OldestDue.IsZero() {
		oldest = max(time.Since(st.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, oldest)
}
