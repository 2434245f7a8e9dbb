package linkproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func dialProxy(t *testing.T) (*Proxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p, err := Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c, bufio.NewReader(c)
}

// roundTrip sends a line and waits up to wait for it to come back; it returns how long it took
// and whether it came.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, wait time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	line, err := r.ReadString('\n')
	if err != nil {
		return time.Since(start), false
	}
	if line != "ping\n" {
		t.Fatalf("echo %q", line)
	}
	return time.Since(start), true
}

func TestProxy(t *testing.T) {
	t.Run("passes bytes", func(t *testing.T) {
		_, c, r := dialProxy(t)
		if _, ok := roundTrip(t, c, r, 2*time.Second); !ok {
			t.Fatal("no echo through the proxy")
		}
	})
	t.Run("silence holds bytes and delivers them when the link returns", func(t *testing.T) {
		p, c, r := dialProxy(t)
		p.Silence(true)
		if _, ok := roundTrip(t, c, r, 300*time.Millisecond); ok {
			t.Fatal("bytes passed a silent link")
		}
		p.Silence(false)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("after the link returned: %q, %v", line, err)
		}
	})
	t.Run("reset closes every connection", func(t *testing.T) {
		p, c, r := dialProxy(t)
		if _, ok := roundTrip(t, c, r, 2*time.Second); !ok {
			t.Fatal("no echo")
		}
		p.Reset()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := r.ReadByte(); err == nil {
			t.Fatal("connection still open after Reset")
		}
	})
	t.Run("latency delays each direction", func(t *testing.T) {
		p, c, r := dialProxy(t)
		p.SetLatency(50 * time.Millisecond)
		took, ok := roundTrip(t, c, r, 2*time.Second)
		if !ok || took < 100*time.Millisecond {
			t.Fatalf("round trip %s (ok %v), want at least 2×50ms", took, ok)
		}
	})
}
