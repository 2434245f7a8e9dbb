package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpLoad sends a run's webhooks over a fixed number of connections.
type httpLoad struct {
	cfg      *config
	work     *workload
	target   *target
	prepared []preparedRequest // built and signed before the clock starts
	pacer    *pacer
	next     atomic.Uint64 // the next event's number
	// exhausted is set when a run used every prepared request before its time was up.
	exhausted atomic.Bool
	// startSeq is the stream's last sequence before the run (with -verify-stream): the check
	// reads only what came after it.
	startSeq uint64
}

// eventRecord is what the stream check needs to know of one event.
type eventRecord struct {
	msgID string
	acked bool
}

// answers counts the outcomes of requests.
type answers struct {
	OK uint64 `json:"2xx"`
	// Unavailable counts the retry answers: 503, or 429 (what AltDentifier is answered instead,
	// docs/providers/altdentifier.md).
	Unavailable uint64 `json:"retry"`
	Other       uint64 `json:"other"`
	Transport   uint64 `json:"transport_errors"`
	// Aborted requests were cut off by an interrupt: no answer, no error of the server's.
	Aborted uint64 `json:"aborted"`
}

func (a *answers) add(o answers) {
	a.OK += o.OK
	a.Unavailable += o.Unavailable
	a.Other += o.Other
	a.Transport += o.Transport
	a.Aborted += o.Aborted
}

// loadResult is what a run measured.
type loadResult struct {
	elapsed     time.Duration
	requests    uint64 // requests sent, retries included
	events      uint64 // distinct events sent
	answers     answers
	latency     *histogram // of every answer, whatever its status
	records     []eventRecord
	firstOther  string // the first answer neither 2xx nor a retry answer (503, 429), for the report
	firstError  string // the first transport error
	interrupted bool
	exhausted   bool // every prepared request was used before the time was up
}

// worker is one connection's share of a run; workers share nothing until they are merged.
type worker struct {
	answers    answers
	latency    *histogram
	records    []eventRecord
	requests   uint64
	events     uint64
	firstOther string
	firstError string
}

// prepareLoad builds and signs the run's requests and, when the stream is to be verified, notes
// where the stream ends before the run.
func prepareLoad(ctx context.Context, cfg *config) (*httpLoad, error) {
	t, err := parseTarget(cfg.url, cfg.timeout)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	l := &httpLoad{cfg: cfg, work: cfg.workload(), target: t, pacer: newPacer(cfg.rate)}
	if cfg.verifyURL != "" {
		seq, err := streamLastSeq(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("-verify-stream: %w", err)
		}
		l.startSeq = seq
	}
	if l.prepared, err = prepare(ctx, l.work, t, 0, cfg.prepareCount()); err != nil {
		return nil, fmt.Errorf("preparing the requests: %w", err)
	}
	return l, nil
}

// run sends until the duration or the count is reached or ctx ends (an interrupt). Requests in
// flight when the time is up are waited for; an interrupt aborts them.
func (l *httpLoad) run(ctx context.Context) *loadResult {
	res := runWorkers(ctx, l.cfg, l.work1)
	res.exhausted = l.exhausted.Load()
	return res
}

// runWorkers runs one worker per connection until the duration or count is reached or ctx ends,
// and merges what they recorded.
func runWorkers(ctx context.Context, cfg *config, work func(ctx, sending context.Context, w *worker)) *loadResult {
	sending := ctx
	var cancel context.CancelFunc = func() {}
	if cfg.duration > 0 {
		sending, cancel = context.WithTimeout(ctx, cfg.duration)
	}
	defer cancel()

	workers := make([]*worker, cfg.connections)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &worker{latency: newHistogram()}
		workers[i] = w
		wg.Go(func() { work(ctx, sending, w) })
	}
	wg.Wait()
	res := &loadResult{elapsed: time.Since(start), latency: newHistogram(), interrupted: ctx.Err() != nil}
	for _, w := range workers {
		res.requests += w.requests
		res.events += w.events
		res.answers.add(w.answers)
		res.latency.Merge(w.latency)
		res.records = append(res.records, w.records...)
		if res.firstOther == "" {
			res.firstOther = w.firstOther
		}
		if res.firstError == "" {
			res.firstError = w.firstError
		}
	}
	return res
}

