package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/cloudevents"
)

// Live feeds for the console: while at least one page is connected, a pull consumer of the
// bridge's own (headers only, no acks) reads the stream from its last feedRows messages on, and
// every connected page gets each row; when the last page leaves, the consumer stops. The webhook
// path never sees them: they read what JetStream stored.
//
// A person reads a few rows a second, so a feed takes at most feedBatch rows every feedPoll (100
// a second), however fast the stream grows: when it falls more than a batch behind, it skips to
// the newest batch and says so (a sample) in health's "live". At a low rate every row is shown,
// as soon as it is stored.

const (
	// feedRows is how many rows a feed keeps, and sends a page when it connects.
	feedRows = 200
	// feedBatch rows at most every feedPoll: the feed's bound, 100 rows a second.
	feedBatch = 25
	feedPoll  = 250 * time.Millisecond
	// feedSampleNote is how long after a skip the feed says it shows a sample.
	feedSampleNote = 5 * time.Second
)

// sseWriteTimeout bounds each write of a live stream, in place of the admin server's
// WriteTimeout, which would end the stream 30 s after it began: a page that stops reading is
// dropped after it.
const sseWriteTimeout = 30 * time.Second

// feedRetry is how long a feed that could not start (NATS down) waits before it tries again.
const feedRetry = 2 * time.Second

// feed is one stream's live rows.
type feed struct {
	kind    string // the SSE event name: "event" or "rejection"
	broker  *Broker
	stream  string
	row     func(msg *nats.Msg, seq uint64, at time.Time) any
	running *atomic.Int32

	mu     sync.Mutex
	subs   map[*feedSub]struct{}
	ring   [][]byte // the latest rows, as JSON, oldest first
	gen    uint64   // which run the rows belong to
	cancel context.CancelFunc
	wg     sync.WaitGroup
	status feedStatusJSON // of the current run
	top    uint64         // the stream's last sequence, as last seen
	rateAt time.Time      // when top was last taken for the rate
	rateOf uint64         // top then
	skipAt time.Time      // the last skip
}

// feedStatusJSON is what a feed did since it started: rows sent, batches fetched, messages
// skipped, and the stream's rate as last measured. Sample: rows were skipped in the last
// feedSampleNote, so the page shows a sample of the stream.
type feedStatusJSON struct {
	Kind      string  `json:"kind"`
	Stream    string  `json:"stream"`
	Rows      uint64  `json:"rows"`
	Batches   uint64  `json:"batches"`
	Skipped   uint64  `json:"skipped"`
	PerSecond float64 `json:"per_second"`
	Sample    bool    `json:"sample"`
}

// feedSub is one connected page's queue of rows.
type feedSub struct{ rows chan []byte }

func newFeed(kind string, b *Broker, stream string, row func(*nats.Msg, uint64, time.Time) any, running *atomic.Int32) *feed {
	return &feed{kind: kind, broker: b, stream: stream, row: row, running: running, subs: map[*feedSub]struct{}{}}
}

// subscribe adds a page and returns the rows kept so far; the first page starts the consumer.
func (f *feed) subscribe() (*feedSub, [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &feedSub{rows: make(chan []byte, feedRows)}
	f.subs[s] = struct{}{}
	if f.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		f.cancel = cancel
		f.gen++
		f.status = feedStatusJSON{Kind: f.kind, Stream: f.stream}
		f.top, f.rateAt, f.rateOf, f.skipAt = 0, time.Time{}, 0, time.Time{}
		f.running.Add(1)
		f.wg.Add(1)
		go f.run(ctx, f.gen)
	}
	return s, slices.Clone(f.ring)
}

// unsubscribe removes a page; the last one stops the consumer.
func (f *feed) unsubscribe(s *feedSub) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subs, s)
	if len(f.subs) == 0 && f.cancel != nil {
		f.cancel()
		f.cancel, f.ring = nil, nil
	}
}

