package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// aghanimSigned is an Aghanim request signed as its documentation says, with newHash (SHA-256
// for a genuine one) and key.
func aghanimSigned(newHash func() hash.Hash, key string, ts int64, body string) Request {
	t := strconv.FormatInt(ts, 10)
	m := hmac.New(newHash, []byte(key))
	m.Write([]byte(t + "." + body))
	return Request{Header: http.Header{
		"X-Aghanim-Signature-Timestamp": {t},
		"X-Aghanim-Signature":           {hex.EncodeToString(m.Sum(nil))},
	}, Body: []byte(body)}
}

// TestDiagnosis: each refusal says what an integrator can act on.
func TestDiagnosis(t *testing.T) {
	const body = `{"event_type":"player.update","event_id":"whevt_1"}`
	tests := []struct {
		name    string
		req     Request
		secrets []string
		want    string
	}{
		{"missing header", Request{Header: http.Header{"X-Aghanim-Signature-Timestamp": {"1"}}, Body: []byte(body)}, []string{"s"},
			"the header X-Aghanim-Signature is missing"},
		{"not hex", func() Request {
			r := aghanimSigned(sha256.New, "s", 1, body)
			r.Header.Set("X-Aghanim-Signature", "zz")
			return r
		}(), []string{"s"}, "not in the encoding expected"},
		{"signed with SHA-1", aghanimSigned(sha1.New, "s", 1, body), []string{"s"},
			"the signature in X-Aghanim-Signature is 20 bytes, expected 32: signed with SHA-1?"},
		{"no secret matches", aghanimSigned(sha256.New, "other", 1, body), []string{"s", "t"},
			"no configured secret matches (2 tried)"},
		{"the secret configured base64-encoded", aghanimSigned(sha256.New, "demo-secret", 1, body), []string{"ZGVtby1zZWNyZXQ="},
			"secrets[0] base64-decoded does"},
		{"the secret configured hex-encoded", aghanimSigned(sha256.New, "demo-secret", 1, body), []string{hex.EncodeToString([]byte("demo-secret"))},
			"secrets[0] hex-decoded does"},
		{"the secret configured with a whsec_ prefix", aghanimSigned(sha256.New, "abcdef", 1, body), []string{"whsec_abcdef"},
			"secrets[0] without its whsec_ prefix does"},
		{"the secret configured without the sender's whsec_ prefix", aghanimSigned(sha256.New, "whsec_abcdef", 1, body), []string{"abcdef"},
			"secrets[0] with a whsec_ prefix does"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Aghanim.Verify(tc.req, Credentials{Secrets: tc.secrets})
			if err == nil {
				t.Fatal("verified")
			}
			if got := Diagnosis(err); !strings.Contains(got, tc.want) {
				t.Errorf("diagnosis %q, want it to say %q", got, tc.want)
			}
		})
	}
	if got := MissingHeader(func() error {
		_, err := Aghanim.Verify(tests[0].req, Credentials{Secrets: []string{"s"}})
		return err
	}()); got != "X-Aghanim-Signature" {
		t.Errorf("MissingHeader %q, want X-Aghanim-Signature", got)
	}
	received := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		ts   int64
		want string
	}{{1_800_000_000 - 432, "timestamp 432 s old, tolerance 300 s"}, {1_800_000_000 + 400, "timestamp 400 s in the future, tolerance 300 s"}} {
		err := checkTimestampAge(tc.ts, Request{Received: received}, 300*time.Second)
		if got := Diagnosis(err); got != tc.want && !strings.HasPrefix(got, tc.want) {
			t.Errorf("diagnosis %q, want %q", got, tc.want)
		}
	}
}

// TestSecretIndex: which configured secret matched, so an operator knows when the old one can go.
func TestSecretIndex(t *testing.T) {
	const body = `{"event_type":"player.update","event_id":"whevt_1"}`
	creds := Credentials{Secrets: []string{"old", "new"}}
	for i, key := range creds.Secrets {
		v, err := Aghanim.Verify(aghanimSigned(sha256.New, key, 1, body), creds)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.SecretIndex(); got != i {
			t.Errorf("signed with %q: secret index %d, want %d", key, got, i)
		}
	}
	swKeyed := Credentials{Secrets: []string{"whsec_b2xkLXNlY3JldA==", "whsec_bmV3LXNlY3JldA=="}}
	configured, err := StandardWebhooks.Configure("acme", swKeyed, func(string, any) (bool, error) { return false, nil })
	if err != nil {
		t.Fatal(err)
	}
	swKeyed.Settings = configured.Value
	h := swHeaders(swKeyed.Secrets[1], "msg_1", time.Now(), swPayload)
	v, err := StandardWebhooks.Verify(Request{Header: h, Body: []byte(swPayload)}, swKeyed)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.SecretIndex(); got != 1 {
		t.Errorf("Standard Webhooks signed with the second key: index %d, want 1", got)
	}
}

