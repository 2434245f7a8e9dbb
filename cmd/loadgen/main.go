// Command loadgen measures the bridge: it sends correctly signed, unique webhooks over N
// connections for a time or a count, reports requests/s, latency percentiles and answers by
// status, and, reading the stream afterwards, how many acknowledged events are stored, missing
// or duplicated. It can also serve and load a trivial baseline handler (the HTTP ceiling of the
// machine) and publish straight to JetStream (the server's raw rate). See usage in run.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// The first signal stops the load and still reports; a second one kills the process.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		if errors.Is(err, errVerification) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
