package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ZignSec (electronic identification, SMS). Documentation: "Webhooks" (seeds/002) and the fuller
// public docs (PROVIDERS.md). Two generations share one header:
//   - legacy (v2 eIDs): HMAC-SHA256(secret, raw body), base64 in the seed's C# sample, lower-case
//     hex in production receivers: either is accepted;
//   - session/workflow API: "t=<timestamp>,v1=<hex>[,v1=<hex>…]" with the hex
//     HMAC-SHA256(secret, "{t}.{raw body}").
//
// A value containing "v1=" is the newer scheme; a legacy MAC never contains it (hex has no "=",
// and a 32-byte MAC's base64 ends in one of "AEIMQUYcgkosw048" before its "=").
const zignSecSignatureHeader = "X-ZignSec-Hmac-SHA256"

// ZignSec declares the ZignSec provider.
var ZignSec = &Provider{
	Name:       "zignsec",
	TypePrefix: "com.zignsec",
	// "Any 2xx acknowledges"; nothing is said about the body.
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	CheckCredentials: needSecret,

	Authenticate: func(req Request, creds Credentials) error {
		value, err := proofHeader(req.Header, zignSecSignatureHeader)
		if err != nil {
			return err
		}
		if !strings.Contains(value, "v1=") {
			return verifyMAC(req.Header, zignSecSignatureHeader, decodeHexOrBase64, sha256.New, creds.Secrets, req.Body)
		}
		ts, sigs, err := parseZignSecSignature(value)
		if err != nil {
			return fmt.Errorf("header %s: %w", zignSecSignatureHeader, err)
		}
		// The timestamp is only checked for presence: ZignSec retries for up to 48 hours with
		// the original signature, and documents no tolerance. Each secret's MAC is computed
		// once, however many v1 values the header carries.
		macs := make(map[string][]byte, len(creds.Secrets))
		for _, s := range creds.Secrets {
			macs[s] = macOf(sha256.New, s, []byte(ts), []byte("."), req.Body)
		}
		matched := false
		for _, sig := range sigs {
			if anySecret(creds.Secrets, sig, func(s string) []byte { return macs[s] }) {
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("header %s: %w", zignSecSignatureHeader, ErrBadSignature)
		}
		return nil
	},

	Map: func(req Request) (Event, error) {
		// Keys are matched case-insensitively (encoding/json does), as ZignSec's .NET services
		// have been seen to capitalise them.
		var body struct {
			Event             string          `json:"event"`
			ID                json.RawMessage `json:"id"`
			WorkflowSessionID json.RawMessage `json:"workflow_session_id"`
			Identity          json.RawMessage `json:"identity"`
			BankIDSE          json.RawMessage `json:"BankIDSE"`
			Method            json.RawMessage `json:"method"`
			Status            json.RawMessage `json:"status"`
		}
		if err := decodeFields(req.Body, &body); err != nil {
			return Event{}, err
		}
		// The id names a session (or an SMS) that sends many events, and an SMS status change
		// reuses it with a new status: it is the subject, never the event id, so the bridge
		// uses the hash of the body and each distinct body is its own event.
		id := stringOrNumber(body.ID)
		switch {
		case strings.TrimSpace(body.Event) != "":
			// Session/workflow API: session_created, workflow_session_created, session_updated,
			// workflow_session_state_updated, seen capitalised as Session_Created.
			if id == "" {
				id = stringOrNumber(body.WorkflowSessionID)
			}
			return Event{Type: strings.ToLower(strings.TrimSpace(body.Event)), Subject: id}, nil
		case zignSecHas(body.Identity) || zignSecHas(body.BankIDSE) || zignSecHas(body.Method):
			// Legacy v2 eID: the body is the collect result of a finished identification.
			return Event{Type: "identification.completed", Subject: id}, nil
		case zignSecHas(body.Status) && id != "":
			// SMS API: "a webhook each time the SMS delivery status changes", carrying the
			// message's id and its status. The documentation shows no example, so any body with
			// an id and a status but no identification fields is taken as one; the status itself
			// stays in the data rather than in the type, which keeps one subject per product.
			return Event{Type: "sms.status_changed", Subject: id}, nil
		}
		return Event{}, fmt.Errorf("no event, identification result or SMS status: %w", ErrUnmappable)
	},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(zignSecSignatureHeader, "t="+ts+",v1="+hexMAC(sha256.New, secret, []byte(ts), []byte("."), body))
		return h, nil
	},
}

// parseZignSecSignature reads "t=<ts>,v1=<hex>[,v1=<hex>…]": exactly one non-empty t, at least one
// v1, every v1 valid hex. Other keys are ignored, as for schemes of this shape new versions are
// added beside v1.
func parseZignSecSignature(value string) (ts string, sigs [][]byte, err error) {
	haveTS := false
	for _, part := range strings.Split(value, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("element without \"=\": %w", ErrMalformedProof)
		}
		switch strings.TrimSpace(key) {
		case "t":
			if haveTS {
				return "", nil, fmt.Errorf("t given twice: %w", ErrMalformedProof)
			}
			ts, haveTS = strings.TrimSpace(val), true
		case "v1":
			sig, err := decodeHex(strings.TrimSpace(val))
			if err != nil {
				return "", nil, fmt.Errorf("v1: %w", err)
			}
			sigs = append(sigs, sig)
		}
	}
	switch {
	case ts == "":
		return "", nil, fmt.Errorf("no t: %w", ErrMalformedProof)
	case len(sigs) == 0:
		return "", nil, fmt.Errorf("no v1: %w", ErrMalformedProof)
	}
	return ts, sigs, nil
}

// zignSecHas reports whether a field is present and not null.
func zignSecHas(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}
