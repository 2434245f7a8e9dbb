package bridge_test

import (
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
