package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// CentrePoint's documentation ("Securing your webhooks", docs/providers/centrepoint.md; "Validating a Webhook"):
// HMAC: X-ActiGraph-Signature = Convert.ToBase64String(HMACSHA256(UTF-8 secret).ComputeHash(UTF-8
// body)); Basic: "Authorization: Basic base64(username:password)"; OAuth2: "Authorization: Bearer
// <token>"; validation: X-ActiGraph-Event: validation, answered 200 with X-ActiGraph-Hook-Secret
// echoed.

const (
	// The documented vector: this secret over {"Test":"Value"} gives this signature.
	centrePointDocSecret    = "B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
	centrePointDocSignature = "Ri20SCicySZmIf2D4kCY5KWEJrsqI7W8sWXMADj1RaQ="

	centrePointTestSecret   = "centrepoint-test-secret"
	centrePointTestUser     = "research-site"
	centrePointTestPassword = "pass:word with colon"
	centrePointTestToken    = "centrepoint-test-token"
	centrePointTestDelivery = "bc0e8916-ca49-41d8-9c97-eb6b286dcc78"
)

// centrePointMAC is HMAC-SHA256(secret, body), as HMACSHA256Base64 in the documentation computes it.
func centrePointMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// centrePointSignature is the documented X-ActiGraph-Signature: standard padded base64.
func centrePointSignature(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(centrePointMAC(secret, body))
}

