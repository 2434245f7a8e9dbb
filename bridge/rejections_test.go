package bridge_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
)

// rejections waits until the rejections stream holds n messages and returns them.
func (h *harness) rejections(t *testing.T, n int) []*jetstream.RawStreamMsg {
	t.Helper()
	var msgs []*jetstream.RawStreamMsg
	waitFor(t, 30*time.Second, "rejections kept", func() bool {
		var err error
		msgs, err = streamMessages(h.js, h.cfg.Stream.RejectionsStreamName())
		return err == nil && len(msgs) >= n
	})
	return msgs
}

// TestRejectionsKept: every refused request to a known endpoint is kept with its reason, a
// diagnosis, the client's address, the time and its headers with credentials redacted, and its
// body up to rejections.max_body; the answer is what it always was.
func TestRejectionsKept(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		maxBody := bridge.ByteSize(16)
		c.Rejections.MaxBody = &maxBody
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "walled", Provider: "aghanim", Secrets: []string{testSecret},
			AllowFrom: []string{"192.0.2.1"}}) // admits nobody here
	})
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_forged_1"}`)
	forged := aghanimHeaders("not-the-secret", 1, body)
	forged.Set("Authorization", "Bearer hunter2")
	forged.Set("Cookie", "session=abc")
	forged.Set("Nats-Msg-Id", "steer-the-store") // a request's own may not reach NATS as such
	github := githubHeaders(testSecret, "push", "d-1", body)
	github.Del("X-Hub-Signature-256")
	github.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000") // the legacy header only
	tests := []struct {
		endpoint  string
		header    http.Header
		status    int
		subject   string
		diagnosis string
		body      string
	}{
		{"aghanim", forged, 403, "webhooks-rejected.aghanim.bad_signature", "no configured secret matches (1 tried)", string(body[:16])},
		{"hmac", github, 401, "webhooks-rejected.hmac.missing_proof", "the header X-Hub-Signature-256 is missing; similar headers present: X-Hub-Signature", string(body[:16])},
		{"walled", aghanimHeaders(testSecret, 1, body), 403, "webhooks-rejected.walled.ip_not_allowed", "is not in the endpoint's allow_from", ""},
	}
	for i, tc := range tests {
		resp, _ := h.post(tc.endpoint, tc.header, body)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d, want %d", tc.endpoint, resp.StatusCode, tc.status)
		}
		msgs := h.rejections(t, i+1)
		m := msgs[i]
		if m.Subject != tc.subject {
			t.Errorf("subject %q, want %q", m.Subject, tc.subject)
		}
		if d := m.Header.Get(bridge.RejectionDiagnosisHeader); !strings.Contains(d, tc.diagnosis) {
			t.Errorf("%s: diagnosis %q, want it to say %q", tc.endpoint, d, tc.diagnosis)
		}
		if m.Header.Get(bridge.RejectionRemoteHeader) != "127.0.0.1" || m.Header.Get(bridge.RejectionReasonHeader) == "" {
			t.Errorf("%s: remote %q reason %q", tc.endpoint, m.Header.Get(bridge.RejectionRemoteHeader), m.Header.Get(bridge.RejectionReasonHeader))
		}
		if _, err := time.Parse(time.RFC3339Nano, m.Header.Get(bridge.RejectionReceivedHeader)); err != nil {
			t.Errorf("%s: received %q: %v", tc.endpoint, m.Header.Get(bridge.RejectionReceivedHeader), err)
		}
		if string(m.Data) != tc.body {
			t.Errorf("%s: body %q, want %q", tc.endpoint, m.Data, tc.body)
		}
	}
	first := h.rejections(t, 1)[0]
	for _, name := range []string{"Authorization", "Cookie"} {
		if got := first.Header.Get(name); got != "[redacted]" {
			t.Errorf("%s kept as %q, want [redacted]", name, got)
		}
	}
	if got := first.Header.Get("Nats-Msg-Id"); got != "" || first.Header.Get("Bridge-Request-Nats-Msg-Id") != "steer-the-store" {
		t.Errorf("the request's Nats-Msg-Id reached the store as %q", got)
	}
	if got := first.Header.Get("X-Aghanim-Signature-Timestamp"); got != "1" {
		t.Errorf("the request's own headers are not kept: %q", got)
	}
	if n := len(h.messages()); n != 0 {
		t.Errorf("%d events published for refused requests", n)
	}
}

// TestRejectionsRateLimited: past the endpoint's burst, refused requests are counted, not kept;
// the answers stay the same.
func TestRejectionsRateLimited(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		c.Rejections.Burst = 3
		c.Rejections.Rate = 0.001
	})
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_flood"}`)
	for range 8 {
		if resp, _ := h.post("aghanim", aghanimHeaders("wrong", 1, body), body); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a forged request: %d", resp.StatusCode)
		}
	}
	h.rejections(t, 3)
	if n := metricSample(t, h, `bridge_rejections_dropped_total{endpoint="aghanim"}`); n != 5 {
		t.Errorf("bridge_rejections_dropped_total %v, want 5", n)
	}
	if msgs, _ := streamMessages(h.js, h.cfg.Stream.RejectionsStreamName()); len(msgs) != 3 {
		t.Errorf("%d rejections kept, want the burst of 3", len(msgs))
	}
}

// TestRejectionsNeverWaitOnNATS: with NATS down, a refused request is answered as always; its
// rejection is dropped and counted.
func TestRejectionsNeverWaitOnNATS(t *testing.T) {
	h := startBridge(t, nil)
	h.nats.Stop()
	h.waitReady(http.StatusServiceUnavailable)
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_down"}`)
	if resp, _ := h.post("aghanim", aghanimHeaders("wrong", 1, body), body); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a forged request with NATS down: %d, want 403", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "the dropped rejection counted", func() bool {
		return metricSample(t, h, `bridge_rejections_dropped_total{endpoint="aghanim"}`) == 1
	})
}

// TestSecretMatched: the log line and bridge_secret_matches_total say which secret matched.
func TestSecretMatched(t *testing.T) {
	const id = "rotating"
	h := startBridge(t, func(c *bridge.Config) {
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: id, Provider: "aghanim", Secrets: []string{"old-secret", testSecret}})
	})
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_second_secret"}`)
	if resp, _ := h.post(id, aghanimHeaders(testSecret, 1, body), body); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	if !strings.Contains(h.logs.String(), `"secret":1`) {
		t.Error("the log line does not say the second secret matched")
	}
	if n := metricSample(t, h, `bridge_secret_matches_total{endpoint="`+id+`",secret="1"}`); n != 1 {
		t.Errorf("bridge_secret_matches_total %v, want 1", n)
	}
}