// TestHMACPresetDiagnosis: a sender by name built from an hmac block diagnoses its refusals too.
func TestHMACPresetDiagnosis(t *testing.T) {
	const body = `{"id":"evt_1","type":"charge.succeeded"}`
	ts := "1700000000"
	sign := func(key string) Request {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(ts + "." + body))
		return Request{Header: http.Header{"Stripe-Signature": {"t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))}},
			Body: []byte(body), Received: time.Unix(1700000000, 0)}
	}
	for _, tc := range []struct {
		name    string
		secrets []string
		want    string
	}{
		{"wrong secret", []string{"whsec_other"}, "no configured secret matches (1 tried)"},
		{"the secret configured without its whsec_ prefix", []string{"abc"}, "secrets[0] with a whsec_ prefix does"},
	} {
		creds := StripePreset.DemoCredentials("x")
		creds.Secrets = tc.secrets
		_, err := StripePreset.Verify(sign("whsec_abc"), creds)
		if got := Diagnosis(err); !strings.Contains(got, tc.want) {
			t.Errorf("%s: diagnosis %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestHMACTimestampField: a timestamp in the signed body (Linear's webhookTimestamp, ms) is
// judged against the tolerance once the MAC has vouched for it.
func TestHMACTimestampField(t *testing.T) {
	received := time.UnixMilli(1_700_000_000_000)
	sign := func(at time.Time, field string) Request {
		body := `{"type":"Issue","` + field + `":` + strconv.FormatInt(at.UnixMilli(), 10) + `}`
		m := hmac.New(sha256.New, []byte("lin"))
		m.Write([]byte(body))
		return Request{Header: http.Header{"Linear-Signature": {hex.EncodeToString(m.Sum(nil))}}, Body: []byte(body), Received: received}
	}
	creds := LinearPreset.DemoCredentials("x")
	creds.Secrets = []string{"lin"}
	for _, tc := range []struct {
		name    string
		req     Request
		wantErr error
	}{
		{"within a minute", sign(received.Add(-59*time.Second), "webhookTimestamp"), nil},
		{"older", sign(received.Add(-61*time.Second), "webhookTimestamp"), ErrStaleTimestamp},
		{"ahead", sign(received.Add(61*time.Second), "webhookTimestamp"), ErrStaleTimestamp},
		{"no timestamp in the body", sign(received, "other"), ErrMalformedProof},
	} {
		_, err := LinearPreset.Verify(tc.req, creds)
		if (tc.wantErr == nil) != (err == nil) || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

// TestHMACBlockDiagnosis: a missing prefix and a stale timestamp say so.
func TestHMACBlockDiagnosis(t *testing.T) {
	creds := GitHubPreset.DemoCredentials("x")
	creds.Secrets = []string{"s"}
	m := hmac.New(sha256.New, []byte("s"))
	m.Write([]byte("{}"))
	_, err := GitHubPreset.Verify(Request{Header: http.Header{"X-Hub-Signature-256": {hex.EncodeToString(m.Sum(nil))}}, Body: []byte("{}")}, creds)
	if got := Diagnosis(err); got != `the signature in X-Hub-Signature-256 lacks the prefix "sha256="` {
		t.Errorf("diagnosis %q", got)
	}
	received := time.UnixMilli(1_700_000_000_000)
	body := `{"type":"Issue","webhookTimestamp":` + strconv.FormatInt(received.Add(-432*time.Second).UnixMilli(), 10) + `}`
	m = hmac.New(sha256.New, []byte("s"))
	m.Write([]byte(body))
	linear := LinearPreset.DemoCredentials("x")
	linear.Secrets = []string{"s"}
	_, err = LinearPreset.Verify(Request{Header: http.Header{"Linear-Signature": {hex.EncodeToString(m.Sum(nil))}}, Body: []byte(body), Received: received}, linear)
	if got := Diagnosis(err); got != "timestamp 432 s old, tolerance 60 s" {
		t.Errorf("diagnosis %q", got)
	}
}
