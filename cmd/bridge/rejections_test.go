package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// syncBuffer is a buffer one goroutine writes while another reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRejectionsCommand: `bridge rejections` prints the kept rejections one a line, oldest
// first, by endpoint, and follows new ones.
func TestRejectionsCommand(t *testing.T) {
	ns := natstest.Start(t)
	config := writeFile(t, "bridge.yaml", `
http: {listen: "127.0.0.1:0"}
nats: {url: "`+ns.URL()+`"}
endpoints:
  - {id: shop, provider: aghanim, secrets: [shop-secret]}
  - {id: domains, provider: usercheck, secrets: [usercheck-secret]}
`)
	plan, err := bridge.LoadPlan(config, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	app, err := bridge.StartPlan(context.Background(), plan, zerolog.Nop(), bridge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	forge := func(endpoint string, header http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/"+endpoint, strings.NewReader(`{"event_type":"x"}`))
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	forge("shop", http.Header{"X-Aghanim-Signature-Timestamp": {"1"}, "X-Aghanim-Signature": {strings.Repeat("ab", 32)}})
	forge("domains", http.Header{})
	rejections := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		var lines string
		waitFor(t, "the rejections kept", func() bool {
			out.Reset()
			if err := run(context.Background(), append([]string{"rejections", "-config", config}, args...), nil, nil, &out, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			lines = out.String()
			return strings.Count(lines, "\n") >= 1
		})
		return lines
	}
	all := rejections()
	waitFor(t, "both rejections", func() bool { all = rejections(); return strings.Count(all, "\n") == 2 })
	lines := strings.Split(strings.TrimSpace(all), "\n")
	if !strings.Contains(lines[0], "  shop  bad_signature  no configured secret matches (1 tried)  127.0.0.1") ||
		!strings.Contains(lines[1], "  domains  missing_proof  the header X-UserCheck-Signature is missing") {
		t.Errorf("rejections, oldest first:\n%s", all)
	}
	if only := rejections("-endpoint", "domains"); strings.Contains(only, "shop") || !strings.Contains(only, "domains") {
		t.Errorf("-endpoint domains:\n%s", only)
	}
	var none bytes.Buffer
	if err := run(context.Background(), []string{"rejections", "-config", config, "-since", "1ns"}, nil, nil, &none, &bytes.Buffer{}); err != nil || none.Len() != 0 {
		t.Errorf("-since 1ns: %v\n%s", err, none.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"rejections", "-config", config, "-since", "1ns", "-follow"}, nil, nil, followed, &bytes.Buffer{})
	}()
	waitFor(t, "a new rejection followed", func() bool {
		forge("shop", http.Header{"X-Aghanim-Signature-Timestamp": {"2"}, "X-Aghanim-Signature": {"zz"}})
		return strings.Contains(followed.String(), "shop  malformed_proof")
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("-follow, interrupted: %v", err)
	}
}

// waitFor polls cond until it holds (a generous bound only stops a broken test from hanging).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
