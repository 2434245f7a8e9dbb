package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Square's documentation ("Validate webhook notifications",
// https://developer.squareup.com/docs/webhooks/step3validate): x-square-hmacsha256-signature is
// the base64 HMAC-SHA256, keyed with the subscription's signature key, of the notification URL
// followed by the raw body.

// Square's own published example, taken as data from its SDK's tests:
// https://github.com/square/square-nodejs-sdk/blob/master/test/utilities/webhooksHelper.test.ts
// (the same values are in square-python-sdk, square-php-sdk, square-java-sdk and square-go-sdk).
// The body is testdata/square/sdk_test_notification.json, byte for byte.
const (
	squarePublishedKey       = "Ibxx_5AKakO-3qeNVR61Dw"
	squarePublishedURL       = "https://webhook.site"
	squarePublishedURI       = "/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"
	squarePublishedSignature = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
)

const (
	squareTestPublicURL = "https://hooks.example.com"
	squareTestEndpoint  = "square-main"
	squareTestKey       = "square-signature-key"
)

// squareSignature computes the signature as the documentation describes it, with no help from
// the code under test.
func squareSignature(key, notificationURL string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(notificationURL))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func squareExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "square", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func squareSettings(t testing.TB, endpoint, publicURL string) any {
	t.Helper()
	s, err := Square.Configure(endpoint, Credentials{}, settingsOf(map[string]any{publicURLKey: publicURL}))
	if err != nil {
		t.Fatal(err)
	}
	return s.Value
}

func TestSquarePublishedExample(t *testing.T) {
	body := squareExample(t, "sdk_test_notification.json")
	tests := []struct {
		name      string
		publicURL string
		uri       string
		body      []byte
		key       string
		signature string
		wantErr   error
	}{
		{"published signature", squarePublishedURL, squarePublishedURI, body, squarePublishedKey, squarePublishedSignature, nil},
		// "test signature with escaped characters": the body's ">id<" signed as sent.
		{"escaped characters", "https://webhook.site", "/webhooks", []byte(`{"data":{"type":"webhooks","id":">id<"}}`), "signature-key", "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=", nil},
		{"notification URL mismatch", squarePublishedURL, "/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", body, squarePublishedKey, squarePublishedSignature, ErrBadSignature},
		{"invalid signature key", squarePublishedURL, squarePublishedURI, body, "MCmhFRxGX82xMwg5FsaoQA", squarePublishedSignature, ErrBadSignature},
		{"invalid signature header", squarePublishedURL, squarePublishedURI, body, squarePublishedKey, "1z2n3DEJJiUPKcPzQo1ftvbxGdw=", ErrBadSignature},
		{"body reformatted", squarePublishedURL, squarePublishedURI, append([]byte(" "), body...), squarePublishedKey, squarePublishedSignature, ErrBadSignature},
		// Square signs the URL as registered: no port is added or removed.
		{"URL with its default port", "https://webhook.site:443", squarePublishedURI, body, squarePublishedKey, squarePublishedSignature, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("x-square-hmacsha256-signature", tt.signature)
			creds := Credentials{Secrets: []string{tt.key}, Settings: squareSettings(t, "square", tt.publicURL)}
			_, err := Square.Authenticate(Request{Method: http.MethodPost, URI: tt.uri, Header: h, Body: tt.body}, creds)
			checkAuthError(t, err, tt.wantErr)
		})
	}
	if got := squareSignature(squarePublishedKey, squarePublishedURL+squarePublishedURI, body); got != squarePublishedSignature {
		t.Errorf("test signer gives %s for the published example", got)
	}
}

func TestSquareAuthenticate(t *testing.T) {
	body := squareExample(t, "payment_updated.json")
	// runAuthCases sends no URI: the endpoint's own route is what was called.
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(SquareSignatureHeader, squareSignature(squareTestKey, squareTestPublicURL+"/webhooks/"+squareTestEndpoint, body))
	base := Request{Header: h, Body: body}
	creds := Credentials{Secrets: []string{squareTestKey}, Settings: squareSettings(t, squareTestEndpoint, squareTestPublicURL)}
	cases := commonAuthCases(proofSpec{
		header:      SquareSignatureHeader,
		otherSecret: "another-signature-key",
		undecodable: "not base64!",
	})
	cases = append(cases,
		authCase{
			name: "signed for another URL",
			modify: func(r *Request) {
				r.Header.Set(SquareSignatureHeader, squareSignature(squareTestKey, "https://other.example.com/webhooks/"+squareTestEndpoint, body))
			},
			wantErr: ErrBadSignature,
		},
		authCase{
			name:    "the URL's bytes moved into the body",
			modify:  func(r *Request) { r.Body = append([]byte("/webhooks/"+squareTestEndpoint), r.Body...) },
			wantErr: ErrBadSignature,
		},
		authCase{
			name:    "endpoint without a public URL",
			creds:   func(c *Credentials) { c.Settings = nil },
			wantErr: ErrBadCredentials,
		},
	)
	runAuthCases(t, Square, base, creds, cases)
}

