package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
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
		return "", withDiagnosis(&missingHeader{name: name}, "the header %s is missing", name)
	case len(values) > 1:
		return "", withDiagnosis(fmt.Errorf("header %s given %d times: %w", name, len(values), ErrMalformedProof),
			"the header %s is given %d times; a request offers one signature", name, len(values))
	}
	return strings.TrimSpace(values[0]), nil
}

// signedHeader returns the single value of a header that a presented signature covers (a
// timestamp, an id). Absent or empty, the signature cannot be right: that is ErrMalformedProof,
// so that such a request never counts as one that carries no proof at all (allow_unsigned).
func signedHeader(h http.Header, name string) (string, error) {
	value, err := proofHeader(h, name)
	if errors.Is(err, ErrMissingProof) {
		return "", withDiagnosis(fmt.Errorf("header %s: absent beside a signature: %w", name, ErrMalformedProof),
			"the header %s, which the signature covers, is missing", name)
	}
	return value, err
}

// macOf returns HMAC-newHash(secret, parts concatenated).
func macOf(newHash func() hash.Hash, secret string, parts ...[]byte) []byte {
	return macOfKey(newHash, []byte(secret), parts...)
}

// macOfKey returns HMAC-newHash(key, parts concatenated).
func macOfKey(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// equalMAC compares two MACs in constant time.
func equalMAC(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

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
		if Diagnosis(err) != "" {
			return fmt.Errorf("header %s: %w", header, err)
		}
		return withDiagnosis(fmt.Errorf("header %s: %w", header, err), "the signature in %s is not in the encoding expected (%v)", header, err)
	}
	if !anySecret(secrets, given, func(s string) []byte { return macOf(newHash, s, signed...) }) {
		err := fmt.Errorf("header %s: %w", header, ErrBadSignature)
		if size := newHash().Size(); len(given) != size {
			return withDiagnosis(err, "%s", wrongLength(header, len(given), size))
		}
		return withDiagnosis(err, "%s", noSecretMatches(secrets, newHash, given, signed...))
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

// Signed timestamps. Aghanim, ZignSec's newer scheme and Standard Webhooks sign a timestamp
// joined to the body by a "." (docs/providers/aghanim.md). The signature binds the two only if
// the timestamp cannot itself contain the separator: a timestamp header "ts.P" with body "Q"
// signs the same bytes as the genuine "ts" with body "P.Q", so whoever holds one genuine request
// could move the start of its body into the header and have a new event accepted.

// maxTimestampDigits bounds a signed timestamp: 19 digits hold every positive int64.
const maxTimestampDigits = 19

// parseSignedTimestamp reads a Unix time in seconds that a signature covers: 1 to 19 ASCII
// digits and nothing else (no sign, space, dot or fraction), else ErrMalformedProof. The value
// is not quoted in the error: it is the sender's. Nineteen digits beyond int64 read as
// math.MaxInt64, later than any tolerance allows.
func parseSignedTimestamp(value string) (int64, error) {
	if value == "" || len(value) > maxTimestampDigits {
		return 0, fmt.Errorf("timestamp of %d characters, want 1 to %d digits: %w", len(value), maxTimestampDigits, ErrMalformedProof)
	}
	for i := 0; i < len(value); i++ {
		if value[i] < '0' || value[i] > '9' {
			return 0, fmt.Errorf("timestamp is not Unix seconds in decimal digits: %w", ErrMalformedProof)
		}
	}
	secs, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return math.MaxInt64, nil
	}
	return secs, nil
}

// timestampToleranceKey is the endpoint key that bounds how far a signed timestamp may be from
// the time of receipt (docs/providers/README.md).
const timestampToleranceKey = "timestamp_tolerance"

// timestampSettings is an endpoint's timestamp_tolerance as a provider's Configure reads it.
type timestampSettings struct {
	// tolerance is how far a signed timestamp may be from the time of receipt, either way;
	// zero: the provider's default (none for Aghanim and ZignSec).
	tolerance time.Duration
}

// readTimestampTolerance reads the endpoint's timestamp_tolerance, a Go duration such as "5m";
// given reports whether it was set. Zero or negative is an error naming the key.
func readTimestampTolerance(read SettingReader) (tolerance time.Duration, given bool, err error) {
	given, err = read(timestampToleranceKey, &tolerance)
	switch {
	case err != nil:
		// On one line: the decoder's message may have several.
		detail := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), timestampToleranceKey+": ")), " ")
		return 0, given, settingError(timestampToleranceKey, "want a duration such as \"5m\" (%s)", detail)
	case given && tolerance <= 0:
		return 0, given, settingError(timestampToleranceKey, "must be positive, got %s", tolerance)
	}
	return tolerance, given, nil
}

