package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Presets that an hmac block expresses (docs/providers/<name>.md): each sender below is exactly
// the block written in its spec, shipped with the bridge, so an endpoint names only the sender
// and its secrets (`provider: github`). Each block says where the sender's signature, delivery
// id and event type are, as the sender documents them; the page of each preset cites the
// sender's documentation.

// Header names the presets read, as each sender spells them.
const (
	ShopifySignatureHeader = "X-Shopify-Hmac-Sha256"
	ShopifyWebhookIDHeader = "X-Shopify-Webhook-Id"
	ShopifyTopicHeader     = "X-Shopify-Topic"

	// IntercomSignatureHeader is also Bitbucket's and Jira's (each with its own hash).
	IntercomSignatureHeader  = "X-Hub-Signature"
	BitbucketSignatureHeader = "X-Hub-Signature"
	BitbucketEventHeader     = "X-Event-Key"
	BitbucketRequestHeader   = "X-Request-UUID"

	TypeformSignatureHeader = "Typeform-Signature"

	CoinbaseCommerceSignatureHeader = "X-CC-Webhook-Signature"

	MetaSignatureHeader = "X-Hub-Signature-256"

	VercelSignatureHeader = "X-Vercel-Signature"

	SegmentSignatureHeader = "X-Signature"

	SentrySignatureHeader = "Sentry-Hook-Signature"
	SentryResourceHeader  = "Sentry-Hook-Resource"
	SentryRequestIDHeader = "Request-ID"

	LinearSignatureHeader = "Linear-Signature"
	LinearDeliveryHeader  = "Linear-Delivery"

	// DocuSignSignatureHeader is the first of DocuSign's numbered signature headers.
	DocuSignSignatureHeader = "X-DocuSign-Signature-1"

	JiraSignatureHeader  = "X-Hub-Signature"
	JiraIdentifierHeader = "X-Atlassian-Webhook-Identifier"
)

// GitHubPreset: "sha256=" + hex HMAC-SHA256 of the raw body; X-GitHub-Delivery is a GUID per
// delivery (the same on a redelivery), X-GitHub-Event the event
// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
// https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers).
var GitHubPreset = hmacPreset(hmacPresetSpec{
	name:       "github",
	typePrefix: "com.github",
	block: `
header: X-Hub-Signature-256
algorithm: sha256
encoding: hex
prefix: "sha256="
id_header: X-GitHub-Delivery
type_header: X-GitHub-Event
`,
	load: LoadProfile{
		DefaultType: "push",
		Example: headerExample(GitHubDeliveryHeader, GitHubEventHeader, func(id, eventType, num string, now time.Time) string {
			return `{"ref":"refs/heads/main","after":"` + id + `","repository":{"id":` + num +
				`,"full_name":"octocat/Hello-World"},"sender":{"login":"octocat"},"pushed_at":"` + now.UTC().Format(time.RFC3339) + `"}`
		}),
	},
})

// ShopifyPreset: base64 HMAC-SHA256 of the raw body keyed with the app's client secret;
// X-Shopify-Webhook-Id is the same on each retry, X-Shopify-Topic names the event
// (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify).
var ShopifyPreset = hmacPreset(hmacPresetSpec{
	name:       "shopify",
	typePrefix: "com.shopify",
	block: `
header: X-Shopify-Hmac-Sha256
algorithm: sha256
encoding: base64
id_header: X-Shopify-Webhook-Id
type_header: X-Shopify-Topic
`,
	load: LoadProfile{
		DefaultType: "orders/create",
		Example: headerExample(ShopifyWebhookIDHeader, ShopifyTopicHeader, func(id, _, num string, now time.Time) string {
			return `{"id":` + num + `,"admin_graphql_api_id":"gid://shopify/Order/` + num + `","name":"#` + num +
				`","note":"` + id + `","created_at":"` + now.UTC().Format(time.RFC3339) + `","total_price":"10.00","currency":"USD"}`
		}),
	},
})

