package bridge

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the bridge's Prometheus metrics, on a registry of their own (no globals).
type Metrics struct {
	Registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	rejections *prometheus.CounterVec
	publish    *prometheus.HistogramVec
	duplicates *prometheus.CounterVec
	unmapped   *prometheus.CounterVec
	replies    *prometheus.CounterVec
	inFlight   prometheus.Gauge
	// logSuppressed counts request log lines left out by sampling.
	logSuppressed prometheus.Counter
	// rejectionsDropped counts refused requests not kept (over the endpoint's rate, or NATS
	// too slow to take them).
	rejectionsDropped *prometheus.CounterVec
	// secretMatches counts verified requests by the index of the secret that matched.
	secretMatches *prometheus.CounterVec
	// retryAnswers counts the retry answers given, by reason (the event was not stored).
	retryAnswers *prometheus.CounterVec
	reloads      *prometheus.CounterVec
}

// endpointMetrics are one endpoint's metric children, looked up when the endpoint is routed
// instead of on every request; statuses and reasons (small, fixed sets) are kept as first seen.
type endpointMetrics struct {
	m          *Metrics
	id         string
	publish    prometheus.Observer
	duplicates prometheus.Counter
	unmapped   prometheus.Counter
	replies    map[string]prometheus.Counter // by outcome
	requests   sync.Map                      // status (int) → prometheus.Counter
	rejections sync.Map                      // reason (string) → prometheus.Counter
	secrets    sync.Map                      // index (int) → prometheus.Counter
	// lastSecret is 1 + the index of the secret that matched last (0: none yet), for the console.
	lastSecret atomic.Int32
}

// replyOutcomes are the outcomes bridge_replies_total counts.
var replyOutcomes = []string{"answered", "denied", "no_responders", "timeout", "error"}

func (m *Metrics) forEndpoint(id string) *endpointMetrics {
	e := &endpointMetrics{
		m:          m,
		id:         id,
		publish:    m.publish.WithLabelValues(id),
		duplicates: m.duplicates.WithLabelValues(id),
		unmapped:   m.unmapped.WithLabelValues(id),
		replies:    make(map[string]prometheus.Counter, len(replyOutcomes)),
	}
	for _, o := range replyOutcomes {
		e.replies[o] = m.replies.WithLabelValues(id, o)
	}
	return e
}

// secretMatch counts a verified request by the index of the secret that matched.
func (e *endpointMetrics) secretMatch(index int) {
	c, ok := e.secrets.Load(index)
	if !ok {
		c, _ = e.secrets.LoadOrStore(index, e.m.secretMatches.WithLabelValues(e.id, strconv.Itoa(index)))
	}
	c.(prometheus.Counter).Inc()
	e.lastSecret.Store(int32(index) + 1)
}

// request counts an answer with the given status.
func (e *endpointMetrics) request(status int) {
	c, ok := e.requests.Load(status)
	if !ok {
		c, _ = e.requests.LoadOrStore(status, e.m.requests.WithLabelValues(e.id, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

// rejection counts a refused request with the given reason.
func (e *endpointMetrics) rejection(reason string) {
	c, ok := e.rejections.Load(reason)
	if !ok {
		c, _ = e.rejections.LoadOrStore(reason, e.m.rejections.WithLabelValues(e.id, reason))
	}
	c.(prometheus.Counter).Inc()
}

// watchInflight exports the bytes requests hold (http.max_inflight_bytes) as a gauge.
func (m *Metrics) watchInflight(used func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_inflight_bytes", Help: "Bytes of request bodies being read or waiting to be stored (bounded by http.max_inflight_bytes).",
	}, used))
}

// watchConnections exports the webhook listener's open connections (http.max_connections).
func (m *Metrics) watchConnections(open func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_open_connections", Help: "Open connections of the webhook listener (bounded by http.max_connections).",
	}, open))
}

// LinkState is what the metrics report of the NATS side; *Broker has it, read without waiting
// on the connection.
type LinkState interface {
	Connected() bool
	StreamsRecreated() uint64
	ConnectionsRebuilt() uint64
	StreamStorage() (bytes, limit int64)
	Edge() EdgeStatus
}

