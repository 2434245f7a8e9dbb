package faults

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// A load is a number of workers, each sending unique Aghanim events back to back, signed as
// Aghanim's documentation says, and recording every answer. Workers that retry behave as
// providers do: an event answered 503 (or not answered at all) is sent again until it gets 2xx.
type load struct {
	t    *testing.T
	opts loadOptions

	client  *http.Client
	stop    chan struct{}
	giveUp  chan struct{}
	wg      sync.WaitGroup
	stopped sync.Once

	mu      sync.Mutex
	events  map[string]*eventRecord // by Nats-Msg-Id
	counts  tally
	waits   []time.Duration // every request's wait for its answer (or its transport error)
	last2xx time.Time       // when the latest request answered 2xx was sent
	// streamDeleted: events whose 2xx'd attempt was sent before it were deleted with the
	// stream by the test, so check does not look for them.
	streamDeleted time.Time
}

type loadOptions struct {
	name     string   // makes event ids unique across tests
	targets  []string // base URLs; a worker sends its events to them in turn
	workers  int
	retry    bool // send an event again after 503 or a transport error, until 2xx
	fanOut   bool // send every event to every target at once (a retry racing its original)
	endpoint string
}

// eventRecord is everything one event was answered.
type eventRecord struct {
	answers []int // statuses; 0 is a transport error
	got2xx  bool
	okSent  time.Time // when the attempt answered 2xx was sent
}

// tally counts answers over all attempts.
type tally struct {
	sent, ok, unavailable, other, transport int
	noRetryAfter                            int           // 503s without Retry-After
	slowest                                 time.Duration // the longest wait for an answer (or a transport error)
}

func (c tally) String() string {
	return fmt.Sprintf("%d requests: %d 2xx, %d 503, %d other status, %d transport errors; slowest answer %s",
		c.sent, c.ok, c.unavailable, c.other, c.transport, c.slowest.Round(time.Millisecond))
}

// startLoad starts the workers; Stop ends them.
func startLoad(t *testing.T, opts loadOptions) *load {
	t.Helper()
	if opts.endpoint == "" {
		opts.endpoint = "aghanim"
	}
	l := &load{
		t:    t,
		opts: opts,
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
				MaxIdleConnsPerHost: opts.workers * 2,
			},
		},
		stop:   make(chan struct{}),
		giveUp: make(chan struct{}),
		events: map[string]*eventRecord{},
	}
	for w := range opts.workers {
		l.wg.Add(1)
		go l.work(w)
	}
	t.Cleanup(l.Stop)
	return l
}

func (l *load) work(w int) {
	defer l.wg.Done()
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		default:
		}
		id := fmt.Sprintf("whevt_%s_%d_%d", l.opts.name, w, n)
		body := []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":%q,"event_time":%d,"event_data":{"player_id":"player-%d","n":%d}}`,
			id, time.Now().Unix(), w, n))
		l.send(w+n, l.opts.endpoint+":"+id, body)
	}
}

// idPrefix starts the Nats-Msg-Id of every event of this load.
func (l *load) idPrefix() string { return l.opts.endpoint + ":whevt_" + l.opts.name + "_" }

// send delivers one event: once, or (retrying) until it is answered 2xx or the load gives up.
func (l *load) send(turn int, msgID string, body []byte) {
	for attempt := 0; ; attempt++ {
		var ok bool
		if l.opts.fanOut {
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok = true
			for _, target := range l.opts.targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got := l.post(target, msgID, body)
					mu.Lock()
					ok = ok && got
					mu.Unlock()
				}()
			}
			wg.Wait()
		} else {
			ok = l.post(l.opts.targets[(turn+attempt)%len(l.opts.targets)], msgID, body)
		}
		if ok || !l.opts.retry {
			if !ok {
				time.Sleep(10 * time.Millisecond) // a closed port answers at once: do not spin
			}
			return
		}
		select {
		case <-l.giveUp:
			return
		case <-time.After(100 * time.Millisecond): // a provider honours Retry-After; tests are in a hurry
		}
	}
}

// post sends body to target, signed now, and records the answer; it reports a 2xx.
func (l *load) post(target, msgID string, body []byte) bool {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, target+"/webhooks/"+l.opts.endpoint, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Aghanim-Signature-Timestamp", ts)
	req.Header.Set("X-Aghanim-Signature", aghanimSignature(secret, ts, body))
	status, retryAfter := 0, ""
	sent := time.Now()
	resp, err := l.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	took := time.Since(sent)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts.slowest = max(l.counts.slowest, took)
	l.waits = append(l.waits, took)
	rec := l.events[msgID]
	if rec == nil {
		rec = &eventRecord{}
		l.events[msgID] = rec
	}
	rec.answers = append(rec.answers, status)
	l.counts.sent++
	switch {
	case status == 0:
		l.counts.transport++
	case status >= 200 && status < 300:
		l.counts.ok++
		rec.got2xx = true
		rec.okSent = sent
		if sent.After(l.last2xx) {
			l.last2xx = sent
		}
	case status == http.StatusServiceUnavailable:
		l.counts.unavailable++
		if retryAfter == "" {
			l.counts.noRetryAfter++
		}
	default:
		l.counts.other++
	}
	return status >= 200 && status < 300
}

