package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Mailgun (email delivery). Documentation: "Securing Webhooks"
// (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks,
// docs/providers/mailgun.md). Mailgun sends no signature header: the JSON body carries
//
//	{"signature": {"timestamp": "…", "token": "…", "signature": "<hex>"}, "event-data": {…}}
//
// and the signature is the hex HMAC-SHA256, keyed with the webhook signing key as written, of
// timestamp followed by token. It does NOT cover the body: event-data is not authenticated by
// it. The token is random and single-use, so the signed bytes name one delivery.
const (
	mailgunSignatureField = "signature"
	mailgunTimestampPath  = "signature.timestamp"
	mailgunTokenPath      = "signature.token"
	mailgunMACPath        = "signature.signature"
)

// Mailgun declares the Mailgun provider.
var Mailgun = &Provider{
	Name:       "mailgun",
	TypePrefix: "com.mailgun",
	// "If Mailgun receives a 200 (Success) code it will determine the webhook POST is
	// successful"; anything else but 406 is retried for about 8 hours.
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	CheckCredentials: needSecret,
	DemoCredentials:  secretsOnly,
	// Mailgun retries for hours with the original timestamp, so no age limit unless the
	// endpoint sets timestamp_tolerance.
	SettingKeys: []string{timestampToleranceKey},
	Configure:   configureTimestampTolerance,

	Authenticate: mailgunAuthenticate,

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, mailgunTimestampPath, mailgunTokenPath,
			"event-data.event", "event-data.timestamp", "event-data.message.headers.message-id")
		if err != nil {
			return Event{}, err
		}
		ts, _ := jsonString(f[0])
		token, _ := jsonString(f[1])
		// The id is the signed bytes themselves: timestamp and token run together. The token
		// alone would not do: the split between the two is not signed, so digits could move
		// from the token's start into the timestamp and make a "new" token with the same
		// signature.
		ev := Event{ID: ts + token}
		eventType, _ := jsonString(f[2])
		if eventType == "" {
			return ev, fmt.Errorf("no event-data.event: %w", ErrUnmappable)
		}
		ev.Type = strings.ToLower(eventType)
		ev.Subject, _ = jsonString(f[4])
		ev.Time = mailgunTime(f[3])
		return ev, nil
	},

	SignBody: mailgunSignBody,
	Sign: signInsideBody(func(creds Credentials, body []byte) error {
		_, err := mailgunAuthenticate(Request{Body: body}, creds)
		return err
	}, "Mailgun signs inside the body: signature.signature must be the hex HMAC-SHA256 of signature.timestamp followed by signature.token"),

	Load: LoadProfile{
		DefaultType: "delivered",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			sum := sha256.Sum256([]byte("mailgun load " + run + " " + strconv.FormatUint(n, 10)))
			token := hex.EncodeToString(sum[:])[:50] // Mailgun's tokens are 50 characters
			ts := strconv.FormatInt(now.Unix(), 10)
			body := `{"signature":{"timestamp":"` + ts + `","token":"` + token + `","signature":"` +
				hexMAC(sha256.New, demoSigningSecret, []byte(ts+token)) + `"},` +
				`"event-data":{"event":"` + eventType + `","timestamp":` + ts + `.5,"id":"load-` + run + `-` + strconv.FormatUint(n, 10) +
				`","recipient":"load@example.com","message":{"headers":{"message-id":"load.` + run + `.` + strconv.FormatUint(n, 10) + `@example.com"}}}}`
			return Example{Body: []byte(body), ID: ts + token}
		},
	},
}

// mailgunAuthenticate verifies the signature block inside the body (the file's head comment).
func mailgunAuthenticate(req Request, creds Credentials) (Proof, error) {
	ts, token, given, err := mailgunProof(req.Body)
	if err != nil {
		return Proof{}, err
	}
	signed := []byte(ts + token)
	if !anySecret(creds.Secrets, given, func(s string) []byte { return macOf(sha256.New, s, signed) }) {
		err := fmt.Errorf("%s: %w", mailgunMACPath, ErrBadSignature)
		if len(given) != sha256.Size {
			return Proof{}, withDiagnosis(err, "%s", wrongLength(mailgunMACPath, len(given), sha256.Size))
		}
		return Proof{}, withDiagnosis(err, "%s", noSecretMatches(creds.Secrets, sha256.New, given, signed))
	}
	secs, _ := parseSignedTimestamp(ts) // checked by mailgunProof
	if err := checkTimestampAge(secs, req, toleranceOf(creds.Settings)); err != nil {
		return Proof{}, fmt.Errorf("%s: %w", mailgunTimestampPath, err)
	}
	// The event is named by what the signature covers, so a captured signature block
	// replayed with other event-data is the same event (docs/providers/mailgun.md).
	return Proof{Signed: signed}, nil
}

