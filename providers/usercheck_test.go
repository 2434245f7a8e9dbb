package providers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// UserCheck's documentation ("Webhooks — Security",
// https://www.usercheck.com/docs/webhooks/security): X-UserCheck-Signature is the hex
// HMAC-SHA256 of the payload, keyed with the webhook secret. Its receiver samples sign a
// re-encoding of the decoded body: PHP json_encode(json_decode($body, true)), Node.js
// JSON.stringify(JSON.parse(body)), Python json.dumps(json.loads(body)). A body that is in none
// of those forms verifies only over one of the re-encodings.

const userCheckTestSecret = "usercheck-webhook-secret"

// userCheckSignature computes the signature the way the documentation does, with no help from
// the code under test.
func userCheckSignature(secret string, payload []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	return hex.EncodeToString(mac.Sum(nil))
}

// userCheckExample reads a body from testdata/usercheck.
func userCheckExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "usercheck", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// userCheckRequest is body as UserCheck sends it, signed with secret over signed.
func userCheckRequest(secret string, body, signed []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-UserCheck-Event-Type", "domain.flagged.disposable")
	h.Set("X-UserCheck-Delivery-ID", "dlv_1")
	h.Set("X-UserCheck-Attempt", "1")
	h.Set("X-UserCheck-Signature", userCheckSignature(secret, signed))
	return Request{Header: h, Body: body}
}

// A pretty-printed body with what PHP escapes: a "/", a non-ASCII letter and an emoji.
const (
	userCheckPrettyBody = "{\n  \"event\": \"domain.flagged.spam\",\n  \"created_at\": \"2025-03-26T14:30:25+00:00\",\n" +
		"  \"data\": {\"domain\": \"a/b.example\", \"note\": \"café 🎉\"}\n}\n"
	// What PHP 8 writes for json_encode(json_decode(userCheckPrettyBody, true)), written out by hand.
	userCheckPrettyPHP = `{"event":"domain.flagged.spam","created_at":"2025-03-26T14:30:25+00:00",` +
		`"data":{"domain":"a\/b.example","note":"caf\u00e9 \ud83c\udf89"}}`
	// What Node.js' JSON.stringify and Python's json.dumps write for the same value.
	userCheckPrettyJS = `{"event":"domain.flagged.spam","created_at":"2025-03-26T14:30:25+00:00",` +
		`"data":{"domain":"a/b.example","note":"café 🎉"}}`
	userCheckPrettyPython = `{"event": "domain.flagged.spam", "created_at": "2025-03-26T14:30:25+00:00", ` +
		`"data": {"domain": "a/b.example", "note": "caf\u00e9 \ud83c\udf89"}}`

	// A pretty-printed body that nests: each language's compact form differs from it and from
	// the others.
	userCheckNestedBody = `{ "event": "domain.flagged.spam", "data": { "domain": "x.example", ` +
		`"meta": { "tags": [ "a/b", { "k": "é" } ] } } }`
)

