package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/webhookbridge/bridge/cloudevents"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// testTimeout bounds one run of the program in a test.
const testTimeout = 30 * time.Second

// webhooks is a nats-server holding the bridge's stream.
type webhooks struct {
	ns *natstest.Server
	js jetstream.JetStream
}

// startWebhooks starts a nats-server with the stream WEBHOOKS on webhooks.> , as the bridge
// creates it.
func startWebhooks(t *testing.T) *webhooks {
	t.Helper()
	ns := natstest.Start(t)
	w := &webhooks{ns: ns, js: newJetStream(t, ns.Connect(t))}
	w.createStream(t)
	return w
}

func newJetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func (w *webhooks) createStream(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := w.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "WEBHOOKS",
		Subjects: []string{"webhooks.>"},
		Storage:  jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
}

// publish stores msg in the stream, retrying while the server comes back from a restart, and
// returns its stream sequence.
func (w *webhooks) publish(t *testing.T, msg *nats.Msg) uint64 {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ack, err := w.js.PublishMsg(ctx, msg)
		cancel()
		if err == nil {
			return ack.Sequence
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish on %s: %v", msg.Subject, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settledInfo is the durable's state once settled says so, or after testTimeout as it is then:
// the server applies acks asynchronously, after the program has flushed them and returned.
func (w *webhooks) settledInfo(t *testing.T, durable string, settled func(*jetstream.ConsumerInfo) bool) *jetstream.ConsumerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cons, err := w.js.Consumer(ctx, "WEBHOOKS", durable)
	if err != nil {
		t.Fatalf("consumer %s: %v", durable, err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s: %v", durable, err)
		}
		if settled(info) || ctx.Err() != nil {
			return info
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noneInFlight: every message delivered has been acked or terminated.
func noneInFlight(info *jetstream.ConsumerInfo) bool { return info.NumAckPending == 0 }

// ce is a CloudEvent as the bridge publishes it; modify changes it from the default.
func ce(t *testing.T, subject, id string, modify func(*event.Event)) *nats.Msg {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/webhooks/aghanim")
	e.SetType("com.aghanim.player.update")
	e.SetSubject("2D2R-OP3C")
	e.SetTime(time.Date(2024, 9, 5, 15, 0, 50, 0, time.UTC))
	if err := e.SetData("application/json", []byte(`{"event_type":"player.update","secret":"do-not-print-this-body"}`)); err != nil {
		t.Fatal(err)
	}
	if modify != nil {
		modify(&e)
	}
	msg, err := cloudevents.Encode(subject, &e)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// lines are the complete lines written so far.
func lines(b *testio.Buffer) []string {
	out := b.String()
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		return strings.Split(out[:i], "\n")
	}
	return nil
}

// program is one copy of the program running in the background.
type program struct {
	stdout, stderr *testio.Buffer
	cancel         context.CancelFunc
	done           chan error
}

// start runs the program against url with args until it returns, ctx ends or the test ends.
func start(t *testing.T, url string, args ...string) *program {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	p := &program{stdout: &testio.Buffer{}, stderr: &testio.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, append([]string{"-nats", url}, args...), p.stdout, p.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(testTimeout):
			t.Errorf("run did not return after its context ended")
		}
	})
	return p
}

// wait is run's result; the program must end on its own (-max) before testTimeout.
func (p *program) wait(t *testing.T) []string {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("run: %v\nstderr:\n%s", err, p.stderr)
		}
	case <-time.After(testTimeout + 5*time.Second):
		t.Fatalf("run did not return\nstdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	}
	return lines(p.stdout)
}

// waitLines waits until the program has printed n lines.
func (p *program) waitLines(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); ; time.Sleep(20 * time.Millisecond) {
		if got := lines(p.stdout); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines printed, want %d\nstdout:\n%s\nstderr:\n%s", len(lines(p.stdout)), n, p.stdout, p.stderr)
		}
	}
}

// ids are the id= fields of lines.
func ids(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		_, rest, ok := strings.Cut(l, " id=")
		if !ok {
			t.Fatalf("no id in %q", l)
		}
		id, _, _ := strings.Cut(rest, " ")
		out = append(out, id)
	}
	return out
}

