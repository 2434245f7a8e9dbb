package bridge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
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
	ep := newEndpoint(EndpointConfig{ID: "aghanim", Provider: "aghanim", Secrets: []string{"k"}}, StreamConfig{SubjectPrefix: "webhooks", ReplyPrefix: "webhooks-reply"})
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
