package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's recipe, computed here independently: base64
// HMAC-SHA256, keyed with the base64-decoded secret, of "{id}.{timestamp}.{body}".
const (
	swSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the specification's example secret
	swPayload = `{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"c_1","email":"a@example.org"}}`
)

func swSign(secret, id string, ts int64, body string) string {
	return swSignString(secret, id+"."+strconv.FormatInt(ts, 10)+"."+body)
}

// swSignString is the v1 signature of the signed string itself.
func swSignString(secret, signed string) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func swHeaders(secret, id string, ts time.Time, body string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", swSign(secret, id, ts.Unix(), body))
	return h
}

// TestStandardWebhooksAuthenticate follows the specification library's own test suite: each case
// starts from a valid request and changes one thing.
func TestStandardWebhooksAuthenticate(t *testing.T) {
	const id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	// swResigned replaces the request's headers with ones signed at ts.
	swResigned := func(ts time.Time) func(r *Request) {
		return func(r *Request) { replaceHeader(r.Header, swHeaders(swSecret, id, ts, string(r.Body))) }
	}
	cases := commonAuthCases(proofSpec{
		header:      StandardWebhooksSignatureHeader,
		otherSecret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key")),
		// No undecodable case: an entry the library cannot read is one that does not match.
		tamper: func(b []byte) []byte { return []byte(strings.Replace(string(b), "c_1", "c_2", 1)) },
	})
	cases = append(cases, []authCase{
		// A signature is there, so the request is not "unsigned" even where unsigned requests
		// are allowed.
		{name: "missing id", modify: func(r *Request) { r.Header.Del("webhook-id") }, wantErr: ErrMalformedProof},
		{name: "missing timestamp", modify: func(r *Request) { r.Header.Del("webhook-timestamp") }, wantErr: ErrMalformedProof},
		{name: "empty timestamp", modify: func(r *Request) { r.Header.Set("webhook-timestamp", "") }, wantErr: ErrMalformedProof},
		{name: "missing all three", modify: func(r *Request) { replaceHeader(r.Header, http.Header{}) }, wantErr: ErrMissingProof},
		// The library reads the timestamp with strconv.ParseInt and signs it as %d: "+T" would
		// verify with the signature for "T". Digits only, as for every "{timestamp}.{body}" scheme.
		{name: "timestamp with a sign", modify: func(r *Request) {
			r.Header.Set("webhook-timestamp", "+"+r.Header.Get("webhook-timestamp"))
		}, wantErr: ErrMalformedProof},
		{name: "negative timestamp, signed as such", modify: func(r *Request) {
			r.Header.Set("webhook-timestamp", "-1")
			r.Header.Set("webhook-signature", swSign(swSecret, id, -1, string(r.Body)))
		}, wantErr: ErrMalformedProof},
		{name: "timestamp with a space inside", modify: func(r *Request) { r.Header.Set("webhook-timestamp", "1667 507170") }, wantErr: ErrMalformedProof},
		{name: "timestamp with a letter", modify: func(r *Request) { r.Header.Set("webhook-timestamp", "12a") }, wantErr: ErrMalformedProof},
		{name: "timestamp of 20 digits", modify: func(r *Request) { r.Header.Set("webhook-timestamp", "16675071701667507170") }, wantErr: ErrMalformedProof},
		{name: "bytes moved from the body into the timestamp", modify: func(r *Request) {
			ts, moved := moveIntoTimestamp(t, r.Header.Get("webhook-timestamp"), r.Body)
			if swSignString(swSecret, id+"."+ts+"."+string(moved)) != r.Header.Get("webhook-signature") {
				t.Fatal("the moved bytes do not sign the same")
			}
			r.Header.Set("webhook-timestamp", ts)
			r.Body = moved
		}, wantErr: ErrMalformedProof},
		{name: "invalid signature", modify: func(r *Request) {
			r.Header.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		}, wantErr: ErrBadSignature},
		{name: "partial signature", modify: func(r *Request) { r.Header.Set("webhook-signature", "v1,") }, wantErr: ErrBadSignature},
		{name: "old timestamp", modify: swResigned(time.Now().Add(-DefaultTimestampTolerance - 2*time.Second)), wantErr: ErrStaleTimestamp},
		{name: "new timestamp", modify: swResigned(time.Now().Add(DefaultTimestampTolerance + 2*time.Second)), wantErr: ErrStaleTimestamp},
		{name: "timestamp not a number", modify: func(r *Request) { r.Header.Set("webhook-timestamp", "yesterday") }, wantErr: ErrMalformedProof},
		{name: "several signatures, one valid, other versions ignored", modify: func(r *Request) {
			r.Header.Set("webhook-signature", strings.Join([]string{
				"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				r.Header.Get("webhook-signature"),
				"v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
			}, " "))
		}},
		{name: "only another version", modify: func(r *Request) {
			r.Header.Set("webhook-signature", "v2,"+strings.TrimPrefix(r.Header.Get("webhook-signature"), "v1,"))
		}, wantErr: ErrBadSignature},
		{name: "secret without whsec_ prefix", creds: secrets(strings.TrimPrefix(swSecret, "whsec_"))},
		{name: "id changed", modify: func(r *Request) { r.Header.Set("webhook-id", "msg_other") }, wantErr: ErrBadSignature},
	}...)
	valid := Request{Header: swHeaders(swSecret, id, time.Now(), swPayload), Body: []byte(swPayload)}
	runAuthCases(t, StandardWebhooks, valid, Credentials{Secrets: []string{swSecret}}, cases)
}

