package bridge_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/webhookbridge/bridge/cloudevents"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
)

var playerUpdate = []byte(`{"event_type":"player.update","event_data":{"player_id":"2D2R-OP3C","email":"PlayerOne@aghanim.com"},"event_time":1725548450,"event_id":"whevt_eCacGbJVbvToOgzjXUgOCitkQE","idempotency_key":null,"request_id":"d1593e9c-c291-4004-8846-6679c2e5810b","sandbox":false,"trigger":"hub.profile_update","transaction_id":"whtx_eCacGbJVbvT","context":null,"game_id":"gm_exTAyxPsVwh"}`)

var domainFlagged = []byte(`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`)

func TestPublishedMessage(t *testing.T) {
	h := startBridge(t, nil)
	hdr := aghanimHeaders(testSecret, 1725548450, playerUpdate)
	hdr.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	resp, body := h.post("aghanim", hdr, playerUpdate)
	if resp.StatusCode != http.StatusOK || string(body) != `{"status":"ok"}` {
		t.Fatalf("answer %d %s", resp.StatusCode, body)
	}
	msgs := h.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages in the stream, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "webhooks.aghanim.player.update" {
		t.Errorf("subject %q", m.Subject)
	}
	if string(m.Data) != string(playerUpdate) {
		t.Errorf("data is not the raw body")
	}
	want := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              "whevt_eCacGbJVbvToOgzjXUgOCitkQE",
		"ce-source":          "/webhooks/aghanim",
		"ce-type":            "com.aghanim.player.update",
		"ce-subject":         "2D2R-OP3C",
		"ce-time":            "2024-09-05T15:00:50Z",
		"ce-datacontenttype": "application/json",
		"ce-traceparent":     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"Nats-Msg-Id":        "aghanim:whevt_eCacGbJVbvToOgzjXUgOCitkQE",
	}
	for name, v := range want {
		if got := m.Header.Get(name); got != v {
			t.Errorf("header %s = %q, want %q", name, got, v)
		}
	}
	if ct := m.Header.Get("content-type"); strings.HasPrefix(ct, "application/cloudevents") {
		t.Errorf("content-type %q marks structured mode", ct)
	}
}

func TestAnswers(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) { c.HTTP.MaxBodyBytes = 4096 })
	now := time.Now().Unix()
	tests := []struct {
		name     string
		endpoint string
		method   string
		header   http.Header
		body     []byte
		status   int
		answer   string
		stored   int // messages added to the stream
	}{
		{"aghanim valid", "aghanim", "POST", aghanimHeaders(testSecret, now, playerUpdate), playerUpdate, 200, `{"status":"ok"}`, 1},
		{"aghanim retry is a duplicate", "aghanim", "POST", aghanimHeaders(testSecret, now+60, playerUpdate), playerUpdate, 200, `{"status":"ok"}`, 0},
		{"aghanim wrong secret", "aghanim", "POST", aghanimHeaders("other", now, playerUpdate), playerUpdate, 403, "", 0},
		{"aghanim missing timestamp", "aghanim", "POST", without(aghanimHeaders(testSecret, now, playerUpdate), "X-Aghanim-Signature-Timestamp"), playerUpdate, 403, "", 0},
		{"aghanim missing signature", "aghanim", "POST", without(aghanimHeaders(testSecret, now, playerUpdate), "X-Aghanim-Signature"), playerUpdate, 403, "", 0},
		{"aghanim malformed JSON is unmapped", "aghanim", "POST", aghanimHeaders(testSecret, now, []byte(`{"event_type":`)), []byte(`{"event_type":`), 200, `{"status":"ok"}`, 1},
		{"usercheck valid", "usercheck", "POST", userCheckHeaders(testSecret, domainFlagged), domainFlagged, 200, `{"status":"success"}`, 1},
		{"usercheck wrong secret", "usercheck", "POST", userCheckHeaders("other", domainFlagged), domainFlagged, 401, `{"status":"error","message":"Invalid signature"}`, 0},
		{"usercheck missing signature", "usercheck", "POST", http.Header{}, domainFlagged, 401, "", 0},
		{"oversize body", "usercheck", "POST", userCheckHeaders(testSecret, make([]byte, 4097)), make([]byte, 4097), 413, "", 0},
		{"unknown endpoint", "nope", "POST", http.Header{}, domainFlagged, 404, "", 0},
		{"GET on an endpoint", "usercheck", "GET", http.Header{}, nil, 405, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.messages())
			resp, body := h.do(tc.method, tc.endpoint, tc.header, tc.body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.answer != "" && string(body) != tc.answer {
				t.Errorf("answer %s, want %s", body, tc.answer)
			}
			if got := len(h.messages()) - before; got != tc.stored {
				t.Errorf("%d messages stored, want %d", got, tc.stored)
			}
		})
	}
}

