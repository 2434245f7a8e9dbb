// Command consumer-example reads the bridge's events from JetStream (README.md): a durable pull
// consumer that decodes each message as a CloudEvent, prints one line per event on stdout and
// acks it once the line is written.
//
// With no flags it reads the demo (nats://127.0.0.1:4222, stream WEBHOOKS, durable
// "consumer-example", every subject). Copies started with the same -durable share the work: the
// server hands each message to one of them. Copies with different names each get every event.
//
// One line per event, logfmt-style, values quoted only when they hold a space, '"', '=', '\' or an
// unprintable character, and "-" for an attribute the event does not carry:
//
//	seq=42 id=whevt_1 type=com.aghanim.player.verify subject=2D2R-OP3C source=/webhooks/aghanim time=2024-09-05T15:10:00Z traceparent=-
//
// seq is the message's stream sequence. Logs go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consumer-example:", err)
		os.Exit(1)
	}
}

const (
	// drainTimeout bounds how long shutdown waits for messages in flight to be handed back and
	// for acks to reach the server.
	drainTimeout = 10 * time.Second
	// requestTimeout bounds one JetStream API request (creating the consumer).
	requestTimeout = 5 * time.Second
	// Retries (reconnecting, creating the consumer) wait from minBackoff, doubling, to maxBackoff.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// run is the whole program; main only wires it to the process. It prints events until ctx ends
// or -max events have been printed, then hands back what it holds, drains and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consumer-example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", nats.DefaultURL, "NATS server URL(s), comma-separated")
	stream := fs.String("stream", "WEBHOOKS", "the bridge's stream")
	durable := fs.String("durable", "consumer-example", "durable consumer name; copies sharing it split the work")
	filter := fs.String("filter", "", `subject filter, e.g. "webhooks.*.verification.>" (empty: every subject)`)
	creds := fs.String("creds", "", "NATS credentials (.creds) file")
	maxEvents := fs.Int("max", 0, "exit after printing this many events (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := checkName("-stream", *stream); err != nil {
		return err
	}
	if err := checkName("-durable", *durable); err != nil {
		return err
	}
	if *maxEvents < 0 {
		return fmt.Errorf("-max %d: must be 0 (no limit) or more", *maxEvents)
	}
	opts := connectOptions(*durable)
	if *creds != "" {
		if _, err := os.Stat(*creds); err != nil {
			return fmt.Errorf("-creds: %w", err)
		}
		opts = append(opts, nats.UserCredentials(*creds))
	}

	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339, NoColor: !isTerminal(stderr)}).
		With().Timestamp().Logger()

	closed := make(chan struct{})
	opts = append(opts,
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats", nc.ConnectedUrlRedacted()).Msg("connected")
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("disconnected from NATS, reconnecting")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("nats", nc.ConnectedUrlRedacted()).Msg("reconnected")
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	)
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	defer nc.Close()
	if !nc.IsConnected() {
		log.Warn().Str("nats", *url).Msg("NATS is not reachable yet; retrying (is the bridge's demo running?)")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	p := newPrinter(stdout, log, *maxEvents)
	// With OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) set, each event's
	// handling is a span in the trace the bridge started.
	tp, err := bridge.NewTracerProvider(ctx, os.LookupEnv)
	if err != nil {
		return err
	}
	if tp != nil {
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx)
		}()
		p.tracer = tp.Tracer("consumer-example")
	}
	err = p.consume(ctx, js, *stream, jetstream.ConsumerConfig{
		Durable:       *durable,
		Description:   "cmd/consumer-example",
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: *filter,
	})

	// Drain flushes the acks and naks still buffered; it fails only when not connected, and then
	// there is nothing left to deliver anyway (unacked messages come back after AckWait).
	if derr := nc.Drain(); derr == nil {
		select {
		case <-closed:
		case <-time.After(drainTimeout):
			log.Warn().Msg("drain timed out")
		}
	}
	if err != nil {
		return err
	}
	log.Info().Int64("printed", p.printed.Load()).Msg("stopped")
	return nil
}

// connectOptions make the connection ride out any outage: start before the server is up, and
// reconnect forever, backing off.
func connectOptions(durable string) []nats.Option {
	return []nats.Option{
		nats.Name("consumer-example:" + durable),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(backoff),
		nats.DrainTimeout(drainTimeout),
	}
}

// backoff is the wait before retry attempt n (1, 2, …): doubling from minBackoff up to
// maxBackoff, less up to a fifth at random so that copies restarted together do not retry in step.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 16 {
		d = min(minBackoff<<max(attempt-1, 0), maxBackoff)
	}
	return d - rand.N(d/5)
}

// checkName rejects what JetStream does not accept in a stream or consumer name, before
// connecting, so the mistake is named at once.
func checkName(flagName, name string) error {
	if name == "" {
		return fmt.Errorf("%s: must not be empty", flagName)
	}
	if strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("%s %q: may not hold '.', '*', '>', '/', '\\' or white space", flagName, name)
	}
	return nil
}

// isTerminal reports whether w is a character device (colours only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
