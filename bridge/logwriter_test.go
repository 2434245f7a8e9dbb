package bridge_test

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/testio"
)

// TestLogWriterBuffersUntilFlushed: nothing reaches the output before a flush (the interval is an
// hour, so no tick can come during the test), Flush and Close write out everything, and lines
// written at once never interleave.
func TestLogWriterBuffersUntilFlushed(t *testing.T) {
	var out testio.Buffer
	w := bridge.NewLogWriter(&out, time.Hour)
	t.Cleanup(func() { w.Close() })
	w.Write([]byte("first\n"))
	if got := out.String(); got != "" {
		t.Fatalf("written through without buffering: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\n" {
		t.Fatalf("after Flush: %q, want the buffered line", got)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); w.Write([]byte(strings.Repeat("x", 99) + "\n")) }()
	}
	wg.Wait()
	w.Write([]byte("last\n"))
	if got := out.String(); got != "first\n" {
		t.Fatalf("written before a flush: %d bytes", len(got))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 52 || lines[51] != "last" {
		t.Fatalf("%d lines after Close, last %q", len(lines), lines[len(lines)-1])
	}
	for _, l := range lines[1:51] {
		if l != strings.Repeat("x", 99) {
			t.Fatalf("interleaved line %q", l)
		}
	}
	w.Close() // idempotent
}

// TestLogWriterFlushesOnTheInterval: without Flush or Close, a buffered line is written out by
// the writer's own ticker. The test waits for that to be observed, however late the ticker runs
// on a busy machine.
func TestLogWriterFlushesOnTheInterval(t *testing.T) {
	var out testio.Buffer
	w := bridge.NewLogWriter(&out, time.Millisecond)
	t.Cleanup(func() { w.Close() })
	w.Write([]byte("line\n"))
	// 30 s only tells a writer that never flushes from a slow one; it is not what is measured.
	for deadline := time.Now().Add(30 * time.Second); out.String() != "line\n"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not flushed by the ticker: %q", out.String())
		}
	}
}

// TestLogFormatDefault: console on a terminal, JSON anywhere else, unless log.format says.
func TestLogFormatDefault(t *testing.T) {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		tty = nil // no controlling terminal here: only the other cases are checked
	}
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	tests := []struct {
		name   string
		format string
		w      io.Writer
		want   string
	}{
		{"a pipe", "", pipeW, "json"},
		{"a buffer", "", &bytes.Buffer{}, "json"},
		{"/dev/null (a character device, not a terminal)", "", devNull(t), "json"},
		{"a pipe, console asked for", "console", pipeW, "console"},
		{"a buffered log writer over a pipe", "", logWriter(t, pipeW), "json"},
	}
	if tty != nil {
		defer tty.Close()
		tests = append(tests, struct {
			name   string
			format string
			w      io.Writer
			want   string
		}{"a terminal", "", tty, "console"}, struct {
			name   string
			format string
			w      io.Writer
			want   string
		}{"a terminal, json asked for", "json", tty, "json"})
	}
	for _, tc := range tests {
		if got := bridge.LogFormat(bridge.LogConfig{Format: tc.format}, tc.w); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	var buf bytes.Buffer
	log := bridge.NewLogger(bridge.LogConfig{Level: "info"}, &buf)
	log.Info().Msg("hello")
	if !strings.HasPrefix(buf.String(), `{"level":"info"`) {
		t.Errorf("default log line %q is not JSON", buf.String())
	}
}

// logWriter is a LogWriter over w, closed when the test ends.
func logWriter(t *testing.T, w io.Writer) *bridge.LogWriter {
	t.Helper()
	lw := bridge.NewLogWriter(w, time.Hour)
	t.Cleanup(func() { lw.Close() })
	return lw
}

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
