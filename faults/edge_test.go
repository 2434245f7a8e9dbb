package faults

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/linkproxy"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/streamcheck"
)

// Store-and-forward mode under faults: each bridge's embedded server is a leaf of a hub (one
// nats-server, or a three-node cluster with an R3 stream), events are acknowledged from the local
// stream, and the hub stream sources them. While the hub is away providers get 2xx, not their
// retry answer; afterwards every event answered 2xx is on the hub exactly once, in order per
// replica.

// edgeYAML is a bridge in store-and-forward mode: an embedded leaf of leafURL with domain, its
// store in storeDir; edge is the nats.embedded.edge block (may be empty).
func edgeYAML(leafURL, domain, storeDir, edge, level string) string {
	if edge == "" {
		edge = "{}"
	}
	return fmt.Sprintf(`http:
  listen: "127.0.0.1:0"
nats:
  publish_timeout: 2s
  embedded:
    listen: "127.0.0.1:0"
    store_dir: %q
    domain: %s
    leaf: { url: %q }
    edge: %s
log:
  level: %s
  format: json
stream:
  replicas: 1
endpoints:
  - id: aghanim
    provider: aghanim
    secrets: ["${FAULTS_AGHANIM_SECRET}"]
`, storeDir, domain, leafURL, edge, level)
}

