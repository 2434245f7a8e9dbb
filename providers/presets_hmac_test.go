package providers

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Each preset is tested with a request signed here, with crypto/hmac and the recipe its sender
// documents (never the preset's own Sign), and — where the sender or its official SDK publishes
// one — with the sender's own example: its secret, payload and signature taken as data.

// presetTest is one preset's valid request and what it must map to.
type presetTest struct {
	p      *Provider
	secret string
	// receivedAt, when set, is when its requests are received (a timestamp in the body).
	receivedAt time.Time
	// file is the body, in testdata/presets.
	file string
	// header is what the sender sends beside its proof: delivery id, event name.
	header []string
	// proof is the proof header's name; sign computes its value as the sender documents it,
	// for a sender that signs the body alone. signAt, for the others, sets the proof headers
	// of a request signed at the given time.
	proof  string
	sign   func(secret string, body []byte) string
	signAt func(h http.Header, secret string, body []byte, at time.Time)
	// tolerance is the timestamp's documented window (0: the sender signs no timestamp).
	tolerance time.Duration
	// keys are the endpoint's own keys beside its secrets (public_url, verify_token).
	keys map[string]any
	// undecodable is a proof value no encoding the preset reads can decode.
	undecodable string
	want        Event
}

// presetSignedAt is when the tests' timestamped requests are signed; they are received a second
// later.
var presetSignedAt = time.Unix(1700000000, 0)

// macHex and macBase64 are a sender's signature: prefix + the hex or base64 HMAC of the parts.
func macHex(newHash func() hash.Hash, prefix string) func(secret string, body []byte) string {
	return func(secret string, body []byte) string {
		return prefix + hex.EncodeToString(hmacOf(newHash, secret, string(body)))
	}
}

func macBase64(newHash func() hash.Hash, prefix string) func(secret string, body []byte) string {
	return func(secret string, body []byte) string {
		return prefix + base64.StdEncoding.EncodeToString(hmacOf(newHash, secret, string(body)))
	}
}