// IntercomPreset: "sha1=" + hex HMAC-SHA1 of the raw body keyed with the app's client_secret;
// the notification's id and topic are in the body
// (https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications).
var IntercomPreset = hmacPreset(hmacPresetSpec{
	name:       "intercom",
	typePrefix: "com.intercom",
	block: `
header: X-Hub-Signature
algorithm: sha1
encoding: hex
prefix: "sha1="
id_field: id
type_field: topic
`,
	load: LoadProfile{
		DefaultType: "conversation.user.created",
		Example: fieldExample(func(id, eventType, num string, now time.Time) string {
			return `{"type":"notification_event","app_id":"abc123","id":"` + id + `","topic":"` + eventType +
				`","delivery_attempts":1,"created_at":` + strconv.FormatInt(now.Unix(), 10) +
				`,"data":{"type":"notification_event_data","item":{"type":"conversation","id":"` + num + `"}}}`
		}),
	},
})

// BitbucketPreset: "sha256=" + hex HMAC-SHA256 of the raw body; X-Event-Key names the event,
// X-Request-UUID the request
// (https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks,
// https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#HTTP-headers).
var BitbucketPreset = hmacPreset(hmacPresetSpec{
	name:       "bitbucket",
	typePrefix: "com.bitbucket",
	block: `
header: X-Hub-Signature
algorithm: sha256
encoding: hex
prefix: "sha256="
id_header: X-Request-UUID
type_header: X-Event-Key
`,
	load: LoadProfile{
		DefaultType: "repo:push",
		Example: headerExample(BitbucketRequestHeader, BitbucketEventHeader, func(id, _, num string, now time.Time) string {
			return `{"actor":{"display_name":"Load"},"repository":{"full_name":"team/repo-` + num +
				`"},"push":{"changes":[{"new":{"name":"main","target":{"hash":"` + id + `","date":"` +
				now.UTC().Format(time.RFC3339) + `"}}}]}}`
		}),
	},
})

