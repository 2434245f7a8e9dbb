package providers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Svix (docs/providers/svix.md) sends webhooks for many services, Clerk and Resend among them.
// Its scheme is Standard Webhooks under other header names: svix-id, svix-timestamp and
// svix-signature, a space-separated list of "v1,<base64>", each the base64 HMAC-SHA256 of
// "{svix-id}.{svix-timestamp}.{body}" keyed with the base64 after the secret's "whsec_"; any entry
// may match; the timestamp within five minutes of now, either way
// (https://docs.svix.com/receiving/verifying-payloads/how-manual). The three presets are one
// scheme; they differ in their type prefix and in what names the event's entity.
const (
	SvixIDHeader        = "svix-id"
	SvixTimestampHeader = "svix-timestamp"
	SvixSignatureHeader = "svix-signature"
)

// Svix declares the svix preset: any sender that delivers through Svix.
var Svix = svixPreset(svixSpec{
	name:       "svix",
	typePrefix: "com.svix",
	// Svix's own envelope is the specification's: {"type", "timestamp" (RFC 3339), "data"}.
	timeField:   "timestamp",
	defaultType: "invoice.paid",
	example: func(eventType, ref string, now time.Time) string {
		return `{"type":"` + eventType + `","timestamp":"` + now.UTC().Format(time.RFC3339) +
			`","data":{"invoice":"in_` + ref + `","amount":1200}}`
	},
})

// Clerk declares the clerk preset (https://clerk.com/docs/webhooks/overview): {"type", "object":
// "event", "timestamp" (Unix milliseconds), "instance_id", "data"}, data the user, organisation,
// session, … the event is about.
var Clerk = svixPreset(svixSpec{
	name:           "clerk",
	typePrefix:     "com.clerk",
	subjectFields:  []string{"data.id"},
	timeField:      "timestamp",
	timeUnixMillis: true,
	defaultType:    "user.created",
	example: func(eventType, ref string, now time.Time) string {
		return `{"data":{"id":"user_` + ref + `","object":"user","first_name":"Example"},"instance_id":"ins_loadgen","object":"event",` +
			`"timestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `,"type":"` + eventType + `"}`
	},
})

// Resend declares the resend preset (https://resend.com/docs/dashboard/webhooks/introduction):
// {"type", "created_at" (RFC 3339), "data"}, data.email_id naming the e-mail of email.* events
// and data.id the contact or domain of the others.
var Resend = svixPreset(svixSpec{
	name:          "resend",
	typePrefix:    "com.resend",
	subjectFields: []string{"data.email_id", "data.id"},
	timeField:     "created_at",
	defaultType:   "email.delivered",
	example: func(eventType, ref string, now time.Time) string {
		return `{"type":"` + eventType + `","created_at":"` + now.UTC().Format(time.RFC3339Nano) +
			`","data":{"email_id":"` + ref + `","from":"Acme <onboarding@resend.dev>","to":["delivered@resend.dev"],"subject":"Sending this example"}}`
	},
})

// svixSpec describes one sender that delivers through Svix.
type svixSpec struct {
	name       string // the provider's name: "clerk"
	typePrefix string // "com.clerk"
	// subjectFields are dotted JSON paths; the first that holds a string or number names the
	// entity (nil: no subject).
	subjectFields []string
	// timeField is the body's event time, RFC 3339 text or, with timeUnixMillis, a number of
	// Unix milliseconds; absent or unreadable, the time is svix-timestamp's (the attempt's).
	timeField      string
	timeUnixMillis bool
	// defaultType and example describe its webhooks to the load tool; example writes a body of
	// eventType whose entity is named ref.
	defaultType string
	example     func(eventType, ref string, now time.Time) string
}

// svixPreset builds a provider from spec. Secrets, their decoding and timestamp_tolerance are
// those of the standard-webhooks provider; only the header names differ.
func svixPreset(spec svixSpec) *Provider {
	return &Provider{
		Name:       spec.name,
		TypePrefix: spec.typePrefix,
		// Svix counts any 2xx as delivered (https://docs.svix.com/retries); Clerk's and Resend's
		// samples answer 200.
		Success:          emptyAnswer(http.StatusOK),
		Rejection:        emptyAnswer(http.StatusUnauthorized),
		Retry:            retryLater(http.StatusServiceUnavailable),
		CheckCredentials: checkStandardWebhooksSecrets,
		DemoCredentials:  StandardWebhooks.DemoCredentials,
		SettingKeys:      []string{timestampToleranceKey},
		Configure:        StandardWebhooks.Configure,
		Authenticate:     rawBody(authenticateSvix),
		Map:              spec.mapEvent,
		Sign:             signSvix,
		Load: LoadProfile{
			DefaultType: spec.defaultType,
			Example: func(eventType, run string, n uint64, now time.Time) Example {
				body := spec.example(eventType, "load_"+run+"_"+strconv.FormatUint(n, 10), now)
				return Example{Body: []byte(body), IDFromBody: standardWebhooksMessageID}
			},
		},
	}
}

