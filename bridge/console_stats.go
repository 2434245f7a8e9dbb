package bridge

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// What each endpoint did in the last five minutes, for the console: the bridge's own counters
// (bridge_requests_total, bridge_rejections_total, bridge_retry_answers_total,
// bridge_secret_matches_total) are read every statsInterval into a ring covering statsWindow, so
// the Endpoints view follows within a second. The webhook path only counts, as it always did;
// reading the counters takes their read locks, once a second.

const (
	statsInterval = time.Second
	statsWindow   = 5 * time.Minute
)

// endpointCounts are one endpoint's counters at one moment.
type endpointCounts struct {
	accepted, rejected, retry float64
	secrets                   map[int]float64 // verified requests by the index of the secret that matched
}

// statsSample is every endpoint's counters at one moment.
type statsSample struct {
	at     time.Time
	counts map[string]*endpointCounts
}

// endpointStats samples the counters while the admin listener runs.
type endpointStats struct {
	m   *Metrics
	now func() time.Time

	mu   sync.Mutex
	ring []statsSample // oldest first
	// lastSecret is, by endpoint, the secret that matched in the latest interval in which one did.
	lastSecret map[string]int
	stop, done chan struct{}
}

func startEndpointStats(m *Metrics) *endpointStats {
	s := &endpointStats{m: m, now: time.Now, lastSecret: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(statsInterval)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *endpointStats) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// sample reads the counters into the ring.
func (s *endpointStats) sample() {
	cur := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.ring); n > 0 {
		for id, i := range secretRises(s.ring[n-1], cur) {
			s.lastSecret[id] = i
		}
	}
	s.ring = append(s.ring, cur)
	if keep := int(statsWindow/statsInterval) + 1; len(s.ring) > keep {
		s.ring = append(s.ring[:0:0], s.ring[len(s.ring)-keep:]...)
	}
}

// read takes every endpoint's counters now.
func (s *endpointStats) read() statsSample {
	sample := statsSample{at: s.now(), counts: map[string]*endpointCounts{}}
	get := func(id string) *endpointCounts {
		c := sample.counts[id]
		if c == nil {
			c = &endpointCounts{secrets: map[int]float64{}}
			sample.counts[id] = c
		}
		return c
	}
	readCounters(s.m.requests, func(l map[string]string, v float64) {
		if strings.HasPrefix(l["status"], "2") {
			get(l["endpoint"]).accepted += v
		}
	})
	readCounters(s.m.rejections, func(l map[string]string, v float64) { get(l["endpoint"]).rejected += v })
	readCounters(s.m.retryAnswers, func(l map[string]string, v float64) { get(l["endpoint"]).retry += v })
	readCounters(s.m.secretMatches, func(l map[string]string, v float64) {
		if i, err := strconv.Atoi(l["secret"]); err == nil {
			get(l["endpoint"]).secrets[i] += v
		}
	})
	return sample
}

// readCounters calls f with the labels and value of every counter c holds.
func readCounters(c prometheus.Collector, f func(labels map[string]string, value float64)) {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		labels := make(map[string]string, len(d.Label))
		for _, l := range d.Label {
			labels[l.GetName()] = l.GetValue()
		}
		f(labels, d.Counter.GetValue())
	}
}

// secretRises is, by endpoint, the secret whose count rose most from before to after (on a
// tie, the later one in the list: a rotation adds the new secret after the old).
func secretRises(before, after statsSample) map[string]int {
	rises := map[string]int{}
	for id, c := range after.counts {
		best, bestRise := -1, 0.0
		for i, v := range c.secrets {
			var was float64
			if b := before.counts[id]; b != nil {
				was = b.secrets[i]
			}
			if rise := v - was; rise > 0 && (rise > bestRise || rise == bestRise && i > best) {
				best, bestRise = i, rise
			}
		}
		if best >= 0 {
			rises[id] = best
		}
	}
	return rises
}

// endpointWindow is what an endpoint did in the last statsWindow.
type endpointWindow struct {
	Accepted, Rejected, Retry int64
	// Secret is the index of the secret that matched last; -1: none seen since the start.
	Secret int
}

// window is every endpoint's counts over the last statsWindow: the counters now, less the
// oldest sample inside the window.
func (s *endpointStats) window() map[string]endpointWindow {
	cur := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	var base statsSample
	for _, smp := range s.ring {
		if cur.at.Sub(smp.at) <= statsWindow {
			base = smp
			break
		}
	}
	var latest statsSample
	if n := len(s.ring); n > 0 {
		latest = s.ring[n-1]
	}
	rises := secretRises(latest, cur)
	out := make(map[string]endpointWindow, len(cur.counts))
	for id, c := range cur.counts {
		w := endpointWindow{Accepted: int64(c.accepted), Rejected: int64(c.rejected), Retry: int64(c.retry), Secret: -1}
		if b := base.counts[id]; b != nil {
			w.Accepted -= int64(b.accepted)
			w.Rejected -= int64(b.rejected)
			w.Retry -= int64(b.retry)
		}
		if i, ok := rises[id]; ok {
			w.Secret = i
		} else if i, ok := s.lastSecret[id]; ok {
			w.Secret = i
		}
		out[id] = w
	}
	return out
}
