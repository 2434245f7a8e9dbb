package providers

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Svix's published example, taken as data: the secret, message id, timestamp, payload and the
// signature Svix's libraries must produce for them.
// Source: https://github.com/svix/svix-webhooks, go/webhook_test.go (TestWebhookSign); the same
// values are in its ruby/spec/webhook_spec.rb ("valid signature is valid"). The Standard Webhooks
// specification's Go library tests the same vector on the webhook-* headers:
// https://github.com/standard-webhooks/standard-webhooks, libraries/go/webhook_test.go.
const (
	svixLibSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	svixLibMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	svixLibTimestamp = 1614265330
	svixLibPayload   = `{"test": 2432232314}`
	svixLibSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// svixPresets are the three presets of the one Svix scheme, each with an example body in its
// sender's shape and what it maps to.
var svixPresets = []struct {
	p           *Provider
	file        string // in testdata/svix
	wantType    string
	wantSubject string
	wantTime    time.Time // the body's event time
}{
	{Svix, "svix_message_attempt_exhausted.json", "message.attempt.exhausted", "", time.Time{}},
	{Clerk, "clerk_user_created.json", "user.created", "user_29w83sxmDNGwOuEthce5gg56FcC", time.UnixMilli(1654012591835).UTC()},
	{Resend, "resend_email_delivered.json", "email.delivered", "56761188-7520-42d8-8898-ff6fc54ce618", time.Date(2024, 2, 22, 23, 41, 12, 126000000, time.UTC)},
}

// svixHeaders are the headers a Svix sender sends, signed in the test with the specification's
// recipe (swSign, standardwebhooks_test.go), never with the provider's own Sign.
func svixHeaders(secret, id string, ts int64, body string) http.Header {
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts, 10))
	h.Set("svix-signature", swSign(secret, id, ts, body))
	return h
}

