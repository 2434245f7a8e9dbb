package providers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SendGrid's documentation ("Getting started with the Event Webhook Security Features",
// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features):
// X-Twilio-Email-Event-Webhook-Signature is the base64 ECDSA (P-256, SHA-256, ASN.1) signature of
// X-Twilio-Email-Event-Webhook-Timestamp followed by the raw body; the dashboard shows the public
// key as base64 DER.
//
// SendGrid's SDKs publish two examples, used here as data:
//   - sendgridPython*: https://github.com/sendgrid/sendgrid-python, test/unit/test_eventwebhook.py
//     (a "dropped" event in an array, with the trailing CR LF it insists on), body in
//     testdata/sendgrid/python_sdk_dropped.json;
//   - sendgridSDK*: https://github.com/sendgrid/sendgrid-nodejs,
//     packages/eventwebhook/src/eventwebhook.spec.js, and the same in
//     https://github.com/sendgrid/sendgrid-go, helpers/eventwebhook/eventwebhook_test.go (one
//     object, not an array), body in testdata/sendgrid/sdk_test_event.json.
//
// The other cases sign in the test with crypto/ecdsa, never with the provider's Sign.
const (
	sendgridPythonPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sendgridPythonSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sendgridPythonTimestamp = "1600112502"

	sendgridSDKPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sendgridSDKSignature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
	sendgridSDKTimestamp = "1588788367"

	// The key the SDKs' "invalid key" cases use: another account's.
	sendgridSDKOtherPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
	// The SDKs' "bad signature": one character of the valid one changed.
	sendgridSDKBadSignature = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="
)

// sendgridExample reads a body from testdata/sendgrid.
func sendgridExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "sendgrid", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// sendgridCreds configures a sendgrid endpoint with keys as an operator would write them.
func sendgridCreds(t testing.TB, keys map[string]any) Credentials {
	t.Helper()
	settings, err := SendGrid.Configure("sendgrid", Credentials{}, settingsOf(keys))
	if err != nil {
		t.Fatal(err)
	}
	return Credentials{Settings: settings.Value}
}

// sendgridKeyCreds is an endpoint configured with publicKey ("": none).
func sendgridKeyCreds(t testing.TB, publicKey string) Credentials {
	t.Helper()
	if publicKey == "" {
		return sendgridCreds(t, nil)
	}
	return sendgridCreds(t, map[string]any{"public_key": publicKey})
}

// sendgridPublished is a request as SendGrid sent it, with its published signature.
func sendgridPublished(body []byte, timestamp, signature string) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "SendGrid Event API")
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", timestamp)
	h.Set("X-Twilio-Email-Event-Webhook-Signature", signature)
	return Request{Method: http.MethodPost, URI: "/webhooks/sendgrid", Header: h, Body: body}
}

// sendgridTestKey is a key pair of the test's own, for cases the published examples do not
// cover (a timestamp of the test's choosing).
var sendgridTestKey = func() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return key
}()