// close stops the consumer, if one runs, and waits for it.
func (f *feed) close() {
	f.mu.Lock()
	if f.cancel != nil {
		f.cancel()
		f.cancel, f.ring = nil, nil
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// statusNow is the feed's status, or nil when no page is connected.
func (f *feed) statusNow() *feedStatusJSON {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel == nil {
		return nil
	}
	s := f.status
	s.Sample = !f.skipAt.IsZero() && time.Since(f.skipAt) < feedSampleNote
	return &s
}

// run reads the stream until ctx ends, a batch at a time, starting again after a failure.
func (f *feed) run(ctx context.Context, gen uint64) {
	defer f.wg.Done()
	defer f.running.Add(-1)
	var cons jetstream.Consumer
	defer func() { f.drop(cons) }()
	var next uint64 // the sequence to go on from; 0: the stream's last feedRows
	for ctx.Err() == nil {
		began := time.Now()
		limit := feedBatch
		if cons == nil {
			var err error
			if cons, err = f.consumer(ctx, next); err != nil {
				sleep(ctx, feedRetry)
				continue
			}
			if next == 0 {
				limit = feedRows // the rows a page finds when it connects
			}
		}
		last, err := f.fetch(ctx, gen, cons, limit)
		if err != nil {
			f.drop(cons)
			cons = nil
			sleep(ctx, feedRetry)
			continue
		}
		if last != nil {
			next = last.Sequence.Stream + 1
			if behind := last.NumPending; behind > feedBatch {
				// Skip to the newest batch: a new consumer starts there.
				next = last.Sequence.Stream + behind - feedBatch + 1
				f.skipped(gen, behind-feedBatch)
				f.drop(cons)
				cons = nil
			}
		}
		// At most one batch every feedPoll.
		sleep(ctx, time.Until(began.Add(feedPoll)))
	}
}

// fetch delivers up to limit rows, as they are stored, for at most feedPoll; it returns the
// last one's metadata (nil: none came).
func (f *feed) fetch(ctx context.Context, gen uint64, cons jetstream.Consumer, limit int) (*jetstream.MsgMetadata, error) {
	batch, err := cons.Fetch(limit, jetstream.FetchMaxWait(feedPoll))
	if err != nil {
		return nil, err
	}
	// The batch is counted before its rows and each row before a page can see it, so the status
	// never shows fewer than the pages got.
	f.batchStarted(gen)
	var last *jetstream.MsgMetadata
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		last = md
		if row, err := json.Marshal(f.row(&nats.Msg{Subject: m.Subject(), Header: nats.Header(m.Headers())}, md.Sequence.Stream, md.Timestamp)); err == nil {
			f.deliver(gen, row)
		}
	}
	f.counted(gen, last)
	return last, batch.Error()
}

// consumer makes the feed's consumer, starting at next (0: the stream's last feedRows).
func (f *feed) consumer(ctx context.Context, next uint64) (jetstream.Consumer, error) {
	if !f.broker.Connected() {
		return nil, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	js := f.broker.JS()
	cfg := jetstream.ConsumerConfig{
		AckPolicy: jetstream.AckNonePolicy, HeadersOnly: true, MemoryStorage: true, InactiveThreshold: consumerIdle,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: next,
	}
	if next == 0 {
		s, err := js.Stream(ctx, f.stream)
		if err != nil {
			return nil, err
		}
		o := startAtLast(s.CachedInfo().State, feedRows)
		cfg.DeliverPolicy, cfg.OptStartSeq = o.DeliverPolicy, o.OptStartSeq
	}
	return js.CreateConsumer(ctx, f.stream, cfg)
}

// drop deletes a consumer the feed no longer reads (the server would after consumerIdle).
func (f *feed) drop(cons jetstream.Consumer) {
	if cons == nil || !f.broker.Connected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = f.broker.JS().DeleteConsumer(ctx, f.stream, cons.CachedInfo().Name)
}

// batchStarted counts a batch fetched.
func (f *feed) batchStarted(gen uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen == f.gen {
		f.status.Batches++
	}
}

// counted notes the end of a batch: the stream's last sequence and rate from its last message.
func (f *feed) counted(gen uint64, last *jetstream.MsgMetadata) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen {
		return // a run that was stopped
	}
	if last != nil {
		f.top = max(f.top, last.Sequence.Stream+last.NumPending)
	}
	now := time.Now()
	if f.rateAt.IsZero() {
		f.rateAt, f.rateOf = now, f.top
	} else if d := now.Sub(f.rateAt); d >= time.Second {
		f.status.PerSecond = float64(f.top-f.rateOf) / d.Seconds()
		f.rateAt, f.rateOf = now, f.top
	}
}

func (f *feed) skipped(gen, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen {
		return
	}
	f.status.Skipped += n
	f.skipAt = time.Now()
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// startAtLast is an ordered consumer, headers only, that starts at the stream's last n messages.
func startAtLast(st jetstream.StreamState, n int) jetstream.OrderedConsumerConfig {
	cfg := jetstream.OrderedConsumerConfig{HeadersOnly: true, DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: consumerIdle}
	if st.LastSeq >= uint64(n) {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = max(st.FirstSeq, st.LastSeq-uint64(n)+1)
	}
	return cfg
}

// deliver keeps a row, counts it and hands it to every page, unless the run was stopped; a page
// whose queue is full misses it.
func (f *feed) deliver(gen uint64, row []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen || f.cancel == nil {
		return // a run that was stopped
	}
	if len(f.ring) >= feedRows {
		f.ring = append(f.ring[:0:0], f.ring[len(f.ring)-feedRows+1:]...)
	}
	f.ring = append(f.ring, row)
	f.status.Rows++
	for s := range f.subs {
		select {
		case s.rows <- row:
		default:
		}
	}
}

// eventRowJSON is one event as the console lists it.
type eventRowJSON struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject"`
	Size     int       `json:"size"`
}

// eventRow reads an event's row from its headers (a headers-only message carries the body's
// size in Nats-Msg-Size).
func eventRow(m *nats.Msg, seq uint64, at time.Time) any {
	size, _ := strconv.Atoi(m.Header.Get(nats.MsgSize))
	if m.Header.Get(nats.MsgSize) == "" {
		size = len(m.Data)
	}
	return eventRowJSON{
		Seq: seq, Time: at.UTC(), Endpoint: subjectEndpoint(m.Subject),
		ID: ceHeader(m.Header, "id"), Type: ceHeader(m.Header, "type"), Subject: ceHeader(m.Header, "subject"), Size: size,
	}
}

// rejectionRowJSON is one refused request as the console lists it.
type rejectionRowJSON struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Endpoint  string    `json:"endpoint"`
	Reason    string    `json:"reason"`
	Diagnosis string    `json:"diagnosis"`
	Remote    string    `json:"remote"`
}