// centrePointBasic is an Authorization header for HTTP Basic (RFC 7617).
func centrePointBasic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// centrePointDraft2015 is the December-2015 draft's signature: "sha1=" and upper-case hex of
// HMAC-SHA512 over UTF-16LE bytes. Nothing has used it since; it must not pass.
func centrePointDraft2015(secret string, body []byte) string {
	utf16le := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	m := hmac.New(sha512.New, utf16le(secret))
	m.Write(utf16le(string(body)))
	return "sha1=" + strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func TestCentrePointDeclaration(t *testing.T) {
	// 200 on success; "return new HttpResponseMessage(HttpStatusCode.Unauthorized)" on a missing
	// or wrong signature.
	checkDeclaration(t, CentrePoint, "centrepoint", "com.actigraph.centrepoint", http.StatusOK, http.StatusUnauthorized)
}

func TestCentrePointDocumentedVector(t *testing.T) {
	body := providerPayload(t, "centrepoint", "test_ping.json")
	if string(body) != `{"Test":"Value"}` {
		t.Fatalf("test_ping.json = %q, want exactly {\"Test\":\"Value\"}", body)
	}
	if got := centrePointSignature(centrePointDocSecret, body); got != centrePointDocSignature {
		t.Fatalf("the test's own recipe gives %s, the documentation %s", got, centrePointDocSignature)
	}
	req := Request{Header: http.Header{}, Body: body}
	req.Header.Set("X-ActiGraph-Signature", centrePointDocSignature)
	req.Header.Set("X-ActiGraph-Event", "upload")
	v, err := CentrePoint.Verify(req, Credentials{Secrets: []string{centrePointDocSecret}})
	if err != nil {
		t.Fatalf("Verify(documented vector): %v", err)
	}
	ev, err := v.Map()
	if err != nil || ev.Type != "upload" {
		t.Fatalf("Map(test ping) = %+v, %v; want type upload", ev, err)
	}
}

func TestCentrePointAuthenticate(t *testing.T) {
	body := providerPayload(t, "centrepoint", "upload_completed.json")
	sig := centrePointSignature(centrePointTestSecret, body)
	macHex := hex.EncodeToString(centrePointMAC(centrePointTestSecret, body))
	basic := centrePointBasic(centrePointTestUser, centrePointTestPassword)
	bearer := "Bearer " + centrePointTestToken

	hmacOnly := Credentials{Secrets: []string{centrePointTestSecret}}
	basicOnly := Credentials{BasicAuth: &BasicAuth{Username: centrePointTestUser, Password: centrePointTestPassword}}
	bearerOnly := Credentials{BearerTokens: []string{centrePointTestToken}}
	all := Credentials{Secrets: hmacOnly.Secrets, BasicAuth: basicOnly.BasicAuth, BearerTokens: bearerOnly.BearerTokens}

	// The common cases start from an endpoint with the HMAC scheme only.
	valid := Request{Header: http.Header{}, Body: body}
	valid.Header.Set("X-ActiGraph-Event", "upload")
	valid.Header.Set("X-ActiGraph-Signature", sig)
	cases := commonAuthCases(proofSpec{
		header:      CentrePointSignatureHeader,
		otherSecret: "another-secret",
		undecodable: "not*a*signature",
		tamper:      func(b []byte) []byte { return []byte(strings.Replace(string(b), "44732", "44733", 1)) },
	})
	// Without its secret the endpoint has no scheme left at all: nothing was presented that it
	// could check (as "no scheme configured" below).
	cases = withAuthAnswer(t, cases, "no secret configured", ErrMissingProof)
	cases = append(cases, []authCase{
		// HMAC.
		{name: "hmac: sha256= prefix", modify: centrePointWith([]string{"sha256=" + sig}, nil)},
		{name: "hmac: lower-case hex", modify: centrePointWith([]string{macHex}, nil)},
		{name: "hmac: upper-case hex", modify: centrePointWith([]string{strings.ToUpper(macHex)}, nil)},
		{name: "hmac: sha256= and hex", modify: centrePointWith([]string{"sha256=" + macHex}, nil)},
		{name: "hmac: base64 without padding", modify: centrePointWith([]string{strings.TrimRight(sig, "=")}, nil)},
		{name: "hmac: the 2015 draft's sha1=/HMAC-SHA512/UTF-16LE", modify: centrePointWith([]string{centrePointDraft2015(centrePointTestSecret, body)}, nil), wantErr: ErrBadSignature},
		{name: "hmac: prefix that is no algorithm name", modify: centrePointWith([]string{"SHA-256=" + sig}, nil), wantErr: ErrMalformedProof},
		{name: "hmac: Authorization is not looked at", modify: centrePointWith(nil, []string{bearer}), wantErr: ErrMissingProof},

		// Basic.
		{name: "basic: valid, password with a colon", modify: centrePointWith(nil, []string{basic}), creds: useCreds(basicOnly)},
		{name: "basic: scheme name in lower case", modify: centrePointWith(nil, []string{"basic " + strings.TrimPrefix(basic, "Basic ")}), creds: useCreds(basicOnly)},
		{name: "basic: scheme name folding to Basic only outside ASCII", modify: centrePointWith(nil, []string{"Ba\u017fic " + strings.TrimPrefix(basic, "Basic ")}), creds: useCreds(basicOnly), wantErr: ErrBadCredentials},
		{name: "basic: wrong password", modify: centrePointWith(nil, []string{centrePointBasic(centrePointTestUser, "guess")}), creds: useCreds(basicOnly), wantErr: ErrBadCredentials},
		{name: "basic: wrong username", modify: centrePointWith(nil, []string{centrePointBasic("someone", centrePointTestPassword)}), creds: useCreds(basicOnly), wantErr: ErrBadCredentials},
		{name: "basic: username and password swapped", modify: centrePointWith(nil, []string{centrePointBasic(centrePointTestPassword, centrePointTestUser)}), creds: useCreds(basicOnly), wantErr: ErrBadCredentials},
		{name: "basic: not base64", modify: centrePointWith(nil, []string{"Basic %%%"}), creds: useCreds(basicOnly), wantErr: ErrMalformedProof},
		{name: "basic: no colon", modify: centrePointWith(nil, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(centrePointTestUser))}), creds: useCreds(basicOnly), wantErr: ErrMalformedProof},
		{name: "basic: missing", modify: centrePointWith(nil, nil), creds: useCreds(basicOnly), wantErr: ErrMissingProof},
		{name: "basic: a bearer token instead", modify: centrePointWith(nil, []string{bearer}), creds: useCreds(basicOnly), wantErr: ErrBadCredentials},
		{name: "basic: duplicate header", modify: centrePointWith(nil, []string{basic, basic}), creds: useCreds(basicOnly), wantErr: ErrMalformedProof},
		{name: "basic: X-ActiGraph-Signature is not looked at", modify: centrePointWith([]string{sig}, nil), creds: useCreds(basicOnly), wantErr: ErrMissingProof},

		// OAuth2 bearer.
		{name: "bearer: valid", modify: centrePointWith(nil, []string{bearer}), creds: useCreds(bearerOnly)},
		{name: "bearer: rotation, second token matches", modify: centrePointWith(nil, []string{bearer}), creds: useCreds(Credentials{BearerTokens: []string{"old-token", centrePointTestToken}})},
		{name: "bearer: scheme name in upper case", modify: centrePointWith(nil, []string{"BEARER " + centrePointTestToken}), creds: useCreds(bearerOnly)},
		{name: "bearer: wrong token", modify: centrePointWith(nil, []string{"Bearer guess"}), creds: useCreds(bearerOnly), wantErr: ErrBadCredentials},
		{name: "bearer: token prefix only", modify: centrePointWith(nil, []string{"Bearer " + centrePointTestToken[:10]}), creds: useCreds(bearerOnly), wantErr: ErrBadCredentials},
		{name: "bearer: empty token", modify: centrePointWith(nil, []string{"Bearer "}), creds: useCreds(bearerOnly), wantErr: ErrMalformedProof},
		{name: "bearer: the token without a scheme", modify: centrePointWith(nil, []string{centrePointTestToken}), creds: useCreds(bearerOnly), wantErr: ErrBadCredentials},
		{name: "bearer: basic credentials instead", modify: centrePointWith(nil, []string{basic}), creds: useCreds(bearerOnly), wantErr: ErrBadCredentials},
		{name: "bearer: missing", modify: centrePointWith(nil, nil), creds: useCreds(bearerOnly), wantErr: ErrMissingProof},

		// An endpoint with every scheme: one proof suffices.
		{name: "all: signature only", modify: centrePointWith([]string{sig}, nil), creds: useCreds(all)},
		{name: "all: basic only", modify: centrePointWith(nil, []string{basic}), creds: useCreds(all)},
		{name: "all: bearer only", modify: centrePointWith(nil, []string{bearer}), creds: useCreds(all)},
		{name: "all: wrong signature, right bearer", modify: centrePointWith([]string{centrePointSignature("another-secret", body)}, []string{bearer}), creds: useCreds(all)},
		{name: "all: duplicate signature, right basic", modify: centrePointWith([]string{sig, sig}, []string{basic}), creds: useCreds(all)},
		{name: "all: wrong signature, wrong bearer", modify: centrePointWith([]string{centrePointSignature("another-secret", body)}, []string{"Bearer guess"}), creds: useCreds(all), wantErr: errors.Join(ErrBadSignature, ErrBadCredentials)},
		{name: "all: wrong signature, no Authorization", modify: centrePointWith([]string{centrePointSignature("another-secret", body)}, nil), creds: useCreds(all), wantErr: ErrBadSignature},
		{name: "all: nothing presented", modify: centrePointWith(nil, nil), creds: useCreds(all), wantErr: ErrMissingProof},

		// No scheme configured: nothing can be checked, so nothing passes Authenticate; only an
		// endpoint with allow_unsigned (TestCentrePointWithoutAuthentication) takes such requests.
		{name: "no scheme configured", modify: centrePointWith([]string{sig}, []string{bearer}), creds: useCreds(Credentials{}), wantErr: ErrMissingProof},
	}...)
	runAuthCases(t, CentrePoint, valid, hmacOnly, cases)
}