// presetTests are the body-signing presets, each signed as its sender's page says
// (docs/providers/<name>.md cites each).
var presetTests = map[string]presetTest{
	"github": {
		p: GitHubPreset, secret: "gh-webhook-secret", file: "github_push.json",
		header: []string{"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "X-GitHub-Event", "push"},
		proof:  "X-Hub-Signature-256", sign: macHex(sha256.New, "sha256="), undecodable: "sha256=zz",
		want: Event{ID: "72d3162e-cc78-11e3-81ab-4c9367dc0958", IDUnsigned: true, Type: "push"},
	},
	"shopify": {
		p: ShopifyPreset, secret: "shpss_client_secret", file: "shopify_orders_create.json",
		header: []string{"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Topic", "orders/create"},
		proof:  "X-Shopify-Hmac-Sha256", sign: macBase64(sha256.New, ""), undecodable: "!!!",
		want: Event{ID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", IDUnsigned: true, Type: "orders/create"},
	},
	"intercom": {
		p: IntercomPreset, secret: "intercom-client-secret", file: "intercom_conversation.json",
		proof: "X-Hub-Signature", sign: macHex(sha1.New, "sha1="), undecodable: "sha1=zz",
		want: Event{ID: "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3", Type: "conversation.user.created"},
	},
	"bitbucket": {
		p: BitbucketPreset, secret: "bitbucket-secret", file: "bitbucket_push.json",
		header: []string{"X-Request-UUID", "afe2a1b5-0b0b-4b4d-9a3c-6a0c2b1e9d77", "X-Event-Key", "repo:push"},
		proof:  "X-Hub-Signature", sign: macHex(sha256.New, "sha256="), undecodable: "sha256=zz",
		want: Event{ID: "afe2a1b5-0b0b-4b4d-9a3c-6a0c2b1e9d77", IDUnsigned: true, Type: "repo:push"},
	},
	"typeform": {
		p: TypeformPreset, secret: "typeform-secret", file: "typeform_form_response.json",
		proof: "Typeform-Signature", sign: macBase64(sha256.New, "sha256="), undecodable: "sha256=!!!",
		want: Event{ID: "01FHZ5HDX3WNFNPBZPTNTXWCJW", Type: "form_response"},
	},
	"coinbase-commerce": {
		p: CoinbaseCommercePreset, secret: "cc-shared-secret", file: "coinbase_charge_created.json",
		proof: "X-CC-Webhook-Signature", sign: macHex(sha256.New, ""), undecodable: "zz",
		want: Event{ID: "24934862-d980-46cb-9402-43c81b0cdba6", Type: "charge:created"},
	},
	"vercel": {
		p: VercelPreset, secret: "vercel-client-secret", file: "vercel_deployment_created.json",
		proof: "X-Vercel-Signature", sign: macHex(sha1.New, ""), undecodable: "zz",
		want: Event{ID: "uev_1a2b3c4d5e6f7g8h9i0j", Type: "deployment.created"},
	},
	"segment": {
		p: SegmentPreset, secret: "segment-shared-secret", file: "segment_track.json",
		proof: "X-Signature", sign: macHex(sha1.New, ""), undecodable: "zz",
		want: Event{ID: "ajs-next-1690000000000-8b0e1b2a", Type: "track"},
	},
	"sentry": {
		p: SentryPreset, secret: "sentry-client-secret", file: "sentry_issue_created.json",
		header: []string{"Request-ID", "0c0fe3ad-9e1a-44fa-8a0c-59b3a8c0b3b2", "Sentry-Hook-Resource", "issue"},
		proof:  "Sentry-Hook-Signature", sign: macHex(sha256.New, ""), undecodable: "zz",
		want: Event{ID: "0c0fe3ad-9e1a-44fa-8a0c-59b3a8c0b3b2", IDUnsigned: true, Type: "issue"},
	},
	"linear": {
		p: LinearPreset, secret: "lin_wh_secret", file: "linear_issue_create.json",
		// Within a minute of the body's webhookTimestamp (1676056940508 ms), as Linear requires.
		receivedAt: time.UnixMilli(1676056940508 + 2000),
		header:     []string{"Linear-Delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72", "Linear-Event", "Issue"},
		proof:      "Linear-Signature", sign: macHex(sha256.New, ""), undecodable: "zz",
		want: Event{ID: "234d1a4e-b617-4388-90fe-adc3633d6b72", IDUnsigned: true, Type: "issue"},
	},
	"docusign": {
		p: DocuSignPreset, secret: "docusign-connect-key", file: "docusign_envelope_completed.json",
		proof: "X-DocuSign-Signature-1", sign: macBase64(sha256.New, ""), undecodable: "!!!",
		want: Event{Type: "envelope-completed"},
	},
	"jira": {
		p: JiraPreset, secret: "jira-webhook-secret", file: "jira_issue_created.json",
		header: []string{"X-Atlassian-Webhook-Identifier", "1ce9f8d1-0e2e-4a33-b2c6-7c3b8a5e0b61"},
		proof:  "X-Hub-Signature", sign: macHex(sha256.New, "sha256="), undecodable: "sha256=zz",
		want: Event{ID: "1ce9f8d1-0e2e-4a33-b2c6-7c3b8a5e0b61", IDUnsigned: true, Type: "jira:issue_created"},
	},
	"slack": {
		p: SlackPreset, secret: "8f742231b10e8888abcd99yyyzzz85a5", file: "slack_app_mention.json",
		proof: "X-Slack-Signature", signAt: slackStyle("X-Slack-Signature", "X-Slack-Request-Timestamp"), tolerance: 5 * time.Minute,
		undecodable: "v0=zz", want: Event{ID: "Ev123ABC456", Type: "app_mention"},
	},
	"zoom": {
		p: ZoomPreset, secret: "zoom-secret-token", file: "zoom_meeting_started.json",
		proof: "X-Zm-Signature", signAt: slackStyle("X-Zm-Signature", "X-Zm-Request-Timestamp"), tolerance: 5 * time.Minute,
		undecodable: "v0=zz", want: Event{Type: "meeting.started"},
	},
	"twitch": {
		p: TwitchPreset, secret: "twitch-subscription-secret", file: "twitch_channel_follow.json",
		header: []string{"Twitch-Eventsub-Message-Id", "befa7b53-d79d-478f-86b9-120f112b044e", "Twitch-Eventsub-Message-Type", "notification"},
		proof:  "Twitch-Eventsub-Message-Signature", signAt: twitchSign, tolerance: 10 * time.Minute,
		undecodable: "sha256=zz", want: Event{ID: "befa7b53-d79d-478f-86b9-120f112b044e", Type: "channel.follow"},
	},
	"hubspot": {
		p: HubSpotPreset, secret: "hubspot-client-secret", file: "hubspot_contact_creation.json",
		proof: "X-HubSpot-Signature-v3", signAt: hubspotSign(hubspotTestURL), tolerance: 5 * time.Minute,
		keys:        map[string]any{"public_url": hubspotTestURL},
		undecodable: "!!!", want: Event{ID: "1", Type: "contact.creation"},
	},
	"stripe": {
		p: StripePreset, secret: "whsec_test_secret", file: "stripe_payment_intent_succeeded.json",
		proof: "Stripe-Signature", signAt: pairsSign("Stripe-Signature", "t", ",", "v1", "."), tolerance: 5 * time.Minute,
		undecodable: "t=1700000000,v1=zz", want: Event{ID: "evt_1NG8Du2eZvKYlo2CUI79vXWy", Type: "payment_intent.succeeded"},
	},
	"paddle": {
		p: PaddlePreset, secret: "pdl_ntfset_01h8bz_secret", file: "paddle_transaction_completed.json",
		proof: "Paddle-Signature", signAt: pairsSign("Paddle-Signature", "ts", ";", "h1", ":"), tolerance: 5 * time.Second,
		undecodable: "ts=1700000000;h1=zz", want: Event{ID: "evt_01h8bzakzx3hm2fmen703n5q45", Type: "transaction.completed"},
	},
	"calendly": {
		p: CalendlyPreset, secret: "calendly-signing-key", file: "calendly_invitee_created.json",
		proof: "Calendly-Webhook-Signature", signAt: pairsSign("Calendly-Webhook-Signature", "t", ",", "v1", "."), tolerance: 3 * time.Minute,
		undecodable: "t=1700000000,v1=zz", want: Event{Type: "invitee.created"},
	},
	"meta": {
		p: MetaPreset, secret: "meta-app-secret", file: "meta_whatsapp_message.json",
		keys:  map[string]any{"verify_token": "meta-verify-token"},
		proof: "X-Hub-Signature-256", sign: macHex(sha256.New, "sha256="), undecodable: "sha256=zz",
		want: Event{Type: "whatsapp_business_account"},
	},
}

// hubspotTestURL is the public URL of the tests' HubSpot endpoint: runAuthCases sends no URI,
// so it is the whole URL HubSpot calls.
const hubspotTestURL = "https://hooks.example.com/webhooks/hubspot"

// slackStyle signs as Slack (and Zoom) document: the Unix time in tsHeader, and in sigHeader
// "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}".
func slackStyle(sigHeader, tsHeader string) func(h http.Header, secret string, body []byte, at time.Time) {
	return func(h http.Header, secret string, body []byte, at time.Time) {
		ts := strconv.FormatInt(at.Unix(), 10)
		h.Set(tsHeader, ts)
		h.Set(sigHeader, "v0="+hex.EncodeToString(hmacOf(sha256.New, secret, "v0:"+ts+":"+string(body))))
	}
}

// twitchSign signs as Twitch documents: "sha256=" + hex HMAC-SHA256 of the message id, the
// RFC 3339 timestamp and the body, run together.
func twitchSign(h http.Header, secret string, body []byte, at time.Time) {
	ts := at.UTC().Format(time.RFC3339Nano)
	h.Set("Twitch-Eventsub-Message-Timestamp", ts)
	id := h.Get("Twitch-Eventsub-Message-Id")
	h.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(hmacOf(sha256.New, secret, id+ts+string(body))))
}

// hubspotSign signs as HubSpot's v3 documents: base64 HMAC-SHA256 of method + URL + body +
// timestamp in milliseconds.
func hubspotSign(url string) func(h http.Header, secret string, body []byte, at time.Time) {
	return func(h http.Header, secret string, body []byte, at time.Time) {
		ms := strconv.FormatInt(at.UnixMilli(), 10)
		h.Set("X-HubSpot-Request-Timestamp", ms)
		h.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(hmacOf(sha256.New, secret, "POST"+url+string(body)+ms)))
	}
}

