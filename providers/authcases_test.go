package providers

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// The authentication tests of every provider share one shape: a valid request, signed in the
// test the way the provider's documentation says, and cases that each change one thing of it
// (as the Standard Webhooks libraries' own tests do). The cases every scheme of "a header carries
// proof made with a secret" must pass come from commonAuthCases; each provider's test adds its
// own beside them.

// authCase is one request for Authenticate: the provider's valid request with one thing changed.
type authCase struct {
	name string
	// modify changes the valid request (a copy of it, header and body included); nil: none.
	modify func(r *Request)
	// creds changes the endpoint's credentials (a copy of them); nil: none.
	creds func(c *Credentials)
	// wantErr is the sentinel the error must wrap, and the only one; errors.Join of several when
	// the provider reports each proof that failed. nil: authentic.
	wantErr error
}

// authSentinels are the errors Authenticate wraps.
var authSentinels = []error{ErrMissingProof, ErrMalformedProof, ErrBadSignature, ErrBadCredentials, ErrStaleTimestamp}

// runAuthCases runs each case as a subtest: Authenticate and Verify (the only way to a Verified)
// must both give the wanted answer.
func runAuthCases(t *testing.T, p *Provider, base Request, creds Credentials, cases []authCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Errorf("case %q given twice: give the provider's own case another name, or change the common one with withAuthAnswer", tc.name)
			continue
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Header: base.Header.Clone(), Body: bytes.Clone(base.Body), Received: base.Received, Settings: base.Settings}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			if tc.modify != nil {
				tc.modify(&req)
			}
			c := creds
			c.Secrets = slices.Clone(creds.Secrets)
			c.BearerTokens = slices.Clone(creds.BearerTokens)
			if tc.creds != nil {
				tc.creds(&c)
			}
			_, err := p.Authenticate(req, c)
			if problem := authErrorProblem(err, tc.wantErr); problem != "" {
				t.Errorf("Authenticate: %s", problem)
			}
			v, err := p.Verify(req, c)
			if problem := authErrorProblem(err, tc.wantErr); problem != "" {
				t.Errorf("Verify: %s", problem)
			}
			if v.Valid() != (tc.wantErr == nil) {
				t.Errorf("Verified.Valid() = %v, want %v", v.Valid(), tc.wantErr == nil)
			}
		})
	}
}

// proofSpec is what the common cases need to know of how a provider's request proves itself.
type proofSpec struct {
	// header carries the proof: the common cases take it away, empty it, repeat it and garble it.
	header string
	// otherSecret is a secret of the provider's form that is not the endpoint's.
	otherSecret string
	// undecodable is a value of header that no encoding the provider reads can decode
	// (ErrMalformedProof); "": the provider compares any value as a signature, so there is no
	// such case.
	undecodable string
	// tamper changes the body after it was signed; nil: its last byte changes.
	tamper func(body []byte) []byte
}

// commonAuthCases are the cases every provider whose proof is one header made with a secret must
// pass, starting from its valid request signed with the endpoint's one secret.
func commonAuthCases(spec proofSpec) []authCase {
	tamper := spec.tamper
	if tamper == nil {
		tamper = func(body []byte) []byte {
			if len(body) == 0 {
				return []byte("x")
			}
			body[len(body)-1] ^= 1
			return body
		}
	}
	cases := []authCase{
		{name: "valid"},
		{
			name:  "rotation: the second of two secrets matches",
			creds: func(c *Credentials) { c.Secrets = append([]string{spec.otherSecret}, c.Secrets...) },
		},
		{
			name:  "rotation: the first of two secrets matches",
			creds: func(c *Credentials) { c.Secrets = append(c.Secrets, spec.otherSecret) },
		},
		{
			name:    "wrong secret",
			creds:   func(c *Credentials) { c.Secrets = []string{spec.otherSecret} },
			wantErr: ErrBadSignature,
		},
		{
			name:    "no secret configured",
			creds:   func(c *Credentials) { c.Secrets = nil },
			wantErr: ErrBadSignature,
		},
		{
			name:    "tampered body",
			modify:  func(r *Request) { r.Body = tamper(r.Body) },
			wantErr: ErrBadSignature,
		},
		{
			name:    "proof header missing",
			modify:  func(r *Request) { r.Header.Del(spec.header) },
			wantErr: ErrMissingProof,
		},
		{
			name:    "proof header empty",
			modify:  func(r *Request) { r.Header.Set(spec.header, "") },
			wantErr: ErrMissingProof,
		},
		{
			name:    "proof header of white space only",
			modify:  func(r *Request) { r.Header.Set(spec.header, " \t") },
			wantErr: ErrMissingProof,
		},
		{
			// A request must not be able to offer several candidate signatures.
			name:    "proof header given twice, both values right",
			modify:  func(r *Request) { r.Header.Add(spec.header, r.Header.Get(spec.header)) },
			wantErr: ErrMalformedProof,
		},
	}
	if spec.undecodable != "" {
		cases = append(cases, authCase{
			name:    "proof header in no encoding the provider reads",
			modify:  func(r *Request) { r.Header.Set(spec.header, spec.undecodable) },
			wantErr: ErrMalformedProof,
		})
	}
	return cases
}