// The same notification delivered twice is one event: the same id, the same signed bytes.
func TestSquareDuplicate(t *testing.T) {
	body := squareExample(t, "payment_updated.json")
	creds := Credentials{Secrets: []string{squareTestKey}, Settings: squareSettings(t, squareTestEndpoint, squareTestPublicURL)}
	const uri = "/webhooks/" + squareTestEndpoint
	var ids []string
	for range 2 {
		h := http.Header{}
		h.Set(SquareSignatureHeader, squareSignature(squareTestKey, squareTestPublicURL+uri, body))
		v, err := Square.Verify(Request{Method: http.MethodPost, URI: uri, Header: h, Body: body}, creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		if ev.IDUnsigned || string(v.SignedBody()) != string(body) {
			t.Error("the id is the signed body's event_id, and the raw body is what is signed")
		}
		ids = append(ids, ev.ID)
	}
	if ids[0] != ids[1] || ids[0] != "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc" {
		t.Errorf("ids %v", ids)
	}
}

func TestSquareMap(t *testing.T) {
	tests := []struct {
		file                          string
		wantType, wantID, wantSubject string
		wantTime                      time.Time
	}{
		{"sdk_test_notification.json", "webhooks.test_notification", "ac3ac95b-f97d-458c-a6e6-18981597e05f", "bc368e64-01aa-407e-b46e-3231809b1129",
			time.Date(2022, 7, 13, 20, 30, 59, 37339943, time.UTC)},
		{"payment_updated.json", "payment.updated", "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
			time.Date(2020, 2, 6, 21, 27, 34, 308000000, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev, err := Square.Map(Request{Header: http.Header{}, Body: squareExample(t, tt.file)})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tt.wantType || ev.ID != tt.wantID || ev.Subject != tt.wantSubject || !ev.Time.Equal(tt.wantTime) {
				t.Errorf("got %q %q %q %v", ev.Type, ev.ID, ev.Subject, ev.Time)
			}
		})
	}
}

func TestSquareMapUnmappable(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"event_id":"e1"}`, `{"type":""}`, `{"type":7}`, `not json`} {
		if _, err := Square.Map(Request{Header: http.Header{}, Body: []byte(body)}); !errors.Is(err, ErrUnmappable) {
			t.Errorf("%q: error %v, want %v", body, err, ErrUnmappable)
		}
	}
	ev, _ := Square.Map(Request{Body: []byte(`{"event_id":"e1"}`)})
	if ev.ID != "e1" {
		t.Errorf("unmapped event lost its id: %q", ev.ID)
	}
}

func TestSquareSign(t *testing.T) {
	body := squareExample(t, "payment_updated.json")
	creds := Credentials{Secrets: []string{squareTestKey, "other"}, Settings: squareSettings(t, squareTestEndpoint, squareTestPublicURL)}
	h, err := Square.Sign(creds, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get(SquareSignatureHeader), squareSignature(squareTestKey, squareTestPublicURL+"/webhooks/"+squareTestEndpoint, body); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	h, err = Square.Sign(Credentials{Secrets: []string{"demo-secret"}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get(SquareSignatureHeader), squareSignature("demo-secret", "http://127.0.0.1:8080/webhooks/square", body); got != want {
		t.Errorf("demo signature %q, want %q", got, want)
	}
}

func TestSquareConfigure(t *testing.T) {
	for _, bad := range []map[string]any{{}, {publicURLKey: "example.com"}, {publicURLKey: "https://example.com#x"}} {
		_, err := Square.Configure("square", Credentials{}, settingsOf(bad))
		var se *SettingError
		if !errors.As(err, &se) || se.Key != publicURLKey {
			t.Errorf("%v: error %v, want one naming %s", bad, err, publicURLKey)
		}
	}
}

func TestSquareDeclaration(t *testing.T) {
	if Square.Success.Status != http.StatusOK || Square.Rejection.Status != http.StatusUnauthorized || Square.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("answers %d %d %d", Square.Success.Status, Square.Rejection.Status, Square.Retry.Status)
	}
}

// The "Try it" request of docs/providers/square.md verifies on the demo endpoint.
func TestSquareDocsTryIt(t *testing.T) {
	h := http.Header{}
	h.Set("x-square-hmacsha256-signature", "d8SfcuQDV3kZagJiBAnnV8/u36kqnERuyPewxo/fXR8=")
	body := []byte(`{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2020-02-06T21:27:34.308Z","data":{"type":"payment","id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY"}}`)
	if _, err := Square.Verify(Request{Method: http.MethodPost, URI: "/webhooks/square", Header: h, Body: body}, Square.DemoCredentials("demo-secret")); err != nil {
		t.Fatal(err)
	}
}