// centrePointWith returns a request change that carries these X-ActiGraph-Signature and
// Authorization values (none: the header is absent).
func centrePointWith(signature, authorization []string) func(r *Request) {
	return func(r *Request) {
		r.Header.Del("X-ActiGraph-Signature")
		r.Header.Del("Authorization")
		for _, v := range signature {
			r.Header.Add("X-ActiGraph-Signature", v)
		}
		for _, v := range authorization {
			r.Header.Add("Authorization", v)
		}
	}
}

func TestCentrePointHandshake(t *testing.T) {
	const hookSecret = "1d3ad7a1-91c9-4ffc-8562-5bad545e6a40"
	validation := providerPayload(t, "centrepoint", "validation.json")
	cases := []struct {
		name       string
		event      string
		hookSecret string
		handled    bool
	}{
		{"documented validation request", "validation", hookSecret, true},
		{"event name capitalised", "Validation", hookSecret, true},
		{"without a hook secret", "validation", "", true},
		{"an upload is an event", "upload", hookSecret, false},
		{"no event header", "", hookSecret, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The documented request: no signature, no Authorization.
			req := Request{Header: http.Header{}, Body: validation}
			req.Header.Set("X-ActiGraph-Webhook-Id", "74")
			req.Header.Set("X-ActiGraph-Delivery", "38a1d5a7-d3df-b80f-48a1-0535801b687b")
			req.Header.Set("User-Agent", "ActiGraph-Hookshot/1.0")
			if tc.event != "" {
				req.Header.Set("X-ActiGraph-Event", tc.event)
			}
			if tc.hookSecret != "" {
				req.Header.Set("X-ActiGraph-Hook-Secret", tc.hookSecret)
			}
			answer, handled := CentrePoint.Handshake(req, Credentials{})
			if handled != tc.handled {
				t.Fatalf("Handshake handled = %v, want %v", handled, tc.handled)
			}
			if !handled {
				return
			}
			if answer.Status != http.StatusOK {
				t.Errorf("status = %d, want 200", answer.Status)
			}
			if got := answer.Header.Get("X-ActiGraph-Hook-Secret"); got != tc.hookSecret {
				t.Errorf("X-ActiGraph-Hook-Secret = %q, want %q", got, tc.hookSecret)
			}
			if tc.hookSecret == "" && len(answer.Header) != 0 {
				t.Errorf("header %v, want none", answer.Header)
			}
		})
	}
}