// pairsSign signs as Stripe, Paddle and Calendly document: header = tsKey=<unix> sep
// sigKey=<hex HMAC-SHA256 of "{unix}{join}{body}">.
func pairsSign(header, tsKey, sep, sigKey, join string) func(h http.Header, secret string, body []byte, at time.Time) {
	return func(h http.Header, secret string, body []byte, at time.Time) {
		ts := strconv.FormatInt(at.Unix(), 10)
		h.Set(header, tsKey+"="+ts+sep+sigKey+"="+hex.EncodeToString(hmacOf(sha256.New, secret, ts+join+string(body))))
	}
}

// Each preset's authentication test is one of authCaseSuites.
func init() {
	for name := range presetTests {
		authCaseSuites[name] = func(t *testing.T) { testPresetAuthenticate(t, name) }
	}
}

func presetBody(t testing.TB, file string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "presets", file))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// request is tc's valid request: its body, its headers, and the proof signed with secret.
func (tc presetTest) request(t testing.TB, secret string) Request {
	t.Helper()
	return tc.requestAt(t, secret, presetSignedAt)
}

// requestAt is tc's request signed at at, received a second after presetSignedAt.
func (tc presetTest) requestAt(t testing.TB, secret string, at time.Time) Request {
	t.Helper()
	body := presetBody(t, tc.file)
	req := hmacRequest(body, tc.header...)
	req.Header.Set("Content-Type", "application/json")
	req.Received = presetSignedAt.Add(time.Second)
	if !tc.receivedAt.IsZero() {
		req.Received = tc.receivedAt
	}
	if tc.signAt != nil {
		tc.signAt(req.Header, secret, body, at)
	} else {
		req.Header.Set(tc.proof, tc.sign(secret, body))
	}
	return req
}

