package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The load tool's HTTP client is lean on purpose: a benchmark whose client spends more CPU per
// request than the server measures the client. Requests are built and signed before the clock
// starts, written as raw HTTP/1.1 on keep-alive connections, and answers are parsed only as far
// as the status, the headers that frame the body, and the body's length.

// preparedRequest is one event's request, ready to write: the same bytes on every retry.
type preparedRequest struct {
	raw   []byte
	msgID string
}

// target is where requests go.
type target struct {
	addr    string // host:port
	host    string // the Host header
	path    string
	tls     *tls.Config // nil: plain HTTP
	timeout time.Duration
}

func parseTarget(rawURL string, timeout time.Duration) (*target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	t := &target{host: u.Host, path: u.RequestURI(), timeout: timeout}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		t.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	return t, nil
}

// prepare builds and signs n events (numbers first … first+n-1), on every core, before the
// clock starts.
func prepare(ctx context.Context, work *workload, t *target, first, n uint64) ([]preparedRequest, error) {
	out := make([]preparedRequest, n)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	const chunk = 4096
	sem := make(chan struct{}, 8)
	for lo := uint64(0); lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var buf bytes.Buffer
			for i := lo; i < hi; i++ {
				if ctx.Err() != nil {
					return
				}
				ev := work.event(first+i, now)
				h, err := work.sign(ev, now)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				buf.Reset()
				writeRequest(&buf, t, h, ev.body)
				out[i] = preparedRequest{raw: bytes.Clone(buf.Bytes()), msgID: ev.msgID}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return out, firstErr
}

// writeRequest writes a POST with headers h and body as HTTP/1.1 bytes.
func writeRequest(w *bytes.Buffer, t *target, h http.Header, body []byte) {
	w.WriteString("POST ")
	w.WriteString(t.path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(t.host)
	w.WriteString("\r\nContent-Length: ")
	w.WriteString(strconv.Itoa(len(body)))
	w.WriteString("\r\n")
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			w.WriteString(name)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	w.Write(body)
}

// conn is one keep-alive connection to the target, dialled when first needed and again after it
// breaks or the server closes it.
type conn struct {
	t  *target
	nc net.Conn
	r  *bufio.Reader
}

var errConnClosed = errors.New("connection closed by the server")

// do writes req and reads the answer; it returns the status and, for answers that are neither
// 2xx nor 503, up to 200 bytes of the body. Any error leaves the connection closed.
func (c *conn) do(req []byte) (status int, sample []byte, err error) {
	if c.nc == nil {
		if err := c.dial(); err != nil {
			return 0, nil, err
		}
	}
	deadline := time.Now().Add(c.t.timeout)
	_ = c.nc.SetDeadline(deadline)
	if _, err := c.nc.Write(req); err != nil {
		c.close()
		return 0, nil, err
	}
	status, sample, keep, err := readResponse(c.r)
	if err != nil || !keep {
		c.close()
	}
	return status, sample, err
}

func (c *conn) dial() error {
	nc, err := net.DialTimeout("tcp", c.t.addr, 5*time.Second)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if c.t.tls != nil {
		tc := tls.Client(nc, c.t.tls)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.nc = nc
	if c.r == nil {
		c.r = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.r.Reset(nc)
	}
	return nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// readResponse reads one answer: status line, headers (only Content-Length, Transfer-Encoding and
// Connection matter), and the body, discarded but for a sample of non-2xx/503 answers. keep is
// whether the connection may carry the next request.
func readResponse(r *bufio.Reader) (status int, sample []byte, keep bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("malformed status line %q", bytes.TrimSpace(line))
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		h, err := r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	want := status >= 300 && status != http.StatusServiceUnavailable || status < 200
	switch {
	case chunked:
		sample, err = readChunked(r, want)
	case length >= 0:
		sample, err = discard(r, length, want)
	case status == http.StatusNoContent || status == http.StatusNotModified:
	default: // no length: the body runs to the end of the connection
		_, err = io.Copy(io.Discard, r)
		keep = false
	}
	return status, sample, keep, err
}

// discard skips n bytes, keeping up to 200 of them when want.
func discard(r *bufio.Reader, n int64, want bool) ([]byte, error) {
	var sample []byte
	if want && n > 0 {
		sample = make([]byte, min(n, 200))
		if _, err := io.ReadFull(r, sample); err != nil {
			return nil, err
		}
		n -= int64(len(sample))
	}
	_, err := r.Discard(int(n))
	return sample, err
}

func readChunked(r *bufio.Reader, want bool) ([]byte, error) {
	var sample []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad chunk size %q", bytes.TrimSpace(line))
		}
		if size == 0 {
			for { // trailers up to the empty line
				l, err := r.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(l, "\r\n")) == 0 {
					return sample, nil
				}
			}
		}
		s, err := discard(r, size, want && len(sample) == 0)
		if err != nil {
			return nil, err
		}
		sample = append(sample, s...)
		if _, err := r.Discard(2); err != nil { // CRLF after the chunk
			return nil, err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