// TypeformPreset: "sha256=" + base64 HMAC-SHA256 of the raw body; event_id and event_type in the
// body (https://www.typeform.com/developers/webhooks/secure-your-webhooks/).
var TypeformPreset = hmacPreset(hmacPresetSpec{
	name:       "typeform",
	typePrefix: "com.typeform",
	block: `
header: Typeform-Signature
algorithm: sha256
encoding: base64
prefix: "sha256="
id_field: event_id
type_field: event_type
`,
	load: LoadProfile{
		DefaultType: "form_response",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"event_id":"` + id + `","event_type":"` + eventType + `","form_response":{"form_id":"lT4Z3j","token":"` +
				id + `","submitted_at":"` + now.UTC().Format(time.RFC3339) + `","answers":[]}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
})

// CoinbaseCommercePreset: hex HMAC-SHA256 of the raw body keyed with the shared secret; the
// event's id and type are under "event"
// (https://docs.cdp.coinbase.com/commerce-onchain/docs/webhooks-security).
var CoinbaseCommercePreset = hmacPreset(hmacPresetSpec{
	name:       "coinbase-commerce",
	typePrefix: "com.coinbase-commerce",
	block: `
header: X-CC-Webhook-Signature
algorithm: sha256
encoding: hex
id_field: event.id
type_field: event.type
`,
	load: LoadProfile{
		DefaultType: "charge:created",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"id":"attempt-` + id + `","scheduled_for":"` + now.UTC().Format(time.RFC3339) + `","attempt_number":1,` +
				`"event":{"id":"` + id + `","resource":"event","type":"` + eventType + `","api_version":"2018-03-22","created_at":"` +
				now.UTC().Format(time.RFC3339) + `","data":{"code":"C` + num + `","resource":"charge"}}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
})

// VercelPreset: hex HMAC-SHA1 of the raw body; id and type in the body
// (https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks).
var VercelPreset = hmacPreset(hmacPresetSpec{
	name:       "vercel",
	typePrefix: "com.vercel",
	block: `
header: X-Vercel-Signature
algorithm: sha1
encoding: hex
id_field: id
type_field: type
`,
	load: LoadProfile{
		DefaultType: "deployment.created",
		Example: fieldExample(func(id, eventType, num string, now time.Time) string {
			return `{"id":"` + id + `","type":"` + eventType + `","createdAt":` + strconv.FormatInt(now.UnixMilli(), 10) +
				`,"payload":{"deployment":{"id":"dpl_` + num + `","url":"load-` + num + `.vercel.app"}}}`
		}),
	},
})

// SegmentPreset: hex HMAC-SHA1 of the raw body keyed with the shared secret; a Segment event's
// messageId and type are in the body
// (https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook).
var SegmentPreset = hmacPreset(hmacPresetSpec{
	name:       "segment",
	typePrefix: "com.segment",
	block: `
header: X-Signature
algorithm: sha1
encoding: hex
id_field: messageId
type_field: type
`,
	load: LoadProfile{
		DefaultType: "track",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"type":"` + eventType + `","event":"Order Completed","messageId":"` + id + `","userId":"user-` + num +
				`","timestamp":"` + now.UTC().Format(time.RFC3339) + `","properties":{"total":10}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
})

// SentryPreset: hex HMAC-SHA256 of the raw body keyed with the integration's client secret;
// Sentry-Hook-Resource names the resource, Request-ID the request
// (https://docs.sentry.io/organization/integrations/integration-platform/webhooks/).
var SentryPreset = hmacPreset(hmacPresetSpec{
	name:       "sentry",
	typePrefix: "com.sentry",
	block: `
header: Sentry-Hook-Signature
algorithm: sha256
encoding: hex
id_header: Request-ID
type_header: Sentry-Hook-Resource
`,
	load: LoadProfile{
		DefaultType: "issue",
		Example: headerExample(SentryRequestIDHeader, SentryResourceHeader, func(id, _, num string, now time.Time) string {
			return `{"action":"created","installation":{"uuid":"` + id + `"},"data":{"issue":{"id":"` + num +
				`","title":"Load","firstSeen":"` + now.UTC().Format(time.RFC3339) + `"}},"actor":{"type":"application","name":"Sentry"}}`
		}),
	},
})

// LinearPreset: bare hex HMAC-SHA256 of the raw body; Linear-Delivery identifies the delivery,
// the body's type names the entity (https://linear.app/developers/webhooks#securing-webhooks).
var LinearPreset = hmacPreset(hmacPresetSpec{
	name:       "linear",
	typePrefix: "com.linear",
	block: `
header: Linear-Signature
algorithm: sha256
encoding: hex
id_header: Linear-Delivery
type_field: type
timestamp_field: webhookTimestamp
timestamp_format: unix_ms
timestamp_tolerance: 1m
`,
	load: LoadProfile{
		DefaultType: "issue",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"action":"create","type":"` + eventType + `","data":{"id":"` + id + `","title":"Load ` + num +
				`"},"url":"https://linear.app/issue/LOAD-` + num + `","createdAt":"` + now.UTC().Format(time.RFC3339) +
				`","webhookTimestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`
			h := http.Header{}
			h.Set(LinearDeliveryHeader, id)
			return Example{Body: []byte(body), Header: h, ID: id}
		},
	},
})

// DocuSignPreset: base64 HMAC-SHA256 of the raw body, one header per active Connect key,
// numbered from 1, any of which may match
// (https://developers.docusign.com/platform/webhooks/connect/validate/). Its JSON body names the
// event; it carries no delivery id.
var DocuSignPreset = hmacPreset(hmacPresetSpec{
	name:       "docusign",
	typePrefix: "com.docusign",
	block: `
header: "X-DocuSign-Signature-{n}"
algorithm: sha256
encoding: base64
type_field: event
`,
	load: LoadProfile{
		DefaultType: "envelope-completed",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `{"event":"` + eventType + `","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/1/envelopes/load-` + run + `-` + num +
				`","retryCount":0,"configurationId":1,"generatedDateTime":"` + now.UTC().Format(time.RFC3339) +
				`","data":{"accountId":"1","envelopeId":"load-` + run + `-` + num + `"}}`
			return Example{Body: []byte(body)}
		},
	},
})

// JiraPreset: admin webhooks with a secret carry "sha256=" + hex HMAC-SHA256 of the raw body;
// X-Atlassian-Webhook-Identifier is the same on each retry, webhookEvent names the event
// (https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks).
var JiraPreset = hmacPreset(hmacPresetSpec{
	name:       "jira",
	typePrefix: "com.jira",
	block: `
header: X-Hub-Signature
algorithm: sha256
encoding: hex
prefix: "sha256="
id_header: X-Atlassian-Webhook-Identifier
type_field: webhookEvent
`,
	load: LoadProfile{
		DefaultType: "jira:issue_created",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"timestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `,"webhookEvent":"` + eventType +
				`","issue_event_type_name":"issue_created","issue":{"id":"` + num + `","key":"LOAD-` + num + `"}}`
			h := http.Header{}
			h.Set(JiraIdentifierHeader, id)
			return Example{Body: []byte(body), Header: h, ID: id}
		},
	},
})

