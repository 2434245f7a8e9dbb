package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Okta event hooks. Documentation: "Event hooks" (https://developer.okta.com/docs/concepts/event-hooks/,
// docs/providers/okta.md): Okta sends the "Authentication secret" configured for the hook, as
// typed, in the header named by its "Authentication field" (Authorization); nothing is signed. A
// new hook is verified once by a GET carrying X-Okta-Verification-Challenge, answered 200 with
// {"verification": <the challenge>}. Events arrive in batches: data.events[], each with its own
// eventType; the envelope's eventId identifies the delivery.
const (
	OktaAuthorizationHeader = "Authorization"
	OktaChallengeHeader     = "X-Okta-Verification-Challenge"
)

// Okta declares the Okta event hooks provider.
var Okta = &Provider{
	Name:       "okta",
	TypePrefix: "com.okta",
	// "Your service's responses … should all be empty, and should have an HTTP status code of 200".
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	DemoCredentials:  secretsOnly,
	CheckCredentials: needSecret,
	Load: LoadProfile{
		DefaultType: "user.session.start",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			at := now.UTC().Format("2006-01-02T15:04:05.000Z")
			body := `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",` +
				`"source":"https://loadgen.okta.com/api/v1/eventHooks/whoLoadgen","eventId":"` + id + `","eventTime":"` + at + `",` +
				`"contentType":"application/json","data":{"events":[{"uuid":"` + id + `-1","published":"` + at + `","eventType":"` + eventType + `",` +
				`"actor":{"id":"00uLoad` + num + `","type":"User"},"target":[{"id":"00uLoad` + num + `","type":"User"}]}]}}`
			return Example{Body: []byte(body), ID: id}
		},
	},

	// The one-time verification: a GET whose Authorization is the configured secret (Okta sends
	// it here too) is answered with the challenge; without it, or with another, 401, so that the
	// answer proves nothing to someone who does not know the secret.
	Handshake: func(req Request, creds Credentials) (Answer, bool) {
		if req.Method != http.MethodGet || len(req.Header.Values(OktaChallengeHeader)) == 0 {
			return Answer{}, false
		}
		if err := verifyToken(req.Header, OktaAuthorizationHeader, creds.Secrets); err != nil {
			return emptyAnswer(http.StatusUnauthorized), true
		}
		body, err := json.Marshal(map[string]string{"verification": req.Header.Get(OktaChallengeHeader)})
		if err != nil {
			return emptyAnswer(http.StatusBadRequest), true
		}
		return Answer{Status: http.StatusOK, ContentType: "application/json", Body: body}, true
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		return verifyToken(req.Header, OktaAuthorizationHeader, creds.Secrets)
	}),

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, "eventId", "eventTime", "data.events")
		if err != nil {
			return Event{}, err
		}
		ev := Event{ID: stringOrNumber(f[0])}
		if t, err := time.Parse(time.RFC3339Nano, stringOrNumber(f[1])); err == nil && t.Year() <= 9999 {
			ev.Time = t.UTC()
		}
		// A batch is one CloudEvent, named after its first event; the body keeps them all.
		first, _ := firstElement(f[2])
		e, err := scanFields(first, "eventType", "actor.id", "target")
		eventType, _ := jsonString(e[0])
		if err != nil || eventType == "" {
			return ev, fmt.Errorf("no data.events[0].eventType: %w", ErrUnmappable)
		}
		ev.Type = strings.ToLower(eventType)
		// The entity the event is about: its first target (the user added to a group, the
		// application assigned), else the actor (the user who signed in).
		if target, ok := firstElement(e[2]); ok {
			if t, err := scanFields(target, "id"); err == nil {
				ev.Subject = stringOrNumber(t[0])
			}
		}
		if ev.Subject == "" {
			ev.Subject = stringOrNumber(e[1])
		}
		return ev, nil
	},

	Sign: func(creds Credentials, _ []byte, _ time.Time) (http.Header, error) {
		return tokenHeader(OktaAuthorizationHeader, creds)
	},
}

// firstElement returns the first element of raw, a JSON array as scanFields found it (already
// checked to be valid JSON); false when raw is no array or an empty one.
func firstElement(raw []byte) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') || !dec.More() {
		return nil, false
	}
	var first json.RawMessage
	if err := dec.Decode(&first); err != nil {
		return nil, false
	}
	return first, true
}
