package bridge

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Store-and-forward mode (docs/store-and-forward.md): the embedded server is a leaf node of the
// hub with a JetStream domain of its own; the bridge stores each event in the local stream
// <name>_EDGE, which always answers, and the hub's stream sources every replica's local stream
// across the leaf connection.

// leafOptions makes the embedded server a leaf node of the hub with this replica's domain.
func leafOptions(opts *server.Options, plan *Plan) {
	cfg := plan.cfg
	e := cfg.NATS.Embedded
	// Server names must differ across the leaf nodes of one hub.
	opts.ServerName = "webhook-bridge-" + e.Domain
	opts.JetStreamDomain = e.Domain
	events := cfg.Stream.SubjectPrefix + ".>"
	opts.LeafNode.Remotes = []*server.RemoteLeafOpts{{
		URLs:        plan.leafURLs,
		Credentials: e.Leaf.Credentials,
		// Events cross to the hub only by sourcing. Without these, the hub would pass each
		// replica's events on as plain messages to every other replica, whose local streams
		// (listening on the same subjects) would store them too and answer their PubAcks.
		// The hub's clients also may not administer this replica's stream: sourcing reads it
		// through consumers, and nothing on the hub needs to delete, purge, change, create,
		// read or remove its messages one by one (docs/security.md).
		DenyImports: append([]string{events}, edgeAdminSubjects(e.Domain)...),
		DenyExports: []string{events},
		TLS:         plan.leafTLS != nil,
		TLSConfig:   plan.leafTLS,
	}}
}

// edgeAdminSubjects are the JetStream API subjects of a replica's domain that the hub side may
// not send across the leaf link: what would delete, purge, change or create a stream, or get or
// delete its messages one by one.
func edgeAdminSubjects(domain string) []string {
	api := edgeAPIPrefix(domain)
	return []string{
		api + ".STREAM.DELETE.>", api + ".STREAM.PURGE.>", api + ".STREAM.UPDATE.>", api + ".STREAM.CREATE.>",
		api + ".STREAM.MSG.GET.>", api + ".STREAM.MSG.DELETE.>", api + ".DIRECT.GET.>",
	}
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
			return nil, fmt.Errorf("nats.embedded.leaf.url: %q is not a URL like nats-leaf://hub:7422", redactURLs(s))
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("nats.embedded.leaf.url: no URL")
	}
	return urls, nil
}

// edgeState is what the bridge knows of forwarding, refreshed by the stream checks.
type edgeState struct {
	leafConnected atomic.Bool
	lastSeq       atomic.Uint64 // the local stream's last sequence
	forwardedSeq  atomic.Uint64 // the local sequence the hub had sourced up to, when last asked
	hubAsked      atomic.Int64  // when the hub last answered (Unix nanoseconds)
	hubTried      atomic.Int64  // when the hub was last asked
	hubDomain     string
	hubStream     string
	edgeStream    string
}

// hubQueryInterval is how often a replica asks the hub how far its source has got.
const hubQueryInterval = 5 * time.Second

// update reads the leaf connection and, every hubQueryInterval while the link is up, asks the hub
// (through the leaf, in the hub's domain) for this replica's source. The hub reports a source's
// lag as the messages pending when it last received from it, and keeps the last value while the
// link is down, so the forwarded sequence is taken as the local last sequence minus that lag only
// from an answer over a live link, and kept as it was while the link is down.
func (e *edgeState) update(b *Broker) {
	if b.Embedded == nil {
		return
	}
	up := b.Embedded.NumLeafNodes() > 0
	e.leafConnected.Store(up)
	if !up || time.Since(time.Unix(0, e.hubTried.Load())) < hubQueryInterval {
		return
	}
	e.hubTried.Store(time.Now().UnixNano()) // a hub that does not answer is asked again only after the interval
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	hub, err := jetstream.NewWithDomain(b.Conn(), e.hubDomain)
	if err != nil {
		return
	}
	last := e.lastSeq.Load()
	s, err := hub.Stream(ctx, e.hubStream)
	if err != nil {
		return
	}
	for _, src := range s.CachedInfo().Sources {
		if src.External == nil || src.External.APIPrefix != edgeAPIPrefix(b.domain) || src.Name != e.edgeStream {
			continue
		}
		// Until the hub has received from a source (after its restart, or a source just added)
		// it reports no activity and a lag of 0, which says nothing about the backlog.
		if src.Active < 0 || src.Error != nil {
			continue
		}
		e.forwardedSeq.Store(last - min(src.Lag, last))
		e.hubAsked.Store(time.Now().UnixNano())
	}
}

// EdgeStatus is store-and-forward's state for metrics and check.
type EdgeStatus struct {
	Enabled       bool
	LeafConnected bool
	LastSeq       uint64
	ForwardedSeq  uint64
	// HubAnswered is when the hub last said how far its source had got (zero: never).
	HubAnswered time.Time
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
		HubAnswered:   hubAnswered(b.edge.hubAsked.Load()),
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

func hubAnswered(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}

// redactURLs hides the passwords of comma-separated URLs (nats-leaf://user:pass@hub:7422), for
// messages and output.
// RedactPasswords replaces in msg (an error's text, say) every password of the comma-separated
// URLs in list.
func RedactPasswords(msg, list string) string {
	for _, raw := range strings.Split(list, ",") {
		if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				msg = strings.ReplaceAll(msg, p, "xxxxx")
			}
		}
	}
	return msg
}

// RedactURLs is a list of URLs with every password replaced, for printing.
func RedactURLs(list string) string { return redactURLs(list) }

func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		} else if at := strings.LastIndex(p, "@"); at >= 0 {
			parts[i] = "…" + p[at:] // not a URL, but it may still carry credentials
		}
	}
	return strings.Join(parts, ",")
}
