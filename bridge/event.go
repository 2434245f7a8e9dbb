package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

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

// Limits on what a request controls (docs/security.md#limits). A subject longer than the server's
// control line makes nats-server close the connection, so types are capped well inside it.
const (
	maxTypeBytes    = 128  // an event type after the provider's prefix
	maxTypeTokens   = 16   // its dot-separated tokens
	maxSubjectBytes = 256  // a whole subject, prefix and endpoint included
	maxCESubject    = 1024 // ce-subject: longer ones are dropped from the event
	maxMsgIDKey     = 200  // an id longer than this is hashed in Nats-Msg-Id
	maxEventID      = 1024 // ce-id: a longer provider id falls back to the body's hash
)

// errTypeTooLong makes an event whose type would not fit a subject unmapped.
var errTypeTooLong = errors.New("event type too long for a subject")

// newEvent builds the CloudEvent of docs/how-it-works.md. The data is the raw body, byte for byte.
func newEvent(in eventInput) *event.Event {
	req := in.verified.Request()
	e := event.New(event.CloudEventsVersionV1)
	id := in.mapped.ID
	if !usableID(id) {
		id = sha256Hex(req.Body)
	}
	e.SetID(id)
	if ec, ok := e.Context.(*event.EventContextV1); ok && in.endpoint.sourceURI != nil {
		ec.Source = *in.endpoint.sourceURI // parsed when the endpoint was compiled, not per request
	} else {
		e.SetSource(in.endpoint.Source)
	}
	// Types and subjects may come from headers, which can carry any bytes.
	e.SetType(strings.ToValidUTF8(in.endpoint.TypePrefix+"."+strings.ToLower(in.mapped.Type), "\uFFFD"))
	if in.mapped.Subject != "" && len(in.mapped.Subject) <= maxCESubject {
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
	} else if !printableASCII(strings.ReplaceAll(ct, " ", ""), 256) || !validMediaType(ct) {
		// The sender's word, unsigned: one no CloudEvent can carry is not a reason to lose an
		// authentic event.
		ct = "application/octet-stream"
	}
	e.SetDataContentType(ct)
	e.DataEncoded = req.Body
	return &e
}

// validMediaType reports whether ct is an RFC 2046 media type, as a CloudEvent's
// datacontenttype must be ("application/json, text/plain" or a lone quote is not).
func validMediaType(ct string) bool {
	switch ct {
	case "application/json", "application/json; charset=utf-8", "application/x-www-form-urlencoded":
		return true // what nearly every sender sends: no parse per request
	}
	_, _, err := mime.ParseMediaType(ct)
	return err == nil
}

// validTraceparent reports whether tp is a traceparent that OpenTelemetry's W3C Trace Context
// propagator accepts (https://www.w3.org/TR/trace-context/#traceparent-header): lower-case hex,
// version ff refused, version 00 exactly "00-<32 hex>-<16 hex>-<2 hex>" with no reserved flag
// set, a later version possibly longer with '-' after those fields, and neither the trace id nor
// the parent id all zeros. Anything else is dropped rather than propagated; so is one over 512
// bytes. Asking the propagator costs a few hundred nanoseconds and three small allocations, and
// only requests that carry a traceparent pay it (BenchmarkValidTraceparent).
func validTraceparent(tp string) bool {
	if !printableASCII(tp, 512) {
		return false
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), traceparentCarrier(tp))
	return trace.SpanContextFromContext(ctx).IsValid()
}

// traceparentCarrier hands a request's traceparent, and nothing else, to the propagator.
type traceparentCarrier string

func (c traceparentCarrier) Get(key string) string {
	if key == "traceparent" {
		return string(c)
	}
	return ""
}

func (traceparentCarrier) Set(string, string) {}

func (traceparentCarrier) Keys() []string { return []string{"traceparent"} }

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

// msgID is the event's Nats-Msg-Id: "{endpoint}:" and a key built from authenticated bytes only
// (docs/security.md#one-delivery-one-event), so resending a captured request with a change its
// signature does not cover is a duplicate, never a new message.
func msgID(ep *Endpoint, ev *event.Event, mapped providers.Event, verified providers.Verified) string {
	var key string
	switch id := ev.ID(); {
	case verified.Unsigned():
		// Nothing vouches for it: scoped apart, so it can never pre-empt a signed event's id.
		return ep.ID + ":unsigned:" + shortKey(id)
	case mapped.IDUnsigned:
		// The id is a header anyone holding the request can change: the type and the signed body
		// name the event instead (a retry or a resend is still one message).
		h := sha256.New()
		h.Write([]byte(ev.Type()))
		h.Write([]byte{0})
		h.Write(verified.SignedBody())
		key = hex.EncodeToString(h.Sum(nil))
	case !usableID(mapped.ID):
		// The id is the body's hash: taken over the bytes the signature matched (UserCheck's
		// re-encoded form), so whitespace or escapes the signature does not see change nothing.
		key = sha256Hex(verified.SignedBody())
	default:
		key = shortKey(id)
	}
	return ep.ID + ":" + key
}

// shortKey keeps Nats-Msg-Id short: a longer id is replaced by its SHA-256 (every id is held in
// the servers' memory for the duplicate window).
func shortKey(id string) string {
	if len(id) > maxMsgIDKey {
		return sha256Hex([]byte(id))
	}
	return id
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// usableID reports whether a provider's event id can serve as the CloudEvents id: present,
// printable ASCII without spaces, and at most maxEventID bytes.
func usableID(id string) bool {
	if id == "" || len(id) > maxEventID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7F {
			return false
		}
	}
	return true
}

// checkType reports whether an event of type t (after the provider's prefix) fits the limits:
// at most maxTypeBytes and maxTypeTokens, and both its subject and its question subject at most
// maxSubjectBytes. One that does not is published as unmapped.
func (e *Endpoint) checkType(t string) error {
	switch {
	case len(t) > maxTypeBytes:
		return fmt.Errorf("type of %d bytes (at most %d): %w", len(t), maxTypeBytes, errTypeTooLong)
	case strings.Count(t, ".") >= maxTypeTokens:
		return fmt.Errorf("type of %d tokens (at most %d): %w", strings.Count(t, ".")+1, maxTypeTokens, errTypeTooLong)
	case len(e.subjectPrefix)+len(t) > maxSubjectBytes || len(e.replyPrefix)+len(t) > maxSubjectBytes:
		return fmt.Errorf("subject of %d bytes (at most %d): %w", max(len(e.subjectPrefix), len(e.replyPrefix))+len(t), maxSubjectBytes, errTypeTooLong)
	}
	return nil
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
