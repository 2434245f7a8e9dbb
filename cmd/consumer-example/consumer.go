package main

import (
	"context"
	"errors"
	"fmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/cloudevents"
)

// prefetch is how many messages one copy asks for at a time (and so roughly the most it holds
// unacked):
// enough to keep it busy, few enough that copies sharing a durable split a backlog.
const prefetch = 32

// heartbeat is how often the server signals an idle pull request is still alive. A request gone
// without notice (a status lost in an outage, a consumer deleted) is re-sent within twice this.
const heartbeat = 5 * time.Second

// printer prints the events of one durable consumer, one line each.
type printer struct {
	out     io.Writer
	log     zerolog.Logger
	max     int64 // stop after this many events; 0: never
	printed atomic.Int64

	maxOnce sync.Once
	maxed   chan struct{} // closed once max events are printed

	// tracer, when set, continues each event's trace: a span per event, a child of the
	// publish span whose context the bridge put in the message's traceparent header.
	tracer trace.Tracer
}

func newPrinter(out io.Writer, log zerolog.Logger, maxEvents int) *printer {
	return &printer{out: out, log: log, max: int64(maxEvents), maxed: make(chan struct{})}
}

// consume creates (or updates) the durable consumer and prints its messages until ctx ends or
// max events are printed. When the consumer disappears under it (deleted, or lost with the
// server's state) it creates it again. It returns an error only for a configuration the server
// refuses (e.g. a durable of that name made elsewhere with another deliver policy); it never
// deletes the consumer, which other copies may share and whose position must outlive this copy.
func (p *printer) consume(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) error {
	for {
		cons, err := p.ensureConsumer(ctx, js, stream, cfg)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !p.consumeUntilLost(ctx, js.Conn(), cons) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff(1)):
		}
	}
}

// ensureConsumer creates or updates the durable consumer, retrying with backoff while NATS is
// unreachable or the stream does not exist yet (the bridge creates it when it starts).
func (p *printer) ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	for attempt := 1; ; attempt++ {
		reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		cons, err := js.CreateOrUpdateConsumer(reqCtx, stream, cfg)
		cancel()
		if err == nil {
			info := cons.CachedInfo()
			filter := cfg.FilterSubject
			if filter == "" {
				filter = "(every subject)"
			}
			p.log.Info().Str("stream", stream).Str("durable", cfg.Durable).Str("filter", filter).
				Uint64("num_pending", info.NumPending).Int("num_ack_pending", info.NumAckPending).
				Int64("max", p.max).Msg("consuming")
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if refused(err) {
			return nil, fmt.Errorf("create consumer %q on stream %s: %w", cfg.Durable, stream, err)
		}
		wait := backoff(attempt)
		msg := "cannot create the consumer yet; retrying"
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			msg = "stream not found; retrying (is the bridge running?)"
		}
		p.log.Warn().Err(err).Str("stream", stream).Stringer("retry_in", wait.Round(time.Millisecond)).Msg(msg)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// refused reports whether the client or server rejected the consumer's configuration, which no
// retry will change: a bad name, a 400 answer, or the server's "cannot create consumer" (a durable
// made earlier with a deliver or ack policy that cannot be updated, …). A missing stream and an
// unavailable JetStream (503) pass: those are waited out.
func refused(err error) bool {
	if errors.Is(err, jetstream.ErrInvalidConsumerName) || errors.Is(err, jetstream.ErrInvalidStreamName) ||
		errors.Is(err, jetstream.ErrInvalidOption) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeConsumerCreate, jetstream.JSErrCodeConsumerNameExists, jetstream.JSErrCodeMaximumConsumersLimit:
		return true
	}
	return apiErr.Code == 400
}

// consumeUntilLost prints cons's messages until ctx ends, max events are printed (false), or the
// consumer disappears (true). Reconnects are the library's business: after one it asks for
// messages again by itself.
func (p *printer) consumeUntilLost(ctx context.Context, nc *nats.Conn, cons jetstream.Consumer) (lost bool) {
	s := &session{printer: p}
	lostCh := make(chan struct{})
	var lostOnce sync.Once
	cc, err := cons.Consume(s.handle,
		jetstream.PullMaxMessages(prefetch),
		jetstream.PullHeartbeat(heartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			switch {
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
				errors.Is(err, nats.ErrNoResponders):
				// No responders: nothing serves the consumer's pull subject on this server.
				p.log.Warn().Err(err).Msg("consumer lost; creating it again")
				lostOnce.Do(func() { close(lostCh) })
			case errors.Is(err, jetstream.ErrConnectionClosed):
				// Our own shutdown.
			default:
				p.log.Warn().Err(err).Msg("pull interrupted")
			}
		}))
	if err != nil {
		p.log.Warn().Err(err).Msg("consume; retrying")
		return true
	}

	select {
	case <-ctx.Done():
	case <-p.maxed:
	case <-lostCh:
		lost = true
	}
	s.stopping.Store(true)
	// Drain, not Stop: the messages already delivered to us still pass through handle, which
	// hands them back (Nak) for another copy at once instead of leaving them for AckWait.
	cc.Drain()
	if !drained(cc, nc) {
		cc.Stop()
		p.log.Warn().Msg("NATS unreachable: messages in flight, if any, come back after AckWait")
	}
	return lost && ctx.Err() == nil
}

