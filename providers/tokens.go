package providers

import (
	"fmt"
	"net/http"
	"strings"
)

// Senders that prove themselves with a shared token rather than a signature: GitLab
// (X-Gitlab-Token), Okta event hooks and Auth0 log streams (Authorization). The header holds the
// configured value as the user typed it into the sender's dashboard, and nothing is computed
// from the body: the token vouches for the sender, not for the bytes (docs/providers/gitlab.md).

// verifyToken checks that header carries one of secrets exactly, byte for byte, scheme words such
// as "Bearer " included. Every secret is compared, each in constant time (equalSecret), so timing
// tells neither which one matched nor how long any is. Space around a configured secret is not
// part of it: HTTP strips it from the header value too.
func verifyToken(h http.Header, header string, secrets []string) error {
	given, err := proofHeader(h, header)
	if err != nil {
		return err
	}
	matched := false
	for _, s := range secrets {
		if equalSecret(given, strings.TrimSpace(s)) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("header %s: no configured token matches (%d tried): %w", header, len(secrets), ErrBadCredentials)
	}
	return nil
}

// tokenHeader is the Sign of a token sender: the first secret in header.
func tokenHeader(header string, creds Credentials) (http.Header, error) {
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(header, strings.TrimSpace(secret))
	return h, nil
}