// TestStandardWebhooksTolerance: a timestamp further than the tolerance from the time of
// receipt, either way, is stale; the tolerance is the specification's 5 minutes unless the
// endpoint sets timestamp_tolerance.
func TestStandardWebhooksTolerance(t *testing.T) {
	received := time.Unix(1667507170, 0)
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		age       time.Duration
		wantErr   error
	}{
		{name: "default: 5 minutes old", age: 5 * time.Minute},
		{name: "default: 5 minutes ahead", age: -5 * time.Minute},
		{name: "default: 5 minutes 1 second old", age: 5*time.Minute + time.Second, wantErr: ErrStaleTimestamp},
		{name: "default: 5 minutes 1 second ahead", age: -5*time.Minute - time.Second, wantErr: ErrStaleTimestamp},
		{name: "1h: 50 minutes old", tolerance: time.Hour, age: 50 * time.Minute},
		{name: "1h: 50 minutes ahead", tolerance: time.Hour, age: -50 * time.Minute},
		{name: "1h: 61 minutes old", tolerance: time.Hour, age: 61 * time.Minute, wantErr: ErrStaleTimestamp},
		{name: "1h: 61 minutes ahead", tolerance: time.Hour, age: -61 * time.Minute, wantErr: ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := map[string]any{}
			if tt.tolerance != 0 {
				settings["timestamp_tolerance"] = tt.tolerance
			}
			configured, err := StandardWebhooks.Configure("acme", Credentials{Secrets: []string{swSecret}}, settingsOf(settings))
			if err != nil {
				t.Fatal(err)
			}
			h := swHeaders(swSecret, "msg_1", received.Add(-tt.age), swPayload)
			_, err = StandardWebhooks.Verify(Request{Header: h, Body: []byte(swPayload), Received: received},
				Credentials{Secrets: []string{swSecret}, Settings: configured.Value})
			checkAuthError(t, err, tt.wantErr)
		})
	}
}