// hubApply creates (or updates) the hub stream with sources from domains, through nc (a hub
// connection), as `bridge hub apply` does; replicas is the hub stream's.
func hubApply(t *testing.T, nc *nats.Conn, replicas int, domains ...string) {
	t.Helper()
	cfg, err := bridge.ParseConfig(strings.NewReader(edgeYAML("nats-leaf://hub:7422", "edge-0", "/unused", "", "warn")), getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Stream.Replicas = replicas
	js, err := bridge.HubJetStream(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out strings.Builder
	for {
		err := bridge.ApplyHub(ctx, js, cfg, domains, &out)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("hub apply: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // a cluster's meta leader may still be settling
	}
}

// hubCount is how many messages the hub stream holds (0 when it cannot say).
func hubCount(nc *nats.Conn) uint64 {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "WEBHOOKS")
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// waitForwarded waits until the hub holds every event the load had answered 2xx (and at least
// want messages), or fails after timeout. It returns how long that took.
func waitForwarded(t *testing.T, nc *nats.Conn, l *load, timeout time.Duration) time.Duration {
	t.Helper()
	l.Stop()
	acked := uint64(l.snapshot().ok)
	if l.opts.fanOut {
		acked = uint64(len(l.events))
	}
	return waitFor(t, timeout, fmt.Sprintf("%d acknowledged events on the hub", acked), func() bool {
		return hubCount(nc) >= acked
	})
}

// checkOrderPerWorker: each load worker sends its events one after another to one replica, so
// the hub, which sources each replica's stream in order, must hold them in the order sent.
func checkOrderPerWorker(t *testing.T, nc *nats.Conn, l *load) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	last := map[string]int{}
	prefix := l.idPrefix()
	outOfOrder := 0
	err = streamcheck.Each(ctx, js, "WEBHOOKS", "", 0, func(h nats.Header) {
		if h.Get("ce-id") == "" || h.Get("ce-source") != "/webhooks/aghanim" {
			t.Errorf("hub message %s lost its CloudEvents headers", h.Get(jetstream.MsgIDHeader))
		}
		rest, ok := strings.CutPrefix(h.Get(jetstream.MsgIDHeader), prefix)
		if !ok {
			return
		}
		worker, seq, _ := strings.Cut(rest, "_")
		k, _ := strconv.Atoi(seq)
		if prev, seen := last[worker]; seen && k < prev {
			outOfOrder++
		}
		last[worker] = k
	})
	if err != nil {
		t.Fatalf("reading the hub stream: %v", err)
	}
	if outOfOrder > 0 {
		t.Errorf("%d events reached the hub out of their worker's order", outOfOrder)
	}
}

// TestEdgeHubOutage: the hub stops for longer than a provider's retries would last in a test;
// the bridge keeps answering 2xx from its local stream and /readyz stays 200. After the hub is
// back, every acknowledged event reaches it exactly once, in order.
func TestEdgeHubOutage(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHub(t)
	app := startBridge(t, edgeYAML(hub.LeafURL(), "edge-0", t.TempDir(), "", "warn"))
	base := "http://" + app.Addr()
	hubApply(t, hub.Connect(t), 1, "edge-0")
	l := startLoad(t, loadOptions{name: "edgeout", targets: []string{base}, workers: 6, retry: true})
	l.waitOK(200, 20*time.Second, "load before the hub outage")

	before := l.snapshot()
	hub.Stop()
	outage := 8 * time.Second
	time.Sleep(outage)
	during := l.snapshot().minus(before)
	if during.unavailable > 0 || during.other > 0 || during.ok == 0 {
		t.Errorf("with the hub away: %s; want only 2xx", during)
	}
	waitReady(t, base, http.StatusOK, time.Second)
	hub.Restart()
	took := waitForwarded(t, hub.Connect(t), l, 120*time.Second)
	t.Logf("hub away %s: %s; backlog on the hub %s after its restart", outage, during, took.Round(time.Millisecond))
	checkOrderPerWorker(t, hub.Connect(t), l)
	l.check(hub.Connect(t), "WEBHOOKS")
}

// TestEdgeLeafLinkCut: the link between the leaf and the hub goes silent, then resets; the
// bridge keeps answering 2xx and forwarding resumes when the link does.
func TestEdgeLeafLinkCut(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHub(t)
	proxy, err := linkproxy.Start(strings.TrimPrefix(hub.LeafURL(), "nats-leaf://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	app := startBridge(t, edgeYAML("nats-leaf://"+proxy.Addr(), "edge-0", t.TempDir(), "", "warn"))
	base := "http://" + app.Addr()
	hubApply(t, hub.Connect(t), 1, "edge-0")
	l := startLoad(t, loadOptions{name: "edgecut", targets: []string{base}, workers: 6, retry: true})
	l.waitOK(200, 20*time.Second, "load before the cut")
	before := l.snapshot()
	proxy.Silence(true)
	time.Sleep(6 * time.Second)
	proxy.Reset()
	time.Sleep(2 * time.Second)
	proxy.Silence(false)
	during := l.snapshot().minus(before)
	if during.unavailable > 0 || during.other > 0 || during.ok == 0 {
		t.Errorf("with the leaf link cut: %s; want only 2xx", during)
	}
	took := waitForwarded(t, hub.Connect(t), l, 120*time.Second)
	t.Logf("link cut 8 s: %s; backlog on the hub %s after the link returned", during, took.Round(time.Millisecond))
	checkOrderPerWorker(t, hub.Connect(t), l)
	l.check(hub.Connect(t), "WEBHOOKS")
}

// TestEdgeTwoReplicasOneMessage: a retry that reaches the other replica is a second copy in
// another local stream; the hub's duplicate window keeps one.
func TestEdgeTwoReplicasOneMessage(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHub(t)
	a := startBridge(t, edgeYAML(hub.LeafURL(), "edge-0", t.TempDir(), "", "warn"))
	b := startBridge(t, edgeYAML(hub.LeafURL(), "edge-1", t.TempDir(), "", "warn"))
	hubApply(t, hub.Connect(t), 1, "edge-0", "edge-1")
	l := startLoad(t, loadOptions{name: "edgetwo", targets: []string{"http://" + a.Addr(), "http://" + b.Addr()}, workers: 4, fanOut: true})
	l.waitOK(400, 20*time.Second, "events sent to both replicas")
	waitForwarded(t, hub.Connect(t), l, 60*time.Second)
	time.Sleep(time.Second) // let any second copy arrive, if the hub were to keep it
	l.check(hub.Connect(t), "WEBHOOKS")
}

// TestEdgeLocalStoreFull: with the hub away and the local store at max_bytes, the bridge answers
// the provider's retry answer — never a 2xx it could not store, never by dropping older events.
func TestEdgeLocalStoreFull(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHub(t)
	app := startBridge(t, edgeYAML(hub.LeafURL(), "edge-0", t.TempDir(), "{ max_bytes: 256KiB }", "warn"))
	base := "http://" + app.Addr()
	l := startLoad(t, loadOptions{name: "edgefull", targets: []string{base}, workers: 4})
	waitFor(t, 30*time.Second, "retry answers once the local store is full", func() bool { return l.snapshot().unavailable > 20 })
	l.Stop()
	full := l.snapshot()
	// Only now does the hub source the replica: everything acknowledged must be there.
	hubApply(t, hub.Connect(t), 1, "edge-0")
	waitForwarded(t, hub.Connect(t), l, 60*time.Second)
	t.Logf("local store full: %s", full)
	l.check(hub.Connect(t), "WEBHOOKS")
}

// TestEdgeHubLeaderLossDuringCatchUp: a backlog builds while the hub has no stream for the
// replica; the hub (three nodes, R3) starts sourcing it, and the stream leader is stopped in the
// middle of the catch-up.
func TestEdgeHubLeaderLossDuringCatchUp(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHubCluster(t, 3)
	leafURLs, _ := slowLeafURLs(t, hub.LeafURLs(), 100*time.Millisecond)
	app := startBridge(t, edgeYAML(leafURLs, "edge-0", t.TempDir(), "", "warn"))
	base := "http://" + app.Addr()
	l := startLoad(t, loadOptions{name: "edgeleader", targets: []string{base}, workers: 8, retry: true})
	l.waitOK(4000, 60*time.Second, "a backlog in the local stream")
	l.Stop()
	nc := hub.Connect(t)
	hubApply(t, nc, 3, "edge-0")
	leader := streamLeader(t, mustJS(t, nc))
	n := waitMidCatchUp(t, nc, l.snapshot().ok)
	hub.Node(leader).Stop()
	t.Logf("stopped the hub stream's leader %s with %d of %d events on the hub", leader, n, l.snapshot().ok)
	took := waitForwarded(t, nc, l, 120*time.Second)
	t.Logf("all on the hub %s after the leader stopped", took.Round(time.Millisecond))
	checkOrderPerWorker(t, nc, l)
	l.check(nc, "WEBHOOKS")
}

// TestEdgeReplicaKilledDuringCatchUp: the bridge process is SIGKILLed while the hub sources its
// backlog, and started again on the same store; the hub ends with every event exactly once.
func TestEdgeReplicaKilledDuringCatchUp(t *testing.T) {
	t.Parallel()
	hub := natstest.StartHub(t)
	store := t.TempDir()
	leafURL, _ := slowLeafURLs(t, hub.LeafURL(), 50*time.Millisecond)
	yaml := edgeYAML(leafURL, "edge-0", store, "", "info")
	p := startBridgeProcess(t, yaml)
	l := startLoad(t, loadOptions{name: "edgekill", targets: []string{p.base}, workers: 8, retry: true})
	l.waitOK(4000, 60*time.Second, "a backlog in the local stream")
	l.Stop()
	nc := hub.Connect(t)
	hubApply(t, nc, 1, "edge-0")
	n := waitMidCatchUp(t, nc, l.snapshot().ok)
	p.kill()
	t.Logf("SIGKILLed the replica with %d of %d events on the hub", n, l.snapshot().ok)
	startBridgeProcess(t, yaml)
	took := waitForwarded(t, nc, l, 120*time.Second)
	t.Logf("all on the hub %s after the restart", took.Round(time.Millisecond))
	checkOrderPerWorker(t, nc, l)
	l.check(nc, "WEBHOOKS")
}

// slowLeafURLs puts a proxy that adds latency in front of each leafnode URL, so that a catch-up
// takes long enough for a fault to strike in its middle; it returns the proxies' URLs.
func slowLeafURLs(t *testing.T, urls string, latency time.Duration) (string, []*linkproxy.Proxy) {
	t.Helper()
	var out []string
	var proxies []*linkproxy.Proxy
	for _, u := range strings.Split(urls, ",") {
		p, err := linkproxy.Start(strings.TrimPrefix(u, "nats-leaf://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		p.SetLatency(latency)
		out = append(out, "nats-leaf://"+p.Addr())
		proxies = append(proxies, p)
	}
	return strings.Join(out, ","), proxies
}

// waitMidCatchUp waits until the hub holds some but not all of total events, and says how many.
func waitMidCatchUp(t *testing.T, nc *nats.Conn, total int) uint64 {
	t.Helper()
	var n uint64
	waitFor(t, 60*time.Second, "the catch-up to start", func() bool { n = hubCount(nc); return n > 0 })
	if n >= uint64(total) {
		t.Logf("warning: the catch-up was over (%d of %d) before the fault; the test proves less", n, total)
	}
	return n
}

func mustJS(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
