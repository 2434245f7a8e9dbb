package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Check validates what a configuration needs at run time — NATS reachable, the stream present
// with the configured settings — and prints what the bridge would serve. The configuration
// itself was checked when it was compiled.
func Check(ctx context.Context, plan *Plan, out io.Writer) error {
	cfg := plan.cfg
	var problems []error
	fmt.Fprintf(out, "listen:   %s (tls: %v)\n", cfg.HTTP.Listen, cfg.HTTP.TLS.CertFile != "")
	fmt.Fprintf(out, "stream:   %s, subjects %s.>, replicas %d, max age %s, duplicate window %s, max bytes %s\n",
		cfg.Stream.Name, cfg.Stream.SubjectPrefix, cfg.Stream.Replicas, cfg.Stream.MaxAge, cfg.Stream.DuplicateWindow, streamCap(int64(cfg.Stream.MaxBytes)))
	if cfg.NATS.StoreAndForward() {
		e := cfg.NATS.Embedded
		fmt.Fprintf(out, "nats:     store-and-forward: embedded leaf on %s, domain %s, local stream %s (max age %s, max bytes %d, duplicate window %s), hub %s (domain %s)\n",
			e.Listen, e.Domain, cfg.Stream.EdgeStreamName(), e.Edge.MaxAge, e.Edge.MaxBytes, e.Edge.DuplicateWindow, redactURLs(e.Leaf.URL), e.Leaf.HubDomain)
		problems = append(problems, checkStoreAndForward(ctx, cfg, out)...)
	} else if cfg.NATS.URL == "" {
		fmt.Fprintf(out, "nats:     embedded server on %s, store %s\n", cfg.NATS.Embedded.Listen, cfg.NATS.Embedded.StoreDir)
		if ln, err := net.Listen("tcp", cfg.NATS.Embedded.Listen); err != nil {
			problems = append(problems, fmt.Errorf("nats.embedded.listen: %w", err))
		} else {
			ln.Close()
		}
	} else {
		fmt.Fprintf(out, "nats:     %s\n", RedactURLs(cfg.NATS.URL))
		problems = append(problems, checkRemote(ctx, cfg, out)...)
	}
	fmt.Fprintln(out, "endpoints:")
	for i, c := range cfg.Endpoints {
		ep := plan.endpoints[i]
		fmt.Fprintf(out, "  POST /webhooks/%s  provider %s  subjects %s.%s.>  type %s.*\n",
			ep.ID, c.Provider, cfg.Stream.SubjectPrefix, ep.ID, ep.TypePrefix)
		if c.ReplyEvents != nil && len(*c.ReplyEvents) > 0 {
			for _, t := range *c.ReplyEvents {
				fmt.Fprintf(out, "    question %s → request on %s (timeout %s)\n", t, ep.ReplySubject(t), c.ReplyTimeout)
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		fmt.Fprintf(out, "problems:\n%v\n", err)
		return fmt.Errorf("check found %d problem(s)", len(problems))
	}
	fmt.Fprintln(out, "ok")
	return nil
}

func checkRemote(ctx context.Context, cfg *Config, out io.Writer) []error {
	opts, err := remoteAuth(cfg.NATS)
	if err != nil {
		return []error{err}
	}
	nc, err := nats.Connect(cfg.NATS.URL, append(opts, nats.Timeout(5*time.Second))...)
	if err != nil {
		return []error{fmt.Errorf("nats.url: connect: %s", RedactPasswords(err.Error(), cfg.NATS.URL))}
	}
	defer nc.Close()
	fmt.Fprintf(out, "          connected to %s (max_payload %d)\n", nc.ConnectedUrlRedacted(), nc.MaxPayload())
	var problems []error
	if limit := EffectiveBodyLimit(cfg.HTTP.MaxBodyBytes, nc.MaxPayload()); limit < cfg.HTTP.MaxBodyBytes {
		fmt.Fprintf(out, "          warning: max_payload lowers the body limit to %d bytes\n", limit)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return []error{fmt.Errorf("nats: JetStream: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, cfg.Stream.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		fmt.Fprintf(out, "          stream %s does not exist yet: the bridge will create it\n", cfg.Stream.Name)
		return nil
	}
	if err != nil {
		return []error{fmt.Errorf("stream.name: %s: %w", cfg.Stream.Name, err)}
	}
	have := stream.CachedInfo().Config
	want := cfg.Stream.SubjectPrefix + ".>"
	if !slices.Contains(have.Subjects, want) {
		problems = append(problems, fmt.Errorf("stream.subject_prefix: stream %s has subjects %s, not %s", have.Name, strings.Join(have.Subjects, ","), want))
	}
	if have.Storage != jetstream.FileStorage {
		problems = append(problems, fmt.Errorf("stream.name: stream %s uses %s storage, not file", have.Name, have.Storage))
	}
	diff := func(field string, h, w any) {
		if h != w {
			fmt.Fprintf(out, "          %s: stream has %v, configured %v: the bridge will update it\n", field, h, w)
		}
	}
	diff("stream.replicas", have.Replicas, cfg.Stream.Replicas)
	diff("stream.max_age", have.MaxAge, cfg.Stream.MaxAge)
	diff("stream.duplicate_window", have.Duplicates, cfg.Stream.DuplicateWindow)
	// The cap and the discard policy the bridge sets: with a cap, a full stream refuses new events.
	target := publishStream(cfg)
	diff("stream.max_bytes", streamCap(have.MaxBytes), streamCap(target.MaxBytes))
	diff("stream discard policy (set by stream.max_bytes)", discardText(have.Discard), discardText(target.Discard))
	return problems
}

// streamCap reads a stream's max_bytes: the server reports no cap as -1, the configuration as 0.
func streamCap(n int64) string {
	if n <= 0 {
		return "no cap"
	}
	return fmt.Sprintf("%d bytes", n)
}

// discardText names a discard policy as NATS configurations do.
func discardText(d jetstream.DiscardPolicy) string {
	if d == jetstream.DiscardNew {
		return "discard new"
	}
	return "discard old"
}

// checkStoreAndForward asks the running replica's embedded server how forwarding stands: the
// local stream, the leaf link and, through it, whether the hub stream sources this replica.
func checkStoreAndForward(ctx context.Context, cfg *Config, out io.Writer) []error {
	e := cfg.NATS.Embedded
	nc, err := nats.Connect("nats://"+e.Listen, nats.Timeout(3*time.Second))
	if err != nil {
		return []error{fmt.Errorf("nats.embedded.listen: this replica's embedded server does not answer on %s (is the bridge running?): %w", e.Listen, err)}
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var problems []error
	local, err := jetstream.New(nc)
	if err != nil {
		return []error{fmt.Errorf("local JetStream: %w", err)}
	}
	edge, err := local.Stream(ctx, cfg.Stream.EdgeStreamName())
	if err != nil {
		problems = append(problems, fmt.Errorf("local stream %s: %w", cfg.Stream.EdgeStreamName(), err))
	} else {
		info := edge.CachedInfo()
		fmt.Fprintf(out, "          local stream %s: %d messages, %d bytes (of %d), last sequence %d\n",
			info.Config.Name, info.State.Msgs, info.State.Bytes, info.Config.MaxBytes, info.State.LastSeq)
	}
	hub, err := HubJetStream(nc, cfg)
	if err != nil {
		return append(problems, err)
	}
	s, err := hub.Stream(ctx, cfg.Stream.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return append(problems, fmt.Errorf("hub: stream %s does not exist: run bridge hub apply", cfg.Stream.Name))
	case err != nil:
		return append(problems, fmt.Errorf("hub (domain %s) unreachable through the leaf link: %w", e.Leaf.HubDomain, err))
	}
	info := s.CachedInfo()
	domains := sourceDomains(info.Config.Sources, cfg.Stream.EdgeStreamName())
	fmt.Fprintf(out, "          hub stream %s: %d messages, sources from %s\n", info.Config.Name, info.State.Msgs, strings.Join(domains, ", "))
	if !slices.Contains(domains, e.Domain) {
		return append(problems, fmt.Errorf("hub: stream %s has no source for this replica (domain %s): run bridge hub apply with it", cfg.Stream.Name, e.Domain))
	}
	for _, src := range info.Sources {
		if src.External != nil && src.External.APIPrefix == edgeAPIPrefix(e.Domain) {
			fmt.Fprintf(out, "          hub's source for %s: lag %d, last active %s ago (the hub keeps its last lag while the link is down: compare the local last sequence with bridge_edge_forwarded_sequence)\n",
				e.Domain, src.Lag, src.Active.Round(time.Millisecond))
		}
	}
	return problems
}

// ConnectClient connects to the NATS a compiled configuration names, as a client of a running
// bridge would (`bridge rejections`): the remote server with the configuration's credentials and
// TLS, or the embedded server's client address. It starts nothing.
func ConnectClient(plan *Plan) (*nats.Conn, error) {
	cfg := plan.cfg
	url := cfg.NATS.URL
	var opts []nats.Option
	if url == "" {
		url = "nats://" + cfg.NATS.Embedded.Listen
	} else {
		var err error
		if opts, err = remoteAuth(cfg.NATS); err != nil {
			return nil, err
		}
	}
	nc, err := nats.Connect(url, append(opts, nats.Name("webhook-bridge-cli"), nats.Timeout(5*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %s", RedactURLs(url), RedactPasswords(err.Error(), url))
	}
	return nc, nil
}
