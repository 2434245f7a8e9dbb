package providers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// Mailgun's documentation ("Securing Webhooks",
// https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks): the
// body's signature block holds timestamp, token and signature, the hex HMAC-SHA256 keyed with the
// webhook signing key of timestamp followed by token.
//
// The published example: Mailgun's PHP SDK tests a signature block against a key
// (https://github.com/mailgun/mailgun-php, tests/MailgunTest.php, testVerifyWebhookGood, at
// commit 043658f9967352dd9a4647c4ab1f5de4ffb1684c): key "key-3ax6xnjp29jd6fds4gc373sgvjxteol0",
// timestamp "1403645220", token "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6", signature
// "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33". testdata/mailgun/*.json
// carry that block, taken as data, around event-data in the shape of Mailgun's webhook payloads.
const (
	mailgunPublishedKey       = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	mailgunPublishedTimestamp = "1403645220"
	mailgunPublishedToken     = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6"
	mailgunPublishedSignature = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"
)

// mailgunSignature computes the signature as Mailgun's documentation does, with no help from the
// code under test.
func mailgunSignature(key, timestamp, token string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(timestamp + token))
	return hex.EncodeToString(mac.Sum(nil))
}

// mailgunBody is a webhook body with the signature block given as is and eventData (a JSON
// object) as event-data.
func mailgunBody(timestamp, token, signature, eventData string) []byte {
	return []byte(`{"signature":{"timestamp":` + strconv.Quote(timestamp) + `,"token":` + strconv.Quote(token) +
		`,"signature":` + strconv.Quote(signature) + `},"event-data":` + eventData + `}`)
}

// mailgunSigned is a body signed with key.
func mailgunSigned(key, timestamp, token, eventData string) []byte {
	return mailgunBody(timestamp, token, mailgunSignature(key, timestamp, token), eventData)
}

func mailgunExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "mailgun", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// mailgunRequest is body as Mailgun posts it.
func mailgunRequest(body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "mailgun/treq-16.12.0")
	return Request{Header: h, Body: body}
}

// bodyProofCases are the common authentication cases for a provider whose proof is a field of
// the body: those about a proof header do not apply.
func bodyProofCases(otherSecret string, tamper func([]byte) []byte) []authCase {
	var cases []authCase
	for _, c := range commonAuthCases(proofSpec{header: "X-No-Proof-Header", otherSecret: otherSecret, tamper: tamper}) {
		if !strings.HasPrefix(c.name, "proof header") {
			cases = append(cases, c)
		}
	}
	return cases
}

// TestMailgunPublishedExample: the SDK's key, timestamp and token sign to the SDK's signature,
// computed here as the documentation says, and the provider accepts the block.
func TestMailgunPublishedExample(t *testing.T) {
	if got := mailgunSignature(mailgunPublishedKey, mailgunPublishedTimestamp, mailgunPublishedToken); got != mailgunPublishedSignature {
		t.Fatalf("the documented recipe gives %s, the SDK publishes %s", got, mailgunPublishedSignature)
	}
	for _, name := range []string{"delivered.json", "permanent_fail.json"} {
		t.Run(name, func(t *testing.T) {
			proof, err := Mailgun.Authenticate(mailgunRequest(mailgunExample(t, name)), Credentials{Secrets: []string{mailgunPublishedKey}})
			if err != nil {
				t.Fatal(err)
			}
			if want := mailgunPublishedTimestamp + mailgunPublishedToken; string(proof.Signed) != want {
				t.Errorf("Proof.Signed = %q, want %q", proof.Signed, want)
			}
		})
	}
}

