package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// What bounds the memory requests can hold before anything proves them authentic
// (docs/security.md#limits): bodies grow as their bytes arrive, every byte held counts against
// http.max_inflight_bytes, and http.max_connections caps the connections.

// errBusy means http.max_inflight_bytes is spent: the request gets its endpoint's retry answer.
var errBusy = errors.New("http.max_inflight_bytes spent")

// byteBudget bounds the bytes many holders keep at once.
type byteBudget struct {
	max  int64
	used atomic.Int64
}

func newByteBudget(max int64) *byteBudget { return &byteBudget{max: max} }

// take reserves n bytes; false when that would pass the bound (nothing is reserved then).
func (b *byteBudget) take(n int64) bool {
	if b.used.Add(n) > b.max {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes taken before.
func (b *byteBudget) give(n int64) { b.used.Add(-n) }

// Used is the bytes held now.
func (b *byteBudget) Used() int64 { return b.used.Load() }

// firstBodyBuffer is the buffer a body starts in: a declared Content-Length reserves nothing
// beyond it, however large, until the bytes arrive.
const firstBodyBuffer = 4 << 10

// readBody reads at most limit bytes of the body into a buffer that grows (doubling) as the bytes
// arrive, each growth taken from budget first. It returns the body and the bytes it holds of the
// budget, which the caller gives back when the request is done. A body over limit is
// errTooLarge, a spent budget errBusy; on any error nothing stays taken.
func readBody(r *http.Request, limit int64, budget *byteBudget) ([]byte, int64, error) {
	if r.ContentLength > limit {
		return nil, 0, errTooLarge
	}
	// The most the buffer needs: net/http ends a declared body at its length; an undeclared one
	// may be one byte over the limit before it is known to be too large.
	most := limit + 1
	if r.ContentLength >= 0 {
		most = r.ContentLength
	}
	size := min(most, firstBodyBuffer)
	if !budget.take(size) {
		return nil, 0, errBusy
	}
	held := size
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				budget.give(held)
				return nil, 0, errTooLarge
			}
			if int64(cap(buf)) == most {
				break // a declared length, all read
			}
			grown := min(2*int64(cap(buf))+firstBodyBuffer, most)
			if !budget.take(grown - held) {
				budget.give(held)
				return nil, 0, errBusy
			}
			held = grown
			next := make([]byte, len(buf), grown)
			copy(next, buf)
			buf = next
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			budget.give(held)
			return nil, 0, fmt.Errorf("read body: %w", err)
		}
	}
	return buf, held, nil
}

// limitListener accepts at most max connections at once; past that, Accept waits for one to
// close (the kernel's backlog holds the others), so open connections never grow without bound.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(ln net.Listener, max int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), done: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

// Close stops accepting, also while Accept waits for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Open is the number of connections open now.
func (l *limitListener) Open() int { return len(l.slots) }

// limitedConn frees its slot when closed (once, however often it is closed).
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
