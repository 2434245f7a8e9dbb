// Package natstest starts real nats-server instances with JetStream for tests: in-process, on a
// temp dir and a random loopback port. Every test that needs NATS uses it; nothing is mocked.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server is a running embedded nats-server that can be stopped and started again on the same
// port and store, as a NATS outage would.
type Server struct {
	t    testing.TB
	opts server.Options
	*server.Server
}

// Start runs a nats-server with JetStream on a temp dir and a random loopback port; it is shut
// down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	opts := server.Options{
		ServerName: "test",
		Host:       "127.0.0.1",
		Port:       freePort(t),
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoSigs:     true,
		NoLog:      true,
	}
	s := &Server{t: t, opts: opts}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// WithOptions is Start with options changed by modify (e.g. MaxPayload).
func WithOptions(t testing.TB, modify func(*server.Options)) *Server {
	t.Helper()
	s := Start(t)
	s.Stop()
	modify(&s.opts)
	s.start()
	return s
}

func (s *Server) start() {
	s.t.Helper()
	opts := s.opts
	ns, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		s.t.Fatalf("nats-server on port %d did not start", s.opts.Port)
	}
	s.Server = ns
}

// Restart starts the server again after Stop, on the same port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Stop shuts the server down (idempotent).
func (s *Server) Stop() {
	if s.Server != nil && s.Server.Running() {
		s.Server.Shutdown()
		s.Server.WaitForShutdown()
	}
}

// URL is the server's client URL; it stays the same across restarts.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

// Connect opens a client connection closed when the test ends.
func (s *Server) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect %s: %v", s.URL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// freePort asks the kernel for a free loopback port. A fixed port (rather than -1) lets the
// server come back on the same address after Restart.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
