package bridge_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
)

// zignSecV1 signs body as ZignSec's session API does: t=<ts>,v1=<hex HMAC-SHA256 of "{t}.{body}">.
func zignSecV1(secret string, ts int64, body []byte) http.Header {
	t := strconv.FormatInt(ts, 10)
	return http.Header{
		"Content-Type":          {"application/json"},
		"X-Zignsec-Hmac-Sha256": {"t=" + t + ",v1=" + hexHMAC256(secret, t, ".", string(body))},
	}
}

// TestUnsignedStaysApart: an allow_unsigned endpoint never sends an unsigned event to a
// responder, scopes its Nats-Msg-Id apart from signed events' ids, and with unsigned_types
// accepts only the listed types without proof. Each hostile request is followed by an honest one.
func TestUnsignedStaysApart(t *testing.T) {
	questions := []string{"session_created"}
	h := startBridge(t, func(c *bridge.Config) {
		c.Endpoints = append(c.Endpoints,
			bridge.EndpointConfig{ID: "sms", Provider: "zignsec", Secrets: []string{testSecret}, AllowUnsigned: true,
				ReplyEvents: &questions, ReplyTimeout: time.Second},
			bridge.EndpointConfig{ID: "sms-typed", Provider: "zignsec", Secrets: []string{testSecret}, AllowUnsigned: true,
				UnsignedTypes: []string{"SMS_Delivered"}},
		)
	})
	plain := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name      string
		endpoint  string
		body      string
		header    http.Header
		status    int
		wantMsgID string // "": nothing published
	}{
		{"an unsigned question is refused, not published", "sms", `{"event":"session_created","id":"q1"}`, plain, 401, ""},
		{"the same question signed is asked (no responder: 503)", "sms", `{"event":"session_created","id":"q1"}`, zignSecV1(testSecret, 1, []byte(`{"event":"session_created","id":"q1"}`)), 503, "sms:"},
		{"an unsigned event is scoped apart", "sms", `{"event":"sms_delivered","id":"s1"}`, plain, 200, "sms:unsigned:"},
		{"the same event signed is not pre-empted", "sms", `{"event":"sms_delivered","id":"s1"}`, zignSecV1(testSecret, 1, []byte(`{"event":"sms_delivered","id":"s1"}`)), 200, "sms:"},
		{"an unlisted type without proof is refused", "sms-typed", `{"event":"identification_completed","id":"t1"}`, plain, 401, ""},
		{"a listed type without proof is taken", "sms-typed", `{"event":"sms_delivered","id":"t2"}`, plain, 200, "sms-typed:unsigned:"},
		{"an unlisted type with proof is taken", "sms-typed", `{"event":"identification_completed","id":"t3"}`, zignSecV1(testSecret, 1, []byte(`{"event":"identification_completed","id":"t3"}`)), 200, "sms-typed:"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.messages())
			resp, answer := h.post(tc.endpoint, tc.header, []byte(tc.body))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, answer, tc.status)
			}
			added := h.messages()[before:]
			switch {
			case tc.wantMsgID == "" && len(added) > 0:
				t.Fatalf("%d messages published, want none", len(added))
			case tc.wantMsgID != "" && len(added) != 1:
				t.Fatalf("%d messages published, want 1", len(added))
			case tc.wantMsgID != "":
				want := tc.wantMsgID + sha256Hex(tc.body) // ZignSec's id is the body's hash
				if got := added[0].Header.Get(jetstream.MsgIDHeader); got != want {
					t.Errorf("Nats-Msg-Id %q, want %q", got, want)
				}
			}
			h.honest(t, "whevt_after_unsigned_"+strconv.Itoa(i))
		})
	}
}

// TestUnsignedTypesNeedAllowUnsigned: unsigned_types without allow_unsigned is a mistake.
func TestUnsignedTypesNeedAllowUnsigned(t *testing.T) {
	cfg := testConfig("nats://127.0.0.1:4222")
	cfg.Endpoints[0].UnsignedTypes = []string{"x"}
	if err := cfg.Validate(); err == nil {
		t.Fatal("unsigned_types without allow_unsigned accepted")
	}
}

// TestRejectedTypeWithLineBreaks: a refused type that holds line breaks is quoted in the kept
// rejection, whose headers stay intact, and the next honest request is stored.
func TestRejectedTypeWithLineBreaks(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "sms-typed", Provider: "zignsec", Secrets: []string{testSecret},
			AllowUnsigned: true, UnsignedTypes: []string{"sms_delivered"}})
	})
	body := []byte(`{"event":"evil\r\nNats-Msg-Id: x\r\n\r\n","id":"t9"}`)
	if resp, _ := h.post("sms-typed", http.Header{"Content-Type": {"application/json"}}, body); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%d, want 401", resp.StatusCode)
	}
	msgs := h.rejections(t, 1)
	if d := msgs[0].Header.Get(bridge.RejectionDiagnosisHeader); !strings.Contains(d, "unsigned_types") || strings.ContainsAny(d, "\r\n") {
		t.Errorf("diagnosis %q", d)
	}
	h.honest(t, "whevt_after_line_breaks")
}
