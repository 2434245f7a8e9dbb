package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// BenchmarkPipeline measures the whole in-process pipeline — read, authenticate, map, encode,
// publish and wait for the PubAck from a real JetStream file store — for 1 KiB Aghanim events,
// from many goroutines at once (as concurrent HTTP requests would be). Logging is off, as the
// request log is at info and production runs it; BenchmarkPipelineLogged keeps it on.
func BenchmarkPipeline(b *testing.B)       { benchmarkPipeline(b, zerolog.Nop()) }
func BenchmarkPipelineLogged(b *testing.B) { benchmarkPipeline(b, zerolog.New(discard{})) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchmarkPipeline(b *testing.B, log zerolog.Logger) {
	ns := natstest.Start(b)
	cfg := testConfig(ns.URL())
	plan, err := bridge.Compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	broker, err := bridge.StartBroker(context.Background(), plan, log)
	if err != nil {
		b.Fatal(err)
	}
	defer broker.Close()
	handler := bridge.NewServer(plan, bridge.ServerDeps{
		Publisher:    bridge.NewPublisher(broker, cfg.NATS.PublishTimeout),
		Ready:        broker.Ready,
		Metrics:      bridge.NewMetrics(broker),
		Log:          log,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
	})
	filler := strings.Repeat("x", 700)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent requests
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := []byte(fmt.Sprintf(`{"event_type":"player.update","event_id":"whevt_bench_%d_%d","event_time":1725548450,"event_data":{"player_id":"P-%d","filler":"%s"}}`, time.Now().UnixNano(), i, i, filler))
			req := httptest.NewRequest(http.MethodPost, "/webhooks/aghanim", bytes.NewReader(body))
			for k, v := range aghanimHeaders(testSecret, 1725548450, body) {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
