// Command responder-example answers the questions an Aghanim endpoint of the bridge asks
// (docs/providers/): player.verify, player.lookup and store.get, from a static table. It is a NATS
// service built on nats.go's micro package, so `nats micro ls` and `nats micro info` show it, and
// any number of copies can run: micro's queue group hands each question to exactly one of them.
//
// With no flags it serves the demo (nats://127.0.0.1:4222, endpoint "aghanim"); see README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "responder-example:", err)
		os.Exit(1)
	}
}

// serviceName is what `nats micro ls` lists.
const serviceName = "aghanim-responder"

// drainTimeout bounds how long questions in flight may take to be answered on shutdown.
const drainTimeout = 10 * time.Second

// token is one subject token, as the bridge's endpoint ids and prefixes are made of.
var token = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// run is the whole program; main only wires it to the process. It answers questions until ctx
// ends, then stops taking new ones, answers those in flight and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("responder-example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats", nats.DefaultURL, "NATS server URL(s), comma-separated")
	replyPrefix := fs.String("reply-prefix", "webhooks-reply", "the bridge's stream.reply_prefix")
	endpoint := fs.String("endpoint", "aghanim", "the id of the bridge's Aghanim endpoint")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if !token.MatchString(*endpoint) {
		return fmt.Errorf("-endpoint %q: may hold only letters, digits, '_' and '-'", *endpoint)
	}
	for _, t := range strings.Split(*replyPrefix, ".") {
		if !token.MatchString(t) {
			return fmt.Errorf("-reply-prefix %q: not a subject of plain tokens", *replyPrefix)
		}
	}

	log := zerolog.New(zerolog.ConsoleWriter{Out: stdout, TimeFormat: time.RFC3339, NoColor: !isTerminal(stdout)}).
		With().Timestamp().Logger()

	var closeOnce sync.Once
	closed := make(chan struct{})
	nc, err := nats.Connect(*url,
		nats.Name(serviceName),
		// Start before the bridge's demo server is up, and ride out its restarts.
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
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
		nats.ClosedHandler(func(*nats.Conn) { closeOnce.Do(func() { close(closed) }) }),
	)
	if err != nil {
		return fmt.Errorf("connect %s: %w", *url, err)
	}
	defer nc.Close()
	if !nc.IsConnected() {
		log.Warn().Str("nats", *url).Msg("NATS is not reachable yet; retrying (is the bridge's demo running?)")
	}

	svc, subjects, err := addService(nc, newAghanimResponder(log), *replyPrefix, *endpoint)
	if err != nil {
		return err
	}
	log.Info().Str("service", serviceName).Str("id", svc.Info().ID).
		Str("subjects", strings.Join(subjects, ", ")).Str("queue_group", micro.DefaultQueueGroup).
		Msg("answering questions")

	<-ctx.Done()
	log.Info().Msg("shutting down: answering questions in flight")
	if err := svc.Stop(); err != nil {
		log.Warn().Err(err).Msg("stop service")
	}
	// Drain fails only when not connected: then no answer in flight can be sent anyway.
	if err := nc.Drain(); err == nil {
		select {
		case <-closed:
		case <-time.After(drainTimeout):
			log.Warn().Msg("drain timed out")
		}
	}
	log.Info().Msg("stopped")
	return nil
}

// addService registers the responder as a micro service whose endpoints, grouped under
// "<reply prefix>.<endpoint>", are the subjects the bridge asks on, in micro's default queue
// group. It returns the service and those subjects.
func addService(nc *nats.Conn, r *aghanimResponder, replyPrefix, endpoint string) (micro.Service, []string, error) {
	svc, err := micro.AddService(nc, micro.Config{
		Name:        serviceName,
		Version:     "1.0.0",
		Description: "Answers the bridge's synchronous Aghanim webhooks: player.verify, player.lookup, store.get",
		Metadata:    map[string]string{"bridge_endpoint": endpoint, "reply_prefix": replyPrefix},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("add service: %w", err)
	}
	group := svc.AddGroup(replyPrefix + "." + endpoint)
	var subjects []string
	for _, q := range r.questions() {
		// micro endpoint names may not hold dots; the subject is the event type's tokens.
		name := strings.ReplaceAll(q.eventType, ".", "-")
		if err := group.AddEndpoint(name, q.handler, micro.WithEndpointSubject(q.eventType)); err != nil {
			_ = svc.Stop()
			return nil, nil, fmt.Errorf("add endpoint %s: %w", q.eventType, err)
		}
		subjects = append(subjects, replyPrefix+"."+endpoint+"."+q.eventType)
	}
	return svc, subjects, nil
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
