// Package cloudevents turns CloudEvents into NATS messages and back, in the binary content mode
// of the CloudEvents NATS protocol binding (spec main branch, 1.0.3-wip §3.1): every attribute in
// its own header "ce-<name>", values percent-encoded (§3.1.3.2), the data as the message body.
package cloudevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// HeaderPrefix starts every attribute header. Header names are written in lower case: NATS
// header names are case-insensitive by design, but nats.Header.Get and the CloudEvents SDK's
// reader look them up exactly.
const HeaderPrefix = "ce-"

// contentTypeHeader also carries datacontenttype, for NATS tools that read it.
const contentTypeHeader = "content-type"

// structuredPrefix marks structured mode (binding §3.1.1): a Content-Type starting with it.
const structuredPrefix = "application/cloudevents"

// ErrNotCloudEvent is returned by Decode for a message that carries no CloudEvent.
var ErrNotCloudEvent = errors.New("not a CloudEvent message")

// attribute is one context attribute in its string form (CloudEvents §3 "Type System"), named
// without the header prefix.
type attribute struct{ name, value string }

// attributes returns e's context attributes as they go on the wire, after checking that e is a
// valid CloudEvents 1.0 event whose every attribute the binding can carry and Decode can read
// back.
func attributes(e *event.Event) ([]attribute, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if v := e.SpecVersion(); v != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("specversion %q: only %s is supported", v, event.CloudEventsVersionV1)
	}
	exts := e.Extensions()
	attrs := make([]attribute, 0, 8+len(exts))
	add := func(name, value string) {
		if value != "" {
			attrs = append(attrs, attribute{name, value})
		}
	}
	add("specversion", e.SpecVersion())
	add("id", e.ID())
	add("source", e.Source())
	add("type", e.Type())
	add("subject", e.Subject())
	if t := e.Time(); !t.IsZero() {
		// RFC 3339 (CloudEvents §3 "Timestamp") has four-digit years only.
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("time %s: year outside RFC 3339", t)
		}
		add("time", types.FormatTime(t))
	}
	add("datacontenttype", e.DataContentType())
	add("dataschema", e.DataSchema())
	for name, v := range exts {
		s, err := types.Format(v)
		if err != nil {
			return nil, fmt.Errorf("extension %q: %w", name, err)
		}
		add(strings.ToLower(name), s)
	}
	for _, a := range attrs {
		// Attribute values are Unicode strings (CloudEvents §3 "String"), percent-encoded as
		// UTF-8 (binding §3.1.3.2); a decoder rejects anything else.
		if !utf8.ValidString(a.value) {
			return nil, fmt.Errorf("attribute %s: invalid UTF-8", a.name)
		}
	}
	return attrs, nil
}

// Encode returns e as a binary-mode NATS message on subject. The event's data is used as the
// body without copying.
func Encode(subject string, e *event.Event) (*nats.Msg, error) {
	attrs, err := attributes(e)
	if err != nil {
		return nil, fmt.Errorf("encode CloudEvent: %w", err)
	}
	// Room for content-type and for the two headers the bridge adds before publishing
	// (Nats-Msg-Id, traceparent): a map that has to grow copies itself.
	h := make(nats.Header, len(attrs)+1+2)
	// One backing array for every header's value slice.
	values := make([]string, len(attrs)+1)
	for i, a := range attrs {
		values[i] = PercentEncode(a.value)
		h[headerName(a.name)] = values[i : i+1 : i+1]
	}
	if ct := e.DataContentType(); contentTypeCarries(ct) {
		values[len(attrs)] = ct
		h[contentTypeHeader] = values[len(attrs):]
	}
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data()}, nil
}

// headerName is "ce-<name>", without allocating for the attributes every event has.
func headerName(name string) string {
	switch name {
	case "specversion":
		return "ce-specversion"
	case "id":
		return "ce-id"
	case "source":
		return "ce-source"
	case "type":
		return "ce-type"
	case "subject":
		return "ce-subject"
	case "time":
		return "ce-time"
	case "datacontenttype":
		return "ce-datacontenttype"
	case "dataschema":
		return "ce-dataschema"
	}
	return HeaderPrefix + name
}

// contentTypeCarries reports whether a Content-Type header is written for datacontenttype ct.
// Never for one that starts with application/cloudevents: that would mark structured mode
// (binding §3.1.1). Nor for one that ce-datacontenttype carries percent-encoded (e.g.
// "application/json; charset=utf-8"): the SDK's reader takes datacontenttype from both headers
// in map order and does not percent-decode, so differing values would make what it reads
// change from run to run; and a NATS header cannot carry every value verbatim.
func contentTypeCarries(ct string) bool {
	return ct != "" && !isStructured(ct) && PercentEncode(ct) == ct
}

// isStructured reports whether Content-Type ct marks structured mode (binding §3.1.1).
func isStructured(ct string) bool {
	ct = strings.TrimLeft(ct, " \t")
	return len(ct) >= len(structuredPrefix) && strings.EqualFold(ct[:len(structuredPrefix)], structuredPrefix)
}