func TestPrintsOneLinePerEvent(t *testing.T) {
	w := startWebhooks(t)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	plain := w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_1", nil))
	garbage := w.publish(t, &nats.Msg{Subject: "webhooks.aghanim.player.update", Data: []byte("do-not-print-this-body")})
	traced := w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_2", func(e *event.Event) {
		e.SetExtension("traceparent", traceparent)
	}))
	badEscape := ce(t, "webhooks.aghanim.player.update", "whevt_bad", nil)
	badEscape.Header.Set("ce-id", "whevt_%zz")
	badSeq := w.publish(t, badEscape)
	jose := ce(t, "webhooks.usercheck.domain.flagged", "8f3a", func(e *event.Event) {
		e.SetSource("/webhooks/usercheck")
		e.SetType("com.usercheck.domain.flagged")
		e.SetSubject("José")
		e.SetTime(time.Date(2024, 9, 5, 15, 0, 50, 123000000, time.FixedZone("CEST", 2*3600)))
	})
	if got := jose.Header.Get("ce-subject"); got != "Jos%C3%A9" {
		t.Fatalf("ce-subject on the wire %q, want it percent-encoded", got)
	}
	joseSeq := w.publish(t, jose)
	spaced := ce(t, "webhooks.aghanim.player.update", "whevt_3", func(e *event.Event) {
		e.SetSubject(`Ada "the first" Lovelace`)
	})
	// Header names in another case: NATS header names are case-insensitive.
	for name, v := range spaced.Header {
		delete(spaced.Header, name)
		spaced.Header[strings.ToUpper(name)] = v
	}
	spacedSeq := w.publish(t, spaced)

	p := start(t, w.ns.URL(), "-durable", "printer", "-max", "4")
	got := p.wait(t)
	want := []string{
		fmt.Sprintf("seq=%d id=whevt_1 type=com.aghanim.player.update subject=2D2R-OP3C source=/webhooks/aghanim time=2024-09-05T15:00:50Z traceparent=-", plain),
		fmt.Sprintf("seq=%d id=whevt_2 type=com.aghanim.player.update subject=2D2R-OP3C source=/webhooks/aghanim time=2024-09-05T15:00:50Z traceparent=%s", traced, traceparent),
		fmt.Sprintf("seq=%d id=8f3a type=com.usercheck.domain.flagged subject=José source=/webhooks/usercheck time=2024-09-05T13:00:50.123Z traceparent=-", joseSeq),
		fmt.Sprintf(`seq=%d id=whevt_3 type=com.aghanim.player.update subject="Ada \"the first\" Lovelace" source=/webhooks/aghanim time=2024-09-05T15:00:50Z traceparent=-`, spacedSeq),
	}
	if !slices.Equal(got, want) {
		t.Errorf("printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	logs := p.stderr.String()
	for _, seq := range []uint64{garbage, badSeq} {
		if !strings.Contains(logs, fmt.Sprintf("stream_seq=%d", seq)) {
			t.Errorf("no log line for the message at %d:\n%s", seq, logs)
		}
	}
	if strings.Contains(logs+p.stdout.String(), "do-not-print-this-body") {
		t.Errorf("a body was printed:\nstdout:\n%s\nstderr:\n%s", p.stdout, logs)
	}

	// Everything is acked or terminated: nothing waits to be delivered again.
	info := w.settledInfo(t, "printer", noneInFlight)
	if info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 || info.AckFloor.Stream != spacedSeq {
		t.Errorf("consumer after the run: ack pending %d, pending %d, redelivered %d, ack floor %d (want 0, 0, 0, %d)",
			info.NumAckPending, info.NumPending, info.NumRedelivered, info.AckFloor.Stream, spacedSeq)
	}
}

func TestSharedDurableSplitsTheWork(t *testing.T) {
	w := startWebhooks(t)
	var all []string
	for i := range 20 {
		id := fmt.Sprintf("evt_%02d", i)
		w.publish(t, ce(t, "webhooks.aghanim.player.update", id, nil))
		all = append(all, id)
	}

	// Two copies on one durable: each message goes to one of them.
	a := start(t, w.ns.URL(), "-durable", "shared", "-max", "12")
	b := start(t, w.ns.URL(), "-durable", "shared", "-max", "8")
	gotA, gotB := ids(t, a.wait(t)), ids(t, b.wait(t))
	if len(gotA) != 12 || len(gotB) != 8 {
		t.Fatalf("copy a printed %d events, copy b %d; want 12 and 8", len(gotA), len(gotB))
	}
	union := slices.Sorted(slices.Values(append(slices.Clone(gotA), gotB...)))
	if !slices.Equal(union, all) {
		t.Errorf("the copies printed %v and %v; together want each of %v once", gotA, gotB, all)
	}
	if info := w.settledInfo(t, "shared", noneInFlight); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("shared consumer: ack pending %d, pending %d", info.NumAckPending, info.NumPending)
	}

	// Another durable starts from the beginning and gets every event again.
	other := start(t, w.ns.URL(), "-durable", "other", "-max", "20")
	if got := ids(t, other.wait(t)); !slices.Equal(got, all) {
		t.Errorf("another durable printed %v, want %v", got, all)
	}
}

