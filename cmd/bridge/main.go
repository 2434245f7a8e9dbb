// Command bridge receives webhooks, proves each one authentic, and publishes it to NATS JetStream
// as a CloudEvent. With no flags it runs the demo; see README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bridge:", err)
		os.Exit(1)
	}
}

// tuneGC trades a little memory for CPU: the bridge's live heap is small and short-lived garbage
// per request is most of its allocation, so collecting less often is measurably faster (see
// BENCHMARKS.md). A soft memory limit keeps the heap from growing past it. GOGC and GOMEMLIMIT,
// when set, win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(128 << 20)
	}
}
