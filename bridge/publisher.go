package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnavailable means NATS did not take the event (disconnected, no PubAck in time, no
// responder): the provider is answered 503 and retries.
var ErrUnavailable = errors.New("NATS unavailable")

// Reasons a question got no answer; both are ErrUnavailable.
var (
	ErrNoResponders = fmt.Errorf("no responders: %w", ErrUnavailable)
	ErrNoReply      = fmt.Errorf("no reply in time: %w", ErrUnavailable)
)

// Publisher puts events in the stream and waits for each one's own PubAck. Publishes are
// asynchronous, so concurrent requests share round trips instead of queueing behind each other.
type Publisher struct {
	conn    *nats.Conn
	js      jetstream.JetStream
	timeout time.Duration
}

// NewPublisher publishes through b with the given PubAck timeout.
func NewPublisher(b *Broker, timeout time.Duration) *Publisher {
	return &Publisher{conn: b.Conn, js: b.JS, timeout: timeout}
}

// Publish stores msg with Nats-Msg-Id = msgID and returns its PubAck (Duplicate set when the
// stream already had that id). Any failure wraps ErrUnavailable.
func (p *Publisher) Publish(ctx context.Context, msg *nats.Msg, msgID string) (*jetstream.PubAck, error) {
	if !p.conn.IsConnected() {
		return nil, fmt.Errorf("publish %s: not connected: %w", msg.Subject, ErrUnavailable)
	}
	fut, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, fmt.Errorf("publish %s: %v: %w", msg.Subject, err, ErrUnavailable)
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, fmt.Errorf("publish %s: %v: %w", msg.Subject, err, ErrUnavailable)
	case <-timer.C:
		return nil, fmt.Errorf("publish %s: no PubAck within %s: %w", msg.Subject, p.timeout, ErrUnavailable)
	case <-ctx.Done():
		return nil, fmt.Errorf("publish %s: %v: %w", msg.Subject, ctx.Err(), ErrUnavailable)
	}
}

// Ask sends msg as a core NATS request on subject and returns the reply. No responder (seen at
// once) or no reply within timeout wraps ErrUnavailable.
func (p *Publisher) Ask(ctx context.Context, subject string, msg *nats.Msg, timeout time.Duration) (*nats.Msg, error) {
	q := &nats.Msg{Subject: subject, Header: msg.Header, Data: msg.Data}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := p.conn.RequestMsgWithContext(ctx, q)
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