func TestUserCheckAuthenticate(t *testing.T) {
	body := userCheckExample(t, "domain_flagged_disposable.json")
	pretty := []byte(userCheckPrettyBody)

	cases := commonAuthCases(proofSpec{
		header:      UserCheckSignatureHeader,
		otherSecret: "not-the-secret",
		undecodable: strings.Repeat("g", 64),
		tamper:      func(b []byte) []byte { return bytes.Replace(b, []byte("example.com"), []byte("example.org"), 1) },
	})
	cases = append(cases, []authCase{
		{
			name: "bad hex, body that would re-encode",
			modify: func(r *Request) {
				r.Body = pretty
				r.Header.Set("X-UserCheck-Signature", "not hex at all")
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "signature of wrong length",
			modify: func(r *Request) {
				r.Header.Set("X-UserCheck-Signature", r.Header.Get("X-UserCheck-Signature")[:32])
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "upper-case hex accepted",
			modify: func(r *Request) {
				r.Header.Set("X-UserCheck-Signature", strings.ToUpper(r.Header.Get("X-UserCheck-Signature")))
			},
		},
		{
			name: "duplicate signature header, the second by another secret",
			modify: func(r *Request) {
				r.Header.Add("X-UserCheck-Signature", userCheckSignature("not-the-secret", r.Body))
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "event type header changed: not signed, still authentic",
			modify: func(r *Request) {
				r.Header.Set("X-UserCheck-Event-Type", "domain.flagged.spam")
			},
		},
		{
			name:   "PHP fallback: pretty body signed over PHP's compact re-encoding",
			modify: func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPHP)) },
		},
		{
			name: "PHP fallback, upper-case hex",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPHP))
				r.Header.Set("X-UserCheck-Signature", strings.ToUpper(r.Header.Get("X-UserCheck-Signature")))
			},
		},
		{
			name: "PHP fallback, rotation",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPHP))
			},
			creds: secrets("the-new-secret", userCheckTestSecret),
		},
		{
			name: "PHP fallback, wrong secret",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPHP))
			},
			creds:   secrets("not-the-secret"),
			wantErr: ErrBadSignature,
		},
		{
			name: "PHP fallback, tampered body",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, bytes.Replace(pretty, []byte("a/b"), []byte("a/c"), 1), []byte(userCheckPrettyPHP))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "no PHP fallback for a body that repeats a key (TestUserCheckRepeatedKeys)",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event": "domain.flagged.relay", "data": {"domain": "x.example"}, "event": "domain.flagged.spam"}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"}}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "PHP fallback, body of 64 KiB",
			modify: func(r *Request) {
				b, php := userCheckPaddedBody(64 << 10)
				*r = userCheckRequest(userCheckTestSecret, b, php)
			},
		},
		{
			name: "no PHP fallback for a body over 64 KiB",
			modify: func(r *Request) {
				b, php := userCheckPaddedBody(64<<10 + 1)
				*r = userCheckRequest(userCheckTestSecret, b, php)
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "body over 64 KiB signed as it is",
			modify: func(r *Request) {
				b, _ := userCheckPaddedBody(64<<10 + 1)
				*r = userCheckRequest(userCheckTestSecret, b, b)
			},
		},
		{
			name:   "Node.js fallback: pretty body signed over JSON.stringify's compact re-encoding",
			modify: func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyJS)) },
		},
		{
			name:   "Python fallback: pretty body signed over json.dumps' re-encoding",
			modify: func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPython)) },
		},
		{
			name:    "Node.js fallback, wrong secret",
			modify:  func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyJS)) },
			creds:   secrets("not-the-secret"),
			wantErr: ErrBadSignature,
		},
		{
			name:    "Python fallback, wrong secret",
			modify:  func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPython)) },
			creds:   secrets("not-the-secret"),
			wantErr: ErrBadSignature,
		},
		{
			name:   "Python fallback, rotation",
			modify: func(r *Request) { *r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPython)) },
			creds:  secrets("the-new-secret", userCheckTestSecret),
		},
		{
			name: "Node.js fallback, tampered body",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, bytes.Replace(pretty, []byte("a/b"), []byte("a/c"), 1), []byte(userCheckPrettyJS))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "Python fallback, tampered body",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, bytes.Replace(pretty, []byte("café"), []byte("cafe"), 1), []byte(userCheckPrettyPython))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "Node.js fallback: integer-like keys come first, in numeric order",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","2":"b","1":"a"}}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"1":"a","2":"b","domain":"x.example"}}`))
			},
		},
		{
			name: "Python fallback: integer-like keys keep their order",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","2":"b","1":"a"}}`),
					[]byte(`{"event": "domain.flagged.spam", "data": {"domain": "x.example", "2": "b", "1": "a"}}`))
			},
		},
		{
			name: "Node.js fallback: numbers as doubles, beyond the double range as null",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","score":1.0,"n":1e5,"big":1E400}}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","score":1,"n":100000,"big":null}}`))
			},
		},
		{
			name: "Python fallback: floats by repr, beyond the double range as Infinity",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","score":1.0,"n":1e5,"big":1E400}}`),
					[]byte(`{"event": "domain.flagged.spam", "data": {"domain": "x.example", "score": 1.0, "n": 100000.0, "big": Infinity}}`))
			},
		},
		{
			name: "no Python fallback for a body that repeats a key (TestUserCheckRepeatedKeys)",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event": "domain.flagged.relay", "data": {"domain": "x.example"}, "event": "domain.flagged.spam"}`),
					[]byte(`{"event": "domain.flagged.spam", "data": {"domain": "x.example"}}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "Node.js fallback: an unpaired surrogate, which PHP refuses",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","note":"\uD800"}}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","note":"\ud800"}}`))
			},
		},
		{
			name: "Python fallback: an unpaired surrogate, which PHP refuses",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","note":"\uD800"}}`),
					[]byte(`{"event": "domain.flagged.spam", "data": {"domain": "x.example", "note": "\ud800"}}`))
			},
		},
		{
			name: "Node.js fallback: nested objects",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, []byte(userCheckNestedBody),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","meta":{"tags":["a/b",{"k":"é"}]}}}`))
			},
		},
		{
			name: "Python fallback: nested objects",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, []byte(userCheckNestedBody),
					[]byte(`{"event": "domain.flagged.spam", "data": {"domain": "x.example", "meta": {"tags": ["a/b", {"k": "\u00e9"}]}}}`))
			},
		},
		{
			name: "PHP fallback: nested objects",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, []byte(userCheckNestedBody),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example","meta":{"tags":["a\/b",{"k":"\u00e9"}]}}}`))
			},
		},
		{
			name: "Python fallback, body of 64 KiB",
			modify: func(r *Request) {
				b, py := userCheckPaddedBodyPython(64 << 10)
				*r = userCheckRequest(userCheckTestSecret, b, py)
			},
		},
		{
			name: "no Python fallback for a body over 64 KiB",
			modify: func(r *Request) {
				b, py := userCheckPaddedBodyPython(64<<10 + 1)
				*r = userCheckRequest(userCheckTestSecret, b, py)
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "invalid JSON: no fallback, though signed over what a lenient decoder would make of it",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"},}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"}}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "NaN is not JSON: no Python fallback",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event":"domain.flagged.spam","n":NaN}`),
					[]byte(`{"event": "domain.flagged.spam", "n": NaN}`))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "not JSON, signed: the raw body is enough",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, []byte("not json/é"), []byte("not json/é"))
			},
		},
		{
			name: "not JSON, wrong signature: no fallback to try",
			modify: func(r *Request) {
				*r = userCheckRequest("not-the-secret", []byte("not json/é"), []byte("not json/é"))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "empty body, signed",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, nil, nil)
			},
		},
	}...)
	runAuthCases(t, UserCheck, userCheckRequest(userCheckTestSecret, body, body), Credentials{Secrets: []string{userCheckTestSecret}}, cases)
}

