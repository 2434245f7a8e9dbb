package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
)

// runRejections prints the refused requests the rejections stream keeps, one a line, oldest
// first: `bridge rejections [-config F] [-endpoint E] [-since 1h] [-follow]`.
func runRejections(ctx context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rejections", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "the bridge's YAML configuration (none: the demo's NATS on 127.0.0.1:4222)")
	endpoint := fs.String("endpoint", "", "only this endpoint's rejections")
	since := fs.Duration("since", time.Hour, "from how far back")
	follow := fs.Bool("follow", false, "keep printing new rejections until interrupted")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var plan *bridge.Plan
	var err error
	if *configPath == "" {
		plan, err = bridge.Compile(bridge.DemoConfig())
	} else {
		plan, err = bridge.LoadPlan(*configPath, getenv)
	}
	if err != nil {
		return err
	}
	cfg := plan.Config()
	nc, err := bridge.ConnectClient(plan)
	if err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	name := cfg.Stream.RejectionsStreamName()
	setup, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := js.Stream(setup, name)
	if err != nil {
		return fmt.Errorf("rejections: stream %s: %w (is rejections.enabled off?)", name, err)
	}
	filter := cfg.Stream.RejectPrefix + ".>"
	if *endpoint != "" {
		filter = cfg.Stream.RejectPrefix + "." + *endpoint + ".>"
	}
	start := time.Now().Add(-*since)
	cons, err := stream.OrderedConsumer(setup, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start, HeadersOnly: false,
	})
	if err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	pending := cons.CachedInfo().NumPending
	for printed := uint64(0); *follow || printed < pending; printed++ {
		msg, err := nextMessage(ctx, cons, *follow)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted
			}
			return fmt.Errorf("rejections: %w", err)
		}
		h := msg.Headers()
		fmt.Fprintf(stdout, "%s  %s  %s  %s  %s\n", h.Get(bridge.RejectionReceivedHeader), bridge.RejectionEndpoint(msg.Subject(), cfg.Stream.RejectPrefix),
			h.Get(bridge.RejectionReasonHeader), oneLine(h.Get(bridge.RejectionDiagnosisHeader)), h.Get(bridge.RejectionRemoteHeader))
	}
	return nil
}

// nextMessage waits for the consumer's next message: while following, until ctx ends; else at
// most a few seconds (the stream said it was there).
func nextMessage(ctx context.Context, cons jetstream.Consumer, follow bool) (jetstream.Msg, error) {
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err == nil {
			return msg, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return nil, err
		}
		if !follow {
			return nil, fmt.Errorf("a rejection the stream counted did not arrive: %w", err)
		}
	}
}

// oneLine keeps a diagnosis on its line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
