package bridge

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogWriter buffers log output and writes it out at least every interval, so that a busy
// bridge spends one write system call on many request lines instead of one each. Lines written
// in the last interval before a crash may be lost; Close (on shutdown) writes everything.
type LogWriter struct {
	mu    sync.Mutex
	out   io.Writer
	buf   *bufio.Writer
	stop  chan struct{}
	done  chan struct{}
	close sync.Once
}

// NewLogWriter buffers writes to w, flushing every interval.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{out: w, buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				l.Flush()
				return
			}
		}
	}()
	return l
}

// Write buffers p (whole, so lines from concurrent requests never interleave).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// Close stops the flusher and writes out everything buffered.
func (l *LogWriter) Close() error {
	l.close.Do(func() { close(l.stop) })
	<-l.done
	return l.Flush()
}
