package providers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Standard Webhooks (standardwebhooks.com, docs/providers/standard-webhooks.md): the open
// specification many senders follow (those whose webhooks Svix sends among them). Three headers;
// webhook-signature is a space-separated list of "v<n>,<base64>", and a v1 entry is the base64
// HMAC-SHA256, keyed with the base64-decoded secret, of "{webhook-id}.{webhook-timestamp}.{body}".
//
// Verification is the specification's own Go library. Its timestamp tolerance is fixed at five
// minutes, so it verifies the signature ignoring the timestamp and the endpoint's
// timestamp_tolerance is applied here.
const (
	StandardWebhooksIDHeader        = "webhook-id"
	StandardWebhooksTimestampHeader = "webhook-timestamp"
	StandardWebhooksSignatureHeader = "webhook-signature"
	standardWebhooksSecretPrefix    = "whsec_"
)

// ErrStaleTimestamp is a signed timestamp further from now than the endpoint allows: a replay,
// or a clock far off. Such senders sign each retry afresh, so a genuine retry passes.
var ErrStaleTimestamp = errors.New("timestamp outside the tolerance")

// DefaultTimestampTolerance is how far a signed timestamp may be from now, either way, unless
// the endpoint says otherwise (the specification's own figure).
const DefaultTimestampTolerance = 5 * time.Minute

// StandardWebhooks declares the standard-webhooks provider.
var StandardWebhooks = &Provider{
	Name:             "standard-webhooks",
	TypePrefix:       "com.standardwebhooks",
	Success:          emptyAnswer(http.StatusNoContent),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	CheckCredentials: checkStandardWebhooksSecrets,
	DemoCredentials: func(secret string) Credentials {
		// The demo's secret as such senders issue one: whsec_ and base64.
		return Credentials{Secrets: []string{standardWebhooksSecretPrefix + base64.StdEncoding.EncodeToString([]byte(secret))}}
	},
	SettingKeys: []string{timestampToleranceKey},
	Configure: func(_ string, creds Credentials, read SettingReader) (Settings, error) {
		var problems []error
		tolerance, given, err := readTimestampTolerance(read)
		if err != nil {
			problems = append(problems, err)
		}
		if !given {
			tolerance = DefaultTimestampTolerance
		}
		// The keys, decoded once: a secret CheckCredentials refuses has none.
		s := &standardWebhooksSettings{tolerance: tolerance, keys: map[string]*standardwebhooks.Webhook{}}
		for _, secret := range creds.Secrets {
			if wh, err := standardWebhooksKey(secret); err == nil {
				s.keys[secret] = wh
			}
		}
		return Settings{Value: s}, errors.Join(problems...)
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		// The signature header first: a request without it has presented no proof at all; one
		// with it but without the id or timestamp it covers is malformed, never "unsigned".
		if _, err := proofHeader(req.Header, StandardWebhooksSignatureHeader); err != nil {
			return err
		}
		if _, err := signedHeader(req.Header, StandardWebhooksIDHeader); err != nil {
			return err
		}
		value, err := signedHeader(req.Header, StandardWebhooksTimestampHeader)
		if err != nil {
			return err
		}
		// Digits only: the library would read "+5" or "-5" as a number and sign it as written
		// by %d, and the rule is the same as for every "{timestamp}.{body}" scheme (scheme.go).
		ts, err := parseSignedTimestamp(value)
		if err != nil {
			return fmt.Errorf("header %s: %w", StandardWebhooksTimestampHeader, err)
		}
		matched := false
		for _, wh := range standardWebhooksKeys(creds) {
			// The library compares in constant time (hmac.Equal) and skips entries of other
			// versions; it is asked for every secret, so no early exit tells which one matched.
			if wh.VerifyIgnoringTimestamp(req.Body, req.Header) == nil {
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("header %s: no v1 signature matches: %w", StandardWebhooksSignatureHeader, ErrBadSignature)
		}
		tolerance := toleranceOf(creds.Settings)
		if tolerance <= 0 {
			tolerance = DefaultTimestampTolerance
		}
		if err := checkTimestampAge(ts, req, tolerance); err != nil {
			return fmt.Errorf("header %s: %w", StandardWebhooksTimestampHeader, err)
		}
		return nil
	}),

	Map: func(req Request) (Event, error) {
		// The message id is the sender's and stays the same on every retry: the event's id.
		ev := Event{ID: strings.TrimSpace(req.Header.Get(StandardWebhooksIDHeader))}
		if ts, err := strconv.ParseInt(strings.TrimSpace(req.Header.Get(StandardWebhooksTimestampHeader)), 10, 64); err == nil &&
			ts >= 0 && ts <= maxRFC3339Seconds {
			ev.Time = time.Unix(ts, 0).UTC()
		}
		// The specification's payload: {"type": "…", "timestamp": "<RFC 3339>", "data": {…}}.
		f, err := scanFields(req.Body, "type", "timestamp")
		if err != nil {
			return ev, err // unmapped, but still the sender's message id: its retries stay one event
		}
		if t, ok := jsonString(f[1]); ok {
			if parsed, err := time.Parse(time.RFC3339Nano, t); err == nil {
				ev.Time = parsed.UTC()
			}
		}
		eventType, ok := jsonString(f[0])
		if !ok || strings.TrimSpace(eventType) == "" {
			return ev, fmt.Errorf("no type: %w", ErrUnmappable)
		}
		ev.Type = strings.ToLower(strings.TrimSpace(eventType))
		return ev, nil
	},

	// The message id is derived from the body, so signing the same body again is a retry of the
	// same message (a sender assigns one id per message and keeps it across retries).
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		return signStandardWebhooks(creds, body, now, StandardWebhooksIDHeader, StandardWebhooksTimestampHeader, StandardWebhooksSignatureHeader)
	},

	Load: LoadProfile{
		DefaultType: "invoice.paid",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			body := []byte(`{"type":"` + eventType + `","timestamp":"` + now.UTC().Format(time.RFC3339) +
				`","data":{"invoice":"in_load_` + run + "_" + strconv.FormatUint(n, 10) + `","amount":1200}}`)
			return Example{Body: body, IDFromBody: standardWebhooksMessageID}
		},
	},
}

