package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// report is the outcome of a run, printed as text and optionally written as JSON.
type report struct {
	Mode        string  `json:"mode"` // "http", "baseline" or "jetstream"
	Target      string  `json:"target"`
	Provider    string  `json:"provider"`
	RunID       string  `json:"run_id"`
	Connections int     `json:"connections"`
	BodyBytes   int     `json:"body_bytes"`
	RateLimit   float64 `json:"rate_limit"` // requests/s; 0: none
	// LatencyFrom says where a request's latency starts: "send", or with a rate limit "slot",
	// when the pacer meant it to go (so time spent queued behind a stalled target counts).
	LatencyFrom string `json:"latency_from"`
	Retry       bool   `json:"retry"`

	DurationSeconds   float64       `json:"duration_seconds"`
	Requests          uint64        `json:"requests"`
	RequestsPerSecond float64       `json:"requests_per_second"`
	Events            uint64        `json:"events"`
	Latency           latencyReport `json:"latency_ms"`
	Answers           answers       `json:"answers"`
	FirstOther        string        `json:"first_other_answer,omitempty"`
	FirstError        string        `json:"first_transport_error,omitempty"`
	Interrupted       bool          `json:"interrupted,omitempty"`
	Exhausted         bool          `json:"prepared_requests_exhausted,omitempty"`
	CPU               []cpuUse      `json:"cpu,omitempty"`

	Stream *streamReport `json:"stream,omitempty"` // -verify-stream
	Raw    *rawReport    `json:"jetstream,omitempty"`
}

// latencyReport holds latencies in milliseconds.
type latencyReport struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func newLatencyReport(h *histogram) latencyReport {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 } // µs precision
	return latencyReport{
		P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: ms(h.Mean()),
	}
}

// newReport summarises an HTTP run.
func newReport(cfg *config, res *loadResult) *report {
	mode := "http"
	if cfg.baseline {
		mode = "baseline"
	}
	r := &report{
		Mode: mode, Target: cfg.url, Provider: cfg.provider.Name, RunID: cfg.runID,
		Connections: cfg.connections, BodyBytes: cfg.size, RateLimit: cfg.rate, LatencyFrom: latencyFrom(cfg.rate), Retry: cfg.retry,
		Requests: res.requests, Events: res.events, Answers: res.answers,
		FirstOther: res.firstOther, FirstError: res.firstError, Interrupted: res.interrupted,
		Exhausted: res.exhausted,
	}
	r.setTiming(res.elapsed, res.requests-res.answers.Aborted, res.latency)
	return r
}

// latencyFrom is where latencies start at a rate limit (see pacer).
func latencyFrom(rate float64) string {
	if rate > 0 {
		return "slot"
	}
	return "send"
}

func (r *report) setTiming(elapsed time.Duration, completed uint64, h *histogram) {
	r.DurationSeconds = math.Round(elapsed.Seconds()*1e3) / 1e3
	if elapsed > 0 {
		r.RequestsPerSecond = math.Round(float64(completed)/elapsed.Seconds()*10) / 10
	}
	r.Latency = newLatencyReport(h)
}

// verdict is errVerification when the stream broke the promise for this run.
func (r *report) verdict() error {
	if r.Stream != nil && r.Stream.failed() {
		return fmt.Errorf("%w: %d acknowledged events missing from stream %s, %d stored more than once",
			errVerification, r.Stream.Missing, r.Stream.Stream, r.Stream.Duplicated)
	}
	if r.Raw != nil && r.Raw.Missing > 0 {
		return fmt.Errorf("%w: %d acknowledged messages missing from stream %s", errVerification, r.Raw.Missing, r.Raw.Stream)
	}
	return nil
}

func (r *report) json() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // subject filters end in ">"
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
	return b.Bytes()
}

// write prints the report as text.
func (r *report) write(w io.Writer) {
	rate := "unlimited"
	if r.RateLimit > 0 {
		rate = strconv.FormatFloat(r.RateLimit, 'f', -1, 64) + "/s (latency from each request's slot)"
	}
	retry := "off"
	if r.Retry {
		retry = "on"
	}
	fmt.Fprintf(w, "loadgen %s  %s → %s  (run %s)\n", r.Mode, r.Provider, r.Target, r.RunID)
	fmt.Fprintf(w, "  %d connections, %d-byte bodies, rate %s, retry %s\n", r.Connections, r.BodyBytes, rate, retry)
	if r.Interrupted {
		fmt.Fprintln(w, "  interrupted: the run stopped early")
	}
	if r.Exhausted {
		fmt.Fprintln(w, "  every prepared request was sent before the time was up: the run ended early (-prepare-max)")
	}
	fmt.Fprintf(w, "duration      %.3fs\n", r.DurationSeconds)
	fmt.Fprintf(w, "requests      %d sent, %.1f/s\n", r.Requests, r.RequestsPerSecond)
	fmt.Fprintf(w, "events        %d distinct\n", r.Events)
	l := r.Latency
	fmt.Fprintf(w, "latency       p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)\n",
		fmtMS(l.P50), fmtMS(l.P90), fmtMS(l.P99), fmtMS(l.P999), fmtMS(l.Max), fmtMS(l.Mean))
	a := r.Answers
	if r.Raw != nil {
		fmt.Fprintf(w, "acks          ok %d  duplicate %d  errors %d", a.OK, r.Raw.Duplicates, a.Transport)
	} else {
		fmt.Fprintf(w, "answers       2xx %d  retry %d  other %d  transport errors %d", a.OK, a.Unavailable, a.Other, a.Transport)
	}
	if a.Aborted > 0 {
		fmt.Fprintf(w, "  aborted %d", a.Aborted)
	}
	fmt.Fprintln(w)
	if r.FirstOther != "" {
		fmt.Fprintf(w, "  first other answer: %s\n", r.FirstOther)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if s := r.Stream; s != nil {
		fmt.Fprintf(w, "stream        %s %s  acknowledged %d  stored %d  missing %d  duplicated %d  stored-without-2xx %d\n",
			s.Stream, s.Filter, s.Acknowledged, s.Stored, s.Missing, s.Duplicated, s.StoredWithout2xx)
		if s.OtherMessages > 0 {
			fmt.Fprintf(w, "  %d other messages on %s during the run (other runs or senders) not counted\n", s.OtherMessages, s.Filter)
		}
		if len(s.MissingIDs) > 0 {
			fmt.Fprintf(w, "  missing: %v\n", s.MissingIDs)
		}
		if len(s.DuplicatedIDs) > 0 {
			fmt.Fprintf(w, "  duplicated: %v\n", s.DuplicatedIDs)
		}
	}
	if s := r.Raw; s != nil {
		fmt.Fprintf(w, "stream        %s %s  acknowledged %d  stored %d  missing %d\n", s.Stream, s.Subject, a.OK, s.Stored, s.Missing)
	}
	for _, c := range r.CPU {
		fmt.Fprintf(w, "cpu           %-22s %7.2fs  %6.1f ms per 1,000 events\n", c.Name, c.CPUSeconds, c.MSPer1000)
	}
}

// fmtMS writes milliseconds with about three significant digits in a readable unit.
func fmtMS(ms float64) string {
	switch {
	case ms >= 1000:
		return sig3(ms/1000) + "s"
	case ms >= 1:
		return sig3(ms) + "ms"
	default:
		return sig3(ms*1000) + "µs"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
