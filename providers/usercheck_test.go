package providers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// UserCheck's documentation ("Webhooks", seeds/004): X-UserCheck-Signature is the hex
// HMAC-SHA256 of the payload, keyed with the webhook secret. Its PHP sample signs
// json_encode(json_decode($body, true)), so a body that is not already in that form verifies
// only over the re-encoding.

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
	// What JavaScript's JSON.stringify and Python's json.dumps write for the same value.
	userCheckPrettyJS = `{"event":"domain.flagged.spam","created_at":"2025-03-26T14:30:25+00:00",` +
		`"data":{"domain":"a/b.example","note":"café 🎉"}}`
	userCheckPrettyPython = `{"event": "domain.flagged.spam", "created_at": "2025-03-26T14:30:25+00:00", ` +
		`"data": {"domain": "a/b.example", "note": "caf\u00e9 \ud83c\udf89"}}`
)

func TestUserCheckAuthenticate(t *testing.T) {
	body := userCheckExample(t, "domain_flagged_disposable.json")
	pretty := []byte(userCheckPrettyBody)

	tests := []struct {
		name    string
		modify  func(r *Request)
		secrets []string // nil: the one secret the request was signed with
		wantErr error    // nil: authentic
	}{
		{name: "valid"},
		{
			name:    "rotation: the second of two secrets matches",
			secrets: []string{"the-new-secret", userCheckTestSecret},
		},
		{
			name: "tampered body",
			modify: func(r *Request) {
				r.Body = bytes.Replace(r.Body, []byte("example.com"), []byte("example.org"), 1)
			},
			wantErr: ErrBadSignature,
		},
		{name: "wrong secret", secrets: []string{"not-the-secret"}, wantErr: ErrBadSignature},
		{name: "no secret configured", secrets: []string{}, wantErr: ErrBadSignature},
		{
			name:    "missing signature header",
			modify:  func(r *Request) { r.Header.Del("X-UserCheck-Signature") },
			wantErr: ErrMissingProof,
		},
		{
			name:    "empty signature header",
			modify:  func(r *Request) { r.Header.Set("X-UserCheck-Signature", " ") },
			wantErr: ErrMissingProof,
		},
		{
			name:    "bad hex",
			modify:  func(r *Request) { r.Header.Set("X-UserCheck-Signature", strings.Repeat("g", 64)) },
			wantErr: ErrMalformedProof,
		},
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
			name: "duplicate signature header",
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
			secrets: []string{"the-new-secret", userCheckTestSecret},
		},
		{
			name: "PHP fallback, wrong secret",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPHP))
			},
			secrets: []string{"not-the-secret"},
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
			name: "PHP fallback: a repeated key keeps its first place and its last value",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret,
					[]byte(`{"event": "domain.flagged.relay", "data": {"domain": "x.example"}, "event": "domain.flagged.spam"}`),
					[]byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"}}`))
			},
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
			name: "signature over JSON.stringify's re-encoding: not accepted",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyJS))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "signature over Python json.dumps' re-encoding: not accepted",
			modify: func(r *Request) {
				*r = userCheckRequest(userCheckTestSecret, pretty, []byte(userCheckPrettyPython))
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userCheckRequest(userCheckTestSecret, body, body)
			if tt.modify != nil {
				tt.modify(&req)
			}
			creds := Credentials{Secrets: []string{userCheckTestSecret}}
			if tt.secrets != nil {
				creds.Secrets = tt.secrets
			}
			checkAuthError(t, UserCheck.Authenticate(req, creds), tt.wantErr)
			v, err := UserCheck.Verify(req, creds)
			checkAuthError(t, err, tt.wantErr)
			if v.Valid() != (tt.wantErr == nil) {
				t.Errorf("Verified.Valid() = %v, want %v", v.Valid(), tt.wantErr == nil)
			}
		})
	}
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
			err := UserCheck.Authenticate(userCheckRequest(userCheckTestSecret, body, body), Credentials{Secrets: []string{userCheckTestSecret}})
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

