package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// The building blocks providers describe their schemes with: one header carrying a MAC, the
// MAC's hash and encoding, and the bytes it covers.

// proofHeader returns the single value of the header called name. A missing or empty header is
// ErrMissingProof; the header given twice is ErrMalformedProof (a request must not be able to
// offer several candidate signatures).
func proofHeader(h http.Header, name string) (string, error) {
	values := h.Values(name)
	switch {
	case len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == ""):
		return "", fmt.Errorf("header %s: %w", name, ErrMissingProof)
	case len(values) > 1:
		return "", fmt.Errorf("header %s given %d times: %w", name, len(values), ErrMalformedProof)
	}
	return strings.TrimSpace(values[0]), nil
}

// macOf returns HMAC-newHash(secret, parts concatenated).
func macOf(newHash func() hash.Hash, secret string, parts ...[]byte) []byte {
	m := hmac.New(newHash, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// anySecret reports whether given equals the MAC that mac computes for one of secrets. Each
// comparison is constant-time; every secret is tried, so timing does not tell which matched.
func anySecret(secrets []string, given []byte, mac func(secret string) []byte) bool {
	ok := 0
	for _, s := range secrets {
		ok |= subtle.ConstantTimeCompare(given, mac(s))
	}
	return ok == 1
}

// equalSecret compares a presented token or password with the configured one in constant time,
// without revealing the configured one's length.
func equalSecret(given, want string) bool {
	g := sha256.Sum256([]byte(given))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// decodeHex decodes hex in either case.
func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", ErrMalformedProof)
	}
	return b, nil
}

// decodeBase64 decodes standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", ErrMalformedProof)
	}
	return b, nil
}

// decodeHexOrBase64 decodes a MAC sent as hex (either case) or as standard base64 (padded or
// not), for providers whose senders disagree on the encoding. Hex is tried first; for a SHA-256
// MAC this is unambiguous, as its base64 form is 44 characters ending in "=" or 43 without it,
// never valid hex.
func decodeHexOrBase64(s string) ([]byte, error) {
	if b, err := decodeHex(s); err == nil {
		return b, nil
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("neither hex nor base64: %w", ErrMalformedProof)
	}
	return b, nil
}

// verifyMAC checks a header that carries encode(HMAC-newHash(secret, signed)) against every secret.
func verifyMAC(h http.Header, header string, decode func(string) ([]byte, error), newHash func() hash.Hash, secrets []string, signed ...[]byte) error {
	value, err := proofHeader(h, header)
	if err != nil {
		return err
	}
	given, err := decode(value)
	if err != nil {
		return fmt.Errorf("header %s: %w", header, err)
	}
	if !anySecret(secrets, given, func(s string) []byte { return macOf(newHash, s, signed...) }) {
		return fmt.Errorf("header %s: %w", header, ErrBadSignature)
	}
	return nil
}

// hexMAC is the lower-case hex of HMAC-newHash(secret, parts), as providers send it.
func hexMAC(newHash func() hash.Hash, secret string, parts ...[]byte) string {
	return hex.EncodeToString(macOf(newHash, secret, parts...))
}

// firstSecret returns the secret Sign uses.
func firstSecret(creds Credentials) (string, error) {
	if len(creds.Secrets) == 0 {
		return "", fmt.Errorf("no secret to sign with")
	}
	return creds.Secrets[0], nil
}
