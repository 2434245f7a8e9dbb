package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Twilio's documentation ("Webhooks security", https://www.twilio.com/docs/usage/webhooks/webhooks-security):
// X-Twilio-Signature is the base64 HMAC-SHA1, keyed with the Auth Token, of the full URL followed
// by the POST parameters sorted by name, each name followed by its value; a JSON body is signed
// through bodySHA256=<hex SHA-256> in the URL's query.

// twilioPublished is Twilio's own published example, taken as data from its SDK tests:
// https://github.com/twilio/twilio-python/blob/main/tests/unit/test_request_validator.py and
// https://github.com/twilio/twilio-php/blob/main/tests/Twilio/Unit/Security/RequestValidatorTest.php
// (auth token 12345, URL https://mycompany.com/myapp.php?foo=1&bar=2, the CallSid… parameters;
// the same example as the documentation page). The form body in testdata/twilio/docs_example.form
// holds those parameters, in another order than sorted.
const (
	twilioPublishedToken = "12345"
	twilioPublishedURI   = "/myapp.php?foo=1&bar=2"
)

// twilioTestURL is the public URL of the test endpoint, and the endpoint's id.
const (
	twilioTestPublicURL = "https://hooks.example.com/prefix"
	twilioTestEndpoint  = "twilio-main"
	twilioTestToken     = "twilio-auth-token"
)