// presetCreds are the credentials of an endpoint of the preset with secrets, configured as the
// bridge configures it.
func presetCreds(t testing.TB, p *Provider, keys map[string]any, secrets ...string) Credentials {
	t.Helper()
	settings, err := p.Configure(p.Name, Credentials{Secrets: secrets}, func(key string, v any) (bool, error) {
		value, ok := keys[key]
		if !ok {
			return false, nil
		}
		switch dst := v.(type) {
		case *string:
			*dst = value.(string)
		default:
			t.Fatalf("key %s: test reader cannot decode into %T", key, v)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("configure %s: %v", p.Name, err)
	}
	if settings.TypePrefix != p.TypePrefix {
		t.Errorf("type prefix %q, want %q", settings.TypePrefix, p.TypePrefix)
	}
	return Credentials{Secrets: secrets, Settings: settings.Value}
}

// TestHMACPresetsAuthenticate runs each preset's authentication cases.
func TestHMACPresetsAuthenticate(t *testing.T) {
	for name := range presetTests {
		t.Run(name, func(t *testing.T) { testPresetAuthenticate(t, name) })
	}
}

func testPresetAuthenticate(t *testing.T, name string) {
	tc := presetTests[name]
	cases := commonAuthCases(proofSpec{
		header:      tc.proof,
		otherSecret: "not-the-secret",
		undecodable: tc.undecodable,
	})
	cases = append(cases, []authCase{
		{
			name:    "body with a trailing newline",
			modify:  func(r *Request) { r.Body = append(r.Body, '\n') },
			wantErr: ErrBadSignature,
		},
	}...)
	if tc.tolerance > 0 {
		resignAt := func(at time.Time) func(r *Request) {
			return func(r *Request) { *r = tc.requestAt(t, tc.secret, at) }
		}
		received := presetSignedAt.Add(time.Second)
		cases = append(cases, []authCase{
			{name: "timestamp at the edge of the window", modify: resignAt(received.Add(-tc.tolerance))},
			{name: "timestamp too old", modify: resignAt(received.Add(-tc.tolerance - time.Second)), wantErr: ErrStaleTimestamp},
			{name: "timestamp too far ahead", modify: resignAt(received.Add(tc.tolerance + time.Second)), wantErr: ErrStaleTimestamp},
		}...)
	}
	runAuthCases(t, tc.p, tc.request(t, tc.secret), presetCreds(t, tc.p, tc.keys, tc.secret), cases)
}

// TestHMACPresetsMap: each preset's valid request maps to the sender's id and type, and the same
// delivery sent twice is the same event (same id, same signed bytes).
func TestHMACPresetsMap(t *testing.T) {
	for name, tc := range presetTests {
		t.Run(name, func(t *testing.T) {
			creds := presetCreds(t, tc.p, tc.keys, tc.secret)
			var first Verified
			for i := range 2 {
				v, err := tc.p.Verify(tc.request(t, tc.secret), creds)
				if err != nil {
					t.Fatalf("delivery %d: %v", i+1, err)
				}
				ev, err := v.Map()
				if err != nil || ev != tc.want {
					t.Fatalf("delivery %d: Map = %+v, %v; want %+v", i+1, ev, err, tc.want)
				}
				if i == 0 {
					first = v
					continue
				}
				if !bytes.Equal(v.SignedBody(), first.SignedBody()) {
					t.Error("the same delivery twice: signed bytes differ")
				}
			}
		})
	}
}

// TestHMACPresetsAreBlocks: a preset is its hmac block: the block, configured on the plain hmac
// provider, verifies the same request and maps it to the same event.
func TestHMACPresetsAreBlocks(t *testing.T) {
	for name, tc := range presetTests {
		t.Run(name, func(t *testing.T) {
			if tc.p.HMACBlock == "" {
				t.Fatal("no HMACBlock")
			}
			endpoint := "hmac:\n  " + strings.ReplaceAll(tc.p.HMACBlock, "\n", "\n  ") + "\n  type_prefix: " + tc.p.TypePrefix + "\n"
			if u, ok := tc.keys["public_url"]; ok {
				endpoint += "public_url: " + u.(string) + "\n"
			}
			settings, err := hmacConfigure(t, name, endpoint)
			if err != nil {
				t.Fatalf("the block on the hmac provider: %v", err)
			}
			if settings.TypePrefix != tc.p.TypePrefix {
				t.Errorf("type prefix %q, want %q", settings.TypePrefix, tc.p.TypePrefix)
			}
			v, err := HMAC.Verify(tc.request(t, tc.secret), Credentials{Secrets: []string{tc.secret}, Settings: settings.Value})
			if err != nil {
				t.Fatalf("the block rejects the preset's request: %v", err)
			}
			if ev, err := v.Map(); err != nil || ev != tc.want {
				t.Fatalf("Map = %+v, %v; want %+v", ev, err, tc.want)
			}
		})
	}
}

// TestHMACPresetsPublishedExamples verifies the examples the senders (or their official SDKs)
// publish: secret, payload and signature as they print them.
func TestHMACPresetsPublishedExamples(t *testing.T) {
	tests := []struct {
		name   string
		p      *Provider
		secret string
		body   string
		header []string
	}{
		{
			// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
			// ("Testing the webhook payload validation").
			name: "GitHub docs", p: GitHubPreset, secret: "It's a Secret to Everybody", body: "Hello, World!",
			header: []string{"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		},
		{
			// https://github.com/octokit/webhooks-methods.js, test/verify.test.ts: {foo: "bar"}
			// written as GitHub sends JSON (two-space indentation, a final line break).
			name: "GitHub octokit/webhooks-methods", p: GitHubPreset, secret: "mysecret", body: "{\n  \"foo\": \"bar\"\n}\n",
			header: []string{"X-Hub-Signature-256", "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := hmacRequest([]byte(tc.body), tc.header...)
			if _, err := tc.p.Verify(req, presetCreds(t, tc.p, nil, "a-rotated-secret", tc.secret)); err != nil {
				t.Fatalf("published example rejected: %v", err)
			}
			if _, err := tc.p.Verify(req, presetCreds(t, tc.p, nil, "not-"+tc.secret)); err == nil {
				t.Fatal("published example accepted with another secret")
			}
			// The same example through the preset's block on the plain hmac provider.
			settings, err := hmacConfigure(t, "x", "hmac:\n  "+strings.ReplaceAll(tc.p.HMACBlock, "\n", "\n  ")+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := HMAC.Verify(req, Credentials{Secrets: []string{tc.secret}, Settings: settings.Value}); err != nil {
				t.Fatalf("the block on the hmac provider rejects it: %v", err)
			}
		})
	}
}

// TestHMACPresetsDeclaration: each preset's answers and names.
func TestHMACPresetsDeclaration(t *testing.T) {
	for name, tc := range presetTests {
		t.Run(name, func(t *testing.T) {
			p := tc.p
			if p.Name != name || p.TypePrefix != "com."+name {
				t.Errorf("Name %q, TypePrefix %q", p.Name, p.TypePrefix)
			}
			if p.Success.Status != http.StatusOK || p.Rejection.Status != http.StatusUnauthorized || p.Retry.Status != http.StatusServiceUnavailable {
				t.Errorf("answers %d/%d/%d, want 200/401/503", p.Success.Status, p.Rejection.Status, p.Retry.Status)
			}
			if _, ok := Lookup(name); !ok {
				t.Errorf("not registered")
			}
			// The demo's Sign, with its signature recomputed here.
			creds := p.DemoCredentials("demo-secret")
			ex := p.Load.Example(p.Load.DefaultType, "r", 1, time.Unix(1700000000, 0))
			h, err := p.Sign(creds, ex.Body, time.Unix(1700000000, 0))
			if err != nil {
				t.Fatal(err)
			}
			want := h.Clone()
			switch {
			case tc.keys["public_url"] != nil:
				hubspotSign(demoListenURL+"/webhooks/hubspot")(want, "demo-secret", ex.Body, time.Unix(1700000000, 0))
			case tc.signAt != nil:
				tc.signAt(want, "demo-secret", ex.Body, time.Unix(1700000000, 0))
			default:
				want.Set(tc.proof, tc.sign("demo-secret", ex.Body))
			}
			if got := h.Get(tc.proof); got != want.Get(tc.proof) {
				t.Errorf("Sign: %s %q, want %q", tc.proof, got, want.Get(tc.proof))
			}
		})
	}
}

// TestHMACPresetsPublishedTimestamped verifies the timestamped examples the senders publish, each
// received at a time the sender's own test accepts, and refused when the timestamp has aged past
// the window.
func TestHMACPresetsPublishedTimestamped(t *testing.T) {
	tests := []struct {
		name     string
		p        *Provider
		secret   string
		body     []byte
		header   []string
		received time.Time
		// stale is a time of receipt the sender's test refuses.
		stale time.Time
	}{
		{
			// https://api.slack.com/authentication/verifying-requests-from-slack: the slash
			// command of the worked example (testdata/presets/slack_slash_command.txt).
			name: "Slack docs", p: SlackPreset, secret: "8f742231b10e8888abcd99yyyzzz85a5",
			body: presetBody(t, "slack_slash_command.txt"),
			header: []string{
				"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
				"X-Slack-Request-Timestamp", "1531420618",
			},
			received: time.Unix(1531420618+60, 0), stale: time.Unix(1531420618+5*60+1, 0),
		},
		{
			// https://github.com/PaddleHQ/paddle-node-sdk,
			// src/__tests__/notifications/webhooks-validator.node.test.ts: "Valid signature",
			// valid up to five seconds after ts and refused at six.
			name: "Paddle SDK", p: PaddlePreset, secret: "VALID_SECRET", body: []byte(`{"data": ["1", "2"]}`),
			header: []string{
				"Paddle-Signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9",
			},
			received: time.Unix(1698796805, 0), stale: time.Unix(1698796806, 0),
		},
		{
			// The same file: "Valid signature with multiple hashes" — two h1 pairs (a secret
			// being rotated) and an h2 pair of another version, which is ignored.
			name: "Paddle SDK, several signatures", p: PaddlePreset, secret: "VALID_SECRET", body: []byte(`{"data": "value"}`),
			header: []string{
				"Paddle-Signature", "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH",
			},
			received: time.Unix(1698796801, 0), stale: time.Unix(1698796806, 0),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := hmacRequest(tc.body, tc.header...)
			req.Received = tc.received
			creds := presetCreds(t, tc.p, nil, "a-rotated-secret", tc.secret)
			if _, err := tc.p.Verify(req, creds); err != nil {
				t.Fatalf("published example rejected: %v", err)
			}
			if _, err := tc.p.Verify(req, presetCreds(t, tc.p, nil, "INVALID_"+tc.secret)); err == nil {
				t.Fatal("published example accepted with another secret")
			}
			req.Received = tc.stale
			_, err := tc.p.Authenticate(req, creds)
			checkAuthError(t, err, ErrStaleTimestamp)
		})
	}
}

// TestHMACPresetsHandshakes: each handshake is answered at once, verified where the sender signs
// it, and a badly signed one is refused.
func TestHMACPresetsHandshakes(t *testing.T) {
	received := presetSignedAt.Add(time.Second)
	slackBody := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	zoomBody := []byte(`{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`)
	twitchBody := []byte(`{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2"}}`)
	signed := func(body []byte, sign func(h http.Header, secret string, body []byte, at time.Time), secret string, header ...string) Request {
		req := hmacRequest(body, header...)
		req.Method, req.URI, req.Received = http.MethodPost, "/webhooks/x", received
		sign(req.Header, secret, body, presetSignedAt)
		return req
	}
	zoomMAC := hex.EncodeToString(hmacOf(sha256.New, "zoom-secret-token", "qgg8vlvZRS6UYooatFL8Aw"))
	get := func(uri string) Request {
		return Request{Method: http.MethodGet, URI: uri, Header: http.Header{}, Received: received}
	}
	tests := []struct {
		name        string
		p           *Provider
		creds       Credentials
		req         Request
		handshake   bool
		status      int
		contentType string
		body        string
	}{
		{
			name: "Slack url_verification", p: SlackPreset, creds: presetCreds(t, SlackPreset, nil, "slack-secret"),
			req:       signed(slackBody, slackStyle("X-Slack-Signature", "X-Slack-Request-Timestamp"), "slack-secret"),
			handshake: true, status: 200, contentType: "text/plain", body: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
		},
		{
			name: "Slack url_verification, badly signed", p: SlackPreset, creds: presetCreds(t, SlackPreset, nil, "slack-secret"),
			req:       signed(slackBody, slackStyle("X-Slack-Signature", "X-Slack-Request-Timestamp"), "not-the-secret"),
			handshake: true, status: 401,
		},
		{
			name: "Slack url_verification, unsigned", p: SlackPreset, creds: presetCreds(t, SlackPreset, nil, "slack-secret"),
			req: Request{Method: http.MethodPost, Header: http.Header{}, Body: slackBody, Received: received}, handshake: true, status: 401,
		},
		{
			name: "Slack event is no handshake", p: SlackPreset, creds: presetCreds(t, SlackPreset, nil, "slack-secret"),
			req: signed(presetBody(t, "slack_app_mention.json"), slackStyle("X-Slack-Signature", "X-Slack-Request-Timestamp"), "slack-secret"),
		},
		{
			// The token is keyed with the first secret, whichever signed the request.
			name: "Zoom endpoint.url_validation", p: ZoomPreset, creds: presetCreds(t, ZoomPreset, nil, "zoom-secret-token", "zoom-old-token"),
			req:       signed(zoomBody, slackStyle("X-Zm-Signature", "X-Zm-Request-Timestamp"), "zoom-old-token"),
			handshake: true, status: 200, contentType: "application/json",
			body: `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"` + zoomMAC + `"}`,
		},
		{
			name: "Zoom endpoint.url_validation, badly signed", p: ZoomPreset, creds: presetCreds(t, ZoomPreset, nil, "zoom-secret-token"),
			req:       signed(zoomBody, slackStyle("X-Zm-Signature", "X-Zm-Request-Timestamp"), "not-the-secret"),
			handshake: true, status: 401,
		},
		{
			name: "Zoom endpoint.url_validation, unsigned", p: ZoomPreset, creds: presetCreds(t, ZoomPreset, nil, "zoom-secret-token"),
			req: Request{Method: http.MethodPost, Header: http.Header{}, Body: zoomBody, Received: received}, handshake: true, status: 401,
		},
		{
			name: "Zoom endpoint.url_validation, stale", p: ZoomPreset, creds: presetCreds(t, ZoomPreset, nil, "zoom-secret-token"),
			req: func() Request {
				r := signed(zoomBody, slackStyle("X-Zm-Signature", "X-Zm-Request-Timestamp"), "zoom-secret-token")
				r.Received = presetSignedAt.Add(time.Hour)
				return r
			}(),
			handshake: true, status: 401,
		},
		{
			name: "Twitch webhook_callback_verification", p: TwitchPreset, creds: presetCreds(t, TwitchPreset, nil, "twitch-secret"),
			req: signed(twitchBody, twitchSign, "twitch-secret",
				"Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b", "Twitch-Eventsub-Message-Type", "webhook_callback_verification"),
			handshake: true, status: 200, contentType: "text/plain", body: "pogchamp-kappa-360noscope-vohiyo",
		},
		{
			name: "Twitch webhook_callback_verification, badly signed", p: TwitchPreset, creds: presetCreds(t, TwitchPreset, nil, "twitch-secret"),
			req: signed(twitchBody, twitchSign, "not-the-secret",
				"Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b", "Twitch-Eventsub-Message-Type", "webhook_callback_verification"),
			handshake: true, status: 401,
		},
		{
			name: "Twitch notification is no handshake", p: TwitchPreset, creds: presetCreds(t, TwitchPreset, nil, "twitch-secret"),
			req: signed(twitchBody, twitchSign, "twitch-secret",
				"Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b", "Twitch-Eventsub-Message-Type", "notification"),
		},
		{
			name: "Meta GET challenge", p: MetaPreset, creds: presetCreds(t, MetaPreset, map[string]any{"verify_token": "meta-verify-token"}, "s"),
			req:       get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify-token"),
			handshake: true, status: 200, contentType: "text/plain", body: "1158201444",
		},
		{
			name: "Meta GET challenge, wrong token", p: MetaPreset, creds: presetCreds(t, MetaPreset, map[string]any{"verify_token": "meta-verify-token"}, "s"),
			req:       get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify-tokeN"),
			handshake: true, status: 403,
		},
		{
			name: "Meta GET challenge, no token", p: MetaPreset, creds: presetCreds(t, MetaPreset, map[string]any{"verify_token": "meta-verify-token"}, "s"),
			req:       get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444"),
			handshake: true, status: 403,
		},
		{
			name: "Meta GET without hub.mode", p: MetaPreset, creds: presetCreds(t, MetaPreset, map[string]any{"verify_token": "meta-verify-token"}, "s"),
			req: get("/webhooks/meta"), handshake: true, status: 403,
		},
		{
			name: "Meta POST is no handshake", p: MetaPreset, creds: presetCreds(t, MetaPreset, map[string]any{"verify_token": "meta-verify-token"}, "s"),
			req: Request{Method: http.MethodPost, URI: "/webhooks/meta?hub.mode=subscribe&hub.verify_token=meta-verify-token", Header: http.Header{}, Body: []byte(`{}`)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := tc.p.Handshake(tc.req, tc.creds)
			if ok != tc.handshake {
				t.Fatalf("handshake %v, want %v", ok, tc.handshake)
			}
			if !ok {
				return
			}
			if a.Status != tc.status || a.Status == 200 && (a.ContentType != tc.contentType || string(a.Body) != tc.body) {
				t.Errorf("answer %d %q %q, want %d %q %q", a.Status, a.ContentType, a.Body, tc.status, tc.contentType, tc.body)
			}
		})
	}
}

// TestHubSpotPresetURL: HubSpot signs the URL it called, which is the endpoint's public_url
// followed by the request's path and query — never the Host header.
func TestHubSpotPresetURL(t *testing.T) {
	body := presetBody(t, "hubspot_contact_creation.json")
	creds := presetCreds(t, HubSpotPreset, map[string]any{"public_url": "https://hooks.example.com/"}, "hubspot-client-secret")
	signedAs := func(url string) Request {
		req := hmacRequest(body, "Host", "attacker.example")
		req.Method, req.URI, req.Received = http.MethodPost, "/webhooks/hubspot?portal=62515", presetSignedAt.Add(time.Second)
		hubspotSign(url)(req.Header, "hubspot-client-secret", body, presetSignedAt)
		return req
	}
	_, err := HubSpotPreset.Authenticate(signedAs("https://hooks.example.com/webhooks/hubspot?portal=62515"), creds)
	checkAuthError(t, err, nil)
	_, err = HubSpotPreset.Authenticate(signedAs("https://attacker.example/webhooks/hubspot?portal=62515"), creds)
	checkAuthError(t, err, ErrBadSignature)
	_, err = HubSpotPreset.Authenticate(signedAs("https://hooks.example.com/webhooks/hubspot"), creds)
	checkAuthError(t, err, ErrBadSignature)

	// public_url is required.
	if _, err := HubSpotPreset.Configure("hubspot", Credentials{Secrets: []string{"s"}}, func(string, any) (bool, error) { return false, nil }); err == nil {
		t.Error("configured without public_url")
	}

	// HubSpot sends events in batches, a JSON array: authentic, but no one type names the
	// batch, so it is published unmapped.
	batch := presetBody(t, "hubspot_batch.json")
	req := hmacRequest(batch)
	req.Received = presetSignedAt.Add(time.Second)
	hubspotSign(hubspotTestURL)(req.Header, "hubspot-client-secret", batch, presetSignedAt)
	v, err := HubSpotPreset.Verify(req, presetCreds(t, HubSpotPreset, map[string]any{"public_url": hubspotTestURL}, "hubspot-client-secret"))
	if err != nil {
		t.Fatalf("batch rejected: %v", err)
	}
	if _, err := v.Map(); !errors.Is(err, ErrUnmappable) {
		t.Errorf("batch Map error %v, want ErrUnmappable", err)
	}
}

// TestDocuSignPresetNumberedHeaders: DocuSign signs once per active Connect key, in
// X-DocuSign-Signature-1, -2, …; any one may match, and the family ends at its first gap.
func TestDocuSignPresetNumberedHeaders(t *testing.T) {
	body := presetBody(t, "docusign_envelope_completed.json")
	sig := func(key string) string {
		return base64.StdEncoding.EncodeToString(hmacOf(sha256.New, key, string(body)))
	}
	creds := presetCreds(t, DocuSignPreset, nil, "docusign-connect-key")
	tests := []struct {
		name    string
		header  []string
		wantErr error
	}{
		{"the second key matches", []string{"X-DocuSign-Signature-1", sig("another-key"), "X-DocuSign-Signature-2", sig("docusign-connect-key")}, nil},
		{"the first key matches", []string{"X-DocuSign-Signature-1", sig("docusign-connect-key"), "X-DocuSign-Signature-2", sig("another-key")}, nil},
		{"none matches", []string{"X-DocuSign-Signature-1", sig("another-key"), "X-DocuSign-Signature-2", sig("a-third-key")}, ErrBadSignature},
		{"after a gap", []string{"X-DocuSign-Signature-1", sig("another-key"), "X-DocuSign-Signature-3", sig("docusign-connect-key")}, ErrBadSignature},
		{"only a second header", []string{"X-DocuSign-Signature-2", sig("docusign-connect-key")}, ErrMissingProof},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DocuSignPreset.Authenticate(hmacRequest(body, tc.header...), creds)
			checkAuthError(t, err, tc.wantErr)
		})
	}
}

// TestMetaPresetVerifyToken: verify_token is required, and it is not one of the secrets.
func TestMetaPresetVerifyToken(t *testing.T) {
	_, err := MetaPreset.Configure("meta", Credentials{Secrets: []string{"s"}}, func(string, any) (bool, error) { return false, nil })
	var se *SettingError
	if !errors.As(err, &se) || se.Key != "verify_token" {
		t.Errorf("configure without verify_token: %v, want a SettingError naming verify_token", err)
	}
}