func readSvixExample(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "svix", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSvixPublishedExample: Svix's own example verifies on each preset at its own time, and is
// refused once that time is further than five minutes away; the standard-webhooks provider
// still verifies the same vector on its webhook-* headers, and neither reads the other's names.
func TestSvixPublishedExample(t *testing.T) {
	at := time.Unix(svixLibTimestamp, 0)
	if got := swSign(svixLibSecret, svixLibMsgID, svixLibTimestamp, svixLibPayload); got != svixLibSignature {
		t.Fatalf("the test's own signer gives %s for Svix's example, want %s", got, svixLibSignature)
	}
	svixNamed := http.Header{}
	svixNamed.Set("svix-id", svixLibMsgID)
	svixNamed.Set("svix-timestamp", strconv.Itoa(svixLibTimestamp))
	svixNamed.Set("svix-signature", svixLibSignature)
	webhookNamed := http.Header{}
	webhookNamed.Set("webhook-id", svixLibMsgID)
	webhookNamed.Set("webhook-timestamp", strconv.Itoa(svixLibTimestamp))
	webhookNamed.Set("webhook-signature", svixLibSignature)

	type check struct {
		p        *Provider
		header   http.Header
		received time.Time
		wantErr  error
	}
	var checks []check
	for _, preset := range []*Provider{Svix, Clerk, Resend} {
		checks = append(checks,
			check{preset, svixNamed, at, nil},
			check{preset, svixNamed, at.Add(5 * time.Minute), nil},
			check{preset, svixNamed, at.Add(-5 * time.Minute), nil},
			check{preset, svixNamed, at.Add(5*time.Minute + time.Second), ErrStaleTimestamp},
			check{preset, svixNamed, at.Add(-5*time.Minute - time.Second), ErrStaleTimestamp},
			check{preset, webhookNamed, at, ErrMissingProof},
		)
	}
	checks = append(checks,
		check{StandardWebhooks, webhookNamed, at, nil},
		check{StandardWebhooks, webhookNamed, at.Add(5*time.Minute + time.Second), ErrStaleTimestamp},
		check{StandardWebhooks, svixNamed, at, ErrMissingProof},
	)
	for _, c := range checks {
		name := c.p.Name + headerNames(c.header) + " received " + c.received.Sub(at).String()
		t.Run(name, func(t *testing.T) {
			_, err := c.p.Verify(Request{Header: c.header.Clone(), Body: []byte(svixLibPayload), Received: c.received}, Credentials{Secrets: []string{svixLibSecret}})
			checkAuthError(t, err, c.wantErr)
		})
	}
	// The example has no type: unmapped, with the signed message id and the signed time.
	for _, p := range []*Provider{Svix, Clerk, Resend} {
		ev, err := p.Map(Request{Header: svixNamed, Body: []byte(svixLibPayload)})
		if !errors.Is(err, ErrUnmappable) || ev.ID != svixLibMsgID || !ev.Time.Equal(at) {
			t.Errorf("%s: Map = %+v, %v; want unmapped with id %s and time %s", p.Name, ev, err, svixLibMsgID, at)
		}
	}
}

// headerNames names the header family of h, for subtest names.
func headerNames(h http.Header) string {
	if h.Get("svix-id") != "" {
		return " svix-*"
	}
	return " webhook-*"
}

// TestSvixAuthenticate, TestClerkAuthenticate and TestResendAuthenticate: the common cases and
// Svix's own (its libraries' tests: go/webhook_test.go in svix/svix-webhooks), each from a valid
// request signed in the test.
func TestSvixAuthenticate(t *testing.T)   { testSvixAuthenticate(t, Svix) }
func TestClerkAuthenticate(t *testing.T)  { testSvixAuthenticate(t, Clerk) }
func TestResendAuthenticate(t *testing.T) { testSvixAuthenticate(t, Resend) }

func testSvixAuthenticate(t *testing.T, p *Provider) {
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	body := string(readSvixExample(t, "resend_email_delivered.json"))
	now := time.Now()
	resigned := func(ts time.Time) func(r *Request) {
		return func(r *Request) { replaceHeader(r.Header, svixHeaders(swSecret, id, ts.Unix(), string(r.Body))) }
	}
	cases := commonAuthCases(proofSpec{
		header:      SvixSignatureHeader,
		otherSecret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key")),
		// No undecodable case: an entry that cannot be read is one that does not match.
		tamper: func(b []byte) []byte { return []byte(strings.Replace(string(b), "delivered", "bounced", 1)) },
	})
	cases = append(cases, []authCase{
		{name: "missing id", modify: func(r *Request) { r.Header.Del("svix-id") }, wantErr: ErrMalformedProof},
		{name: "missing timestamp", modify: func(r *Request) { r.Header.Del("svix-timestamp") }, wantErr: ErrMalformedProof},
		{name: "missing all three", modify: func(r *Request) { replaceHeader(r.Header, http.Header{}) }, wantErr: ErrMissingProof},
		{name: "id given twice", modify: func(r *Request) { r.Header.Add("svix-id", id) }, wantErr: ErrMalformedProof},
		{name: "id changed", modify: func(r *Request) { r.Header.Set("svix-id", "msg_other") }, wantErr: ErrBadSignature},
		{name: "timestamp changed by one second", modify: func(r *Request) {
			r.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix()+1, 10))
		}, wantErr: ErrBadSignature},
		{name: "timestamp with a sign", modify: func(r *Request) {
			r.Header.Set("svix-timestamp", "+"+r.Header.Get("svix-timestamp"))
		}, wantErr: ErrMalformedProof},
		{name: "bytes moved from the body into the timestamp", modify: func(r *Request) {
			ts, moved := moveIntoTimestamp(t, r.Header.Get("svix-timestamp"), r.Body)
			r.Header.Set("svix-timestamp", ts)
			r.Body = moved
		}, wantErr: ErrMalformedProof},
		{name: "old timestamp", modify: resigned(now.Add(-DefaultTimestampTolerance - 2*time.Second)), wantErr: ErrStaleTimestamp},
		{name: "new timestamp", modify: resigned(now.Add(DefaultTimestampTolerance + 2*time.Second)), wantErr: ErrStaleTimestamp},
		{name: "old timestamp, wrong secret", modify: resigned(now.Add(-time.Hour)), creds: secrets("whsec_" + base64.StdEncoding.EncodeToString([]byte("x"))), wantErr: ErrBadSignature},
		{name: "invalid signature", modify: func(r *Request) {
			r.Header.Set("svix-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		}, wantErr: ErrBadSignature},
		{name: "partial signature", modify: func(r *Request) { r.Header.Set("svix-signature", "v1,") }, wantErr: ErrBadSignature},
		{name: "several signatures, one valid, other versions ignored", modify: func(r *Request) {
			r.Header.Set("svix-signature", strings.Join([]string{
				"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				r.Header.Get("svix-signature"),
				"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
			}, " "))
		}},
		{name: "only another version", modify: func(r *Request) {
			r.Header.Set("svix-signature", "v2,"+strings.TrimPrefix(r.Header.Get("svix-signature"), "v1,"))
		}, wantErr: ErrBadSignature},
		{name: "secret without whsec_ prefix", creds: secrets(strings.TrimPrefix(swSecret, "whsec_"))},
		{name: "the same request under webhook-* names", modify: func(r *Request) {
			for _, n := range []string{"id", "timestamp", "signature"} {
				r.Header.Set("webhook-"+n, r.Header.Get("svix-"+n))
				r.Header.Del("svix-" + n)
			}
		}, wantErr: ErrMissingProof},
	}...)
	valid := Request{Header: svixHeaders(swSecret, id, now.Unix(), body), Body: []byte(body), Received: now}
	runAuthCases(t, p, valid, Credentials{Secrets: []string{swSecret}}, cases)
}

// TestSvixTolerance: timestamp_tolerance replaces the five minutes, as for standard-webhooks.
func TestSvixTolerance(t *testing.T) {
	received := time.Unix(1667507170, 0)
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		age       time.Duration
		wantErr   error
	}{
		{name: "default: 5 minutes old", age: 5 * time.Minute},
		{name: "default: 5 minutes 1 second ahead", age: -5*time.Minute - time.Second, wantErr: ErrStaleTimestamp},
		{name: "1h: 50 minutes old", tolerance: time.Hour, age: 50 * time.Minute},
		{name: "1h: 61 minutes old", tolerance: time.Hour, age: 61 * time.Minute, wantErr: ErrStaleTimestamp},
	}
	for _, p := range []*Provider{Svix, Clerk, Resend} {
		for _, tt := range tests {
			t.Run(p.Name+" "+tt.name, func(t *testing.T) {
				settings := map[string]any{}
				if tt.tolerance != 0 {
					settings["timestamp_tolerance"] = tt.tolerance
				}
				creds := Credentials{Secrets: []string{swSecret}}
				configured, err := p.Configure(p.Name, creds, settingsOf(settings))
				if err != nil {
					t.Fatal(err)
				}
				creds.Settings = configured.Value
				h := svixHeaders(swSecret, "msg_1", received.Add(-tt.age).Unix(), swPayload)
				_, err = p.Verify(Request{Header: h, Body: []byte(swPayload), Received: received}, creds)
				checkAuthError(t, err, tt.wantErr)
			})
		}
	}
}

// TestSvixMap: each sender's example maps to its type, the signed svix-id, its entity and its
// event time; a retry (the same message signed again later) is the same event.
func TestSvixMap(t *testing.T) {
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	attempt := time.Unix(1708645272, 0)
	for _, tc := range svixPresets {
		t.Run(tc.p.Name, func(t *testing.T) {
			body := readSvixExample(t, tc.file)
			var first Event
			for i, at := range []time.Time{attempt, attempt.Add(5 * time.Minute)} {
				req := Request{Header: svixHeaders(swSecret, id, at.Unix(), string(body)), Body: body, Received: at}
				v, err := tc.p.Verify(req, Credentials{Secrets: []string{swSecret}})
				if err != nil {
					t.Fatal(err)
				}
				ev, err := v.Map()
				if err != nil {
					t.Fatal(err)
				}
				wantTime := tc.wantTime
				if wantTime.IsZero() {
					wantTime = at.UTC()
				}
				if ev.Type != tc.wantType || ev.ID != id || ev.Subject != tc.wantSubject || !ev.Time.Equal(wantTime) || ev.IDUnsigned {
					t.Errorf("Map = %+v; want type %q, id %s (signed), subject %q, time %s", ev, tc.wantType, id, tc.wantSubject, wantTime)
				}
				if i == 0 {
					first = ev
				} else if ev.ID != first.ID || string(v.SignedBody()) != string(body) {
					t.Errorf("the retry is another event: id %s, first %s", ev.ID, first.ID)
				}
			}
		})
	}
}

func TestSvixMapCases(t *testing.T) {
	receipt := time.Unix(1667507170, 0)
	tests := []struct {
		name        string
		p           *Provider
		body        string
		wantType    string
		wantSubject string
		wantTime    time.Time
		wantErr     error
	}{
		{"resend: a domain's id", Resend, string(readSvixExample(t, "resend_domain_updated.json")), "domain.updated", "d91cd9bd-1176-453e-8fc1-35364d380206", time.Date(2024, 11, 17, 19, 32, 22, 980000000, time.UTC), nil},
		{"type in capitals is lower-cased", Svix, `{"type":"Invoice.Paid"}`, "invoice.paid", "", receipt, nil},
		{"svix: RFC 3339 timestamp", Svix, swPayload, "contact.created", "", time.Date(2022, 11, 3, 20, 26, 10, 344522000, time.UTC), nil},
		{"svix: a number is no time", Svix, `{"type":"a.b","timestamp":1654012591835}`, "a.b", "", receipt, nil},
		{"clerk: timestamp not a number", Clerk, `{"type":"user.deleted","timestamp":"soon","data":{"id":"user_1"}}`, "user.deleted", "user_1", receipt, nil},
		{"clerk: no data", Clerk, `{"type":"user.deleted"}`, "user.deleted", "", receipt, nil},
		{"no type", Clerk, `{"data":{"id":"user_1"}}`, "", "", receipt, ErrUnmappable},
		{"type not a string", Resend, `{"type":5}`, "", "", receipt, ErrUnmappable},
		{"not JSON", Svix, `type=a.b`, "", "", receipt, ErrUnmappable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := svixHeaders(swSecret, "msg_2", receipt.Unix(), tc.body)
			ev, err := tc.p.Map(Request{Header: h, Body: []byte(tc.body)})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || ev.ID != "msg_2" {
					t.Fatalf("Map = %+v, %v; want %v with the svix-id", ev, err, tc.wantErr)
				}
				return
			}
			if err != nil || ev.Type != tc.wantType || ev.ID != "msg_2" || ev.Subject != tc.wantSubject || !ev.Time.Equal(tc.wantTime) {
				t.Errorf("Map = %+v, %v; want type %q, subject %q, time %s", ev, err, tc.wantType, tc.wantSubject, tc.wantTime)
			}
		})
	}
}

