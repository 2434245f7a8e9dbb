// Package faults proves the bridge's promise (docs/how-it-works.md) under faults: real nats-server
// instances on loopback (one server or a three-node JetStream cluster) are stopped and restarted
// under steady load, the bridge is run twice against one stream and sent SIGTERM as a process,
// and slow clients try to hold its connections. Every test ends by reading the stream: an event
// answered 2xx is stored exactly once, and no event is stored twice.
package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/streamcheck"
)

// secret is the Aghanim endpoint's secret in these tests.
const secret = "faults-secret"

// configYAML is the bridge's configuration against natsURL: one Aghanim endpoint whose secret
// comes from the environment, as an operator would write it. extra is appended (more YAML).
func configYAML(natsURL string, replicas int, publishTimeout time.Duration, extra string) string {
	return fmt.Sprintf(`http:
  listen: "127.0.0.1:0"
nats:
  url: %q
  publish_timeout: %s
log:
  level: warn
  format: json
stream:
  replicas: %d
endpoints:
  - id: aghanim
    provider: aghanim
    secrets: ["${FAULTS_AGHANIM_SECRET}"]
%s`, natsURL, publishTimeout, replicas, extra)
}

// getenv gives the configuration its secret.
func getenv(name string) (string, bool) {
	if name == "FAULTS_AGHANIM_SECRET" {
		return secret, true
	}
	return "", false
}

// startBridge runs a bridge in-process with the configuration yaml; its warnings and errors are
// shown (their last lines) if the test fails.
func startBridge(t *testing.T, yaml string) *bridge.App {
	t.Helper()
	cfg, err := bridge.ParseConfig(strings.NewReader(yaml), getenv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &tailBuffer{max: 8 << 10}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	app, err := bridge.Start(ctx, cfg, zerolog.New(logs).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("start bridge: %v", err)
	}
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- app.Shutdown() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bridge shutdown: %v", err)
			}
		case <-time.After(45 * time.Second):
			t.Errorf("bridge shutdown hangs")
		}
		if t.Failed() {
			t.Logf("bridge %s, last log lines:\n%s", app.Addr(), logs)
		}
	})
	return app
}

// waitReady polls base's /readyz until it answers want, or fails the test after timeout. It
// returns how long that took.
func waitReady(t *testing.T, base string, want int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 5 * time.Second}
	last := "no answer"
	for time.Since(start) < timeout {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return time.Since(start)
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s/readyz did not answer %d within %s (last: %s)", base, want, timeout, last)
	return 0
}

// waitFor polls cond every 20 ms until it holds, or fails the test after timeout naming what.
// It returns how long that took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// storedIDs reads the whole stream through nc and counts the messages per Nats-Msg-Id.
func storedIDs(t *testing.T, nc *nats.Conn, stream string) map[string]int {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Right after a fault the stream (or the cluster's meta leader) may need a moment.
	for {
		ids, err := streamcheck.MsgIDs(ctx, js, stream, "", 0)
		if err == nil {
			return ids
		}
		if ctx.Err() != nil {
			t.Fatalf("reading stream %s: %v", stream, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tailBuffer keeps the last max bytes written to it, for logs written by many goroutines.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf
	if len(s) > b.max {
		s = s[len(s)-b.max:]
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return string(s)
}
