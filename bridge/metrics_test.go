package bridge_test

import (
	"github.com/webhookbridge/bridge/bridge"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	h := startBridge(t, nil)
	h.post("usercheck", userCheckHeaders(testSecret, domainFlagged), domainFlagged)
	h.post("usercheck", userCheckHeaders(testSecret, domainFlagged), domainFlagged) // duplicate
	h.post("usercheck", userCheckHeaders("wrong", domainFlagged), domainFlagged)
	h.post("usercheck", nil, domainFlagged)
	h.post("usercheck", userCheckHeaders(testSecret, []byte("x")), []byte("x")) // unmapped

	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`bridge_requests_total{endpoint="usercheck",status="200"} 3`,
		`bridge_requests_total{endpoint="usercheck",status="401"} 2`,
		`bridge_rejections_total{endpoint="usercheck",reason="bad_signature"} 1`,
		`bridge_rejections_total{endpoint="usercheck",reason="missing_proof"} 1`,
		`bridge_duplicates_total{endpoint="usercheck"} 1`,
		`bridge_unmapped_total{endpoint="usercheck"} 1`,
		`bridge_publish_duration_seconds_count{endpoint="usercheck"} 3`,
		`bridge_nats_connected 1`,
		`bridge_requests_in_flight 0`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestClientIPAndRequestID(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		wantIP  string
	}{
		{"no trusted proxies: the TCP peer", nil, `"remote_ip":"127.0.0.1"`},
		{"loopback trusted: X-Forwarded-For", []string{"127.0.0.0/8"}, `"remote_ip":"203.0.113.7"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startBridge(t, func(c *bridge.Config) { c.HTTP.TrustedProxies = tc.trusted })
			hdr := userCheckHeaders(testSecret, domainFlagged)
			hdr.Set("X-Forwarded-For", "203.0.113.7")
			hdr.Set("X-Request-Id", "provider-req-42")
			resp, _ := h.post("usercheck", hdr, domainFlagged)
			if got := resp.Header.Get("X-Request-Id"); got != "provider-req-42" {
				t.Errorf("X-Request-Id answered %q, want the request's own", got)
			}
			cp := userCheckHeaders(testSecret, domainFlagged)
			cp.Set("request-id", "centrepoint-req-7") // CentrePoint's own request id header
			if resp, _ = h.post("usercheck", cp, domainFlagged); resp.Header.Get("X-Request-Id") != "centrepoint-req-7" {
				t.Errorf("request-id not kept: %q", resp.Header.Get("X-Request-Id"))
			}
			resp, _ = h.post("usercheck", http.Header{}, domainFlagged)
			generated := resp.Header.Get("X-Request-Id")
			if again, _ := h.post("usercheck", http.Header{}, domainFlagged); again.Header.Get("X-Request-Id") == generated {
				t.Errorf("generated request id %q repeated", generated)
			}
			logs := h.logs.String()
			for _, want := range []string{tc.wantIP, `"request_id":"provider-req-42"`, `"request_id":"` + generated + `"`} {
				if generated == "" || !strings.Contains(logs, want) {
					t.Errorf("logs lack %s (generated id %q)", want, generated)
				}
			}
		})
	}
}
