package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable means NATS did not take the event (disconnected, no PubAck in time, no
// responder): the provider gets its retry answer and sends the event again.
var ErrUnavailable = errors.New("NATS unavailable")

// Reasons a question got no answer; both are ErrUnavailable.
var (
	ErrNoResponders = fmt.Errorf("no responders: %w", ErrUnavailable)
	ErrNoReply      = fmt.Errorf("no reply in time: %w", ErrUnavailable)
)

// Publisher puts events in the stream and waits for each one's own PubAck. Publishes are
// asynchronous, so concurrent requests share round trips instead of queueing behind each other.
//
// One deadline, publish_timeout, covers the whole publish: handing the message to the client as
// well as waiting for its PubAck. Handing it over takes the connection's lock, which nats.go holds
// while it writes to the socket and while it dials and greets a server when it reconnects. The
// request's own goroutine hands it over: every one of those waits is bounded well inside
// publish_timeout by the broker's options (the flusher timeout bounds a write, nats.Timeout a
// dial and a greeting: see connectTimeout), so an answer still leaves in time, and a link that
// stalls a write is dropped and rebuilt by the client. A goroutine per publish to wait for the
// lock cost about 3 % of the bridge's CPU under load (BENCHMARKS.md) for no answer that left
// earlier.
type Publisher struct {
	broker  *Broker
	timeout time.Duration
	// questions and questionBytes bound the questions waiting for a responder: slow responders
	// hold their slots for the whole reply timeout, and a flood of questions must neither pile
	// up memory nor leave publishing without the connection.
	questions     chan struct{}
	questionBytes *byteBudget
}

// Bounds on the questions waiting for their answer: maxQuestions of at most maxQuestionBytes
// together.
const (
	maxQuestions     = 1024
	maxQuestionBytes = 64 << 20
)

// NewPublisher publishes through b with the given PubAck timeout.
func NewPublisher(b *Broker, timeout time.Duration) *Publisher {
	return &Publisher{
		broker: b, timeout: timeout,
		questions:     make(chan struct{}, maxQuestions),
		questionBytes: newByteBudget(maxQuestionBytes),
	}
}

// handOver runs call, which takes the connection's lock and waits for a reply, on its own
// goroutine until ctx ends, if a slot of slots is free and the message's size fits the bytes
// bound. A call that returns after ctx ended is left to finish on its own, holding its slot and
// bytes until then; its result is dropped.
func handOver(ctx context.Context, slots chan struct{}, bytes *byteBudget, msg *nats.Msg, call func() (*nats.Msg, error)) (*nats.Msg, error) {
	size := msgSize(msg)
	select {
	case slots <- struct{}{}:
	default:
		return nil, fmt.Errorf("%d questions already wait on the NATS connection: %w", cap(slots), ErrUnavailable)
	}
	if !bytes.take(size) {
		<-slots
		return nil, fmt.Errorf("%d MiB of questions already wait on the NATS connection: %w", maxQuestionBytes>>20, ErrUnavailable)
	}
	type result struct {
		reply *nats.Msg
		err   error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			bytes.give(size)
			<-slots
		}()
		reply, err := call()
		done <- result{reply, err}
	}()
	select {
	case r := <-done:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// msgSize is about what a message holds in memory: its subject, headers and data.
func msgSize(msg *nats.Msg) int64 {
	size := int64(len(msg.Data) + len(msg.Subject))
	for k, v := range msg.Header {
		size += int64(len(k))
		for _, s := range v {
			size += int64(len(s))
		}
	}
	return size
}

// deadlines are the timers of publishes under way, reused: a context with a timeout would cost
// every request about a kilobyte of garbage (its timer, its channel, its place in the request
// context's children), and garbage is what makes the collector run.
var deadlines = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// startDeadline returns a timer that fires after d; give it back with stopDeadline.
func startDeadline(d time.Duration) *time.Timer {
	t := deadlines.Get().(*time.Timer)
	t.Reset(d)
	return t
}

func stopDeadline(t *time.Timer) {
	if !t.Stop() {
		// Fired, perhaps unread. Since Go 1.23 Reset discards that tick anyway; draining it
		// keeps that true under GODEBUG=asynctimerchan=1 too.
		select {
		case <-t.C:
		default:
		}
	}
	deadlines.Put(t)
}

// Publish stores msg with Nats-Msg-Id = msgID and returns its PubAck (Duplicate set when the
// stream already had that id). Any failure wraps ErrUnavailable; a ctx already done publishes
// nothing.
func (p *Publisher) Publish(ctx context.Context, msg *nats.Msg, msgID string) (*jetstream.PubAck, error) {
	if !p.broker.Connected() {
		return nil, fmt.Errorf("publish %s: not connected: %w", msg.Subject, ErrUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return nil, p.failed(msg.Subject, err)
	}
	deadline := startDeadline(p.timeout)
	defer stopDeadline(deadline)
	// The id goes in as a header, as jetstream.WithMsgID would put it: without options the client
	// takes its short path, which allocates nothing for them.
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header[jetstream.MsgIDHeader] = []string{msgID}
	fut, err := p.broker.JS().PublishMsgAsync(msg)
	if err != nil {
		return nil, p.failed(msg.Subject, err)
	}
	select {
	case ack := <-fut.Ok():
		if err := p.broker.checkAckOrigin(ack.Stream, ack.Domain); err != nil {
			return nil, fmt.Errorf("publish %s: %w: %w", msg.Subject, err, ErrUnavailable)
		}
		return ack, nil
	case err := <-fut.Err():
		return nil, p.failed(msg.Subject, err)
	case <-deadline.C:
		// Only the deadline ends the wait, not the request's context: a client that hangs up
		// meanwhile changes nothing (the event may be stored all the same), and waiting on the
		// context would make every request allocate its Done channel.
		return nil, p.failed(msg.Subject, context.DeadlineExceeded)
	}
}

// failed wraps a publish error in ErrUnavailable. No stream answering the subject means the
// stream is gone: the broker is asked to check it (and create it again) at once.
func (p *Publisher) failed(subject string, err error) error {
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		p.broker.CheckStream()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("publish %s: no PubAck within %s: %w", subject, p.timeout, ErrUnavailable)
	}
	return fmt.Errorf("publish %s: %v: %w", subject, err, ErrUnavailable)
}

// Ask sends msg as a core NATS request on subject and returns the reply. No responder (seen at
// once) or no reply within timeout wraps ErrUnavailable.
func (p *Publisher) Ask(ctx context.Context, subject string, msg *nats.Msg, timeout time.Duration) (*nats.Msg, error) {
	if !p.broker.Connected() {
		return nil, fmt.Errorf("ask %s: not connected: %w", subject, ErrUnavailable)
	}
	q := &nats.Msg{Subject: subject, Header: msg.Header, Data: msg.Data}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := handOver(ctx, p.questions, p.questionBytes, q, func() (*nats.Msg, error) {
		return p.broker.Conn().RequestMsgWithContext(ctx, q)
	})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("ask %s: %w", subject, ErrNoResponders)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("ask %s: within %s: %w", subject, timeout, ErrNoReply)
	case err != nil:
		return nil, fmt.Errorf("ask %s: %v: %w", subject, err, ErrUnavailable)
	}
	return reply, nil
}
