package bridge_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// waitReady polls /readyz until it answers want or the deadline passes.
func (h *harness) waitReady(want int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(h.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("/readyz never answered %d", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNATSDownAnswers503ThenRecovers(t *testing.T) {
	h := startBridge(t, nil)
	h.waitReady(http.StatusOK)

	h.nats.Stop()
	h.waitReady(http.StatusServiceUnavailable)
	body := []byte(`{"event_type":"order.paid","event_id":"whevt_down","event_time":1725548450}`)
	resp, answer := h.post("aghanim", aghanimHeaders(testSecret, 1725548450, body), body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("with NATS down: %d %q Retry-After %q, want 503 with Retry-After", resp.StatusCode, answer, resp.Header.Get("Retry-After"))
	}

	h.nats.Restart()
	h.waitReady(http.StatusOK)
	resp, answer = h.post("aghanim", aghanimHeaders(testSecret, 1725548450, body), body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after NATS came back: %d %s", resp.StatusCode, answer)
	}
	if n := len(h.messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

func TestPublishTimeoutAnswers503(t *testing.T) {
	// The stream is gone (deleted behind the bridge's back): JetStream never acknowledges, so
	// the publish times out — or is refused at once — and the provider must be told to retry.
	h := startBridge(t, func(c *bridge.Config) { c.NATS.PublishTimeout = 300 * time.Millisecond })
	if err := h.js.DeleteStream(context.Background(), h.cfg.Stream.Name); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"event_type":"order.paid","event_id":"whevt_timeout"}`)
	resp, _ := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, want 503 with Retry-After", resp.StatusCode)
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	h := startBridge(t, nil)
	body := []byte(`{"event_type":"order.paid","event_id":"whevt_inflight"}`)
	hdr := aghanimHeaders(testSecret, 1, body)

	// A request whose body is still arriving when shutdown begins.
	conn, err := net.Dial("tcp", h.app.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhooks/aghanim HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	for _, name := range []string{"X-Aghanim-Signature", "X-Aghanim-Signature-Timestamp"} {
		fmt.Fprintf(conn, "%s: %s\r\n", name, hdr.Get(name))
	}
	fmt.Fprintf(conn, "\r\n%s", body[:10])
	time.Sleep(100 * time.Millisecond)

	done := make(chan error, 1)
	go func() { done <- h.app.Shutdown() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("shutdown returned (%v) with a request in flight", err)
	default:
	}
	if _, err := conn.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("in-flight request answered %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := len(h.messages()); n != 1 {
		t.Fatalf("%d messages after shutdown, want 1", n)
	}
	if _, err := http.Get(h.base + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestEmbeddedServer(t *testing.T) {
	cfg := testConfig("")
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.StoreDir = filepath.Join(t.TempDir(), "data")
	app, err := bridge.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown()
	ns := app.Broker().Embedded
	if ns == nil || !ns.JetStreamEnabled() {
		t.Fatal("no embedded JetStream server")
	}
	if got, want := app.Broker().MaxPayload(), cfg.HTTP.MaxBodyBytes+64<<10; got != want {
		t.Errorf("embedded max_payload %d, want %d", got, want)
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("webhooks.>")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	body := domainFlagged
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/usercheck", strings.NewReader(string(body)))
	req.Header = userCheckHeaders(testSecret, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %v %v", err, resp)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "webhooks.usercheck.domain.flagged.disposable" {
		t.Errorf("subject %q", m.Subject)
	}
}

func TestSmallMaxPayloadLowersBodyLimit(t *testing.T) {
	ns := natstest.WithOptions(t, func(o *server.Options) { o.MaxPayload = 128 << 10 })
	cfg := testConfig(ns.URL())
	logs := &testio.Buffer{}
	app, err := bridge.Start(context.Background(), cfg, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown()
	if !strings.Contains(logs.String(), "body limit lowered") {
		t.Errorf("no warning at start: %s", logs)
	}
	for _, tc := range []struct {
		size   int
		status int
	}{{64<<10 - 100, http.StatusOK}, {64<<10 + 1, http.StatusRequestEntityTooLarge}} {
		body := []byte(`{"event":"domain.flagged.spam","data":{"domain":"` + strings.Repeat("a", tc.size) + `"}}`)
		body = body[:min(len(body), tc.size)]
		req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/usercheck", strings.NewReader(string(body)))
		req.Header = userCheckHeaders(testSecret, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("body of %d bytes: %d, want %d", len(body), resp.StatusCode, tc.status)
		}
	}
}
