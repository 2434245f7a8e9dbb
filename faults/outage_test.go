package faults

import (
	"net/http"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestNATSRestartUnderLoad stops the NATS server in the middle of a steady load and starts it
// again (docs/how-it-works.md): requests during the outage are answered 503 with Retry-After, the
// bridge recovers by itself, and with clients that retry as providers do every event ends up
// answered 2xx and stored exactly once.
func TestNATSRestartUnderLoad(t *testing.T) {
	ns := natstest.Start(t)
	app := startBridge(t, configYAML(ns.URL(), 1, time.Second, ""))
	base := "http://" + app.Addr()
	l := startLoad(t, loadOptions{name: "restart", targets: []string{base}, workers: 12, retry: true})

	l.waitOK(200, 20*time.Second, "steady load before the outage")
	before := l.snapshot()
	ns.Stop()
	t.Logf("NATS stopped after %s", before)
	waitFor(t, 10*time.Second, "a 503 during the outage", func() bool {
		return l.snapshot().unavailable > before.unavailable
	})
	waitReady(t, base, http.StatusServiceUnavailable, 10*time.Second)
	outage := 2 * time.Second
	if testing.Short() {
		outage = 500 * time.Millisecond
	}
	time.Sleep(outage)
	during := l.snapshot()

	ns.Restart()
	restarted := time.Now()
	recovery := waitFor(t, 30*time.Second, "a 2xx after NATS came back (no bridge restart)", func() bool {
		return l.ok2xxSince(restarted)
	})
	t.Logf("during the outage: %d answers 503, %d 2xx (in flight before it), %d other, %d transport errors; first 2xx %s after the restart",
		during.unavailable-before.unavailable, during.ok-before.ok, during.other-before.other,
		during.transport-before.transport, recovery.Round(time.Millisecond))
	waitReady(t, base, http.StatusOK, 10*time.Second)
	l.waitOK(200, 20*time.Second, "steady load after the outage")

	l.check(ns.Connect(t), "WEBHOOKS")
}
