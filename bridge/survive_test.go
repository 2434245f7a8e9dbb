package bridge_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/cloudevents"
)

// githubHeaders signs body as GitHub documents it: X-Hub-Signature-256 = "sha256=" + hex
// HMAC-SHA256(secret, body). The event name and delivery id are not signed.
func githubHeaders(secret, event, delivery string, body []byte) http.Header {
	return http.Header{
		"Content-Type":        {"application/json"},
		"X-Hub-Signature-256": {"sha256=" + hexHMAC256(secret, string(body))},
		"X-Github-Event":      {event},
		"X-Github-Delivery":   {delivery},
	}
}

// honest sends a fresh, genuine Aghanim event and fails the test unless it is stored (200).
func (h *harness) honest(t *testing.T, id string) {
	t.Helper()
	body := []byte(`{"event_type":"item.purchased","event_id":"` + id + `"}`)
	if resp, answer := h.post("aghanim", aghanimHeaders(testSecret, time.Now().Unix(), body), body); resp.StatusCode != http.StatusOK {
		t.Fatalf("an honest request after the hostile one: %d %s", resp.StatusCode, answer)
	}
}

// TestTypeCaps: a type no subject can carry (a replayed GitHub delivery with a huge, unsigned
// X-GitHub-Event) is published as unmapped, and the connection stays open for the next request.
// A subject longer than nats-server's control line makes it close the connection, for good.
func TestTypeCaps(t *testing.T) {
	h := startBridge(t, nil)
	tests := []struct {
		name, event string
		wantType    string
	}{
		{"5,000-byte type", strings.Repeat("a", 5000), "com.hmac.unmapped"},
		{"129-byte type", strings.Repeat("a", 129), "com.hmac.unmapped"},
		{"128-byte type fits", strings.Repeat("b", 128), "com.hmac." + strings.Repeat("b", 128)},
		{"17 tokens", strings.Repeat("t.", 16) + "t", "com.hmac.unmapped"},
		{"16 tokens fit", strings.Repeat("u.", 15) + "u", "com.hmac." + strings.Repeat("u.", 15) + "u"},
		{"dots only", strings.Repeat(".", 100), "com.hmac.unmapped"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The delivery id is not signed, so the type and the body name the event: a body of
			// its own per case.
			body := []byte(`{"zen":"Keep it logically awesome.","hook_id":` + strconv.Itoa(i) + `}`)
			before := len(h.messages())
			resp, answer := h.post("hmac", githubHeaders(testSecret, tc.event, "delivery-"+string(rune('a'+i)), body), body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s, want 200", resp.StatusCode, answer)
			}
			added := h.messages()[before:]
			if len(added) != 1 {
				t.Fatalf("%d messages, want 1", len(added))
			}
			ev, err := cloudevents.Decode(&nats.Msg{Subject: added[0].Subject, Header: added[0].Header, Data: added[0].Data})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type() != tc.wantType {
				t.Errorf("type %q, want %q", ev.Type(), tc.wantType)
			}
			if len(added[0].Subject) > 256 {
				t.Errorf("subject of %d bytes", len(added[0].Subject))
			}
			h.honest(t, "whevt_after_type_"+string(rune('a'+i)))
		})
	}
}