// headerExample is a load example whose id and type travel in headers (GitHub, Shopify, …):
// body writes the body from the id, the type and the example's number.
func headerExample(idHeader, typeHeader string, body func(id, eventType, num string, now time.Time) string) func(string, string, uint64, time.Time) Example {
	return func(eventType, run string, n uint64, now time.Time) Example {
		num := strconv.FormatUint(n, 10)
		id := "load-" + run + "-" + num
		h := http.Header{}
		h.Set(idHeader, id)
		h.Set(typeHeader, eventType)
		return Example{Body: []byte(body(id, eventType, num, now)), Header: h, ID: id}
	}
}

// fieldExample is a load example whose id and type are body fields that body writes.
func fieldExample(body func(id, eventType, num string, now time.Time) string) func(string, string, uint64, time.Time) Example {
	return func(eventType, run string, n uint64, now time.Time) Example {
		num := strconv.FormatUint(n, 10)
		id := "load-" + run + "-" + num
		return Example{Body: []byte(body(id, eventType, num, now)), ID: id}
	}
}

// Presets whose MAC covers a timestamp (and an id, the method or the URL) beside the body, and
// presets whose signature header is key=value pairs with the timestamp inside.

// Header names the timestamped presets read.
const (
	SlackSignatureHeader = "X-Slack-Signature"
	SlackTimestampHeader = "X-Slack-Request-Timestamp"

	ZoomSignatureHeader = "X-Zm-Signature"
	ZoomTimestampHeader = "X-Zm-Request-Timestamp"

	TwitchSignatureHeader   = "Twitch-Eventsub-Message-Signature"
	TwitchMessageIDHeader   = "Twitch-Eventsub-Message-Id"
	TwitchTimestampHeader   = "Twitch-Eventsub-Message-Timestamp"
	TwitchMessageTypeHeader = "Twitch-Eventsub-Message-Type"

	HubSpotSignatureHeader = "X-Hubspot-Signature-V3"
	HubSpotTimestampHeader = "X-Hubspot-Request-Timestamp"

	StripeSignatureHeader   = "Stripe-Signature"
	PaddleSignatureHeader   = "Paddle-Signature"
	CalendlySignatureHeader = "Calendly-Webhook-Signature"
)

// SlackPreset: "v0=" + hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}" keyed with
// the app's signing secret; requests older than five minutes are to be refused. The Events API
// body carries event_id and the event under "event"
// (https://api.slack.com/authentication/verifying-requests-from-slack,
// https://api.slack.com/apis/events-api#callback-field).
var SlackPreset = hmacPreset(hmacPresetSpec{
	name:       "slack",
	typePrefix: "com.slack",
	block: `
header: X-Slack-Signature
algorithm: sha256
encoding: hex
prefix: "v0="
signed: "v0:{timestamp}:{body}"
timestamp_header: X-Slack-Request-Timestamp
timestamp_format: unix
timestamp_tolerance: 5m
id_field: event_id
type_field: event.type
`,
	handshake: slackURLVerification,
	load: LoadProfile{
		DefaultType: "app_mention",
		Example: fieldExample(func(id, eventType, num string, now time.Time) string {
			return `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T0001","api_app_id":"A0001","type":"event_callback","event_id":"` + id +
				`","event_time":` + strconv.FormatInt(now.Unix(), 10) + `,"event":{"type":"` + eventType +
				`","user":"U0001","text":"load ` + num + `","ts":"` + strconv.FormatInt(now.Unix(), 10) + `.000100","channel":"C0001"}}`
		}),
	},
})