// drained waits for cc to finish draining. While NATS is unreachable nothing can be handed back,
// so it gives up at once rather than holding up shutdown.
func drained(cc jetstream.ConsumeContext, nc *nats.Conn) bool {
	closed := cc.Closed()
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if !nc.IsConnected() {
			return false
		}
		select {
		case <-closed:
			return true
		case <-timeout.C:
			return false
		case <-tick.C:
		}
	}
}

// session is one Consume call. Its handler runs for one message at a time.
type session struct {
	*printer
	stopping atomic.Bool
}

// handle prints one event and acks it; a message that is not a CloudEvent is logged and
// terminated, since it will never decode; once stopping, messages are handed back.
func (s *session) handle(msg jetstream.Msg) {
	if s.stopping.Load() {
		if err := msg.Nak(); err != nil {
			s.log.Debug().Err(err).Msg("nak")
		}
		return
	}
	var seq uint64
	if md, err := msg.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	e, err := cloudevents.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	if err != nil {
		// The reason names the header at fault, never the body.
		s.log.Warn().Uint64("stream_seq", seq).Str("subject", msg.Subject()).Str("reason", err.Error()).
			Msg("not a CloudEvent; terminating it")
		if err := msg.TermWithReason("not a CloudEvent"); err != nil {
			s.log.Warn().Err(err).Uint64("stream_seq", seq).Msg("term")
		}
		return
	}
	if s.tracer != nil {
		ctx := traceContext(msg.Headers())
		_, span := s.tracer.Start(ctx, "consume "+e.Type(), trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("cloudevents.event_id", e.ID()), attribute.String("cloudevents.event_type", e.Type()),
				attribute.String("messaging.destination.name", msg.Subject())))
		defer span.End()
	}
	if _, err := io.WriteString(s.out, eventLine(seq, e)+"\n"); err != nil {
		s.log.Error().Err(err).Uint64("stream_seq", seq).Msg("print; handing the event back")
		_ = msg.Nak()
		return
	}
	if err := msg.Ack(); err != nil {
		s.log.Warn().Err(err).Uint64("stream_seq", seq).Str("event_id", e.ID()).
			Msg("ack failed; the event will be delivered again after AckWait")
	}
	if n := s.printed.Add(1); s.max > 0 && n >= s.max {
		// Set here, not by consumeUntilLost, so that the very next message is already handed back.
		s.stopping.Store(true)
		s.maxOnce.Do(func() { close(s.maxed) })
	}
}

// eventLine is the line printed for e, stored at stream sequence seq.
func eventLine(seq uint64, e *event.Event) string {
	var b strings.Builder
	b.WriteString("seq=")
	b.WriteString(strconv.FormatUint(seq, 10))
	field := func(key, value string) {
		b.WriteByte(' ')
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(lineValue(value))
	}
	field("id", e.ID())
	field("type", e.Type())
	field("subject", e.Subject())
	field("source", e.Source())
	var t string
	if !e.Time().IsZero() {
		t = e.Time().UTC().Format(time.RFC3339Nano)
	}
	field("time", t)
	var traceparent string
	if v, ok := e.Extensions()["traceparent"]; ok {
		traceparent, _ = types.ToString(v)
	}
	field("traceparent", traceparent)
	return b.String()
}

// lineValue writes "-" for an absent value and quotes a value that would otherwise be misread
// (or break the line): one holding a space, '"', '=', '\' or an unprintable character, or "-".
func lineValue(v string) string {
	if v == "" {
		return "-"
	}
	if v == "-" {
		return strconv.Quote(v)
	}
	for _, r := range v {
		if r == ' ' || r == '"' || r == '=' || r == '\\' || !unicode.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}

// traceContext is the trace a message belongs to, from its W3C traceparent header. NATS header
// names keep their case and the bridge writes them in lower case, while OpenTelemetry's
// HeaderCarrier looks them up in canonical form ("Traceparent"), so they are read here by name in
// any case.
func traceContext(h nats.Header) context.Context {
	carrier := propagation.MapCarrier{}
	for name, values := range h {
		if len(values) == 0 {
			continue
		}
		switch strings.ToLower(name) {
		case "traceparent", "tracestate":
			carrier[strings.ToLower(name)] = values[0]
		}
	}
	return propagation.TraceContext{}.Extract(context.Background(), carrier)
}