func TestCentrePointMap(t *testing.T) {
	cases := []struct {
		name     string
		event    string // X-ActiGraph-Event; "": absent
		delivery string // X-ActiGraph-Delivery; "": absent
		body     []byte
		want     Event
		wantErr  bool // ErrUnmappable
	}{
		{name: "upload started", event: "upload", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "upload_started.json"),
			want: Event{Type: "upload.started", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "44732"}},
		{name: "upload completed (documented example)", event: "upload", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "upload_completed.json"),
			want: Event{Type: "upload.completed", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "44732"}},
		{name: "upload error", event: "upload", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "upload_error.json"),
			want: Event{Type: "upload.error", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "44732"}},
		{name: "test ping delivered as upload", event: "upload", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "test_ping.json"),
			want: Event{Type: "upload", ID: centrePointTestDelivery, IDUnsigned: true}},
		{name: "raw_processing_complete, status Completed, subject_id", event: "raw_processing_complete", delivery: "9bcf5ddd-d036-b50a-9183-76da46c5d648", body: providerPayload(t, "centrepoint", "raw_processing_complete.json"),
			want: Event{Type: "raw_processing_complete.completed", ID: "9bcf5ddd-d036-b50a-9183-76da46c5d648", IDUnsigned: true, Subject: "19525"}},
		{name: "raw_processing_complete, status Error", event: "raw_processing_complete", delivery: centrePointTestDelivery, body: []byte(`{"subject_id":19525,"status":"Error","error_message":"corrupt file"}`),
			want: Event{Type: "raw_processing_complete.error", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "19525"}},
		{name: "data_retrieval_complete (request_status is not status)", event: "data_retrieval_complete", delivery: "62049727-b616-1ff6-f998-ae27ffc8c3cb", body: providerPayload(t, "centrepoint", "data_retrieval_complete.json"),
			want: Event{Type: "data_retrieval_complete", ID: "62049727-b616-1ff6-f998-ae27ffc8c3cb", IDUnsigned: true, Subject: "19512"}},
		{name: "daily_statistics_complete", event: "daily_statistics_complete", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "daily_statistics_complete.json"),
			want: Event{Type: "daily_statistics_complete", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "17887"}},
		{name: "cp2_daily_statistics_complete", event: "cp2_daily_statistics_complete", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "cp2_daily_statistics_complete.json"),
			want: Event{Type: "cp2_daily_statistics_complete", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "17920"}},
		{name: "event header capitalised and padded", event: " Upload ", delivery: centrePointTestDelivery, body: []byte(`{"status":"Completed","subjectId":"1"}`),
			want: Event{Type: "upload.completed", ID: centrePointTestDelivery, IDUnsigned: true, Subject: "1"}},
		{name: "SubjectId spelling", event: "upload", body: []byte(`{"SubjectId":42}`), want: Event{Type: "upload", Subject: "42"}},
		{name: "subjectID spelling", event: "upload", body: []byte(`{"subjectID":"43"}`), want: Event{Type: "upload", Subject: "43"}},
		{name: "subjectId preferred over subject_id", event: "upload", body: []byte(`{"subject_id":1,"subjectId":2}`), want: Event{Type: "upload", Subject: "2"}},
		{name: "status not a string", event: "upload", body: []byte(`{"status":{"code":1}}`), want: Event{Type: "upload"}},
		{name: "STATUS and SUBJECT_ID capitalised", event: "raw_processing_complete", body: []byte(`{"SUBJECT_ID":7,"STATUS":"Completed"}`), want: Event{Type: "raw_processing_complete.completed", Subject: "7"}},
		{name: "the last status wins, whatever its case", event: "upload", body: []byte(`{"status":"started","Status":"completed"}`), want: Event{Type: "upload.completed"}},
		{name: "body JSON null", event: "upload", body: []byte(`null`), want: Event{Type: "upload"}},
		{name: "body with data after the object", event: "upload", body: []byte(`{"status":"completed"} {}`), want: Event{Type: "upload"}},
		{name: "no delivery header: the bridge hashes the body", event: "upload", body: providerPayload(t, "centrepoint", "upload_completed.json"),
			want: Event{Type: "upload.completed", Subject: "44732"}},
		{name: "body not JSON: the delivery id, still unsigned", event: "upload", delivery: centrePointTestDelivery, body: []byte(`status=completed`), want: Event{Type: "upload", ID: centrePointTestDelivery, IDUnsigned: true}},
		{name: "body a JSON array", event: "upload", body: []byte(`[{"status":"completed"}]`), want: Event{Type: "upload"}},
		{name: "body a JSON array, with a delivery id", event: "upload", delivery: centrePointTestDelivery, body: []byte(`[{"status":"completed"}]`), want: Event{Type: "upload", ID: centrePointTestDelivery, IDUnsigned: true}},
		{name: "empty body", event: "upload", want: Event{Type: "upload"}},
		{name: "no event header", delivery: centrePointTestDelivery, body: providerPayload(t, "centrepoint", "upload_completed.json"), wantErr: true},
		{name: "blank event header", event: "  ", body: providerPayload(t, "centrepoint", "upload_completed.json"), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Header: http.Header{}, Body: tc.body}
			if tc.event != "" {
				req.Header.Set("X-ActiGraph-Event", tc.event)
			}
			if tc.delivery != "" {
				req.Header.Set("X-ActiGraph-Delivery", tc.delivery)
			}
			ev, err := CentrePoint.Map(req)
			if tc.wantErr {
				if !errors.Is(err, ErrUnmappable) {
					t.Fatalf("Map = %+v, %v; want ErrUnmappable", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			// Every CentrePoint id comes from the unsigned delivery header, or is absent.
			tc.want.IDUnsigned = true
			if ev != tc.want {
				t.Fatalf("Map = %+v, want %+v", ev, tc.want)
			}
		})
	}
}