// A body that repeats a key is never authenticated through a re-encoded form: every sample's
// decoder keeps the last value, so their forms are the same for a body with an earlier value added,
// and whoever holds one genuine request could add {"domain":"evil.example"} in front of the signed
// {"domain":"victim.example"}. Signed byte for byte, the same body is genuine.
func TestUserCheckRepeatedKeys(t *testing.T) {
	// victim, victimNested: a genuine body, which is its own PHP and JavaScript form, and its
	// Python form. Each case's body adds an earlier value for a key of it.
	const (
		victim             = `{"domain":"victim.example"}`
		victimPython       = `{"domain": "victim.example"}`
		victimNested       = `{"event":"domain.flagged.spam","data":{"domain":"victim.example"}}`
		victimNestedPython = `{"event": "domain.flagged.spam", "data": {"domain": "victim.example"}}`
	)
	tests := []struct {
		name  string
		body  string
		forms []string // the genuine body's re-encodings, each signed in turn
	}{
		{"repeated key", `{"domain":"evil.example","domain":"victim.example"}`, []string{victim, victimPython}},
		{"repeated key, pretty-printed", "{\n  \"domain\": \"evil.example\",\n  \"domain\": \"victim.example\"\n}", []string{victim, victimPython}},
		{"repeated key written with an escape", `{"domain":"evil.example","\u0064omain":"victim.example"}`, []string{victim, victimPython}},
		{"repeated key escaped first", `{"d\u006fmain":"evil.example","domain":"victim.example"}`, []string{victim, victimPython}},
		{"repeated key in a nested object",
			`{"event":"domain.flagged.spam","data":{"domain":"evil.example","domain":"victim.example"}}`,
			[]string{victimNested, victimNestedPython}},
		{"repeated object",
			`{"event":"domain.flagged.spam","data":{"domain":"evil.example"},"data":{"domain":"victim.example"}}`,
			[]string{victimNested, victimNestedPython}},
		{"repeated event",
			`{"event":"domain.flagged.relay","event":"domain.flagged.spam","data":{"domain":"victim.example"}}`,
			[]string{victimNested, victimNestedPython}},
	}
	creds := Credentials{Secrets: []string{userCheckTestSecret}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, form := range tt.forms {
				req := userCheckRequest(userCheckTestSecret, []byte(tt.body), []byte(form))
				_, err := UserCheck.Authenticate(req, creds)
				checkAuthError(t, err, ErrBadSignature)
				if v, err := UserCheck.Verify(req, creds); v.Valid() || !errors.Is(err, ErrBadSignature) {
					t.Errorf("signed over %s: Verify = valid %v, %v", form, v.Valid(), err)
				}
			}
			// The raw body's signature is unaffected: signed as it is, it is genuine.
			req := userCheckRequest(userCheckTestSecret, []byte(tt.body), []byte(tt.body))
			v, err := UserCheck.Verify(req, creds)
			if err != nil {
				t.Fatalf("signed byte for byte: %v", err)
			}
			if got := v.SignedBody(); string(got) != tt.body {
				t.Errorf("SignedBody = %s, want the raw body", got)
			}
		})
	}
}

