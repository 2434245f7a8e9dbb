package bridge_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/linkproxy"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// signedRequest is one authentic, mappable webhook per provider, signed in the test the way
// each provider's documentation does it.
type signedRequest struct {
	endpoint string
	header   http.Header
	body     []byte
	retry    int // the provider's retry answer
}

func signedForEveryProvider(secret string) []signedRequest {
	alt := []byte(`{"member":{"id":"66166172835385344"},"OP":1,"guild":{"id":"372024042980638721"}}`)
	altMAC := hmac.New(md5.New, []byte(secret))
	altMAC.Write(alt)
	zig := []byte(`{"event":"session_created","id":"b7a8e0c4-1d2e-4f5a-9b6c-7d8e9f0a1b2c"}`)
	zigMAC := hmac.New(sha256.New, []byte(secret))
	zigMAC.Write(zig)
	cp := []byte(`{"status":"completed","uploadId":"85045","subjectId":"44732"}`)
	cpMAC := hmac.New(sha256.New, []byte(secret))
	cpMAC.Write(cp)
	ag := []byte(`{"event_type":"item.purchased","event_id":"whevt_retry_1","event_data":{"player_id":"P-1"}}`)
	return []signedRequest{
		{"altdentifier", http.Header{"Content-Type": {"application/json"}, "Digest": {"MD5=" + hex.EncodeToString(altMAC.Sum(nil))}}, alt, http.StatusTooManyRequests},
		{"aghanim", aghanimHeaders(secret, time.Now().Unix(), ag), ag, http.StatusServiceUnavailable},
		{"zignsec", http.Header{"Content-Type": {"application/json"}, "X-Zignsec-Hmac-Sha256": {hex.EncodeToString(zigMAC.Sum(nil))}}, zig, http.StatusServiceUnavailable},
		{"centrepoint", http.Header{"Content-Type": {"application/json"}, "X-Actigraph-Event": {"upload"},
			"X-Actigraph-Delivery":  {"0f8fad5b-d9cb-469f-a165-70867728950e"},
			"X-Actigraph-Signature": {base64.StdEncoding.EncodeToString(cpMAC.Sum(nil))}}, cp, http.StatusServiceUnavailable},
		{"usercheck", userCheckHeaders(secret, domainFlagged), domainFlagged, http.StatusServiceUnavailable},
	}
}

// checkRetryAnswer fails unless resp is the provider's retry answer: its status and Retry-After.
func checkRetryAnswer(t *testing.T, r signedRequest, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != r.retry || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d %s, Retry-After %q; want %d with Retry-After", r.endpoint, resp.StatusCode, body, resp.Header.Get("Retry-After"), r.retry)
	}
}

// TestRetryAnswerWithNATSDown: each provider gets the answer its documentation retries on —
// AltDentifier 429 (it retries only on a 4xx other than 403), every other provider 503 — with
// Retry-After, and once NATS is back the same request is stored.
func TestRetryAnswerWithNATSDown(t *testing.T) {
	h := startBridge(t, nil)
	reqs := signedForEveryProvider(testSecret)
	h.nats.Stop()
	h.waitReady(http.StatusServiceUnavailable)
	for _, r := range reqs {
		resp, body := h.post(r.endpoint, r.header, r.body)
		checkRetryAnswer(t, r, resp, body)
	}
	h.nats.Restart()
	h.waitReady(http.StatusOK)
	for _, r := range reqs {
		if resp, body := h.post(r.endpoint, r.header, r.body); resp.StatusCode/100 != 2 {
			t.Errorf("%s after NATS came back: %d %s", r.endpoint, resp.StatusCode, body)
		}
	}
	if n := len(h.messages()); n != len(reqs) {
		t.Errorf("%d messages, want %d (one per provider)", n, len(reqs))
	}
	if !strings.Contains(h.logs.String(), `"retry":true`) {
		t.Errorf("retry answers not marked in the log")
	}
}

// TestRetryAnswerOnPublishTimeout: the link goes silent, so no PubAck comes within
// publish_timeout: the retry answer, in time.
func TestRetryAnswerOnPublishTimeout(t *testing.T) {
	ns := natstest.Start(t)
	proxy, err := linkproxy.Start(strings.TrimPrefix(ns.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	h := startBridgeAgainst(t, ns, "nats://"+proxy.Addr(), func(c *bridge.Config) {
		c.NATS.PublishTimeout = 500 * time.Millisecond
		c.NATS.PingInterval = time.Minute // the link is not found dead: the publish itself times out
	})
	proxy.Silence(true)
	t.Cleanup(func() { proxy.Silence(false) }) // before the bridge drains its connection
	for _, r := range signedForEveryProvider(testSecret) {
		start := time.Now()
		resp, body := h.post(r.endpoint, r.header, r.body)
		checkRetryAnswer(t, r, resp, body)
		// The point is that the answer comes without waiting on the silent link (which would be
		// minutes): the slack is wide, as a busy machine can delay any answer by a second or two.
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s answered after %s, want about publish_timeout (500 ms)", r.endpoint, took)
		}
	}
}

// TestRetryAnswerForUnansweredQuestion: a question nobody answers is answered 503 with
// Retry-After whatever the provider (AltDentifier here, with a question configured for it): the
// event itself was stored before it was asked.
func TestRetryAnswerForUnansweredQuestion(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		for i := range c.Endpoints {
			if c.Endpoints[i].ID == "altdentifier" {
				c.Endpoints[i].ReplyEvents = &[]string{"verification.passed"}
				c.Endpoints[i].ReplyTimeout = 300 * time.Millisecond
			}
		}
	})
	r := signedForEveryProvider(testSecret)[0]
	r.retry = http.StatusServiceUnavailable
	resp, body := h.post(r.endpoint, r.header, r.body)
	checkRetryAnswer(t, r, resp, body)
	if n := len(h.messages()); n != 1 {
		t.Errorf("%d messages, want the event stored once before it was asked", n)
	}
}
