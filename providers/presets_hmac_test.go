package providers

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"os"
	"path/filepath"
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
	// file is the body, in testdata/presets.
	file string
	// header is what the sender sends beside its proof: delivery id, event name.
	header []string
	// proof is the proof header's name; sign computes its value as the sender documents it.
	proof string
	sign  func(secret string, body []byte) string
	// undecodable is a proof value no encoding the preset reads can decode.
	undecodable string
	want        Event
}

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
		header: []string{"Linear-Delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72", "Linear-Event", "Issue"},
		proof:  "Linear-Signature", sign: macHex(sha256.New, ""), undecodable: "zz",
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
	body := presetBody(t, tc.file)
	req := hmacRequest(body, tc.header...)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tc.proof, tc.sign(secret, body))
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
	runAuthCases(t, tc.p, tc.request(t, tc.secret), presetCreds(t, tc.p, nil, tc.secret), cases)
}

// TestHMACPresetsMap: each preset's valid request maps to the sender's id and type, and the same
// delivery sent twice is the same event (same id, same signed bytes).
func TestHMACPresetsMap(t *testing.T) {
	for name, tc := range presetTests {
		t.Run(name, func(t *testing.T) {
			creds := presetCreds(t, tc.p, nil, tc.secret)
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
			if got, want := h.Get(tc.proof), tc.sign("demo-secret", ex.Body); got != want {
				t.Errorf("Sign: %s %q, want %q", tc.proof, got, want)
			}
		})
	}
}