// TestCentrePointDeliveryIsUnsigned: no scheme covers X-ActiGraph-Delivery, so a captured request
// with another delivery id still authenticates; Map says so, and the bridge then names the event
// by its type and body rather than by that id.
func TestCentrePointDeliveryIsUnsigned(t *testing.T) {
	body := providerPayload(t, "centrepoint", "upload_completed.json")
	creds := Credentials{Secrets: []string{centrePointTestSecret}, BearerTokens: []string{centrePointTestToken}}
	for name, proof := range map[string]http.Header{
		"HMAC":   {"X-Actigraph-Signature": {centrePointSignature(centrePointTestSecret, body)}},
		"bearer": {"Authorization": {"Bearer " + centrePointTestToken}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, delivery := range []string{centrePointTestDelivery, "00000000-0000-4000-8000-000000000001"} {
				req := Request{Header: proof.Clone(), Body: body}
				req.Header.Set(CentrePointEventHeader, "upload")
				req.Header.Set(CentrePointDeliveryHeader, delivery)
				v, err := CentrePoint.Verify(req, creds)
				if err != nil {
					t.Fatalf("delivery %s: %v", delivery, err)
				}
				if ev, err := v.Map(); err != nil || ev.ID != delivery || !ev.IDUnsigned {
					t.Fatalf("delivery %s: Map = %+v, %v; want that id, marked IDUnsigned", delivery, ev, err)
				}
			}
		})
	}
}