func TestMailgunAuthenticate(t *testing.T) {
	body := mailgunExample(t, "delivered.json")
	replace := func(old, new string) func(r *Request) {
		return func(r *Request) {
			if !bytes.Contains(r.Body, []byte(old)) {
				t.Fatalf("body lacks %q", old)
			}
			r.Body = bytes.Replace(r.Body, []byte(old), []byte(new), 1)
		}
	}
	withBody := func(b []byte) func(r *Request) { return func(r *Request) { r.Body = b } }
	const ts, token = mailgunPublishedTimestamp, mailgunPublishedToken
	sig := mailgunPublishedSignature
	key := mailgunPublishedKey

	cases := bodyProofCases("key-not-the-one", func(b []byte) []byte {
		return bytes.Replace(b, []byte(token), []byte(strings.Replace(token, "5e", "5f", 1)), 1)
	})
	cases = append(cases, []authCase{
		{
			// The signature covers timestamp and token only: whatever event-data says, the
			// block is authentic (docs/providers/mailgun.md says so).
			name:   "event-data changed: still authentic, the signature does not cover it",
			modify: replace(`"event": "delivered"`, `"event": "complained"`),
		},
		{name: "timestamp changed", modify: replace(`"timestamp": "1403645220"`, `"timestamp": "1403645221"`), wantErr: ErrBadSignature},
		{name: "signature of another token", modify: withBody(mailgunBody(ts, token, mailgunSignature(key, ts, "owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr"), `{}`)), wantErr: ErrBadSignature},
		{name: "signature over token then timestamp", modify: withBody(mailgunBody(ts, token, mailgunSignature(key, token, ts), `{}`)), wantErr: ErrBadSignature},
		{name: "upper-case hex accepted", modify: replace(sig, strings.ToUpper(sig))},
		{name: "signature truncated", modify: replace(sig, sig[:62]), wantErr: ErrBadSignature},
		{name: "signature of odd length", modify: replace(sig, sig[:63]), wantErr: ErrMalformedProof},
		{name: "signature not hex", modify: replace(sig, strings.Repeat("zz", 32)), wantErr: ErrMalformedProof},
		{name: "signature prefixed", modify: replace(sig, "sha256="+sig), wantErr: ErrMalformedProof},
		{name: "signature a number", modify: replace(`"`+sig+`"`, `42`), wantErr: ErrMalformedProof},
		{name: "signature empty", modify: replace(sig, ""), wantErr: ErrMissingProof},
		{name: "no signature field", modify: withBody([]byte(`{"signature":{"timestamp":"1","token":"t"},"event-data":{}}`)), wantErr: ErrMissingProof},
		{name: "no signature block", modify: withBody([]byte(`{"event-data":{"event":"delivered"}}`)), wantErr: ErrMissingProof},
		{name: "signature block null", modify: withBody([]byte(`{"signature":null,"event-data":{}}`)), wantErr: ErrMissingProof},
		{name: "body not JSON", modify: withBody([]byte(`timestamp=1403645220&token=x&signature=y`)), wantErr: ErrMissingProof},
		{name: "body empty", modify: withBody(nil), wantErr: ErrMissingProof},
		{name: "body a JSON array", modify: withBody([]byte(`[` + string(body) + `]`)), wantErr: ErrMissingProof},
		{name: "token missing beside a signature", modify: withBody([]byte(`{"signature":{"timestamp":"1403645220","signature":"` + sig + `"}}`)), wantErr: ErrMalformedProof},
		{name: "timestamp missing beside a signature", modify: withBody([]byte(`{"signature":{"token":"` + token + `","signature":"` + sig + `"}}`)), wantErr: ErrMalformedProof},
		{name: "timestamp a number", modify: replace(`"timestamp": "1403645220"`, `"timestamp": 1403645220`), wantErr: ErrMalformedProof},
		// Timestamps other than 1 to 19 digits, each signed right: only the rule refuses them.
		{name: "timestamp with a fraction, signed", modify: withBody(mailgunSigned(key, "1403645220.5", token, `{}`)), wantErr: ErrMalformedProof},
		{name: "timestamp negative, signed", modify: withBody(mailgunSigned(key, "-1", token, `{}`)), wantErr: ErrMalformedProof},
		{name: "timestamp of 20 digits, signed", modify: withBody(mailgunSigned(key, "14036452201403645220", token, `{}`)), wantErr: ErrMalformedProof},
		{name: "old timestamp accepted: no age check by default", modify: withBody(mailgunSigned(key, "1000000000", token, `{}`))},
		{name: "signed by the second key of a rotation, minimal body", modify: withBody(mailgunSigned("key-next", ts, token, `{}`)), creds: secrets(key, "key-next")},
		{name: "escaped characters in the token are signed decoded", modify: withBody([]byte(`{"signature":{"timestamp":"1","token":"a\u002fb","signature":"` + mailgunSignature(key, "1", "a/b") + `"}}`))},
	}...)
	runAuthCases(t, Mailgun, mailgunRequest(body), Credentials{Secrets: []string{key}}, cases)
}

