package bridge

import (
	"testing"
	"time"
)

// TestLogSampler: a burst passes whole, then lines pass at the rate; the first line after a gap
// says how many were left out.
func TestLogSampler(t *testing.T) {
	l := newLogSampler()
	now := time.Unix(1_700_000_000, 0)
	passed := 0
	for range 1000 { // a flood in one instant
		if ok, _ := l.allow(now); ok {
			passed++
		}
	}
	if passed != logBurst {
		t.Fatalf("%d of a flood of 1,000 passed at once, want the burst %d", passed, logBurst)
	}
	now = now.Add(time.Second / logRate)
	ok, suppressed := l.allow(now)
	if !ok || suppressed != 1000-logBurst {
		t.Fatalf("after 1/rate s: allowed %v with %d suppressed, want true with %d", ok, suppressed, 1000-logBurst)
	}
	if ok, _ := l.allow(now); ok {
		t.Fatal("a second line in the same instant passed with the bucket empty")
	}
	now = now.Add(time.Hour)
	for i := range logBurst {
		if ok, _ := l.allow(now); !ok {
			t.Fatalf("after an hour, line %d of a burst was left out", i)
		}
	}
}