// slackURLVerification answers the Events API's url_verification request, which Slack signs
// like any other: verified first, then 200 with its challenge
// (https://api.slack.com/events/url_verification).
func slackURLVerification(s *hmacScheme, req Request, creds Credentials) (Answer, bool) {
	if req.Method != "" && req.Method != http.MethodPost {
		return Answer{}, false
	}
	f, err := scanFields(req.Body, "type", "challenge")
	if err != nil || stringOrNumber(f[0]) != "url_verification" {
		return Answer{}, false
	}
	if err := s.authenticate(req, creds); err != nil {
		return s.rejection, true
	}
	return Answer{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(stringOrNumber(f[1]))}, true
}

// ZoomPreset: "v0=" + hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{raw body}" keyed with the
// app's secret token; the body's "event" names the event
// (https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events).
var ZoomPreset = hmacPreset(hmacPresetSpec{
	name:       "zoom",
	typePrefix: "com.zoom",
	block: `
header: X-Zm-Signature
algorithm: sha256
encoding: hex
prefix: "v0="
signed: "v0:{timestamp}:{body}"
timestamp_header: X-Zm-Request-Timestamp
timestamp_format: unix
timestamp_tolerance: 5m
type_field: event
`,
	handshake: zoomURLValidation,
	load: LoadProfile{
		DefaultType: "meeting.started",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `{"event":"` + eventType + `","event_ts":` + strconv.FormatInt(now.UnixMilli(), 10) +
				`,"payload":{"account_id":"load-` + run + `","object":{"id":"` + num + `","uuid":"load-` + run + `-` + num + `","topic":"Load"}}}`
			return Example{Body: []byte(body)}
		},
	},
})

// zoomURLValidation answers Zoom's endpoint.url_validation: once its signature is verified
// (an unverified one would hand anyone a MAC of any text), 200 with the plainToken and its hex
// HMAC-SHA256 keyed with the first secret
// (https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint).
func zoomURLValidation(s *hmacScheme, req Request, creds Credentials) (Answer, bool) {
	if req.Method != "" && req.Method != http.MethodPost {
		return Answer{}, false
	}
	f, err := scanFields(req.Body, "event", "payload.plainToken")
	if err != nil || stringOrNumber(f[0]) != "endpoint.url_validation" {
		return Answer{}, false
	}
	if err := s.authenticate(req, creds); err != nil {
		return s.rejection, true
	}
	// A signed validation is answered even without a plainToken: its sender holds the secret.
	plain := stringOrNumber(f[1])
	keys := s.keysFor(creds)
	if len(keys) == 0 {
		return s.rejection, true
	}
	body, err := json.Marshal(struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}{plain, hex.EncodeToString(macOfKey(sha256.New, keys[0], []byte(plain)))})
	if err != nil {
		return s.rejection, true
	}
	return jsonAnswer(http.StatusOK, string(body)), true
}

// TwitchPreset: "sha256=" + hex HMAC-SHA256 of the message id, the timestamp (RFC 3339 with
// nanoseconds) and the raw body, run together; messages older than ten minutes are to be
// refused. The message id is signed, so it is the event's id
// (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message).
var TwitchPreset = hmacPreset(hmacPresetSpec{
	name:       "twitch",
	typePrefix: "com.twitch",
	block: `
header: Twitch-Eventsub-Message-Signature
algorithm: sha256
encoding: hex
prefix: "sha256="
signed: "{header:Twitch-Eventsub-Message-Id}{timestamp}{body}"
timestamp_header: Twitch-Eventsub-Message-Timestamp
timestamp_format: rfc3339
timestamp_tolerance: 10m
id_header: Twitch-Eventsub-Message-Id
type_field: subscription.type
`,
	handshake: twitchCallbackVerification,
	load: LoadProfile{
		DefaultType: "channel.follow",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `{"subscription":{"id":"load-` + run + `","status":"enabled","type":"` + eventType + `","version":"2","cost":0,` +
				`"condition":{"broadcaster_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/twitch"},` +
				`"created_at":"` + now.UTC().Format(time.RFC3339Nano) + `"},"event":{"user_id":"` + num + `","user_login":"load` + num +
				`","broadcaster_user_id":"1337","followed_at":"` + now.UTC().Format(time.RFC3339Nano) + `"}}`
			h := http.Header{}
			h.Set(TwitchMessageTypeHeader, "notification")
			// Sign writes the message id as the body's SHA-256.
			return Example{Body: []byte(body), Header: h, IDFromBody: sha256Hex}
		},
	},
})

