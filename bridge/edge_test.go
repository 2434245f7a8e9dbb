package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// edgeConfig is a bridge in store-and-forward mode: an embedded leaf of hub with the given domain.
func edgeConfig(t *testing.T, leafURL, domain string) *bridge.Config {
	t.Helper()
	cfg := testConfig("")
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.StoreDir = filepath.Join(t.TempDir(), "data")
	cfg.NATS.Embedded.Domain = domain
	cfg.NATS.Embedded.Leaf = &bridge.LeafConfig{URL: leafURL}
	return cfg
}

// startEdge starts a bridge with cfg (validated with its defaults applied).
func startEdge(t *testing.T, cfg *bridge.Config) (*bridge.App, *testio.Buffer) {
	t.Helper()
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &testio.Buffer{}
	app, err := bridge.Start(context.Background(), cfg, zerolog.New(logs))
	if err != nil {
		t.Fatalf("start bridge: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	return app, logs
}

// applyHub creates the hub stream with sources from domains, straight on the hub.
func applyHub(t *testing.T, hub *natstest.Server, cfg *bridge.Config, domains ...string) jetstream.JetStream {
	t.Helper()
	js, err := bridge.HubJetStream(hub.Connect(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := bridge.ApplyHub(ctx, js, cfg, domains, &out); err != nil {
		t.Fatalf("hub apply: %v", err)
	}
	return js
}

// waitHubMsgs waits until the hub stream holds n messages and returns them in order.
func waitHubMsgs(t *testing.T, js jetstream.JetStream, name string, n int, timeout time.Duration) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		s, err := js.Stream(ctx, name)
		if err == nil {
			if info, err := s.Info(ctx); err == nil && info.State.Msgs >= uint64(n) {
				var msgs []*jetstream.RawStreamMsg
				for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
					if m, err := s.GetMsg(ctx, seq); err == nil {
						msgs = append(msgs, m)
					}
				}
				return msgs
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("hub stream %s: not %d messages within %s (last error %v)", name, n, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postTo(t *testing.T, base, endpoint string, header http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/"+endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStoreAndForward: an event is acknowledged from the local stream and reaches the hub stream
// through sourcing with its headers intact; the hub being away changes nothing for the provider.
func TestStoreAndForward(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-0")
	app, _ := startEdge(t, cfg)
	base := "http://" + app.Addr()
	hubJS := applyHub(t, hub, cfg, "edge-0")

	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_edge_1","event_data":{"player_id":"P-1"}}`)
	if got := postTo(t, base, "aghanim", aghanimHeaders(testSecret, 1725548450, body), body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	msgs := waitHubMsgs(t, hubJS, "WEBHOOKS", 1, 20*time.Second)
	m := msgs[0]
	if m.Subject != "webhooks.aghanim.item.purchased" || !bytes.Equal(m.Data, body) ||
		m.Header.Get("ce-id") != "whevt_edge_1" || m.Header.Get(jetstream.MsgIDHeader) != "aghanim:whevt_edge_1" {
		t.Errorf("on the hub: subject %s, ce-id %q, Nats-Msg-Id %q, body %q", m.Subject, m.Header.Get("ce-id"), m.Header.Get(jetstream.MsgIDHeader), m.Data)
	}

	// The hub goes away: the bridge keeps acknowledging from its local stream, and /readyz stays
	// 200 (it depends on local state only). When the hub is back, the backlog arrives.
	hub.Stop()
	for i := range 20 {
		b := []byte(fmt.Sprintf(`{"event_type":"item.purchased","event_id":"whevt_edge_away_%d","event_data":{"player_id":"P-1"}}`, i))
		if got := postTo(t, base, "aghanim", aghanimHeaders(testSecret, 1725548450, b), b); got != http.StatusOK {
			t.Fatalf("hub away, event %d: status %d", i, got)
		}
	}
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz with the hub away: %v %v, want 200", resp.StatusCode, err)
	}
	hub.Restart()
	msgs = waitHubMsgs(t, hubJS, "WEBHOOKS", 21, 90*time.Second)
	for i, m := range msgs[1:] {
		if want := fmt.Sprintf("aghanim:whevt_edge_away_%d", i); m.Header.Get(jetstream.MsgIDHeader) != want {
			t.Errorf("hub message %d: %q, want %q (in order)", i+2, m.Header.Get(jetstream.MsgIDHeader), want)
		}
	}
}
