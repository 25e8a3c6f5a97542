package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec describes one batch of alerts: warm-up or timed run.
type loadSpec struct {
	alertsURL    string
	token        string
	runID        string // keeps fingerprints of separate runs apart
	severity     string
	total        int
	fingerprints int
	concurrency  int
	deadline     time.Time // no new request starts at or after it; zero means none
}

// loadResult is what the senders saw. Sent = Accepted + sum(Rejected) + Errors.
type loadResult struct {
	Sent       int
	Accepted   int
	Rejected   map[int]int // status code → count, for every status but 202
	Errors     int         // no HTTP response at all
	Malformed  int         // 202 whose body was not the documented JSON
	Actions    map[string]int
	Incidents  map[int64]struct{}
	Latencies  []time.Duration // of accepted requests, sorted ascending
	Wall       time.Duration
	Stopped    bool   // the deadline or a cancellation ended the batch before total
	FirstError string // first transport error, to tell the user why
}

// genericAlert is the body of the "generic" integration.
type genericAlert struct {
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Fingerprint string            `json:"fingerprint"`
	Severity    string            `json:"severity"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
}

// alertAck is the server's 202 answer, sent after commit.
type alertAck struct {
	IncidentID int64  `json:"incident_id"`
	Incident   string `json:"incident"`
	Action     string `json:"action"`
}

// maxAckBytes bounds how much of a response body is kept; the rest is
// drained so the connection can be reused.
const maxAckBytes = 64 << 10

// sendAlerts fires spec.total alerts from spec.concurrency senders sharing
// client, cycling through spec.fingerprints fingerprints so the server opens
// that many incidents and appends the rest. It stops early, without counting
// the aborted requests, when ctx is cancelled; at spec.deadline it only stops
// starting new requests, so requests in flight still finish and are counted.
func sendAlerts(ctx context.Context, client *http.Client, spec loadSpec) (loadResult, error) {
	bodies, err := alertBodies(spec)
	if err != nil {
		return loadResult{}, err
	}

	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		results = make([]loadResult, spec.concurrency)
	)
	start := time.Now()
	for w := range spec.concurrency {
		wg.Go(func() {
			// Each sender tallies on its own and the tallies are merged at the
			// end, so the senders never contend on a lock while timed.
			res := newLoadResult()
			defer func() { results[w] = res }()
			for {
				i := next.Add(1) - 1
				if i >= int64(spec.total) {
					return
				}
				if ctx.Err() != nil || (!spec.deadline.IsZero() && !time.Now().Before(spec.deadline)) {
					res.Stopped = true
					return
				}
				status, ack, took, err := postAlert(ctx, client, spec, bodies[int(i)%len(bodies)])
				if err != nil && ctx.Err() != nil {
					res.Stopped = true
					return
				}
				res.record(status, ack, took, err)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)

	total := newLoadResult()
	for _, r := range results {
		total.merge(r)
	}
	total.Wall = wall
	slices.Sort(total.Latencies)
	return total, nil
}

// alertBodies encodes one body per fingerprint up front so the timed loop
// measures the server, not json.Marshal.
func alertBodies(spec loadSpec) ([][]byte, error) {
	bodies := make([][]byte, min(spec.fingerprints, spec.total))
	for j := range bodies {
		b, err := json.Marshal(genericAlert{
			Title:       fmt.Sprintf("hotline-bench load alert %d", j),
			Description: fmt.Sprintf("Synthetic alert from hotline-bench run %s; safe to resolve.", spec.runID),
			Fingerprint: fmt.Sprintf("hotline-bench-%s-%d", spec.runID, j),
			Severity:    spec.severity,
			Status:      "firing",
			Labels:      map[string]string{"source": "hotline-bench", "run": spec.runID, "alert": strconv.Itoa(j)},
		})
		if err != nil {
			return nil, fmt.Errorf("encode alert %d: %w", j, err)
		}
		bodies[j] = b
	}
	return bodies, nil
}

// postAlert sends one alert and reads the whole answer; took covers the
// request and the response body, which is what a sender waits for.
// ack is zero unless the status is 202 and the body decodes.
func postAlert(ctx context.Context, client *http.Client, spec loadSpec, body []byte) (status int, ack *alertAck, took time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.alertsURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if spec.token != "" {
		req.Header.Set("Authorization", "Bearer "+spec.token)
	}

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, time.Since(start), err
	}
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAckBytes))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if readErr != nil {
		return 0, nil, took, fmt.Errorf("read response: %w", readErr)
	}
	if resp.StatusCode != http.StatusAccepted {
		return resp.StatusCode, nil, took, nil
	}
	var a alertAck
	if json.Unmarshal(raw, &a) != nil || a.Action == "" {
		return resp.StatusCode, nil, took, nil
	}
	return resp.StatusCode, &a, took, nil
}

func newLoadResult() loadResult {
	return loadResult{
		Rejected:  map[int]int{},
		Actions:   map[string]int{},
		Incidents: map[int64]struct{}{},
	}
}

func (r *loadResult) record(status int, ack *alertAck, took time.Duration, err error) {
	r.Sent++
	switch {
	case err != nil:
		r.Errors++
		if r.FirstError == "" {
			r.FirstError = err.Error()
		}
	case status != http.StatusAccepted:
		r.Rejected[status]++
	default:
		r.Accepted++
		r.Latencies = append(r.Latencies, took)
		if ack == nil {
			r.Malformed++
			return
		}
		r.Actions[ack.Action]++
		// "ignored" alerts may name no incident.
		if ack.IncidentID > 0 {
			r.Incidents[ack.IncidentID] = struct{}{}
		}
	}
}

func (r *loadResult) merge(o loadResult) {
	r.Sent += o.Sent
	r.Accepted += o.Accepted
	r.Errors += o.Errors
	r.Malformed += o.Malformed
	r.Stopped = r.Stopped || o.Stopped
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	for code, n := range o.Rejected {
		r.Rejected[code] += n
	}
	for action, n := range o.Actions {
		r.Actions[action] += n
	}
	maps.Copy(r.Incidents, o.Incidents)
	r.Latencies = append(r.Latencies, o.Latencies...)
}
