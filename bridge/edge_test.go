package bridge_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := streamMessages(js, name)
		if err == nil && len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub stream %s: not %d messages within %s (%d, last error %v)", name, n, timeout, len(msgs), err)
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

	// Metrics show the leaf link and how far forwarding has got (sequences on this side).
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := app.Broker().Edge()
		if st.Enabled && st.LeafConnected && st.LastSeq == 1 && st.ForwardedSeq == 1 && st.Backlog() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge status %+v, want the leaf up and sequence 1 stored and forwarded", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"bridge_edge_leaf_connected 1", "bridge_edge_last_sequence 1", "bridge_edge_backlog 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
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

func TestStoreAndForwardConfig(t *testing.T) {
	const endpoint = "\nendpoints: [{id: a, provider: aghanim, secrets: [x]}]"
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; nil: valid
	}{
		{"valid, defaults", "nats: {embedded: {domain: edge-0, leaf: {url: \"nats-leaf://hub:7422\"}}}", nil},
		{"valid, sizes", "nats: {embedded: {domain: edge-1, leaf: {url: \"nats-leaf://a:7422,nats-leaf://b:7422\", hub_domain: central}, edge: {max_age: 48h, max_bytes: 512MiB, duplicate_window: 12h}}}", nil},
		{"leaf without a domain", "nats: {embedded: {leaf: {url: \"nats-leaf://hub:7422\"}}}", []string{"nats.embedded.domain"}},
		{"domain without a leaf", "nats: {embedded: {domain: edge-0}}", []string{"nats.embedded.leaf"}},
		{"domain not a token", "nats: {embedded: {domain: \"edge.0\", leaf: {url: \"nats-leaf://hub:7422\"}}}", []string{"nats.embedded.domain"}},
		{"no leaf url", "nats: {embedded: {domain: edge-0, leaf: {hub_domain: hub}}}", []string{"nats.embedded.leaf.url"}},
		{"leaf url not a URL", "nats: {embedded: {domain: edge-0, leaf: {url: \"hub\"}}}", []string{"nats.embedded.leaf.url"}},
		{"hub domain is ours", "nats: {embedded: {domain: hub, leaf: {url: \"nats-leaf://hub:7422\"}}}", []string{"nats.embedded.leaf.hub_domain"}},
		{"remote url too", "nats: {url: \"nats://x:4222\", embedded: {domain: edge-0, leaf: {url: \"nats-leaf://hub:7422\"}}}", []string{"nats.url"}},
		{"window over max age", "nats: {embedded: {domain: edge-0, leaf: {url: \"nats-leaf://hub:7422\"}, edge: {max_age: 1h, duplicate_window: 2h}}}", []string{"nats.embedded.edge.duplicate_window"}},
		{"bad size", "nats: {embedded: {domain: edge-0, leaf: {url: \"nats-leaf://hub:7422\"}, edge: {max_bytes: 10GB}}}", []string{"not a size"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseChecked(strings.NewReader(tc.yaml+endpoint), env(nil))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !cfg.NATS.StoreAndForward() || cfg.NATS.Embedded.Leaf.HubDomain == "" || cfg.NATS.Embedded.Edge.MaxBytes == 0 {
					t.Errorf("store-and-forward %v, defaults %+v", cfg.NATS.StoreAndForward(), cfg.NATS.Embedded)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want bridge.ByteSize
		ok   bool
	}{
		{"1048576", 1 << 20, true}, {"512B", 512, true}, {"64KiB", 64 << 10, true}, {"512 MiB", 512 << 20, true},
		{"10GiB", 10 << 30, true}, {"2TiB", 2 << 40, true}, {"10GB", 0, false}, {"-1KiB", 0, false}, {"", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tc := range tests {
		got, err := bridge.ParseByteSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestStoreAndForwardCheck: `bridge check` on a replica reports the hub's source for it, and fails
// naming the problem when the hub stream lacks this replica's source or the hub is unreachable.
func TestStoreAndForwardCheck(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-1")
	app, _ := startEdge(t, cfg)
	// check reaches the running replica's embedded server on its configured address.
	checkCfg := *cfg
	checkCfg.NATS.Embedded.Listen = app.Broker().Embedded.Addr().String()
	plan, err := bridge.Compile(&checkCfg)
	if err != nil {
		t.Fatal(err)
	}
	check := func() (string, error) {
		var out bytes.Buffer
		err := bridge.Check(context.Background(), plan, &out)
		return out.String(), err
	}
	waitLeaf := func() {
		deadline := time.Now().Add(10 * time.Second)
		for app.Broker().Embedded.NumLeafNodes() == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLeaf()

	applyHub(t, hub, cfg, "edge-0") // another replica's source only
	if out, err := check(); err == nil || !strings.Contains(out, "no source for this replica (domain edge-1)") {
		t.Errorf("hub without this replica's source: err %v\n%s", err, out)
	}
	applyHub(t, hub, cfg, "edge-0", "edge-1")
	if out, err := check(); err != nil || !strings.Contains(out, "hub's source for edge-1") {
		t.Errorf("hub with this replica's source: err %v\n%s", err, out)
	}
	hub.Stop()
	if out, err := check(); err == nil || !strings.Contains(out, "unreachable") {
		t.Errorf("hub stopped: err %v\n%s", err, out)
	}
}

// TestHubApplyIsIdempotent: a second apply changes nothing; adding a replica adds its source and
// keeps the others, with opt_start_seq 1 and the configured duplicate window.
func TestHubApplyIsIdempotent(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-0")
	cfg.ApplyDefaults()
	js, err := bridge.HubJetStream(hub.Connect(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		domains []string
		want    string
	}{
		{bridge.EdgeDomains(2), "created"},
		{bridge.EdgeDomains(2), "up to date"},
		{bridge.EdgeDomains(3), "added [edge-2]"},
	}
	for _, st := range steps {
		var out bytes.Buffer
		if err := bridge.ApplyHub(ctx, js, cfg, st.domains, &out); err != nil || !strings.Contains(out.String(), st.want) {
			t.Fatalf("apply %v: %v %q, want %q", st.domains, err, out.String(), st.want)
		}
	}
	s, err := js.Stream(ctx, "WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if len(c.Subjects) != 0 || c.Duplicates != cfg.Stream.DuplicateWindow || len(c.Sources) != 3 {
		t.Fatalf("hub stream: subjects %v, duplicate window %s, %d sources", c.Subjects, c.Duplicates, len(c.Sources))
	}
	for _, src := range c.Sources {
		if src.OptStartSeq != 1 || src.Name != "WEBHOOKS_EDGE" || src.External == nil {
			t.Errorf("source %+v: want WEBHOOKS_EDGE from sequence 1 through an external API", src)
		}
	}
}

// TestHubCannotAdministerEdge: a client of the hub cannot purge, delete, change or read the
// messages of a replica's local stream through the leaf link, while sourcing keeps working.
func TestHubCannotAdministerEdge(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-0")
	app, _ := startEdge(t, cfg)
	base := "http://" + app.Addr()
	hubJS := applyHub(t, hub, cfg, "edge-0")
	post := func(id string) {
		t.Helper()
		body := []byte(`{"event_type":"item.purchased","event_id":"` + id + `"}`)
		if got := postTo(t, base, "aghanim", aghanimHeaders(testSecret, 1725548450, body), body); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	post("whevt_before_attack")
	waitHubMsgs(t, hubJS, "WEBHOOKS", 1, 30*time.Second)

	edgeFromHub, err := jetstream.NewWithDomain(hub.Connect(t), "edge-0")
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Stream.EdgeStreamName()
	attempt := func(what string, call func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := call(ctx); err == nil {
			t.Errorf("%s from the hub succeeded", what)
		}
	}
	// Its info is not refused: sourcing reads it.
	infoCtx, cancelInfo := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelInfo()
	remote, err := edgeFromHub.Stream(infoCtx, name)
	if err != nil {
		t.Fatalf("the local stream's info from the hub: %v", err)
	}
	attempt("purge", func(ctx context.Context) error { return remote.Purge(ctx) })
	attempt("message delete", func(ctx context.Context) error { return remote.DeleteMsg(ctx, 1) })
	attempt("message get", func(ctx context.Context) error { _, err := remote.GetMsg(ctx, 1); return err })
	attempt("direct get", func(ctx context.Context) error {
		_, err := remote.GetMsg(ctx, 1, jetstream.WithGetMsgSubject("webhooks.>"))
		return err
	})
	attempt("update to one byte", func(ctx context.Context) error {
		_, err := edgeFromHub.UpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"webhooks.>"}, MaxBytes: 1, Storage: jetstream.FileStorage, Discard: jetstream.DiscardNew})
		return err
	})
	attempt("delete", func(ctx context.Context) error { return edgeFromHub.DeleteStream(ctx, name) })
	attempt("create another", func(ctx context.Context) error {
		_, err := edgeFromHub.CreateStream(ctx, jetstream.StreamConfig{Name: "INTRUDER", Subjects: []string{"intruder.>"}})
		return err
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	local, err := app.Broker().JS().Stream(ctx, name)
	if err != nil {
		t.Fatalf("local stream after the attempts: %v", err)
	}
	if info := local.CachedInfo(); info.State.Msgs != 1 || info.Config.MaxBytes != int64(cfg.NATS.Embedded.Edge.MaxBytes) {
		t.Errorf("local stream changed: %d messages, max_bytes %d", info.State.Msgs, info.Config.MaxBytes)
	}
	post("whevt_after_attack")
	waitHubMsgs(t, hubJS, "WEBHOOKS", 2, 30*time.Second)
}

// TestLeafTLS: nats.embedded.leaf.tls secures the link to a hub whose leafnode listener requires
// TLS: events reach the hub over it; without the hub's CA the link does not come up.
func TestLeafTLS(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	hub := natstest.StartHubWith(t, func(o *server.Options) {
		o.LeafNode.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		o.LeafNode.TLSTimeout = 5
	})
	cfg := edgeConfig(t, hub.LeafURL(), "edge-0")
	cfg.NATS.Embedded.Leaf.TLS = bridge.TLSFiles{CAFile: certFile}
	app, _ := startEdge(t, cfg)
	hubJS := applyHub(t, hub, cfg, "edge-0")
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_over_tls"}`)
	if got := postTo(t, "http://"+app.Addr(), "aghanim", aghanimHeaders(testSecret, 1725548450, body), body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	waitHubMsgs(t, hubJS, "WEBHOOKS", 1, 30*time.Second)

	bad := edgeConfig(t, hub.LeafURL(), "edge-1")
	bad.NATS.Embedded.Leaf.TLS = bridge.TLSFiles{CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	bad.ApplyDefaults()
	if _, err := bridge.Compile(bad); err == nil || !strings.Contains(err.Error(), "nats.embedded.leaf.tls") {
		t.Errorf("a CA file that is missing: %v, want an error naming nats.embedded.leaf.tls", err)
	}
}