// twitchCallbackVerification answers the challenge Twitch sends when a subscription is made:
// verified like a notification, then 200 with the challenge as text
// (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request).
func twitchCallbackVerification(s *hmacScheme, req Request, creds Credentials) (Answer, bool) {
	if req.Method != "" && req.Method != http.MethodPost || req.Header.Get(TwitchMessageTypeHeader) != "webhook_callback_verification" {
		return Answer{}, false
	}
	if err := s.authenticate(req, creds); err != nil {
		return s.rejection, true
	}
	// A signed verification is answered even when its body names no challenge: never published.
	f, _ := scanFields(req.Body, "challenge")
	return Answer{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(stringOrNumber(f[0]))}, true
}

// HubSpotPreset: signature v3, the base64 HMAC-SHA256 of the method, the URL HubSpot called, the
// raw body and the timestamp in milliseconds, run together, keyed with the app's client
// secret; older than five minutes is to be refused. The URL is the endpoint's public_url and
// the request's path and query
// (https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests).
var HubSpotPreset = func() *Provider {
	p := hmacPreset(hmacPresetSpec{
		name:       "hubspot",
		typePrefix: "com.hubspot",
		block: `
header: X-HubSpot-Signature-v3
algorithm: sha256
encoding: base64
signed: "{method}{url}{body}{timestamp}"
timestamp_header: X-HubSpot-Request-Timestamp
timestamp_format: unix_ms
timestamp_tolerance: 5m
id_field: eventId
type_field: subscriptionType
`,
		keys: []string{hmacPublicURLKey},
		configure: func(s *hmacScheme, creds Credentials, read SettingReader) (*hmacScheme, error) {
			return s.forEndpoint("", creds, read)
		},
		load: LoadProfile{
			DefaultType: "contact.creation",
			Example: func(eventType, run string, n uint64, now time.Time) Example {
				num := strconv.FormatUint(n, 10)
				id := "load-" + run + "-" + num
				body := `{"eventId":"` + id + `","subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":` +
					strconv.FormatInt(now.UnixMilli(), 10) + `,"subscriptionType":"` + eventType + `","attemptNumber":0,"objectId":` + num +
					`,"changeSource":"CRM","changeFlag":"NEW"}`
				return Example{Body: []byte(body), ID: id}
			},
		},
	})
	// The demo endpoint's public_url is the demo listener (DemoKeys); the credentials `bridge
	// sign` uses sign its whole URL, so that a request without a URI (the registry's round trip)
	// and the demo endpoint's own requests sign the same bytes.
	p.DemoKeys = hmacPublicURLKey + ": " + demoListenURL
	scheme := p.DemoCredentials("").Settings.(*hmacScheme)
	demo, err := scheme.forEndpoint("", Credentials{}, func(key string, v any) (bool, error) {
		if key != hmacPublicURLKey {
			return false, nil
		}
		*v.(*string) = demoListenURL + "/webhooks/hubspot"
		return true, nil
	})
	if err != nil {
		panic(fmt.Sprintf("preset hubspot: demo scheme: %v", err))
	}
	p.DemoCredentials = func(secret string) Credentials { return Credentials{Secrets: []string{secret}, Settings: demo} }
	return p
}()

// demoListenURL is where demo mode serves webhooks.
const demoListenURL = "http://127.0.0.1:8080"

