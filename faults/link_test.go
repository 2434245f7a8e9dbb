package faults

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/internal/linkproxy"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// The NATS link misbehaving without closing cleanly (docs/how-it-works.md): a TCP proxy of our own
// between the bridge and a real nats-server goes silent, resets every connection, or adds
// latency, under steady load from clients that retry as providers do. Requests are answered
// within publish_timeout (+1 s; see checkAnsweredInTime), /readyz answers within a second (see
// checkAlwaysAnswered), and every event answered 2xx is stored exactly once.

// linkPublishTimeout is the bridge's publish_timeout in these tests.
const linkPublishTimeout = 2 * time.Second

// startBehindProxy starts a nats-server, a proxy in front of it and a bridge that reaches NATS
// only through the proxy.
func startBehindProxy(t *testing.T) (*natstest.Server, *linkproxy.Proxy, string) {
	t.Helper()
	ns := natstest.Start(t)
	proxy, err := linkproxy.Start(strings.TrimPrefix(ns.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	app := startBridge(t, configYAML("nats://"+proxy.Addr(), 1, linkPublishTimeout, ""))
	return ns, proxy, "http://" + app.Addr()
}

// readyProbe asks /readyz every 200 ms, as a Kubernetes probe with a 1 s timeout would, and
// records every answer.
type readyProbe struct {
	mu       sync.Mutex
	answers  []probeAnswer
	stop     chan struct{}
	finished chan struct{}
}

type probeAnswer struct {
	at     time.Time
	status int // 0: no answer within the probe's timeout
	took   time.Duration
}

func startReadyProbe(t *testing.T, base string) *readyProbe {
	t.Helper()
	p := &readyProbe{stop: make(chan struct{}), finished: make(chan struct{})}
	client := &http.Client{Timeout: time.Second}
	go func() {
		defer close(p.finished)
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			start := time.Now()
			status := 0
			if resp, err := client.Get(base + "/readyz"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			p.mu.Lock()
			p.answers = append(p.answers, probeAnswer{at: start, status: status, took: time.Since(start)})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop ends the probing (idempotent).
func (p *readyProbe) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.finished
}

// firstSince is the first answer with status want asked at or after t.
func (p *readyProbe) firstSince(t time.Time, want int) (probeAnswer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.answers {
		if !a.at.Before(t) && a.status == want {
			return a, true
		}
	}
	return probeAnswer{}, false
}

// checkAlwaysAnswered fails the test when /readyz went unanswered for more than a second twice in
// a row, or for more than one probe in 20. /readyz reads a cached state and never waits for NATS,
// so a handler blocked by the link fails probe after probe; one late answer in many is the busy
// machine the test runs on (the test, the bridge and nats-server share its cores), and a
// kubelet, too, acts only on consecutive failures (failureThreshold, 3 by default).
func (p *readyProbe) checkAlwaysAnswered(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var slowest time.Duration
	unanswered := 0
	for i, a := range p.answers {
		slowest = max(slowest, a.took)
		if a.status != 0 {
			continue
		}
		unanswered++
		t.Logf("/readyz asked at %s: no answer within 1 s", a.at.Format("15:04:05.000"))
		if i > 0 && p.answers[i-1].status == 0 {
			t.Errorf("/readyz asked at %s and the probe before: no answer within 1 s twice in a row", a.at.Format("15:04:05.000"))
		}
	}
	if unanswered*20 > len(p.answers) {
		t.Errorf("/readyz: %d of %d probes not answered within 1 s", unanswered, len(p.answers))
	}
	t.Logf("/readyz: %d probes, %d not answered within 1 s, slowest answer %s", len(p.answers), unanswered, slowest.Round(time.Millisecond))
}

// checkAnsweredInTime fails the test unless 99 % of the requests were answered within
// publish_timeout + 1 s, and every one within publish_timeout + 5 s, and none went unanswered.
// The promise is publish_timeout; the percentile holds it to that, since a bridge that waits too
// long does so for every request the fault catches (most requests during a partition wait the
// full publish_timeout). The slowest of thousands of answers is given more room: on a busy
// machine one request in many can wait seconds for a CPU (the test's clients, the bridge and
// nats-server share the cores with whatever else runs), and the wider bound still catches a
// request held far past its deadline. A request never answered is a transport error (the
// client gives up after 30 s).
func checkAnsweredInTime(t *testing.T, l *load) {
	t.Helper()
	c := l.snapshot()
	p99, n := l.waitQuantile(0.99)
	if limit := linkPublishTimeout + time.Second; p99 > limit {
		t.Errorf("p99 of %d answers took %s, more than publish_timeout + 1 s (%s)", n, p99.Round(time.Millisecond), limit)
	}
	if limit := linkPublishTimeout + 5*time.Second; c.slowest > limit {
		t.Errorf("slowest answer took %s, more than publish_timeout + 5 s (%s)", c.slowest.Round(time.Millisecond), limit)
	}
	if c.transport > 0 {
		t.Errorf("%d requests got no answer (transport errors)", c.transport)
	}
	t.Logf("answers: p99 %s of %d, slowest %s", p99.Round(time.Millisecond), n, c.slowest.Round(time.Millisecond))
}

// TestHalfOpenLink: the link goes silent for 45 s under steady load (nothing closes, no byte
// passes). The client's pings go unanswered, so it drops the link and keeps trying to reconnect;
// meanwhile every request gets its retry answer in time and /readyz says 503, always answering.
// When the link returns the bridge reconnects by itself.
func TestHalfOpenLink(t *testing.T) {
	ns, proxy, base := startBehindProxy(t)
	probe := startReadyProbe(t, base)
	l := startLoad(t, loadOptions{name: "halfopen", targets: []string{base}, workers: 8, retry: true})
	l.waitOK(200, 20*time.Second, "steady load before the partition")

	partition := 45 * time.Second
	if testing.Short() {
		partition = 12 * time.Second
	}
	silenced := time.Now()
	proxy.Silence(true)
	time.Sleep(partition)
	during := l.snapshot()
	proxy.Silence(false)
	healed := time.Now()

	recovery := waitFor(t, 30*time.Second, "a 2xx after the link returned", func() bool { return l.ok2xxSince(healed) })
	l.waitOK(200, 20*time.Second, "steady load after the partition")
	waitFor(t, 10*time.Second, "/readyz 200 after the link returned", func() bool {
		_, ok := probe.firstSince(healed, http.StatusOK)
		return ok
	})
	probe.Stop()

	notReady, ok := probe.firstSince(silenced, http.StatusServiceUnavailable)
	switch {
	case !ok:
		t.Errorf("/readyz never answered 503 during a %s partition", partition)
	case notReady.at.Sub(silenced) > 10*time.Second:
		t.Errorf("/readyz answered 503 only %s into the partition, want within 10 s", notReady.at.Sub(silenced).Round(time.Millisecond))
	default:
		t.Logf("/readyz 503 %s into the partition; first 2xx %s after the link returned; %s during it",
			notReady.at.Sub(silenced).Round(time.Millisecond), recovery.Round(time.Millisecond), during)
	}
	probe.checkAlwaysAnswered(t)
	checkAnsweredInTime(t, l)
	l.check(ns.Connect(t), "WEBHOOKS")
}

// TestResetStorm: every connection through the proxy is reset every 300 ms for 10 s.
func TestResetStorm(t *testing.T) {
	ns, proxy, base := startBehindProxy(t)
	probe := startReadyProbe(t, base)
	l := startLoad(t, loadOptions{name: "resets", targets: []string{base}, workers: 8, retry: true})
	l.waitOK(200, 20*time.Second, "steady load before the resets")
	storm := 10 * time.Second
	if testing.Short() {
		storm = 3 * time.Second
	}
	resets := 0
	for end := time.Now().Add(storm); time.Now().Before(end); resets++ {
		proxy.Reset()
		time.Sleep(300 * time.Millisecond)
	}
	calm := time.Now()
	waitFor(t, 30*time.Second, "a 2xx after the storm", func() bool { return l.ok2xxSince(calm) })
	l.waitOK(200, 20*time.Second, "steady load after the storm")
	probe.Stop()
	t.Logf("%d resets", resets)
	probe.checkAlwaysAnswered(t)
	checkAnsweredInTime(t, l)
	l.check(ns.Connect(t), "WEBHOOKS")
}

// TestAddedLatency: 60 ms each way on the link. Slower, but every event answered 2xx, in time,
// and stored once.
func TestAddedLatency(t *testing.T) {
	ns, proxy, base := startBehindProxy(t)
	proxy.SetLatency(60 * time.Millisecond)
	l := startLoad(t, loadOptions{name: "latency", targets: []string{base}, workers: 8, retry: true})
	l.waitOK(300, 30*time.Second, "load over a slow link")
	c := l.snapshot()
	if c.unavailable > 0 || c.other > 0 {
		t.Errorf("a slow but working link: %s", c)
	}
	checkAnsweredInTime(t, l)
	l.check(ns.Connect(t), "WEBHOOKS")
}

// TestStreamDeletedUnderLoad: an operator deletes the stream under a running bridge. The bridge
// answers the retry answer (never a 2xx for an event it did not store), creates the stream again
// with its configuration, counts it, and carries on without a restart.
func TestStreamDeletedUnderLoad(t *testing.T) {
	ns := natstest.Start(t)
	app := startBridge(t, configYAML(ns.URL(), 1, linkPublishTimeout, ""))
	base := "http://" + app.Addr()
	l := startLoad(t, loadOptions{name: "deleted", targets: []string{base}, workers: 8, retry: true})
	l.waitOK(200, 20*time.Second, "steady load before the deletion")

	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, "WEBHOOKS"); err != nil {
		t.Fatalf("delete the stream: %v", err)
	}
	deleted := time.Now()
	l.streamDeletedAt(deleted)
	recovery := waitFor(t, 10*time.Second, "a 2xx after the stream was deleted", func() bool { return l.ok2xxSince(deleted) })
	l.waitOK(200, 20*time.Second, "steady load after the stream came back")
	t.Logf("first 2xx %s after the deletion", recovery.Round(time.Millisecond))

	s, err := js.Stream(ctx, "WEBHOOKS")
	if err != nil {
		t.Fatalf("stream after the deletion: %v", err)
	}
	if cfg := s.CachedInfo().Config; cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 24*time.Hour ||
		len(cfg.Subjects) != 1 || cfg.Subjects[0] != "webhooks.>" {
		t.Errorf("stream created again with storage %v, duplicate window %s, subjects %v; want the configured ones",
			cfg.Storage, cfg.Duplicates, cfg.Subjects)
	}
	if got := metricValue(t, base, "bridge_stream_recreated_total"); got < 1 {
		t.Errorf("bridge_stream_recreated_total = %v, want at least 1", got)
	}
	checkAnsweredInTime(t, l)
	l.check(ns.Connect(t), "WEBHOOKS")
}

// metricValue reads one unlabelled sample from base's /metrics.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
