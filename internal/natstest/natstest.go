// Package natstest starts real nats-server instances with JetStream for tests: in-process, on a
// temp dir and a random loopback port. Every test that needs NATS uses it; nothing is mocked.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
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

// Name is the server's name (its ServerName option); it stays the same across restarts and is
// what a client's ConnectedServerName reports.
func (s *Server) Name() string { return s.opts.ServerName }

// Cluster is a JetStream cluster of embedded nats-servers routed to each other on loopback, each
// node with its own client port, cluster port and store. Any node can be stopped and restarted
// on the same ports and store, as a node crash and recovery would.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// StartCluster runs an n-node JetStream cluster and waits until it has elected a meta leader
// (so streams can be created); it is shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return startCluster(t, n, nil)
}

func startCluster(t testing.TB, n int, modify func(*server.Options)) *Cluster {
	t.Helper()
	clientPorts := make([]int, n)
	clusterPorts := make([]int, n)
	routes := make([]*url.URL, n)
	for i := range n {
		clientPorts[i], clusterPorts[i] = freePort(t), freePort(t)
		routes[i] = &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", clusterPorts[i])}
	}
	c := &Cluster{t: t}
	for i := range n {
		s := &Server{t: t, opts: server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "test-cluster", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:     routes,
			NoSigs:     true,
			NoLog:      true,
		}}
		if modify != nil {
			modify(&s.opts)
		}
		s.start()
		t.Cleanup(s.Stop)
		c.Nodes = append(c.Nodes, s)
	}
	c.WaitLeader(30 * time.Second)
	return c
}

// URLs is every node's client URL, comma-separated, as nats.Connect and the bridge's nats.url
// take them.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// Node returns the node called name (a ConnectedServerName), or nil.
func (c *Cluster) Node(name string) *Server {
	for _, s := range c.Nodes {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Running returns the nodes that are up.
func (c *Cluster) Running() []*Server {
	var up []*Server
	for _, s := range c.Nodes {
		if s.Server != nil && s.Server.Running() {
			up = append(up, s)
		}
	}
	return up
}

// WaitLeader waits until a running node is the JetStream meta leader and every running node
// sees it (is current), or fails the test after timeout.
func (c *Cluster) WaitLeader(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		up := c.Running()
		leader, current := false, len(up) > 0
		for _, s := range up {
			leader = leader || s.JetStreamIsLeader()
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("JetStream cluster: no meta leader among %d running nodes after %s", len(up), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Connect opens a client connection to any node, closed when the test ends.
func (c *Cluster) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect %s: %v", c.URLs(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// HubDomain is the JetStream domain of the hubs StartHub and StartHubCluster run.
const HubDomain = "hub"

// StartHub runs a single nats-server as a store-and-forward hub: JetStream in domain "hub" and
// a leafnode listener on a random loopback port, for bridges' embedded servers to join.
func StartHub(t testing.TB) *Server {
	t.Helper()
	return StartHubWith(t, nil)
}

// StartHubWith is StartHub with its options changed by modify (e.g. TLS on the leafnode
// listener).
func StartHubWith(t testing.TB, modify func(*server.Options)) *Server {
	t.Helper()
	return WithOptions(t, func(o *server.Options) {
		o.ServerName = "hub"
		o.JetStreamDomain = HubDomain
		o.LeafNode.Host = "127.0.0.1"
		o.LeafNode.Port = freePort(t)
		if modify != nil {
			modify(o)
		}
	})
}

// StartHubCluster is StartCluster with every node a hub (domain "hub", a leafnode listener).
func StartHubCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return startCluster(t, n, func(o *server.Options) {
		o.JetStreamDomain = HubDomain
		o.LeafNode.Host = "127.0.0.1"
		o.LeafNode.Port = freePort(t)
	})
}

// LeafURL is the server's leafnode URL (empty without a leafnode listener); it stays the same
// across restarts.
func (s *Server) LeafURL() string {
	if s.opts.LeafNode.Port == 0 {
		return ""
	}
	return fmt.Sprintf("nats-leaf://127.0.0.1:%d", s.opts.LeafNode.Port)
}

// LeafURLs is every node's leafnode URL, comma-separated.
func (c *Cluster) LeafURLs() string {
	urls := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		urls[i] = s.LeafURL()
	}
	return strings.Join(urls, ",")
}
