package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Netlify's documentation ("Deploy notifications", "Payload signature",
// https://docs.netlify.com/site-deploys/notifications/#payload-signature): with a JWS secret token
// set on an outgoing webhook, X-Webhook-Signature is a JWS signed with HS256 and that token, its
// claims iss "netlify" and sha256 the hex SHA-256 of the payload. Netlify publishes no signed
// example, so the tokens here are built by hand from RFC 7515 (compact serialization) and RFC
// 7518 §3.2 (HS256), without the code under test. testdata/netlify/deploy_ready.json has the
// fields of a deploy as Netlify sends it; form_submission.json those of a form submission.

const netlifyTestSecret = "netlify-jws-secret-7d1e"

func netlifyExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "netlify", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// netlifyJWS is the compact JWS of the given header and claims JSON, HMAC-SHA256 with secret.
func netlifyJWS(secret, header, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// netlifyClaims are the documented claims for body.
func netlifyClaims(body []byte) string {
	sum := sha256.Sum256(body)
	return `{"iss":"netlify","sha256":"` + hex.EncodeToString(sum[:]) + `"}`
}

func netlifyRequest(secret string, body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Netlify")
	h.Set("X-Webhook-Signature", netlifyJWS(secret, `{"alg":"HS256","typ":"JWT"}`, netlifyClaims(body)))
	return Request{Method: http.MethodPost, Header: h, Body: body, Received: time.Date(2020, 5, 13, 18, 0, 0, 0, time.UTC)}
}

// resignNetlify replaces the token with one of header and claims, signed with the right secret.
func resignNetlify(header, claims string) func(r *Request) {
	return func(r *Request) { r.Header.Set("X-Webhook-Signature", netlifyJWS(netlifyTestSecret, header, claims)) }
}

func TestNetlifyAuthenticate(t *testing.T) {
	body := netlifyExample(t, "deploy_ready.json")
	const hs256 = `{"alg":"HS256","typ":"JWT"}`
	claims := netlifyClaims(body)
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	cases := commonAuthCases(proofSpec{
		header:      NetlifySignatureHeader,
		otherSecret: "not-the-secret",
		undecodable: "not a JWS",
	})
	cases = append(cases, []authCase{
		{name: "claims in another order, more of them", modify: resignNetlify(hs256, `{"sha256":"`+digest+`","iat":1589392736,"iss":"netlify"}`)},
		{name: "header without typ", modify: resignNetlify(`{"alg":"HS256"}`, claims)},
		{name: "sha256 claim in upper-case hex", modify: resignNetlify(hs256, `{"iss":"netlify","sha256":"`+strings.ToUpper(digest)+`"}`)},
		{name: "alg none, no signature", modify: func(r *Request) {
			enc := base64.RawURLEncoding
			r.Header.Set("X-Webhook-Signature", enc.EncodeToString([]byte(`{"alg":"none"}`))+"."+enc.EncodeToString([]byte(claims))+".")
		}, wantErr: ErrMalformedProof},
		{name: "alg none, signed anyway", modify: resignNetlify(`{"alg":"none"}`, claims), wantErr: ErrMalformedProof},
		{name: "alg HS512", modify: resignNetlify(`{"alg":"HS512"}`, claims), wantErr: ErrMalformedProof},
		{name: "alg hs256 in lower case", modify: resignNetlify(`{"alg":"hs256"}`, claims), wantErr: ErrMalformedProof},
		{name: "alg RS256", modify: resignNetlify(`{"alg":"RS256"}`, claims), wantErr: ErrMalformedProof},
		{name: "no alg", modify: resignNetlify(`{"typ":"JWT"}`, claims), wantErr: ErrMalformedProof},
		{name: "alg not a string", modify: resignNetlify(`{"alg":["HS256"]}`, claims), wantErr: ErrMalformedProof},
		{name: "crit header", modify: resignNetlify(`{"alg":"HS256","crit":["exp"]}`, claims), wantErr: ErrMalformedProof},
		{name: "header not JSON", modify: resignNetlify(`HS256`, claims), wantErr: ErrMalformedProof},
		{name: "two parts", modify: func(r *Request) {
			v := r.Header.Get("X-Webhook-Signature")
			r.Header.Set("X-Webhook-Signature", v[:strings.LastIndexByte(v, '.')])
		}, wantErr: ErrMalformedProof},
		{name: "four parts", modify: appendToHeader("X-Webhook-Signature", ".x"), wantErr: ErrMalformedProof},
		{name: "signature padded", modify: appendToHeader("X-Webhook-Signature", "="), wantErr: ErrMalformedProof},
		{name: "signature in standard base64", modify: func(r *Request) {
			v := r.Header.Get("X-Webhook-Signature")
			i := strings.LastIndexByte(v, '.')
			mac, _ := base64.RawURLEncoding.DecodeString(v[i+1:])
			r.Header.Set("X-Webhook-Signature", v[:i+1]+base64.StdEncoding.EncodeToString(append(mac, 0xfb, 0xff)))
		}, wantErr: ErrMalformedProof},
		{name: "signature cut short", modify: func(r *Request) {
			v := r.Header.Get("X-Webhook-Signature")
			r.Header.Set("X-Webhook-Signature", v[:len(v)-4])
		}, wantErr: ErrBadSignature},
		{name: "claims changed after signing", modify: func(r *Request) {
			parts := strings.Split(r.Header.Get("X-Webhook-Signature"), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(claims, "netlify", "netlifx", 1)))
			r.Header.Set("X-Webhook-Signature", strings.Join(parts, "."))
		}, wantErr: ErrBadSignature},
		{name: "iss of another issuer", modify: resignNetlify(hs256, strings.Replace(claims, `"netlify"`, `"someone"`, 1)), wantErr: ErrBadSignature},
		{name: "no iss", modify: resignNetlify(hs256, strings.Replace(claims, `"iss":"netlify",`, ``, 1)), wantErr: ErrBadSignature},
		{name: "no sha256", modify: resignNetlify(hs256, `{"iss":"netlify"}`), wantErr: ErrBadSignature},
		{name: "sha256 of another body", modify: resignNetlify(hs256, netlifyClaims([]byte(`{}`))), wantErr: ErrBadSignature},
		{name: "sha256 as base64", modify: func(r *Request) {
			sum := sha256.Sum256(r.Body)
			resignNetlify(hs256, `{"iss":"netlify","sha256":"`+base64.StdEncoding.EncodeToString(sum[:])+`"}`)(r)
		}, wantErr: ErrBadSignature},
		{name: "claims not an object", modify: resignNetlify(hs256, `["netlify"]`), wantErr: ErrMalformedProof},
		{name: "expired token", modify: resignNetlify(hs256, `{"iss":"netlify","exp":1589392000,"sha256":"`+digest+`"}`), wantErr: ErrStaleTimestamp},
		{name: "token not yet expired", modify: resignNetlify(hs256, `{"iss":"netlify","exp":1589400000,"sha256":"`+digest+`"}`)},
		{name: "body with a trailing newline", modify: func(r *Request) { r.Body = append(r.Body, '\n') }, wantErr: ErrBadSignature},
	}...)
	runAuthCases(t, Netlify, netlifyRequest(netlifyTestSecret, body), Credentials{Secrets: []string{netlifyTestSecret}}, cases)
}