func TestCentrePointSign(t *testing.T) {
	body := providerPayload(t, "centrepoint", "upload_completed.json")
	basic := &BasicAuth{Username: centrePointTestUser, Password: centrePointTestPassword}
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	cases := []struct {
		name          string
		creds         Credentials
		signature     string
		authorization string
	}{
		{"every scheme: HMAC", Credentials{Secrets: []string{centrePointTestSecret}, BasicAuth: basic, BearerTokens: []string{centrePointTestToken}},
			centrePointSignature(centrePointTestSecret, body), ""},
		{"bearer and basic: bearer", Credentials{BasicAuth: basic, BearerTokens: []string{centrePointTestToken, "next-token"}}, "", "Bearer " + centrePointTestToken},
		{"basic only", Credentials{BasicAuth: basic}, "", centrePointBasic(centrePointTestUser, centrePointTestPassword)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := CentrePoint.Sign(tc.creds, body, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Get("X-ActiGraph-Signature"); got != tc.signature {
				t.Errorf("X-ActiGraph-Signature = %q, want %q", got, tc.signature)
			}
			if got := h.Get("Authorization"); got != tc.authorization {
				t.Errorf("Authorization = %q, want %q", got, tc.authorization)
			}
			if got := h.Get("X-ActiGraph-Event"); got != "upload" {
				t.Errorf("X-ActiGraph-Event = %q, want upload", got)
			}
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			delivery := h.Get("X-ActiGraph-Delivery")
			if !guid.MatchString(delivery) {
				t.Errorf("X-ActiGraph-Delivery = %q, want a random GUID", delivery)
			}
			v, err := CentrePoint.Verify(Request{Header: h, Body: body}, tc.creds)
			if err != nil {
				t.Fatalf("Verify(signed): %v", err)
			}
			ev, err := v.Map()
			if err != nil || ev.Type != "upload.completed" || ev.ID != delivery {
				t.Errorf("Map(signed) = %+v, %v; want upload.completed with id %s", ev, err, delivery)
			}
		})
	}

	t.Run("each delivery has its own id", func(t *testing.T) {
		creds := Credentials{BearerTokens: []string{centrePointTestToken}}
		a, _ := CentrePoint.Sign(creds, body, time.Now())
		b, _ := CentrePoint.Sign(creds, body, time.Now())
		if a.Get("X-ActiGraph-Delivery") == b.Get("X-ActiGraph-Delivery") {
			t.Errorf("two deliveries share the id %s", a.Get("X-ActiGraph-Delivery"))
		}
	})
	t.Run("nothing to sign with", func(t *testing.T) {
		if _, err := CentrePoint.Sign(Credentials{}, body, time.Now()); err == nil {
			t.Error("Sign without credentials succeeded")
		}
	})
}

func TestCentrePointCheckCredentials(t *testing.T) {
	cases := []struct {
		name  string
		creds Credentials
		want  []string // substrings of the error; nil: usable
	}{
		{"HMAC only", Credentials{Secrets: []string{"s"}}, nil},
		{"basic only", Credentials{BasicAuth: &BasicAuth{Username: "u", Password: "p"}}, nil},
		{"bearer only", Credentials{BearerTokens: []string{"t"}}, nil},
		{"every scheme", Credentials{Secrets: []string{"s"}, BasicAuth: &BasicAuth{Username: "u", Password: "p"}, BearerTokens: []string{"t"}}, nil},
		{"no scheme", Credentials{}, []string{"at least one"}},
		{"no scheme, allow_unsigned", Credentials{AllowUnsigned: true}, nil},
		{"empty secret", Credentials{Secrets: []string{""}}, []string{"secrets[0]"}},
		{"empty username", Credentials{BasicAuth: &BasicAuth{Password: "p"}}, []string{"basic_auth.username"}},
		{"username with a colon", Credentials{BasicAuth: &BasicAuth{Username: "a:b", Password: "p"}}, []string{"basic_auth.username"}},
		{"empty password", Credentials{BasicAuth: &BasicAuth{Username: "u"}}, []string{"basic_auth.password"}},
		{"empty token", Credentials{BearerTokens: []string{"t", " "}}, []string{"bearer_tokens[1]"}},
		{"every problem at once", Credentials{Secrets: []string{" "}, BasicAuth: &BasicAuth{}, BearerTokens: []string{""}},
			[]string{"secrets[0]", "basic_auth.username", "basic_auth.password", "bearer_tokens[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CentrePoint.CheckCredentials(tc.creds)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckCredentials: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckCredentials accepted %+v", tc.creds)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckCredentials: %v, want it to name %s", err, w)
				}
			}
		})
	}
}

