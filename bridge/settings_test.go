package bridge_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
)

// standardWebhooksHeaders signs body as the Standard Webhooks specification says, independently.
func standardWebhooksHeaders(key []byte, id string, ts time.Time, body []byte) http.Header {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	m.Write(body)
	return http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {strconv.FormatInt(ts.Unix(), 10)},
		"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))},
	}
}

// TestStandardWebhooksEndpoint: an endpoint's own keys (timestamp_tolerance, type_prefix) reach its
// provider from the YAML; webhook-id is the event id, so a retry is one message; a replay outside
// the tolerance is refused with its reason.
func TestStandardWebhooksEndpoint(t *testing.T) {
	key := []byte("acme signing key")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	yaml := `endpoints:
  - id: acme
    provider: standard-webhooks
    secrets: ["` + secret + `"]
    timestamp_tolerance: 10m
    type_prefix: com.acme
`
	parsed, err := parseChecked(strings.NewReader(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	h := startBridge(t, func(c *bridge.Config) { c.Endpoints = parsed.Endpoints })
	body := []byte(`{"type":"invoice.paid","timestamp":"2026-11-29T10:15:00Z","data":{"invoice":"in_1"}}`)
	for i, ts := range []time.Time{time.Now(), time.Now().Add(8 * time.Minute)} { // the original and a retry signed afresh
		if resp, answer := h.post("acme", standardWebhooksHeaders(key, "msg_42", ts, body), body); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delivery %d: %d %s, want 204", i, resp.StatusCode, answer)
		}
	}
	msgs := h.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1 (the retry is a duplicate)", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "webhooks.acme.invoice.paid" || m.Header.Get("ce-type") != "com.acme.invoice.paid" || m.Header.Get("ce-id") != "msg_42" ||
		m.Header.Get("ce-time") != "2026-11-29T10:15:00Z" {
		t.Errorf("published %s: ce-type %q, ce-id %q, ce-time %q", m.Subject, m.Header.Get("ce-type"), m.Header.Get("ce-id"), m.Header.Get("ce-time"))
	}
	// No type: unmapped, but still the sender's message id, so its retries stay one event.
	untyped := []byte(`{"data":{"invoice":"in_2"}}`)
	if resp, _ := h.post("acme", standardWebhooksHeaders(key, "msg_untyped", time.Now(), untyped), untyped); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("untyped: %d", resp.StatusCode)
	}
	if msgs := h.messages(); msgs[len(msgs)-1].Header.Get("ce-id") != "msg_untyped" || msgs[len(msgs)-1].Subject != "webhooks.acme.unmapped" {
		t.Errorf("untyped event: %s ce-id %q, want unmapped with the webhook-id", msgs[len(msgs)-1].Subject, msgs[len(msgs)-1].Header.Get("ce-id"))
	}
	stale := standardWebhooksHeaders(key, "msg_43", time.Now().Add(-11*time.Minute), body)
	if resp, _ := h.post("acme", stale, body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a timestamp 11 min old with a 10 min tolerance: %d, want 401", resp.StatusCode)
	}
	if got := metricSample(t, h, `bridge_rejections_total{endpoint="acme",reason="stale_timestamp"}`); got != 1 {
		t.Errorf("stale_timestamp rejections = %v, want 1", got)
	}
}

func TestEndpointSettingsErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"a key the provider does not take", "endpoints: [{id: a, provider: altdentifier, secrets: [x], timestamp_tolerance: 5m}]", "endpoints[0].timestamp_tolerance: unknown field (provider altdentifier takes: none)"},
		{"a misspelt key", "endpoints: [{id: a, provider: standard-webhooks, secrets: [\"whsec_YWJj\"], timestamp_tolerence: 5m}]", "endpoints[0].timestamp_tolerence: unknown field"},
		{"a bad value", "endpoints: [{id: a, provider: standard-webhooks, secrets: [\"whsec_YWJj\"], timestamp_tolerance: soon}]", "endpoints[0].timestamp_tolerance"},
		{"a secret that is not base64", "endpoints: [{id: a, provider: standard-webhooks, secrets: [\"whsec_!!\"]}]", "secrets[0]"},
		{"a type prefix that is not reverse-DNS", "endpoints: [{id: a, provider: aghanim, secrets: [x], type_prefix: Acme Corp}]", "endpoints[0].type_prefix"},
		{"a success status that is no success", "endpoints: [{id: a, provider: aghanim, secrets: [x], success_status: 302}]", "endpoints[0].success_status"},
		{"a rejection status that is no client error", "endpoints: [{id: a, provider: zignsec, secrets: [x], rejection_status: 500}]", "endpoints[0].rejection_status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.ParsePlan(strings.NewReader(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCommonEndpointKeys: type_prefix, success_status and rejection_status are every endpoint's
// keys, whatever its provider; the provider's answer body stays.
func TestCommonEndpointKeys(t *testing.T) {
	accepted, refused := 202, 401
	h := startBridge(t, func(c *bridge.Config) {
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "shop", Provider: "aghanim", Secrets: []string{testSecret},
			TypePrefix: "com.example.shop", SuccessStatus: &accepted, RejectionStatus: &refused})
	})
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_common_keys"}`)
	resp, answer := h.post("shop", aghanimHeaders(testSecret, 1, body), body)
	if resp.StatusCode != accepted || string(answer) != `{"status":"ok"}` {
		t.Errorf("signed: %d %s, want 202 with Aghanim's body", resp.StatusCode, answer)
	}
	msgs := h.messages()
	if got := msgs[len(msgs)-1].Header.Get("ce-type"); got != "com.example.shop.item.purchased" {
		t.Errorf("ce-type %q, want com.example.shop.item.purchased", got)
	}
	if resp, _ := h.post("shop", aghanimHeaders("wrong", 1, body), body); resp.StatusCode != refused {
		t.Errorf("forged: %d, want 401", resp.StatusCode)
	}
	if resp, _ := h.post("aghanim", aghanimHeaders("wrong", 1, body), body); resp.StatusCode != 403 {
		t.Errorf("another Aghanim endpoint: %d, want its own 403", resp.StatusCode)
	}
}
