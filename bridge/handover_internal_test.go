package bridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// testPublisher is a publisher on a broker against a real nats-server.
func testPublisher(t *testing.T) (*Publisher, *nats.Conn) {
	t.Helper()
	ns := natstest.Start(t)
	cfg := DemoConfig()
	cfg.NATS.URL = ns.URL()
	cfg.NATS.PublishTimeout = 5 * time.Second
	plan, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartBroker(context.Background(), plan, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return NewPublisher(b, cfg.NATS.PublishTimeout), ns.Connect(t)
}

// compiledEndpoint is ec compiled in an otherwise default configuration.
func compiledEndpoint(t testing.TB, ec EndpointConfig) *Endpoint {
	t.Helper()
	cfg := &Config{Endpoints: []EndpointConfig{ec}}
	cfg.ApplyDefaults()
	plan, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan.endpoints[0]
}

// TestConnectionWaitsWithinPublishTimeout: a request hands its event to the client on its own
// goroutine, so what the client may make it wait for the connection's lock — a write to a stalled
// socket (the flusher timeout), or a reconnect's dial and greeting (the connect timeout each) —
// must stay well inside publish_timeout, for every publish_timeout an operator may choose.
func TestConnectionWaitsWithinPublishTimeout(t *testing.T) {
	for _, pt := range []time.Duration{400 * time.Millisecond, time.Second, DefaultPublishTimeout, 30 * time.Second, 5 * time.Minute} {
		write, reconnect := flusherTimeout(pt), 2*connectTimeout(pt)
		if write > pt/2 || reconnect > pt/2 {
			t.Errorf("publish_timeout %s: a write may hold the lock %s and a reconnect %s, want each within %s", pt, write, reconnect, pt/2)
		}
	}
}

// TestQuestionsApartFromPublishes: questions waiting on a responder that does not answer fill
// their own bound; publishing goes on, and the next question is refused at once.
func TestQuestionsApartFromPublishes(t *testing.T) {
	p, responder := testPublisher(t)
	p.questions = make(chan struct{}, 2)
	// A responder that takes every question and answers none.
	if _, err := responder.Subscribe("webhooks-reply.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	responder.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := &nats.Msg{Data: []byte("{}")}
	for range cap(p.questions) {
		go p.Ask(ctx, "webhooks-reply.aghanim.player.verify", q, time.Hour)
	}
	for len(p.questions) < cap(p.questions) {
		time.Sleep(time.Millisecond)
	}
	if _, err := p.Ask(context.Background(), "webhooks-reply.aghanim.player.verify", q, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a question past the bound: %v, want ErrUnavailable at once", err)
	}
	if _, err := p.Publish(context.Background(), &nats.Msg{Subject: "webhooks.aghanim.x", Data: []byte("{}")}, "aghanim:q"); err != nil {
		t.Fatalf("a publish while questions fill their bound: %v", err)
	}
	// Their bytes are bounded apart too: questions out of bytes leave publishing alone.
	p.questions, p.questionBytes = make(chan struct{}, 8), newByteBudget(1)
	if _, err := p.Ask(context.Background(), "webhooks-reply.aghanim.player.verify", q, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a question past the bytes bound: %v, want ErrUnavailable at once", err)
	}
	if _, err := p.Publish(context.Background(), &nats.Msg{Subject: "webhooks.aghanim.x", Data: []byte("{}")}, "aghanim:q2"); err != nil {
		t.Fatalf("a publish while questions are out of bytes: %v", err)
	}
}