func rejectionRow(m *nats.Msg, seq uint64, at time.Time) any {
	received := at.UTC()
	if t, err := time.Parse(time.RFC3339Nano, m.Header.Get(RejectionReceivedHeader)); err == nil {
		received = t.UTC()
	}
	return rejectionRowJSON{
		Seq: seq, Time: received, Endpoint: subjectEndpoint(m.Subject),
		Reason: m.Header.Get(RejectionReasonHeader), Diagnosis: m.Header.Get(RejectionDiagnosisHeader), Remote: m.Header.Get(RejectionRemoteHeader),
	}
}

// subjectEndpoint is the endpoint token of <prefix>.<endpoint>.…: the second token (prefixes
// are one token, as Compile checks).
func subjectEndpoint(subject string) string {
	_, rest, _ := strings.Cut(subject, ".")
	endpoint, _, _ := strings.Cut(rest, ".")
	return endpoint
}

// ceHeader is a CloudEvents attribute from the binary binding's ce- headers, looked up
// case-insensitively (the bridge writes them in lower case; NATS keeps the case written).
func ceHeader(h nats.Header, attr string) string {
	return ceValue(replyHeader(h, "ce-"+attr))
}

// ceValue is a ce- header's value as the event has it: the binding percent-encodes what a header
// cannot carry (spaces, quotes, non-ASCII). One that does not decode is shown as stored.
func ceValue(v string) string {
	if d, err := cloudevents.PercentDecode(v); err == nil {
		return d
	}
	return v
}

// handleStream is the console's live stream (server-sent events): "event" and "rejection" rows
// (first the ones the feed keeps, then new ones as they are stored), and "health" and "endpoints"
// every second.
// It ends when the page goes away or the admin server shuts down.
func (c *console) handleStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// The admin server's ReadTimeout would otherwise end the request (its context) after 15 s.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	var events, rejections <-chan []byte
	var backlog []struct {
		kind string
		rows [][]byte
	}
	for _, f := range []*feed{c.events, c.rejections} {
		if f == nil {
			continue
		}
		sub, rows := f.subscribe()
		defer f.unsubscribe(sub)
		backlog = append(backlog, struct {
			kind string
			rows [][]byte
		}{f.kind, rows})
		if f == c.events {
			events = sub.rows
		} else {
			rejections = sub.rows
		}
	}
	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	sendHealth := func() bool {
		data, _ := json.Marshal(c.health.get(c))
		if !send("health", data) {
			return false
		}
		data, _ = json.Marshal(c.readEndpoints())
		return send("endpoints", data)
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	for _, b := range backlog {
		for _, row := range b.rows {
			if !send(b.kind, row) {
				return
			}
		}
	}
	if !sendHealth() {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ok := true
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case row := <-events:
			ok = send("event", row)
		case row := <-rejections:
			ok = send("rejection", row)
		case <-tick.C:
			ok = sendHealth()
		}
		if !ok {
			return
		}
	}
}
