// Package streamcheck reads which events a JetStream stream holds, by Nats-Msg-Id: the load tool
// and the fault suite both compare what the bridge acknowledged with what was stored, and both
// read the stream here.
package streamcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// EventKeys is MsgIDs counting per event instead: "<endpoint>:<CloudEvents id>", the endpoint
// read from ce-source ("/webhooks/<endpoint>"). Nats-Msg-Id is that only where the id is signed
// (docs/security.md); the event's own key is what a sender of known events can check.
func EventKeys(ctx context.Context, js jetstream.JetStream, stream, filter string, startSeq uint64) (map[string]int, error) {
	counts := map[string]int{}
	err := Each(ctx, js, stream, filter, startSeq, func(h nats.Header) {
		counts[strings.TrimPrefix(h.Get("ce-source"), "/webhooks/")+":"+h.Get("ce-id")]++
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// MsgIDs reads, with an ordered consumer and headers only, every message of stream stored after
// startSeq on filter (every subject when filter is empty) and counts the messages per
// Nats-Msg-Id. It fails if the stream stops delivering for 15 s while messages are pending.
func MsgIDs(ctx context.Context, js jetstream.JetStream, stream, filter string, startSeq uint64) (map[string]int, error) {
	counts := map[string]int{}
	err := Each(ctx, js, stream, filter, startSeq, func(h nats.Header) {
		counts[h.Get(jetstream.MsgIDHeader)]++
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// Each hands the headers of every message of stream stored after startSeq on filter (every
// subject when filter is empty) to fn, in stream order.
func Each(ctx context.Context, js jetstream.JetStream, stream, filter string, startSeq uint64, fn func(nats.Header)) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	cc := jetstream.OrderedConsumerConfig{HeadersOnly: true}
	if filter != "" {
		cc.FilterSubjects = []string{filter}
	}
	if startSeq > 0 {
		cc.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cc.OptStartSeq = startSeq + 1
	}
	cons, err := s.OrderedConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("consumer on %s: %w", stream, err)
	}
	pending := cons.CachedInfo().NumPending
	for empty := 0; pending > 0; {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w with %d still pending", stream, err, pending)
		}
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			fn(msg.Headers())
			if md, err := msg.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if got == 0 {
			if empty++; empty == 3 {
				return fmt.Errorf("read %s: no message for 15s with %d still pending", stream, pending)
			}
		} else {
			empty = 0
		}
	}
	return nil
}
