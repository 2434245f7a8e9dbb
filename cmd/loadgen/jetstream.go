package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The raw publish mode measures what the NATS server itself can take: the same messages the
// bridge would publish, in the same way (asynchronous publishes, each of -c goroutines waiting
// for its own PubAck, so acknowledgements are batched across them), without HTTP in between.

const (
	rawStream  = "LOADGEN_RAW"
	rawSubject = "loadgen.raw"
)

// rawReport is what the stream holds after a raw publish run.
type rawReport struct {
	Stream     string `json:"stream"`
	Subject    string `json:"subject"`
	Stored     uint64 `json:"stored"`
	Missing    uint64 `json:"missing"`    // acknowledged but not stored
	Duplicates uint64 `json:"duplicates"` // PubAcks that said "duplicate"
}

// publishLoad publishes to stream LOADGEN_RAW (created when absent, deleted at the end) for the
// run's duration or count.
func publishLoad(ctx context.Context, cfg *config) (*report, error) {
	nc, js, err := connectNATS(cfg.rawURL)
	if err != nil {
		return nil, fmt.Errorf("-jetstream-publish: %w", err)
	}
	defer nc.Close()
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     rawStream,
		Subjects: []string{rawSubject + ".>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("-jetstream-publish: stream %s: %w", rawStream, err)
	}
	before := stream.CachedInfo().State.Msgs
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = js.DeleteStream(dctx, rawStream)
	}()

	p := &rawPublish{cfg: cfg, js: js, work: cfg.workload(), pacer: newPacer(cfg.rate)}
	p.subject = rawSubject + "." + strings.ReplaceAll(p.work.eventType, ".", "_")
	meter := startCPUMeter(cfg.cpuPIDs)
	res := p.run(ctx)
	cpu := meter.stop(res.answers.OK)

	r := &report{
		Mode: "jetstream", Target: cfg.rawURL, Provider: cfg.provider.Name, RunID: cfg.runID,
		Connections: cfg.connections, BodyBytes: cfg.size, RateLimit: cfg.rate, LatencyFrom: latencyFrom(cfg.rate),
		Requests: res.requests, Events: res.events, Answers: res.answers,
		FirstError: res.firstError, Interrupted: res.interrupted,
		Raw: &rawReport{Stream: rawStream, Subject: p.subject, Duplicates: p.duplicates.Load()},
		CPU: cpu,
	}
	r.setTiming(res.elapsed, res.requests-res.answers.Aborted, res.latency)
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	info, err := stream.Info(ictx)
	if err != nil {
		return nil, fmt.Errorf("-jetstream-publish: stream %s: %w", rawStream, err)
	}
	r.Raw.Stored = info.State.Msgs - before
	if acked := res.answers.OK - r.Raw.Duplicates; acked > r.Raw.Stored {
		r.Raw.Missing = acked - r.Raw.Stored
	}
	return r, nil
}

type rawPublish struct {
	cfg        *config
	js         jetstream.JetStream
	work       *workload
	pacer      *pacer
	subject    string
	next       atomic.Uint64
	duplicates atomic.Uint64
}

func (p *rawPublish) run(ctx context.Context) *loadResult {
	return runWorkers(ctx, p.cfg, p.work1)
}

func (p *rawPublish) work1(ctx, sending context.Context, w *worker) {
	source := "/webhooks/" + p.cfg.endpoint
	ceType := p.cfg.provider.TypePrefix + "." + p.work.eventType
	for sending.Err() == nil {
		n := p.next.Add(1) - 1
		if p.cfg.count > 0 && n >= p.cfg.count {
			return
		}
		due, err := p.pacer.wait(sending)
		if err != nil {
			return
		}
		now := time.Now()
		ev := p.work.event(n, now)
		id := "load_" + p.cfg.runID + "_" + strconv.FormatUint(n, 10)
		// The headers of a binary-mode CloudEvent, as the bridge sends them.
		msg := &nats.Msg{Subject: p.subject, Data: ev.body, Header: nats.Header{
			"ce-specversion":     {"1.0"},
			"ce-id":              {id},
			"ce-source":          {source},
			"ce-type":            {ceType},
			"ce-time":            {now.UTC().Format(time.RFC3339)},
			"ce-datacontenttype": {"application/json"},
		}}
		w.events++
		w.requests++
		start := due // paced: from the slot (see pacer)
		if start.IsZero() {
			start = time.Now()
		}
		ack, err := p.publish(ctx, msg, p.cfg.endpoint+":"+id)
		switch {
		case err == nil:
			w.latency.Record(time.Since(start))
			w.answers.OK++
			if ack.Duplicate {
				p.duplicates.Add(1)
			}
		case ctx.Err() != nil:
			w.answers.Aborted++
		default:
			w.answers.Transport++
			if w.firstError == "" {
				w.firstError = err.Error()
			}
		}
	}
}

// publish publishes msg asynchronously and waits for its own PubAck, as the bridge does.
func (p *rawPublish) publish(ctx context.Context, msg *nats.Msg, msgID string) (*jetstream.PubAck, error) {
	fut, err := p.js.PublishMsgAsync(msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(p.cfg.timeout)
	defer timer.Stop()
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, err
	case <-timer.C:
		return nil, errors.New("no PubAck within -timeout")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
