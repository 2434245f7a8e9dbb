package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestPacedLatencyCountsFromTheSlot: at a rate, a request's latency counts from when the pacer
// meant it to go. A target that stalls once, on one connection, holds up every request due
// during the stall; those due in its first half waited at least half of it, and their latency
// says so. Measured from the send (coordinated omission), only the stalled request would.
func TestPacedLatencyCountsFromTheSlot(t *testing.T) {
	const (
		rate    = 100 // a slot every 10 ms
		total   = 150
		stallAt = 10
		stall   = time.Second
	)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1) == stallAt {
			time.Sleep(stall) // the fault under test, not a wait for something
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	cfg, err := parseConfig([]string{"-url", srv.URL + "/webhooks/aghanim", "-n", strconv.Itoa(total),
		"-c", "1", "-rate", strconv.Itoa(rate)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, err := prepareLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := l.run(context.Background())
	if res.answers.OK != total {
		t.Fatalf("%d of %d answered 2xx (%+v)", res.answers.OK, total, res.answers)
	}
	// About 50 requests were due in the stall's first half (a slot every 10 ms for 500 ms); a
	// slower machine only puts more behind it. Ask for at least 25 at stall/2 or more: the
	// 125th-smallest latency of 150.
	const slow = 25
	if got := res.latency.Quantile(float64(total-slow) / total); got < stall/2 {
		t.Errorf("the %dth-smallest of %d latencies is %s: fewer than %d requests were charged at least %s for the stall (p50 %s, max %s)",
			total-slow, total, got, slow, stall/2, res.latency.Quantile(0.5), res.latency.Max())
	}
	if got := res.latency.Max(); got < stall {
		t.Errorf("max latency %s, less than the stall %s", got, stall)
	}
}

// TestUnpacedLatencyCountsFromTheSend: without a rate the pacer gives no slot, so latency counts
// from the send, as before.
func TestUnpacedLatencyCountsFromTheSend(t *testing.T) {
	due, err := newPacer(0).wait(context.Background())
	if err != nil || !due.IsZero() {
		t.Errorf("unpaced wait: %v %v, want the zero time", due, err)
	}
	if got := laterOf(time.Time{}, time.Now()); !got.IsZero() {
		t.Errorf("an unpaced retry is due at %v, want the zero time (from the send)", got)
	}
	slot := time.Now()
	if got := laterOf(slot, slot.Add(-time.Second)); !got.Equal(slot) {
		t.Errorf("a retry ready before its slot is due at %v, want its slot %v", got, slot)
	}
	if ready := slot.Add(time.Second); !laterOf(slot, ready).Equal(ready) {
		t.Errorf("a retry ready after its slot is due at its slot, want when it was ready")
	}
}

// TestPacerKeepsItsSchedule: slots are the first one plus whole intervals, whenever they are
// asked for, so slots missed while every connection was busy are not dropped.
func TestPacerKeepsItsSchedule(t *testing.T) {
	p := newPacer(1000) // 1 ms
	first, err := p.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.next = p.next.Add(-time.Hour) // as if the callers had been busy for an hour
	p.mu.Unlock()
	late, err := p.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := first.Add(time.Millisecond - time.Hour); !late.Equal(want) {
		t.Errorf("an overdue slot is %v after the first, want %v", late.Sub(first), want.Sub(first))
	}
}