// Verified.SignedBody is what the signature that matched covers: the raw body, or the one
// re-encoded form that matched. The bridge's duplicate id is its hash, so bodies that differ only
// where every form is the same (white space, escapes) are one event.
func TestUserCheckSignedBody(t *testing.T) {
	pretty := []byte(userCheckPrettyBody)
	// The same value as userCheckPrettyBody, laid out and escaped otherwise.
	respaced := []byte("{\"event\":\"domain.flagged.spam\",\t\"created_at\" : \"2025-03-26T14:30:25+00:00\",\r\n" +
		`"data":{ "domain" : "a\/b.example" , "note" : "caf\u00E9 \uD83C\uDF89" } }`)
	compact := []byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"}}`)
	compactPretty := []byte("{ \"event\": \"domain.flagged.spam\",\n  \"data\": { \"domain\": \"x.example\" } }\n")
	tests := []struct {
		name       string
		body       []byte
		signed     []byte // what the signature covers
		wantSigned []byte // SignedBody; Proof.Signed nil means the raw body
		wantProof  bool   // whether Proof.Signed is set
	}{
		{name: "raw body", body: pretty, signed: pretty, wantSigned: pretty},
		{name: "PHP form", body: pretty, signed: []byte(userCheckPrettyPHP), wantSigned: []byte(userCheckPrettyPHP), wantProof: true},
		{name: "JavaScript form", body: pretty, signed: []byte(userCheckPrettyJS), wantSigned: []byte(userCheckPrettyJS), wantProof: true},
		{name: "Python form", body: pretty, signed: []byte(userCheckPrettyPython), wantSigned: []byte(userCheckPrettyPython), wantProof: true},
		{name: "PHP form, other white space and escapes", body: respaced, signed: []byte(userCheckPrettyPHP), wantSigned: []byte(userCheckPrettyPHP), wantProof: true},
		{name: "Python form, other white space and escapes", body: respaced, signed: []byte(userCheckPrettyPython), wantSigned: []byte(userCheckPrettyPython), wantProof: true},
		{name: "compact body signed as it is", body: compact, signed: compact, wantSigned: compact},
		{name: "the same body pretty-printed, with that signature", body: compactPretty, signed: compact, wantSigned: compact, wantProof: true},
	}
	creds := Credentials{Secrets: []string{userCheckTestSecret}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userCheckRequest(userCheckTestSecret, tt.body, tt.signed)
			proof, err := UserCheck.Authenticate(req, creds)
			if err != nil {
				t.Fatal(err)
			}
			if (proof.Signed != nil) != tt.wantProof || tt.wantProof && !bytes.Equal(proof.Signed, tt.wantSigned) {
				t.Errorf("Proof.Signed = %q, want %q (set: %v)", proof.Signed, tt.wantSigned, tt.wantProof)
			}
			v, err := UserCheck.Verify(req, creds)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.SignedBody(); !bytes.Equal(got, tt.wantSigned) {
				t.Errorf("SignedBody = %q, want %q", got, tt.wantSigned)
			}
			if got := v.Request().Body; !bytes.Equal(got, tt.body) {
				t.Errorf("the request's body is %q, want the raw body %q", got, tt.body)
			}
		})
	}

	// Two bodies that differ only in white space and escapes, with one signature: one signed body,
	// so one event, though their raw bodies (and so their CloudEvents ids) differ.
	for _, form := range []string{userCheckPrettyPHP, userCheckPrettyJS, userCheckPrettyPython} {
		sig := userCheckSignature(userCheckTestSecret, []byte(form))
		var signedBodies [][]byte
		for _, body := range [][]byte{pretty, respaced} {
			req := userCheckRequest(userCheckTestSecret, body, nil)
			req.Header.Set(UserCheckSignatureHeader, sig)
			v, err := UserCheck.Verify(req, creds)
			if err != nil {
				t.Fatalf("%q signed over %s: %v", body, form, err)
			}
			signedBodies = append(signedBodies, v.SignedBody())
		}
		if !bytes.Equal(signedBodies[0], signedBodies[1]) {
			t.Errorf("signed over %s: SignedBody %q and %q differ", form, signedBodies[0], signedBodies[1])
		}
	}
}

