package bridge_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/linkproxy"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/providers"
)

// retryWebhook is how the retry tests make one authentic, mappable webhook of a provider.
type retryWebhook struct {
	// retry is the status the provider's documentation retries on.
	retry int
	// sign returns the webhook signed with the endpoint's secret as the provider's documentation
	// says, computed here and never by the provider's own Sign.
	sign func(secret string, now time.Time) (http.Header, []byte)
}

// retryWebhooks are the retry tests' webhooks, by provider. Every provider must have one: the
// tests fail for a provider without.
var retryWebhooks = map[string]retryWebhook{
	// Hex Ed25519 of "{timestamp}{body}", by the demo endpoint's key pair (seed SHA-256 of the
	// demo secret; docs/providers/discord.md). Interactions are questions by default; this one is
	// of a type the bridge does not name, so it is stored and answered at once.
	"discord": {http.StatusServiceUnavailable, func(_ string, now time.Time) (http.Header, []byte) {
		body := []byte(`{"id":"1181110000000000001","type":99,"guild_id":"290926798626357999","token":"retry-token","version":1}`)
		seed := sha256.Sum256([]byte(bridge.DemoSecret))
		ts := strconv.FormatInt(now.Unix(), 10)
		return http.Header{
			"Content-Type":          {"application/json"},
			"X-Signature-Timestamp": {ts},
			"X-Signature-Ed25519":   {hex.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(seed[:]), append([]byte(ts), body...)))},
		}, body
	}},
	// Base64 ASN.1 ECDSA P-256 of SHA-256("{timestamp}{body}"), by the demo endpoint's key pair
	// (scalar SHA-256 of the demo secret; docs/providers/sendgrid.md).
	"sendgrid": {http.StatusServiceUnavailable, func(_ string, now time.Time) (http.Header, []byte) {
		body := []byte(`[{"email":"retry@example.com","event":"delivered","sg_event_id":"retry-1","timestamp":1600112492}]`)
		d := sha256.Sum256([]byte(bridge.DemoSecret))
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
		if err != nil {
			panic(err)
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		digest := sha256.Sum256(append([]byte(ts), body...))
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			panic(err)
		}
		return http.Header{
			"Content-Type":                           {"application/json"},
			"X-Twilio-Email-Event-Webhook-Timestamp": {ts},
			"X-Twilio-Email-Event-Webhook-Signature": {base64.StdEncoding.EncodeToString(sig)},
		}, body
	}},
	// Svix's senders: Standard Webhooks under svix-* names (docs/providers/svix.md).
	"svix":   svixRetryWebhook(`{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"invoice":"in_retry_1"}}`),
	"clerk":  svixRetryWebhook(`{"data":{"id":"user_retry_1","object":"user"},"object":"event","timestamp":1654012591835,"type":"user.created"}`),
	"resend": svixRetryWebhook(`{"type":"email.delivered","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"retry-1"}}`),
	// Digest: "MD5=" and the hex HMAC-MD5 of the body (docs/providers/altdentifier.md). "Please
	// return a 4xx (Excluding 403)" is the only answer AltDentifier retries on.
	"altdentifier": {http.StatusTooManyRequests, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"member":{"id":"66166172835385344"},"OP":1,"guild":{"id":"372024042980638721"}}`)
		return http.Header{
			"Content-Type": {"application/json"},
			"Digest":       {"MD5=" + hex.EncodeToString(retryMAC(md5.New, []byte(secret), body))},
		}, body
	}},
	// Hex HMAC-SHA256 of "{timestamp}.{body}" (docs/providers/aghanim.md).
	"aghanim": {http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		body := []byte(`{"event_type":"item.purchased","event_id":"whevt_retry_1","event_data":{"player_id":"P-1"}}`)
		ts := strconv.FormatInt(now.Unix(), 10)
		return http.Header{
			"Content-Type":                  {"application/json"},
			"X-Aghanim-Signature-Timestamp": {ts},
			"X-Aghanim-Signature":           {hex.EncodeToString(retryMAC(sha256.New, []byte(secret), []byte(ts+"."), body))},
		}, body
	}},
	// The legacy form: hex HMAC-SHA256 of the body (docs/providers/zignsec.md).
	"zignsec": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"event":"session_created","id":"b7a8e0c4-1d2e-4f5a-9b6c-7d8e9f0a1b2c"}`)
		return http.Header{
			"Content-Type":          {"application/json"},
			"X-Zignsec-Hmac-Sha256": {hex.EncodeToString(retryMAC(sha256.New, []byte(secret), body))},
		}, body
	}},
	// Padded base64 HMAC-SHA256 of the body (docs/providers/centrepoint.md).
	"centrepoint": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"status":"completed","uploadId":"85045","subjectId":"44732"}`)
		return http.Header{
			"Content-Type":          {"application/json"},
			"X-Actigraph-Event":     {"upload"},
			"X-Actigraph-Delivery":  {"0f8fad5b-d9cb-469f-a165-70867728950e"},
			"X-Actigraph-Signature": {base64.StdEncoding.EncodeToString(retryMAC(sha256.New, []byte(secret), body))},
		}, body
	}},
	// Hex HMAC-SHA256 of the body (https://www.usercheck.com/docs/webhooks/security).
	"usercheck": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`)
		return http.Header{
			"Content-Type":          {"application/json"},
			"X-Usercheck-Signature": {hex.EncodeToString(retryMAC(sha256.New, []byte(secret), body))},
		}, body
	}},
	// "v1," and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the base64
	// after "whsec_" decoded (docs/providers/standard-webhooks.md).
	"standard-webhooks": {http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		body := []byte(`{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"invoice":"in_retry_1"}}`)
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			panic("standard-webhooks endpoint secret is not whsec_<base64>: " + err.Error())
		}
		const id = "msg_retry_1"
		ts := strconv.FormatInt(now.Unix(), 10)
		return http.Header{
			"Content-Type":      {"application/json"},
			"Webhook-Id":        {id},
			"Webhook-Timestamp": {ts},
			"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(retryMAC(sha256.New, key, []byte(id+"."+ts+"."), body))},
		}, body
	}},
	// The demo endpoint signs as GitHub does: "sha256=" and the hex HMAC-SHA256 of the body
	// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
	"hmac": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"zen":"Keep it logically awesome.","hook_id":42}`)
		return http.Header{
			"Content-Type":        {"application/json"},
			"X-Github-Event":      {"ping"},
			"X-Github-Delivery":   {"72d3162e-cc78-11e3-81ab-4c9367dc0958"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(retryMAC(sha256.New, []byte(secret), body))},
		}, body
	}},
	// Presets that sign the raw body: prefix + hex or base64 HMAC of the body, as each sender's
	// page in docs/providers/ says.
	"github": bodyHMACWebhook("X-Hub-Signature-256", "sha256=", sha256.New, hex.EncodeToString,
		`{"zen":"Design for failure.","hook_id":43}`, "X-GitHub-Event", "ping", "X-GitHub-Delivery", "d2a1f1c0-cc78-11e3-81ab-4c9367dc0958"),
	"shopify": bodyHMACWebhook("X-Shopify-Hmac-Sha256", "", sha256.New, base64.StdEncoding.EncodeToString,
		`{"id":820982911946154508,"name":"#9999"}`, "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
	"intercom": bodyHMACWebhook("X-Hub-Signature", "sha1=", sha1.New, hex.EncodeToString,
		`{"type":"notification_event","id":"notif_retry_1","topic":"conversation.user.created"}`),
	"bitbucket": bodyHMACWebhook("X-Hub-Signature", "sha256=", sha256.New, hex.EncodeToString,
		`{"repository":{"full_name":"team/repo"}}`, "X-Event-Key", "repo:push", "X-Request-UUID", "afe2a1b5-0b0b-4b4d-9a3c-6a0c2b1e9d77"),
	"typeform": bodyHMACWebhook("Typeform-Signature", "sha256=", sha256.New, base64.StdEncoding.EncodeToString,
		`{"event_id":"01FHZ5HDX3WNFNPBZPTNTXWCJW","event_type":"form_response"}`),
	"coinbase-commerce": bodyHMACWebhook("X-CC-Webhook-Signature", "", sha256.New, hex.EncodeToString,
		`{"id":"attempt-1","event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created"}}`),
	"vercel": bodyHMACWebhook("X-Vercel-Signature", "", sha1.New, hex.EncodeToString,
		`{"id":"uev_retry_1","type":"deployment.created","payload":{}}`),
	"segment": bodyHMACWebhook("X-Signature", "", sha1.New, hex.EncodeToString,
		`{"type":"track","event":"Order Completed","messageId":"retry-1"}`),
	"sentry": bodyHMACWebhook("Sentry-Hook-Signature", "", sha256.New, hex.EncodeToString,
		`{"action":"created","data":{"issue":{"id":"1"}}}`, "Sentry-Hook-Resource", "issue", "Request-ID", "0c0fe3ad-9e1a-44fa-8a0c-59b3a8c0b3b2"),
	// Linear signs the body, whose webhookTimestamp (ms) must be within a minute of receipt.
	"linear": {http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		body := []byte(`{"action":"create","type":"Issue","data":{"id":"1"},"webhookTimestamp":` + strconv.FormatInt(now.UnixMilli(), 10) + `}`)
		return http.Header{
			"Content-Type":     {"application/json"},
			"Linear-Delivery":  {"234d1a4e-b617-4388-90fe-adc3633d6b72"},
			"Linear-Signature": {hex.EncodeToString(retryMAC(sha256.New, []byte(secret), body))},
		}, body
	}},
	"docusign": bodyHMACWebhook("X-DocuSign-Signature-1", "", sha256.New, base64.StdEncoding.EncodeToString,
		`{"event":"envelope-completed","data":{"envelopeId":"93be49ab"}}`),
	"jira": bodyHMACWebhook("X-Hub-Signature", "sha256=", sha256.New, hex.EncodeToString,
		`{"webhookEvent":"jira:issue_created","issue":{"key":"TEST-2"}}`, "X-Atlassian-Webhook-Identifier", "1ce9f8d1-0e2e-4a33-b2c6-7c3b8a5e0b61"),
	// Presets that sign a timestamp beside the body (docs/providers/<name>.md), signed at now.
	"slack": signedRetryWebhook(`{"type":"event_callback","event_id":"Ev_retry_1","event":{"type":"app_mention","text":"hi"}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("X-Slack-Request-Timestamp", ts)
			h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(retryMAC(sha256.New, key, []byte("v0:"+ts+":"), body)))
		}),
	"zoom": signedRetryWebhook(`{"event":"meeting.started","event_ts":1626230691572,"payload":{"object":{"id":"1"}}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("X-Zm-Request-Timestamp", ts)
			h.Set("X-Zm-Signature", "v0="+hex.EncodeToString(retryMAC(sha256.New, key, []byte("v0:"+ts+":"), body)))
		}),
	"twitch": signedRetryWebhook(`{"subscription":{"type":"channel.follow","version":"2"},"event":{"user_id":"1"}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			const id = "e76c6bd4-55c9-4987-8304-da1588d8988b"
			ts := now.UTC().Format(time.RFC3339Nano)
			h.Set("Twitch-Eventsub-Message-Id", id)
			h.Set("Twitch-Eventsub-Message-Timestamp", ts)
			h.Set("Twitch-Eventsub-Message-Type", "notification")
			h.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(retryMAC(sha256.New, key, []byte(id+ts), body)))
		}),
	// HubSpot signs the URL it calls: the demo endpoint's public_url (the demo listener) and
	// the endpoint's path.
	"hubspot": signedRetryWebhook(`{"eventId":1,"subscriptionType":"contact.creation","objectId":123}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ms := strconv.FormatInt(now.UnixMilli(), 10)
			h.Set("X-HubSpot-Request-Timestamp", ms)
			h.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(
				retryMAC(sha256.New, key, []byte("POST"+"http://127.0.0.1:8080/webhooks/hubspot"), body, []byte(ms))))
		}),
	"stripe": signedRetryWebhook(`{"id":"evt_retry_1","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(retryMAC(sha256.New, key, []byte(ts+"."), body)))
		}),
	"paddle": signedRetryWebhook(`{"event_id":"evt_retry_1","event_type":"transaction.completed","data":{}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("Paddle-Signature", "ts="+ts+";h1="+hex.EncodeToString(retryMAC(sha256.New, key, []byte(ts+":"), body)))
		}),
	"calendly": signedRetryWebhook(`{"event":"invitee.created","payload":{"uri":"https://api.calendly.com/invitees/retry"}}`,
		func(h http.Header, key, body []byte, now time.Time) {
			ts := strconv.FormatInt(now.Unix(), 10)
			h.Set("Calendly-Webhook-Signature", "t="+ts+",v1="+hex.EncodeToString(retryMAC(sha256.New, key, []byte(ts+"."), body)))
		}),
	"meta": bodyHMACWebhook("X-Hub-Signature-256", "sha256=", sha256.New, hex.EncodeToString,
		`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[]}]}`),
	// Base64 HMAC-SHA1 of the URL Twilio called (the demo endpoint's public_url and path), then
	// each form parameter's name and value, sorted by name (docs/providers/twilio.md).
	"twilio": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte("AccountSid=AC1&From=%2B15017122661&MessageSid=SMretry1&MessageStatus=delivered&To=%2B15558675310")
		signed := "http://127.0.0.1:8080/webhooks/twilio" + "AccountSidAC1" + "From+15017122661" + "MessageSidSMretry1" + "MessageStatusdelivered" + "To+15558675310"
		return http.Header{
			"Content-Type":       {"application/x-www-form-urlencoded"},
			"X-Twilio-Signature": {base64.StdEncoding.EncodeToString(retryMAC(sha1.New, []byte(secret), []byte(signed)))},
		}, body
	}},
	// Base64 HMAC-SHA256 of the notification URL (the demo endpoint's public_url and path) and
	// the body (docs/providers/square.md).
	"square": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"merchant_id":"M1","type":"payment.updated","event_id":"retry-1","data":{"type":"payment","id":"P1"}}`)
		return http.Header{
			"Content-Type":                  {"application/json"},
			"X-Square-Hmacsha256-Signature": {base64.StdEncoding.EncodeToString(retryMAC(sha256.New, []byte(secret), []byte("http://127.0.0.1:8080/webhooks/square"), body))},
		}, body
	}},
	// The webhook's secret token as it is in X-Gitlab-Token (docs/providers/gitlab.md).
	"gitlab": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		return http.Header{
			"Content-Type":    {"application/json"},
			"X-Gitlab-Event":  {"Push Hook"},
			"Idempotency-Key": {"f5e5f430-f57b-4e6e-9fac-d9128cd7232f"},
			"X-Gitlab-Token":  {secret},
		}, []byte(`{"object_kind":"push","ref":"refs/heads/main","project":{"path_with_namespace":"mike/diaspora"}}`)
	}},
	// The hook's authentication secret as it is in Authorization (docs/providers/okta.md).
	"okta": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		return http.Header{"Content-Type": {"application/json"}, "Authorization": {secret}},
			[]byte(`{"eventType":"com.okta.event_hook","eventId":"retry-1","data":{"events":[{"eventType":"user.session.start","actor":{"id":"00u1"}}]}}`)
	}},
	// The stream's authorization token as it is in Authorization (docs/providers/auth0.md).
	"auth0": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		return http.Header{"Content-Type": {"application/json"}, "Authorization": {secret}},
			[]byte(`[{"log_id":"retry-1","data":{"type":"s","date":"2024-05-02T09:12:44.101Z"}}]`)
	}},
	// A JWS: base64url header and claims (iss netlify, sha256 the hex SHA-256 of the body),
	// HMAC-SHA256 with the secret (docs/providers/netlify.md).
	"netlify": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		body := []byte(`{"id":"5ebc34bf4fea0b01f02efa3a","state":"ready","name":"www-example"}`)
		sum := sha256.Sum256(body)
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(`{"iss":"netlify","sha256":"`+hex.EncodeToString(sum[:])+`"}`))
		return http.Header{
			"Content-Type":        {"application/json"},
			"X-Webhook-Signature": {signing + "." + enc.EncodeToString(retryMAC(sha256.New, []byte(secret), []byte(signing)))},
		}, body
	}},
	// Mailgun signs inside the body: the hex HMAC-SHA256 of timestamp followed by token
	// (docs/providers/mailgun.md).
	"mailgun": {http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		ts := strconv.FormatInt(now.Unix(), 10)
		const token = "retry1a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f"
		sig := hex.EncodeToString(retryMAC(sha256.New, []byte(secret), []byte(ts+token)))
		return http.Header{"Content-Type": {"application/json"}}, []byte(`{"signature":{"timestamp":"` + ts + `","token":"` + token +
			`","signature":"` + sig + `"},"event-data":{"event":"delivered","id":"retry-1","recipient":"alice@example.com"}}`)
	}},
	// Adyen signs each item inside the body: the base64 HMAC-SHA256, keyed with the hex-decoded
	// key, of its eight values joined by ":" (docs/providers/adyen.md).
	"adyen": {http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		key, err := hex.DecodeString(secret)
		if err != nil {
			panic("adyen endpoint secret is not hex: " + err.Error())
		}
		sig := base64.StdEncoding.EncodeToString(retryMAC(sha256.New, key, []byte("RETRY000000000001::TestMerchant:retry-1:1130:EUR:AUTHORISATION:true")))
		return http.Header{"Content-Type": {"application/json"}}, []byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":{` +
			`"additionalData":{"hmacSignature":"` + sig + `"},"amount":{"value":1130,"currency":"EUR"},"pspReference":"RETRY000000000001",` +
			`"eventCode":"AUTHORISATION","merchantAccountCode":"TestMerchant","merchantReference":"retry-1","success":"true"}}]}`)
	}},
}