// centrePointAccepts is an independent reading of the documentation: it reports whether the
// signature is the body's MAC, or the Authorization header the configured Basic credentials or
// bearer token, however leniently spelled (a superset of what the provider accepts).
func centrePointAccepts(signature, authorization string, body []byte) bool {
	mac := centrePointMAC(centrePointTestSecret, body)
	isMAC := func(s string) bool {
		s = strings.TrimSpace(s)
		for _, decode := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString} {
			if b, err := decode(s); err == nil && hmac.Equal(b, mac) {
				return true
			}
		}
		return false
	}
	if _, rest, ok := strings.Cut(signature, "="); isMAC(signature) || ok && isMAC(rest) {
		return true
	}
	scheme, param, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	param = strings.TrimSpace(param)
	switch strings.ToLower(scheme) {
	case "bearer":
		return param == centrePointTestToken
	case "basic":
		for _, decode := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString} {
			if b, err := decode(param); err == nil && string(b) == centrePointTestUser+":"+centrePointTestPassword {
				return true
			}
		}
	}
	return false
}

func FuzzCentrePointAuthenticate(f *testing.F) {
	creds := Credentials{
		Secrets:      []string{centrePointTestSecret},
		BasicAuth:    &BasicAuth{Username: centrePointTestUser, Password: centrePointTestPassword},
		BearerTokens: []string{centrePointTestToken},
	}
	request := func(body []byte, signature, authorization string) Request {
		h := http.Header{"X-Actigraph-Event": {"upload"}}
		if signature != "" {
			h.Set("X-ActiGraph-Signature", signature)
		}
		if authorization != "" {
			h.Set("Authorization", authorization)
		}
		return Request{Header: h, Body: body}
	}
	f.Fuzz(func(t *testing.T, body []byte, signature, authorization string) {
		_, err := CentrePoint.Authenticate(request(body, signature, authorization), creds)
		if err == nil && !centrePointAccepts(signature, authorization, body) {
			t.Fatalf("accepted signature %q, authorization %q", signature, authorization)
		}
		if err != nil && !knownAuthError(err) {
			t.Fatalf("Authenticate: unexpected error %v", err)
		}
		for _, right := range []Request{
			request(body, centrePointSignature(centrePointTestSecret, body), authorization),
			request(body, signature, "Bearer "+centrePointTestToken),
			request(body, signature, centrePointBasic(centrePointTestUser, centrePointTestPassword)),
		} {
			if _, err := CentrePoint.Authenticate(right, creds); err != nil {
				t.Fatalf("rejected a right proof (%v): %v", right.Header, err)
			}
		}
	})
}