// demoSigningSecret is the demo's secret: load examples of providers whose proof lives inside the
// body are signed with it, as Sign cannot change a body.
const demoSigningSecret = "demo-secret"

// mailgunProof reads the signature block: the timestamp (1 to 19 digits), the token and the
// decoded MAC. A body without a signature block, or not JSON at all, carries no proof.
func mailgunProof(body []byte) (ts, token string, mac []byte, err error) {
	f, scanErr := scanFields(body, mailgunSignatureField, mailgunTimestampPath, mailgunTokenPath, mailgunMACPath)
	if scanErr != nil {
		return "", "", nil, withDiagnosis(fmt.Errorf("body is not a JSON object: %w", ErrMissingProof),
			"the body is not a JSON object, so it carries no Mailgun signature block")
	}
	sig, isString := jsonString(f[3])
	switch {
	case f[0] == nil || string(f[0]) == "null" || f[3] == nil || isString && strings.TrimSpace(sig) == "":
		return "", "", nil, withDiagnosis(fmt.Errorf("%s: %w", mailgunMACPath, ErrMissingProof),
			"the body has no %s", mailgunMACPath)
	case !isString:
		return "", "", nil, withDiagnosis(fmt.Errorf("%s is not a string: %w", mailgunMACPath, ErrMalformedProof),
			"%s is not a JSON string", mailgunMACPath)
	}
	ts, tsOK := jsonString(f[1])
	token, tokenOK := jsonString(f[2])
	switch {
	case !tsOK || ts == "":
		return "", "", nil, withDiagnosis(fmt.Errorf("%s: absent beside a signature: %w", mailgunTimestampPath, ErrMalformedProof),
			"%s, which the signature covers, is missing or not a string", mailgunTimestampPath)
	case !tokenOK || token == "":
		return "", "", nil, withDiagnosis(fmt.Errorf("%s: absent beside a signature: %w", mailgunTokenPath, ErrMalformedProof),
			"%s, which the signature covers, is missing or not a string", mailgunTokenPath)
	}
	if _, err := parseSignedTimestamp(ts); err != nil {
		return "", "", nil, withDiagnosis(fmt.Errorf("%s: %w", mailgunTimestampPath, err),
			"%s is not Unix seconds in 1 to 19 digits", mailgunTimestampPath)
	}
	mac, err = decodeHex(strings.TrimSpace(sig))
	if err != nil {
		return "", "", nil, withDiagnosis(fmt.Errorf("%s: %w", mailgunMACPath, err), "%s is not hex", mailgunMACPath)
	}
	return ts, token, mac, nil
}

// mailgunTime reads event-data.timestamp, Unix seconds with a fraction (1529006854.329574);
// zero when it is absent or no RFC 3339 time can hold it.
func mailgunTime(raw []byte) time.Time {
	text, ok := jsonScalarText(raw)
	if !ok {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxRFC3339Seconds {
		return time.Time{}
	}
	secs := math.Floor(f)
	return time.Unix(int64(secs), int64((f-secs)*1e6)*1e3).UTC()
}

// signInsideBody is the Sign of a provider whose proof is a field of the body: a signature cannot
// be added to a body from outside it, so Sign checks that the body is already signed with the
// first secret and sends it as JSON; howTo says what to put in the body when it is not. An empty
// body (the load tool's check of the credentials) needs no proof.
func signInsideBody(verify func(creds Credentials, body []byte) error, howTo string) SignFunc {
	return func(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		if len(body) > 0 {
			if err := verify(Credentials{Secrets: []string{secret}}, body); err != nil {
				return nil, fmt.Errorf("the body is not signed with this secret (%v); %s", err, howTo)
			}
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		return h, nil
	}
}
