package cloudevents_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/webhookbridge/bridge/cloudevents"
)

// FuzzPercentDecode: header values come from whoever publishes on the stream. Decoding never
// panics, fails only with ErrBadEncoding, and what it decodes survives encoding and decoding
// again unchanged. Seeds: testdata/fuzz/FuzzPercentDecode.
func FuzzPercentDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cloudevents.PercentDecode(s)
		if err != nil {
			if !errors.Is(err, cloudevents.ErrBadEncoding) {
				t.Fatalf("PercentDecode(%q): %v, not ErrBadEncoding", s, err)
			}
			return
		}
		enc := cloudevents.PercentEncode(d)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= ' ' || c >= 0x7f || c == '"' {
				t.Fatalf("PercentEncode(%q) = %q: byte %q left unescaped", d, enc, c)
			}
		}
		d2, err := cloudevents.PercentDecode(enc)
		if err != nil || d2 != d {
			t.Fatalf("PercentDecode(PercentEncode(%q)) = %q, %v", d, d2, err)
		}
	})
}

// FuzzDecode: any message on the stream is decoded without a panic, and an event Decode
// accepts is one Encode can write and Decode reads back the same. The headers argument is one
// "name: value" per line, names kept as written (nats.Header does not canonicalise them); a name
// on several lines has several values. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		msg := &nats.Msg{Subject: natsSubject, Header: parseHeaders(headers), Data: body}
		e, err := cloudevents.Decode(msg)
		if err != nil {
			return
		}
		again, err := cloudevents.Encode(natsSubject, e)
		if err != nil {
			t.Fatalf("Decode(headers %q) accepted an event Encode rejects: %v", msg.Header, err)
		}
		for name, values := range again.Header {
			if name != strings.ToLower(name) {
				t.Errorf("Encode wrote header %q, not lower case", name)
			}
			for _, v := range values {
				for i := 0; i < len(v); i++ {
					if c := v[i]; c < ' ' || c >= 0x7f {
						t.Errorf("Encode wrote header %s: %q, a NATS header cannot carry it", name, v)
					}
				}
			}
		}
		e2, err := cloudevents.Decode(again)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(headers %q))) = headers %q: %v", msg.Header, again.Header, err)
		}
		for _, d := range diffEvents(e, e2) {
			t.Errorf("Decode(Encode(Decode(headers %q))): %s", msg.Header, d)
		}
	})
}

// parseHeaders reads FuzzDecode's headers argument: "name: value" lines.
func parseHeaders(s string) nats.Header {
	h := nats.Header{}
	for line := range strings.SplitSeq(s, "\n") {
		if line == "" {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		h[name] = append(h[name], value)
	}
	return h
}
