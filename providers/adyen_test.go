package providers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Adyen's documentation ("Verify HMAC signatures",
// https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures):
// each NotificationRequestItem's additionalData.hmacSignature is the base64 HMAC-SHA256, keyed
// with the hex-decoded HMAC key, of pspReference, originalReference, merchantAccountCode,
// merchantReference, amount.value, amount.currency, eventCode and success joined by ":" (a
// missing value is empty).
//
// The published examples, taken as data (key, item and expected signature), from Adyen's own API
// libraries' tests; testdata/adyen/ holds each item in a notification batch:
//   - authorisation.json, key 44782DEF…A056: https://github.com/Adyen/adyen-ruby-api-library,
//     spec/utils/hmac_validator_spec.rb (the same key, item and signature as Adyen's
//     documentation's worked example and the PHP library's tests);
//   - capture.json, key DFB1EB54…AB00: https://github.com/Adyen/adyen-node-api-library,
//     src/__tests__/hmacValidator.spec.ts;
//   - report_available.json, key 9064450A…15D6 (amount.value sent as the string "0"):
//     https://github.com/Adyen/adyen-java-api-library,
//     src/test/java/com/adyen/util/HMACValidatorTest.java (testValidateHMAC);
//   - colon.json and mixed.json, key 74F490DD…9174 (a merchantReference holding ":", "\" and
//     "/"): https://github.com/Adyen/adyen-ruby-api-library,
//     spec/mocks/responses/Webhooks/colon_webhook.json and mixed_webhook.json, tested in
//     spec/utils/hmac_validator_spec.rb. They verify only without escaping: webhook signatures
//     join the values as they are (the "\:" escaping of Adyen's older payment-page signatures
//     does not apply).
const (
	adyenKeyAuthorisation = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
	adyenKeyCapture       = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	adyenKeyReport        = "9064450A8892A093D9E97EFCC9639DE31B74F3A7803135555A3C96F5A57915D6"
	adyenKeyEscapes       = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
)

// adyenSignature computes an item's signature as Adyen's documentation does, with no help from
// the code under test: values joined by ":", HMAC-SHA256 with the hex-decoded key, base64.
func adyenSignature(keyHex string, values ...string) string {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(values, ":")))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// adyenTestItem is one NotificationRequestItem, signed with keyHex ("" leaves it unsigned).
func adyenTestItem(keyHex, psp, ref, value, code string) string {
	sig := ""
	if keyHex != "" {
		sig = `"additionalData":{"hmacSignature":"` + adyenSignature(keyHex, psp, "", "TestMerchant", ref, value, "EUR", code, "true") + `"},`
	}
	return `{"NotificationRequestItem":{` + sig + `"amount":{"value":` + value + `,"currency":"EUR"},"pspReference":"` + psp +
		`","eventCode":"` + code + `","eventDate":"2019-05-06T17:15:34+02:00","merchantAccountCode":"TestMerchant","merchantReference":"` + ref + `","success":"true"}}`
}

// adyenBatch is a notification with items.
func adyenBatch(items ...string) []byte {
	return []byte(`{"live":"false","notificationItems":[` + strings.Join(items, ",") + `]}`)
}

func adyenExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "adyen", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func adyenRequest(body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Request{Header: h, Body: body}
}

func TestAdyenPublishedExamples(t *testing.T) {
	tests := []struct {
		file, key string
		values    []string // the signed values, as the library's test lists them
		signature string
	}{
		{"authorisation.json", adyenKeyAuthorisation, []string{"7914073381342284", "", "TestMerchant", "TestPayment-1407325143704", "1130", "EUR", "AUTHORISATION", "true"}, "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="},
		{"capture.json", adyenKeyCapture, []string{"pspReference", "originalReference", "merchantAccount", "reference", "1000", "EUR", "CAPTURE", "true"}, "xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0="},
		{"report_available.json", adyenKeyReport, []string{"test_REPORT_AVAILABLE", "", "Magento2Rik", "testMerchantRef1", "0", "EUR", "REPORT_AVAILABLE", "true"}, "NuEkADFmlCC6VgX+wcoPAegIWxVPNBPCuKlM4Hzo5qc="},
		{"colon.json", adyenKeyEscapes, []string{"M8NB66SBZSGLNK82", "", "AntoniStroinski", ":slashes are fun", "1000", "EUR", "AUTHORISATION", "true"}, "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA="},
		{"mixed.json", adyenKeyEscapes, []string{"ZVWN7D3WSMK2WN82", "", "AntoniStroinski", `\:/\/slashes are fun`, "1000", "EUR", "AUTHORISATION", "true"}, "CZErGCNQaSsxbaQfZaJlakqo7KPP+mIa8a+wx3yNs9A="},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := adyenSignature(tt.key, tt.values...); got != tt.signature {
				t.Fatalf("the documented recipe gives %s, the library publishes %s", got, tt.signature)
			}
			creds := Credentials{Secrets: []string{tt.key}}
			if err := Adyen.CheckCredentials(creds); err != nil {
				t.Fatal(err)
			}
			proof, err := Adyen.Authenticate(adyenRequest(adyenExample(t, tt.file)), creds)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(proof.Signed, []byte(strings.Join(tt.values, ":"))) {
				t.Errorf("Proof.Signed = %q lacks the signed values", proof.Signed)
			}
			// Lower-case hex is the same key.
			if _, err := Adyen.Authenticate(adyenRequest(adyenExample(t, tt.file)), Credentials{Secrets: []string{strings.ToLower(tt.key)}}); err != nil {
				t.Errorf("lower-case key: %v", err)
			}
		})
	}
}

