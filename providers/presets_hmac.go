package providers

import (
	"net/http"
	"strconv"
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
// numbered from 1 (https://developers.docusign.com/platform/webhooks/connect/validate/). Its
// JSON body names the event; it carries no delivery id.
var DocuSignPreset = hmacPreset(hmacPresetSpec{
	name:       "docusign",
	typePrefix: "com.docusign",
	block: `
header: X-DocuSign-Signature-1
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