// twilioSignature computes the signature as the documentation describes it, with no help from
// the code under test: the URL, then each parameter name and value in name order.
func twilioSignature(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	s := fullURL
	for _, name := range names {
		for _, v := range form[name] {
			s += name + v
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func twilioExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "twilio", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// twilioSettings configures an endpoint with publicURL, as the bridge does at start.
func twilioSettings(t testing.TB, endpoint, publicURL string) any {
	t.Helper()
	s, err := Twilio.Configure(endpoint, Credentials{}, settingsOf(map[string]any{publicURLKey: publicURL}))
	if err != nil {
		t.Fatal(err)
	}
	return s.Value
}

func mustForm(t testing.TB, body []byte) url.Values {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// The published example, verified as Twilio's SDKs verify it: the signature of the URL without
// its port, and those of the URL with its default port or its own port.
func TestTwilioPublishedExample(t *testing.T) {
	form := twilioExample(t, "docs_example.form")
	jsonBody := twilioExample(t, "docs_example.json")
	tests := []struct {
		name      string
		publicURL string
		uri       string
		body      []byte
		signature string
		wantErr   error
	}{
		{"documented signature", "https://mycompany.com", twilioPublishedURI, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", nil},
		// "hash of uri with port 443" (test_validation_adds_port_on_https)
		{"signed with :443", "https://mycompany.com", twilioPublishedURI, form, "kvajT1Ptam85bY51eRf/AJRuM3w=", nil},
		// "hash of uri with port 80" (test_validation_adds_port_on_http)
		{"signed with :80 over http", "http://mycompany.com", twilioPublishedURI, form, "0ZXoZLH/DfblKGATFgpif+LLRf4=", nil},
		// test_validation_removes_port_on_https: the URL has a port, the signature none
		{"public URL with a port, signed without", "https://mycompany.com:1234", twilioPublishedURI, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", nil},
		// "hash of http uri with port 1234" (test_validation_removes_port_on_http)
		{"signed with its own port", "http://mycompany.com:1234", twilioPublishedURI, form, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", nil},
		// test_compute_signature_duplicate_query_dict: a name given twice, its values sorted
		{"a name given twice", "https://mycompany.com", twilioPublishedURI, []byte("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"), "IK+Dwps556ElfBT0I3Rgjkr1wJU=", nil},
		// testValidateWithArrayAndDuplicates (twilio-php): a value given twice counts once
		{"a value given twice", "https://mycompany.com", twilioPublishedURI, []byte("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"), "IK+Dwps556ElfBT0I3Rgjkr1wJU=", nil},
		// test_validation_of_body_succeeds: a JSON body signed through bodySHA256
		{"JSON body through bodySHA256", "https://mycompany.com", twilioPublishedURI + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", jsonBody, "a9nBmqA0ju/hNViExpshrM61xv4=", nil},
		{"JSON body changed", "https://mycompany.com", twilioPublishedURI + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", append(jsonBody, ' '), "a9nBmqA0ju/hNViExpshrM61xv4=", ErrBadSignature},
		// testValidateBodyWithoutSignature: the form's signature does not cover a JSON body
		{"JSON body without bodySHA256", "https://mycompany.com", twilioPublishedURI, jsonBody, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ErrBadSignature},
		{"another query", "https://mycompany.com", twilioPublishedURI + "&extra=1", form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ErrBadSignature},
		{"another path prefix", "https://mycompany.com/app", twilioPublishedURI, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ErrBadSignature},
		{"a parameter changed", "https://mycompany.com", twilioPublishedURI, []byte(strings.Replace(string(form), "1234", "9999", 1)), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ErrBadSignature},
		{"wrong token", "https://mycompany.com", twilioPublishedURI, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := twilioPublishedToken
			if tt.name == "wrong token" {
				token = "54321"
			}
			h := http.Header{}
			h.Set(TwilioSignatureHeader, tt.signature)
			req := Request{Method: http.MethodPost, URI: tt.uri, Header: h, Body: tt.body}
			creds := Credentials{Secrets: []string{token}, Settings: twilioSettings(t, "twilio", tt.publicURL)}
			_, err := Twilio.Authenticate(req, creds)
			checkAuthError(t, err, tt.wantErr)
		})
	}
	// The independent signer agrees with the published value.
	if got := twilioSignature(twilioPublishedToken, "https://mycompany.com"+twilioPublishedURI, mustForm(t, form)); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("test signer gives %s for the published example", got)
	}
}

func TestTwilioAuthenticate(t *testing.T) {
	body := twilioExample(t, "message_status.form")
	settings := twilioSettings(t, twilioTestEndpoint, twilioTestPublicURL)
	// runAuthCases sends no URI: the endpoint's own route is what was called.
	fullURL := twilioTestPublicURL + "/webhooks/" + twilioTestEndpoint
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set(TwilioSignatureHeader, twilioSignature(twilioTestToken, fullURL, mustForm(t, body)))
	base := Request{Header: h, Body: body}
	creds := Credentials{Secrets: []string{twilioTestToken}, Settings: settings}

	cases := commonAuthCases(proofSpec{
		header:      TwilioSignatureHeader,
		otherSecret: "another-auth-token",
		undecodable: "not base64!",
	})
	cases = append(cases,
		authCase{
			name:   "parameters in another order: the same signature",
			modify: func(r *Request) { r.Body = []byte(mustForm(t, body).Encode()) },
		},
		authCase{
			name:    "a parameter added",
			modify:  func(r *Request) { r.Body = append(r.Body, "&Extra=1"...) },
			wantErr: ErrBadSignature,
		},
		authCase{
			name: "signed for another endpoint's URL",
			modify: func(r *Request) {
				r.Header.Set(TwilioSignatureHeader, twilioSignature(twilioTestToken, twilioTestPublicURL+"/webhooks/other", mustForm(t, body)))
			},
			wantErr: ErrBadSignature,
		},
		authCase{
			name: "signed with the default port",
			modify: func(r *Request) {
				r.Header.Set(TwilioSignatureHeader, twilioSignature(twilioTestToken, "https://hooks.example.com:443/prefix/webhooks/"+twilioTestEndpoint, mustForm(t, body)))
			},
		},
		authCase{
			name:    "body that is no form",
			modify:  func(r *Request) { r.Body = []byte("MessageSid=%zz") },
			wantErr: ErrMalformedProof,
		},
		authCase{
			name:    "endpoint without a public URL",
			creds:   func(c *Credentials) { c.Settings = nil },
			wantErr: ErrBadCredentials,
		},
	)
	runAuthCases(t, Twilio, base, creds, cases)
}

// The URI a request arrives with is what is signed after the public URL, query included; the
// Host header plays no part.
func TestTwilioSignsThePublicURL(t *testing.T) {
	body := twilioExample(t, "incoming_message.form")
	creds := Credentials{Secrets: []string{twilioTestToken}, Settings: twilioSettings(t, twilioTestEndpoint, twilioTestPublicURL+"/")}
	const uri = "/webhooks/twilio-main?tenant=a%20b"
	tests := []struct {
		name    string
		signed  string
		host    string
		wantErr error
	}{
		{"the public URL and the URI", twilioTestPublicURL + uri, "internal:8080", nil},
		{"the Host header's URL", "http://internal:8080" + uri, "internal:8080", ErrBadSignature},
		{"the URI without its query", twilioTestPublicURL + "/webhooks/twilio-main", "", ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Host", tt.host)
			h.Set(TwilioSignatureHeader, twilioSignature(twilioTestToken, tt.signed, mustForm(t, body)))
			_, err := Twilio.Authenticate(Request{Method: http.MethodPost, URI: uri, Header: h, Body: body}, creds)
			checkAuthError(t, err, tt.wantErr)
		})
	}
}

// A delivery sent twice — or with its parameters reordered or re-split between names and values,
// which the signature cannot tell apart — is one event: the same id and the same signed bytes.
func TestTwilioDuplicate(t *testing.T) {
	body := twilioExample(t, "message_status.form")
	creds := Credentials{Secrets: []string{twilioTestToken}, Settings: twilioSettings(t, twilioTestEndpoint, twilioTestPublicURL)}
	const uri = "/webhooks/" + twilioTestEndpoint
	sig := twilioSignature(twilioTestToken, twilioTestPublicURL+uri, mustForm(t, body))
	verify := func(b []byte) (Verified, Event) {
		t.Helper()
		h := http.Header{}
		h.Set(TwilioSignatureHeader, sig)
		v, err := Twilio.Verify(Request{Method: http.MethodPost, URI: uri, Header: h, Body: b}, creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, _ := v.Map()
		return v, ev
	}
	first, ev1 := verify(body)
	second, ev2 := verify(body)
	if ev1.ID != ev2.ID || string(first.SignedBody()) != string(second.SignedBody()) {
		t.Errorf("the same delivery twice: ids %q, %q", ev1.ID, ev2.ID)
	}
	if !ev1.IDUnsigned {
		t.Error("IDUnsigned not set: retries must be recognised by the signed string")
	}
	reordered, _ := verify([]byte(mustForm(t, body).Encode()))
	if string(reordered.SignedBody()) != string(first.SignedBody()) {
		t.Error("reordered parameters change the signed bytes")
	}
	// "To" + "+15558675310" re-split as "To+" + "15558675310": the same signed string.
	resplit, _ := verify([]byte(strings.Replace(string(body), "To=%2B1555", "To%2B=1555", 1)))
	if string(resplit.SignedBody()) != string(first.SignedBody()) {
		t.Error("a re-split parameter changes the signed bytes")
	}
}

func TestTwilioMap(t *testing.T) {
	tests := []struct {
		name, file, uri         string
		body                    string
		wantType, wantID, wantS string
	}{
		{name: "message status callback", file: "message_status.form",
			wantType: "message.delivered", wantID: "SM1f0e8ae6ade43cb3c0ce4525424e404f.delivered", wantS: "SM1f0e8ae6ade43cb3c0ce4525424e404f"},
		{name: "incoming message", file: "incoming_message.form",
			wantType: "message.received", wantID: "SM2c3b5d7a0e6f4a1b8c9d0e1f2a3b4c5d.received", wantS: "SM2c3b5d7a0e6f4a1b8c9d0e1f2a3b4c5d"},
		{name: "call status callback", file: "call_completed.form",
			wantType: "call.completed", wantID: "CA5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d.completed", wantS: "CA5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d"},
		{name: "incoming call", body: "CallSid=CA1&CallStatus=ringing&From=%2B1&To=%2B2",
			wantType: "call.ringing", wantID: "CA1.ringing", wantS: "CA1"},
		{name: "EventType names the event", body: "EventType=onMessageAdded&ConversationSid=CH1&MessageSid=IM1&Body=hi",
			wantType: "onmessageadded", wantS: "CH1"},
		{name: "TaskRouter event", body: "EventType=task.created&Sid=EV1&TaskSid=WT1",
			wantType: "task.created", wantID: "EV1", wantS: "WT1"},
		{name: "JSON through bodySHA256", uri: "/webhooks/twilio?bodySHA256=00", body: `{"type":"com.twilio.messaging.message.delivered","id":"EZ1"}`,
			wantType: "messaging.message.delivered", wantID: "EZ1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				body = twilioExample(t, tt.file)
			}
			ev, err := Twilio.Map(Request{URI: tt.uri, Header: http.Header{}, Body: body})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tt.wantType || ev.ID != tt.wantID || ev.Subject != tt.wantS {
				t.Errorf("type %q id %q subject %q, want %q %q %q", ev.Type, ev.ID, ev.Subject, tt.wantType, tt.wantID, tt.wantS)
			}
		})
	}
}

func TestTwilioMapUnmappable(t *testing.T) {
	tests := []struct{ name, uri, body string }{
		{"published example: no status", "", string(twilioExample(t, "docs_example.form"))},
		{"empty body", "", ""},
		{"no form", "", "a=%zz"},
		{"MessageSid without a status", "", "MessageSid=SM1"},
		{"JSON without type", "/x?bodySHA256=00", `{"id":"EZ1"}`},
		{"JSON that is no object", "/x?bodySHA256=00", `[1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Twilio.Map(Request{URI: tt.uri, Header: http.Header{}, Body: []byte(tt.body)}); !errors.Is(err, ErrUnmappable) {
				t.Errorf("error %v, want %v", err, ErrUnmappable)
			}
		})
	}
}

func TestTwilioConfigure(t *testing.T) {
	tests := []struct {
		name    string
		keys    map[string]any
		wantErr bool
	}{
		{"https", map[string]any{publicURLKey: "https://hooks.example.com"}, false},
		{"with a path prefix and a slash", map[string]any{publicURLKey: "https://example.com/bridge/"}, false},
		{"with a port", map[string]any{publicURLKey: "http://example.com:8080"}, false},
		{"missing", map[string]any{}, true},
		{"empty", map[string]any{publicURLKey: " "}, true},
		{"relative", map[string]any{publicURLKey: "/webhooks"}, true},
		{"no scheme", map[string]any{publicURLKey: "hooks.example.com"}, true},
		{"ftp", map[string]any{publicURLKey: "ftp://example.com"}, true},
		{"with a query", map[string]any{publicURLKey: "https://example.com/?a=1"}, true},
		{"with credentials", map[string]any{publicURLKey: "https://user:pass@example.com"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Twilio.Configure("twilio", Credentials{}, settingsOf(tt.keys))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			var se *SettingError
			if err != nil && (!errors.As(err, &se) || se.Key != publicURLKey) {
				t.Errorf("error %v does not name %s", err, publicURLKey)
			}
		})
	}
}

// Sign signs as Twilio does, for the endpoint's route; the test signer agrees.
func TestTwilioSign(t *testing.T) {
	body := twilioExample(t, "call_completed.form")
	creds := Credentials{Secrets: []string{twilioTestToken, "other"}, Settings: twilioSettings(t, twilioTestEndpoint, twilioTestPublicURL)}
	h, err := Twilio.Sign(creds, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := twilioSignature(twilioTestToken, twilioTestPublicURL+"/webhooks/"+twilioTestEndpoint, mustForm(t, body))
	if got := h.Get(TwilioSignatureHeader); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	// Without settings: the demo endpoint.
	h, err = Twilio.Sign(Credentials{Secrets: []string{"demo-secret"}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get(TwilioSignatureHeader), twilioSignature("demo-secret", "http://127.0.0.1:8080/webhooks/twilio", mustForm(t, body)); got != want {
		t.Errorf("demo signature %q, want %q", got, want)
	}
	if _, err := Twilio.Sign(Credentials{}, body, time.Now()); err == nil {
		t.Error("Sign without a secret succeeded")
	}
}

func TestTwilioDeclaration(t *testing.T) {
	if Twilio.Success.Status != http.StatusOK || Twilio.Success.ContentType != "text/xml" || !strings.Contains(string(Twilio.Success.Body), "<Response/>") {
		t.Errorf("Success = %d %s %s, want 200 text/xml empty TwiML", Twilio.Success.Status, Twilio.Success.ContentType, Twilio.Success.Body)
	}
	if Twilio.Rejection.Status != http.StatusUnauthorized || Twilio.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("Rejection %d, Retry %d", Twilio.Rejection.Status, Twilio.Retry.Status)
	}
}

// twilioBodyHash is the hex SHA-256 Twilio puts in bodySHA256.
func twilioBodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func FuzzTwilioAuthenticate(f *testing.F) {
	f.Add(twilioExample(f, "message_status.form"), "/webhooks/twilio", "")
	f.Add(twilioExample(f, "docs_example.json"), "/webhooks/twilio?bodySHA256="+twilioBodyHash(twilioExample(f, "docs_example.json")), "")
	f.Add([]byte("a=%zz"), "/?bodySHA256=zz&bodySHA256=00", "!!")
	f.Fuzz(func(t *testing.T, body []byte, uri, sig string) {
		creds := Credentials{Secrets: []string{twilioTestToken}, Settings: twilioSettings(t, "twilio", twilioTestPublicURL)}
		h := http.Header{}
		h.Set(TwilioSignatureHeader, sig)
		req := Request{Method: http.MethodPost, URI: uri, Header: h, Body: body}
		if _, err := Twilio.Authenticate(req, creds); err == nil {
			t.Fatalf("accepted a fuzzed signature %q", sig)
		} else if !knownAuthError(err) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if _, err := Twilio.Map(req); err != nil && !errors.Is(err, ErrUnmappable) {
			t.Fatalf("Map error %v does not wrap ErrUnmappable", err)
		}
	})
}

// The "Try it" request of docs/providers/twilio.md verifies on the demo endpoint.
func TestTwilioDocsTryIt(t *testing.T) {
	h := http.Header{}
	h.Set(TwilioSignatureHeader, "Ue7XQ/5N9PHGfAEbOmtrR8eW9FA=")
	body := []byte("MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&MessageStatus=delivered&SmsStatus=delivered&To=%2B15558675310&From=%2B15017122661&AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	v, err := Twilio.Verify(Request{Method: http.MethodPost, URI: "/webhooks/twilio", Header: h, Body: body}, Twilio.DemoCredentials("demo-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := v.Map(); err != nil || ev.Type != "message.delivered" {
		t.Errorf("maps to %q, %v", ev.Type, err)
	}
}