func TestNetlifyMap(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "deploy succeeded: state ready, id the body's hash, subject the deploy",
			body: netlifyExample(t, "deploy_ready.json"),
			want: Event{Type: "deploy.ready", Subject: "5ebc34bf4fea0b01f02efa3a", Time: time.Date(2020, 5, 13, 17, 58, 56, 738e6, time.UTC)},
		},
		{
			name: "deploy started",
			body: []byte(`{"id":"d-1","state":"building","updated_at":"not a time"}`),
			want: Event{Type: "deploy.building", Subject: "d-1"},
		},
		{
			name: "state lower-cased",
			body: []byte(`{"id":"d-1","state":"Error"}`),
			want: Event{Type: "deploy.error", Subject: "d-1"},
		},
		{
			name: "form submission: its id, subject the form's name",
			body: netlifyExample(t, "form_submission.json"),
			want: Event{Type: "form.submission", ID: "6633586cd3bda90008a0c3f1", Subject: "contact", Time: time.Date(2024, 5, 2, 9, 12, 44, 101e6, time.UTC)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Netlify.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestNetlifyMapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"neither state nor form": `{"id":"x"}`,
		"empty state":            `{"id":"x","state":""}`,
		"not JSON":               `state=ready`,
		"a list":                 `[{"state":"ready"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Netlify.Map(Request{Header: http.Header{}, Body: []byte(body)}); !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want ErrUnmappable", err)
			}
		})
	}
}

// TestNetlifyDuplicate: a retry carries the same body and so the same signed bytes and event; a
// "locked" notification of the same deploy, in the same state, differs in its body and is
// another event (an id of deploy id and state would have made it a duplicate).
func TestNetlifyDuplicate(t *testing.T) {
	body := netlifyExample(t, "deploy_ready.json")
	creds := Credentials{Secrets: []string{netlifyTestSecret}}
	var signed [][]byte
	var events []Event
	for _, b := range [][]byte{body, body, []byte(strings.Replace(string(body), `"locked":null`, `"locked":true`, 1))} {
		v, err := Netlify.Verify(netlifyRequest(netlifyTestSecret, b), creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		signed, events = append(signed, v.SignedBody()), append(events, ev)
	}
	if string(signed[0]) != string(signed[1]) || events[0] != events[1] {
		t.Error("a retry is not the same event")
	}
	if string(signed[0]) == string(signed[2]) || events[0].ID != "" {
		t.Error("the locked notification would be taken for a retry of the succeeded one")
	}
}

// TestNetlifySign: Sign's token verifies with the independent recipe, and only with the first
// secret.
func TestNetlifySign(t *testing.T) {
	body := netlifyExample(t, "deploy_ready.json")
	h, err := Netlify.Sign(Credentials{Secrets: []string{netlifyTestSecret, "other"}}, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	token := h.Get("X-Webhook-Signature")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is no compact JWS", token)
	}
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if want := netlifyJWS(netlifyTestSecret, string(header), string(claims)); token != want {
		t.Errorf("token %q, want %q", token, want)
	}
	if !strings.Contains(string(header), `"alg":"HS256"`) || string(claims) != netlifyClaims(body) {
		t.Errorf("header %s, claims %s", header, claims)
	}
	if Netlify.Success.Status != http.StatusOK || Netlify.Rejection.Status != http.StatusUnauthorized || Netlify.TypePrefix != "com.netlify" {
		t.Errorf("Netlify declares %d, %d, %s", Netlify.Success.Status, Netlify.Rejection.Status, Netlify.TypePrefix)
	}
}

func FuzzNetlifyAuthenticate(f *testing.F) {
	body := []byte(`{"id":"d-1","state":"ready"}`)
	f.Add(netlifyJWS(netlifyTestSecret, `{"alg":"HS256"}`, netlifyClaims(body)), body)
	f.Add(netlifyJWS(netlifyTestSecret, `{"alg":"none"}`, netlifyClaims(body)), body)
	f.Add("a.b.c", []byte(`{}`))
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		h := http.Header{}
		h.Set("X-Webhook-Signature", token)
		_, err := Netlify.Authenticate(Request{Header: h, Body: body}, Credentials{Secrets: []string{netlifyTestSecret}})
		if err == nil {
			// Accepted: the token is HS256 with the secret over its first two parts.
			parts := strings.Split(strings.TrimSpace(token), ".")
			header, _ := base64.RawURLEncoding.DecodeString(parts[0])
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if netlifyJWS(netlifyTestSecret, string(header), string(claims)) != strings.TrimSpace(token) {
				t.Fatalf("accepted token %q", token)
			}
			return
		}
		matched := false
		for _, s := range authSentinels {
			matched = matched || errors.Is(err, s)
		}
		if !matched {
			t.Fatalf("error %v wraps no sentinel", err)
		}
	})
}