// TestMailgunTimestampTolerance: unset, any age passes (Mailgun retries for hours with the
// original timestamp); set, a timestamp further than it either way is stale.
func TestMailgunTimestampTolerance(t *testing.T) {
	received := time.Unix(1403645220, 0)
	at := func(d time.Duration) string { return strconv.FormatInt(received.Add(d).Unix(), 10) }
	tests := []struct {
		name      string
		tolerance time.Duration
		ts        string
		key       string
		wantErr   error
	}{
		{name: "unset: a day old", ts: at(-24 * time.Hour)},
		{name: "unset: a day ahead", ts: at(24 * time.Hour)},
		{name: "8h: 8 hours old", tolerance: 8 * time.Hour, ts: at(-8 * time.Hour)},
		{name: "8h: 8 hours 1 second old", tolerance: 8 * time.Hour, ts: at(-8*time.Hour - time.Second), wantErr: ErrStaleTimestamp},
		{name: "8h: 8 hours 1 second ahead", tolerance: 8 * time.Hour, ts: at(8*time.Hour + time.Second), wantErr: ErrStaleTimestamp},
		{name: "8h: old and wrongly signed is a bad signature", tolerance: 8 * time.Hour, ts: at(-24 * time.Hour), key: "other", wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := map[string]any{}
			if tt.tolerance != 0 {
				settings["timestamp_tolerance"] = tt.tolerance
			}
			configured, err := Mailgun.Configure("mail", Credentials{}, settingsOf(settings))
			if err != nil {
				t.Fatal(err)
			}
			key := mailgunPublishedKey
			if tt.key != "" {
				key = tt.key
			}
			req := mailgunRequest(mailgunSigned(key, tt.ts, mailgunPublishedToken, `{"event":"delivered"}`))
			req.Received = received
			_, err = Mailgun.Verify(req, Credentials{Secrets: []string{mailgunPublishedKey}, Settings: configured.Value})
			checkAuthError(t, err, tt.wantErr)
		})
	}
	if _, err := Mailgun.Configure("mail", Credentials{}, settingsOf(map[string]any{"timestamp_tolerance": -time.Minute})); err == nil ||
		!strings.HasPrefix(err.Error(), "timestamp_tolerance: ") {
		t.Errorf("negative tolerance: %v, want an error naming timestamp_tolerance", err)
	}
}

func TestMailgunMap(t *testing.T) {
	publishedID := mailgunPublishedTimestamp + mailgunPublishedToken
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "delivered",
			body: mailgunExample(t, "delivered.json"),
			want: Event{Type: "delivered", ID: publishedID, Subject: "20130503182626.18666.16540@sandbox.mailgun.org",
				Time: time.Date(2014, 6, 24, 21, 27, 0, 329574000, time.UTC)},
		},
		{
			name: "failed",
			body: mailgunExample(t, "permanent_fail.json"),
			want: Event{Type: "failed", ID: publishedID, Subject: "20130503192659.13651.20287@sandbox.mailgun.org",
				Time: time.Date(2014, 6, 24, 21, 27, 0, 500000000, time.UTC)},
		},
		{
			name: "type lower-cased, no message id, no time",
			body: mailgunBody("1", "tok", "00", `{"event":"Opened"}`),
			want: Event{Type: "opened", ID: "1tok"},
		},
		{
			name: "timestamp beyond year 9999: time of receipt",
			body: mailgunBody("1", "tok", "00", `{"event":"clicked","timestamp":1e300}`),
			want: Event{Type: "clicked", ID: "1tok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Mailgun.Map(mailgunRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tt.want.Time) || got.Type != tt.want.Type || got.ID != tt.want.ID || got.Subject != tt.want.Subject || got.IDUnsigned {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestMailgunMapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"no event-data":        `{"signature":{"timestamp":"1","token":"tok","signature":"00"}}`,
		"no event":             `{"signature":{"timestamp":"1","token":"tok","signature":"00"},"event-data":{"id":"x"}}`,
		"event not a string":   `{"signature":{"timestamp":"1","token":"tok","signature":"00"},"event-data":{"event":7}}`,
		"event-data an array":  `{"signature":{"timestamp":"1","token":"tok","signature":"00"},"event-data":["delivered"]}`,
		"legacy form-encoding": `event=delivered&timestamp=1&token=tok&signature=00`,
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := Mailgun.Map(mailgunRequest([]byte(body)))
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want %v", err, ErrUnmappable)
			}
			if strings.HasPrefix(body, "{") && ev.ID != "1tok" {
				t.Errorf("unmapped event id %q, want the signed 1tok", ev.ID)
			}
		})
	}
}

// TestMailgunOneDeliveryOneEvent: the same delivery twice, the same signature block with other
// event-data, or the signed bytes split elsewhere between timestamp and token are one event: the
// same id and the same signed bytes.
func TestMailgunOneDeliveryOneEvent(t *testing.T) {
	creds := Credentials{Secrets: []string{mailgunPublishedKey}}
	genuine := mailgunExample(t, "delivered.json")
	// "1403645220" + "5egb…": moving the token's leading 5 into the timestamp signs the same bytes.
	moved := mailgunBody(mailgunPublishedTimestamp+"5", mailgunPublishedToken[1:], mailgunPublishedSignature, `{"event":"delivered"}`)
	forged := bytes.Replace(genuine, []byte(`"event": "delivered"`), []byte(`"event": "complained"`), 1)
	var first Event
	var firstSigned []byte
	for i, body := range [][]byte{genuine, genuine, forged, moved} {
		v, err := Mailgun.Verify(mailgunRequest(body), creds)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if i == 0 {
			first, firstSigned = ev, v.SignedBody()
			continue
		}
		if ev.ID != first.ID || ev.IDUnsigned || !bytes.Equal(v.SignedBody(), firstSigned) {
			t.Errorf("body %d: id %q, signed %q; want %q and %q", i, ev.ID, v.SignedBody(), first.ID, firstSigned)
		}
	}
}

