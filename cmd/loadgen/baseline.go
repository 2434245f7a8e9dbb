package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The baseline is the cheapest handler the same client can load: it reads the body and answers
// 204, on a plain net/http server with the bridge's timeouts. Its rate is the machine's HTTP
// ceiling, against which the bridge's is measured.

func baselineHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
}

// baseline is a running baseline server.
type baseline struct {
	addr   string
	srv    *http.Server
	served chan error
}

// startBaseline serves the baseline on addr ("127.0.0.1:0" for a random port).
func startBaseline(addr string) (*baseline, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &baseline{
		addr:   ln.Addr().String(),
		served: make(chan error, 1),
		srv: &http.Server{
			Handler:           baselineHandler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    64 << 10,
		},
	}
	go func() { b.served <- b.srv.Serve(ln) }()
	return b, nil
}

// stop shuts the server down, letting requests in flight finish.
func (b *baseline) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.srv.Shutdown(ctx)
	if serr := <-b.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// serveBaseline serves the baseline until ctx ends.
func serveBaseline(ctx context.Context, addr string, stdout io.Writer) error {
	b, err := startBaseline(addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "baseline: answering 204 to any POST on http://%s/ (interrupt to stop)\n", b.addr)
	select {
	case <-ctx.Done():
	case err := <-b.served:
		b.served <- err
	}
	return b.stop()
}
