package bridge_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/internal/natstest"
)

// BenchmarkDuplicateWindowMemory measures what one id in a stream's duplicate window costs the
// heap of a process that embeds its nats-server (the bridge's default), for three shapes of
// Nats-Msg-Id. Each publishes b.N events with unique ids into a file-storage stream with a 24 h
// window and reports the live heap after collection, per id ("heap-B/id"):
//
//	go test ./bridge -run '^$' -bench DuplicateWindowMemory -benchtime 300000x
//
// The shapes: the bridge's "{endpoint}:{ce id}" with an id as the load tool's Aghanim events
// carry (38 bytes); the same for AltDentifier, whose id is the body's SHA-256 in hex (77 bytes);
// and a fixed-length digest of "{endpoint}:{ce id}" (22 bytes), measured as the alternative.
func BenchmarkDuplicateWindowMemory(b *testing.B) {
	shapes := []struct {
		name string
		id   func(run string, i int) string
	}{
		{"provider-id", func(run string, i int) string { return fmt.Sprintf("aghanim:whevt_load_%s_%d", run, i) }},
		{"body-hash", func(run string, i int) string {
			sum := sha256.Sum256(fmt.Appendf(nil, "%s %d", run, i))
			return "altdentifier:" + hex.EncodeToString(sum[:])
		}},
		{"digest", func(run string, i int) string {
			sum := sha256.Sum256(fmt.Appendf(nil, "aghanim:whevt_load_%s_%d", run, i))
			return base64.RawURLEncoding.EncodeToString(sum[:16])
		}},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) {
			js := mustJetStream(b, natstest.Start(b))
			if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
				Name: "WINDOW", Subjects: []string{"webhooks.>"}, Storage: jetstream.FileStorage,
				Duplicates: 24 * time.Hour,
			}); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 64)
			publish := func(run string, n int) {
				for i := 0; i < n; i++ {
					if _, err := js.PublishAsync("webhooks.aghanim.player.update", body, jetstream.WithMsgID(shape.id(run, i))); err != nil {
						b.Fatal(err)
					}
				}
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(time.Minute):
					b.Fatal("PubAcks did not arrive")
				}
			}
			heap := func() uint64 {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			publish("5eed0000cafe", 10000) // the store's caches and the client's buffers, before the count
			before := heap()
			b.ResetTimer()
			publish("90262848a6b7", b.N) // 12 hex characters, as the load tool's run ids
			b.StopTimer()
			after := heap()
			b.ReportMetric(float64(after)-float64(before), "heap-B")
			b.ReportMetric((float64(after)-float64(before))/float64(b.N), "heap-B/id")
		})
	}
}