func TestMailgunDeclaration(t *testing.T) {
	if p, ok := Lookup("mailgun"); !ok || p != Mailgun {
		t.Fatal(`Lookup("mailgun") does not return Mailgun`)
	}
	if Mailgun.TypePrefix != "com.mailgun" {
		t.Errorf("TypePrefix = %q", Mailgun.TypePrefix)
	}
	if Mailgun.Success.Status != http.StatusOK || Mailgun.Rejection.Status != http.StatusUnauthorized || Mailgun.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("answers %d/%d/%d, want 200/401/503", Mailgun.Success.Status, Mailgun.Rejection.Status, Mailgun.Retry.Status)
	}
	if !slices.Equal(Mailgun.SettingKeys, []string{"timestamp_tolerance"}) {
		t.Errorf("SettingKeys = %v", Mailgun.SettingKeys)
	}
	if Mailgun.Handshake != nil {
		t.Error("Mailgun has no handshake")
	}
}

func TestMailgunCheckCredentials(t *testing.T) {
	for _, tt := range []struct {
		name   string
		creds  Credentials
		wantOK bool
	}{
		{"one key", Credentials{Secrets: []string{mailgunPublishedKey}}, true},
		{"two keys", Credentials{Secrets: []string{"a", "b"}}, true},
		{"none", Credentials{}, false},
		{"blank", Credentials{Secrets: []string{" "}}, false},
	} {
		if err := Mailgun.CheckCredentials(tt.creds); (err == nil) != tt.wantOK {
			t.Errorf("%s: CheckCredentials = %v, want ok=%v", tt.name, err, tt.wantOK)
		}
	}
}

// Sign cannot put a signature into a body: it sends a body already signed with the secret, and
// says what to compute for one that is not.
func TestMailgunSign(t *testing.T) {
	body := mailgunExample(t, "delivered.json")
	now := time.Unix(1403645220, 0)
	h, err := Mailgun.Sign(Credentials{Secrets: []string{mailgunPublishedKey}}, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if _, err := Mailgun.Sign(Credentials{Secrets: []string{"other-key"}}, body, now); err == nil ||
		!strings.Contains(err.Error(), "signature.timestamp followed by signature.token") || strings.Contains(err.Error(), "other-key") {
		t.Errorf("Sign with another key: %v, want an error saying what to sign, without the key", err)
	}
	if _, err := Mailgun.Sign(Credentials{Secrets: []string{"k"}}, nil, now); err != nil {
		t.Errorf("Sign of no body (the load tool's credential check): %v", err)
	}
	if _, err := Mailgun.Sign(Credentials{}, body, now); err == nil {
		t.Error("Sign without a key succeeded")
	}
	// The load example is signed with the demo's secret.
	ex := Mailgun.Load.Example("opened", "r", 1, now)
	if _, err := Mailgun.Sign(Mailgun.DemoCredentials("demo-secret"), ex.Body, now); err != nil {
		t.Errorf("load example: %v", err)
	}
}

func FuzzMailgunAuthenticate(f *testing.F) {
	f.Add(mailgunExample(f, "delivered.json"))
	f.Add(mailgunExample(f, "permanent_fail.json"))
	f.Add([]byte(`{"signature":{"timestamp":"1","token":"","signature":""}}`))
	f.Add([]byte(`{"signature":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		creds := Credentials{Secrets: []string{"other", mailgunPublishedKey}}
		proof, err := Mailgun.Authenticate(mailgunRequest(body), creds)
		if err != nil {
			if !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		// Accepted: the signed bytes are digits then a token, and one key signed them.
		fields, _ := scanFields(body, "signature.signature")
		sig, _ := jsonString(fields[0])
		sig = strings.ToLower(strings.TrimSpace(sig))
		if !hmac.Equal([]byte(sig), []byte(hexMAC(sha256.New, mailgunPublishedKey, proof.Signed))) &&
			!hmac.Equal([]byte(sig), []byte(hexMAC(sha256.New, "other", proof.Signed))) {
			t.Fatalf("accepted %q: signature %q is no key's", body, sig)
		}
		if _, err := Mailgun.Map(mailgunRequest(body)); err != nil && !errors.Is(err, ErrUnmappable) {
			t.Fatalf("Map: %v", err)
		}
	})
}
