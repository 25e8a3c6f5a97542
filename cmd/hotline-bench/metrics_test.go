package main

import (
	"maps"
	"math"
	"strings"
	"testing"
)

func TestParseSample(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		labels map[string]string
		value  float64
	}{
		{`up 1`, "up", map[string]string{}, 1},
		{`up 1 1700000000000`, "up", map[string]string{}, 1},
		{`h_bucket{le="0.005"} 42`, "h_bucket", map[string]string{"le": "0.005"}, 42},
		{`h_bucket{le="+Inf"} 7`, "h_bucket", map[string]string{"le": "+Inf"}, 7},
		{`c{a="x",b="y",} 3.5e2`, "c", map[string]string{"a": "x", "b": "y"}, 350},
		{`c{ a = "x" , b="y"} 1`, "c", map[string]string{"a": "x", "b": "y"}, 1},
		{`c{msg="say \"hi\", {ok}\\n\n"} 2`, "c", map[string]string{"msg": "say \"hi\", {ok}\\n\n"}, 2},
		{`c{} 2`, "c", map[string]string{}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			s, err := parseSample(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if s.name != tt.name || !maps.Equal(s.labels, tt.labels) || s.value != tt.value {
				t.Errorf("got %q %v %v, want %q %v %v", s.name, s.labels, s.value, tt.name, tt.labels, tt.value)
			}
		})
	}
}

func TestParseSampleRejects(t *testing.T) {
	for _, line := range []string{
		`novalue`,
		`c{a="x"`,
		`c{a=x} 1`,
		`c{a="x} 1`,
		`c{a="x" b="y"} 1`,
		`c 1 2 3`,
		`c abc`,
	} {
		if _, err := parseSample(line); err == nil {
			t.Errorf("parseSample(%q): want an error", line)
		}
	}
}

func TestCountsFrom(t *testing.T) {
	text := `# HELP hotline_ingest_commit_seconds x
# TYPE hotline_ingest_commit_seconds histogram
hotline_ingest_commit_seconds_bucket{integration="generic",le="0.01"} 3
hotline_ingest_commit_seconds_bucket{integration="generic",le="+Inf"} 4
hotline_ingest_commit_seconds_bucket{integration="email",le="0.01"} 1
hotline_ingest_commit_seconds_bucket{integration="email",le="+Inf"} 1
hotline_ingest_commit_seconds_sum 0.02
hotline_ingest_commit_seconds_count 5

hotline_alerts_received_total{integration="generic",outcome="accepted"} 4
hotline_alerts_received_total{integration="generic",outcome="invalid"} 2
hotline_alerts_received_total{integration="email",outcome="accepted"} 1
`
	samples, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := countsFrom(samples, "generic")
	wantBuckets := map[float64]float64{0.01: 4, math.Inf(+1): 5}
	if !maps.Equal(c.commitBuckets, wantBuckets) {
		t.Errorf("commit buckets = %v, want %v (summed by le)", c.commitBuckets, wantBuckets)
	}
	wantReceived := map[string]float64{"accepted": 4, "invalid": 2}
	if !maps.Equal(c.received, wantReceived) {
		t.Errorf("received = %v, want %v (generic only)", c.received, wantReceived)
	}
}
