// Package linkproxy is a TCP proxy for fault tests: it sits between a client and a server on
// loopback and can make the link between them misbehave as real networks do. It can pass bytes
// late (added latency), reset every connection at once, or go silent: a half-open link where
// nothing is closed but no byte gets through either way, as in a network partition, a crashed
// host or a lost NAT entry. While silent it stops reading, so the senders' socket buffers fill
// as they would when packets vanish.
package linkproxy

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from its own loopback address to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cond    *sync.Cond // signalled when silent or latency change
	silent  bool
	latency time.Duration
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Start listens on a random loopback port and forwards every connection to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("linkproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port, to be dialled instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Silence makes the link half-open (true) or passes bytes again (false). Bytes held while
// silent are delivered when the link returns, as TCP would retransmit them, unless their
// connection has been closed meanwhile.
func (p *Proxy) Silence(on bool) {
	p.mu.Lock()
	p.silent = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// SetLatency delays every chunk of bytes by d in each direction (0: none).
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Reset closes every connection through the proxy at once with a TCP reset; new connections
// are accepted as before.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST, not FIN
		}
		c.Close()
		delete(p.conns, c)
	}
}

// Connections is the number of connections open through the proxy (both halves counted once).
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2
}

// Close stops accepting, closes every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.silent = false
	p.cond.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
	p.Reset()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, server) {
			client.Close()
			server.Close()
			return
		}
		p.wg.Add(2)
		go p.pipe(client, server)
		go p.pipe(server, client)
	}
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// chunk is bytes read from one side, due to be written to the other at due.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe copies src to dst: a reader that waits while the link is silent, and a writer that
// holds each chunk until its latency has passed, so latency does not cap throughput.
func (p *Proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	chunks := make(chan chunk, 64)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for c := range chunks {
			if d := time.Until(c.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(c.data); err != nil {
				for range chunks { // drain; the reader ends when src is closed
				}
				return
			}
		}
	}()
	defer func() {
		close(chunks)
		<-writerDone
		p.forget(dst)
		p.forget(src)
	}()
	for {
		if !p.waitWhileSilent() {
			return
		}
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitWhileSilent() {
				return
			}
			p.mu.Lock()
			due := time.Now().Add(p.latency)
			p.mu.Unlock()
			chunks <- chunk{data: buf[:n], due: due}
		}
		if err != nil { // EOF, a reset or a closed connection: the pipe ends either way
			return
		}
	}
}

// waitWhileSilent blocks while the link is silent; false once the proxy is closed.
func (p *Proxy) waitWhileSilent() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.silent && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}