// aghanimSignature is Aghanim's documented recipe: hex HMAC-SHA256(secret, "{ts}.{body}").
func aghanimSignature(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, ts)
	io.WriteString(m, ".")
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// minus is the counts between an earlier snapshot and c.
func (c tally) minus(earlier tally) tally {
	return tally{
		sent:         c.sent - earlier.sent,
		ok:           c.ok - earlier.ok,
		unavailable:  c.unavailable - earlier.unavailable,
		other:        c.other - earlier.other,
		transport:    c.transport - earlier.transport,
		noRetryAfter: c.noRetryAfter - earlier.noRetryAfter,
		slowest:      c.slowest,
	}
}

// streamDeletedAt tells check that the stream was deleted at t: events answered 2xx for an
// attempt sent before t are gone with it.
func (l *load) streamDeletedAt(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streamDeleted = t
}

// snapshot returns the counts so far.
func (l *load) snapshot() tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts
}

// waitQuantile is the wait for an answer that a fraction q (0–1) of all requests so far did not
// exceed (nearest rank), and how many requests there were.
func (l *load) waitQuantile(q float64) (time.Duration, int) {
	l.mu.Lock()
	waits := slices.Clone(l.waits)
	l.mu.Unlock()
	if len(waits) == 0 {
		return 0, 0
	}
	slices.Sort(waits)
	rank := max(int(math.Ceil(q*float64(len(waits)))), 1)
	return waits[rank-1], len(waits)
}

// ok2xxSince reports whether a request sent after t was answered 2xx.
func (l *load) ok2xxSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last2xx.After(t)
}

// waitOK waits until n more requests than now have been answered 2xx.
func (l *load) waitOK(n int, timeout time.Duration, what string) time.Duration {
	l.t.Helper()
	want := l.snapshot().ok + n
	return waitFor(l.t, timeout, what, func() bool { return l.snapshot().ok >= want })
}

// Stop stops sending new events and waits for the workers: retrying ones finish their current
// event first (giving up after a minute, which the check then reports).
func (l *load) Stop() {
	l.stopped.Do(func() {
		close(l.stop)
		done := make(chan struct{})
		go func() { l.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			close(l.giveUp)
			<-done
		}
		l.client.CloseIdleConnections()
	})
}

// check stops the load, reads the stream through nc and compares its contents with the
// answers: every event answered 2xx is stored exactly once, no event is stored twice, nothing
// foreign is stored, and (retrying clients) every event was eventually answered 2xx. It logs
// the counts.
func (l *load) check(nc *nats.Conn, stream string) {
	l.t.Helper()
	l.Stop()
	stored := storedIDs(l.t, nc, stream)
	others := 0 // messages of other parts of the test
	for id, n := range stored {
		if !strings.HasPrefix(id, l.idPrefix()) {
			others += n
			delete(stored, id)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var acked, neverAcked, missing, storedWithout2xx, retried, deleted int
	var problems []string
	perAttempt := 1 // answers per attempt
	if l.opts.fanOut {
		perAttempt = len(l.opts.targets)
	}
	for id, rec := range l.events {
		n := stored[id]
		if len(rec.answers) > perAttempt {
			retried++
		}
		switch {
		case rec.got2xx && rec.okSent.Before(l.streamDeleted):
			acked++
			if n == 0 {
				deleted++ // stored, then deleted with the stream by the test
			}
		case rec.got2xx:
			acked++
			if n == 0 {
				missing++
				problems = append(problems, fmt.Sprintf("%s answered %v but not in the stream", id, rec.answers))
			}
		default:
			neverAcked++
			if n > 0 {
				storedWithout2xx++ // allowed: a PubAck that came too late, or a cut connection
			}
			if l.opts.retry {
				problems = append(problems, fmt.Sprintf("%s never answered 2xx despite retries: %v", id, rec.answers))
			}
		}
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s stored %d times", id, n))
		}
	}
	for id, n := range stored {
		if l.events[id] == nil {
			problems = append(problems, fmt.Sprintf("stream holds %d message(s) with id %q that no request of the load sent", n, id))
		}
	}
	l.t.Logf("%s; %d events (%d sent more than once): %d answered 2xx, %d never (%d of those stored anyway); %d of their messages in the stream",
		l.counts, len(l.events), retried, acked, neverAcked, storedWithout2xx, sum(stored))
	if others > 0 {
		l.t.Logf("(and %d messages from earlier in the test)", others)
	}
	if deleted > 0 {
		l.t.Logf("(%d events answered 2xx before the stream was deleted are gone with it)", deleted)
	}
	if l.counts.noRetryAfter > 0 {
		l.t.Errorf("%d answers 503 without Retry-After", l.counts.noRetryAfter)
	}
	if missing > 0 {
		l.t.Errorf("%d events answered 2xx are missing from the stream", missing)
	}
	if acked == 0 {
		l.t.Errorf("no event was answered 2xx: the load proves nothing")
	}
	sort.Strings(problems)
	for i, p := range problems {
		if i == 20 {
			l.t.Errorf("… and %d more", len(problems)-20)
			break
		}
		l.t.Error(p)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
