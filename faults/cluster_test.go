package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestClusterNodeLossUnderLoad runs the bridge against a three-node JetStream cluster with an
// R3 stream (nats.url: the three seed URLs) and, under load, kills the node the bridge is
// connected to, restarts it, then kills another: no event answered 2xx is missing, none is
// stored twice, and every event is answered 2xx in the end (clients retry 503s).
//
// "Kill" is an in-process Shutdown: the node drops its client and route connections at once
// and hands off the raft groups it leads.
func TestClusterNodeLossUnderLoad(t *testing.T) {
	c, app, js := startClusterBridge(t)
	base := "http://" + app.Addr()
	l := startLoad(t, loadOptions{name: "cluster", targets: []string{base}, workers: 12, retry: true})
	l.waitOK(200, 20*time.Second, "steady load")

	// First the node the bridge is connected to.
	first := c.Node(app.Broker().Conn().ConnectedServerName())
	if first == nil {
		t.Fatalf("bridge connected to %q, not a cluster node", app.Broker().Conn().ConnectedServerName())
	}
	leader := streamLeader(t, js)
	mark := l.snapshot()
	killed := time.Now()
	first.Stop()
	took := waitFor(t, 30*time.Second, "2xx after killing the bridge's server", func() bool { return l.ok2xxSince(killed) })
	l.waitOK(200, 30*time.Second, "steady load with one node down")
	t.Logf("killed %s (the bridge's server; stream leader %s): first 2xx after %s, bridge now on %s; meanwhile %s",
		first.Name(), leader, took.Round(time.Millisecond), app.Broker().Conn().ConnectedServerName(), l.snapshot().minus(mark))

	first.Restart()
	c.WaitLeader(30 * time.Second)
	took = waitStreamHealthy(t, js, 3, 60*time.Second)
	t.Logf("%s restarted; every replica current %s later", first.Name(), took.Round(time.Millisecond))
	l.waitOK(200, 30*time.Second, "steady load after the restart")

	// Then another: the stream leader, unless that is the node just restarted.
	second := c.Node(streamLeader(t, js))
	if second == nil || second == first {
		for _, n := range c.Nodes {
			if n != first {
				second = n
				break
			}
		}
	}
	mark = l.snapshot()
	killed = time.Now()
	second.Stop()
	took = waitFor(t, 30*time.Second, "2xx after killing a second node", func() bool { return l.ok2xxSince(killed) })
	l.waitOK(200, 30*time.Second, "steady load with the second node down")
	t.Logf("killed %s: first 2xx after %s, bridge on %s; meanwhile %s",
		second.Name(), took.Round(time.Millisecond), app.Broker().Conn().ConnectedServerName(), l.snapshot().minus(mark))

	l.Stop()
	second.Restart()
	waitStreamHealthy(t, js, 3, 60*time.Second)
	l.check(c.Connect(t), "WEBHOOKS")
}

// TestClusterNoQuorumNotReady stops two of the three nodes: /readyz answers 503 within seconds
// and keeps answering 503 while there is no quorum — also after the remaining node's stream
// replica has stepped down and answers stream info without a leader — and 200 once the nodes
// are back, when webhooks are accepted again.
func TestClusterNoQuorumNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out JetStream's lost-quorum interval (10 s); skipped with -short")
	}
	t.Parallel() // mostly waiting: alongside TestSlowClientsAreCutOff
	c, app, js := startClusterBridge(t)
	base := "http://" + app.Addr()
	waitReady(t, base, http.StatusOK, 10*time.Second)

	// Keep the stream leader: the case where the bridge still hears a leader that has not yet
	// noticed its followers are gone.
	leader := streamLeader(t, js)
	var down []*natstest.Server
	for _, n := range c.Nodes {
		if n.Name() != leader {
			down = append(down, n)
		}
	}
	stopped := time.Now()
	for _, n := range down {
		n.Stop()
	}
	took := waitReady(t, base, http.StatusServiceUnavailable, 10*time.Second)
	t.Logf("%s and %s down (stream leader %s up): /readyz 503 after %s", down[0].Name(), down[1].Name(), leader, took.Round(time.Millisecond))
	// JetStream notices lost quorum after 10 s; from then on the remaining replica answers stream
	// info without a leader. Not ready either.
	client := &http.Client{Timeout: 5 * time.Second}
	for time.Since(stopped) < 15*time.Second {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz answered %d %q %s after two of three nodes stopped: no quorum, want 503",
				resp.StatusCode, bytes.TrimSpace(body), time.Since(stopped).Round(time.Millisecond))
		}
		time.Sleep(250 * time.Millisecond)
	}

	restarted := time.Now()
	for _, n := range down {
		n.Restart()
	}
	took = waitReady(t, base, http.StatusOK, 60*time.Second)
	t.Logf("quorum back: /readyz 200 %s after the restart", took.Round(time.Millisecond))
	l := startLoad(t, loadOptions{name: "quorum", targets: []string{base}, workers: 4, retry: true})
	l.waitOK(50, 30*time.Second, "2xx after quorum came back")
	t.Logf("first 2xx %s after the restart", time.Since(restarted).Round(time.Millisecond))
	l.check(c.Connect(t), "WEBHOOKS")
}

// startClusterBridge starts a three-node cluster and a bridge against it with an R3 stream, and
// waits until the stream has all three replicas.
func startClusterBridge(t *testing.T) (*natstest.Cluster, *bridge.App, jetstream.JetStream) {
	t.Helper()
	start := time.Now()
	c := natstest.StartCluster(t, 3)
	app := startBridge(t, configYAML(c.URLs(), 3, 2*time.Second, ""))
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	waitStreamHealthy(t, js, 3, 30*time.Second)
	t.Logf("cluster of 3 and an R3 stream up in %s; bridge on %s", time.Since(start).Round(time.Millisecond), app.Broker().Conn().ConnectedServerName())
	return c, app, js
}

// streamLeader names the WEBHOOKS stream's leader.
func streamLeader(t *testing.T, js jetstream.JetStream) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		info, err := streamInfo(ctx, js)
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info.Cluster.Leader
		}
		if ctx.Err() != nil {
			t.Fatalf("stream leader: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitStreamHealthy waits until the WEBHOOKS stream has a leader and replicas-1 followers, all
// current, and returns how long that took.
func waitStreamHealthy(t *testing.T, js jetstream.JetStream, replicas int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	last := "no answer"
	for {
		info, err := streamInfo(ctx, js)
		switch {
		case err != nil:
			last = err.Error()
		case info.Cluster == nil || info.Cluster.Leader == "":
			last = "no leader"
		default:
			current := 0
			for _, r := range info.Cluster.Replicas {
				if r.Current && !r.Offline {
					current++
				}
			}
			if current == replicas-1 {
				return time.Since(start)
			}
			last = fmt.Sprintf("leader %s, %d of %d followers current", info.Cluster.Leader, current, replicas-1)
		}
		if ctx.Err() != nil {
			t.Fatalf("stream not healthy within %s: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func streamInfo(ctx context.Context, js jetstream.JetStream) (*jetstream.StreamInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, "WEBHOOKS")
	if err != nil {
		return nil, err
	}
	return s.Info(ctx)
}
