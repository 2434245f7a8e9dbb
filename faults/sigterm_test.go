package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestSIGTERMUnderLoad runs the bridge binary against a NATS server and sends it SIGTERM under
// load (docs/configuration.md): requests in flight are finished, their publishes included; every request
// answered 2xx is in the stream, exactly once; the process exits 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	ns := natstest.Start(t)
	// log.level info: the "bridge started" line names the listen address.
	p := startBridgeProcess(t, strings.Replace(configYAML(ns.URL(), 1, 2*time.Second, ""), "level: warn", "level: info", 1))
	base, exited := p.base, p.exited

	l := startLoad(t, loadOptions{name: "sigterm", targets: []string{base}, workers: 12})
	l.waitOK(300, 20*time.Second, "steady load before SIGTERM")

	// A request in flight: its headers and half its body are in when SIGTERM arrives.
	inflight := startPartialRequest(t, base[len("http://"):], "whevt_sigterm_inflight")
	mark := l.snapshot()
	signalled := time.Now()
	p.signal(t, syscall.SIGTERM)
	// The rest of the body goes once the bridge is seen shutting down: it has logged so, and the
	// load meets a closed port.
	select {
	case <-p.shuttingDown:
	case <-time.After(30 * time.Second):
		t.Fatal("the bridge did not log that it is shutting down within 30 s of SIGTERM")
	}
	waitFor(t, 30*time.Second, "the load meeting a closed port after SIGTERM", func() bool {
		return l.snapshot().transport > mark.transport
	})
	status, err := inflight.finish()
	if err != nil || status != http.StatusOK {
		t.Errorf("request in flight at SIGTERM: %d %v, want 200", status, err)
	}
	l.Stop()

	select {
	case err := <-exited:
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			t.Errorf("bridge exited with %v after SIGTERM, want 0", exit)
		case err != nil:
			t.Errorf("bridge: %v", err)
		default:
			t.Logf("bridge exited 0, %s after SIGTERM; answers after SIGTERM: %s", time.Since(signalled).Round(time.Millisecond), l.snapshot().minus(mark))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("bridge still running 40 s after SIGTERM")
	}

	l.mu.Lock()
	l.events["aghanim:whevt_sigterm_inflight"] = &eventRecord{answers: []int{status}, got2xx: status == http.StatusOK}
	l.mu.Unlock()
	l.check(ns.Connect(t), "WEBHOOKS")
}

// partialRequest is a webhook whose body is still arriving.
type partialRequest struct {
	conn net.Conn
	r    *bufio.Reader
	rest []byte
}

// startPartialRequest sends a signed Aghanim event's headers and, once the server's handler is
// reading the body (it answers "Expect: 100-continue" then), the first half of the body.
func startPartialRequest(t *testing.T, addr, id string) *partialRequest {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":%q,"event_time":1725548450}`, id))
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	half := len(body) / 2
	_, err = fmt.Fprintf(conn, "POST /webhooks/aghanim HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\nX-Aghanim-Signature-Timestamp: %s\r\nX-Aghanim-Signature: %s\r\n\r\n",
		len(body), ts, aghanimSignature(secret, ts, body))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	// net/http sends "100 Continue" when the handler first reads the body: the request is in
	// flight, past the listener, whatever SIGTERM does next.
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("waiting for 100 Continue: %v %v", resp, err)
	}
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	return &partialRequest{conn: conn, r: r, rest: body[half:]}
}

// finish sends the rest of the body and returns the answer's status.
func (p *partialRequest) finish() (int, error) {
	p.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.conn.Write(p.rest); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(p.r, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
