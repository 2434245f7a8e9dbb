package cloudevents_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"

	"github.com/webhookbridge/bridge/cloudevents"
)

const (
	natsSubject = "webhooks.aghanim.player.update"
	traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// aghanimBody is Aghanim's documented player.update example (docs/providers/), byte for byte.
func aghanimBody(t testing.TB) []byte {
	t.Helper()
	body, err := os.ReadFile("testdata/aghanim_player_update.json")
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// aghanimEvent is the event the bridge builds for aghanimBody (bridge/event.go, docs/how-it-works.md).
func aghanimEvent(t testing.TB) *event.Event {
	t.Helper()
	e := event.New(event.CloudEventsVersionV1)
	e.SetID("whevt_eCacGbJVbvToOgzjXUgOCitkQE")
	e.SetSource("/webhooks/aghanim")
	e.SetType("com.aghanim.player.update")
	e.SetSubject("2D2R-OP3C")
	e.SetTime(time.Unix(1725548450, 0).UTC())
	e.SetExtension("traceparent", traceparent)
	e.SetDataContentType("application/json")
	e.DataEncoded = aghanimBody(t)
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	return &e
}

// diffEvents lists how got differs from want, attribute by attribute; extensions are compared in
// their canonical string form (CloudEvents §3 "Type System"), the form the binding carries.
func diffEvents(want, got *event.Event) []string {
	var diffs []string
	str := func(name, w, g string) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	str("specversion", want.SpecVersion(), got.SpecVersion())
	str("id", want.ID(), got.ID())
	str("source", want.Source(), got.Source())
	str("type", want.Type(), got.Type())
	str("subject", want.Subject(), got.Subject())
	str("datacontenttype", want.DataContentType(), got.DataContentType())
	str("dataschema", want.DataSchema(), got.DataSchema())
	if !want.Time().Equal(got.Time()) {
		diffs = append(diffs, fmt.Sprintf("time = %v, want %v", got.Time(), want.Time()))
	}
	format := func(e *event.Event) map[string]string {
		m := map[string]string{}
		for k, v := range e.Extensions() {
			s, err := types.Format(v)
			if err != nil {
				s = fmt.Sprintf("unformattable %#v", v)
			}
			m[k] = s
		}
		return m
	}
	if w, g := format(want), format(got); !maps.Equal(w, g) {
		diffs = append(diffs, fmt.Sprintf("extensions = %q, want %q", g, w))
	}
	if !bytes.Equal(want.Data(), got.Data()) {
		diffs = append(diffs, fmt.Sprintf("data = %q, want %q", got.Data(), want.Data()))
	}
	return diffs
}

func TestEncode(t *testing.T) {
	bridgeHeaders := func() nats.Header {
		return nats.Header{
			"ce-specversion":     {"1.0"},
			"ce-id":              {"whevt_eCacGbJVbvToOgzjXUgOCitkQE"},
			"ce-source":          {"/webhooks/aghanim"},
			"ce-type":            {"com.aghanim.player.update"},
			"ce-subject":         {"2D2R-OP3C"},
			"ce-time":            {"2024-09-05T15:00:50Z"},
			"ce-datacontenttype": {"application/json"},
			"ce-traceparent":     {traceparent},
			"content-type":       {"application/json"},
		}
	}
	tests := []struct {
		name   string
		modify func(*event.Event)
		want   func(nats.Header) // changes bridgeHeaders to the headers expected
	}{
		{
			name:   "bridge event: one lower-case ce- header per attribute",
			modify: func(*event.Event) {},
			want:   func(nats.Header) {},
		},
		{
			name:   "dataschema",
			modify: func(e *event.Event) { e.SetDataSchema("https://aghanim.com/schemas/player.update.json") },
			want: func(h nats.Header) {
				h["ce-dataschema"] = []string{"https://aghanim.com/schemas/player.update.json"}
			},
		},
		{
			name: "time in another zone is written in UTC with nanoseconds",
			modify: func(e *event.Event) {
				e.SetTime(time.Date(2024, 9, 5, 17, 0, 50, 120000000, time.FixedZone("CEST", 2*3600)))
			},
			want: func(h nats.Header) { h["ce-time"] = []string{"2024-09-05T15:00:50.12Z"} },
		},
		{
			name:   "subject percent-encoded: non-ASCII as UTF-8, space, quote and percent",
			modify: func(e *event.Event) { e.SetSubject(`José "J" 100%`) },
			want:   func(h nats.Header) { h["ce-subject"] = []string{"Jos%C3%A9%20%22J%22%20100%25"} },
		},
		{
			name:   "control characters and DEL percent-encoded in upper-case hex",
			modify: func(e *event.Event) { e.SetID("a\tb\x7fc\x00d\r\ne") },
			want:   func(h nats.Header) { h["ce-id"] = []string{"a%09b%7Fc%00d%0D%0Ae"} },
		},
		{
			name:   "printable ASCII other than space, quote and percent left as is",
			modify: func(e *event.Event) { e.SetSubject("!#$&'()*+,-./:;<=>?@[\\]^_`{|}~") },
			want:   func(h nats.Header) { h["ce-subject"] = []string{"!#$&'()*+,-./:;<=>?@[\\]^_`{|}~"} },
		},
		{
			name: "extensions: tracestate, non-string values in canonical form",
			modify: func(e *event.Event) {
				e.SetExtension("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
				e.SetExtension("attempt", 3)
				e.SetExtension("sandbox", false)
				e.SetExtension("Note", "über alles")
			},
			want: func(h nats.Header) {
				h["ce-tracestate"] = []string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}
				h["ce-attempt"] = []string{"3"}
				h["ce-sandbox"] = []string{"false"}
				h["ce-note"] = []string{"%C3%BCber%20alles"}
			},
		},
		{
			name:   "no subject, no ce-subject",
			modify: func(e *event.Event) { e.SetSubject("") },
			want:   func(h nats.Header) { delete(h, "ce-subject") },
		},
		{
			name:   "no datacontenttype, neither ce-datacontenttype nor content-type",
			modify: func(e *event.Event) { e.SetDataContentType("") },
			want: func(h nats.Header) {
				delete(h, "ce-datacontenttype")
				delete(h, "content-type")
			},
		},
		{
			name:   "structured-mode content type never set as content-type",
			modify: func(e *event.Event) { e.SetDataContentType("application/cloudevents+json") },
			want: func(h nats.Header) {
				h["ce-datacontenttype"] = []string{"application/cloudevents+json"}
				delete(h, "content-type")
			},
		},
		{
			name:   "structured-mode content type in other case never set as content-type",
			modify: func(e *event.Event) { e.SetDataContentType("Application/CloudEvents-Batch+JSON") },
			want: func(h nats.Header) {
				h["ce-datacontenttype"] = []string{"Application/CloudEvents-Batch+JSON"}
				delete(h, "content-type")
			},
		},
		{
			// Both headers would reach the SDK's reader, in map order, one of them encoded.
			name:   "content type needing percent-encoding only in ce-datacontenttype",
			modify: func(e *event.Event) { e.SetDataContentType("application/json; charset=utf-8") },
			want: func(h nats.Header) {
				h["ce-datacontenttype"] = []string{"application/json;%20charset=utf-8"}
				delete(h, "content-type")
			},
		},
		{
			name:   "other content type also as content-type",
			modify: func(e *event.Event) { e.SetDataContentType("application/x-www-form-urlencoded") },
			want: func(h nats.Header) {
				h["ce-datacontenttype"] = []string{"application/x-www-form-urlencoded"}
				h["content-type"] = []string{"application/x-www-form-urlencoded"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := aghanimEvent(t)
			tt.modify(e)
			want := bridgeHeaders()
			tt.want(want)

			msg, err := cloudevents.Encode(natsSubject, e)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if msg.Subject != natsSubject {
				t.Errorf("subject = %q, want %q", msg.Subject, natsSubject)
			}
			for name := range msg.Header {
				if name != strings.ToLower(name) {
					t.Errorf("header %q is not lower case", name)
				}
			}
			if !maps.EqualFunc(msg.Header, want, slices.Equal) {
				t.Errorf("headers:\n got %q\nwant %q", msg.Header, want)
			}
			if !bytes.Equal(msg.Data, e.Data()) {
				t.Errorf("data = %q, want the event's data %q", msg.Data, e.Data())
			}
		})
	}
}

func TestEncodeDataByteForByte(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"documented body", aghanimBody(t)},
		{"whitespace and escapes kept", []byte("{ \"a\" :\t\"\\u00e9\" ,\r\n\"b\":1.0E+2 }\n")},
		{"not JSON", []byte("\x00\xff\xfe not json")},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := aghanimEvent(t)
			e.DataEncoded = tt.data
			msg, err := cloudevents.Encode(natsSubject, e)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(msg.Data, tt.data) {
				t.Errorf("data = %q, want %q", msg.Data, tt.data)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*event.Event)
	}{
		{"no id", func(e *event.Event) { e.SetID("") }},
		{"no source", func(e *event.Event) { e.Context.(*event.EventContextV1).Source = types.URIRef{} }},
		{"no type", func(e *event.Event) { e.SetType("") }},
		{"bad datacontenttype", func(e *event.Event) { e.SetDataContentType("text/") }},
		{"subject not UTF-8", func(e *event.Event) { e.SetSubject("Jos\xe9") }},
		{"extension not UTF-8", func(e *event.Event) { e.SetExtension("traceparent", "00-\xff") }},
		{"time after year 9999 in UTC", func(e *event.Event) { e.SetTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)) }},
		{"time before year 0 in UTC", func(e *event.Event) {
			e.SetTime(time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)))
		}},
		{"specversion 0.3", func(e *event.Event) { e.Context = e.Context.AsV03() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := aghanimEvent(t)
			tt.modify(e)
			if msg, err := cloudevents.Encode(natsSubject, e); err == nil {
				t.Fatalf("Encode = headers %q, want an error", msg.Header)
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"whevt_eCacGbJVbvToOgzjXUgOCitkQE", "whevt_eCacGbJVbvToOgzjXUgOCitkQE"},
		{`José "J" 100%`, "Jos%C3%A9%20%22J%22%20100%25"},
		{"%41", "%2541"},
		{"a\x00\x1f\x7f", "a%00%1F%7F"},
		{"😀", "%F0%9F%98%80"},
		{"application/json; charset=utf-8", "application/json;%20charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := cloudevents.PercentEncode(tt.in); got != tt.want {
				t.Errorf("PercentEncode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPercentDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "no escapes", in: "2D2R-OP3C", want: "2D2R-OP3C"},
		{name: "empty", in: "", want: ""},
		{name: "upper-case hex", in: "Jos%C3%A9%20%22J%22%20100%25", want: `José "J" 100%`},
		{name: "lower-case hex", in: "Jos%c3%a9%20%22j%22", want: `José "j"`},
		{name: "mixed-case hex", in: "%c3%A9%F0%9f%98%80", want: "é😀"},
		{name: "escape at the end", in: "100%25", want: "100%"},
		{name: "raw UTF-8 accepted", in: "José", want: "José"},
		{name: "raw space and quote accepted", in: `a "b"`, want: `a "b"`},
		{name: "lone percent", in: "%", wantErr: true},
		{name: "truncated escape at end", in: "100%2", wantErr: true},
		{name: "truncated escape, one digit", in: "%4", wantErr: true},
		{name: "bad hex digit", in: "%zz", wantErr: true},
		{name: "bad second hex digit", in: "%4g", wantErr: true},
		{name: "sign is not hex", in: "%+1", wantErr: true},
		{name: "lone UTF-8 lead byte", in: "Jos%C3", wantErr: true},
		{name: "byte FF", in: "%FF", wantErr: true},
		{name: "broken sequence", in: "%C3%28", wantErr: true},
		{name: "overlong encoding", in: "%C0%AF", wantErr: true},
		{name: "UTF-16 surrogate", in: "%ED%A0%80", wantErr: true},
		{name: "raw invalid UTF-8", in: "Jos\xe9", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cloudevents.PercentDecode(tt.in)
			if tt.wantErr {
				if !errors.Is(err, cloudevents.ErrBadEncoding) {
					t.Fatalf("PercentDecode(%q) = %q, %v; want ErrBadEncoding", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("PercentDecode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPercentRoundTrip(t *testing.T) {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	tests := []struct{ name, s string }{
		{"empty", ""},
		{"id", "whevt_eCacGbJVbvToOgzjXUgOCitkQE"},
		{"every ASCII character", ascii.String()},
		{"Latin, quotes, percent", `José "J" 100%`},
		{"looks already encoded", "%41%2525"},
		{"CJK and emoji", "東京 😀"},
		{"U+FFFD and max rune", "\uFFFD\U0010FFFF"},
		{"content type", "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := cloudevents.PercentEncode(tt.s)
			for i := 0; i < len(enc); i++ {
				if c := enc[i]; c <= ' ' || c >= 0x7f || c == '"' {
					t.Fatalf("PercentEncode(%q) = %q: byte %q left unescaped", tt.s, enc, c)
				}
			}
			got, err := cloudevents.PercentDecode(enc)
			if err != nil || got != tt.s {
				t.Fatalf("PercentDecode(PercentEncode(%q)) = %q, %v", tt.s, got, err)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*nats.Msg)    // changes the message Encode makes of aghanimEvent
		want   func(*event.Event) // changes aghanimEvent to the event expected
	}{
		{
			name:   "as encoded",
			modify: func(*nats.Msg) {},
			want:   func(*event.Event) {},
		},
		{
			name: "upper-case header names",
			modify: func(m *nats.Msg) {
				for k, v := range m.Header {
					delete(m.Header, k)
					m.Header[strings.ToUpper(k)] = v
				}
			},
			want: func(*event.Event) {},
		},
		{
			name: "mixed-case header names",
			modify: func(m *nats.Msg) {
				rename(m.Header, "ce-id", "CE-ID")
				rename(m.Header, "ce-type", "Ce-Type")
				rename(m.Header, "ce-specversion", "Ce-SpecVersion")
				rename(m.Header, "ce-traceparent", "CE-TraceParent")
			},
			want: func(*event.Event) {},
		},
		{
			name:   "same header in two cases with one value",
			modify: func(m *nats.Msg) { m.Header["CE-ID"] = m.Header["ce-id"] },
			want:   func(*event.Event) {},
		},
		{
			name:   "percent-decoded, upper-case hex",
			modify: func(m *nats.Msg) { m.Header.Set("ce-subject", "Jos%C3%A9%20%22J%22%20100%25") },
			want:   func(e *event.Event) { e.SetSubject(`José "J" 100%`) },
		},
		{
			name:   "percent-decoded, lower-case hex",
			modify: func(m *nats.Msg) { m.Header.Set("ce-subject", "Jos%c3%a9%20%22J%22") },
			want:   func(e *event.Event) { e.SetSubject(`José "J"`) },
		},
		{
			name:   "time with offset",
			modify: func(m *nats.Msg) { m.Header.Set("ce-time", "2024-09-05T17:00:50.5+02:00") },
			want:   func(e *event.Event) { e.SetTime(time.Date(2024, 9, 5, 15, 0, 50, 5e8, time.UTC)) },
		},
		{
			name:   "empty value counts as absent",
			modify: func(m *nats.Msg) { m.Header.Set("ce-subject", "") },
			want:   func(e *event.Event) { e.SetSubject("") },
		},
		{
			// The SDK's setters trim attribute values (event.EventContextV1.SetSubject).
			name:   "blank subject counts as absent",
			modify: func(m *nats.Msg) { m.Header.Set("ce-subject", "%20%09") },
			want:   func(e *event.Event) { e.SetSubject("") },
		},
		{
			name:   "empty time counts as absent",
			modify: func(m *nats.Msg) { m.Header.Set("ce-time", "") },
			want:   func(e *event.Event) { e.Context.(*event.EventContextV1).Time = nil },
		},
		{
			name: "extensions",
			modify: func(m *nats.Msg) {
				m.Header.Set("ce-tracestate", "rojo=00f067aa0ba902b7")
				m.Header.Set("CE-PartitionKey", "player%2042")
			},
			want: func(e *event.Event) {
				e.SetExtension("tracestate", "rojo=00f067aa0ba902b7")
				e.SetExtension("partitionkey", "player 42")
			},
		},
		{
			name:   "dataschema",
			modify: func(m *nats.Msg) { m.Header.Set("ce-dataschema", "https://aghanim.com/schemas/player.update.json") },
			want:   func(e *event.Event) { e.SetDataSchema("https://aghanim.com/schemas/player.update.json") },
		},
		{
			name: "content-type fills a missing datacontenttype",
			modify: func(m *nats.Msg) {
				m.Header.Del("ce-datacontenttype")
				m.Header.Del("content-type")
				m.Header.Set("Content-Type", "text/plain; charset=utf-8")
			},
			want: func(e *event.Event) { e.SetDataContentType("text/plain; charset=utf-8") },
		},
		{
			name:   "ce-datacontenttype wins over content-type",
			modify: func(m *nats.Msg) { m.Header.Set("content-type", "text/plain") },
			want:   func(*event.Event) {},
		},
		{
			name: "no datacontenttype at all",
			modify: func(m *nats.Msg) {
				m.Header.Del("ce-datacontenttype")
				m.Header.Del("content-type")
			},
			want: func(e *event.Event) { e.SetDataContentType("") },
		},
		{
			name:   "unrelated headers ignored",
			modify: func(m *nats.Msg) { m.Header["Nats-Msg-Id"] = []string{"aghanim:x"}; m.Header["X"] = []string{"%zz"} },
			want:   func(*event.Event) {},
		},
		{
			name:   "no data",
			modify: func(m *nats.Msg) { m.Data = nil },
			want:   func(e *event.Event) { e.DataEncoded = nil },
		},
		{
			name: "structured mode",
			modify: func(m *nats.Msg) {
				m.Header = nats.Header{"Content-Type": {"application/cloudevents+json; charset=UTF-8"}}
				m.Data = []byte(`{"specversion":"1.0","id":"whevt_eCacGbJVbvToOgzjXUgOCitkQE",` +
					`"source":"/webhooks/aghanim","type":"com.aghanim.player.update","subject":"2D2R-OP3C",` +
					`"time":"2024-09-05T15:00:50Z","datacontenttype":"application/json",` +
					`"traceparent":"` + traceparent + `","data":` + string(aghanimBody(t)) + `}`)
			},
			want: func(*event.Event) {},
		},
		{
			// The SDK's JSON reader does not trim; its setters, and so binary mode, do.
			name: "structured mode, values trimmed as in binary mode",
			modify: func(m *nats.Msg) {
				m.Header = nats.Header{"content-type": {"application/cloudevents+json"}}
				m.Data = []byte(`{"specversion":"1.0","id":" whevt_eCacGbJVbvToOgzjXUgOCitkQE ",` +
					`"source":"/webhooks/aghanim","type":"com.aghanim.player.update ","subject":" 2D2R-OP3C",` +
					`"time":"2024-09-05T15:00:50Z","datacontenttype":"application/json",` +
					`"traceparent":"` + traceparent + `","data":` + string(aghanimBody(t)) + `}`)
			},
			want: func(*event.Event) {},
		},
		{
			name: "structured mode, empty extension counts as absent",
			modify: func(m *nats.Msg) {
				m.Header = nats.Header{"content-type": {"application/cloudevents+json"}}
				m.Data = []byte(`{"specversion":"1.0","id":"whevt_eCacGbJVbvToOgzjXUgOCitkQE",` +
					`"source":"/webhooks/aghanim","type":"com.aghanim.player.update","subject":"2D2R-OP3C",` +
					`"time":"2024-09-05T15:00:50Z","datacontenttype":"application/json","tracestate":"",` +
					`"traceparent":"` + traceparent + `","data":` + string(aghanimBody(t)) + `}`)
			},
			want: func(*event.Event) {},
		},
		{
			name: "structured mode, data_base64",
			modify: func(m *nats.Msg) {
				m.Header = nats.Header{"content-type": {"application/cloudevents+json"}}
				m.Data = []byte(`{"specversion":"1.0","id":"1","source":"/webhooks/aghanim","type":"t",` +
					`"datacontenttype":"application/octet-stream","data_base64":"AP8="}`)
			},
			want: func(e *event.Event) {
				ne := event.New()
				ne.SetID("1")
				ne.SetSource("/webhooks/aghanim")
				ne.SetType("t")
				ne.SetDataContentType("application/octet-stream")
				ne.DataEncoded = []byte{0, 0xff}
				*e = ne
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := cloudevents.Encode(natsSubject, aghanimEvent(t))
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(msg)
			want := aghanimEvent(t)
			tt.want(want)

			got, err := cloudevents.Decode(msg)
			if err != nil {
				t.Fatalf("Decode(headers %q): %v", msg.Header, err)
			}
			for _, d := range diffEvents(want, got) {
				t.Error(d)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*nats.Msg)
		wantErr error // nil: any error
	}{
		{"no headers", func(m *nats.Msg) { m.Header = nil }, cloudevents.ErrNotCloudEvent},
		{"no specversion", func(m *nats.Msg) { m.Header.Del("ce-specversion") }, cloudevents.ErrNotCloudEvent},
		{"specversion 0.3", func(m *nats.Msg) { m.Header.Set("ce-specversion", "0.3") }, cloudevents.ErrNotCloudEvent},
		{"specversion 2.0", func(m *nats.Msg) { m.Header.Set("ce-specversion", "2.0") }, cloudevents.ErrNotCloudEvent},
		{"bad escape", func(m *nats.Msg) { m.Header.Set("ce-subject", "100%zz") }, cloudevents.ErrBadEncoding},
		{"truncated escape", func(m *nats.Msg) { m.Header.Set("ce-subject", "100%2") }, cloudevents.ErrBadEncoding},
		{"escape not UTF-8", func(m *nats.Msg) { m.Header.Set("ce-id", "%FF") }, cloudevents.ErrBadEncoding},
		{"content-type not UTF-8", func(m *nats.Msg) {
			m.Header.Del("ce-datacontenttype")
			m.Header.Set("content-type", "text/plain; name=\"\xff\"")
		}, nil},
		{"no id", func(m *nats.Msg) { m.Header.Del("ce-id") }, nil},
		{"no source", func(m *nats.Msg) { m.Header.Del("ce-source") }, nil},
		{"no type", func(m *nats.Msg) { m.Header.Del("ce-type") }, nil},
		{"time not RFC 3339", func(m *nats.Msg) { m.Header.Set("ce-time", "1725548450") }, nil},
		{"time before year 0 in UTC", func(m *nats.Msg) { m.Header.Set("ce-time", "0000-01-01T00:00:00+01:00") }, nil},
		{"dataschema not a URI", func(m *nats.Msg) { m.Header.Set("ce-dataschema", "schemas/x") }, nil},
		{"bad datacontenttype", func(m *nats.Msg) { m.Header.Set("ce-datacontenttype", "text/") }, nil},
		{"extension name not alphanumeric", func(m *nats.Msg) { m.Header.Set("ce-trace_id", "1") }, nil},
		{"empty extension name", func(m *nats.Msg) { m.Header.Set("ce-", "1") }, nil},
		{"non-ASCII letter in a header name not folded", func(m *nats.Msg) { m.Header.Set("ce-\u212Aey", "1") }, nil},
		{"one header in two cases with two values", func(m *nats.Msg) { m.Header["CE-ID"] = []string{"other"} }, nil},
		{"two content-type headers with two values", func(m *nats.Msg) { m.Header["Content-Type"] = []string{"text/plain"} }, nil},
		{"structured mode, not JSON", func(m *nats.Msg) { m.Header.Set("content-type", "application/cloudevents+json") }, nil},
		{"structured mode, no id", func(m *nats.Msg) {
			m.Header = nats.Header{"content-type": {"application/cloudevents+json"}}
			m.Data = []byte(`{"specversion":"1.0","source":"/s","type":"t"}`)
		}, nil},
		{"structured mode, specversion 0.3", func(m *nats.Msg) {
			m.Header = nats.Header{"content-type": {"application/cloudevents+json"}}
			m.Data = []byte(`{"specversion":"0.3","id":"1","source":"/s","type":"t"}`)
		}, cloudevents.ErrNotCloudEvent},
		{"structured mode, batch", func(m *nats.Msg) {
			m.Header = nats.Header{"content-type": {"application/cloudevents-batch+json"}}
			m.Data = []byte(`[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]`)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := cloudevents.Encode(natsSubject, aghanimEvent(t))
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(msg)
			got, err := cloudevents.Decode(msg)
			if err == nil {
				t.Fatalf("Decode(headers %q) = %v, want an error", msg.Header, got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func rename(h nats.Header, from, to string) {
	h[to] = h[from]
	delete(h, from)
}

func BenchmarkEncode(b *testing.B) {
	e := aghanimEvent(b)
	e.SetExtension("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	data := bytes.Repeat([]byte(" "), 1024)
	copy(data, aghanimBody(b))
	e.DataEncoded = data // a typical body, 1 KiB
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := cloudevents.Encode(natsSubject, e); err != nil {
			b.Fatal(err)
		}
	}
}