// StripePreset: Stripe-Signature holds "t=<unix>" and one or more "v1=<hex>" (several while a
// secret is rolled), each the HMAC-SHA256 of "{t}.{raw body}" keyed with the endpoint's whsec_
// secret as written; its libraries refuse a timestamp older than 300 seconds. The event's id
// and type are in the body (https://docs.stripe.com/webhooks#verify-manually).
var StripePreset = hmacPreset(hmacPresetSpec{
	name:       "stripe",
	typePrefix: "com.stripe",
	block: `
header: Stripe-Signature
algorithm: sha256
encoding: hex
signature_pairs: {separator: ",", timestamp: t, signature: v1}
signed: "{timestamp}.{body}"
timestamp_format: unix
timestamp_tolerance: 5m
secret_encoding: text
id_field: id
type_field: type
`,
	load: LoadProfile{
		DefaultType: "payment_intent.succeeded",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "evt_load_" + run + "_" + num
			body := `{"id":"` + id + `","object":"event","api_version":"2024-06-20","created":` + strconv.FormatInt(now.Unix(), 10) +
				`,"type":"` + eventType + `","livemode":false,"pending_webhooks":1,"data":{"object":{"id":"pi_load_` + num +
				`","object":"payment_intent","amount":2000,"currency":"usd"}}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
})

// PaddlePreset: Paddle-Signature holds "ts=<unix>" and one or more "h1=<hex>" (several while a
// secret is rotated), each the HMAC-SHA256 of "{ts}:{raw body}"; Paddle's SDKs refuse a
// signature more than five seconds old
// (https://developer.paddle.com/webhooks/signature-verification).
var PaddlePreset = hmacPreset(hmacPresetSpec{
	name:       "paddle",
	typePrefix: "com.paddle",
	block: `
header: Paddle-Signature
algorithm: sha256
encoding: hex
signature_pairs: {separator: ";", timestamp: ts, signature: h1}
signed: "{timestamp}:{body}"
timestamp_format: unix
timestamp_tolerance: 5s
id_field: event_id
type_field: event_type
`,
	load: LoadProfile{
		DefaultType: "transaction.completed",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "evt_load_" + run + "_" + num
			body := `{"event_id":"` + id + `","event_type":"` + eventType + `","occurred_at":"` + now.UTC().Format(time.RFC3339) +
				`","notification_id":"ntf_load_` + run + `_` + num + `","data":{"id":"txn_load_` + num + `","status":"completed"}}`
			return Example{Body: []byte(body), ID: id}
		},
	},
})

// CalendlyPreset: Calendly-Webhook-Signature is "t=<unix>,v1=<hex>", the HMAC-SHA256 of
// "{t}.{raw body}" keyed with the subscription's signing key; Calendly's sample refuses a
// timestamp older than three minutes. The body's "event" names the event; it carries no
// delivery id (https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures).
var CalendlyPreset = hmacPreset(hmacPresetSpec{
	name:       "calendly",
	typePrefix: "com.calendly",
	block: `
header: Calendly-Webhook-Signature
algorithm: sha256
encoding: hex
signature_pairs: {separator: ",", timestamp: t, signature: v1}
signed: "{timestamp}.{body}"
timestamp_format: unix
timestamp_tolerance: 3m
type_field: event
`,
	load: LoadProfile{
		DefaultType: "invitee.created",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `{"created_at":"` + now.UTC().Format(time.RFC3339) + `","created_by":"https://api.calendly.com/users/LOAD","event":"` +
				eventType + `","payload":{"uri":"https://api.calendly.com/scheduled_events/load-` + run + `/invitees/` + num +
				`","email":"load` + num + `@example.com","status":"active"}}`
			return Example{Body: []byte(body)}
		},
	},
})

