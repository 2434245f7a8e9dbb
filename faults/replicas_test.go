package faults

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// TestTwoReplicasOneMessage runs two bridges on the same NATS server and stream, as two replicas
// behind a load balancer, and delivers the same event to both (docs/how-it-works.md): first to A,
// then its retry to B, then copies to both at once. Every answer is 2xx and the stream holds one
// message per event. Then steady load sends every event to both replicas at the same moment.
func TestTwoReplicasOneMessage(t *testing.T) {
	ns := natstest.Start(t)
	yaml := configYAML(ns.URL(), 1, 2*time.Second, "")
	a, b := startBridge(t, yaml), startBridge(t, yaml)
	targets := []string{"http://" + a.Addr(), "http://" + b.Addr()}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	// A connection dialled for a request that then went over another one stays new (no request
	// yet); Shutdown waits up to 5 s for such a connection, so close them before it.
	t.Cleanup(client.CloseIdleConnections)

	post := func(target string, body []byte, ts int64) (int, error) {
		t.Helper()
		tss := strconv.FormatInt(ts, 10)
		req, err := http.NewRequest(http.MethodPost, target+"/webhooks/aghanim", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Aghanim-Signature-Timestamp", tss)
		req.Header.Set("X-Aghanim-Signature", aghanimSignature(secret, tss, body))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	event := func(id string) []byte {
		return []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":%q,"event_time":1725548450,"event_data":{"player_id":"p1"}}`, id))
	}

	// A retry, a minute later (a new signature timestamp), to the other replica.
	body := event("whevt_replicas_retry")
	for i, target := range targets {
		if status, err := post(target, body, 1725548450+int64(60*i)); err != nil || status != http.StatusOK {
			t.Fatalf("delivery %d to replica %c: %d %v, want 200", i+1, 'A'+i, status, err)
		}
	}

	// Copies racing each other: 20 events, each sent 4 times to each replica at once.
	const events, copies = 20, 4
	var wg sync.WaitGroup
	errs := make(chan error, events*copies*len(targets))
	for e := range events {
		body := event(fmt.Sprintf("whevt_replicas_race_%d", e))
		for c := range copies * len(targets) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status, err := post(targets[c%len(targets)], body, 1725548450+int64(c)); err != nil || status != http.StatusOK {
					errs <- fmt.Errorf("event %d copy %d: %d %v, want 200", e, c, status, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stored := storedIDs(t, ns.Connect(t), "WEBHOOKS")
	if n := stored["aghanim:whevt_replicas_retry"]; n != 1 {
		t.Errorf("the retried event is stored %d times, want 1", n)
	}
	for e := range events {
		if n := stored[fmt.Sprintf("aghanim:whevt_replicas_race_%d", e)]; n != 1 {
			t.Errorf("event %d, delivered %d times at once to two replicas, is stored %d times, want 1", e, copies*len(targets), n)
		}
	}
	if n := sum(stored); n != 1+events {
		t.Errorf("%d messages in the stream, want %d", n, 1+events)
	}
	if t.Failed() {
		return
	}

	// Steady load, every event to both replicas at the same moment.
	l := startLoad(t, loadOptions{name: "fanout", targets: targets, workers: 8, fanOut: true, retry: true})
	l.waitOK(400, 20*time.Second, "steady load on two replicas")
	l.check(ns.Connect(t), "WEBHOOKS")
}
