package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/webhookbridge/bridge/providers"
)

// unmappedType is the event type of authentic bodies that cannot be mapped (docs/providers/).
const unmappedType = "unmapped"

// eventInput is what the CloudEvent is built from: the endpoint, the verified request, what the
// provider's mapping made of it and when it arrived.
type eventInput struct {
	endpoint    *Endpoint
	verified    providers.Verified
	mapped      providers.Event
	received    time.Time
	traceparent string
	tracestate  string
}

// newEvent builds the CloudEvent of docs/how-it-works.md. The data is the raw body, byte for byte.
func newEvent(in eventInput) *event.Event {
	req := in.verified.Request()
	e := event.New(event.CloudEventsVersionV1)
	id := in.mapped.ID
	if !usableID(id) {
		sum := sha256.Sum256(req.Body)
		id = hex.EncodeToString(sum[:])
	}
	e.SetID(id)
	e.SetSource(in.endpoint.Source)
	// Types and subjects may come from headers, which can carry any bytes.
	e.SetType(strings.ToValidUTF8(in.endpoint.TypePrefix+"."+strings.ToLower(in.mapped.Type), "\uFFFD"))
	if in.mapped.Subject != "" {
		e.SetSubject(strings.ToValidUTF8(in.mapped.Subject, "\uFFFD"))
	}
	t := in.mapped.Time
	if t.IsZero() {
		t = in.received
	}
	e.SetTime(t.UTC())
	if validTraceparent(in.traceparent) {
		// Distributed-tracing extension: traceparent and tracestate as the W3C headers carry them.
		e.SetExtension("traceparent", in.traceparent)
		if printableASCII(in.tracestate, 512) {
			e.SetExtension("tracestate", in.tracestate)
		}
	}
	if in.verified.Unsigned() {
		// Consumers can tell an event no proof vouched for (endpoint allow_unsigned).
		e.SetExtension("unsigned", true)
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	} else if !printableASCII(strings.ReplaceAll(ct, " ", ""), 256) {
		ct = "application/octet-stream"
	}
	e.SetDataContentType(ct)
	e.DataEncoded = req.Body
	return &e
}

// validTraceparent reports whether tp is a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>", or a
// later version with more fields); anything else is dropped rather than propagated.
func validTraceparent(tp string) bool {
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (len(tp) > 55 && tp[55] != '-') {
		return false
	}
	for i, c := range tp[:55] {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return tp[:2] != "ff" && printableASCII(tp, 512)
}

// printableASCII reports whether s is non-empty, at most max bytes and printable ASCII.
func printableASCII(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7F {
			return false
		}
	}
	return true
}

// usableID reports whether a provider's event id can serve as the CloudEvents id and inside
// Nats-Msg-Id: present, printable ASCII without spaces, and short.
func usableID(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7F {
			return false
		}
	}
	return true
}

// typeTokens turns the part of a CloudEvents type after the provider's prefix into subject
// tokens (docs/how-it-works.md): split on dots, lower-cased, anything outside a-z0-9_- replaced by "_",
// an empty token "_".
func typeTokens(t string) string {
	var b strings.Builder
	b.Grow(len(t))
	for i, tok := range strings.Split(t, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		if tok == "" {
			b.WriteByte('_')
			continue
		}
		for _, r := range tok {
			switch {
			case 'A' <= r && r <= 'Z':
				b.WriteRune(r + 'a' - 'A')
			case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '_', r == '-':
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}
