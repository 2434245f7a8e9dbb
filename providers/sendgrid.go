package providers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SendGrid's Event Webhook (docs/providers/sendgrid.md). "Getting started with the Event Webhook
// Security Features" (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features):
// X-Twilio-Email-Event-Webhook-Signature is the base64 ASN.1 ECDSA P-256 signature, over the
// SHA-256 of X-Twilio-Email-Event-Webhook-Timestamp followed by the raw body, made with
// SendGrid's key; the endpoint verifies it with the public key the dashboard shows (base64 DER).
// The SDKs do the same (sendgrid-go helpers/eventwebhook/eventwebhook.go).
const (
	SendGridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	SendGridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
	sendGridPublicKeyKey    = "public_key"
)

// sendGridMixedType is the type of a batch whose events are not all of one kind.
const sendGridMixedType = "events"

// sendGridSettings is a sendgrid endpoint as Configure built it.
type sendGridSettings struct {
	publicKey *ecdsa.PublicKey // nil: none configured
	tolerance time.Duration    // zero: the timestamp's age is not checked (SendGrid documents none)
	// signingKey is set only in demo credentials, so that Sign can sign as the demo's SendGrid.
	signingKey *ecdsa.PrivateKey
}

// SendGrid declares the sendgrid provider.
var SendGrid = &Provider{
	Name:       "sendgrid",
	TypePrefix: "com.sendgrid",
	// SendGrid reads any 2xx as delivered and retries anything else for up to 24 hours.
	Success:     emptyAnswer(http.StatusOK),
	Rejection:   emptyAnswer(http.StatusUnauthorized),
	Retry:       retryLater(http.StatusServiceUnavailable),
	SettingKeys: []string{sendGridPublicKeyKey, timestampToleranceKey},
	Configure: func(_ string, _ Credentials, read SettingReader) (Settings, error) {
		key, tolerance, err := readPublicKey(read, sendGridPublicKeyKey, parseSendGridPublicKey)
		return Settings{Value: &sendGridSettings{publicKey: key, tolerance: tolerance}}, err
	},
	CheckCredentials: checkSendGridCredentials,
	DemoCredentials: func(secret string) Credentials {
		key := sendGridDemoKey(secret)
		return Credentials{Settings: &sendGridSettings{publicKey: &key.PublicKey, signingKey: key}}
	},
	// The demo endpoint's public key is the half of the pair derived from "demo-secret", so that
	// `bridge sign -provider sendgrid -secret demo-secret` signs for it.
	DemoKeys: sendGridPublicKeyKey + ": " + sendGridPublicKeyBase64(&sendGridDemoKey("demo-secret").PublicKey),

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		sig, tsValue, ts, err := timestampedProof(req.Header, SendGridSignatureHeader, SendGridTimestampHeader, decodeBase64)
		if err != nil {
			return err
		}
		s, _ := creds.Settings.(*sendGridSettings)
		if s == nil || s.publicKey == nil {
			return fmt.Errorf("no public key configured: %w", ErrBadSignature)
		}
		digest := sendGridDigest(tsValue, req.Body)
		if !ecdsa.VerifyASN1(s.publicKey, digest[:], sig) {
			return fmt.Errorf("header %s: %w", SendGridSignatureHeader, ErrBadSignature)
		}
		if err := checkTimestampAge(ts, req, s.tolerance); err != nil {
			return fmt.Errorf("header %s: %w", SendGridTimestampHeader, err)
		}
		return nil
	}),

	// One webhook is one event: the batch as SendGrid sent it, its id the body's SHA-256 (the
	// batch has no id of its own; each item's sg_event_id is in the data).
	Map: func(req Request) (Event, error) {
		var items []json.RawMessage
		trimmed := strings.TrimSpace(string(req.Body))
		if strings.HasPrefix(trimmed, "{") {
			items = []json.RawMessage{json.RawMessage(req.Body)} // one event, not in an array
		} else if err := json.Unmarshal(req.Body, &items); err != nil {
			return Event{}, fmt.Errorf("not a JSON array of events: %w", ErrUnmappable)
		}
		// The type is the items' event when they share one, else "events"; an item without an
		// event makes the batch mixed, and a batch where none has one is unmapped.
		eventType, named := "", 0
		for i, item := range items {
			f, err := scanFields(item, "event")
			if err != nil {
				return Event{}, fmt.Errorf("item %d: %w", i, err)
			}
			name, _ := jsonString(f[0])
			name = strings.ToLower(strings.TrimSpace(name))
			switch {
			case name == "":
			case named == 0:
				eventType, named = name, 1
			case name == eventType:
				named++
			default:
				eventType, named = sendGridMixedType, named+1
			}
		}
		switch {
		case named == 0:
			return Event{}, fmt.Errorf("no item has an event: %w", ErrUnmappable)
		case named < len(items):
			eventType = sendGridMixedType
		}
		return Event{Type: eventType}, nil
	},

	// Sign signs as SendGrid does, with the demo's private key (demo credentials) or with the key
	// pair derived from the first secret (`bridge sign -secret demo-secret`).
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		key, err := sendGridSigningKey(creds)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		digest := sendGridDigest(ts, body)
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(SendGridTimestampHeader, ts)
		h.Set(SendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
		return h, nil
	},

	Load: LoadProfile{
		DefaultType: "delivered",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `[{"email":"load-` + num + `@example.com","event":"` + eventType + `","sg_event_id":"load-` + run + "-" + num +
				`","sg_message_id":"load-` + run + `.filter0001","smtp-id":"<load-` + run + "-" + num + `@example.com>","timestamp":` +
				strconv.FormatInt(now.Unix(), 10) + `}]`
			return Example{Body: []byte(body)}
		},
	},
}