func TestUserCheckSign(t *testing.T) {
	body := userCheckExample(t, "domain_flagged_relay.json")
	h, err := UserCheck.Sign(Credentials{Secrets: []string{userCheckTestSecret, "other"}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("X-UserCheck-Signature"), userCheckSignature(userCheckTestSecret, body); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
	if got := h.Get("X-UserCheck-Event-Type"); got != "domain.flagged.relay" {
		t.Errorf("event type header = %q", got)
	}
}

// phpJSONEncodeTests are inputs and what PHP 8.2 prints for
// echo json_encode(json_decode($in, true)); with default flags and ini settings
// (serialize_precision = -1).
var phpJSONEncodeTests = []struct {
	name string
	in   string
	want string
}{
	{"documented example unchanged", `{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`,
		`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`},
	{"pretty-printed", userCheckPrettyBody, userCheckPrettyPHP},
	{"whitespace around", " \t\r\n[ 1 , 2 ]\n", `[1,2]`},
	{"slash escaped", `"a/b"`, `"a\/b"`},
	{"escaped slash stays escaped", `"a\/b"`, `"a\/b"`},
	{"non-ASCII as lower-case \\u", `"é"`, `"\u00e9"`},
	{"upper-case escape in, lower-case out", `"\u00E9"`, `"\u00e9"`},
	{"BMP beyond Latin-1", `"€ 日本"`, `"\u20ac \u65e5\u672c"`},
	{"emoji as a surrogate pair", `"😀"`, `"\ud83d\ude00"`},
	{"escaped surrogate pair", `"\uD83D\uDE00"`, `"\ud83d\ude00"`},
	{"U+FFFD", "\"\uFFFD\"", `"\ufffd"`},
	{"line and paragraph separators", "\"\u2028\u2029\"", `"\u2028\u2029"`},
	{"short escapes", `"\"\\\b\f\n\r\t"`, `"\"\\\b\f\n\r\t"`},
	{"control characters", `"\u0000\u0001\u001f\u000b"`, `"\u0000\u0001\u001f\u000b"`},
	{"DEL is printable to PHP", `"\u007f"`, "\"\x7f\""},
	{"HTML characters not escaped", `"<a href='x'>&</a>"`, `"<a href='x'>&<\/a>"`},
	{"escaped backslash before u: no surrogate", `"\\ud800"`, `"\\ud800"`},
	{"empty string", `""`, `""`},
	{"empty object becomes an empty array", `{}`, `[]`},
	{"empty array", `[]`, `[]`},
	{"nested empty object", `{"a":{},"b":[{}]}`, `{"a":[],"b":[[]]}`},
	{"key order kept", `{"b":1,"a":2,"c":3}`, `{"b":1,"a":2,"c":3}`},
	{"repeated key: first place, last value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
	{"keys 0, 1 in order become a list", `{"0":"a","1":"b"}`, `["a","b"]`},
	{"repeated key 0", `{"0":1,"0":2}`, `[2]`},
	{"keys 1, 0 stay an object", `{"1":"a","0":"b"}`, `{"1":"a","0":"b"}`},
	{"key 1 alone stays an object", `{"1":"a"}`, `{"1":"a"}`},
	{"non-canonical numeric keys stay strings", `{"-0":1,"01":2}`, `{"-0":1,"01":2}`},
	{"empty key", `{"":1}`, `{"":1}`},
	{"escaped key", `{"a/b":1,"\u00e9":2}`, `{"a\/b":1,"\u00e9":2}`},
	{"nested arrays", `[[1,[2,[3]]],[]]`, `[[1,[2,[3]]],[]]`},
	{"literals", `[true,false,null]`, `[true,false,null]`},
	{"top-level scalar", `"x"`, `"x"`},
	{"top-level null", `null`, `null`},
	{"integer", `42`, `42`},
	{"negative integer", `-7`, `-7`},
	{"minus zero integer is 0", `-0`, `0`},
	{"largest int64 kept", `9223372036854775807`, `9223372036854775807`},
	{"smallest int64 kept", `-9223372036854775808`, `-9223372036854775808`},
	{"large int kept exactly", `9007199254740993`, `9007199254740993`},
	{"beyond int64: a double", `9223372036854775808`, `9.223372036854776e+18`},
	{"beyond int64, 20 digits", `12345678901234567890`, `1.2345678901234567e+19`},
	{"1.0 loses its fraction", `1.0`, `1`},
	{"1.50", `1.50`, `1.5`},
	{"1e3", `1e3`, `1000`},
	{"1E2", `1E2`, `100`},
	{"0.1", `0.1`, `0.1`},
	{"0.30000000000000004", `0.30000000000000004`, `0.30000000000000004`},
	{"0.0001 in plain form", `0.0001`, `0.0001`},
	{"0.00001 in exponent form", `0.00001`, `1.0e-5`},
	{"1.5e-7", `1.5e-7`, `1.5e-7`},
	{"1e15 in plain form", `1e15`, `1000000000000000`},
	{"1e16 in plain form", `1e16`, `10000000000000000`},
	{"1e17 in exponent form", `1e17`, `1.0e+17`},
	{"negative exponent form", `-1.25e+30`, `-1.25e+30`},
	{"123.456e5", `123.456e5`, `12345600`},
	{"minus zero double", `-0.0`, `-0`},
	{"underflow to zero", `1e-400`, `0`},
	{"underflow to minus zero", `-1e-400`, `-0`},
	{"smallest denormal", `5e-324`, `5.0e-324`},
	{"largest double", `1.7976931348623157e308`, `1.7976931348623157e+308`},
	{"infinite double replaced by a repeated key", `{"a":1e400,"a":1}`, `{"a":1}`},
	{"infinite double in an array replaced", `{"a":[1e400],"b":2,"a":{}}`, `{"a":[],"b":2}`},
	{"mixed", `{"n":[1,1.0,-2.5e-5,"1.0"],"s":"/"}`, `{"n":[1,1,-2.5e-5,"1.0"],"s":"\/"}`},
}

func TestPHPJSONEncode(t *testing.T) {
	for _, tt := range phpJSONEncodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phpJSONEncode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("phpJSONEncode(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// phpJSONEncodeFailures are inputs on which PHP's json_decode or json_encode fails, so that the
// PHP sample could not have signed anything.
var phpJSONEncodeFailures = []struct {
	name string
	in   string
}{
	{"empty", ``},
	{"blank", ` `},
	{"not JSON", `event=x`},
	{"trailing comma", `[1,]`},
	{"two values", `1 2`},
	{"trailing data", `{"a":1}}`},
	{"byte order mark", "\uFEFF[1]"},
	{"invalid UTF-8", "\"\xff\""},
	{"unpaired high surrogate", `"\ud800"`},
	{"high surrogate before a non-surrogate", `"\ud800\u0041"`},
	{"unpaired low surrogate", `"\udc00"`},
	{"surrogates in the wrong order", `"\udc00\ud800"`},
	{"unpaired surrogate, though replaced", `{"a":"\ud800","a":1}`},
	{"infinite double", `1e400`},
	{"infinite negative double", `[-1e400]`},
	{"infinite double in an object", `{"a":1e400}`},
	{"512 nested arrays", strings.Repeat("[", 512) + strings.Repeat("]", 512)},
	{"512 nested objects", strings.Repeat(`{"a":`, 512) + "1" + strings.Repeat("}", 512)},
}

func TestPHPJSONEncodeFails(t *testing.T) {
	for _, tt := range phpJSONEncodeFailures {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := phpJSONEncode([]byte(tt.in)); err == nil {
				t.Fatalf("phpJSONEncode(%q) = %s, want an error", tt.in, got)
			}
		})
	}
}

func TestPHPJSONEncodeDepth(t *testing.T) {
	// json_decode's default depth of 512 admits 511 nested arrays or objects.
	for _, in := range []string{
		strings.Repeat("[", 511) + strings.Repeat("]", 511),
		strings.Repeat(`{"a":`, 511) + "1" + strings.Repeat("}", 511),
	} {
		got, err := phpJSONEncode([]byte(in))
		if err != nil || string(got) != in {
			t.Errorf("511 levels: %.20s…, %v", got, err)
		}
	}
}

// TestPHPJSONEncodeMatchesPHP puts both tables through PHP itself where it is installed (the
// tables were made with PHP 8.2's php-cli); elsewhere it is skipped.
func TestPHPJSONEncodeMatchesPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("php is not installed")
	}
	const script = `while (($l = fgets(STDIN)) !== false) {
		$v = json_decode(base64_decode(trim($l)), true);
		$o = json_last_error() === JSON_ERROR_NONE ? json_encode($v) : false;
		echo $o === false ? "-" : base64_encode($o), "\n";
	}`
	type phpCase struct{ name, in, want string } // want "-": PHP fails
	var cases []phpCase
	var stdin bytes.Buffer
	for _, tt := range phpJSONEncodeTests {
		cases = append(cases, phpCase{tt.name, tt.in, tt.want})
	}
	for _, tt := range phpJSONEncodeFailures {
		cases = append(cases, phpCase{tt.name, tt.in, "-"})
	}
	for _, c := range cases {
		stdin.WriteString(base64.StdEncoding.EncodeToString([]byte(c.in)) + "\n")
	}
	cmd := exec.CommandContext(t.Context(), php, "-r", script)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("php answered %d lines for %d inputs", len(lines), len(cases))
	}
	for i, c := range cases {
		got := lines[i]
		if got != "-" {
			b, err := base64.StdEncoding.DecodeString(got)
			if err != nil {
				t.Fatalf("php: %v", err)
			}
			got = string(b)
		}
		if got != c.want {
			t.Errorf("%s: PHP writes %q for %q, the table says %q", c.name, got, c.in, c.want)
		}
	}
}