// authenticateSvix verifies the svix-* headers with the Standard Webhooks library, which reads
// only the webhook-* names: it is handed the same values under those.
func authenticateSvix(req Request, creds Credentials) error {
	// The signature header first: a request without it has presented no proof at all; one with
	// it but without the id or timestamp it covers is malformed, never "unsigned".
	signature, err := proofHeader(req.Header, SvixSignatureHeader)
	if err != nil {
		return err
	}
	id, err := signedHeader(req.Header, SvixIDHeader)
	if err != nil {
		return err
	}
	value, err := signedHeader(req.Header, SvixTimestampHeader)
	if err != nil {
		return err
	}
	// Digits only, so that no byte of the body can move into the header (scheme.go).
	ts, err := parseSignedTimestamp(value)
	if err != nil {
		return fmt.Errorf("header %s: %w", SvixTimestampHeader, err)
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, value)
	h.Set(standardwebhooks.HeaderWebhookSignature, signature)
	matched := false
	for _, wh := range standardWebhooksKeys(creds) {
		// Constant time in the library (hmac.Equal); every secret is tried.
		if wh.VerifyIgnoringTimestamp(req.Body, h) == nil {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("header %s: no v1 signature matches: %w", SvixSignatureHeader, ErrBadSignature)
	}
	tolerance := toleranceOf(creds.Settings)
	if tolerance <= 0 {
		tolerance = DefaultTimestampTolerance
	}
	if err := checkTimestampAge(ts, req, tolerance); err != nil {
		return fmt.Errorf("header %s: %w", SvixTimestampHeader, err)
	}
	return nil
}

// mapEvent reads the event: its id the signed svix-id (the same on every retry), its type the
// body's "type", its time the body's event time or else svix-timestamp.
func (spec svixSpec) mapEvent(req Request) (Event, error) {
	ev := Event{ID: strings.TrimSpace(req.Header.Get(SvixIDHeader))}
	if ts, err := strconv.ParseInt(strings.TrimSpace(req.Header.Get(SvixTimestampHeader)), 10, 64); err == nil &&
		ts >= 0 && ts <= maxRFC3339Seconds {
		ev.Time = time.Unix(ts, 0).UTC()
	}
	f, err := scanFields(req.Body, append([]string{"type", spec.timeField}, spec.subjectFields...)...)
	if err != nil {
		return ev, err // unmapped, but still the sender's message id: its retries stay one event
	}
	if t, ok := spec.eventTime(f[1]); ok {
		ev.Time = t
	}
	for i := range spec.subjectFields {
		if ev.Subject = stringOrNumber(f[2+i]); ev.Subject != "" {
			break
		}
	}
	eventType, ok := jsonString(f[0])
	if !ok || strings.TrimSpace(eventType) == "" {
		return ev, fmt.Errorf("no type: %w", ErrUnmappable)
	}
	ev.Type = strings.ToLower(strings.TrimSpace(eventType))
	return ev, nil
}

// eventTime reads the body's event time: RFC 3339 text, or a number of Unix milliseconds where
// the sender writes one (Clerk's "timestamp").
func (spec svixSpec) eventTime(raw []byte) (time.Time, bool) {
	if s, ok := jsonString(raw); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err == nil
	}
	if !spec.timeUnixMillis {
		return time.Time{}, false
	}
	if ms, err := strconv.ParseInt(string(raw), 10, 64); err == nil && ms >= 0 && ms/1000 <= maxRFC3339Seconds {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

// signSvix signs as Svix does, with the first secret.
func signSvix(creds Credentials, body []byte, now time.Time) (http.Header, error) {
	return signStandardWebhooks(creds, body, now, SvixIDHeader, SvixTimestampHeader, SvixSignatureHeader)
}
