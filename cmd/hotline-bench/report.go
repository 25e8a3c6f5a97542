package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// describeFailures says in one line why alerts were not accepted.
func describeFailures(r loadResult) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(r.Rejected)) {
		parts = append(parts, fmt.Sprintf("%d× HTTP %d", r.Rejected[code], code))
	}
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d errors, first: %s", r.Errors, r.FirstError))
	}
	if len(parts) == 0 {
		return "nothing sent"
	}
	return strings.Join(parts, "; ")
}

// report is the result, in the shape -json prints.
type report struct {
	URL                string           `json:"url"`
	Integration        string           `json:"integration"`
	Fingerprints       int              `json:"fingerprints"`
	Concurrency        int              `json:"concurrency"`
	Requested          int              `json:"requested"`
	WarmUp             int              `json:"warm_up"`
	Sent               int              `json:"sent"`
	Accepted           int              `json:"accepted"`
	Rejected           map[int]int      `json:"rejected"`
	Errors             int              `json:"errors"`
	FirstError         string           `json:"first_error,omitempty"`
	Malformed          int              `json:"malformed_responses"`
	StoppedEarly       bool             `json:"stopped_early"`
	WallSeconds        float64          `json:"wall_seconds"`
	AcceptedPerSecond  float64          `json:"accepted_per_second"`
	DistinctIncidents  int              `json:"distinct_incidents"`
	Actions            map[string]int   `json:"actions"`
	RequestLatency     *requestLatency  `json:"request_latency_seconds,omitempty"`
	CommitLatency      *commitLatency   `json:"alert_to_job_enqueued_seconds,omitempty"`
	CommitLatencyError string           `json:"alert_to_job_enqueued_error,omitempty"`
	ServerReceived     map[string]int64 `json:"server_received,omitempty"`
}

// requestLatency is over accepted requests only: a fast 503 says nothing
// about how long an accepted alert takes.
type requestLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type commitLatency struct {
	P50          float64 `json:"p50"`
	P99          float64 `json:"p99"`
	Observations int64   `json:"observations"`
}

func newReport(cfg config, warmUp int, res loadResult) *report {
	rep := &report{
		URL:               cfg.base.String(),
		Integration:       cfg.integration,
		Fingerprints:      cfg.fingerprints,
		Concurrency:       cfg.concurrency,
		Requested:         cfg.total,
		WarmUp:            warmUp,
		Sent:              res.Sent,
		Accepted:          res.Accepted,
		Rejected:          res.Rejected,
		Errors:            res.Errors,
		FirstError:        res.FirstError,
		Malformed:         res.Malformed,
		StoppedEarly:      res.Stopped,
		WallSeconds:       res.Wall.Seconds(),
		DistinctIncidents: len(res.Incidents),
		Actions:           res.Actions,
	}
	if res.Wall > 0 {
		rep.AcceptedPerSecond = float64(res.Accepted) / res.Wall.Seconds()
	}
	if n := len(res.Latencies); n > 0 {
		rep.RequestLatency = &requestLatency{
			P50: exactQuantile(res.Latencies, 0.50).Seconds(),
			P90: exactQuantile(res.Latencies, 0.90).Seconds(),
			P99: exactQuantile(res.Latencies, 0.99).Seconds(),
			Max: res.Latencies[n-1].Seconds(),
		}
	}
	return rep
}

func (r *report) addServerCounts(before serverCounts, after scrapeResult) {
	if after.err != nil {
		r.CommitLatencyError = after.err.Error()
		return
	}
	r.ServerReceived = map[string]int64{}
	for outcome, n := range after.counts.received {
		r.ServerReceived[outcome] = int64(math.Round(n - before.received[outcome]))
	}
	delta, err := commitDelta(before, after.counts)
	if err != nil {
		r.CommitLatencyError = err.Error()
		return
	}
	obs := observations(delta)
	p50, p99 := histogramQuantile(0.50, delta), histogramQuantile(0.99, delta)
	if math.IsNaN(p50) || math.IsNaN(p99) {
		r.CommitLatencyError = fmt.Sprintf("%s: no observations during the run", commitHistogram)
		return
	}
	r.CommitLatency = &commitLatency{P50: p50, P99: p99, Observations: int64(math.Round(obs))}
}

func (r *report) writeText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "hotline-bench → %s integration=%s: %d alerts, %d fingerprints, %d senders (warm-up of %d not counted)\n\n",
		r.URL, r.Integration, r.Requested, r.Fingerprints, r.Concurrency, r.WarmUp)
	stopped := ""
	if r.StoppedEarly {
		stopped = fmt.Sprintf(" (stopped early: %d of %d)", r.Sent, r.Requested)
	}
	fmt.Fprintf(tw, "alerts sent\t%d%s\n", r.Sent, stopped)
	fmt.Fprintf(tw, "accepted (202)\t%d\n", r.Accepted)
	fmt.Fprintf(tw, "rejected\t%d%s\n", sumValues(r.Rejected), parenthesized(counts(r.Rejected, ": ")))
	errs := strconv.Itoa(r.Errors)
	if r.FirstError != "" {
		errs += " (first: " + r.FirstError + ")"
	}
	fmt.Fprintf(tw, "errors\t%s\n", errs)
	if r.Malformed > 0 {
		fmt.Fprintf(tw, "202 with unreadable body\t%d\n", r.Malformed)
	}
	fmt.Fprintf(tw, "wall time\t%s\n", formatSeconds(r.WallSeconds))
	fmt.Fprintf(tw, "accepted/s\t%.1f\n", r.AcceptedPerSecond)
	fmt.Fprintf(tw, "distinct incidents\t%d%s\n", r.DistinctIncidents, parenthesized(counts(r.Actions, " ")))
	if len(r.ServerReceived) > 0 {
		fmt.Fprintf(tw, "server counted\t%s\n", counts(r.ServerReceived, " "))
	}

	if l := r.RequestLatency; l != nil {
		fmt.Fprintf(tw, "request latency\tp50 %s  p90 %s  p99 %s  max %s  (202 only, exact)\n",
			formatSeconds(l.P50), formatSeconds(l.P90), formatSeconds(l.P99), formatSeconds(l.Max))
	}
	if l := r.CommitLatency; l != nil {
		fmt.Fprintf(tw, "alert-to-job-enqueued\tp50 %s  p99 %s  (%s, %d commits)\n",
			formatSeconds(l.P50), formatSeconds(l.P99), commitHistogram, l.Observations)
	} else {
		fmt.Fprintf(tw, "alert-to-job-enqueued\tunavailable: %s\n", r.CommitLatencyError)
	}
	tw.Flush()
}

func formatSeconds(s float64) string {
	switch {
	case s < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.2fms", s*1e3)
	default:
		return fmt.Sprintf("%.3fs", s)
	}
}

// counts lists "key sep count" pairs in key order, joined by commas.
func counts[K cmp.Ordered, V int | int64](m map[K]V, sep string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprint(k)+sep+fmt.Sprint(m[k]))
	}
	return strings.Join(parts, ", ")
}

// parenthesized wraps a non-empty list as " (...)".
func parenthesized(list string) string {
	if list == "" {
		return ""
	}
	return " (" + list + ")"
}

func sumValues(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