func TestStandardWebhooksMap(t *testing.T) {
	receipt := time.Unix(1667507170, 0)
	tests := []struct {
		name     string
		body     string
		wantType string
		wantTime time.Time
		wantErr  error
	}{
		{"type and RFC 3339 timestamp", swPayload, "contact.created", time.Date(2022, 11, 3, 20, 26, 10, 344522000, time.UTC), nil},
		{"type in capitals is lower-cased", `{"type":"Invoice.Paid"}`, "invoice.paid", receipt, nil},
		{"no timestamp: webhook-timestamp", `{"type":"a.b","data":{}}`, "a.b", receipt, nil},
		{"timestamp not RFC 3339: webhook-timestamp", `{"type":"a.b","timestamp":1667507000}`, "a.b", receipt, nil},
		{"no type", `{"data":{}}`, "", time.Time{}, ErrUnmappable},
		{"type not a string", `{"type":5}`, "", time.Time{}, ErrUnmappable},
		{"not JSON", `type=a.b`, "", time.Time{}, ErrUnmappable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := swHeaders(swSecret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", receipt, tc.body)
			v, err := StandardWebhooks.Verify(Request{Header: h, Body: []byte(tc.body)}, Credentials{Secrets: []string{swSecret}})
			if err != nil && !errors.Is(err, ErrStaleTimestamp) {
				t.Fatal(err)
			}
			ev, err := StandardWebhooks.Map(Request{Header: h, Body: []byte(tc.body)})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Map: %v, want %v", err, tc.wantErr)
				}
				return
			}
			_ = v
			if err != nil || ev.Type != tc.wantType || ev.ID != "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W" || !ev.Time.Equal(tc.wantTime) || ev.Subject != "" {
				t.Errorf("Map = %+v, %v; want type %q, id the webhook-id, time %s, no subject", ev, err, tc.wantType, tc.wantTime)
			}
		})
	}
}

func TestStandardWebhooksConfig(t *testing.T) {
	tests := []struct {
		name     string
		creds    Credentials
		settings map[string]any
		want     string // substring of the error; "" = valid
	}{
		{"whsec_ secret", Credentials{Secrets: []string{swSecret}}, nil, ""},
		{"bare base64 secret", Credentials{Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, nil, ""},
		{"no secret", Credentials{}, nil, "secrets"},
		{"empty secret", Credentials{Secrets: []string{"whsec_"}}, nil, "secrets[0]"},
		{"not base64", Credentials{Secrets: []string{"whsec_not base64!"}}, nil, "secrets[0]"},
		{"negative tolerance", Credentials{Secrets: []string{swSecret}}, map[string]any{"timestamp_tolerance": -time.Second}, "timestamp_tolerance"},
		{"zero tolerance", Credentials{Secrets: []string{swSecret}}, map[string]any{"timestamp_tolerance": time.Duration(0)}, "timestamp_tolerance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := StandardWebhooks.CheckCredentials(tc.creds)
			if _, cerr := StandardWebhooks.Configure("acme", tc.creds, settingsOf(tc.settings)); cerr != nil {
				err = errors.Join(err, cerr)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func replaceHeader(h, with http.Header) {
	for k := range h {
		delete(h, k)
	}
	for k, v := range with {
		h[k] = v
	}
}

// settingsOf is a SettingReader over plain values, as the bridge's YAML decoding would give them.
func settingsOf(values map[string]any) SettingReader {
	return func(key string, v any) (bool, error) {
		val, ok := values[key]
		if !ok {
			return false, nil
		}
		switch dst := v.(type) {
		case *time.Duration:
			*dst = val.(time.Duration)
		case *string:
			*dst = val.(string)
		default:
			panic("settingsOf: unsupported type")
		}
		return true, nil
	}
}

func FuzzStandardWebhooksAuthenticate(f *testing.F) {
	now := time.Now().Unix()
	f.Add("msg_1", strconv.FormatInt(now, 10), swSign(swSecret, "msg_1", now, swPayload), swPayload)
	f.Add("msg_1", "0", "v1,", "{}")
	f.Add("", "-1", "v1,a v2,b", "")
	f.Add("x", "99999999999999999999", "v1,,, v1", "[]")
	f.Fuzz(func(t *testing.T, id, ts, sig, body string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		v, err := StandardWebhooks.Verify(Request{Header: h, Body: []byte(body)}, Credentials{Secrets: []string{swSecret}})
		if err != nil {
			if !knownAuthError(err) && !errors.Is(err, ErrStaleTimestamp) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !timestampDigits.MatchString(strings.TrimSpace(ts)) {
			t.Fatalf("accepted timestamp %q, which is not 1 to 19 digits", ts)
		}
		if sig != swSign(swSecret, id, mustInt(t, ts), body) && !strings.Contains(sig, swSign(swSecret, id, mustInt(t, ts), body)) {
			t.Fatalf("accepted a signature that is not the right one: %q", sig)
		}
		_, _ = v.Map()
	})
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q", s)
	}
	return n
}
