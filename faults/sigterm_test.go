package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestSIGTERMUnderLoad runs the bridge binary against a NATS server and sends it SIGTERM under
// load (CONTRACT §2): requests in flight are finished, their publishes included; every request
// answered 2xx is in the stream, exactly once; the process exits 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	bin := bridgeBinary(t)
	ns := natstest.Start(t)
	dir := t.TempDir()
	configPath := filepath.Join(dir, "bridge.yaml")
	// log.level info: the "bridge started" line names the listen address.
	yaml := bytes.Replace([]byte(configYAML(ns.URL(), 1, 2*time.Second, "")), []byte("level: warn"), []byte("level: info"), 1)
	if err := os.WriteFile(configPath, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", configPath)
	cmd.Env = append(os.Environ(), "FAULTS_AGHANIM_SECRET="+secret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1) // cmd.Wait's result, once
	done := make(chan struct{})   // closed when the process has exited
	logs := &tailBuffer{max: 8 << 10}
	addr := make(chan string, 1)
	go func() {
		// Read every line (the pipe must not fill up) and report the listen address once.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			var entry struct {
				Message string `json:"message"`
				Listen  string `json:"listen"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Message == "bridge started" {
				addr <- entry.Listen
			}
		}
		exited <- cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("bridge process output (tail):\n%s", logs)
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-exited:
		t.Fatalf("bridge exited before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("bridge did not log \"bridge started\" within 30 s")
	}

	l := startLoad(t, loadOptions{name: "sigterm", targets: []string{base}, workers: 12})
	l.waitOK(300, 20*time.Second, "steady load before SIGTERM")

	// A request in flight: its headers and half its body are in when SIGTERM arrives.
	inflight := startPartialRequest(t, base[len("http://"):], "whevt_sigterm_inflight")
	mark := l.snapshot()
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	status, err := inflight.finish()
	if err != nil || status != http.StatusOK {
		t.Errorf("request in flight at SIGTERM: %d %v, want 200", status, err)
	}
	time.Sleep(200 * time.Millisecond) // the load meets a closed port
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
	rest []byte
}

// startPartialRequest sends a signed Aghanim event's headers and the first half of its body.
func startPartialRequest(t *testing.T, addr, id string) *partialRequest {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":%q,"event_time":1725548450}`, id))
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	half := len(body) / 2
	_, err = fmt.Fprintf(conn, "POST /webhooks/aghanim HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nX-Aghanim-Signature-Timestamp: %s\r\nX-Aghanim-Signature: %s\r\n\r\n%s",
		len(body), ts, aghanimSignature(secret, ts, body), body[:half])
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server has read the headers and waits for the body
	return &partialRequest{conn: conn, rest: body[half:]}
}

// finish sends the rest of the body and returns the answer's status.
func (p *partialRequest) finish() (int, error) {
	p.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := p.conn.Write(p.rest); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(p.conn), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