// bodyHMACWebhook is a preset's webhook whose proof header carries prefix + encode(HMAC-newHash(
// secret, body)), beside the other headers given as name, value pairs; it retries on 503.
func bodyHMACWebhook(proof, prefix string, newHash func() hash.Hash, encode func([]byte) string, body string, header ...string) retryWebhook {
	return retryWebhook{http.StatusServiceUnavailable, func(secret string, _ time.Time) (http.Header, []byte) {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		h.Set(proof, prefix+encode(retryMAC(newHash, []byte(secret), []byte(body))))
		return h, []byte(body)
	}}
}

// signedRetryWebhook is a preset's webhook signed by sign with the endpoint's secret as the
// HMAC key; it retries on 503.
func signedRetryWebhook(body string, sign func(h http.Header, key, body []byte, now time.Time)) retryWebhook {
	return retryWebhook{http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		h := http.Header{"Content-Type": {"application/json"}}
		sign(h, []byte(secret), []byte(body), now)
		return h, []byte(body)
	}}
}

// retryMAC is HMAC-newHash(key, parts concatenated).
func retryMAC(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// retryRequest is one provider's webhook as the retry tests send it to the endpoint named after
// the provider.
type retryRequest struct {
	endpoint string
	header   http.Header
	body     []byte
	retry    int
}

// signedFor signs p's webhook with the secret h's endpoint for p has. It fails the test when
// retryWebhooks has no webhook for p.
func signedFor(t *testing.T, h *harness, p *providers.Provider) retryRequest {
	t.Helper()
	w, ok := retryWebhooks[p.Name]
	if !ok {
		t.Fatalf("provider %q has no webhook in retryWebhooks (bridge/retry_test.go): add one, signed there as its documentation says, with the status it retries on", p.Name)
	}
	var secret string
	for _, ep := range h.cfg.Endpoints {
		if ep.ID == p.Name && len(ep.Secrets) > 0 {
			secret = ep.Secrets[0]
		}
	}
	if secret == "" && len(p.DemoCredentials(testSecret).Secrets) > 0 { // public-key providers have none
		t.Fatalf("no endpoint %q with a secret in the test configuration", p.Name)
	}
	header, body := w.sign(secret, time.Now())
	return retryRequest{endpoint: p.Name, header: header, body: body, retry: w.retry}
}

// checkRetryAnswer fails unless resp is the provider's retry answer: its status and Retry-After.
func checkRetryAnswer(t *testing.T, r retryRequest, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != r.retry || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d %s, Retry-After %q; want %d with Retry-After", r.endpoint, resp.StatusCode, body, resp.Header.Get("Retry-After"), r.retry)
	}
}