// Decode reads a CloudEvent from msg, in binary mode (header names matched case-insensitively,
// values percent-decoded) or, when its Content-Type says so, structured mode. Attributes whose
// value is empty count as absent, as Encode never writes one.
func Decode(msg *nats.Msg) (*event.Event, error) {
	// NATS header names are case-insensitive: "ce-id" and "CE-ID" are one header, which must
	// not carry two values (map order would pick one at random).
	ct := ""
	attrs := make(map[string]string, len(msg.Header))
	for name, values := range msg.Header {
		if len(values) == 0 || values[0] == "" {
			continue
		}
		lower := asciiLower(name)
		switch {
		case lower == contentTypeHeader:
			if ct != "" && ct != values[0] {
				return nil, fmt.Errorf("decode CloudEvent: conflicting %s headers", contentTypeHeader)
			}
			ct = values[0]
		case strings.HasPrefix(lower, HeaderPrefix):
			v, err := PercentDecode(values[0])
			if err != nil {
				return nil, fmt.Errorf("decode CloudEvent header %s: %w", lower, err)
			}
			attr := lower[len(HeaderPrefix):]
			if prev, ok := attrs[attr]; ok && prev != v {
				return nil, fmt.Errorf("decode CloudEvent: conflicting %s headers", lower)
			}
			attrs[attr] = v
		}
	}
	if isStructured(ct) {
		return decodeStructured(msg.Data)
	}
	if attrs["specversion"] == "" {
		return nil, fmt.Errorf("no ce-specversion header: %w", ErrNotCloudEvent)
	}
	if attrs["specversion"] != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("specversion %q: %w", attrs["specversion"], ErrNotCloudEvent)
	}
	if _, ok := attrs["datacontenttype"]; !ok && ct != "" {
		// Content-Type is not percent-encoded: only ce-* headers are (binding §3.1.3.2).
		if !utf8.ValidString(ct) {
			return nil, fmt.Errorf("decode CloudEvent header %s: invalid UTF-8", contentTypeHeader)
		}
		attrs["datacontenttype"] = ct
	}
	e := event.New()
	for name, v := range attrs {
		var err error
		switch name {
		case "specversion":
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "dataschema":
			e.SetDataSchema(v)
		case "datacontenttype":
			e.SetDataContentType(v)
		case "time":
			var t time.Time
			if t, err = types.ParseTime(v); err == nil {
				e.SetTime(t)
			}
		default:
			err = e.Context.SetExtension(name, v)
		}
		if err != nil {
			return nil, fmt.Errorf("decode CloudEvent attribute %s: %w", name, err)
		}
	}
	e.DataEncoded = msg.Data
	if _, err := attributes(&e); err != nil {
		return nil, fmt.Errorf("decode CloudEvent: %w", err)
	}
	return &e, nil
}

// decodeStructured reads a structured-mode message (binding §3.1.4): the event in the JSON
// event format.
func decodeStructured(data []byte) (*event.Event, error) {
	e := event.New()
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("decode structured CloudEvent: %w", err)
	}
	if v := e.SpecVersion(); v != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("structured CloudEvent specversion %q: %w", v, ErrNotCloudEvent)
	}
	// The SDK's JSON reader keeps the surrounding white space its setters trim (as its binary
	// reader and Decode's binary mode do): set the values again, for one event in both modes.
	e.SetID(e.ID())
	e.SetType(e.Type())
	e.SetSubject(e.Subject())
	e.SetDataContentType(e.DataContentType())
	for name, v := range e.Extensions() {
		// An empty value is an absent attribute here, as in binary mode.
		if v == "" {
			if err := e.Context.SetExtension(name, nil); err != nil {
				return nil, fmt.Errorf("decode structured CloudEvent: %w", err)
			}
		}
	}
	if _, err := attributes(&e); err != nil {
		return nil, fmt.Errorf("decode structured CloudEvent: %w", err)
	}
	return &e, nil
}

// asciiLower lower-cases the ASCII letters of a header name only: NATS, like HTTP, compares
// header names ASCII-case-insensitively, and strings.ToLower would also map e.g. the Kelvin
// sign to "k".
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// PercentEncode encodes a header value as the binding's §3.1.3.2 requires: space, '"', '%' and
// every byte outside printable ASCII become %XX (upper-case hex) of the UTF-8 bytes.
func PercentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mustEscape(c byte) bool { return c <= ' ' || c >= 0x7F || c == '"' || c == '%' }

// ErrBadEncoding is returned by PercentDecode for a malformed escape or invalid UTF-8.
var ErrBadEncoding = errors.New("bad percent-encoding")

// PercentDecode reverses PercentEncode, accepting lower-case hex; the result must be valid UTF-8.
func PercentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("invalid UTF-8: %w", ErrBadEncoding)
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape %q: %w", s[i:], ErrBadEncoding)
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("escape %q: %w", s[i:i+3], ErrBadEncoding)
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("invalid UTF-8: %w", ErrBadEncoding)
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
