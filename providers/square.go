package providers

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Square. Documentation: "Validate webhook notifications"
// (https://developer.squareup.com/docs/webhooks/step3validate) and the official SDKs'
// WebhooksHelper (square-nodejs-sdk src/utilities/webhooksHelper.ts): x-square-hmacsha256-signature
// is the base64 HMAC-SHA256, keyed with the subscription's signature key used as written, of the
// notification URL followed by the raw body (docs/providers/square.md).
const SquareSignatureHeader = "X-Square-Hmacsha256-Signature"

// Square declares the Square provider.
var Square = &Provider{
	Name:       "square",
	TypePrefix: "com.square",
	// Square counts any 2xx as delivered and retries otherwise.
	Success:   emptyAnswer(http.StatusOK),
	Rejection: emptyAnswer(http.StatusUnauthorized),
	Retry:     retryLater(http.StatusServiceUnavailable),

	CheckCredentials: needSecret,
	SettingKeys:      []string{publicURLKey},
	Configure: func(endpointID string, _ Credentials, read SettingReader) (Settings, error) {
		s, err := readSignedURL(endpointID, read, false)
		return Settings{Value: s}, err
	},
	DemoKeys: demoPublicURLKeys,
	DemoCredentials: func(secret string) Credentials {
		return Credentials{Secrets: []string{secret}, Settings: demoSignedURL("square", false)}
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		s, ok := creds.Settings.(*signedURL)
		if !ok || s == nil {
			return fmt.Errorf("endpoint has no %s (not configured): %w", publicURLKey, ErrBadCredentials)
		}
		return verifyMAC(req.Header, SquareSignatureHeader, decodeBase64, sha256.New, creds.Secrets,
			[]byte(s.base+s.requestURI(req)), req.Body)
	}),

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, "type", "event_id", "data.id", "created_at")
		if err != nil {
			return Event{}, err
		}
		ev := Event{ID: stringOrNumber(f[1]), Subject: stringOrNumber(f[2])}
		if at, ok := jsonString(f[3]); ok {
			if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
				ev.Time = t.UTC()
			}
		}
		eventType, _ := jsonString(f[0])
		if eventType == "" {
			return Event{ID: ev.ID, Time: ev.Time}, fmt.Errorf("no type: %w", ErrUnmappable)
		}
		ev.Type = strings.ToLower(eventType)
		return ev, nil
	},

	Sign: func(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		s, ok := creds.Settings.(*signedURL)
		if !ok || s == nil {
			s = demoSignedURL("square", false)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(SquareSignatureHeader, base64.StdEncoding.EncodeToString(macOf(sha256.New, secret, []byte(s.base+s.route), body)))
		return h, nil
	},

	Load: LoadProfile{
		DefaultType: "payment.updated",
		// The shape of Square's notifications
		// (https://developer.squareup.com/docs/webhooks/step3validate).
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"merchant_id":"MLEFBHHSJGVHD","type":"` + eventType + `","event_id":"` + id +
				`","created_at":"` + now.UTC().Format(time.RFC3339Nano) + `","data":{"type":"payment","id":"load_payment_` + num + `"}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
}
