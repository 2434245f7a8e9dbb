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

// Auth0 log streams ("Custom Webhook"). Documentation: "Create Custom Log Streams Using Webhooks"
// (https://auth0.com/docs/customize/log-streams/custom-log-streams, docs/providers/auth0.md): the
// stream's "Authorization Token" is sent as it is in Authorization ("Bearer …" only if the user
// typed it so); nothing is signed. Its "Content Format" decides the body: JSON Array and JSON
// Lines carry a batch of logs, JSON Object one log. A log is {"log_id": …, "data": {"type": …,
// "date": …, "user_id": …, …}}; data.type is Auth0's event code ("s", "f", "sapi", …).
const Auth0AuthorizationHeader = "Authorization"

// Auth0 declares the Auth0 log streams provider.
var Auth0 = &Provider{
	Name:             "auth0",
	TypePrefix:       "com.auth0",
	Success:          emptyAnswer(http.StatusOK),
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	DemoCredentials:  secretsOnly,
	CheckCredentials: needSecret,
	Load: LoadProfile{
		DefaultType: "log.s",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			code := strings.TrimPrefix(eventType, "log.")
			body := `{"log_id":"` + id + `","data":{"date":"` + now.UTC().Format("2006-01-02T15:04:05.000Z") + `","type":"` + code +
				`","description":"Successful login","client_id":"loadgen","user_id":"auth0|load` + num + `","log_id":"` + id + `"}}`
			return Example{Body: []byte(body), ID: id}
		},
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		return verifyToken(req.Header, Auth0AuthorizationHeader, creds.Secrets)
	}),

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, "log_id", "data.log_id", "data.type", "data.date", "data.user_id")
		if err != nil {
			// A batch (JSON Array, or JSON Lines): one CloudEvent for the request, its id the
			// body's hash, so that a retried batch is one event and no two batches collide.
			if auth0Batch(req.Body) {
				return Event{Type: "logs"}, nil
			}
			return Event{}, fmt.Errorf("neither a log object, a JSON array nor JSON lines: %w", ErrUnmappable)
		}
		// JSON Object: one log, named by its event code.
		ev := Event{ID: stringOrNumber(f[0]), Subject: stringOrNumber(f[4])}
		if ev.ID == "" {
			ev.ID = stringOrNumber(f[1])
		}
		if t, err := time.Parse(time.RFC3339Nano, stringOrNumber(f[3])); err == nil && t.Year() <= 9999 {
			ev.Time = t.UTC()
		}
		code := strings.ToLower(strings.TrimSpace(stringOrNumber(f[2])))
		if code == "" {
			return ev, fmt.Errorf("no data.type: %w", ErrUnmappable)
		}
		ev.Type = "log." + code
		return ev, nil
	},

	Sign: func(creds Credentials, _ []byte, _ time.Time) (http.Header, error) {
		return tokenHeader(Auth0AuthorizationHeader, creds)
	},
}

// auth0Batch reports whether body is a JSON array, or JSON objects one a line (JSON Lines;
// blank lines allowed), as Auth0's batched content formats send them.
func auth0Batch(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		return json.Valid(body)
	}
	lines := 0
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		if _, err := scanFields(line); err != nil {
			return false
		}
		lines++
	}
	return lines > 1
}
