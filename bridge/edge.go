package bridge

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats-server/v2/server"
)

// Store-and-forward mode (docs/store-and-forward.md): the embedded server is a leaf node of the
// hub with a JetStream domain of its own; the bridge stores each event in the local stream
// <name>_EDGE, which always answers, and the hub's stream sources every replica's local stream
// across the leaf connection.

// leafOptions makes the embedded server a leaf node of the hub with this replica's domain.
func leafOptions(opts *server.Options, cfg *Config) error {
	e := cfg.NATS.Embedded
	urls, err := leafURLs(e.Leaf.URL)
	if err != nil {
		return err
	}
	// Server names must differ across the leaf nodes of one hub.
	opts.ServerName = "webhook-bridge-" + e.Domain
	opts.JetStreamDomain = e.Domain
	events := cfg.Stream.SubjectPrefix + ".>"
	opts.LeafNode.Remotes = []*server.RemoteLeafOpts{{
		URLs:        urls,
		Credentials: e.Leaf.Credentials,
		// Events cross to the hub only by sourcing. Without these, the hub would pass each
		// replica's events on as plain messages to every other replica, whose local streams
		// (listening on the same subjects) would store them too and answer their PubAcks.
		DenyImports: []string{events},
		DenyExports: []string{events},
	}}
	return nil
}

// leafURLs reads the hub's leafnode URLs: one, or several comma-separated (the nodes of a hub
// cluster).
func leafURLs(list string) ([]*url.URL, error) {
	var urls []*url.URL
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("nats.embedded.leaf.url: %q is not a URL like nats-leaf://hub:7422", s)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("nats.embedded.leaf.url: no URL")
	}
	return urls, nil
}

// edgeState is what the bridge knows of forwarding, refreshed by each stream check.
type edgeState struct {
	leafConnected atomic.Bool
	lastSeq       atomic.Uint64 // the local stream's last sequence
	forwardedSeq  atomic.Uint64 // the highest local sequence delivered to a source consumer
}

// update reads the leaf connection and the consumers the hub's sourcing keeps on the local
// stream. The hub's own source lag reads 0 while the link is down, so the backlog is taken
// from sequences on this side instead: last stored minus last delivered.
func (e *edgeState) update(ctx context.Context, b *Broker) {
	if b.Embedded != nil {
		e.leafConnected.Store(b.Embedded.NumLeafNodes() > 0)
	}
	s, err := b.JS.Stream(ctx, b.stream.Name)
	if err != nil {
		return
	}
	var delivered uint64
	consumers := s.ListConsumers(ctx)
	for c := range consumers.Info() {
		delivered = max(delivered, c.Delivered.Stream)
	}
	if consumers.Err() == nil && delivered > 0 {
		e.forwardedSeq.Store(delivered)
	}
}

// EdgeStatus is store-and-forward's state for metrics and check.
type EdgeStatus struct {
	Enabled       bool
	LeafConnected bool
	LastSeq       uint64
	ForwardedSeq  uint64
}

// Backlog is how many local sequences have not been delivered to the hub yet.
func (s EdgeStatus) Backlog() uint64 {
	if s.ForwardedSeq >= s.LastSeq {
		return 0
	}
	return s.LastSeq - s.ForwardedSeq
}

// Edge reports store-and-forward's state; Enabled is false in the other modes.
func (b *Broker) Edge() EdgeStatus {
	return EdgeStatus{
		Enabled:       b.domain != "",
		LeafConnected: b.edge.leafConnected.Load(),
		LastSeq:       b.edge.lastSeq.Load(),
		ForwardedSeq:  b.edge.forwardedSeq.Load(),
	}
}

// checkAckOrigin refuses a PubAck that did not come from the stream the bridge publishes to (in
// store-and-forward mode: the local stream, in the local domain). Any other stream answering
// means the topology is wrong — e.g. a leaf without deny rules letting the hub or another
// replica capture the subject, or another stream of the cluster listening on the same subjects —
// and the event's safety would rest on a stream the bridge does not watch. (Against a remote
// cluster the domain is the cluster's, whatever it is.)
func (b *Broker) checkAckOrigin(stream, domain string) error {
	switch {
	case stream != b.stream.Name:
		return fmt.Errorf("PubAck from stream %q, want %q", stream, b.stream.Name)
	case b.domain != "" && !strings.EqualFold(domain, b.domain):
		return fmt.Errorf("PubAck from domain %q, want the local domain %q", domain, b.domain)
	}
	return nil
}