// userCheckPaddedBodyPython returns the body userCheckPaddedBody does and its Python
// re-encoding, written here by hand.
func userCheckPaddedBodyPython(size int) (body, python []byte) {
	body, php := userCheckPaddedBody(size)
	pad := bytes.TrimSuffix(bytes.TrimPrefix(php, []byte(`{"event":"domain.flagged.spam","note":"`)), []byte(`"}`))
	return body, []byte(`{"event": "domain.flagged.spam", "note": "` + string(pad) + `"}`)
}

// userCheckPaddedBody returns a pretty-printed event of exactly size bytes and its PHP
// re-encoding, written here by hand.
func userCheckPaddedBody(size int) (body, php []byte) {
	const head, tail = `{ "event": "domain.flagged.spam", "note": "`, `" }`
	pad := strings.Repeat("x", size-len(head)-len(tail))
	return []byte(head + pad + tail), []byte(`{"event":"domain.flagged.spam","note":"` + pad + `"}`)
}

func TestUserCheckAuthenticateExamples(t *testing.T) {
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		t.Run(name, func(t *testing.T) {
			body := userCheckExample(t, name)
			_, err := UserCheck.Authenticate(userCheckRequest(userCheckTestSecret, body, body), Credentials{Secrets: []string{userCheckTestSecret}})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUserCheckMap(t *testing.T) {
	tests := []struct {
		name        string
		body        []byte
		eventHeader string
		want        Event
	}{
		{
			name: "domain.flagged.disposable (documented example)",
			body: userCheckExample(t, "domain_flagged_disposable.json"),
			want: Event{Type: "domain.flagged.disposable", Subject: "example.com", Time: time.Date(2025, 3, 26, 14, 30, 25, 0, time.UTC)},
		},
		{
			name: "domain.flagged.relay",
			body: userCheckExample(t, "domain_flagged_relay.json"),
			want: Event{Type: "domain.flagged.relay", Subject: "relay.example.net", Time: time.Date(2025, 3, 27, 8, 5, 0, 0, time.UTC)},
		},
		{
			name: "domain.flagged.spam, created_at with an offset: converted to UTC",
			body: userCheckExample(t, "domain_flagged_spam.json"),
			want: Event{Type: "domain.flagged.spam", Subject: "spam.example.org", Time: time.Date(2025, 3, 28, 21, 59, 59, 0, time.UTC)},
		},
		{
			name:        "event in the body wins over the header",
			body:        userCheckExample(t, "domain_flagged_relay.json"),
			eventHeader: "domain.flagged.spam",
			want:        Event{Type: "domain.flagged.relay", Subject: "relay.example.net", Time: time.Date(2025, 3, 27, 8, 5, 0, 0, time.UTC)},
		},
		{
			name:        "no event in the body: X-UserCheck-Event-Type",
			body:        []byte(`{"created_at":"2025-03-26T14:30:25Z","data":{"domain":"example.com"}}`),
			eventHeader: "domain.flagged.spam",
			want:        Event{Type: "domain.flagged.spam", Subject: "example.com", Time: time.Date(2025, 3, 26, 14, 30, 25, 0, time.UTC)},
		},
		{
			name: "no created_at: zero time (time of receipt)",
			body: []byte(`{"event":"domain.flagged.spam","data":{"domain":"example.com"}}`),
			want: Event{Type: "domain.flagged.spam", Subject: "example.com"},
		},
		{
			name: "created_at not RFC 3339: zero time",
			body: []byte(`{"event":"domain.flagged.spam","created_at":"26/03/2025","data":{"domain":"example.com"}}`),
			want: Event{Type: "domain.flagged.spam", Subject: "example.com"},
		},
		{
			name: "created_at a number: zero time, event still mapped",
			body: []byte(`{"event":"domain.flagged.spam","created_at":1742999425,"data":{"domain":"example.com"}}`),
			want: Event{Type: "domain.flagged.spam", Subject: "example.com"},
		},
		{
			name: "data not an object: no subject",
			body: []byte(`{"event":"domain.flagged.spam","data":"example.com"}`),
			want: Event{Type: "domain.flagged.spam"},
		},
		{
			name: "escaped slash in the domain",
			body: []byte(`{"event":"domain.flagged.spam","data":{"domain":"a\/b.example"}}`),
			want: Event{Type: "domain.flagged.spam", Subject: "a/b.example"},
		},
		{
			name: "nested jsonMaxDepth deep",
			body: []byte(`{"event":"domain.flagged.spam","data":{"domain":"example.com","more":` + nestedJSON(jsonMaxDepth-2, false) + `}}`),
			want: Event{Type: "domain.flagged.spam", Subject: "example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.eventHeader != "" {
				h.Set("X-UserCheck-Event-Type", tt.eventHeader)
			}
			got, err := UserCheck.Map(Request{Header: h, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
			if got.ID != "" {
				t.Errorf("id %q: UserCheck has no event id (the bridge uses the body's hash)", got.ID)
			}
			if !got.Time.IsZero() && got.Time.Location() != time.UTC {
				t.Errorf("time %v is not in UTC", got.Time)
			}
		})
	}
}

func TestUserCheckMapUnmappable(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		eventHeader string
	}{
		{name: "not JSON", body: `event=domain.flagged.spam`, eventHeader: "domain.flagged.spam"},
		{name: "empty body", body: ``},
		{name: "JSON array", body: `[{"event":"domain.flagged.spam"}]`},
		{name: "no event, no header", body: `{"data":{"domain":"example.com"}}`},
		{name: "empty event, no header", body: `{"event":"","data":{"domain":"example.com"}}`},
		{name: "event not a string", body: `{"event":["domain.flagged.spam"]}`},
		{
			name:        "nested deeper than jsonMaxDepth, event in the header too",
			body:        `{"event":"domain.flagged.spam","data":{"domain":"example.com","more":` + nestedJSON(jsonMaxDepth-1, false) + `}}`,
			eventHeader: "domain.flagged.spam",
		},
		{
			name:        "nested 100,000 deep",
			body:        `{"event":"domain.flagged.spam","data":` + nestedJSON(100_000, true) + `}`,
			eventHeader: "domain.flagged.spam",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.eventHeader != "" {
				h.Set("X-UserCheck-Event-Type", tt.eventHeader)
			}
			_, err := UserCheck.Map(Request{Header: h, Body: []byte(tt.body)})
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want %v", err, ErrUnmappable)
			}
		})
	}
}

func TestUserCheckDeclaration(t *testing.T) {
	p, ok := Lookup("usercheck")
	if !ok || p != UserCheck {
		t.Fatal(`Lookup("usercheck") does not return UserCheck`)
	}
	if p.TypePrefix != "com.usercheck" {
		t.Errorf("TypePrefix = %q", p.TypePrefix)
	}
	checkAnswer(t, "Success", p.Success, http.StatusOK, `{"status":"success"}`)
	checkAnswer(t, "Rejection", p.Rejection, http.StatusUnauthorized, `{"status":"error","message":"Invalid signature"}`)
	if len(p.DefaultReplyEvents) != 0 {
		t.Errorf("DefaultReplyEvents = %v, want none", p.DefaultReplyEvents)
	}
	if p.Handshake != nil {
		t.Error("UserCheck has no handshake")
	}
	if p.CheckCredentials(Credentials{}) == nil {
		t.Error("CheckCredentials accepts no secret")
	}
	if err := p.CheckCredentials(Credentials{Secrets: []string{"s"}}); err != nil {
		t.Errorf("CheckCredentials: %v", err)
	}
}

// Sign signs the raw body and sets X-UserCheck-Event-Type to the event Map reads from the body, so
// that the header never changes how a body it signed maps.
func TestUserCheckSign(t *testing.T) {
	deep := func(depth int) []byte {
		return []byte(`{"event":"domain.flagged.spam","data":` + nestedJSON(depth-1, false) + `}`)
	}
	tests := []struct {
		name       string
		body       []byte
		wantHeader string
	}{
		{"documented example", userCheckExample(t, "domain_flagged_relay.json"), "domain.flagged.relay"},
		{"escaped event", []byte(`{"event":"domain.flagged.sp\u0061m"}`), "domain.flagged.spam"},
		{"nested jsonMaxDepth deep", deep(jsonMaxDepth), "domain.flagged.spam"},
		{"nested deeper than jsonMaxDepth: Map reads no event", deep(jsonMaxDepth + 1), ""},
		{"Event in capitals: Map matches keys exactly", []byte(`{"Event":"domain.flagged.spam"}`), ""},
		{"event not a string", []byte(`{"event":1}`), ""},
		{"not JSON", []byte(`event=domain.flagged.spam`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := UserCheck.Sign(Credentials{Secrets: []string{userCheckTestSecret, "other"}}, tt.body, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := h.Get(UserCheckSignatureHeader), userCheckSignature(userCheckTestSecret, tt.body); got != want {
				t.Errorf("signature = %q, want %q", got, want)
			}
			if got := h.Get(UserCheckEventHeader); got != tt.wantHeader {
				t.Errorf("event type header = %q, want %q", got, tt.wantHeader)
			}
			withHeader, errWith := UserCheck.Map(Request{Header: h, Body: tt.body})
			bodyOnly, errBody := UserCheck.Map(Request{Header: http.Header{}, Body: tt.body})
			if withHeader != bodyOnly || (errWith == nil) != (errBody == nil) {
				t.Errorf("with Sign's header Map gives %+v, %v; from the body alone %+v, %v", withHeader, errWith, bodyOnly, errBody)
			}
		})
	}
}

func FuzzUserCheckAuthenticate(f *testing.F) {
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		body := userCheckExample(f, name)
		f.Add(body, userCheckSignature(userCheckTestSecret, body))
	}
	f.Add([]byte(userCheckPrettyBody), userCheckSignature(userCheckTestSecret, []byte(userCheckPrettyPHP)))
	f.Add([]byte(userCheckPrettyBody), userCheckSignature(userCheckTestSecret, []byte(userCheckPrettyJS)))
	f.Add([]byte(userCheckPrettyBody), userCheckSignature(userCheckTestSecret, []byte(userCheckPrettyPython)))
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`"\ud800"`), "zz")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		creds := Credentials{Secrets: []string{"other", userCheckTestSecret}}
		h := http.Header{}
		h.Set("X-UserCheck-Signature", sig)
		_, err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds)
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v wraps no sentinel", err)
		}

		// Signed over the raw body, or over a receiver sample's re-encoding where that language
		// could make one (and the body is small enough to try): accepted. By a key not
		// configured: rejected.
		signed := [][]byte{body}
		if len(body) <= userCheckMaxReencode {
			for _, encode := range []func([]byte) ([]byte, error){phpJSONEncode, jsJSONEncode, pythonJSONEncode} {
				if form, err := encode(body); err == nil {
					signed = append(signed, form)
				}
			}
		}
		for _, s := range signed {
			h.Set("X-UserCheck-Signature", userCheckSignature(userCheckTestSecret, s))
			if _, err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds); err != nil {
				t.Fatalf("signed over %q: %v", s, err)
			}
			h.Set("X-UserCheck-Signature", userCheckSignature("a third key", s))
			if _, err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("signed with an unknown key over %q: %v", s, err)
			}
		}
	})
}