func TestFilter(t *testing.T) {
	w := startWebhooks(t)
	w.publish(t, ce(t, "webhooks.altdentifier.verification.passed", "alt_1", nil))
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "agh_1", nil))
	w.publish(t, ce(t, "webhooks.zignsec.verification.started", "zig_1", nil))
	w.publish(t, ce(t, "webhooks.aghanim.verification", "agh_2", nil)) // no token after "verification"

	p := start(t, w.ns.URL(), "-durable", "verifications", "-filter", "webhooks.*.verification.>", "-max", "2")
	if got := ids(t, p.wait(t)); !slices.Equal(got, []string{"alt_1", "zig_1"}) {
		t.Errorf("printed %v, want alt_1 and zig_1", got)
	}
	info := w.settledInfo(t, "verifications", noneInFlight)
	if info.Delivered.Consumer != 2 || info.NumPending != 0 || info.NumAckPending != 0 {
		t.Errorf("filtered consumer: delivered %d, pending %d, ack pending %d; want 2, 0, 0",
			info.Delivered.Consumer, info.NumPending, info.NumAckPending)
	}
}

func TestRefusedConsumerIsAnError(t *testing.T) {
	w := startWebhooks(t)
	// A durable of that name made elsewhere with another deliver policy, which no update changes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := w.js.CreateConsumer(ctx, "WEBHOOKS", jetstream.ConsumerConfig{
		Durable:       "taken",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}); err != nil {
		t.Fatal(err)
	}
	p := start(t, w.ns.URL(), "-durable", "taken")
	select {
	case err := <-p.done:
		p.done <- err
		if err == nil || !strings.Contains(err.Error(), `create consumer "taken"`) {
			t.Errorf("run: %v, want the server's refusal", err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("run did not give up on a refused consumer:\n%s", p.stderr)
	}
}

func TestInterruptDrainsAndKeepsTheConsumer(t *testing.T) {
	w := startWebhooks(t)
	p := start(t, w.ns.URL())
	first := w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_1", nil))
	p.waitLines(t, 1)

	p.cancel() // as SIGINT does, through signal.NotifyContext
	if lines := p.wait(t); len(lines) != 1 {
		t.Errorf("printed %q", lines)
	}
	// The durable outlives the copy, with its position: a new copy starts after whevt_1.
	info := w.settledInfo(t, "consumer-example", noneInFlight)
	if info.AckFloor.Stream != first || info.NumAckPending != 0 {
		t.Errorf("after exit: ack floor %d, ack pending %d", info.AckFloor.Stream, info.NumAckPending)
	}
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_2", nil))
	again := start(t, w.ns.URL(), "-max", "1")
	if got := ids(t, again.wait(t)); !slices.Equal(got, []string{"whevt_2"}) {
		t.Errorf("the next copy printed %v, want whevt_2 only", got)
	}
}

func TestInterruptDuringAnOutageExitsAtOnce(t *testing.T) {
	w := startWebhooks(t)
	p := start(t, w.ns.URL())
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_1", nil))
	p.waitLines(t, 1)
	w.ns.Stop()
	for deadline := time.Now().Add(testTimeout); !strings.Contains(p.stderr.String(), "disconnected"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no disconnect logged:\n%s", p.stderr)
		}
	}

	begin := time.Now()
	p.cancel()
	p.wait(t)
	if took := time.Since(begin); took > drainTimeout/2 {
		t.Errorf("shutdown took %v with NATS away; nothing can be drained then", took)
	}
}