// work1 is one connection: it takes the next prepared request, sends it (and with -retry sends
// it again until it is 2xx or the run ends), and so on while sending lasts.
func (l *httpLoad) work1(ctx, sending context.Context, w *worker) {
	c := &conn{t: l.target}
	defer c.close()
	for sending.Err() == nil {
		n := l.next.Add(1) - 1
		if n >= uint64(len(l.prepared)) {
			if l.cfg.count == 0 || n < l.cfg.count {
				l.exhausted.Store(true)
			}
			return
		}
		due, err := l.pacer.wait(sending)
		if err != nil {
			return
		}
		req := &l.prepared[n]
		w.events++
		rec := eventRecord{msgID: req.msgID}
		backoff := l.cfg.retryWait
		for attempt := 0; ; attempt++ {
			if attempt > 0 {
				// A retry is due when its backoff ends, or at its slot if that is later.
				ready := time.Now()
				slot, err := l.pacer.wait(sending)
				if err != nil {
					break
				}
				due = laterOf(slot, ready)
			}
			status := l.send(ctx, c, req.raw, due, w)
			if status >= 200 && status < 300 {
				rec.acked = true
				break
			}
			if !l.cfg.retry || (status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests && status != 0) || ctx.Err() != nil {
				break
			}
			// A provider waits before it retries; a run that ends meanwhile abandons the event.
			if !sleep(sending, backoff) {
				break
			}
			backoff = min(2*backoff, time.Second)
		}
		if req.msgID != "" {
			w.records = append(w.records, rec)
		}
	}
}

// send writes raw once on c and returns the status (0: no answer) after reading the whole answer.
// Its latency counts from due, when the pacer meant it to go (zero, unpaced: from now).
func (l *httpLoad) send(ctx context.Context, c *conn, raw []byte, due time.Time, w *worker) int {
	w.requests++
	start := due
	if start.IsZero() {
		start = time.Now()
	}
	status, sample, err := c.do(raw)
	if err == nil {
		w.latency.Record(time.Since(start))
		switch {
		case status >= 200 && status < 300:
			w.answers.OK++
		case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
			w.answers.Unavailable++
		default:
			w.answers.Other++
			if w.firstOther == "" {
				w.firstOther = strings.TrimSpace(strconv.Itoa(status) + " " + http.StatusText(status) + " " + string(sample))
			}
		}
		return status
	}
	if ctx.Err() != nil {
		w.answers.Aborted++
		return 0
	}
	w.answers.Transport++
	if w.firstError == "" {
		w.firstError = err.Error()
	}
	return 0
}

// sleep waits for d unless ctx ends first; it reports whether the whole time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pacer spaces requests over all connections at a rate, on a fixed schedule: the n-th request is
// due at the first one's time plus n intervals. A request's latency counts from when it was due,
// not from when a connection was free to send it, so a target that stalls is charged for the
// requests that queued up behind the stall, as the providers' deliveries would (no coordinated
// omission). Slots missed while every connection was busy are sent as soon as connections are
// free again, so the rate over the run stays the one asked for as long as the target keeps up.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration // 0: no limit
	next     time.Time     // the next slot; zero before the first
}

func newPacer(rate float64) *pacer {
	p := &pacer{}
	if rate > 0 {
		p.interval = time.Duration(float64(time.Second) / rate)
	}
	return p
}

// wait blocks until the caller's slot and returns when it was due; an error means ctx ended
// first. Unpaced, it returns at once with the zero time: latency then counts from the send.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	if p.interval == 0 {
		return time.Time{}, ctx.Err()
	}
	p.mu.Lock()
	if p.next.IsZero() {
		p.next = time.Now()
	}
	due := p.next
	p.next = p.next.Add(p.interval)
	p.mu.Unlock()
	if d := time.Until(due); d > 0 && !sleep(ctx, d) {
		return due, ctx.Err()
	}
	return due, ctx.Err()
}

// laterOf is the later of a pacer slot (zero unpaced) and t; zero when unpaced.
func laterOf(slot, t time.Time) time.Time {
	if slot.IsZero() || t.Before(slot) {
		return slot
	}
	return t
}
