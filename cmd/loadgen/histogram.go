package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram records latencies in nanoseconds in log-linear buckets, the way HdrHistogram does:
// values below 2^subBucketBits are exact; above, every power of two is split into
// 2^(subBucketBits-1) equal buckets, so a bucket is at most 1/128 of its lower bound wide and the
// value reported for it (its midpoint) is within 0.4% of any value it holds. That covers 1µs to
// 60s (the top bucket ends at 2^36 ns, about 68.7s; longer values are counted there) in 3,840
// counters. A histogram is not safe for concurrent use: each worker keeps its own and they are
// merged at the end.
type histogram struct {
	counts [histogramBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64
}

const (
	subBucketBits  = 8
	subBucketCount = 1 << subBucketBits // exact values below this
	subBucketHalf  = subBucketCount / 2 // buckets per power of two above it
	// histogramMaxBits: values up to 2^36-1 ns (68.7s) are told apart.
	histogramMaxBits = 36
	histogramBuckets = subBucketCount + (histogramMaxBits-subBucketBits)*subBucketHalf
	histogramMax     = 1<<histogramMaxBits - 1
)

func newHistogram() *histogram { return &histogram{min: math.MaxInt64} }

// bucketOf returns the index of the bucket that counts v (0 ≤ v ≤ histogramMax).
func bucketOf(v int64) int {
	if v < subBucketCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBucketBits // ≥ 1
	sub := int(v >> shift)                         // in [subBucketHalf, subBucketCount)
	return subBucketCount + (shift-1)*subBucketHalf + sub - subBucketHalf
}

// bucketRange returns the lowest value bucket i counts and its width.
func bucketRange(i int) (lower, width int64) {
	if i < subBucketCount {
		return int64(i), 1
	}
	k := i - subBucketCount
	shift := k/subBucketHalf + 1
	sub := int64(k%subBucketHalf + subBucketHalf)
	return sub << shift, 1 << shift
}

// Record counts one latency.
func (h *histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
	h.total++
	h.sum += float64(v)
	h.counts[bucketOf(min(v, histogramMax))]++
}

// Merge adds o's counts to h.
func (h *histogram) Merge(o *histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of values recorded.
func (h *histogram) Count() uint64 { return h.total }

// Max is the largest value recorded, exactly.
func (h *histogram) Max() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.max)
}

// Mean is the average of the values recorded.
func (h *histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value below or at which a fraction q (0–1) of the values lie: the
// midpoint of the bucket holding the ceil(q·n)-th smallest value, kept within the exact minimum
// and maximum.
func (h *histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lower, width := bucketRange(i)
			v := lower + (width-1)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
