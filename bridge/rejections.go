package bridge

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Rejected requests you can see (docs/operations.md#rejected-requests): every refused request to
// a known endpoint is published to <reject_prefix>.<endpoint>.<reason> with its reason, a
// diagnosis, the client's address, the time and its headers (credentials redacted), and kept by
// the stream <name>_REJECTED. It never waits on NATS and never changes the answer: it is handed
// to a queue after the answer is written, a goroutine of its own publishes it, and what does not
// fit — over the endpoint's rate, or the queue full while NATS is slow — is counted and dropped.

// Headers of a rejection message.
const (
	RejectionReasonHeader    = "Bridge-Reason"
	RejectionDiagnosisHeader = "Bridge-Diagnosis"
	RejectionRemoteHeader    = "Bridge-Remote-Addr"
	RejectionReceivedHeader  = "Bridge-Received"
)

// redactedHeaders carry credentials: their values are never kept. X-Gitlab-Token is GitLab's
// shared secret itself (Okta's and Auth0's is in Authorization).
var redactedHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Gitlab-Token"}

// redactedHeader reports whether a header of that name (in any case) is never kept nor shown.
func redactedHeader(name string) bool {
	return slices.ContainsFunc(redactedHeaders, func(h string) bool { return strings.EqualFold(h, name) })
}

// rejectionQueue is how many rejections may wait for the publishing goroutine, and
// rejectionQueueBytes how many bytes they may hold together: a stalled link must not turn a
// flood of refused requests into memory.
const (
	rejectionQueue      = 1024
	rejectionQueueBytes = 8 << 20
)

// queuedRejection is a rejection waiting to be published, with the bytes it holds.
type queuedRejection struct {
	msg  *nats.Msg
	size int64
}

// rejectionLog publishes refused requests.
type rejectionLog struct {
	broker  *Broker
	prefix  string
	maxBody int
	rate    float64
	burst   float64
	queue   chan queuedRejection
	bytes   *byteBudget
	dropped *prometheus.CounterVec
	log     zerolog.Logger

	mu      sync.Mutex
	buckets map[string]*tokenBucket // by endpoint
	stop    chan struct{}
	done    chan struct{}
}

func newRejectionLog(b *Broker, cfg *Config, dropped *prometheus.CounterVec, log zerolog.Logger) *rejectionLog {
	r := &rejectionLog{
		broker: b, prefix: cfg.Stream.RejectPrefix, maxBody: int(*cfg.Rejections.MaxBody),
		rate: cfg.Rejections.Rate, burst: float64(cfg.Rejections.Burst),
		queue: make(chan queuedRejection, rejectionQueue), bytes: newByteBudget(rejectionQueueBytes), dropped: dropped, log: log,
		buckets: map[string]*tokenBucket{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	go r.publish()
	return r
}

// rejection is what is kept of one refused request.
type rejection struct {
	endpoint, reason, diagnosis, remote string
	received                            time.Time
	header                              http.Header
	body                                []byte
}

// record queues a refused request, unless its endpoint is over its rate or the queue is full;
// it never blocks.
func (r *rejectionLog) record(rj rejection) {
	if !r.allow(rj.endpoint, rj.received) {
		r.dropped.WithLabelValues(rj.endpoint).Inc()
		return
	}
	msg := nats.NewMsg(r.prefix + "." + rj.endpoint + "." + rj.reason)
	for name, values := range rj.header {
		if redactedHeader(name) {
			values = []string{"[redacted]"}
		}
		if len(name) >= 5 && strings.EqualFold(name[:5], "Nats-") {
			// NATS reads these itself (Nats-Msg-Id, Nats-Expected-*, Nats-Rollup, …): a request's
			// own is kept under another name, so it cannot steer the store.
			name = "Bridge-Request-" + name
		}
		msg.Header[name] = values
	}
	msg.Header.Set(RejectionReasonHeader, rj.reason)
	msg.Header.Set(RejectionDiagnosisHeader, headerText(rj.diagnosis))
	msg.Header.Set(RejectionRemoteHeader, headerText(rj.remote))
	msg.Header.Set(RejectionReceivedHeader, rj.received.UTC().Format(time.RFC3339Nano))
	if len(rj.body) > 0 && r.maxBody > 0 {
		msg.Data = append([]byte(nil), rj.body[:min(len(rj.body), r.maxBody)]...)
	}
	size := msgSize(msg)
	if !r.bytes.take(size) {
		r.dropped.WithLabelValues(rj.endpoint).Inc()
		return
	}
	select {
	case r.queue <- queuedRejection{msg, size}:
	default:
		r.bytes.give(size)
		r.dropped.WithLabelValues(rj.endpoint).Inc()
	}
}

// headerText keeps a NATS header value on its line: a diagnosis may quote what a request sent,
// and a line break there would end the header block.
func headerText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// allow takes a token from the endpoint's bucket.
func (r *rejectionLog) allow(endpoint string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buckets[endpoint]
	if b == nil {
		b = &tokenBucket{rate: r.rate, burst: r.burst, tokens: r.burst}
		r.buckets[endpoint] = b
	}
	return b.take(now)
}

// publish sends queued rejections as plain NATS messages (the stream stores them; no PubAck is
// awaited) until close. A stalled link stalls only this goroutine.
func (r *rejectionLog) publish() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		case q := <-r.queue:
			msg := q.msg
			if !r.broker.Connected() {
				r.dropped.WithLabelValues(RejectionEndpoint(msg.Subject, r.prefix)).Inc()
			} else if err := r.broker.Conn().PublishMsg(msg); err != nil {
				r.dropped.WithLabelValues(RejectionEndpoint(msg.Subject, r.prefix)).Inc()
			}
			r.bytes.give(q.size)
		}
	}
}

// close stops the publishing goroutine; what is still queued is dropped.
func (r *rejectionLog) close() {
	close(r.stop)
	<-r.done
}

// RejectionEndpoint is the endpoint token of a rejection's subject, <prefix>.<endpoint>.<reason>.
func RejectionEndpoint(subject, prefix string) string {
	rest := strings.TrimPrefix(subject, prefix+".")
	endpoint, _, _ := strings.Cut(rest, ".")
	return endpoint
}

// tokenBucket allows burst events at once and rate a second after that; it starts full.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// similarHeaders lists the request's headers whose names share a word with missing (beside
// "x"), for "the header X-Hub-Signature-256 is missing; present: X-Hub-Signature".
func similarHeaders(h http.Header, missing string) []string {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(missing), func(r rune) bool { return r == '-' || r == '_' }) {
		if w != "x" && len(w) > 2 {
			words[w] = true
		}
	}
	var similar []string
	for name := range h {
		for _, w := range strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '-' || r == '_' }) {
			if words[w] {
				similar = append(similar, name)
				break
			}
		}
	}
	slices.Sort(similar)
	return similar
}
