package bridge

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestRejectionQueueBoundedInBytes: with the publisher stuck (a stalled link), refused requests
// waiting to be kept hold at most rejectionQueueBytes; the rest are counted, not queued.
func TestRejectionQueueBoundedInBytes(t *testing.T) {
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dropped"}, []string{"endpoint"})
	// No publishing goroutine: nothing leaves the queue, as with a publisher stuck on the link.
	r := &rejectionLog{prefix: "webhooks-rejected", maxBody: 64 << 10, rate: 1e6, burst: 1e6,
		queue: make(chan queuedRejection, rejectionQueue), bytes: newByteBudget(rejectionQueueBytes),
		dropped: dropped, buckets: map[string]*tokenBucket{}}
	body := []byte(strings.Repeat("a", 60<<10))
	const sent = 300 // 300 × 60 KiB ≈ 18 MiB
	for range sent {
		r.record(rejection{endpoint: "aghanim", reason: "bad_signature", received: time.Now(), header: http.Header{}, body: body})
	}
	var held int64
	for range len(r.queue) {
		held += (<-r.queue).size
	}
	if held > rejectionQueueBytes {
		t.Errorf("%d bytes queued, want at most %d", held, rejectionQueueBytes)
	}
	kept := held / int64(len(body))
	var m dto.Metric
	if err := dropped.WithLabelValues("aghanim").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); int64(got)+kept != sent || got == 0 {
		t.Errorf("%v dropped and about %d kept of %d", got, kept, sent)
	}
}

// TestRejectionHeadersStayOnTheirLine: a diagnosis that quotes what a request sent cannot break
// the NATS header block.
func TestRejectionHeadersStayOnTheirLine(t *testing.T) {
	for _, in := range []string{"type \"a\r\nNats-Msg-Id: x\"", "a\x00b\x1b[31m", "plain"} {
		if got := headerText(in); strings.ContainsAny(got, "\r\n\x00\x1b") {
			t.Errorf("headerText(%q) = %q", in, got)
		}
	}
}
