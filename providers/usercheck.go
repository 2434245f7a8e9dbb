package providers

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// UserCheck (email and domain checks). Documentation: "Webhooks — Security"
// (https://www.usercheck.com/docs/webhooks/security): X-UserCheck-Signature is the hex
// HMAC-SHA256 of the payload. Its PHP, Node.js and Python samples each sign their own
// re-encoding of the decoded JSON, not the bytes received, and a sender may have been built from
// any of them: the raw body is tried first, then each sample's form (usercheck_encode.go).
const (
	UserCheckSignatureHeader = "X-UserCheck-Signature"
	UserCheckEventHeader     = "X-UserCheck-Event-Type"
)

// userCheckMaxReencode bounds the bodies that are re-encoded when the raw body's signature does
// not match. UserCheck's events are about a hundred bytes; re-encoding costs far more than a MAC
// (BenchmarkUserCheckForgedSignature64KiB: eight to forty times the raw body's MAC at this size),
// and anyone can send a large body with a wrong signature.
const userCheckMaxReencode = 64 << 10

// userCheckForms are the re-encodings the documentation's receiver samples sign, in the order
// they are tried after the raw body.
var userCheckForms = []func(doc *jsonDoc, out []byte) ([]byte, error){
	(*jsonDoc).phpForm,    // PHP: json_encode(json_decode($body, true))
	(*jsonDoc).jsForm,     // Node.js: JSON.stringify(JSON.parse(body))
	(*jsonDoc).pythonForm, // Python: json.dumps(json.loads(body))
}

// UserCheck declares the UserCheck provider.
var UserCheck = &Provider{
	Name:            "usercheck",
	TypePrefix:      "com.usercheck",
	Success:         jsonAnswer(http.StatusOK, `{"status":"success"}`),
	Rejection:       jsonAnswer(http.StatusUnauthorized, `{"status":"error","message":"Invalid signature"}`),
	Retry:           retryLater(http.StatusServiceUnavailable),
	DemoCredentials: secretsOnly,
	Load: LoadProfile{
		DefaultType: "domain.flagged.spam",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			body := `{"event":"` + eventType + `","created_at":"` + now.UTC().Format(time.RFC3339) + `","data":{"domain":"load-` +
				strings.ReplaceAll(run, "_", "-") + "-" + strconv.FormatUint(n, 10) + `.example.org"}}`
			return Example{Body: []byte(body)} // no id: the bridge uses the body's hash
		},
	},
	CheckCredentials: needSecret,

	Authenticate: func(req Request, creds Credentials) (Proof, error) {
		err := verifyMAC(req.Header, UserCheckSignatureHeader, decodeHex, sha256.New, creds.Secrets, req.Body)
		if !errors.Is(err, ErrBadSignature) || len(req.Body) > userCheckMaxReencode {
			return Proof{}, err
		}
		// A body parseJSONDoc refuses (not JSON, nested deeper than jsonMaxDepth, an object
		// repeating a key) has no form to try: the raw body's failure stands.
		doc, perr := parseJSONDoc(req.Body)
		if perr != nil {
			return Proof{}, err
		}
		// A form that is the raw body or an earlier form has been tried already.
		tried := [][]byte{req.Body}
		for _, encode := range userCheckForms {
			form, ferr := encode(doc, make([]byte, 0, len(req.Body)+len(req.Body)/8))
			if ferr != nil || slices.ContainsFunc(tried, func(t []byte) bool { return bytes.Equal(t, form) }) {
				continue
			}
			if verifyMAC(req.Header, UserCheckSignatureHeader, decodeHex, sha256.New, creds.Secrets, form) == nil {
				return Proof{Signed: form}, nil
			}
			tried = append(tried, form)
		}
		return Proof{}, err
	},

	Map: func(req Request) (Event, error) {
		// Only "event" has to be a string; a created_at or data of another shape just leaves
		// the time or the subject unset.
		f, err := scanFields(req.Body, "event", "created_at", "data.domain")
		if err != nil {
			return Event{}, err
		}
		event, isString := jsonString(f[0])
		if f[0] != nil && !isString && string(f[0]) != "null" {
			return Event{}, fmt.Errorf("event is not a string: %w", ErrUnmappable)
		}
		if event == "" {
			event = req.Header.Get(UserCheckEventHeader)
		}
		if event == "" {
			return Event{}, fmt.Errorf("no event: %w", ErrUnmappable)
		}
		ev := Event{Type: event, Subject: stringOrNumber(f[2])}
		if createdAt, ok := jsonStringBytes(f[1]); ok {
			if t, err := time.Parse(time.RFC3339, string(createdAt)); err == nil {
				ev.Time = t.UTC()
			}
		}
		return ev, nil
	},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(UserCheckSignatureHeader, hexMAC(sha256.New, secret, body))
		// The header names the event Map reads from the body: read the same way (keys matched
		// exactly, nesting within jsonMaxDepth), not by encoding/json, which folds case and
		// admits deeper bodies.
		if f, err := scanFields(body, "event"); err == nil {
			if event, _ := jsonString(f[0]); event != "" {
				h.Set(UserCheckEventHeader, event)
			}
		}
		return h, nil
	},
}