// TestRetryAnswerWithNATSDown: each provider gets the answer its documentation retries on —
// AltDentifier 429 (it retries only on a 4xx other than 403), every other provider 503 — with
// Retry-After, and once NATS is back the same request is stored.
func TestRetryAnswerWithNATSDown(t *testing.T) {
	h := startBridge(t, nil)
	h.nats.Stop()
	h.waitReady(http.StatusServiceUnavailable)
	sent := map[string]retryRequest{}
	t.Run("NATS down", func(t *testing.T) {
		for _, p := range providers.All() {
			t.Run(p.Name, func(t *testing.T) {
				r := signedFor(t, h, p)
				sent[p.Name] = r
				resp, body := h.post(r.endpoint, r.header, r.body)
				checkRetryAnswer(t, r, resp, body)
			})
		}
	})
	h.nats.Restart()
	h.waitReady(http.StatusOK)
	t.Run("NATS back", func(t *testing.T) {
		for _, p := range providers.All() {
			t.Run(p.Name, func(t *testing.T) {
				if _, ok := sent[p.Name]; !ok {
					t.Fatal("no request was sent while NATS was down")
				}
				// The sender's retry, signed afresh as senders sign each attempt: a signature's
				// timestamp may not outlive the outage (Paddle allows 5 s).
				r := signedFor(t, h, p)
				if resp, body := h.post(r.endpoint, r.header, r.body); resp.StatusCode/100 != 2 {
					t.Errorf("after NATS came back: %d %s", resp.StatusCode, body)
				}
			})
		}
	})
	if n, want := len(h.messages()), len(providers.All()); n != want {
		t.Errorf("%d messages, want %d (one per provider)", n, want)
	}
	if !strings.Contains(h.logs.String(), `"retry":true`) {
		t.Errorf("retry answers not marked in the log")
	}
}

