package bridge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/cloudevents"
	"github.com/webhookbridge/bridge/providers"
)

// FuzzEventID: whatever id a provider's mapping returns, the CloudEvent's id (and so
// Nats-Msg-Id) is a header-safe token, and the event encodes.
func FuzzEventID(f *testing.F) {
	for _, seed := range []string{"whevt_1", "", "whevt_1\r\nNats-Msg-Id: x", "a b", "é", string(make([]byte, 300))} {
		f.Add(seed, []byte(`{"event_type":"order.paid"}`))
	}
	ep := compiledEndpoint(f, EndpointConfig{ID: "aghanim", Provider: "aghanim", Secrets: []string{"k"}})
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		m := hmac.New(sha256.New, []byte("k"))
		m.Write([]byte("1." + string(body)))
		req := providers.Request{Header: http.Header{
			"X-Aghanim-Signature-Timestamp": {"1"},
			"X-Aghanim-Signature":           {hex.EncodeToString(m.Sum(nil))},
		}, Body: body}
		verified, err := ep.Provider.Verify(req, ep.Credentials)
		if err != nil {
			t.Fatal(err)
		}
		ev := newEvent(eventInput{endpoint: ep, verified: verified, mapped: providers.Event{Type: "x", ID: id}, received: time.Now()})
		if !usableID(ev.ID()) {
			t.Fatalf("id %q is not a header-safe token", ev.ID())
		}
		if _, err := cloudevents.Encode(ep.Subject("x"), ev); err != nil {
			t.Fatalf("encode: %v", err)
		}
	})
}

// TestValidTraceparent: the W3C Trace Context rules as OpenTelemetry's propagator applies them
// (https://www.w3.org/TR/trace-context/#traceparent-header); each case changes one thing.
func TestValidTraceparent(t *testing.T) {
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	tests := []struct {
		name string
		tp   string
		want bool
	}{
		{"version 00, sampled", "00-" + traceID + "-" + spanID + "-01", true},
		{"version 00, not sampled", "00-" + traceID + "-" + spanID + "-00", true},
		{"all-zero trace id", "00-00000000000000000000000000000000-" + spanID + "-01", false},
		{"all-zero parent id", "00-" + traceID + "-0000000000000000-01", false},
		{"version ff", "ff-" + traceID + "-" + spanID + "-01", false},
		{"upper-case hex", "00-" + strings.ToUpper(traceID) + "-" + spanID + "-01", false},
		{"not hex", "00-" + traceID[:31] + "g-" + spanID + "-01", false},
		{"version 00 with a field more", "00-" + traceID + "-" + spanID + "-01-extra", false},
		{"version 00, a reserved flag", "00-" + traceID + "-" + spanID + "-09", false},
		{"a short trace id", "00-" + traceID[1:] + "-" + spanID + "-01", false},
		{"a long parent id", "00-" + traceID + "-" + spanID + "0-01", false},
		{"no flags", "00-" + traceID + "-" + spanID, false},
		{"a later version", "01-" + traceID + "-" + spanID + "-01", true},
		{"a later version with more fields", "01-" + traceID + "-" + spanID + "-01-what-ever", true},
		{"a later version, no '-' after the flags", "01-" + traceID + "-" + spanID + "-01x", false},
		{"a later version over 512 bytes", "01-" + traceID + "-" + spanID + "-01-" + strings.Repeat("x", 500), false},
		{"a control character", "01-" + traceID + "-" + spanID + "-01-\x01", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		if got := validTraceparent(tc.tp); got != tc.want {
			t.Errorf("%s: validTraceparent(%q) = %v, want %v", tc.name, tc.tp, got, tc.want)
		}
	}
}

// BenchmarkValidTraceparent: what checking a request's traceparent costs (twice per request:
// the event and the log line).
func BenchmarkValidTraceparent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !validTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") {
			b.Fatal("refused")
		}
	}
}
