package providers

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Aghanim (game payments and web shop). Documentation: "Handle webhooks" (docs/providers/aghanim.md): the
// signature is the hex HMAC-SHA256 of "{timestamp}.{raw payload}" keyed with the S2S key.
const (
	AghanimSignatureHeader = "X-Aghanim-Signature"
	AghanimTimestampHeader = "X-Aghanim-Signature-Timestamp"
)

// Aghanim declares the Aghanim provider.
var Aghanim = &Provider{
	Name:            "aghanim",
	TypePrefix:      "com.aghanim",
	Success:         jsonAnswer(http.StatusOK, `{"status":"ok"}`),
	Rejection:       jsonAnswer(http.StatusForbidden, `{"status":"error","message":"Invalid signature"}`),
	Retry:           retryLater(http.StatusServiceUnavailable),
	DemoCredentials: secretsOnly,
	Load: LoadProfile{
		DefaultType: "player.update",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "whevt_load_" + run + "_" + num
			body := `{"event_id":"` + id + `","event_type":"` + eventType + `","event_time":` + strconv.FormatInt(now.Unix(), 10) +
				`,"event_data":{"player_id":"load_player_` + num + `"},"sandbox":true,"game_id":"gm_loadgen"}`
			return Example{Body: []byte(body), ID: id}
		},
	},
	// These events are questions: the game expects data in the answer (docs/providers/aghanim.md).
	DefaultReplyEvents: []string{"player.verify", "player.lookup", "store.get"},
	CheckCredentials:   needSecret,

	// timestamp_tolerance (docs/providers/aghanim.md) is off unless set: the timestamp equals
	// event_time and a retry carries the original, so Aghanim documents no age limit.
	SettingKeys: []string{timestampToleranceKey},
	Configure:   configureTimestampTolerance,

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		// The signature header first: a request without it has presented no proof at all.
		if _, err := proofHeader(req.Header, AghanimSignatureHeader); err != nil {
			return err
		}
		value, err := signedHeader(req.Header, AghanimTimestampHeader)
		if err != nil {
			return err
		}
		// Digits only, so that no byte of the body can move into the header (scheme.go).
		ts, err := parseSignedTimestamp(value)
		if err != nil {
			return fmt.Errorf("header %s: %w", AghanimTimestampHeader, err)
		}
		if err := verifyMAC(req.Header, AghanimSignatureHeader, decodeHex, sha256.New, creds.Secrets,
			[]byte(value), []byte("."), req.Body); err != nil {
			return err
		}
		if err := checkTimestampAge(ts, req, toleranceOf(creds.Settings)); err != nil {
			return fmt.Errorf("header %s: %w", AghanimTimestampHeader, err)
		}
		return nil
	}),

	Map: func(req Request) (Event, error) {
		// event_data differs per event type; only an object's player_id is read.
		f, err := scanFields(req.Body, "event_type", "event_id", "event_time", "event_data.player_id")
		if err != nil {
			return Event{}, err
		}
		eventType, isString := jsonString(f[0])
		if f[0] != nil && !isString && string(f[0]) != "null" {
			return Event{}, fmt.Errorf("event_type is not a string: %w", ErrUnmappable)
		}
		if eventType == "" {
			return Event{}, fmt.Errorf("no event_type: %w", ErrUnmappable)
		}
		ev := Event{
			Type:    eventType,
			ID:      stringOrNumber(f[1]), // the bridge falls back to the body hash for an unusable id
			Subject: stringOrNumber(f[3]),
		}
		// The "Testing" request has no event_time: the bridge then uses the time of receipt, as
		// it does for a time no RFC 3339 timestamp can carry.
		if secs, ok := unixSeconds(f[2]); ok && secs >= 0 && secs <= maxRFC3339Seconds {
			ev.Time = time.Unix(secs, 0).UTC()
		}
		return ev, nil
	},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(AghanimTimestampHeader, ts)
		h.Set(AghanimSignatureHeader, hexMAC(sha256.New, secret, []byte(ts), []byte("."), body))
		return h, nil
	},
}

// maxRFC3339Seconds is 9999-12-31T23:59:59Z, the last second an RFC 3339 timestamp can write.
const maxRFC3339Seconds = 253402300799
