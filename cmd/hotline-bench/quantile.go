package main

import (
	"math"
	"slices"
	"sort"
	"time"
)

// exactQuantile returns the nearest-rank q-quantile of sorted: the smallest
// recorded value with at least q of all values at or below it. It reports a
// duration that was actually observed, never an interpolated one, so p99 of a
// run means "99% of requests took at most this long". sorted must be in
// ascending order; an empty slice yields 0.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error from pushing the rank up a whole place:
	// 0.07*100 is 7.000000000000001.
	rank := int(math.Ceil(q*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// bucket is one cumulative histogram bucket, as exposed by a Prometheus
// `_bucket{le="..."}` series: count observations were <= upperBound.
type bucket struct {
	upperBound float64
	count      float64
}

// histogramQuantile estimates the q-quantile of a classic Prometheus
// histogram the way PromQL's histogram_quantile does, so the figure matches
// what a dashboard over the same server would show: linear interpolation
// inside the bucket holding the rank, a lower bound of 0 for the first
// bucket, and the highest finite bound when the rank lands in the +Inf
// bucket. It returns NaN when there is nothing to estimate from: no
// observations, fewer than two buckets, or no +Inf bucket. buckets is sorted
// in place.
func histogramQuantile(q float64, buckets []bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(+1)
	}
	if len(buckets) < 2 {
		return math.NaN()
	}
	slices.SortFunc(buckets, func(a, b bucket) int {
		switch {
		case a.upperBound < b.upperBound:
			return -1
		case a.upperBound > b.upperBound:
			return +1
		}
		return 0
	})
	if !math.IsInf(buckets[len(buckets)-1].upperBound, +1) {
		return math.NaN()
	}
	// A difference of two scrapes taken while the server observes can leave
	// a higher bucket a little behind a lower one; take the envelope, as
	// PromQL does, so the binary search below stays meaningful.
	for i := 1; i < len(buckets); i++ {
		buckets[i].count = max(buckets[i].count, buckets[i-1].count)
	}

	observations := buckets[len(buckets)-1].count
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].count >= rank })
	if b == len(buckets)-1 {
		return buckets[len(buckets)-2].upperBound
	}
	if b == 0 && buckets[0].upperBound <= 0 {
		return buckets[0].upperBound
	}
	start, end, count := 0.0, buckets[b].upperBound, buckets[b].count
	if b > 0 {
		start = buckets[b-1].upperBound
		count -= buckets[b-1].count
		rank -= buckets[b-1].count
	}
	return start + (end-start)*(rank/count)
}