func FuzzUserCheckAuthenticate(f *testing.F) {
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		body := userCheckExample(f, name)
		f.Add(body, userCheckSignature(userCheckTestSecret, body))
	}
	f.Add([]byte(userCheckPrettyBody), userCheckSignature(userCheckTestSecret, []byte(userCheckPrettyPHP)))
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`"\ud800"`), "zz")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		creds := Credentials{Secrets: []string{"other", userCheckTestSecret}}
		h := http.Header{}
		h.Set("X-UserCheck-Signature", sig)
		err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds)
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v wraps no sentinel", err)
		}

		// Signed over the raw body, or over PHP's re-encoding where PHP could make one (and the
		// body is small enough to try): accepted. By a key not configured: rejected.
		signed := [][]byte{body}
		if php, err := phpJSONEncode(body); err == nil && len(body) <= userCheckMaxReencode {
			signed = append(signed, php)
		}
		for _, s := range signed {
			h.Set("X-UserCheck-Signature", userCheckSignature(userCheckTestSecret, s))
			if err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds); err != nil {
				t.Fatalf("signed over %q: %v", s, err)
			}
			h.Set("X-UserCheck-Signature", userCheckSignature("a third key", s))
			if err := UserCheck.Authenticate(Request{Header: h, Body: body}, creds); !errors.Is(err, ErrBadSignature) {
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

func FuzzPHPJSONEncode(f *testing.F) {
	for _, tt := range phpJSONEncodeTests {
		f.Add([]byte(tt.in))
	}
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		f.Add(userCheckExample(f, name))
	}
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := phpJSONEncode(in)
		if err != nil {
			if json.Valid(in) && !phpRejects(err) {
				t.Fatalf("valid JSON %q: %v", in, err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("invalid JSON %q encoded as %q", in, out)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("%q encoded as invalid JSON %q", in, out)
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c >= 0x80 || c == '/' || c < 0x20 {
				t.Fatalf("%q encoded with a raw %q: %q", in, c, out)
			} else if c == '\\' {
				i++ // an escape's second character
			}
		}
		var vin, vout any
		decodeNumbers(t, in, &vin)
		decodeNumbers(t, out, &vout)
		if !phpEqual(vin, vout) {
			t.Fatalf("%q encoded as %q: different values", in, out)
		}
		// Re-encoding changes nothing, but for PHP's own exception: the double -0 is written
		// "-0", which decodes as the integer 0.
		again, err := phpJSONEncode(out)
		if err != nil || !bytes.Equal(again, out) && !bytes.Contains(out, []byte("-0")) {
			t.Fatalf("re-encoding %q gives %q, %v", out, again, err)
		}
		if thrice, err := phpJSONEncode(again); err != nil || !bytes.Equal(thrice, again) {
			t.Fatalf("re-encoding %q gives %q, %v", again, thrice, err)
		}
	})
}

