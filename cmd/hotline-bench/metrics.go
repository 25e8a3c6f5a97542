package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The server metrics the bench reads.
const (
	commitHistogram = "hotline_ingest_commit_seconds"
	receivedCounter = "hotline_alerts_received_total"
)

// sample is one line of the Prometheus text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// serverCounts is the part of a /metrics scrape the bench compares before
// and after a run.
type serverCounts struct {
	commitBuckets map[float64]float64 // le → cumulative count, summed over all series
	received      map[string]float64  // outcome → alerts, for the benched integration
}

// scrapeServer fetches {base}/metrics and keeps the figures the report needs.
func scrapeServer(ctx context.Context, client *http.Client, metricsURL, integration string) (serverCounts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return serverCounts{}, fmt.Errorf("new request: %w", err)
	}
	// Ask for the classic text format; a client_golang server would
	// otherwise be free to pick protobuf or OpenMetrics.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return serverCounts{}, fmt.Errorf("scrape %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return serverCounts{}, fmt.Errorf("scrape %s: status %d", metricsURL, resp.StatusCode)
	}
	samples, err := parseMetrics(resp.Body)
	if err != nil {
		return serverCounts{}, fmt.Errorf("scrape %s: %w", metricsURL, err)
	}
	return countsFrom(samples, integration), nil
}

type scrapeResult struct {
	counts serverCounts
	err    error
}

// scrapeAfter scrapes until the histogram has counted the accepted alerts or
// a second has passed: a server may observe just after it answers.
func scrapeAfter(ctx context.Context, client *http.Client, metricsURL, integration string, before serverCounts, accepted int) scrapeResult {
	deadline := time.Now().Add(time.Second)
	for {
		after, err := scrapeServer(ctx, client, metricsURL, integration)
		if err != nil {
			return scrapeResult{err: err}
		}
		delta, err := commitDelta(before, after)
		if err != nil || observations(delta) >= float64(accepted) || time.Now().After(deadline) {
			return scrapeResult{counts: after}
		}
		select {
		case <-ctx.Done():
			return scrapeResult{counts: after}
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func countsFrom(samples []sample, integration string) serverCounts {
	c := serverCounts{commitBuckets: map[float64]float64{}, received: map[string]float64{}}
	for _, s := range samples {
		switch s.name {
		case commitHistogram + "_bucket":
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				continue
			}
			// Like sum by (le): one latency figure whatever labels the
			// server splits the histogram by.
			c.commitBuckets[le] += s.value
		case receivedCounter:
			if s.labels["integration"] == integration {
				c.received[s.labels["outcome"]] += s.value
			}
		}
	}
	return c
}

// commitDelta returns the buckets of the commit histogram observed between
// two scrapes, or an error if the server restarted in between (a counter
// went down) or exposes no such histogram.
func commitDelta(before, after serverCounts) ([]bucket, error) {
	if len(after.commitBuckets) == 0 {
		return nil, fmt.Errorf("server exposes no %s histogram", commitHistogram)
	}
	out := make([]bucket, 0, len(after.commitBuckets))
	for le, n := range after.commitBuckets {
		d := n - before.commitBuckets[le]
		if d < 0 {
			return nil, errors.New("histogram went down between scrapes: did the server restart?")
		}
		out = append(out, bucket{upperBound: le, count: d})
	}
	return out, nil
}

// observations is the +Inf bucket of a delta: how many commits it covers.
func observations(buckets []bucket) float64 {
	for _, b := range buckets {
		if math.IsInf(b.upperBound, +1) {
			return b.count
		}
	}
	return 0
}

// parseMetrics reads the Prometheus text exposition format (version 0.0.4):
// comments and blank lines are skipped, every other line is
// `name[{label="value",...}] value [timestamp]`.
func parseMetrics(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

func parseSample(line string) (sample, error) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return sample{}, fmt.Errorf("no value in %q", line)
	}
	s := sample{name: line[:end], labels: map[string]string{}}
	rest := line[end:]
	if rest[0] == '{' {
		var err error
		rest, err = parseLabels(rest[1:], s.labels)
		if err != nil {
			return sample{}, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return sample{}, fmt.Errorf("%s: want a value and an optional timestamp, got %q", s.name, rest)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return sample{}, fmt.Errorf("%s: value: %w", s.name, err)
	}
	s.value = v
	return s, nil
}

// parseLabels reads `name="value",...}` into labels and returns what follows
// the closing brace. Values may hold \\, \" and \n escapes.
func parseLabels(in string, labels map[string]string) (string, error) {
	for {
		in = strings.TrimLeft(in, " \t")
		if strings.HasPrefix(in, "}") {
			return in[1:], nil
		}
		eq := strings.IndexByte(in, '=')
		if eq <= 0 {
			return "", fmt.Errorf("label name expected in %q", in)
		}
		name := strings.TrimSpace(in[:eq])
		in = strings.TrimLeft(in[eq+1:], " \t")
		if !strings.HasPrefix(in, `"`) {
			return "", fmt.Errorf("label %s: quoted value expected", name)
		}
		var value strings.Builder
		i := 1
		for ; i < len(in) && in[i] != '"'; i++ {
			if in[i] != '\\' {
				value.WriteByte(in[i])
				continue
			}
			i++
			if i == len(in) {
				break
			}
			switch in[i] {
			case 'n':
				value.WriteByte('\n')
			default: // \\ and \"
				value.WriteByte(in[i])
			}
		}
		if i >= len(in) {
			return "", fmt.Errorf("label %s: unterminated value", name)
		}
		labels[name] = value.String()
		in = strings.TrimLeft(in[i+1:], " \t")
		if strings.HasPrefix(in, ",") {
			in = in[1:]
		} else if !strings.HasPrefix(in, "}") {
			return "", fmt.Errorf("label %s: ',' or '}' expected", name)
		}
	}
}