// MetaPreset: Meta's Graph API webhooks (WhatsApp, Messenger, Instagram) carry "sha256=" + hex
// HMAC-SHA256 of the raw body keyed with the app secret; the body's "object" names the product.
// Subscribing is a GET challenge answered with hub.challenge when hub.verify_token is the
// endpoint's verify_token (https://developers.facebook.com/docs/graph-api/webhooks/getting-started).
var MetaPreset = func() *Provider {
	p := hmacPreset(hmacPresetSpec{
		name:       "meta",
		typePrefix: "com.meta",
		block: `
header: X-Hub-Signature-256
algorithm: sha256
encoding: hex
prefix: "sha256="
type_field: object
`,
		load: LoadProfile{
			DefaultType: "whatsapp_business_account",
			Example: func(eventType, run string, n uint64, now time.Time) Example {
				num := strconv.FormatUint(n, 10)
				body := `{"object":"` + eventType + `","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
					`"messaging_product":"whatsapp","messages":[{"id":"wamid.load-` + run + `-` + num + `","from":"16315551181","timestamp":"` +
					strconv.FormatInt(now.Unix(), 10) + `","type":"text","text":{"body":"load ` + num + `"}}]}}]}]}`
				return Example{Body: []byte(body)}
			},
		},
	})
	return withVerifyToken(p)
}()

// metaVerifyTokenKey is the endpoint key Meta's GET challenge is checked against.
const metaVerifyTokenKey = "verify_token"

// metaSettings are a Meta endpoint's scheme and its verify token.
type metaSettings struct {
	scheme      *hmacScheme
	verifyToken string
}

// withVerifyToken gives the preset p its verify_token key and Meta's GET challenge: its
// settings carry the token beside the block's scheme, which its other parts receive unwrapped.
func withVerifyToken(p *Provider) *Provider {
	configure, authenticate, mapEvent, sign, demo := p.Configure, p.Authenticate, p.Map, p.Sign, p.DemoCredentials
	unwrap := func(settings any) any {
		if m, ok := settings.(*metaSettings); ok {
			return m.scheme
		}
		return settings
	}
	p.SettingKeys = []string{metaVerifyTokenKey}
	p.DemoKeys = metaVerifyTokenKey + ": demo-secret"
	p.Configure = func(endpointID string, creds Credentials, read SettingReader) (Settings, error) {
		var token string
		given, err := read(metaVerifyTokenKey, &token)
		switch {
		case err != nil:
			return Settings{}, settingError(metaVerifyTokenKey, "want text, the token you type in Meta's webhook settings")
		case !given || strings.TrimSpace(token) == "":
			return Settings{}, settingError(metaVerifyTokenKey, "required: the token you type in Meta's webhook settings")
		}
		settings, err := configure(endpointID, creds, read)
		if err != nil {
			return Settings{}, err
		}
		settings.Value = &metaSettings{scheme: settings.Value.(*hmacScheme), verifyToken: token}
		return settings, nil
	}
	p.Authenticate = func(req Request, creds Credentials) (Proof, error) {
		creds.Settings = unwrap(creds.Settings)
		return authenticate(req, creds)
	}
	p.Map = func(req Request) (Event, error) {
		req.Settings = unwrap(req.Settings)
		return mapEvent(req)
	}
	p.Sign = func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		creds.Settings = unwrap(creds.Settings)
		return sign(creds, body, now)
	}
	p.DemoCredentials = func(secret string) Credentials {
		c := demo(secret)
		c.Settings = &metaSettings{scheme: c.Settings.(*hmacScheme), verifyToken: secret}
		return c
	}
	p.Handshake = metaVerification
	return p
}

// metaVerification answers Meta's subscription check, GET
// ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C: 200 with C when T is the endpoint's
// verify_token (compared in constant time), else 403.
func metaVerification(req Request, creds Credentials) (Answer, bool) {
	if req.Method != http.MethodGet {
		return Answer{}, false
	}
	_, rawQuery, _ := strings.Cut(req.URI, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil || q.Get("hub.mode") != "subscribe" {
		return emptyAnswer(http.StatusForbidden), true
	}
	m, ok := creds.Settings.(*metaSettings)
	if !ok || m.verifyToken == "" || !equalSecret(q.Get("hub.verify_token"), m.verifyToken) {
		return emptyAnswer(http.StatusForbidden), true
	}
	return Answer{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(q.Get("hub.challenge"))}, true
}

// sha256Hex is the hex SHA-256 of body.
func sha256Hex(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
