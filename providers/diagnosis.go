package providers

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Why was my webhook rejected? A refused request carries a diagnosis: one English sentence an
// integrator can act on (the header that is missing, a signature of the wrong length, a
// timestamp's distance from now, a secret configured in the wrong form). The shared building
// blocks of scheme.go produce them, so every provider built from them diagnoses for free.

// diagnosed is an authentication error with its diagnosis.
type diagnosed struct {
	err       error
	diagnosis string
}

func (d *diagnosed) Error() string { return d.err.Error() }
func (d *diagnosed) Unwrap() error { return d.err }

// withDiagnosis attaches a diagnosis to err (which keeps its sentinel for errors.Is).
func withDiagnosis(err error, format string, args ...any) error {
	return &diagnosed{err: err, diagnosis: fmt.Sprintf(format, args...)}
}

// Diagnosis is the sentence explaining err, the first one found in its chain; "" when none.
func Diagnosis(err error) string {
	var d *diagnosed
	if errors.As(err, &d) {
		return d.diagnosis
	}
	return ""
}

// MissingHeader is the proof header whose absence err reports ("" when it reports none), so the
// bridge can name the similar headers the request did carry.
func MissingHeader(err error) string {
	var m *missingHeader
	if errors.As(err, &m) {
		return m.name
	}
	return ""
}

// missingHeader is ErrMissingProof for one header.
type missingHeader struct{ name string }

func (m *missingHeader) Error() string { return "header " + m.name + ": " + ErrMissingProof.Error() }
func (m *missingHeader) Unwrap() error { return ErrMissingProof }

// macNames names a MAC by its length, for "signed with SHA-1?".
var macNames = map[int]string{16: "MD5", 20: "SHA-1", 32: "SHA-256", 48: "SHA-384", 64: "SHA-512"}

// wrongLength diagnoses a decoded signature whose length is not the MAC's.
func wrongLength(header string, got, want int) string {
	d := fmt.Sprintf("the signature in %s is %d bytes, expected %d", header, got, want)
	if name, ok := macNames[got]; ok {
		d += ": signed with " + name + "?"
	}
	return d
}

// secretSlip looks, after a signature matched none of secrets, for a configuration slip that
// would have matched: a secret base64- or hex-decoded (after removing any whsec_ prefix), or with
// a whsec_ prefix removed or added. It costs at most a few MACs per secret, and runs only after a
// failure. It returns the diagnosis, or "" when no slip explains the failure.
func secretSlip(secrets []string, matches func(key []byte) bool) string {
	for i, s := range secrets {
		bare := strings.TrimPrefix(s, "whsec_")
		type variant struct {
			key  []byte
			what string
		}
		var variants []variant
		if b, err := base64.StdEncoding.DecodeString(bare); err == nil && len(b) > 0 {
			variants = append(variants, variant{b, "base64-decoded"})
		}
		if b, err := hex.DecodeString(bare); err == nil && len(b) > 0 {
			variants = append(variants, variant{b, "hex-decoded"})
		}
		if bare != s {
			variants = append(variants, variant{[]byte(bare), "without its whsec_ prefix"})
		} else {
			variants = append(variants, variant{[]byte("whsec_" + s), "with a whsec_ prefix"})
		}
		for _, v := range variants {
			if matches(v.key) {
				return fmt.Sprintf("no configured secret matches as written, but secrets[%d] %s does: the sender uses the secret in another form", i, v.what)
			}
		}
	}
	return ""
}

// noSecretMatches diagnoses a well-formed signature that none of the secrets made, naming a
// configuration slip when one explains it.
func noSecretMatches(secrets []string, newHash func() hash.Hash, given []byte, signed ...[]byte) string {
	if slip := secretSlip(secrets, func(key []byte) bool {
		return equalMAC(given, macOfKey(newHash, key, signed...))
	}); slip != "" {
		return slip
	}
	return fmt.Sprintf("no configured secret matches (%d tried)", len(secrets))
}
