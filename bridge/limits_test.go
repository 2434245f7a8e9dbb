package bridge_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
)

// trickle opens a connection that sends a request head declaring a body of declared bytes for
// endpoint, then only the first sent bytes of it, and keeps the connection open.
func trickle(t *testing.T, addr, endpoint string, declared, sent int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /webhooks/%s HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"+
		"X-Aghanim-Signature-Timestamp: 1\r\nX-Aghanim-Signature: 00\r\nContent-Length: %d\r\n\r\n", endpoint, declared)
	if _, err := io.WriteString(conn, head+strings.Repeat("a", sent)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestTricklingConnections: 300 connections that each declare a body near the limit and trickle
// it reserve nothing they have not sent, and the replica keeps answering honest requests 2xx,
// also after a replayed GitHub delivery whose unsigned type header no subject can carry.
func TestTricklingConnections(t *testing.T) {
	h := startBridge(t, nil)
	const conns, declared = 300, 900 << 10
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		trickle(t, h.app.Addr(), "aghanim", declared, 10)
	}
	// Every connection is in the body read: each holds its first buffer of the budget.
	waitFor(t, 60*time.Second, "300 bodies being read", func() bool {
		return metricSample(t, h, "bridge_inflight_bytes") >= conns*10
	})
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	// The test process holds the bridge and its NATS server: a buffer of the declared length per
	// connection would be 300 × 900 KiB = 264 MiB.
	if grown := int64(during.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("heap grew %d MiB with %d trickling connections, want under 64 MiB", grown>>20, conns)
	}
	body := []byte(`{"zen":"Design for failure.","hook_id":300}`)
	if resp, answer := h.post("hmac", githubHeaders(testSecret, strings.Repeat("x", 5000), "d-300", body), body); resp.StatusCode != http.StatusOK {
		t.Fatalf("replayed delivery with a 5,000-byte type: %d %s", resp.StatusCode, answer)
	}
	for i := range 5 {
		h.honest(t, "whevt_trickle_"+strconv.Itoa(i))
	}
}

// TestInflightBytes: past http.max_inflight_bytes a request gets its endpoint's retry answer at
// once; when the bytes are given back, requests are stored again.
func TestInflightBytes(t *testing.T) {
	const limit = 64 << 10
	h := startBridge(t, func(c *bridge.Config) {
		c.HTTP.MaxBodyBytes = limit / 2
		c.HTTP.MaxInflightBytes = limit
	})
	// Two bodies that have sent most of the limit each hold a buffer of the whole declared length.
	a := trickle(t, h.app.Addr(), "aghanim", limit/2, limit/2-1000)
	b := trickle(t, h.app.Addr(), "aghanim", limit/2, limit/2-1000)
	waitFor(t, 60*time.Second, "the budget spent", func() bool { return metricSample(t, h, "bridge_inflight_bytes") == limit })
	tests := []struct{ endpoint, status string }{
		{"aghanim", "503"},
		{"altdentifier", "429"}, // AltDentifier's documented retry answer
	}
	for _, tc := range tests {
		body := []byte(`{"event_type":"item.purchased","event_id":"whevt_busy"}`)
		resp, _ := h.post(tc.endpoint, aghanimHeaders(testSecret, 1, body), body)
		if strconv.Itoa(resp.StatusCode) != tc.status || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s with the budget spent: %d Retry-After %q, want %s with Retry-After", tc.endpoint, resp.StatusCode, resp.Header.Get("Retry-After"), tc.status)
		}
	}
	a.Close()
	b.Close()
	waitFor(t, 60*time.Second, "the budget given back", func() bool { return metricSample(t, h, "bridge_inflight_bytes") == 0 })
	h.honest(t, "whevt_after_budget")
}

// TestMaxConnections: past http.max_connections a new connection waits until one closes.
func TestMaxConnections(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) { c.HTTP.MaxConnections = 2 })
	idle := make([]net.Conn, 2)
	for i := range idle {
		c, err := net.Dial("tcp", h.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle[i] = c
	}
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(h.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection was served (%d) while two were open", resp.StatusCode)
	}
	idle[0].Close()
	idle[1].Close()
	h.honest(t, "whevt_after_connections")
}

// TestHTTP2Streams: an HTTP/2 connection may carry at most 32 concurrent streams.
func TestHTTP2Streams(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	h := startBridge(t, func(c *bridge.Config) { c.HTTP.TLS.CertFile, c.HTTP.TLS.KeyFile = certFile, keyFile })
	conn, err := tls.Dial("tcp", h.app.Addr(), &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// The client preface and an empty SETTINGS frame (RFC 9113, sections 3.4 and 6.5).
	io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	r := bufio.NewReader(conn)
	head := make([]byte, 9)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	length, kind := int(head[0])<<16|int(head[1])<<8|int(head[2]), head[3]
	if kind != 0x4 {
		t.Fatalf("first frame of type %d, want SETTINGS", kind)
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+6 <= len(payload); i += 6 {
		if binary.BigEndian.Uint16(payload[i:]) == 0x3 { // SETTINGS_MAX_CONCURRENT_STREAMS
			if v := binary.BigEndian.Uint32(payload[i+2:]); v != 32 {
				t.Fatalf("MAX_CONCURRENT_STREAMS %d, want 32", v)
			}
			return
		}
	}
	t.Fatal("no MAX_CONCURRENT_STREAMS in the server's SETTINGS")
}
