package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/internal/streamcheck"
)

// streamReport is what the stream holds of a run's events.
type streamReport struct {
	Stream string `json:"stream"`
	Filter string `json:"filter"`
	// Acknowledged events were answered 2xx (at least once); Stored ones are in the stream.
	Acknowledged int `json:"acknowledged"`
	Stored       int `json:"stored"`
	// Missing: answered 2xx but not stored, a broken promise. Duplicated: stored more than once.
	Missing    int `json:"missing"`
	Duplicated int `json:"duplicated"`
	// StoredWithout2xx: stored although no answer was 2xx (the PubAck or the answer was lost,
	// or the run ended before a retry); allowed, as the provider would retry it.
	StoredWithout2xx int `json:"stored_without_2xx"`
	// OtherMessages arrived on the filter during the run but are not this run's events.
	OtherMessages int      `json:"other_messages"`
	MissingIDs    []string `json:"missing_ids,omitempty"`
	DuplicatedIDs []string `json:"duplicated_ids,omitempty"`
}

// failed reports whether the stream broke the promise for this run.
func (s *streamReport) failed() bool { return s.Missing > 0 || s.Duplicated > 0 }

// connectNATS connects to url for the stream check or the raw publish.
func connectNATS(url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts = append([]nats.Option{nats.Name("loadgen"), nats.Timeout(5 * time.Second)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// streamLastSeq returns the stream's last sequence (0 when it does not exist yet), so the check
// after the run reads only what came after it.
func streamLastSeq(ctx context.Context, cfg *config) (uint64, error) {
	nc, js, err := connectNATS(cfg.verifyURL)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	s, err := js.Stream(ctx, cfg.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", cfg.stream, err)
	}
	return s.CachedInfo().State.LastSeq, nil
}

// verifyStream reads, with an ordered consumer and headers only, every message on the
// endpoint's subjects stored after startSeq, and counts how many times each of records' events
// is there (by endpoint and CloudEvents id); messages of other runs or senders are only counted.
func verifyStream(ctx context.Context, cfg *config, startSeq uint64, records []eventRecord) (*streamReport, error) {
	nc, js, err := connectNATS(cfg.verifyURL)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	stored, err := streamcheck.EventKeys(ctx, js, cfg.stream, cfg.subjectFilter(), startSeq)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int, len(records))
	for _, r := range records {
		counts[r.msgID] = stored[r.msgID]
		delete(stored, r.msgID)
	}
	other := 0
	for _, n := range stored {
		other += n
	}
	rep := tally(records, counts)
	rep.Stream, rep.Filter, rep.OtherMessages = cfg.stream, cfg.subjectFilter(), other
	return rep, nil
}

// tally compares what was acknowledged with what is stored: counts holds, for each event id of
// the run, how many messages carry it.
func tally(records []eventRecord, counts map[string]int) *streamReport {
	const sample = 10
	rep := &streamReport{}
	for _, r := range records {
		stored := counts[r.msgID]
		if r.acked {
			rep.Acknowledged++
		}
		if stored > 0 {
			rep.Stored++
		}
		switch {
		case r.acked && stored == 0:
			rep.Missing++
			if len(rep.MissingIDs) < sample {
				rep.MissingIDs = append(rep.MissingIDs, r.msgID)
			}
		case !r.acked && stored > 0:
			rep.StoredWithout2xx++
		}
		if stored > 1 {
			rep.Duplicated++
			if len(rep.DuplicatedIDs) < sample {
				rep.DuplicatedIDs = append(rep.DuplicatedIDs, r.msgID)
			}
		}
	}
	return rep
}
