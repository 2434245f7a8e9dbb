package bridge_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
	"github.com/webhookbridge/bridge/providers"
)

// harness is a running bridge against a real nats-server, with a client to read the stream.
type harness struct {
	t    *testing.T
	nats *natstest.Server
	app  *bridge.App
	cfg  *bridge.Config
	base string // http://127.0.0.1:port
	js   jetstream.JetStream
	logs *testio.Buffer
}

// testSecret is every endpoint's secret in these tests.
const testSecret = "test-secret"

// testConfig is a bridge on a random port with one endpoint per provider, against url.
func testConfig(url string) *bridge.Config {
	cfg := bridge.DemoConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.URL = url
	cfg.NATS.PublishTimeout = 2 * time.Second
	for i := range cfg.Endpoints {
		ep := &cfg.Endpoints[i]
		p, _ := providers.Lookup(ep.Provider)
		creds := p.DemoCredentials(testSecret) // every secret, password and token: testSecret
		ep.Secrets, ep.BasicAuth, ep.BearerTokens = creds.Secrets, creds.BasicAuth, creds.BearerTokens
	}
	return cfg
}

// startBridge starts a nats-server and a bridge against it; modify may change the configuration.
func startBridge(t *testing.T, modify func(*bridge.Config)) *harness {
	t.Helper()
	ns := natstest.Start(t)
	return startBridgeAgainst(t, ns, ns.URL(), modify)
}

// startBridgeAgainst starts a bridge that reaches the nats-server ns at url (its own URL, or a
// proxy's in front of it).
func startBridgeAgainst(t *testing.T, ns *natstest.Server, url string, modify func(*bridge.Config)) *harness {
	t.Helper()
	cfg := testConfig(url)
	if modify != nil {
		modify(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &testio.Buffer{}
	app, err := bridge.Start(context.Background(), cfg, zerolog.New(logs))
	if err != nil {
		t.Fatalf("start bridge: %v", err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, nats: ns, app: app, cfg: cfg, base: "http://" + app.Addr(), js: js, logs: logs}
}

// post sends body to /webhooks/<endpoint> with headers and returns the answer.
func (h *harness) post(endpoint string, header http.Header, body []byte) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, endpoint, header, body)
}

// do sends a request with any method.
func (h *harness) do(method, endpoint string, header http.Header, body []byte) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+"/webhooks/"+endpoint, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp, answer
}

// messages returns every message in the stream, in order.
func (h *harness) messages() []*jetstream.RawStreamMsg {
	h.t.Helper()
	msgs, err := streamMessages(h.js, h.cfg.Stream.Name)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

// streamMessages returns every message of the stream called name, in order.
func streamMessages(js jetstream.JetStream, name string) ([]*jetstream.RawStreamMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", name, err)
	}
	var msgs []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// hexHMAC256 is hex HMAC-SHA256(secret, parts), as the providers' documentation computes it.
func hexHMAC256(secret string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		io.WriteString(m, p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// aghanimHeaders signs body as Aghanim's documentation does: hex HMAC-SHA256 of "{ts}.{body}".
func aghanimHeaders(secret string, ts int64, body []byte) http.Header {
	t := strconv.FormatInt(ts, 10)
	return http.Header{
		"Content-Type":                  {"application/json"},
		"X-Aghanim-Signature-Timestamp": {t},
		"X-Aghanim-Signature":           {hexHMAC256(secret, t, ".", string(body))},
	}
}

// userCheckHeaders signs body as UserCheck's documentation does: hex HMAC-SHA256 of the payload.
func userCheckHeaders(secret string, body []byte) http.Header {
	return http.Header{
		"Content-Type":          {"application/json"},
		"X-Usercheck-Signature": {hexHMAC256(secret, string(body))},
	}
}

// parseChecked reads a configuration and compiles it, returning it as written with defaults
// applied, or the compile's problems.
func parseChecked(r io.Reader, getenv func(string) (string, bool)) (*bridge.Config, error) {
	plan, err := bridge.ParsePlan(r, getenv)
	if err != nil {
		return nil, err
	}
	return plan.Config(), nil
}
