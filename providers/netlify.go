package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Netlify (deploy notifications and form submission notifications, "Outgoing webhook").
// Documentation: "Deploy notifications", "Payload signature"
// (https://docs.netlify.com/site-deploys/notifications/#payload-signature, docs/providers/netlify.md):
// with a "JWS secret token" set, X-Webhook-Signature is a JSON Web Signature (RFC 7515, compact
// form) made with HS256 and that token, whose claims are iss "netlify" and sha256, the hex
// SHA-256 of the raw body. The body is the deploy (its state says which step it reached) or the
// form submission.
const NetlifySignatureHeader = "X-Webhook-Signature"

// netlifyIssuer is the iss claim Netlify signs.
const netlifyIssuer = "netlify"

// Netlify declares the Netlify provider.
var Netlify = &Provider{
	Name:             "netlify",
	TypePrefix:       "com.netlify",
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	DemoCredentials:  secretsOnly,
	CheckCredentials: needSecret,
	Load: LoadProfile{
		DefaultType: "deploy.ready",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			state := strings.TrimPrefix(eventType, "deploy.")
			at := now.UTC().Format("2006-01-02T15:04:05.000Z")
			body := `{"id":"load-` + run + "-" + num + `","site_id":"loadgen-site","build_id":"load-build-` + num + `","state":"` + state +
				`","name":"loadgen","url":"https://loadgen.netlify.app","created_at":"` + at + `","updated_at":"` + at + `","branch":"main","context":"production"}`
			return Example{Body: []byte(body)} // the id is the body's hash (docs/providers/netlify.md)
		},
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		token, err := proofHeader(req.Header, NetlifySignatureHeader)
		if err != nil {
			return err
		}
		claims, err := verifyHS256(token, creds.Secrets)
		if err != nil {
			return fmt.Errorf("header %s: %w", NetlifySignatureHeader, err)
		}
		var c struct {
			Iss    *string  `json:"iss"`
			SHA256 *string  `json:"sha256"`
			Exp    *float64 `json:"exp"`
		}
		if err := json.Unmarshal(claims, &c); err != nil {
			return fmt.Errorf("header %s: claims are no JSON object with string iss and sha256: %w", NetlifySignatureHeader, ErrMalformedProof)
		}
		if c.Iss == nil || *c.Iss != netlifyIssuer {
			return fmt.Errorf("header %s: iss is not %q: %w", NetlifySignatureHeader, netlifyIssuer, ErrBadSignature)
		}
		given, err := hex.DecodeString(strDeref(c.SHA256))
		sum := sha256.Sum256(req.Body)
		if err != nil || !hmac.Equal(given, sum[:]) {
			return fmt.Errorf("header %s: the sha256 claim is not the body's: %w", NetlifySignatureHeader, ErrBadSignature)
		}
		// Netlify sets no expiry; a token that has one is held to it, as JWT libraries do.
		if c.Exp != nil && float64(receivedAt(req).Unix()) >= *c.Exp {
			return fmt.Errorf("header %s: token expired: %w", NetlifySignatureHeader, ErrStaleTimestamp)
		}
		return nil
	}),

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, "id", "state", "form_id", "form_name", "updated_at", "created_at")
		if err != nil {
			return Event{}, err
		}
		// Netlify sends no event id. A deploy's id names the deploy, not the notification:
		// "succeeded", "locked", "unlocked" and "restored" all send the same deploy in state
		// ready. So the id is the body's hash (left empty), the same for a retry and different
		// for each notification.
		var ev Event
		switch state := strings.ToLower(strings.TrimSpace(stringOrNumber(f[1]))); {
		case state != "":
			ev = Event{Type: "deploy." + state, Subject: stringOrNumber(f[0])}
			ev.Time = netlifyTime(f[4])
		case f[2] != nil || f[3] != nil:
			// A form submission: sent once, its id that of the submission.
			ev = Event{Type: "form.submission", ID: stringOrNumber(f[0]), Subject: stringOrNumber(f[3])}
			ev.Time = netlifyTime(f[5])
		default:
			return Event{}, fmt.Errorf("neither a deploy's state nor a form submission: %w", ErrUnmappable)
		}
		return ev, nil
	},

	Sign: func(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		claims, _ := json.Marshal(map[string]string{"iss": netlifyIssuer, "sha256": hex.EncodeToString(sum[:])})
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "Netlify")
		h.Set(NetlifySignatureHeader, signHS256(secret, claims))
		return h, nil
	},
}

// jwsHS256Header is the protected header Sign writes; verifyHS256 reads any header whose alg is
// HS256.
const jwsHS256Header = `{"alg":"HS256","typ":"JWT"}`

// verifyHS256 checks a JWS in compact form ("header.payload.signature", each base64url without
// padding) made with HMAC-SHA256 and one of secrets, and returns its payload. The header's alg
// must be exactly "HS256" (RFC 7518 §3.1): "none", another MAC or a public-key algorithm is
// refused before anything is verified, so a token cannot choose how it is checked; a crit
// header, which names extensions that must be understood, is refused too (RFC 7515 §4.1.11).
func verifyHS256(token string, secrets []string) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a JWS has 3 parts, got %d: %w", len(parts), ErrMalformedProof)
	}
	rawHeader, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	mac, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("a JWS part is not base64url without padding: %w", ErrMalformedProof)
	}
	var header struct {
		Alg  *string         `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil || header.Alg == nil {
		return nil, fmt.Errorf("JWS header is no JSON object with a string alg: %w", ErrMalformedProof)
	}
	if *header.Alg != "HS256" {
		return nil, fmt.Errorf("JWS alg %.20q, want HS256: %w", *header.Alg, ErrMalformedProof)
	}
	if header.Crit != nil {
		return nil, fmt.Errorf("JWS header names critical extensions: %w", ErrMalformedProof)
	}
	signed := []byte(parts[0] + "." + parts[1])
	if !anySecret(secrets, mac, func(s string) []byte { return macOf(sha256.New, s, signed) }) {
		return nil, fmt.Errorf("JWS: %w", ErrBadSignature)
	}
	return payload, nil
}

// signHS256 makes the compact JWS of payload with HS256 and secret.
func signHS256(secret string, payload []byte) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(jwsHS256Header)) + "." + enc.EncodeToString(payload)
	return signing + "." + enc.EncodeToString(macOf(sha256.New, secret, []byte(signing)))
}

// netlifyTime reads an RFC 3339 time of a Netlify body; zero when there is none.
func netlifyTime(raw []byte) time.Time {
	t, err := time.Parse(time.RFC3339Nano, stringOrNumber(raw))
	if err != nil || t.Year() > 9999 {
		return time.Time{}
	}
	return t.UTC()
}

// strDeref is *s, or "" for nil.
func strDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
