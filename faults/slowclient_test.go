package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// The server's timeouts (bridge/app.go): headers within 5 s, the whole request within 15 s.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
)

// TestSlowClientsAreCutOff holds connections open the way slow or hostile clients do
// (docs/how-it-works.md): slowloris clients sending their headers one byte a second, a client that sends its headers
// and then stalls its body, and one that drips its body a byte a second. The server's timeouts
// cut each off, nothing of theirs is published, and webhooks sent meanwhile are answered at once.
// With -short only the header timeout (5 s) is waited for, not the body's (15 s).
func TestSlowClientsAreCutOff(t *testing.T) {
	t.Parallel() // mostly waiting for the server's timeouts
	ns := natstest.Start(t)
	app := startBridge(t, configYAML(ns.URL(), 1, 2*time.Second, ""))
	addr := app.Addr()

	type cutOff struct {
		name   string
		after  time.Duration
		answer string // the status line, if the server answered before closing
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		cuts []cutOff
	)
	slow := func(name string, head []byte, drip []byte) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after, answer, err := holdOpen(addr, head, drip, readTimeout+10*time.Second)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			mu.Lock()
			cuts = append(cuts, cutOff{name, after, answer})
			mu.Unlock()
		}()
	}
	const slowloris = 20
	for i := range slowloris {
		// A request line, then headers that never end.
		slow(fmt.Sprintf("slowloris %d", i), []byte("POST /webhooks/aghanim HTTP/1.1\r\n"),
			[]byte("Host: bridge\r\nContent-Type: application/json\r\nX-Aghanim-Signature-Timestamp: 1725548450\r\n"))
	}
	if !testing.Short() {
		body := []byte(`{"event_type":"item.purchased","event_id":"whevt_slow_body","event_time":1725548450}`)
		head := signedHead(body)
		slow("stalled body", append(head, body[:10]...), nil)
		slow("dripping body", head, body)
	}

	// Meanwhile, until the last slow client is cut off, ordinary webhooks, one every 200 ms, each
	// answered long before a slow client is cut off.
	allCut := make(chan struct{})
	go func() { wg.Wait(); close(allCut) }()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	var slowest time.Duration
	sent := 0
	for held := true; held; sent++ {
		body := []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":"whevt_slowclient_ok_%d","event_time":1725548450}`, sent))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/aghanim", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Aghanim-Signature-Timestamp", ts)
		req.Header.Set("X-Aghanim-Signature", aghanimSignature(secret, ts, body))
		began := time.Now()
		resp, err := client.Do(req)
		took := time.Since(began)
		if err != nil {
			t.Fatalf("webhook %d while slow clients hold connections: %v", sent, err)
		}
		resp.Body.Close()
		// Starved by the slow clients, a webhook would wait until they are cut off (5 s or more);
		// half the header timeout tells that apart from a busy machine's scheduling delays, which
		// a bound of a second did not.
		if limit := readHeaderTimeout / 2; resp.StatusCode != http.StatusOK || took > limit {
			t.Errorf("webhook %d while slow clients hold connections: %d after %s, want 200 within %s", sent, resp.StatusCode, took, limit)
		}
		slowest = max(slowest, took)
		select {
		case <-allCut:
			held = false
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("%d webhooks answered 200 while slow clients held connections, the slowest in %s", sent, slowest.Round(time.Microsecond))

	for _, c := range cuts {
		limit := readHeaderTimeout
		if c.name == "stalled body" || c.name == "dripping body" {
			limit = readTimeout
		}
		// The deadline runs from the connection's first read; allow for scheduling either side.
		if c.after < limit-time.Second || c.after > limit+3*time.Second {
			t.Errorf("%s: cut off after %s, want about %s", c.name, c.after.Round(time.Millisecond), limit)
		}
		if c.name == "slowloris 0" || limit == readTimeout {
			t.Logf("%s: cut off after %s (answer: %q)", c.name, c.after.Round(time.Millisecond), c.answer)
		}
	}
	if len(cuts) < slowloris {
		t.Errorf("only %d of %d slowloris connections were cut off", len(cuts), slowloris)
	}

	stored := storedIDs(t, ns.Connect(t), "WEBHOOKS")
	for i := range sent {
		if n := stored[fmt.Sprintf("aghanim:whevt_slowclient_ok_%d", i)]; n != 1 {
			t.Errorf("webhook %d answered 200 is stored %d times, want 1", i, n)
		}
	}
	if n := stored["aghanim:whevt_slow_body"]; n != 0 {
		t.Errorf("the cut-off body was published %d times", n)
	}
	if n := sum(stored); n != sent {
		t.Errorf("%d messages in the stream, want %d", n, sent)
	}
}

// signedHead is the request line and headers of a signed Aghanim webhook carrying body.
func signedHead(body []byte) []byte {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return []byte(fmt.Sprintf("POST /webhooks/aghanim HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nX-Aghanim-Signature-Timestamp: %s\r\nX-Aghanim-Signature: %s\r\n\r\n",
		len(body), ts, aghanimSignature(secret, ts, body)))
}

// holdOpen connects to addr, sends head, then drip one byte a second, and waits (at most limit)
// for the server to close the connection. It returns how long after connecting the server did,
// and the status line of its answer if it sent one.
func holdOpen(addr string, head, drip []byte, limit time.Duration) (time.Duration, string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write(head); err != nil {
		return 0, "", err
	}
	closed := make(chan struct{})
	go func() {
		for _, b := range drip {
			select {
			case <-closed:
				return
			case <-time.After(time.Second):
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return // the server closed the connection: the reader sees it
			}
		}
	}()
	conn.SetReadDeadline(start.Add(limit))
	r := bufio.NewReader(conn)
	answer, _ := r.ReadString('\n')
	_, err = io.Copy(io.Discard, r) // until the server closes
	after := time.Since(start)
	close(closed)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return after, "", fmt.Errorf("still open after %s", limit)
	}
	return after, string(bytes.TrimSpace([]byte(answer))), nil
}