// timestampedProof reads a signature header and the timestamp header it signs beside the body
// (Discord, SendGrid): the signature decoded, the timestamp as written and as Unix seconds. The
// signature header missing is no proof at all; the timestamp missing beside it, or anything but
// 1–19 digits (timestamp and body are signed with no separator), is malformed.
func timestampedProof(h http.Header, signatureHeader, timestampHeader string, decode func(string) ([]byte, error)) (sig []byte, written string, secs int64, err error) {
	value, err := proofHeader(h, signatureHeader)
	if err != nil {
		return nil, "", 0, err
	}
	if written, err = signedHeader(h, timestampHeader); err != nil {
		return nil, "", 0, err
	}
	if secs, err = parseSignedTimestamp(written); err != nil {
		return nil, "", 0, fmt.Errorf("header %s: %w", timestampHeader, err)
	}
	if sig, err = decode(value); err != nil {
		return nil, "", 0, fmt.Errorf("header %s: %w", signatureHeader, err)
	}
	return sig, written, secs, nil
}

// checkPublicKeyCredentials checks a public-key sender's credentials (Discord, SendGrid): an
// endpoint (configured: its settings built) needs its public key and takes no other credential;
// without settings (`bridge sign`, the load tool) a secret is the seed of the key pair Sign signs
// with. keyHelp says where the sender shows its key.
func checkPublicKeyCredentials(name string, creds Credentials, configured, hasPublicKey, hasSigningKey bool, keyHelp string) error {
	var problems []error
	if creds.BasicAuth != nil {
		problems = append(problems, fmt.Errorf("basic_auth: not used by %s (it verifies with public_key)", name))
	}
	if len(creds.BearerTokens) > 0 {
		problems = append(problems, fmt.Errorf("bearer_tokens: not used by %s (it verifies with public_key)", name))
	}
	switch {
	case configured && !hasPublicKey:
		problems = append(problems, errors.New("public_key: required: "+keyHelp))
	case configured && len(creds.Secrets) > 0 && !hasSigningKey:
		problems = append(problems, fmt.Errorf("secrets: not used by %s (it verifies with public_key); remove them", name))
	case !configured && len(creds.Secrets) == 0:
		problems = append(problems, errors.New("public_key: required (to sign, a secret: the seed of the demo key pair, demo-secret)"))
	}
	return errors.Join(problems...)
}

// readPublicKey reads a public-key sender's own keys: the key under name, parsed by parse (not
// given: the zero K), and an optional timestamp_tolerance. Every problem is a SettingError.
func readPublicKey[K any](read SettingReader, name string, parse func(string) (K, error)) (key K, tolerance time.Duration, err error) {
	var problems []error
	var text string
	if given, rerr := read(name, &text); rerr != nil {
		problems = append(problems, rerr)
	} else if given {
		if key, rerr = parse(text); rerr != nil {
			problems = append(problems, settingError(name, "%v", rerr))
		}
	}
	tolerance, _, terr := readTimestampTolerance(read)
	if terr != nil {
		problems = append(problems, terr)
	}
	return key, tolerance, errors.Join(problems...)
}

// configureTimestampTolerance is the Configure of providers whose only own key is
// timestamp_tolerance and whose default is no age check at all (Aghanim, ZignSec).
func configureTimestampTolerance(_ string, _ Credentials, read SettingReader) (Settings, error) {
	tolerance, _, err := readTimestampTolerance(read)
	if err != nil {
		return Settings{}, err
	}
	return Settings{Value: timestampSettings{tolerance: tolerance}}, nil
}

// toleranceOf is the timestamp_tolerance an endpoint's settings carry; zero when none.
func toleranceOf(settings any) time.Duration {
	switch s := settings.(type) {
	case timestampSettings:
		return s.tolerance
	case *standardWebhooksSettings:
		return s.tolerance
	}
	return 0
}

// checkTimestampAge refuses a signed Unix time (seconds) further than tolerance from when req
// was received, in either direction, with ErrStaleTimestamp; a zero tolerance checks nothing.
// Times beyond the year 9999 are judged as that year, which no tolerance reaches.
func checkTimestampAge(secs int64, req Request, tolerance time.Duration) error {
	return checkTimeAge(time.Unix(min(secs, maxRFC3339Seconds), 0), req, tolerance)
}

// checkTimeAge refuses a signed time further than tolerance from when req was received, in
// either direction, with ErrStaleTimestamp; a zero tolerance checks nothing.
func checkTimeAge(at time.Time, req Request, tolerance time.Duration) error {
	if tolerance <= 0 {
		return nil
	}
	if at.After(maxRFC3339Time) {
		at = maxRFC3339Time
	}
	age := receivedAt(req).Sub(at)
	switch {
	case age > tolerance:
		return withDiagnosis(fmt.Errorf("timestamp %s before receipt, tolerance %s: %w", age.Round(time.Millisecond), tolerance, ErrStaleTimestamp),
			"timestamp %d s old, tolerance %d s", int64(age/time.Second), int64(tolerance/time.Second))
	case age < -tolerance:
		ahead := -age
		if ahead < 0 { // Sub saturated at the least Duration, whose negation overflows
			ahead = math.MaxInt64
		}
		return withDiagnosis(fmt.Errorf("timestamp %s after receipt, tolerance %s: %w", ahead.Round(time.Millisecond), tolerance, ErrStaleTimestamp),
			"timestamp %d s in the future, tolerance %d s: is the sender's clock right?", int64(ahead/time.Second), int64(tolerance/time.Second))
	}
	return nil
}