// sendGridDigest is what SendGrid signs: the SHA-256 of the timestamp followed by the body.
func sendGridDigest(ts string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(body)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// parseSendGridPublicKey reads the verification key as the dashboard shows it: base64 of a DER
// SubjectPublicKeyInfo of a P-256 key; a PEM block of the same is accepted too.
func parseSendGridPublicKey(value string) (*ecdsa.PublicKey, error) {
	value = strings.TrimSpace(value)
	var der []byte
	if block, _ := pem.Decode([]byte(value)); block != nil {
		der = block.Bytes
	} else {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value), ""))
		if err != nil {
			return nil, errors.New("not base64: want the verification key from Settings → Mail Settings → Event Webhook")
		}
		der = raw
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not a public key (base64 of a DER SubjectPublicKeyInfo)")
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key")
	}
	return ec, nil
}

// sendGridPublicKeyBase64 writes a public key as the dashboard shows it.
func sendGridPublicKeyBase64(key *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		panic(fmt.Sprintf("sendgrid: demo public key: %v", err)) // a fixed P-256 key always marshals
	}
	return base64.StdEncoding.EncodeToString(der)
}

// checkSendGridCredentials: an endpoint (its settings built by Configure) needs public_key and
// takes no other credential; without settings (`bridge sign`, the load tool) a secret is the seed
// of the key pair Sign signs with.
func checkSendGridCredentials(creds Credentials) error {
	s, endpoint := creds.Settings.(*sendGridSettings)
	return checkPublicKeyCredentials("sendgrid", creds, endpoint, endpoint && s.publicKey != nil, endpoint && s.signingKey != nil,
		"the verification key from the Event Webhook settings (base64)")
}

// sendGridDemoKey is the P-256 key pair derived from secret: its scalar is SHA-256(secret) (the
// demo's SendGrid signs with the one of "demo-secret"). A digest at or above the curve's order, a
// chance of about 2^-32, is hashed again.
func sendGridDemoKey(secret string) *ecdsa.PrivateKey {
	d := sha256.Sum256([]byte(secret))
	for {
		if key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:]); err == nil {
			return key
		}
		d = sha256.Sum256(d[:])
	}
}

// sendGridSigningKey is the key Sign signs with.
func sendGridSigningKey(creds Credentials) (*ecdsa.PrivateKey, error) {
	if s, ok := creds.Settings.(*sendGridSettings); ok && s.signingKey != nil {
		return s.signingKey, nil
	}
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, fmt.Errorf("no key to sign with: give a secret, the seed of the key pair (the demo's: demo-secret)")
	}
	return sendGridDemoKey(secret), nil
}