// sendgridPublicBase64 is key's public half as the dashboard shows it.
func sendgridPublicBase64(t testing.TB, key *ecdsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// sendgridSignature signs as the documentation says: ECDSA P-256 over SHA-256(timestamp + body),
// ASN.1, base64.
func sendgridSignature(t testing.TB, key *ecdsa.PrivateKey, timestamp string, body []byte) string {
	t.Helper()
	digest := sha256.Sum256([]byte(timestamp + string(body)))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestSendGridAuthenticate(t *testing.T) {
	body := sendgridExample(t, "python_sdk_dropped.json")
	configured := func(publicKey string) Credentials { return sendgridKeyCreds(t, publicKey) }
	cases := publicKeyAuthCases(proofSpec{
		header:      SendGridSignatureHeader,
		undecodable: "not base64!",
		tamper: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"dropped"`, `"delivered"`, 1))
		},
	}, configured, sendgridSDKOtherPublicKey)
	cases = append(cases, []authCase{
		{
			// The Python SDK's warning: the body ends in CR LF, and the signature covers it.
			name:    "trailing CR LF removed",
			modify:  func(r *Request) { r.Body = []byte(strings.TrimSuffix(string(r.Body), "\r\n")) },
			wantErr: ErrBadSignature,
		},
		{
			name: "the SDKs' bad signature",
			modify: func(r *Request) {
				*r = sendgridPublished(sendgridExample(t, "sdk_test_event.json"), sendgridSDKTimestamp, sendgridSDKBadSignature)
			},
			creds:   useCreds(configured(sendgridSDKPublicKey)),
			wantErr: ErrBadSignature,
		},
		{
			name: "the Node and Go SDKs' example",
			modify: func(r *Request) {
				*r = sendgridPublished(sendgridExample(t, "sdk_test_event.json"), sendgridSDKTimestamp, sendgridSDKSignature)
			},
			creds: useCreds(configured(sendgridSDKPublicKey)),
		},
		{
			name: "the SDKs' example checked with the Python SDK's key",
			modify: func(r *Request) {
				*r = sendgridPublished(sendgridExample(t, "sdk_test_event.json"), sendgridSDKTimestamp, sendgridSDKSignature)
			},
			wantErr: ErrBadSignature,
		},
		{
			name:    "timestamp changed",
			modify:  func(r *Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", "1600112503") },
			wantErr: ErrBadSignature,
		},
		{
			// The SDKs' "bad timestamp" case, which a digits-only rule refuses before any check.
			name:    "timestamp not digits",
			modify:  func(r *Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Timestamp", "timestamp") },
			wantErr: ErrMalformedProof,
		},
		{
			name:    "missing timestamp header",
			modify:  func(r *Request) { r.Header.Del("X-Twilio-Email-Event-Webhook-Timestamp") },
			wantErr: ErrMalformedProof,
		},
		{
			name: "no signature and no timestamp",
			modify: func(r *Request) {
				r.Header.Del("X-Twilio-Email-Event-Webhook-Signature")
				r.Header.Del("X-Twilio-Email-Event-Webhook-Timestamp")
			},
			wantErr: ErrMissingProof,
		},
		{
			name:    "duplicate timestamp header",
			modify:  func(r *Request) { r.Header.Add("X-Twilio-Email-Event-Webhook-Timestamp", sendgridPythonTimestamp) },
			wantErr: ErrMalformedProof,
		},
		{
			name:    "signature truncated",
			modify:  func(r *Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sendgridPythonSignature[:40]) },
			wantErr: ErrBadSignature,
		},
		{
			name:    "signature of another body, same key",
			modify:  func(r *Request) { r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sendgridSDKSignature) },
			wantErr: ErrBadSignature,
		},
		{
			name: "signed by the test's own key, checked with it",
			modify: func(r *Request) {
				r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", sendgridSignature(t, sendgridTestKey, sendgridPythonTimestamp, r.Body))
			},
			creds: useCreds(configured(sendgridPublicBase64(t, &sendgridTestKey.PublicKey))),
		},
		{
			name: "unpadded base64 accepted",
			modify: func(r *Request) {
				r.Header.Set("X-Twilio-Email-Event-Webhook-Signature", strings.TrimRight(sendgridPythonSignature, "="))
			},
		},
	}...)
	runAuthCases(t, SendGrid, sendgridPublished(body, sendgridPythonTimestamp, sendgridPythonSignature), configured(sendgridPythonPublicKey), cases)
}

// TestSendGridTimestampTolerance: SendGrid documents no window, so none applies unless the
// endpoint sets timestamp_tolerance; then further than it, either way, is stale.
func TestSendGridTimestampTolerance(t *testing.T) {
	body := sendgridExample(t, "python_sdk_dropped.json")
	received := time.Unix(1600112502, 0)
	at := func(d time.Duration) string { return strconv.FormatInt(received.Add(d).Unix(), 10) }
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		ts        string
		wantErr   error
	}{
		{name: "unset: a year old", ts: at(-365 * 24 * time.Hour)},
		{name: "unset: a day ahead", ts: at(24 * time.Hour)},
		{name: "10m: 10 minutes old", tolerance: 10 * time.Minute, ts: at(-10 * time.Minute)},
		{name: "10m: 10 minutes 1 second old", tolerance: 10 * time.Minute, ts: at(-10*time.Minute - time.Second), wantErr: ErrStaleTimestamp},
		{name: "10m: 10 minutes 1 second ahead", tolerance: 10 * time.Minute, ts: at(10*time.Minute + time.Second), wantErr: ErrStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := map[string]any{"public_key": sendgridPublicBase64(t, &sendgridTestKey.PublicKey)}
			if tt.tolerance != 0 {
				keys["timestamp_tolerance"] = tt.tolerance
			}
			req := sendgridPublished(body, tt.ts, sendgridSignature(t, sendgridTestKey, tt.ts, body))
			req.Received = received
			_, err := SendGrid.Verify(req, sendgridCreds(t, keys))
			checkAuthError(t, err, tt.wantErr)
		})
	}
	t.Run("the published example, 10m, received years later", func(t *testing.T) {
		req := sendgridPublished(body, sendgridPythonTimestamp, sendgridPythonSignature)
		req.Received = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		creds := sendgridCreds(t, map[string]any{"public_key": sendgridPythonPublicKey, "timestamp_tolerance": 10 * time.Minute})
		_, err := SendGrid.Verify(req, creds)
		checkAuthError(t, err, ErrStaleTimestamp)
	})
}

func TestSendGridMap(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"the Python SDK's dropped event", sendgridExample(t, "python_sdk_dropped.json"), "dropped"},
		{"the SDKs' single object", sendgridExample(t, "sdk_test_event.json"), "test_event"},
		{"processed, delivered and open: mixed", sendgridExample(t, "mixed.json"), "events"},
		{"two of one kind", []byte(`[{"event":"open","sg_event_id":"a"},{"event":"open","sg_event_id":"b"}]`), "open"},
		{"upper case", []byte(`[{"event":"Bounce"}]`), "bounce"},
		{"one item without an event: mixed", []byte(`[{"event":"open"},{"email":"a@b.c"}]`), "events"},
		{"white space around the array", []byte(" \r\n[{\"event\":\"click\"}]\r\n"), "click"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SendGrid.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			// The batch has no id: the bridge names it by the body's SHA-256. No subject.
			if want := (Event{Type: tt.want}); got != want {
				t.Errorf("Map = %+v, want %+v", got, want)
			}
		})
	}
}

func TestSendGridMapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":              `event=open`,
		"empty array":           `[]`,
		"no item has an event":  `[{"email":"a@b.c"}]`,
		"event not a string":    `[{"event":7}]`,
		"an item not an object": `[{"event":"open"},"open"]`,
		"truncated":             `[{"event":"open"}`,
		"a string":              `"open"`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := SendGrid.Map(Request{Header: http.Header{}, Body: []byte(body)}); !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want %v", err, ErrUnmappable)
			}
		})
	}
}

// TestSendGridDuplicate: SendGrid retries a batch it could not deliver; signed again with a later
// timestamp, it is the same body, so the same event (its id is the body's hash).
func TestSendGridDuplicate(t *testing.T) {
	body := sendgridExample(t, "python_sdk_dropped.json")
	creds := sendgridCreds(t, map[string]any{"public_key": sendgridPublicBase64(t, &sendgridTestKey.PublicKey)})
	var signed []string
	for _, ts := range []string{"1600112502", "1600112562"} {
		v, err := SendGrid.Verify(sendgridPublished(body, ts, sendgridSignature(t, sendgridTestKey, ts, body)), creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != "" {
			t.Errorf("id %q, want none (the body's hash)", ev.ID)
		}
		signed = append(signed, string(v.SignedBody()))
	}
	if signed[0] != signed[1] || signed[0] != string(body) {
		t.Error("the two deliveries do not name the same signed bytes")
	}
}

func TestSendGridDeclaration(t *testing.T) {
	p, ok := Lookup("sendgrid")
	if !ok || p != SendGrid {
		t.Fatal(`Lookup("sendgrid") does not return SendGrid`)
	}
	if p.TypePrefix != "com.sendgrid" || p.Success.Status != http.StatusOK || p.Rejection.Status != http.StatusUnauthorized || p.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("declaration %s %d %d %d", p.TypePrefix, p.Success.Status, p.Rejection.Status, p.Retry.Status)
	}
	if p.Handshake != nil || len(p.DefaultReplyEvents) != 0 {
		t.Error("SendGrid has no handshake and no questions")
	}
	if !slices.Equal(p.SettingKeys, []string{"public_key", "timestamp_tolerance"}) {
		t.Errorf("SettingKeys = %v", p.SettingKeys)
	}
}

func TestSendGridConfigure(t *testing.T) {
	edDER, err := x509.MarshalPKIXPublicKey(discordTestKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	edKey := base64.StdEncoding.EncodeToString(edDER) // an Ed25519 SubjectPublicKeyInfo
	der, _ := base64.StdEncoding.DecodeString(sendgridPythonPublicKey)
	pemKey := "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END PUBLIC KEY-----\n"
	tests := []struct {
		name    string
		keys    map[string]any
		wantKey string // "": no error
	}{
		{name: "dashboard key", keys: map[string]any{"public_key": sendgridPythonPublicKey}},
		{name: "PEM", keys: map[string]any{"public_key": pemKey}},
		{name: "no key: CheckCredentials refuses it", keys: map[string]any{}},
		{name: "not base64", keys: map[string]any{"public_key": "not base64!"}, wantKey: "public_key"},
		{name: "not a key", keys: map[string]any{"public_key": base64.StdEncoding.EncodeToString([]byte("key"))}, wantKey: "public_key"},
		{name: "an Ed25519 key", keys: map[string]any{"public_key": edKey}, wantKey: "public_key"},
		{name: "negative tolerance", keys: map[string]any{"public_key": sendgridPythonPublicKey, "timestamp_tolerance": -time.Minute}, wantKey: "timestamp_tolerance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SendGrid.Configure("sendgrid", Credentials{}, settingsOf(tt.keys))
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Key != tt.wantKey {
				t.Errorf("error %v, want a SettingError for %s", err, tt.wantKey)
			}
		})
	}
}

func TestSendGridCheckCredentials(t *testing.T) {
	withKey := sendgridKeyCreds(t, sendgridPythonPublicKey)
	tests := []struct {
		name   string
		creds  Credentials
		wantOK bool
	}{
		{"endpoint with a public key and no secrets", withKey, true},
		{"endpoint without a public key", sendgridKeyCreds(t, ""), false},
		{"endpoint with a public key and secrets", func() Credentials { c := withKey; c.Secrets = []string{"s"}; return c }(), false},
		{"endpoint with bearer tokens", func() Credentials { c := withKey; c.BearerTokens = []string{"t"}; return c }(), false},
		{"signing with a seed (bridge sign)", Credentials{Secrets: []string{"demo-secret"}}, true},
		{"nothing", Credentials{}, false},
		{"demo credentials", SendGrid.DemoCredentials("demo-secret"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := SendGrid.CheckCredentials(tt.creds); (err == nil) != tt.wantOK {
				t.Errorf("CheckCredentials = %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

// TestSendGridDemo: `bridge sign -secret demo-secret` signs with the demo key pair, whose scalar
// is SHA-256("demo-secret"), and the demo endpoint, configured from DemoKeys, verifies it.
func TestSendGridDemo(t *testing.T) {
	d := sha256.Sum256([]byte("demo-secret"))
	demo, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	if want := "public_key: " + sendgridPublicBase64(t, &demo.PublicKey); SendGrid.DemoKeys != want {
		t.Errorf("DemoKeys = %q, want %q", SendGrid.DemoKeys, want)
	}
	body := sendgridExample(t, "mixed.json")
	h, err := SendGrid.Sign(Credentials{Secrets: []string{"demo-secret"}}, body, time.Unix(1600112502, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Twilio-Email-Event-Webhook-Timestamp"); got != "1600112502" {
		t.Errorf("timestamp %q", got)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("X-Twilio-Email-Event-Webhook-Signature"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("1600112502" + string(body)))
	if !ecdsa.VerifyASN1(&demo.PublicKey, digest[:], sig) {
		t.Error("Sign's signature does not verify with the demo public key")
	}
	if _, err := SendGrid.Sign(Credentials{}, body, time.Now()); err == nil {
		t.Error("Sign without a key succeeded")
	}
}

func FuzzSendGridMap(f *testing.F) {
	for _, name := range []string{"python_sdk_dropped.json", "sdk_test_event.json", "mixed.json"} {
		f.Add(sendgridExample(f, name))
	}
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := SendGrid.Map(Request{Header: http.Header{}, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		if ev.Type == "" || ev.ID != "" || ev.Subject != "" {
			t.Fatalf("mapped to %+v", ev)
		}
	})
}