func FuzzCentrePointMap(f *testing.F) {
	f.Fuzz(func(t *testing.T, event, delivery string, body []byte) {
		if jsonNesting(body) > jsonMaxDepth {
			return // deeper than the scanner reads (unmapped), where json.Unmarshal may still read it
		}
		req := Request{Header: http.Header{
			"X-Actigraph-Event":       {event},
			"X-Actigraph-Delivery":    {delivery},
			"X-Actigraph-Hook-Secret": {delivery},
		}, Body: body}

		// Only the validation request is answered by the handshake, echoing the hook secret.
		answer, handled := CentrePoint.Handshake(req, Credentials{})
		if handled != strings.EqualFold(strings.TrimSpace(event), "validation") {
			t.Fatalf("Handshake(%q) handled = %v", event, handled)
		}
		if handled && (answer.Status != http.StatusOK || answer.Header.Get("X-ActiGraph-Hook-Secret") != delivery) {
			t.Fatalf("Handshake answer %+v does not echo %q", answer, delivery)
		}

		ev, err := CentrePoint.Map(req)
		if want, wantErr := centrePointMapUnmarshal(req); ev != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("Map = %+v, %v; with json.Unmarshal %+v, %v", ev, err, want, wantErr)
		}
		name := strings.ToLower(strings.TrimSpace(event))
		if name == "" {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("Map without an event = %+v, %v; want ErrUnmappable", ev, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Map: %v", err)
		}
		if ev.Type != name && !strings.HasPrefix(ev.Type, name+".") {
			t.Fatalf("Map: type %q does not start with the event %q", ev.Type, name)
		}
		if ev.ID != strings.TrimSpace(delivery) || !ev.Time.IsZero() {
			t.Fatalf("Map: %+v, want id %q and no time", ev, delivery)
		}
		if !ev.IDUnsigned {
			t.Fatalf("Map: %+v: CentrePoint's id comes from the unsigned delivery header: it must be marked IDUnsigned", ev)
		}
	})
}

// TestCentrePointWithoutAuthentication: "Authentication is not required by CentrePoint but is an
// option". An endpoint with allow_unsigned and no scheme takes every request as unsigned, with or
// without proof headers (there is nothing to check them against); without allow_unsigned none.
func TestCentrePointWithoutAuthentication(t *testing.T) {
	body := []byte(`{"subjectId":42}`)
	cases := []struct {
		name   string
		header http.Header
	}{
		{"no proof", http.Header{}},
		{"a signature header", http.Header{"X-Actigraph-Signature": {"bm90IGNoZWNrZWQ="}}},
		{"an Authorization header", http.Header{"Authorization": {"Bearer whatever"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := CentrePoint.Verify(Request{Header: tc.header, Body: body}, Credentials{AllowUnsigned: true})
			if err != nil || !v.Unsigned() {
				t.Fatalf("allow_unsigned, no scheme: err %v, unsigned %v; want accepted as unsigned", err, v.Unsigned())
			}
			if _, err := CentrePoint.Verify(Request{Header: tc.header, Body: body}, Credentials{}); err == nil {
				t.Fatal("no scheme and no allow_unsigned: accepted")
			}
		})
	}
}

func BenchmarkCentrePointMap(b *testing.B) {
	h := http.Header{}
	h.Set(CentrePointEventHeader, "upload")
	h.Set(CentrePointDeliveryHeader, centrePointTestDelivery)
	benchmarkMap(b, CentrePoint, Request{Header: h, Body: providerPayload(b, "centrepoint", "upload_completed.json")})
}

// centrePointMapUnmarshal is the mapping as it was written with json.Unmarshal into a struct,
// whose case-insensitive key matching scanFieldsFold reproduces: FuzzCentrePointMap holds the
// mapping to the same events.
func centrePointMapUnmarshal(req Request) (Event, error) {
	event := strings.ToLower(strings.TrimSpace(req.Header.Get(CentrePointEventHeader)))
	if event == "" {
		// Unmapped, but still the delivery id, marked unsigned.
		return Event{ID: strings.TrimSpace(req.Header.Get(CentrePointDeliveryHeader)), IDUnsigned: true},
			fmt.Errorf("no %s header: %w", CentrePointEventHeader, ErrUnmappable)
	}
	var body struct {
		Status         json.RawMessage `json:"status"`
		SubjectID      json.RawMessage `json:"subjectId"`
		SubjectIDSnake json.RawMessage `json:"subject_id"`
	}
	_ = json.Unmarshal(req.Body, &body)
	ev := Event{Type: event, ID: strings.TrimSpace(req.Header.Get(CentrePointDeliveryHeader)), Subject: stringOrNumber(body.SubjectID)}
	ev.IDUnsigned = true // no scheme signs the delivery header
	if ev.Subject == "" {
		ev.Subject = stringOrNumber(body.SubjectIDSnake)
	}
	if status := strings.ToLower(strings.TrimSpace(stringOrNumber(body.Status))); status != "" {
		ev.Type += "." + status
	}
	return ev, nil
}