// standardWebhooksKey reads a secret as such senders issue it: "whsec_" and base64, or the base64
// key alone.
func standardWebhooksKey(secret string) (*standardwebhooks.Webhook, error) {
	key := strings.TrimPrefix(strings.TrimSpace(secret), standardWebhooksSecretPrefix)
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) == 0 {
		return nil, errors.New("not base64 (whsec_<base64> or the base64 key)")
	}
	return standardwebhooks.NewWebhookRaw(raw)
}

// standardWebhooksSettings is a standard-webhooks endpoint as Configure built it.
type standardWebhooksSettings struct {
	tolerance time.Duration
	keys      map[string]*standardwebhooks.Webhook // each secret, decoded
}

// standardWebhooksKeys are the endpoint's keys as Configure decoded them, or, for credentials
// no Configure has seen (tests, `bridge sign`), decoded now.
func standardWebhooksKeys(creds Credentials) []*standardwebhooks.Webhook {
	s, _ := creds.Settings.(*standardWebhooksSettings)
	keys := make([]*standardwebhooks.Webhook, 0, len(creds.Secrets))
	for _, secret := range creds.Secrets {
		if wh, ok := s.keyOf(secret); ok {
			keys = append(keys, wh)
		} else if wh, err := standardWebhooksKey(secret); err == nil { // CheckCredentials refuses the others
			keys = append(keys, wh)
		}
	}
	return keys
}

// keyOf is secret's key as Configure decoded it.
func (s *standardWebhooksSettings) keyOf(secret string) (*standardwebhooks.Webhook, bool) {
	if s == nil {
		return nil, false
	}
	wh, ok := s.keys[secret]
	return wh, ok
}

// signStandardWebhooks signs body as the specification says, with the first secret, under the
// given header names (webhook-*, or Svix's svix-*). The message id is derived from the body, so
// signing the same body again is a retry of the same message.
func signStandardWebhooks(creds Credentials, body []byte, now time.Time, idHeader, timestampHeader, signatureHeader string) (http.Header, error) {
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, err
	}
	wh, err := standardWebhooksKey(secret)
	if err != nil {
		return nil, err
	}
	id := standardWebhooksMessageID(body)
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(idHeader, id)
	h.Set(timestampHeader, strconv.FormatInt(now.Unix(), 10))
	h.Set(signatureHeader, sig)
	return h, nil
}

// checkStandardWebhooksSecrets refuses empty and non-base64 secrets at start-up.
func checkStandardWebhooksSecrets(creds Credentials) error {
	if err := needSecret(creds); err != nil {
		return err
	}
	var problems []error
	for i, s := range creds.Secrets {
		if _, err := standardWebhooksKey(s); err != nil {
			problems = append(problems, fmt.Errorf("secrets[%d]: %w", i, err))
		}
	}
	return errors.Join(problems...)
}

// standardWebhooksMessageID is the id `bridge sign` gives a body: "msg_" and 32 hex digits of its
// SHA-256.
func standardWebhooksMessageID(body []byte) string {
	sum := sha256.Sum256(body)
	return "msg_" + hex.EncodeToString(sum[:16])
}

// ValidTypePrefix reports whether p can start a CloudEvents type: dotted lower-case names.
func ValidTypePrefix(p string) bool { return validTypePrefix(p) }

// validTypePrefix reports whether p can start a CloudEvents type: dotted lower-case names.
func validTypePrefix(p string) bool {
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return false
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