func TestRidesOutOutages(t *testing.T) {
	// Started before the stream exists (the bridge not up yet): it waits for it.
	ns := natstest.Start(t)
	p := start(t, ns.URL(), "-max", "3")
	for deadline := time.Now().Add(testTimeout); !strings.Contains(p.stderr.String(), "stream not found"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", p.stderr)
		}
	}
	w := &webhooks{ns: ns, js: newJetStream(t, ns.Connect(t))}
	w.createStream(t)
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "before", nil))
	p.waitLines(t, 1)

	// The server goes away and comes back on the same store.
	ns.Restart()
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "after_1", nil))
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "after_2", nil))
	if got := ids(t, p.wait(t)); !slices.Equal(got, []string{"before", "after_1", "after_2"}) {
		t.Errorf("printed %v", got)
	}
	if !strings.Contains(p.stderr.String(), "reconnected") {
		t.Errorf("no reconnect logged:\n%s", p.stderr)
	}
}

func TestRecreatesADeletedConsumer(t *testing.T) {
	w := startWebhooks(t)
	p := start(t, w.ns.URL(), "-max", "3")
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_1", nil))
	p.waitLines(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.js.DeleteConsumer(ctx, "WEBHOOKS", "consumer-example"); err != nil {
		t.Fatal(err)
	}
	// Made again, the durable starts from the beginning of the stream (DeliverAll).
	p.waitLines(t, 2)
	w.publish(t, ce(t, "webhooks.aghanim.player.update", "whevt_2", nil))
	if got := ids(t, p.wait(t)); !slices.Equal(got, []string{"whevt_1", "whevt_1", "whevt_2"}) {
		t.Errorf("printed %v", got)
	}
	if !strings.Contains(p.stderr.String(), "consumer lost") {
		t.Errorf("the loss is not logged:\n%s", p.stderr)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative max", []string{"-max", "-1"}, "-max"},
		{"durable with a dot", []string{"-durable", "a.b"}, "-durable"},
		{"empty durable", []string{"-durable", ""}, "-durable"},
		{"stream with a wildcard", []string{"-stream", "WEB*"}, "-stream"},
		{"missing credentials file", []string{"-creds", "/no/such/file.creds"}, "-creds"},
		{"stray argument", []string{"extra"}, "unexpected"},
		{"unknown flag", []string{"-no-such-flag"}, "no-such-flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			// No server: flags are checked before connecting.
			err := run(context.Background(), append([]string{"-nats", "nats://127.0.0.1:1"}, tc.args...), &bytes.Buffer{}, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		var stderr bytes.Buffer
		if err := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); err != nil {
			t.Errorf("-h: %v", err)
		}
		for _, name := range []string{"-nats", "-stream", "-durable", "-filter", "-creds", "-max"} {
			if !strings.Contains(stderr.String(), name) {
				t.Errorf("usage does not name %s:\n%s", name, &stderr)
			}
		}
	})
}

func TestLineValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "-"},
		{"-", `"-"`},
		{"plain", "plain"},
		{"José", "José"},
		{"two words", `"two words"`},
		{"a=b", `"a=b"`},
		{"line\nbreak", `"line\nbreak"`},
	}
	for _, tc := range tests {
		if got := lineValue(tc.in); got != tc.want {
			t.Errorf("lineValue(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestTraceContextFromMessage: the bridge writes traceparent in lower case; the consumer reads it
// whatever its case, so its span continues the bridge's trace.
func TestTraceContextFromMessage(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, name := range []string{"traceparent", "Traceparent", "TRACEPARENT"} {
		sc := trace.SpanContextFromContext(traceContext(nats.Header{name: {tp}}))
		if !sc.IsValid() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("header %s: span context %v, want the message's", name, sc)
		}
	}
	if sc := trace.SpanContextFromContext(traceContext(nats.Header{})); sc.IsValid() {
		t.Error("a message without traceparent has a trace")
	}
}
