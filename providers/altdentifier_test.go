package providers

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AltDentifier's documentation (docs/providers/altdentifier.md): the Digest header is "MD5=" and the hexdigest of
// hmac.new(key=secret, msg=raw body), whose default digest is MD5.

const altDentifierTestSecret = "altdentifier-test-secret"

// altDentifierDigest is the Digest header AltDentifier sends, computed as its documentation does.
func altDentifierDigest(secret string, body []byte) string {
	m := hmac.New(md5.New, []byte(secret))
	m.Write(body)
	return "MD5=" + hex.EncodeToString(m.Sum(nil))
}

// providerPayload reads a documented example payload from testdata/<provider>/.
func providerPayload(t testing.TB, provider, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", provider, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// knownAuthError reports whether err wraps one of the errors Authenticate may return.
func knownAuthError(err error) bool {
	return errors.Is(err, ErrMissingProof) || errors.Is(err, ErrMalformedProof) ||
		errors.Is(err, ErrBadSignature) || errors.Is(err, ErrBadCredentials)
}

// checkDeclaration checks how a provider is registered and that its answers are the documented
// status codes without a body.
func checkDeclaration(t *testing.T, p *Provider, name, typePrefix string, success, rejection int) {
	t.Helper()
	if got, ok := Lookup(name); !ok || got != p {
		t.Fatalf("Lookup(%s) = %v, %v", name, got, ok)
	}
	if p.TypePrefix != typePrefix {
		t.Errorf("TypePrefix = %q, want %q", p.TypePrefix, typePrefix)
	}
	answers := []struct {
		name   string
		answer Answer
		status int
	}{
		{"success", p.Success, success},
		{"rejection", p.Rejection, rejection},
	}
	for _, a := range answers {
		if a.answer.Status != a.status || len(a.answer.Body) != 0 || a.answer.ContentType != "" {
			t.Errorf("%s = %d %q %q, want %d without body", a.name, a.answer.Status, a.answer.ContentType, a.answer.Body, a.status)
		}
	}
}

func TestAltDentifierDeclaration(t *testing.T) {
	// "Please return a 200 or 204" (the example server returns 204, no body); "a 403: Forbidden
	// if the signature fails to validate" — any other 4xx makes AltDentifier retry.
	checkDeclaration(t, AltDentifier, "altdentifier", "com.altdentifier", http.StatusNoContent, http.StatusForbidden)
}

func TestAltDentifierAuthenticate(t *testing.T) {
	body := providerPayload(t, "altdentifier", "verification_failed.json")
	digest := altDentifierDigest(altDentifierTestSecret, body)
	hexDigest := strings.TrimPrefix(digest, "MD5=")
	valid := Request{Header: http.Header{}, Body: body}
	valid.Header.Set("Content-Type", "application/json")
	valid.Header.Set("Digest", digest)

	cases := commonAuthCases(proofSpec{
		header:      AltDentifierDigestHeader,
		otherSecret: "another-secret",
		undecodable: "MD5=zz" + hexDigest[2:],
		tamper:      func(b []byte) []byte { return []byte(strings.Replace(string(b), `"OP":2`, `"OP":1`, 1)) },
	})
	cases = append(cases, []authCase{
		{name: "upper-case hex", modify: func(r *Request) { r.Header.Set("Digest", "MD5="+strings.ToUpper(hexDigest)) }},
		{name: "lower-case algorithm", modify: func(r *Request) { r.Header.Set("Digest", "md5="+hexDigest) }},
		{name: "spaces around the parts", modify: func(r *Request) { r.Header.Set("Digest", " MD5 = "+hexDigest+" ") }},
		{name: "Signature header is not required, nor checked", modify: func(r *Request) {
			r.Header.Set("Signature", `keyId="hmac-key-1",algorithm="hmac-md5",signature="bm90IGEgc2lnbmF0dXJl"`)
		}},
		{name: "truncated digest", modify: func(r *Request) { r.Header.Set("Digest", "MD5="+hexDigest[:30]) }, wantErr: ErrBadSignature},
		{name: "digest of the body keyed with nothing", modify: func(r *Request) { r.Header.Set("Digest", altDentifierDigest("", r.Body)) }, wantErr: ErrBadSignature},
		{name: "digest without =", modify: func(r *Request) { r.Header.Set("Digest", "MD5"+hexDigest) }, wantErr: ErrMalformedProof},
		{name: "bare hex", modify: func(r *Request) { r.Header.Set("Digest", hexDigest) }, wantErr: ErrMalformedProof},
		{name: "other algorithm", modify: func(r *Request) { r.Header.Set("Digest", "SHA-256="+hexDigest) }, wantErr: ErrMalformedProof},
		{name: "odd-length hex", modify: func(r *Request) { r.Header.Set("Digest", "MD5="+hexDigest[1:]) }, wantErr: ErrMalformedProof},
	}...)
	runAuthCases(t, AltDentifier, valid, Credentials{Secrets: []string{altDentifierTestSecret}}, cases)
}

func TestAltDentifierMap(t *testing.T) {
	const member = "66166172835385344"
	cases := []struct {
		name     string
		body     []byte
		wantType string // "": unmappable
		subject  string
	}{
		{"OP 0 verification started", providerPayload(t, "altdentifier", "verification_started.json"), "verification.started", member},
		{"OP 1 verification passed", providerPayload(t, "altdentifier", "verification_passed.json"), "verification.passed", member},
		{"OP 2 verification failed (documented example)", providerPayload(t, "altdentifier", "verification_failed.json"), "verification.failed", member},
		{"OP 3 verification ignored", providerPayload(t, "altdentifier", "verification_ignored.json"), "verification.ignored", member},
		{"OP 4 account incorrect", providerPayload(t, "altdentifier", "account_incorrect.json"), "account.incorrect", member},
		{"OP 5 test event, member with name and numeric id", providerPayload(t, "altdentifier", "test.json"), "test", member},
		{"no member", []byte(`{"OP":1}`), "verification.passed", ""},
		{"member of another shape", []byte(`{"OP":1,"member":"Auxim#0001"}`), "verification.passed", ""},
		{"member id null", []byte(`{"OP":1,"member":{"id":null}}`), "verification.passed", ""},
		{"OP as a numeric string", []byte(`{"OP":"3","member":{"id":"1"}}`), "verification.ignored", "1"},
		{"unknown OP", []byte(`{"OP":6,"member":{"id":"1"}}`), "", ""},
		{"negative OP", []byte(`{"OP":-1}`), "", ""},
		{"fractional OP", []byte(`{"OP":1.5}`), "", ""},
		{"OP not a number", []byte(`{"OP":"passed"}`), "", ""},
		{"OP null", []byte(`{"OP":null}`), "", ""},
		{"no OP", []byte(`{"member":{"id":"1"}}`), "", ""},
		{"JSON null", []byte(`null`), "", ""},
		{"JSON array", []byte(`[{"OP":1}]`), "", ""},
		{"keys in any case", []byte(`{"op":2,"Member":{"ID":"7"}}`), "verification.failed", "7"},
		{"the last member wins, whatever its case", []byte(`{"OP":1,"member":{"id":"1"},"MEMBER":{"name":"x"}}`), "verification.passed", ""},
		{"not JSON", []byte(`OP=1`), "", ""},
		{"empty body", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := AltDentifier.Map(Request{Header: http.Header{}, Body: tc.body})
			if tc.wantType == "" {
				if !errors.Is(err, ErrUnmappable) {
					t.Fatalf("Map = %+v, %v; want ErrUnmappable", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			// No event id and no timestamp: the bridge hashes the body and uses receipt time.
			want := Event{Type: tc.wantType, Subject: tc.subject}
			if ev != want {
				t.Fatalf("Map = %+v, want %+v", ev, want)
			}
		})
	}
}

func TestAltDentifierSign(t *testing.T) {
	creds := Credentials{Secrets: []string{altDentifierTestSecret, "next-secret"}}
	for _, name := range []string{"verification_failed.json", "test.json"} {
		t.Run(name, func(t *testing.T) {
			body := providerPayload(t, "altdentifier", name)
			h, err := AltDentifier.Sign(creds, body, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := h.Get("Digest"), altDentifierDigest(altDentifierTestSecret, body); got != want {
				t.Errorf("Digest = %q, want %q (lower-case hex, first secret)", got, want)
			}
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			v, err := AltDentifier.Verify(Request{Header: h, Body: body}, creds)
			if err != nil {
				t.Fatalf("Verify(signed): %v", err)
			}
			if _, err := v.Map(); err != nil {
				t.Errorf("Map(signed): %v", err)
			}
		})
	}
	if _, err := AltDentifier.Sign(Credentials{}, []byte(`{}`), time.Now()); err == nil {
		t.Error("Sign without a secret succeeded")
	}
}

func TestAltDentifierCheckCredentials(t *testing.T) {
	cases := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{"one secret", Credentials{Secrets: []string{"s"}}, true},
		{"two secrets", Credentials{Secrets: []string{"s", "t"}}, true},
		{"no secret", Credentials{}, false},
		{"only a bearer token", Credentials{BearerTokens: []string{"t"}}, false},
		{"empty secret", Credentials{Secrets: []string{"s", " "}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := AltDentifier.CheckCredentials(tc.creds); (err == nil) != tc.ok {
				t.Fatalf("CheckCredentials = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func FuzzAltDentifierAuthenticate(f *testing.F) {
	creds := Credentials{Secrets: []string{altDentifierTestSecret}}
	f.Fuzz(func(t *testing.T, body []byte, digest string) {
		want := altDentifierDigest(altDentifierTestSecret, body)
		_, err := AltDentifier.Authenticate(Request{Header: http.Header{"Digest": {digest}}, Body: body}, creds)
		if err == nil {
			// Accepted only if the header is the MAC of this body, whatever its spelling.
			alg, digestHex, _ := strings.Cut(strings.TrimSpace(digest), "=")
			if !strings.EqualFold(strings.TrimSpace(alg), "MD5") || !strings.EqualFold(strings.TrimSpace(digestHex), strings.TrimPrefix(want, "MD5=")) {
				t.Fatalf("accepted Digest %q for a body whose digest is %q", digest, want)
			}
		} else if !knownAuthError(err) {
			t.Fatalf("Authenticate: unexpected error %v", err)
		}
		if _, err := AltDentifier.Authenticate(Request{Header: http.Header{"Digest": {want}}, Body: body}, creds); err != nil {
			t.Fatalf("rejected the right digest: %v", err)
		}
	})
}

func FuzzAltDentifierMap(f *testing.F) {
	documented := []string{"verification.started", "verification.passed", "verification.failed",
		"verification.ignored", "account.incorrect", "test"}
	f.Fuzz(func(t *testing.T, body []byte) {
		if jsonNesting(body) > jsonMaxDepth {
			return // deeper than the scanner reads (unmapped), where json.Unmarshal may still read it
		}
		ev, err := AltDentifier.Map(Request{Header: http.Header{}, Body: body})
		if want, wantErr := altDentifierMapUnmarshal(body); ev != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("Map = %+v, %v; with json.Unmarshal %+v, %v", ev, err, want, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("Map: error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		if !slices.Contains(documented, ev.Type) {
			t.Fatalf("Map: type %q is not a documented OP", ev.Type)
		}
		if ev.ID != "" || !ev.Time.IsZero() {
			t.Fatalf("Map: %+v has an id or a time, AltDentifier sends neither", ev)
		}
	})
}

func BenchmarkAltDentifierMap(b *testing.B) {
	benchmarkMap(b, AltDentifier, Request{Header: http.Header{}, Body: providerPayload(b, "altdentifier", "verification_failed.json")})
}

// altDentifierMapUnmarshal is the mapping as it was written with json.Unmarshal into structs,
// whose case-insensitive key matching scanFieldsFold reproduces: FuzzAltDentifierMap holds the
// mapping to the same events.
func altDentifierMapUnmarshal(body []byte) (Event, error) {
	var fields struct {
		OP     json.RawMessage `json:"OP"`
		Member json.RawMessage `json:"member"`
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		return Event{}, fmt.Errorf("not a JSON object: %v: %w", err, ErrUnmappable)
	}
	op, err := strconv.Atoi(stringOrNumber(fields.OP))
	if err != nil || op < 0 || op >= len(altDentifierOps) {
		return Event{}, fmt.Errorf("missing or unknown OP: %w", ErrUnmappable)
	}
	var member struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(fields.Member, &member)
	return Event{Type: altDentifierOps[op], Subject: stringOrNumber(member.ID)}, nil
}
