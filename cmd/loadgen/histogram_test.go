package main

import (
	"math"
	"testing"
	"time"
)

// within reports whether got is within rel (relative) of want.
func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func TestHistogramPercentilesOfKnownData(t *testing.T) {
	tests := []struct {
		name   string
		values func(record func(time.Duration))
		want   map[float64]time.Duration
		max    time.Duration
	}{
		{
			name: "1µs to 100ms uniformly, in 1µs steps",
			values: func(record func(time.Duration)) {
				for v := 1; v <= 100_000; v++ {
					record(time.Duration(v) * time.Microsecond)
				}
			},
			want: map[float64]time.Duration{
				0.50: 50 * time.Millisecond, 0.90: 90 * time.Millisecond,
				0.99: 99 * time.Millisecond, 0.999: 99900 * time.Microsecond,
			},
			max: 100 * time.Millisecond,
		},
		{
			name: "99% at 1ms, 0.9% at 20ms, 0.1% at 60s",
			values: func(record func(time.Duration)) {
				for range 9900 {
					record(time.Millisecond)
				}
				for range 90 {
					record(20 * time.Millisecond)
				}
				for range 10 {
					record(60 * time.Second)
				}
			},
			want: map[float64]time.Duration{
				0.50: time.Millisecond, 0.99: time.Millisecond, 0.995: 20 * time.Millisecond,
				0.999: 20 * time.Millisecond, 0.9995: 60 * time.Second,
			},
			max: 60 * time.Second,
		},
		{
			name:   "a single value of 1µs",
			values: func(record func(time.Duration)) { record(time.Microsecond) },
			want:   map[float64]time.Duration{0.5: time.Microsecond, 0.999: time.Microsecond},
			max:    time.Microsecond,
		},
		{
			name: "beyond the tracked range: the maximum stays exact",
			values: func(record func(time.Duration)) {
				record(time.Millisecond)
				record(2 * time.Minute)
			},
			want: map[float64]time.Duration{0.5: time.Millisecond},
			max:  2 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram()
			tt.values(h.Record)
			for q, want := range tt.want {
				if got := h.Quantile(q); !within(got, want, 0.01) {
					t.Errorf("p%v = %v, want %v ±1%%", q*100, got, want)
				}
			}
			if got := h.Max(); got != tt.max {
				t.Errorf("max = %v, want %v exactly", got, tt.max)
			}
			if got := h.Quantile(1); got != tt.max {
				t.Errorf("p100 = %v, want the maximum %v", got, tt.max)
			}
		})
	}
}

func TestHistogramPrecisionFrom1µsTo60s(t *testing.T) {
	// The median of {v/2, v, 2v} comes back within 1% of v (the buckets promise 0.4%), where
	// clamping to the exact minimum and maximum does not help.
	for v := time.Microsecond; v <= 60*time.Second; v = v*1013/1000 + 1 {
		h := newHistogram()
		h.Record(v / 2)
		h.Record(v)
		h.Record(2 * v)
		if got := h.Quantile(0.5); !within(got, v, 0.005) {
			t.Fatalf("p50 of {%v, %v, %v} = %v, want %v ±0.5%%", v/2, v, 2*v, got, v)
		}
	}
}

func TestHistogramBucketsTileTheRange(t *testing.T) {
	// Adjacent buckets meet without gaps or overlaps, and each value falls in its own bucket.
	var next int64
	for i := range histogramBuckets {
		lower, width := bucketRange(i)
		if lower != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lower, next)
		}
		if i >= subBucketCount && float64(width)/float64(lower) > 1.0/subBucketHalf {
			t.Fatalf("bucket %d [%d, +%d) is wider than 1/%d of its start", i, lower, width, subBucketHalf)
		}
		for _, v := range []int64{lower, lower + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		next = lower + width
	}
	if next != histogramMax+1 {
		t.Fatalf("buckets end at %d, want %d", next, int64(histogramMax+1))
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b, all := newHistogram(), newHistogram(), newHistogram()
	for v := 1; v <= 1000; v++ {
		d := time.Duration(v) * 10 * time.Microsecond
		all.Record(d)
		if v%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(newHistogram()) // merging an empty one changes nothing
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged count/max/mean %d/%v/%v, want %d/%v/%v", a.Count(), a.Max(), a.Mean(), all.Count(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged p%v = %v, want %v", q*100, a.Quantile(q), all.Quantile(q))
		}
	}
	if got := newHistogram().Quantile(0.99); got != 0 {
		t.Errorf("empty histogram's p99 = %v, want 0", got)
	}
}
