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

func TestLogWriterFlushesOnIntervalAndClose(t *testing.T) {
	var out testio.Buffer
	w := bridge.NewLogWriter(&out, 20*time.Millisecond)
	w.Write([]byte("first\n"))
	if out.String() != "" {
		t.Fatal("written through without buffering")
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "first\n" {
		if time.Now().After(deadline) {
			t.Fatal("not flushed on the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); w.Write([]byte(strings.Repeat("x", 99) + "\n")) }()
	}
	wg.Wait()
	w.Write([]byte("last\n"))
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
		{"a buffered log writer over a pipe", "", bridge.NewLogWriter(pipeW, time.Second), "json"},
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

func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
