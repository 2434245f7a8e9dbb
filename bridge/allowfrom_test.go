package bridge_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// allowFromHandler is the bridge's handler against a real nats-server, with the usercheck
// endpoint limited to allow and trusted proxies as given. Requests are served through Echo's
// handler with httptest, so a test can choose the TCP peer's address (IPv4 or IPv6).
func allowFromHandler(t *testing.T, allow, trusted []string) (http.Handler, *testio.Buffer, *bridge.Metrics) {
	t.Helper()
	ns := natstest.Start(t)
	cfg := testConfig(ns.URL())
	cfg.HTTP.TrustedProxies = trusted
	for i := range cfg.Endpoints {
		if cfg.Endpoints[i].ID == "usercheck" {
			cfg.Endpoints[i].AllowFrom = allow
		}
	}
	plan, err := bridge.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testio.Buffer{}
	log := zerolog.New(logs)
	broker, err := bridge.StartBroker(context.Background(), plan, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	metrics := bridge.NewMetrics(broker)
	return bridge.NewServer(plan, bridge.ServerDeps{
		Publisher:    bridge.NewPublisher(broker, cfg.NATS.PublishTimeout),
		Ready:        broker.Ready,
		Metrics:      metrics,
		Log:          log,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
	}), logs, metrics
}

// unreadBody fails the test if the handler reads it: a refused sender's body is never read.
type unreadBody struct {
	t    *testing.T
	body *bytes.Reader
	read bool
}

func (b *unreadBody) Read(p []byte) (int, error) { b.read = true; return b.body.Read(p) }

func TestAllowFrom(t *testing.T) {
	allow := []string{"203.0.113.0/24", "198.51.100.7", "2001:db8:1::/48"}
	trusted := []string{"10.0.0.0/8", "fd00::1"}
	tests := []struct {
		name    string
		allow   []string
		peer    string // the TCP peer, host:port
		xff     string // X-Forwarded-For, if any
		allowed bool
	}{
		{"IPv4 peer inside a CIDR", allow, "203.0.113.9:5000", "", true},
		{"IPv4 peer equal to a listed address", allow, "198.51.100.7:5000", "", true},
		{"IPv4 peer outside every entry", allow, "198.51.100.8:5000", "", false},
		{"IPv6 peer inside a CIDR", allow, "[2001:db8:1:2::5]:5000", "", true},
		{"IPv6 peer outside", allow, "[2001:db8:2::5]:5000", "", false},
		{"IPv4-mapped IPv6 peer inside", allow, "[::ffff:203.0.113.9]:5000", "", true},
		{"spoofed X-Forwarded-For from an untrusted peer is ignored", allow, "192.0.2.66:5000", "203.0.113.9", false},
		{"untrusted allowed peer with a foreign X-Forwarded-For stays allowed", allow, "203.0.113.9:5000", "192.0.2.66", true},
		{"through a trusted proxy: the client in X-Forwarded-For", allow, "10.1.2.3:5000", "203.0.113.9", true},
		{"through a trusted proxy: a refused client", allow, "10.1.2.3:5000", "192.0.2.66", false},
		{"chain of trusted proxies: right-most untrusted address", allow, "10.1.2.3:5000", "192.0.2.66, 203.0.113.9, 10.9.9.9", true},
		{"chain: a spoofed allowed address left of the real client", allow, "10.1.2.3:5000", "203.0.113.9, 192.0.2.66", false},
		{"trusted IPv6 proxy", allow, "[fd00::1]:5000", "2001:db8:1::77", true},
		{"no allow_from: anyone", nil, "192.0.2.66:5000", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handler, logs, _ := allowFromHandler(t, tc.allow, trusted)
			body := &unreadBody{t: t, body: bytes.NewReader(domainFlagged)}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/usercheck", body)
			req.RemoteAddr = tc.peer
			for k, v := range userCheckHeaders(testSecret, domainFlagged) {
				req.Header[k] = v
			}
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			switch {
			case tc.allowed && rec.Code != http.StatusOK:
				t.Errorf("status %d, want 200 (%s)", rec.Code, rec.Body)
			case !tc.allowed && rec.Code != http.StatusForbidden:
				t.Errorf("status %d, want 403", rec.Code)
			case !tc.allowed && body.read:
				t.Errorf("the body of a refused sender was read")
			case !tc.allowed && !strings.Contains(logs.String(), `"reason":"ip_not_allowed"`):
				t.Errorf("log line lacks reason ip_not_allowed: %s", logs)
			}
		})
	}
}

func TestAllowFromRefusalIsCountedAndNothingPublished(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		for i := range c.Endpoints {
			c.Endpoints[i].AllowFrom = []string{"203.0.113.0/24"} // the test client is 127.0.0.1
		}
	})
	resp, _ := h.post("usercheck", userCheckHeaders(testSecret, domainFlagged), domainFlagged)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if n := len(h.messages()); n != 0 {
		t.Errorf("%d messages published for a refused sender", n)
	}
	if got := metricSample(t, h, `bridge_rejections_total{endpoint="usercheck",reason="ip_not_allowed"}`); got != 1 {
		t.Errorf("bridge_rejections_total{reason=ip_not_allowed} = %v, want 1", got)
	}
}

func TestAllowFromConfigErrors(t *testing.T) {
	yaml := "endpoints: [{id: a, provider: aghanim, secrets: [x], allow_from: [\"10.0.0.0/8\", \"not-an-ip\", \"10.0.0.1/33\"]}]\n" +
		"http: {trusted_proxies: [\"nope\"]}"
	_, err := bridge.ParsePlan(strings.NewReader(yaml), env(nil))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"endpoints[0].allow_from[1]", "endpoints[0].allow_from[2]", "http.trusted_proxies[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "allow_from[0]") {
		t.Errorf("a valid CIDR was refused: %v", err)
	}
}