func FuzzUserCheckMap(f *testing.F) {
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		f.Add(userCheckExample(f, name), "")
	}
	f.Add([]byte(`{"data":{"domain":"example.com"}}`), "domain.flagged.spam")
	f.Add([]byte(userCheckPrettyBody), "")
	f.Add([]byte(`[]`), "domain.flagged.spam")
	f.Fuzz(func(t *testing.T, body []byte, eventHeader string) {
		h := http.Header{}
		h.Set("X-UserCheck-Event-Type", eventHeader)
		ev, err := UserCheck.Map(Request{Header: h, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		if ev.Type == "" || ev.ID != "" {
			t.Fatalf("mapped to %+v", ev)
		}
		if !ev.Time.IsZero() && (ev.Time.Location() != time.UTC || ev.Time.Year() < 0 || ev.Time.Year() > 9999) {
			t.Fatalf("time %v cannot be an RFC 3339 UTC timestamp", ev.Time)
		}
	})
}

// userCheckDenseBody is a body of exactly size bytes that makes re-encoding as costly as JSON
// allows per byte: short keys and values, numbers each language prints its own way, integer-like
// keys, and characters each escapes differently.
func userCheckDenseBody(size int) []byte {
	const item = `{"id":12345,"score":1.5e-7,"ratio":1.0,"7":true,"name":"café/😀","tags":["a/b","\u00e9",null]}`
	head, tail := `{"event":"domain.flagged.spam","data":{"domain":"x.example","items":[`, `]}}`
	var b strings.Builder
	b.WriteString(head)
	for b.Len()+len(item)+1+len(`,""`)+len(tail) <= size {
		if b.Len() > len(head) {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	// Fill the rest with a string, so that the body is exactly size bytes.
	pad := size - b.Len() - len(tail) - len(`,""`)
	b.WriteString(`,"` + strings.Repeat("x", pad) + `"` + tail)
	return []byte(b.String())
}

// userCheckManyKeysBody is an object of exactly size bytes with thousands of keys, none repeated:
// making sure of that must not cost the square of their number.
func userCheckManyKeysBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"event":"domain.flagged.spam"`)
	for i := 0; b.Len()+32 < size; i++ { // room for one more key and the padding
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	pad := size - b.Len() - len(`,"pad":""}`)
	b.WriteString(`,"pad":"` + strings.Repeat("x", pad) + `"}`)
	return []byte(b.String())
}

// BenchmarkUserCheckForgedSignature64KiB measures what a request with a wrong signature costs at
// the re-encoding cap: the raw body's MAC, one parse, the three re-encodings and their MACs.
func BenchmarkUserCheckForgedSignature64KiB(b *testing.B) {
	padded, _ := userCheckPaddedBody(userCheckMaxReencode)
	bodies := []struct {
		name string
		body []byte
	}{
		{"one long string", padded},
		{"dense", userCheckDenseBody(userCheckMaxReencode)},
		{"many keys", userCheckManyKeysBody(userCheckMaxReencode)},
	}
	creds := Credentials{Secrets: []string{userCheckTestSecret}}
	for _, bb := range bodies {
		if len(bb.body) != userCheckMaxReencode {
			b.Fatalf("%s: body of %d bytes", bb.name, len(bb.body))
		}
		for _, encode := range []func([]byte) ([]byte, error){phpJSONEncode, jsJSONEncode, pythonJSONEncode} {
			if _, err := encode(bb.body); err != nil {
				b.Fatalf("%s: %v", bb.name, err)
			}
		}
		b.Run(bb.name, func(b *testing.B) {
			req := userCheckRequest("not-the-secret", bb.body, bb.body)
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := UserCheck.Authenticate(req, creds); !errors.Is(err, ErrBadSignature) {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("valid raw signature, for comparison", func(b *testing.B) {
		req := userCheckRequest(userCheckTestSecret, padded, padded)
		b.SetBytes(int64(len(padded)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := UserCheck.Authenticate(req, creds); err != nil {
				b.Fatal(err)
			}
		}
	})
}