func TestSvixConfig(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		want  string // substring of the error; "" = valid
	}{
		{"whsec_ secret", Credentials{Secrets: []string{svixLibSecret}}, ""},
		{"bare base64 secret", Credentials{Secrets: []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}, ""},
		{"no secret", Credentials{}, "secrets"},
		{"empty secret", Credentials{Secrets: []string{"whsec_"}}, "secrets[0]"},
		{"not base64", Credentials{Secrets: []string{"demo-secret"}}, "secrets[0]"},
	}
	for _, p := range []*Provider{Svix, Clerk, Resend} {
		for _, tc := range tests {
			t.Run(p.Name+" "+tc.name, func(t *testing.T) {
				err := p.CheckCredentials(tc.creds)
				switch {
				case tc.want == "" && err != nil:
					t.Fatalf("refused: %v", err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Fatalf("error %v, want it to name %s", err, tc.want)
				}
			})
		}
		if p.Success.Status != http.StatusOK || p.Rejection.Status != http.StatusUnauthorized || p.Retry.Status != http.StatusServiceUnavailable {
			t.Errorf("%s answers %d/%d/%d, want 200/401/503", p.Name, p.Success.Status, p.Rejection.Status, p.Retry.Status)
		}
	}
}

// TestSvixSign: what `bridge sign` writes verifies with the test's own recipe, under svix-* names.
func TestSvixSign(t *testing.T) {
	now := time.Unix(svixLibTimestamp, 0)
	for _, p := range []*Provider{Svix, Clerk, Resend} {
		h, err := p.Sign(Credentials{Secrets: []string{svixLibSecret}}, []byte(svixLibPayload), now)
		if err != nil {
			t.Fatal(err)
		}
		id := h.Get("svix-id")
		if want := swSign(svixLibSecret, id, svixLibTimestamp, svixLibPayload); h.Get("svix-signature") != want || h.Get("svix-timestamp") != strconv.Itoa(svixLibTimestamp) {
			t.Errorf("%s: Sign wrote %v, want svix-signature %s", p.Name, h, want)
		}
		if id == "" || h.Get("webhook-id") != "" {
			t.Errorf("%s: Sign wrote %v, want svix-* names only", p.Name, h)
		}
	}
}