// TestRetryAnswerOnPublishTimeout: the link goes silent, so no PubAck comes within
// publish_timeout: the retry answer, in time.
func TestRetryAnswerOnPublishTimeout(t *testing.T) {
	ns := natstest.Start(t)
	proxy, err := linkproxy.Start(strings.TrimPrefix(ns.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	h := startBridgeAgainst(t, ns, "nats://"+proxy.Addr(), func(c *bridge.Config) {
		c.NATS.PublishTimeout = 500 * time.Millisecond
		c.NATS.PingInterval = time.Minute // the link is not found dead: the publish itself times out
	})
	proxy.Silence(true)
	t.Cleanup(func() { proxy.Silence(false) }) // before the bridge drains its connection
	for _, p := range providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			r := signedFor(t, h, p)
			start := time.Now()
			resp, body := h.post(r.endpoint, r.header, r.body)
			checkRetryAnswer(t, r, resp, body)
			// The point is that the answer comes without waiting on the silent link (which would
			// be minutes): the slack is wide, as a busy machine can delay any answer by a second
			// or two.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("answered after %s, want about publish_timeout (500 ms)", took)
			}
		})
	}
}

// TestRetryAnswerForUnansweredQuestion: a question nobody answers is answered 503 with
// Retry-After whatever the provider (AltDentifier here, with a question configured for it): the
// event itself was stored before it was asked.
func TestRetryAnswerForUnansweredQuestion(t *testing.T) {
	h := startBridge(t, func(c *bridge.Config) {
		for i := range c.Endpoints {
			if c.Endpoints[i].ID == "altdentifier" {
				c.Endpoints[i].ReplyEvents = &[]string{"verification.passed"}
				c.Endpoints[i].ReplyTimeout = 300 * time.Millisecond
			}
		}
	})
	r := signedFor(t, h, providers.AltDentifier)
	r.retry = http.StatusServiceUnavailable
	resp, body := h.post(r.endpoint, r.header, r.body)
	checkRetryAnswer(t, r, resp, body)
	if n := len(h.messages()); n != 1 {
		t.Errorf("%d messages, want the event stored once before it was asked", n)
	}
}

// svixRetryWebhook signs body as Svix does: svix-id, svix-timestamp, and svix-signature "v1,"
// with the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed with the base64 after "whsec_"
// decoded (https://docs.svix.com/receiving/verifying-payloads/how-manual).
func svixRetryWebhook(body string) retryWebhook {
	return retryWebhook{http.StatusServiceUnavailable, func(secret string, now time.Time) (http.Header, []byte) {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			panic("svix endpoint secret is not whsec_<base64>: " + err.Error())
		}
		const id = "msg_retry_svix_1"
		ts := strconv.FormatInt(now.Unix(), 10)
		return http.Header{
			"Content-Type":   {"application/json"},
			"Svix-Id":        {id},
			"Svix-Timestamp": {ts},
			"Svix-Signature": {"v1," + base64.StdEncoding.EncodeToString(retryMAC(sha256.New, key, []byte(id+"."+ts+"."), []byte(body)))},
		}, []byte(body)
	}}
}