// phpRejects reports whether err is one of the failures PHP has too (TestPHPJSONEncodeFails).
func phpRejects(err error) bool {
	for _, s := range []string{"UTF-8", "surrogate", "nested too deeply", "Inf"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func decodeNumbers(t *testing.T, b []byte, v *any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
}

// phpEqual compares decoded JSON values as PHP sees them: a list is the object with keys "0",
// "1", … (so {} equals []), and numbers are equal when their values are (integers exactly).
func phpEqual(a, b any) bool {
	if l, ok := a.([]any); ok {
		a = listAsObject(l)
	}
	if l, ok := b.([]any); ok {
		b = listAsObject(l)
	}
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !phpEqual(va, vb) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		ia, aerr := strconv.ParseInt(a.String(), 10, 64)
		ib, berr := strconv.ParseInt(b.String(), 10, 64)
		if aerr == nil && berr == nil {
			return ia == ib
		}
		fa, _ := strconv.ParseFloat(a.String(), 64)
		fb, _ := strconv.ParseFloat(b.String(), 64)
		return fa == fb && math.Signbit(fa) == math.Signbit(fb)
	default:
		return a == b
	}
}

func listAsObject(l []any) map[string]any {
	m := make(map[string]any, len(l))
	for i, v := range l {
		m[strconv.Itoa(i)] = v
	}
	return m
}
