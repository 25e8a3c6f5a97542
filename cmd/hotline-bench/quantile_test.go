package main

import (
	"math"
	"testing"
	"time"
)

func TestExactQuantile(t *testing.T) {
	ms := func(from, to int) []time.Duration {
		var d []time.Duration
		for i := from; i <= to; i++ {
			d = append(d, time.Duration(i)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"single", ms(7, 7), 0.99, 7 * time.Millisecond},
		{"p50 of 100", ms(1, 100), 0.50, 50 * time.Millisecond},
		{"p90 of 100", ms(1, 100), 0.90, 90 * time.Millisecond},
		{"p99 of 100", ms(1, 100), 0.99, 99 * time.Millisecond},
		{"max of 100", ms(1, 100), 1, 100 * time.Millisecond},
		{"q=0 is the minimum", ms(1, 100), 0, 1 * time.Millisecond},
		{"float error does not bump the rank", ms(1, 100), 0.07, 7 * time.Millisecond},
		{"p50 of 10", ms(1, 10), 0.50, 5 * time.Millisecond},
		{"p90 of 10", ms(1, 10), 0.90, 9 * time.Millisecond},
		{"p91 of 10 rounds up to an observed value", ms(1, 10), 0.91, 10 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 10), 0.99, 10 * time.Millisecond},
		{"p50 of 2 is the lower", ms(1, 2), 0.50, 1 * time.Millisecond},
		{"p51 of 2 is the upper", ms(1, 2), 0.51, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exactQuantile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("exactQuantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(+1)
	// 0 ≤ 5ms, 50 in (5ms,10ms], 40 in (10ms,50ms], 9 in (50ms,100ms], 1 above.
	latency := []bucket{{0.005, 0}, {0.01, 50}, {0.05, 90}, {0.1, 99}, {inf, 100}}
	tests := []struct {
		name    string
		buckets []bucket
		q       float64
		want    float64
	}{
		{"interpolates inside a bucket", latency, 0.25, 0.0075},
		{"rank on a bucket boundary", latency, 0.5, 0.01},
		{"rank on a higher boundary", latency, 0.9, 0.05},
		{"interpolates in a sparse bucket", latency, 0.95, 0.05 + 0.05*5.0/9.0},
		{"+Inf bucket gives the highest finite bound", latency, 0.995, 0.1},
		{"q=1", latency, 1, 0.1},
		{"unsorted input", []bucket{{inf, 100}, {0.05, 90}, {0.005, 0}, {0.1, 99}, {0.01, 50}}, 0.25, 0.0075},
		{"lowest bucket starts at 0", []bucket{{1, 10}, {2, 20}, {inf, 20}}, 0.25, 0.5},
		{"lowest bucket at or below 0 returns its bound", []bucket{{-1, 5}, {1, 10}, {inf, 10}}, 0.2, -1},
		{"non-monotonic counts take the envelope", []bucket{{1, 10}, {2, 8}, {4, 20}, {inf, 20}}, 0.75, 3},
		{"no +Inf bucket", []bucket{{1, 10}, {2, 20}}, 0.5, math.NaN()},
		{"no observations", []bucket{{1, 0}, {inf, 0}}, 0.5, math.NaN()},
		{"a single bucket", []bucket{{inf, 10}}, 0.5, math.NaN()},
		{"no buckets", nil, 0.5, math.NaN()},
		{"q below 0", latency, -0.1, math.Inf(-1)},
		{"q above 1", latency, 1.1, math.Inf(+1)},
		{"q NaN", latency, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buckets := append([]bucket(nil), tt.buckets...)
			got := histogramQuantile(tt.q, buckets)
			switch {
			case math.IsNaN(tt.want):
				if !math.IsNaN(got) {
					t.Errorf("histogramQuantile(%v) = %v, want NaN", tt.q, got)
				}
			case math.IsInf(tt.want, 0):
				if got != tt.want {
					t.Errorf("histogramQuantile(%v) = %v, want %v", tt.q, got, tt.want)
				}
			case math.Abs(got-tt.want) > 1e-12:
				t.Errorf("histogramQuantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