func TestAdyenAuthenticate(t *testing.T) {
	body := adyenExample(t, "authorisation.json")
	const key = adyenKeyAuthorisation
	const otherKey = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
	replace := func(old, new string) func(r *Request) {
		return func(r *Request) {
			if !bytes.Contains(r.Body, []byte(old)) {
				t.Fatalf("body lacks %q", old)
			}
			r.Body = bytes.Replace(r.Body, []byte(old), []byte(new), 1)
		}
	}
	withBody := func(b []byte) func(r *Request) { return func(r *Request) { r.Body = b } }
	const sig = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0="
	colon := adyenExample(t, "colon.json")

	cases := bodyProofCases(otherKey, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"value": 1130`), []byte(`"value": 1131`), 1)
	})
	cases = append(cases, []authCase{
		// What the signature does not cover may change: the documentation lists the eight values.
		{name: "eventDate changed: not signed", modify: replace(`"2019-05-06T17:15:34.121+02:00"`, `"2020-01-01T00:00:00Z"`)},
		{name: "paymentMethod changed: not signed", modify: replace(`"paymentMethod": "visa"`, `"paymentMethod": "mc"`)},
		{name: "live changed: not signed", modify: replace(`"live": "false"`, `"live": "true"`)},
		{name: "amount value as a string: the same text", modify: replace(`"value": 1130`, `"value": "1130"`)},
		{name: "success as a boolean: the same text", modify: replace(`"success": "true"`, `"success": true`)},
		{name: "eventCode changed", modify: replace(`"AUTHORISATION"`, `"CAPTURE"`), wantErr: ErrBadSignature},
		{name: "currency changed", modify: replace(`"EUR"`, `"USD"`), wantErr: ErrBadSignature},
		{name: "success changed", modify: replace(`"success": "true"`, `"success": "false"`), wantErr: ErrBadSignature},
		{name: "merchantReference changed", modify: replace(`TestPayment-1407325143704`, `TestPayment-1407325143705`), wantErr: ErrBadSignature},
		{name: "originalReference added", modify: replace(`"pspReference"`, `"originalReference": "X", "pspReference"`), wantErr: ErrBadSignature},
		{name: "key used as written, not hex-decoded", modify: withBody(adyenBatch(`{"NotificationRequestItem":{"additionalData":{"hmacSignature":"` + adyenSignatureRawKey(key, "P", "", "TestMerchant", "R", "1", "EUR", "AUTHORISATION", "true") + `"},"amount":{"value":1,"currency":"EUR"},"pspReference":"P","eventCode":"AUTHORISATION","merchantAccountCode":"TestMerchant","merchantReference":"R","success":"true"}}`)), wantErr: ErrBadSignature},
		{name: "signature truncated", modify: replace(sig, sig[:40]), wantErr: ErrBadSignature},
		{name: "signature unpadded base64 accepted", modify: replace(sig, strings.TrimRight(sig, "="))},
		{name: "signature not base64", modify: replace(sig, "not base64!"), wantErr: ErrMalformedProof},
		{name: "signature not a string", modify: replace(`"`+sig+`"`, `["`+sig+`"]`), wantErr: ErrMalformedProof},
		{name: "signature empty", modify: replace(sig, ""), wantErr: ErrMissingProof},
		{name: "signature absent", modify: replace(`"hmacSignature"`, `"hmacSignatureX"`), wantErr: ErrMissingProof},
		{name: "body not JSON", modify: withBody([]byte(`[accepted]`)), wantErr: ErrMissingProof},
		{name: "body empty", modify: withBody(nil), wantErr: ErrMissingProof},
		{name: "no notificationItems", modify: withBody([]byte(`{"live":"false"}`)), wantErr: ErrMissingProof},
		{name: "notificationItems empty", modify: withBody([]byte(`{"live":"false","notificationItems":[]}`)), wantErr: ErrMissingProof},
		{name: "notificationItems not an array", modify: withBody([]byte(`{"notificationItems":{"NotificationRequestItem":{}}}`)), wantErr: ErrMalformedProof},
		{name: "item without NotificationRequestItem", modify: withBody(adyenBatch(adyenTestItem(key, "P1", "R", "1", "CAPTURE"), `{"Item":{}}`)), wantErr: ErrMalformedProof},
		{name: "a signed value that is an object", modify: replace(`"merchantReference": "TestPayment-1407325143704"`, `"merchantReference": {}`), wantErr: ErrMalformedProof},
		{name: "batch of two, both signed", modify: withBody(adyenBatch(adyenTestItem(key, "P1", "R1", "1", "CAPTURE"), adyenTestItem(key, "P2", "R2", "2", "REFUND")))},
		{name: "batch of two, the second unsigned", modify: withBody(adyenBatch(adyenTestItem(key, "P1", "R1", "1", "CAPTURE"), adyenTestItem("", "P2", "R2", "2", "REFUND"))), wantErr: ErrMalformedProof},
		{name: "batch of two, the second by another key", modify: withBody(adyenBatch(adyenTestItem(key, "P1", "R1", "1", "CAPTURE"), adyenTestItem(otherKey, "P2", "R2", "2", "REFUND"))), wantErr: ErrBadSignature},
		{name: "batch of two, each by a key of the rotation", modify: withBody(adyenBatch(adyenTestItem(key, "P1", "R1", "1", "CAPTURE"), adyenTestItem(otherKey, "P2", "R2", "2", "REFUND"))), creds: secrets(key, otherKey)},
		// Values Adyen writes without ":" — signed right, refused, so that no ":" can move the
		// id, the type or the amount (docs/providers/adyen.md).
		{name: "pspReference with a colon, signed", modify: withBody(adyenBatch(adyenTestItem(key, "P:1", "R", "1", "CAPTURE"))), wantErr: ErrMalformedProof},
		{name: "eventCode with a colon, signed", modify: withBody(adyenBatch(adyenTestItem(key, "P", "R", "1", "CAPTURE:X"))), wantErr: ErrMalformedProof},
		{name: "merchantReference with a colon (published example)", modify: withBody(colon), creds: secrets(adyenKeyEscapes)},
		{
			// The signed text is the same whichever side of a ":" a character sits: between the
			// two merchant values a colon can move, and still verifies.
			name:   "colon moved between merchantAccountCode and merchantReference: the same signed text",
			modify: withBody(bytes.Replace(bytes.Replace(colon, []byte(`"AntoniStroinski"`), []byte(`"AntoniStroinski:"`), 1), []byte(`":slashes are fun"`), []byte(`"slashes are fun"`), 1)),
			creds:  secrets(adyenKeyEscapes),
		},
		{
			name:    "merchantReference escaped before signing (the payment-page rule): not Adyen's webhook signature",
			modify:  replace(`"hmacSignature": "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA="`, `"hmacSignature": "`+adyenSignature(adyenKeyEscapes, "M8NB66SBZSGLNK82", "", "AntoniStroinski", `\:slashes are fun`, "1000", "EUR", "AUTHORISATION", "true")+`"`),
			creds:   secrets(adyenKeyEscapes),
			wantErr: ErrBadSignature,
		},
		{name: "a configured key that is not hex matches nothing", creds: secrets("not hex"), wantErr: ErrBadSignature},
	}...)
	// The escaped-signature case starts from the colon example.
	for i := range cases {
		if strings.HasPrefix(cases[i].name, "merchantReference escaped") {
			modify := cases[i].modify
			cases[i].modify = func(r *Request) { r.Body = bytes.Clone(colon); modify(r) }
		}
	}
	runAuthCases(t, Adyen, adyenRequest(body), Credentials{Secrets: []string{key}}, cases)
}

// adyenSignatureRawKey signs with the key's text itself: the slip of not hex-decoding it.
func adyenSignatureRawKey(key string, values ...string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(strings.Join(values, ":")))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestAdyenMap(t *testing.T) {
	k := adyenKeyAuthorisation
	batchID := func(ids ...string) string {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(strconv.Itoa(len(id)) + ":" + id)
		}
		sum := sha256.Sum256([]byte(b.String()))
		return "batch-" + hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{"authorisation (published example)", adyenExample(t, "authorisation.json"), Event{Type: "authorisation", ID: "7914073381342284:AUTHORISATION",
			Subject: "TestPayment-1407325143704", Time: time.Date(2019, 5, 6, 15, 15, 34, 121000000, time.UTC)}},
		{"capture (published example)", adyenExample(t, "capture.json"), Event{Type: "capture", ID: "pspReference:CAPTURE", Subject: "reference", Time: time.Unix(0, 0).UTC()}},
		{"report_available (published example)", adyenExample(t, "report_available.json"), Event{Type: "report_available", ID: "test_REPORT_AVAILABLE:REPORT_AVAILABLE",
			Subject: "testMerchantRef1", Time: time.Date(2019, 11, 20, 13, 35, 36, 0, time.UTC)}},
		{"batch of one type", adyenBatch(adyenTestItem(k, "P1", "R", "1", "CAPTURE"), adyenTestItem(k, "P2", "R", "2", "CAPTURE")),
			Event{Type: "capture", ID: batchID("P1:CAPTURE", "P2:CAPTURE"), Subject: "R", Time: time.Date(2019, 5, 6, 15, 15, 34, 0, time.UTC)}},
		{"batch of two types", adyenBatch(adyenTestItem(k, "P1", "R1", "1", "CAPTURE"), adyenTestItem(k, "P2", "R2", "2", "REFUND")),
			Event{Type: "batch", ID: batchID("P1:CAPTURE", "P2:REFUND"), Time: time.Date(2019, 5, 6, 15, 15, 34, 0, time.UTC)}},
		{"no eventDate: time of receipt", adyenBatch(`{"NotificationRequestItem":{"pspReference":"P","eventCode":"REFUND"}}`), Event{Type: "refund", ID: "P:REFUND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Adyen.Map(adyenRequest(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.ID != tt.want.ID || got.Subject != tt.want.Subject || !got.Time.Equal(tt.want.Time) || got.IDUnsigned {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
	for name, body := range map[string]string{
		"no eventCode":   `{"notificationItems":[{"NotificationRequestItem":{"pspReference":"P"}}]}`,
		"not JSON":       `eventCode=AUTHORISATION`,
		"no items":       `{"live":"false"}`,
		"items not list": `{"notificationItems":"x"}`,
	} {
		if _, err := Adyen.Map(adyenRequest([]byte(body))); !errors.Is(err, ErrUnmappable) {
			t.Errorf("%s: %v, want ErrUnmappable", name, err)
		}
	}
}

// TestAdyenOneDeliveryOneEvent: the same notification twice, with unsigned fields changed, or
// with a colon moved between the merchant's two values is one event: the same id and the same
// signed bytes.
func TestAdyenOneDeliveryOneEvent(t *testing.T) {
	colon := adyenExample(t, "colon.json")
	variants := [][]byte{
		colon,
		colon,
		bytes.Replace(colon, []byte(`"reason": "039404:1111:03/2030"`), []byte(`"reason": "forged"`), 1),
		bytes.Replace(bytes.Replace(colon, []byte(`"AntoniStroinski"`), []byte(`"AntoniStroinski:"`), 1), []byte(`":slashes are fun"`), []byte(`"slashes are fun"`), 1),
	}
	creds := Credentials{Secrets: []string{adyenKeyEscapes}}
	var first Event
	var firstSigned []byte
	for i, body := range variants {
		v, err := Adyen.Verify(adyenRequest(body), creds)
		if err != nil {
			t.Fatalf("variant %d: %v", i, err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatalf("variant %d: %v", i, err)
		}
		if i == 0 {
			first, firstSigned = ev, v.SignedBody()
			if ev.ID != "M8NB66SBZSGLNK82:AUTHORISATION" {
				t.Fatalf("id %q", ev.ID)
			}
			continue
		}
		if ev.ID != first.ID || ev.Type != first.Type || !bytes.Equal(v.SignedBody(), firstSigned) {
			t.Errorf("variant %d: %+v signed %q; want id %q type %q signed %q", i, ev, v.SignedBody(), first.ID, first.Type, firstSigned)
		}
	}
}

func TestAdyenDeclaration(t *testing.T) {
	if p, ok := Lookup("adyen"); !ok || p != Adyen {
		t.Fatal(`Lookup("adyen") does not return Adyen`)
	}
	if Adyen.TypePrefix != "com.adyen" {
		t.Errorf("TypePrefix = %q", Adyen.TypePrefix)
	}
	// "[accepted]" is what Adyen reads as delivered.
	if s := Adyen.Success; s.Status != http.StatusOK || string(s.Body) != "[accepted]" || s.ContentType != "text/plain" {
		t.Errorf("Success = %d %q %q", s.Status, s.ContentType, s.Body)
	}
	if Adyen.Rejection.Status != http.StatusUnauthorized || Adyen.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("Rejection %d, Retry %d", Adyen.Rejection.Status, Adyen.Retry.Status)
	}
	if Adyen.Handshake != nil || len(Adyen.SettingKeys) != 0 {
		t.Error("Adyen has no handshake and no keys of its own")
	}
}

func TestAdyenCheckCredentials(t *testing.T) {
	tests := []struct {
		name      string
		creds     Credentials
		wantField string // "": usable
	}{
		{"published key", Credentials{Secrets: []string{adyenKeyAuthorisation}}, ""},
		{"lower case", Credentials{Secrets: []string{strings.ToLower(adyenKeyAuthorisation)}}, ""},
		{"two keys", Credentials{Secrets: []string{adyenKeyCapture, adyenKeyReport}}, ""},
		{"the second not hex", Credentials{Secrets: []string{adyenKeyCapture, "demo-secret"}}, "secrets[1]"},
		{"odd length", Credentials{Secrets: []string{"ABC"}}, "secrets[0]"},
		{"none", Credentials{}, "secrets"},
		{"blank", Credentials{Secrets: []string{" "}}, "secrets[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Adyen.CheckCredentials(tt.creds)
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("CheckCredentials = %v, want ok", err)
			case tt.wantField != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantField)):
				t.Errorf("CheckCredentials = %v, want an error naming %s", err, tt.wantField)
			case err != nil && strings.Contains(err.Error(), "demo-secret"):
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
	if err := Adyen.CheckCredentials(Adyen.DemoCredentials("demo-secret")); err != nil {
		t.Errorf("demo credentials: %v", err)
	}
}

func TestAdyenSign(t *testing.T) {
	body := adyenExample(t, "authorisation.json")
	now := time.Unix(1557155734, 0)
	h, err := Adyen.Sign(Credentials{Secrets: []string{adyenKeyAuthorisation}}, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if _, err := Adyen.Sign(Credentials{Secrets: []string{adyenKeyCapture}}, body, now); err == nil || !strings.Contains(err.Error(), "hex-decoded key") ||
		strings.Contains(err.Error(), adyenKeyCapture) {
		t.Errorf("Sign with another key: %v, want an error saying what to sign, without the key", err)
	}
	if _, err := Adyen.Sign(Credentials{Secrets: []string{adyenKeyCapture}}, nil, now); err != nil {
		t.Errorf("Sign of no body: %v", err)
	}
	ex := Adyen.Load.Example("capture", "r:1", 3, now)
	if _, err := Adyen.Sign(Adyen.DemoCredentials("demo-secret"), ex.Body, now); err != nil {
		t.Errorf("load example: %v", err)
	}
	if ex.ID != "LOADr_1N3:CAPTURE" {
		t.Errorf("load example id %q", ex.ID)
	}
}

func FuzzAdyenAuthenticate(f *testing.F) {
	for _, name := range []string{"authorisation.json", "colon.json", "mixed.json"} {
		f.Add(adyenExample(f, name))
	}
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":""}}}]}`))
	f.Add([]byte(`{"notificationItems":[null,1,"x"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		creds := Credentials{Secrets: []string{adyenKeyAuthorisation, adyenKeyEscapes}}
		_, err := Adyen.Authenticate(adyenRequest(body), creds)
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		ev, mapErr := Adyen.Map(adyenRequest(body))
		if mapErr != nil && !errors.Is(mapErr, ErrUnmappable) {
			t.Fatalf("Map: %v", mapErr)
		}
		if err == nil && mapErr == nil && (ev.ID == "" || ev.Type == "") {
			t.Fatalf("authentic body mapped to %+v", ev)
		}
	})
}
