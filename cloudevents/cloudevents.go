// Package cloudevents turns CloudEvents into NATS messages and back, in the binary content mode
// of the CloudEvents NATS protocol binding (spec main branch, 1.0.3-wip §3.1): every attribute in
// its own header "ce-<name>", values percent-encoded (§3.1.3.2), the data as the message body.
package cloudevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// Encode returns e as a binary-mode NATS message on subject. The event's data is used as the
// body without copying.
func Encode(subject string, e *event.Event) (*nats.Msg, error) {
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("encode CloudEvent: %w", err)
	}
	h := make(nats.Header, 10)
	set := func(name, value string) {
		if value != "" {
			h[HeaderPrefix+name] = []string{PercentEncode(value)}
		}
	}
	set("specversion", e.SpecVersion())
	set("id", e.ID())
	set("source", e.Source())
	set("type", e.Type())
	set("subject", e.Subject())
	if t := e.Time(); !t.IsZero() {
		set("time", types.FormatTime(t))
	}
	set("dataschema", e.DataSchema())
	if ct := e.DataContentType(); ct != "" {
		set("datacontenttype", ct)
		if !strings.HasPrefix(strings.ToLower(ct), structuredPrefix) {
			h[contentTypeHeader] = []string{ct}
		}
	}
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			return nil, fmt.Errorf("encode CloudEvent extension %q: %w", name, err)
		}
		set(strings.ToLower(name), s)
	}
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data()}, nil
}

// Decode reads a CloudEvent from msg, in binary mode (header names matched case-insensitively,
// values percent-decoded) or, when its Content-Type says so, structured mode.
func Decode(msg *nats.Msg) (*event.Event, error) {
	if ct := headerValue(msg.Header, contentTypeHeader); strings.HasPrefix(strings.ToLower(ct), structuredPrefix) {
		e := event.New()
		if err := json.Unmarshal(msg.Data, &e); err != nil {
			return nil, fmt.Errorf("decode structured CloudEvent: %w", err)
		}
		return &e, nil
	}
	attrs := make(map[string]string, len(msg.Header))
	for name, values := range msg.Header {
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, HeaderPrefix) || len(values) == 0 {
			continue
		}
		v, err := PercentDecode(values[0])
		if err != nil {
			return nil, fmt.Errorf("decode CloudEvent header %s: %w", lower, err)
		}
		attrs[strings.TrimPrefix(lower, HeaderPrefix)] = v
	}
	if attrs["specversion"] == "" {
		return nil, fmt.Errorf("no ce-specversion header: %w", ErrNotCloudEvent)
	}
	if attrs["specversion"] != event.CloudEventsVersionV1 {
		return nil, fmt.Errorf("specversion %q: %w", attrs["specversion"], ErrNotCloudEvent)
	}
	e := event.New()
	if _, ok := attrs["datacontenttype"]; !ok {
		if ct := headerValue(msg.Header, contentTypeHeader); ct != "" {
			attrs["datacontenttype"] = ct
		}
	}
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
			var t types.Timestamp
			if t, err = parseTime(v); err == nil {
				e.SetTime(t.Time)
			}
		default:
			err = e.Context.SetExtension(name, v)
		}
		if err != nil {
			return nil, fmt.Errorf("decode CloudEvent attribute %s: %w", name, err)
		}
	}
	e.DataEncoded = msg.Data
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("decode CloudEvent: %w", err)
	}
	return &e, nil
}

func parseTime(v string) (types.Timestamp, error) {
	t, err := types.ParseTimestamp(v)
	if err != nil {
		return types.Timestamp{}, err
	}
	return *t, nil
}

// headerValue looks a header up case-insensitively.
func headerValue(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
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
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xF])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
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
			return "", fmt.Errorf("truncated escape: %w", ErrBadEncoding)
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