// withAuthAnswer returns cases with the answer of the one called name replaced by wantErr, for a
// provider whose documentation answers a common case otherwise.
func withAuthAnswer(t *testing.T, cases []authCase, name string, wantErr error) []authCase {
	t.Helper()
	cases = slices.Clone(cases)
	for i := range cases {
		if cases[i].name == name {
			cases[i].wantErr = wantErr
			return cases
		}
	}
	t.Fatalf("no case %q to change", name)
	return nil
}

// secrets returns a creds change that replaces the endpoint's secrets.
func secrets(s ...string) func(c *Credentials) {
	return func(c *Credentials) { c.Secrets = s }
}

// useCreds returns a creds change that replaces all of the endpoint's credentials.
func useCreds(creds Credentials) func(c *Credentials) {
	return func(c *Credentials) { *c = creds }
}

// checkAuthError checks err against want (nil: success): see authErrorProblem.
func checkAuthError(t *testing.T, err, want error) {
	t.Helper()
	if problem := authErrorProblem(err, want); problem != "" {
		t.Error(problem)
	}
}

// authErrorProblem says what is wrong with err when want is expected: an error where none is
// wanted, none where one is, or a failure that does not wrap exactly the wanted sentinels (each
// of want's, when it is an errors.Join). "" when err is right.
func authErrorProblem(err, want error) string {
	switch {
	case want == nil && err == nil:
		return ""
	case want == nil:
		return fmt.Sprintf("error %v, want none", err)
	case err == nil:
		return fmt.Sprintf("accepted, want %v", want)
	}
	wanted := []error{want}
	if joined, ok := want.(interface{ Unwrap() []error }); ok {
		wanted = joined.Unwrap()
	}
	for _, s := range wanted {
		if !errors.Is(err, s) {
			return fmt.Sprintf("error %v, want %v", err, want)
		}
	}
	for _, s := range authSentinels {
		if !slices.Contains(wanted, s) && errors.Is(err, s) {
			return fmt.Sprintf("error %v wraps %v too, want only %v", err, s, want)
		}
	}
	return ""
}

// authCaseSuites are the authentication tests built on runAuthCases and commonAuthCases, by
// provider: TestEveryProviderHasAuthCases fails for a provider without one.
var authCaseSuites = map[string]func(*testing.T){
	"aghanim":           TestAghanimAuthenticate,
	"altdentifier":      TestAltDentifierAuthenticate,
	"zignsec":           TestZignSecAuthenticate,
	"centrepoint":       TestCentrePointAuthenticate,
	"usercheck":         TestUserCheckAuthenticate,
	"standard-webhooks": TestStandardWebhooksAuthenticate,
	"hmac":              TestHMACAuthenticate,
	"svix":              TestSvixAuthenticate, "clerk": TestClerkAuthenticate, "resend": TestResendAuthenticate,
	"twilio": TestTwilioAuthenticate, "square": TestSquareAuthenticate,
	"discord": TestDiscordAuthenticate, "sendgrid": TestSendGridAuthenticate,
	"gitlab": TestGitLabAuthenticate, "okta": TestOktaAuthenticate, "auth0": TestAuth0Authenticate, "netlify": TestNetlifyAuthenticate,
	"mailgun": TestMailgunAuthenticate, "adyen": TestAdyenAuthenticate,
}

func TestEveryProviderHasAuthCases(t *testing.T) {
	for _, p := range All() {
		t.Run(p.Name, func(t *testing.T) {
			if authCaseSuites[p.Name] == nil {
				t.Errorf("no authentication test: write one with runAuthCases(…, commonAuthCases(…) and the provider's own cases), its valid request signed in the test as the documentation says, and add it to authCaseSuites")
			}
		})
	}
}