// TestEventAttributeCaps: a ce-subject over 1 KiB is dropped; an id over 200 bytes is hashed in
// Nats-Msg-Id while ce-id keeps it.
func TestEventAttributeCaps(t *testing.T) {
	h := startBridge(t, nil)
	longID := "whevt_" + strings.Repeat("x", 300)
	longSubject := strings.Repeat("p", 1025)
	tests := []struct {
		name, id, subject string
		wantSubject       string
		wantMsgID         string
	}{
		{"1 KiB subject kept", "whevt_cap_1", strings.Repeat("q", 1024), strings.Repeat("q", 1024), "aghanim:whevt_cap_1"},
		{"longer subject dropped", "whevt_cap_2", longSubject, "", "aghanim:whevt_cap_2"},
		{"long id hashed in Nats-Msg-Id", longID, "p1", "p1", "aghanim:" + sha256Hex(longID)},
		{"200-byte id kept", strings.Repeat("i", 200), "p2", "p2", "aghanim:" + strings.Repeat("i", 200)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"event_type":"item.purchased","event_id":"` + tc.id + `","event_data":{"player_id":"` + tc.subject + `"}}`)
			before := len(h.messages())
			if resp, answer := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, answer)
			}
			added := h.messages()[before:]
			if len(added) != 1 {
				t.Fatalf("%d messages, want 1", len(added))
			}
			ev, err := cloudevents.Decode(&nats.Msg{Subject: added[0].Subject, Header: added[0].Header, Data: added[0].Data})
			if err != nil {
				t.Fatal(err)
			}
			if ev.ID() != tc.id {
				t.Errorf("ce-id %q, want the provider's id", ev.ID())
			}
			if ev.Subject() != tc.wantSubject {
				t.Errorf("ce-subject of %d bytes, want %d", len(ev.Subject()), len(tc.wantSubject))
			}
			if got := added[0].Header.Get(jetstream.MsgIDHeader); got != tc.wantMsgID {
				t.Errorf("Nats-Msg-Id %q, want %q", got, tc.wantMsgID)
			}
		})
	}
}

// TestClosedConnectionRebuilt: when nats.go gives the connection up for good (here, as in the
// original failure, after nats-server's "maximum control line exceeded"), the bridge builds a new
// one and answers 2xx again, and counts it.
func TestClosedConnectionRebuilt(t *testing.T) {
	h := startBridge(t, nil)
	h.honest(t, "whevt_before_close")
	old := h.app.Broker().Conn()
	// A subject longer than the server's 4 KiB control line: the server answers -ERR and closes,
	// and nats.go treats that error as final.
	_ = old.Publish("webhooks."+strings.Repeat("x", 5000), nil)
	_ = old.Flush()
	waitFor(t, 30*time.Second, "the old connection closed", old.IsClosed)
	var status int
	took := waitFor(t, 30*time.Second, "a 2xx after the connection was closed for good", func() bool {
		body := []byte(`{"event_type":"item.purchased","event_id":"whevt_after_close"}`)
		resp, _ := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body)
		status = resp.StatusCode
		return status == http.StatusOK
	})
	t.Logf("2xx again %s after the connection closed", took.Round(time.Millisecond))
	if h.app.Broker().Conn() == old {
		t.Error("the closed connection is still the broker's")
	}
	if n := metricSample(t, h, "bridge_nats_connections_rebuilt_total"); n != 1 {
		t.Errorf("bridge_nats_connections_rebuilt_total %v, want 1", n)
	}
}

// waitFor polls cond until it holds, failing the test after limit (a generous bound: it only
// stops a broken test from hanging); it returns how long it took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestStreamMaxBytes: stream.max_bytes caps the stream with discard new; a full stream answers
// the retry answer (never a 2xx for an event it did not keep), and takes events again once room
// is made.
func TestStreamMaxBytes(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) { c.Stream.MaxBytes = 8 << 10 })
	status := 0
	var stored int
	for i := 0; i < 100 && status != http.StatusServiceUnavailable; i++ {
		body := padded("whevt_fill_"+strconv.Itoa(i), 1000)
		resp, _ := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body)
		status = resp.StatusCode
		if status == http.StatusOK {
			stored++
		} else if status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("event %d: %d (Retry-After %q), want 200 or the retry answer", i, status, resp.Header.Get("Retry-After"))
		}
	}
	if status != http.StatusServiceUnavailable {
		t.Fatal("100 events of 1 KB never filled a stream of 8 KiB")
	}
	if n := len(h.messages()); n != stored {
		t.Errorf("%d messages stored, %d answered 200", n, stored)
	}
	s, err := h.js.Stream(context.Background(), h.cfg.Stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	if info := s.CachedInfo(); info.Config.MaxBytes != 8<<10 || info.Config.Discard != jetstream.DiscardNew {
		t.Errorf("stream max_bytes %d discard %v, want 8 KiB and discard new", info.Config.MaxBytes, info.Config.Discard)
	}
	if err := s.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.honest(t, "whevt_after_full")
}

// TestRefusedRequestLinesSampled: a flood of forged requests is answered in full, but writes at
// most a burst of log lines (plus the rate over the time it took); a later line says how many were
// left out. Honest requests after it are stored.
func TestRefusedRequestLinesSampled(t *testing.T) {
	h := startBridge(t, nil)
	const flood = 400
	start := time.Now()
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_forged"}`)
	for range flood {
		if resp, _ := h.post("aghanim", aghanimHeaders("wrong-secret", 1, body), body); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a forged request: %d, want 403", resp.StatusCode)
		}
	}
	elapsed := time.Since(start)
	lines := strings.Count(h.logs.String(), `"status":403`)
	if most := 100 + int(elapsed.Seconds()*20) + 1; lines > most {
		t.Errorf("%d log lines for %d forged requests in %s, want at most %d", lines, flood, elapsed.Round(time.Millisecond), most)
	}
	if n := metricSample(t, h, "bridge_log_lines_suppressed_total"); int(n) != flood-lines {
		t.Errorf("bridge_log_lines_suppressed_total %v, want %d", n, flood-lines)
	}
	if n := metricSample(t, h, `bridge_requests_total{endpoint="aghanim",status="403"}`); n != flood {
		t.Errorf("bridge_requests_total for 403: %v, want every request (%d)", n, flood)
	}
	h.honest(t, "whevt_after_flood")
}

// TestHubStreamMaxBytes: in store-and-forward mode stream.max_bytes caps the hub stream (hub
// apply), with discard new, so a full hub stops sourcing instead of dropping stored events.
func TestHubStreamMaxBytes(t *testing.T) {
	cfg := testConfig("")
	for _, tc := range []struct {
		maxBytes bridge.ByteSize
		discard  jetstream.DiscardPolicy
		want     int64
	}{{0, jetstream.DiscardOld, 0}, {1 << 30, jetstream.DiscardNew, 1 << 30}} {
		cfg.Stream.MaxBytes = tc.maxBytes
		s := bridge.HubStream(cfg, []string{"edge-0"})
		if s.MaxBytes != tc.want || s.Discard != tc.discard {
			t.Errorf("stream.max_bytes %d: hub stream max_bytes %d discard %v, want %d and %v", tc.maxBytes, s.MaxBytes, s.Discard, tc.want, tc.discard)
		}
	}
}
