package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The hub stream of store-and-forward mode: no subjects of its own, one source per replica
// domain. It has exactly one writer, `bridge hub apply`: replicas never edit it, because two
// read-modify-write updates racing each other lose sources.

// EdgeDomains names the domains of n replicas: edge-0 … edge-(n-1), as a StatefulSet's ordinals
// would give them.
func EdgeDomains(n int) []string {
	domains := make([]string, n)
	for i := range domains {
		domains[i] = fmt.Sprintf("edge-%d", i)
	}
	return domains
}

// edgeAPIPrefix is where a replica's JetStream API answers from the hub's side of the leaf link.
func edgeAPIPrefix(domain string) string { return "$JS." + domain + ".API" }

// HubStream is the hub stream's configuration for the given replica domains.
func HubStream(cfg *Config, domains []string) jetstream.StreamConfig {
	s := cfg.Stream
	sources := make([]*jetstream.StreamSource, 0, len(domains))
	for _, d := range domains {
		sources = append(sources, &jetstream.StreamSource{
			Name: s.EdgeStreamName(),
			// From the first message: a source added to a stream that already holds messages
			// otherwise starts at the hub's own next sequence and skips the replica's backlog.
			OptStartSeq: 1,
			External:    &jetstream.ExternalStream{APIPrefix: edgeAPIPrefix(d)},
		})
	}
	c := jetstream.StreamConfig{
		Name:      s.Name,
		Storage:   jetstream.FileStorage,
		Replicas:  s.Replicas,
		MaxAge:    s.MaxAge,
		Retention: jetstream.LimitsPolicy,
		// Stated, not left to the default: a stream with sources and no subjects gets no
		// duplicate window of its own, and a retry that reached two replicas is one event only
		// if the hub drops the second copy by its Nats-Msg-Id.
		Duplicates: s.DuplicateWindow,
		Sources:    sources,
	}
	if s.MaxBytes > 0 {
		// Full: the hub stops sourcing until room frees; the events wait in the replicas'
		// local streams (their own max_age and max_bytes), never dropped here.
		c.MaxBytes, c.Discard = int64(s.MaxBytes), jetstream.DiscardNew
	}
	return c
}

// HubJetStream is JetStream in the hub's domain, reached from nc (the hub itself, or a replica's
// embedded server through its leaf link).
func HubJetStream(nc *nats.Conn, cfg *Config) (jetstream.JetStream, error) {
	js, err := jetstream.NewWithDomain(nc, cfg.NATS.Embedded.Leaf.HubDomain)
	if err != nil {
		return nil, fmt.Errorf("hub JetStream (domain %s): %w", cfg.NATS.Embedded.Leaf.HubDomain, err)
	}
	return js, nil
}

// ApplyHub creates the hub stream, or updates it to exactly the given sources, and says what it
// changed. Running it twice changes nothing the second time.
func ApplyHub(ctx context.Context, js jetstream.JetStream, cfg *Config, domains []string, out io.Writer) error {
	want := HubStream(cfg, domains)
	s, err := js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if _, err := js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("create hub stream %s: %w", want.Name, err)
		}
		fmt.Fprintf(out, "created hub stream %s with sources from %s\n", want.Name, strings.Join(domains, ", "))
		return nil
	case err != nil:
		return fmt.Errorf("hub stream %s: %w (is the hub reachable, in domain %s?)", want.Name, err, cfg.NATS.Embedded.Leaf.HubDomain)
	}
	have := s.CachedInfo().Config
	if len(have.Subjects) > 0 {
		return fmt.Errorf("stream %s on the hub has subjects %v: it is not a store-and-forward hub stream", want.Name, have.Subjects)
	}
	// Sources the bridge does not manage (another stream an operator added) are kept as they are.
	for _, src := range have.Sources {
		if src.Name != cfg.Stream.EdgeStreamName() || src.External == nil {
			want.Sources = append(want.Sources, src)
		}
	}
	haveDomains := sourceDomains(have.Sources, cfg.Stream.EdgeStreamName())
	var added, removed []string
	for _, d := range domains {
		if !slices.Contains(haveDomains, d) {
			added = append(added, d)
		}
	}
	for _, d := range haveDomains {
		if !slices.Contains(domains, d) {
			removed = append(removed, d)
		}
	}
	// Keep what the server filled in for sources that stay (their start sequence was 1 when
	// they were added; resending it is harmless, but other fields may differ by version).
	if len(added) == 0 && len(removed) == 0 && have.Replicas == want.Replicas && have.MaxAge == want.MaxAge &&
		have.Duplicates == want.Duplicates {
		fmt.Fprintf(out, "hub stream %s is up to date (sources from %s)\n", want.Name, strings.Join(domains, ", "))
		return nil
	}
	if _, err := js.UpdateStream(ctx, want); err != nil {
		return fmt.Errorf("update hub stream %s: %w", want.Name, err)
	}
	fmt.Fprintf(out, "updated hub stream %s: sources added %v, removed %v; replicas %d, max age %s, duplicate window %s\n",
		want.Name, added, removed, want.Replicas, want.MaxAge, want.Duplicates)
	if len(removed) > 0 {
		fmt.Fprintln(out, "warning: a removed replica's events not yet forwarded stay in its local stream; drain a replica before removing its source")
	}
	return nil
}

// sourceDomains lists the replica domains a hub stream sources edgeStream from.
func sourceDomains(sources []*jetstream.StreamSource, edgeStream string) []string {
	var domains []string
	for _, src := range sources {
		if src.Name != edgeStream || src.External == nil {
			continue
		}
		if d, ok := strings.CutPrefix(src.External.APIPrefix, "$JS."); ok {
			if d, ok = strings.CutSuffix(d, ".API"); ok {
				domains = append(domains, d)
			}
		}
	}
	return domains
}