// NewMetrics registers the bridge's metrics; link reports the NATS side's state.
func NewMetrics(link LinkState) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_requests_total", Help: "Webhook requests answered, by endpoint and HTTP status.",
		}, []string{"endpoint", "status"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_rejections_total", Help: "Webhook requests refused, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		publish: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bridge_publish_duration_seconds",
			Help:    "Time from publish to PubAck.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_duplicates_total", Help: "Events the stream already held (a provider's retry), acknowledged without a second message.",
		}, []string{"endpoint"}),
		unmapped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_unmapped_total", Help: "Authentic bodies published under the unmapped type.",
		}, []string{"endpoint"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_replies_total", Help: "Synchronous questions by outcome: answered, denied, no_responders, timeout, error.",
		}, []string{"endpoint", "outcome"}),
		rejectionsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_rejections_dropped_total", Help: "Refused requests not kept in the rejections stream: over the endpoint's rejections.rate, or NATS too slow to take them.",
		}, []string{"endpoint"}),
		secretMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_secret_matches_total", Help: "Verified requests by the 0-based index of the endpoint's secret that matched: when an old secret stops matching, it can go.",
		}, []string{"endpoint", "secret"}),
		retryAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_retry_answers_total", Help: "Retry answers given (the event was not stored; the provider sends it again), by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		logSuppressed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bridge_log_lines_suppressed_total", Help: "Log lines of refused requests and retry answers left out by sampling (every request is still counted in bridge_requests_total).",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bridge_requests_in_flight", Help: "Webhook requests being handled.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bridge_config_reloads_total", Help: "Configuration reloads by result: success, failure (the running configuration stayed).",
		}, []string{"result"}),
	}
	connectedGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_nats_connected", Help: "1 while the NATS connection is up.",
	}, func() float64 { return b2f(link.Connected()) })
	recreated := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bridge_stream_recreated_total", Help: "Times the stream was found missing (deleted under the running bridge) and created again.",
	}, func() float64 { return float64(link.StreamsRecreated()) })
	streamBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_stream_bytes", Help: "Bytes the event stream stores, as last checked.",
	}, func() float64 { b, _ := link.StreamStorage(); return float64(b) })
	streamMaxBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridge_stream_max_bytes", Help: "The event stream's byte limit (stream.max_bytes; -1: none), as last checked.",
	}, func() float64 { _, l := link.StreamStorage(); return float64(l) })
	rebuilt := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bridge_nats_connections_rebuilt_total", Help: "Times the NATS connection was closed for good (not just dropped) and a new one was built.",
	}, func() float64 { return float64(link.ConnectionsRebuilt()) })
	for _, result := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(result) // exported as 0 before the first reload
	}
	if link.Edge().Enabled {
		gauge := func(name, help string, value func(EdgeStatus) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return value(link.Edge()) })
		}
		m.Registry.MustRegister(
			gauge("bridge_edge_leaf_connected", "1 while the embedded server's leaf link to the hub is up (store-and-forward).",
				func(s EdgeStatus) float64 { return b2f(s.LeafConnected) }),
			gauge("bridge_edge_last_sequence", "The local stream's last sequence (store-and-forward).",
				func(s EdgeStatus) float64 { return float64(s.LastSeq) }),
			gauge("bridge_edge_forwarded_sequence", "The local sequence the hub had sourced up to when it last answered (store-and-forward).",
				func(s EdgeStatus) float64 { return float64(s.ForwardedSeq) }),
			gauge("bridge_edge_backlog", "Local messages not yet on the hub: last minus forwarded sequence (store-and-forward).",
				func(s EdgeStatus) float64 { return float64(s.Backlog()) }),
		)
	}
	m.Registry.MustRegister(m.requests, m.rejections, m.publish, m.duplicates, m.unmapped, m.replies, m.inFlight, m.logSuppressed, m.rejectionsDropped, m.secretMatches, m.retryAnswers, m.reloads,
		connectedGauge, recreated, rebuilt, streamBytes, streamMaxBytes, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