func TestUnmappedSubject(t *testing.T) {
	h := startBridge(t, nil)
	body := []byte(`not json`)
	resp, _ := h.post("usercheck", userCheckHeaders(testSecret, body), body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	m := h.messages()[0]
	if m.Subject != "webhooks.usercheck.unmapped" || m.Header.Get("ce-type") != "com.usercheck.unmapped" {
		t.Errorf("subject %q type %q", m.Subject, m.Header.Get("ce-type"))
	}
}

func TestRotation(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		for i := range c.Endpoints {
			if c.Endpoints[i].ID == "usercheck" {
				c.Endpoints[i].Secrets = []string{"new-secret", testSecret}
			}
		}
	})
	for _, secret := range []string{"new-secret", testSecret} {
		body := []byte(strings.Replace(string(domainFlagged), "example.com", secret+".example", 1))
		if resp, _ := h.post("usercheck", userCheckHeaders(secret, body), body); resp.StatusCode != 200 {
			t.Errorf("secret %s: status %d", secret, resp.StatusCode)
		}
	}
}

func TestLogsNoSecrets(t *testing.T) {
	h := startBridge(t, nil)
	hdr := aghanimHeaders(testSecret, 1, playerUpdate)
	h.post("aghanim", hdr, playerUpdate)
	h.post("aghanim", aghanimHeaders("wrong", 1, playerUpdate), playerUpdate)
	logs := h.logs.String()
	for _, secret := range []string{testSecret, hdr.Get("X-Aghanim-Signature"), "PlayerOne@aghanim.com"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"event_id":"whevt_eCacGbJVbvToOgzjXUgOCitkQE"`) || !strings.Contains(logs, `"status":403`) {
		t.Errorf("logs lack the request lines:\n%s", logs)
	}
}

func without(h http.Header, name string) http.Header {
	h.Del(name)
	return h
}

func TestHeaderDerivedAttributesAreSanitised(t *testing.T) {
	h := startBridge(t, nil)
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name        string
		traceparent string
		contentType string
		wantTP      string
		wantCT      string
	}{
		{"valid traceparent", tp, "application/json", tp, "application/json"},
		{"malformed traceparent dropped", "00-xyz", "application/json", "", "application/json"},
		{"non-UTF-8 traceparent dropped", tp[:54] + "\xff", "application/json", "", "application/json"},
		{"content type with parameters kept", "", "application/json; charset=utf-8", "", "application/json; charset=utf-8"},
		{"binary content type replaced", "", "application/json\xff", "", "application/octet-stream"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(strings.Replace(string(domainFlagged), "example.com", fmt.Sprintf("case%d.example", i), 1))
			hdr := userCheckHeaders(testSecret, body)
			hdr.Set("Content-Type", tc.contentType)
			if tc.traceparent != "" {
				hdr.Set("traceparent", tc.traceparent)
			}
			before := len(h.messages())
			if resp, answer := h.post("usercheck", hdr, body); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, answer)
			}
			msgs := h.messages()
			if len(msgs) != before+1 {
				t.Fatalf("%d new messages", len(msgs)-before)
			}
			m := msgs[len(msgs)-1]
			if got := m.Header.Get("ce-traceparent"); got != tc.wantTP {
				t.Errorf("ce-traceparent %q, want %q", got, tc.wantTP)
			}
			if got, _ := cloudevents.PercentDecode(m.Header.Get("ce-datacontenttype")); got != tc.wantCT {
				t.Errorf("datacontenttype %q, want %q", got, tc.wantCT)
			}
		})
	}
}

// An event id that cannot serve in ce-id and Nats-Msg-Id (control characters, spaces, over 1 KiB)
// is replaced by the body's SHA-256, which is as stable across retries; for every provider.
func TestUnusableEventIDFallsBackToBodyHash(t *testing.T) {
	h := startBridge(t, nil)
	tests := []struct {
		name string
		id   string
	}{
		{"line break", "whevt_1\r\nNats-Msg-Id: x"},
		{"space", "whevt 1"},
		{"too long", strings.Repeat("a", 1025)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idJSON, _ := json.Marshal(tc.id)
			body := []byte(`{"event_id":` + string(idJSON) + `,"event_type":"order.paid"}`)
			if resp, _ := h.post("aghanim", aghanimHeaders(testSecret, 1, body), body); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			msgs := h.messages()
			sum := sha256.Sum256(body)
			want := hex.EncodeToString(sum[:])
			m := msgs[len(msgs)-1]
			if m.Header.Get("ce-id") != want || m.Header.Get("Nats-Msg-Id") != "aghanim:"+want {
				t.Errorf("ce-id %q Nats-Msg-Id %q, want the body hash %s", m.Header.Get("ce-id"), m.Header.Get("Nats-Msg-Id"), want)
			}
		})
	}
}

func TestAllowUnsigned(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "sms", Provider: "zignsec", Secrets: []string{testSecret}, AllowUnsigned: true})
	})
	sms := []byte(`{"id":"8a9f1c2e","status":"Delivered"}`)
	tests := []struct {
		name         string
		endpoint     string
		signWith     string // "": no signature header
		status       int
		wantUnsigned string
	}{
		{"unsigned accepted where allowed", "sms", "", 200, "true"},
		{"signed still accepted, not marked", "sms", testSecret, 200, ""},
		{"a wrong signature is still refused", "sms", "wrong", 401, ""},
		{"unsigned refused elsewhere", "zignsec", "", 401, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(strings.Replace(string(sms), "8a9f1c2e", fmt.Sprintf("8a9f1c2e-%d", i), 1))
			hdr := http.Header{"Content-Type": {"application/json"}}
			if tc.signWith != "" {
				hdr.Set("X-ZignSec-Hmac-SHA256", hexHMAC256(tc.signWith, string(body))) // legacy: hex over the body
			}
			before := len(h.messages())
			resp, _ := h.post(tc.endpoint, hdr, body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			msgs := h.messages()
			if tc.status != 200 {
				if len(msgs) != before {
					t.Fatal("a refused request was published")
				}
				return
			}
			if got := msgs[len(msgs)-1].Header.Get("ce-unsigned"); got != tc.wantUnsigned {
				t.Errorf("ce-unsigned %q, want %q", got, tc.wantUnsigned)
			}
		})
	}
}

// TestCentrePointWithoutAuthentication: "Authentication is not required by CentrePoint but is an
// option". An endpoint with allow_unsigned and no credential starts (warning at start unless
// allow_from limits who may send), and its events are published marked ce-unsigned.
func TestCentrePointWithoutAuthentication(t *testing.T) {
	tests := []struct {
		name      string
		allowFrom []string
		warns     bool
	}{
		{"from anywhere: a warning", nil, true},
		{"limited by allow_from: no warning", []string{"127.0.0.1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startBridge(t, func(c *bridge.Config) {
				c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "cp-open", Provider: "centrepoint", AllowUnsigned: true, AllowFrom: tc.allowFrom})
			})
			if got := strings.Contains(h.logs.String(), `"endpoint":"cp-open","message":"allow_unsigned without allow_from`); got != tc.warns {
				t.Errorf("start-up warning %v, want %v:\n%s", got, tc.warns, h.logs)
			}
			body := []byte(`{"status":"completed","uploadId":"85045","subjectId":"44732"}`)
			hdr := http.Header{"Content-Type": {"application/json"}, "X-Actigraph-Event": {"upload"}, "X-Actigraph-Delivery": {"5c1f0f4e-4d0f-4a7b-9d8e-1f2a3b4c5d6e"}}
			if resp, answer := h.post("cp-open", hdr, body); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, answer)
			}
			msgs := h.messages()
			if len(msgs) != 1 || msgs[0].Header.Get("ce-unsigned") != "true" || msgs[0].Subject != "webhooks.cp-open.upload.completed" {
				t.Fatalf("published %d messages; want one on webhooks.cp-open.upload.completed marked ce-unsigned", len(msgs))
			}
		})
	}
}
