package providers

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Discord's documentation ("Security and Authorization",
// https://discord.com/developers/docs/interactions/receiving-and-responding#security-and-authorization):
// X-Signature-Ed25519 is the hex Ed25519 signature of X-Signature-Timestamp followed by the raw
// body, checked with the application's public key (hex); a bad one must get 401.
//
// Discord publishes no fixed key, body and signature to check against: its own library's tests
// (https://github.com/discord/discord-interactions-js, src/__tests__/verifyKey.ts) generate a key
// pair and sign in the test, and so do these, with crypto/ed25519 (RFC 8032), never with the
// provider's Sign. The bodies in testdata/discord are that library's example requests
// (src/__tests__/utils/SharedTestUtils.ts) and, for guild_command.json and modal_submit_dm.json,
// shaped after the interaction example of Discord's "Receiving and Responding" page.

// discordTestKey is the test's Discord application key pair, fixed so that failures repeat.
var discordTestKey = func() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("discord test application"))
	return ed25519.NewKeyFromSeed(seed[:])
}()

// discordOtherKey is another application's key pair.
var discordOtherKey = func() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("another discord application"))
	return ed25519.NewKeyFromSeed(seed[:])
}()

// discordPublicHex is key's public half as the Developer Portal shows it.
func discordPublicHex(key ed25519.PrivateKey) string {
	return hex.EncodeToString(key.Public().(ed25519.PublicKey))
}

// discordSignature signs as Discord's documentation says: Ed25519 over timestamp + body, in hex.
func discordSignature(key ed25519.PrivateKey, timestamp string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(key, []byte(timestamp+string(body))))
}

// discordRequest is body as Discord sends it, signed with key at timestamp.
func discordRequest(key ed25519.PrivateKey, timestamp string, body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Discord-Interactions/1.0 (+https://discord.com)")
	h.Set("X-Signature-Timestamp", timestamp)
	h.Set("X-Signature-Ed25519", discordSignature(key, timestamp, body))
	return Request{Method: http.MethodPost, URI: "/webhooks/discord", Header: h, Body: body}
}

// discordExample reads a body from testdata/discord.
func discordExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "discord", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// discordCreds configures a discord endpoint with keys (public_key, timestamp_tolerance) as an
// operator would write them.
func discordCreds(t testing.TB, keys map[string]any) Credentials {
	t.Helper()
	settings, err := Discord.Configure("discord", Credentials{}, settingsOf(keys))
	if err != nil {
		t.Fatal(err)
	}
	return Credentials{Settings: settings.Value}
}

// publicKeyAuthCases are the common cases for a provider verified with a public key: those about
// secrets (rotation, a wrong or no secret) ask nothing of it, so they are replaced by the same
// questions about its key, asked with creds made by configured.
func publicKeyAuthCases(spec proofSpec, configured func(publicKey string) Credentials, otherKey string) []authCase {
	secretCases := []string{
		"rotation: the second of two secrets matches", "rotation: the first of two secrets matches",
		"wrong secret", "no secret configured",
	}
	var cases []authCase
	for _, c := range commonAuthCases(spec) {
		if !slices.Contains(secretCases, c.name) {
			cases = append(cases, c)
		}
	}
	return append(cases,
		authCase{name: "another application's public key", creds: useCreds(configured(otherKey)), wantErr: ErrBadSignature},
		authCase{name: "no public key configured", creds: useCreds(configured("")), wantErr: ErrBadSignature},
		authCase{name: "no settings at all", creds: useCreds(Credentials{}), wantErr: ErrBadSignature},
		authCase{
			// A secret is never a key the bridge verifies with, whatever its value.
			name:    "a secret beside no key",
			creds:   useCreds(Credentials{Secrets: []string{"demo-secret"}}),
			wantErr: ErrBadSignature,
		},
	)
}

func TestDiscordAuthenticate(t *testing.T) {
	body := discordExample(t, "application_command.json")
	const ts = "1725548450"
	configured := func(publicKey string) Credentials {
		if publicKey == "" {
			return discordCreds(t, nil)
		}
		return discordCreds(t, map[string]any{"public_key": publicKey})
	}
	cases := publicKeyAuthCases(proofSpec{
		header:      DiscordSignatureHeader,
		undecodable: strings.Repeat("zz", 64),
		tamper: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"name":"test"`, `"name":"tesu"`, 1))
		},
	}, configured, discordPublicHex(discordOtherKey))
	cases = append(cases, []authCase{
		{
			name:    "signed by another application",
			modify:  func(r *Request) { *r = discordRequest(discordOtherKey, ts, r.Body) },
			wantErr: ErrBadSignature,
		},
		{
			// What Discord's check of the endpoint sends: a signature that is well formed and wrong.
			name: "deliberately bad signature",
			modify: func(r *Request) {
				sig := []byte(r.Header.Get("X-Signature-Ed25519"))
				sig[10] ^= 1
				r.Header.Set("X-Signature-Ed25519", string(sig))
			},
			wantErr: ErrBadSignature,
		},
		{
			name:    "timestamp changed",
			modify:  func(r *Request) { r.Header.Set("X-Signature-Timestamp", "1725548451") },
			wantErr: ErrBadSignature,
		},
		{
			name: "signature over the body alone",
			modify: func(r *Request) {
				r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(discordTestKey, r.Body)))
			},
			wantErr: ErrBadSignature,
		},
		{
			name:    "body with a trailing newline",
			modify:  func(r *Request) { r.Body = append(r.Body, '\n') },
			wantErr: ErrBadSignature,
		},
		{
			name:    "missing timestamp header",
			modify:  func(r *Request) { r.Header.Del("X-Signature-Timestamp") },
			wantErr: ErrMalformedProof,
		},
		{
			name: "no signature and no timestamp",
			modify: func(r *Request) {
				r.Header.Del("X-Signature-Ed25519")
				r.Header.Del("X-Signature-Timestamp")
			},
			wantErr: ErrMissingProof,
		},
		{
			name:    "duplicate timestamp header",
			modify:  func(r *Request) { r.Header.Add("X-Signature-Timestamp", ts) },
			wantErr: ErrMalformedProof,
		},
		{
			// The signature covers "{ts}{body}" with no separator: a timestamp that is not
			// digits could take the start of the body.
			name: "timestamp with a letter, signed right",
			modify: func(r *Request) {
				*r = discordRequest(discordTestKey, "1725548450a", r.Body)
			},
			wantErr: ErrMalformedProof,
		},
		{
			name:    "timestamp of 20 digits, signed right",
			modify:  func(r *Request) { *r = discordRequest(discordTestKey, "17255484501725548450", r.Body) },
			wantErr: ErrMalformedProof,
		},
		{
			name: "signature of 63 bytes",
			modify: func(r *Request) {
				r.Header.Set("X-Signature-Ed25519", r.Header.Get("X-Signature-Ed25519")[:126])
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "odd number of hex digits",
			modify: func(r *Request) {
				r.Header.Set("X-Signature-Ed25519", r.Header.Get("X-Signature-Ed25519")[:127])
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "upper-case hex accepted",
			modify: func(r *Request) {
				r.Header.Set("X-Signature-Ed25519", strings.ToUpper(r.Header.Get("X-Signature-Ed25519")))
			},
		},
		{
			name:   "old timestamp accepted: no age check by default",
			modify: func(r *Request) { *r = discordRequest(discordTestKey, "1000000000", r.Body) },
		},
		{
			name:   "empty body, signed",
			modify: func(r *Request) { *r = discordRequest(discordTestKey, ts, nil) },
		},
	}...)
	runAuthCases(t, Discord, discordRequest(discordTestKey, ts, body), configured(discordPublicHex(discordTestKey)), cases)
}

// TestDiscordTimestampTolerance: with timestamp_tolerance set, a timestamp further than it from
// the time of receipt, either way, is stale; unset, any age passes (Discord documents no window).
func TestDiscordTimestampTolerance(t *testing.T) {
	body := discordExample(t, "application_command.json")
	received := time.Unix(1725548450, 0)
	at := func(d time.Duration) string { return strconv.FormatInt(received.Add(d).Unix(), 10) }
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		ts        string
		key       ed25519.PrivateKey // nil: the right one
		wantErr   error
	}{
		{name: "unset: a year old", ts: at(-365 * 24 * time.Hour)},
		{name: "unset: a day ahead", ts: at(24 * time.Hour)},
		{name: "5m: now", tolerance: 5 * time.Minute, ts: at(0)},
		{name: "5m: 5 minutes old", tolerance: 5 * time.Minute, ts: at(-5 * time.Minute)},
		{name: "5m: 5 minutes 1 second old", tolerance: 5 * time.Minute, ts: at(-5*time.Minute - time.Second), wantErr: ErrStaleTimestamp},
		{name: "5m: 5 minutes 1 second ahead", tolerance: 5 * time.Minute, ts: at(5*time.Minute + time.Second), wantErr: ErrStaleTimestamp},
		{name: "5m: an old timestamp wrongly signed is a bad signature", tolerance: 5 * time.Minute, ts: at(-time.Hour), key: discordOtherKey, wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := map[string]any{"public_key": discordPublicHex(discordTestKey)}
			if tt.tolerance != 0 {
				keys["timestamp_tolerance"] = tt.tolerance
			}
			key := discordTestKey
			if tt.key != nil {
				key = tt.key
			}
			req := discordRequest(key, tt.ts, body)
			req.Received = received
			_, err := Discord.Verify(req, discordCreds(t, keys))
			checkAuthError(t, err, tt.wantErr)
		})
	}
}

// TestDiscordPing: a PING is answered {"type":1} once verified, 401 otherwise, and never reaches
// the pipeline; anything else is no handshake.
func TestDiscordPing(t *testing.T) {
	ping := discordExample(t, "ping.json")
	creds := discordCreds(t, map[string]any{"public_key": discordPublicHex(discordTestKey)})
	tests := []struct {
		name       string
		req        Request
		creds      Credentials
		handshake  bool
		wantStatus int
		wantBody   string
	}{
		{name: "signed PING", req: discordRequest(discordTestKey, "1725548450", ping), creds: creds, handshake: true, wantStatus: 200, wantBody: `{"type":1}`},
		{name: "PING signed by another key", req: discordRequest(discordOtherKey, "1725548450", ping), creds: creds, handshake: true, wantStatus: 401},
		{
			name: "PING without a signature",
			req: func() Request {
				r := discordRequest(discordTestKey, "1725548450", ping)
				r.Header.Del("X-Signature-Ed25519")
				return r
			}(),
			creds: creds, handshake: true, wantStatus: 401,
		},
		{
			name: "PING without a signature on an endpoint that allows unsigned requests",
			req: func() Request {
				r := discordRequest(discordTestKey, "1725548450", ping)
				r.Header.Del("X-Signature-Ed25519")
				return r
			}(),
			creds: func() Credentials { c := creds; c.AllowUnsigned = true; return c }(), handshake: true, wantStatus: 401,
		},
		{name: "compact PING", req: discordRequest(discordTestKey, "1725548450", []byte(`{"type":1}`)), creds: creds, handshake: true, wantStatus: 200, wantBody: `{"type":1}`},
		{name: "application command", req: discordRequest(discordTestKey, "1725548450", discordExample(t, "application_command.json")), creds: creds},
		{name: "not JSON", req: discordRequest(discordTestKey, "1725548450", []byte(`type=1`)), creds: creds},
		{name: "type 1 as a string", req: discordRequest(discordTestKey, "1725548450", []byte(`{"type":"1"}`)), creds: creds},
		{
			name: "GET",
			req: func() Request {
				r := discordRequest(discordTestKey, "1725548450", ping)
				r.Method = http.MethodGet
				return r
			}(),
			creds: creds,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, ok := Discord.Handshake(tt.req, tt.creds)
			if ok != tt.handshake {
				t.Fatalf("handshake = %v, want %v", ok, tt.handshake)
			}
			if !ok {
				return
			}
			if answer.Status != tt.wantStatus {
				t.Errorf("status %d, want %d", answer.Status, tt.wantStatus)
			}
			if tt.wantBody != "" {
				checkAnswer(t, "PONG", answer, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestDiscordMap(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "application command in a guild (docs' example)",
			body: discordExample(t, "guild_command.json"),
			want: Event{Type: "application_command", ID: "867794291820986368", Subject: "772904309264089089",
				Time: time.UnixMilli(867794291820986368>>22 + 1420070400000).UTC()},
		},
		{
			name: "modal submit in a DM: the user is the subject",
			body: discordExample(t, "modal_submit_dm.json"),
			want: Event{Type: "modal_submit", ID: "867794291820986369", Subject: "167348773423415296",
				Time: time.UnixMilli(867794291820986369>>22 + 1420070400000).UTC()},
		},
		{
			name: "application command (discord-interactions-js example)",
			body: discordExample(t, "application_command.json"),
			want: Event{Type: "application_command", ID: "787053080478613556", Time: time.Date(2020, 12, 11, 20, 27, 57, 125e6, time.UTC)},
		},
		{
			name: "message component",
			body: discordExample(t, "message_component.json"),
			want: Event{Type: "message_component", ID: "787053080478613555", Time: time.Date(2020, 12, 11, 20, 27, 57, 125e6, time.UTC)},
		},
		{
			name: "autocomplete",
			body: discordExample(t, "autocomplete.json"),
			want: Event{Type: "application_command_autocomplete", ID: "787053080478613555", Time: time.Date(2020, 12, 11, 20, 27, 57, 125e6, time.UTC)},
		},
		{
			name: "member in a guild without guild_id: the member's user",
			body: []byte(`{"id":"x1","type":3,"member":{"user":{"id":"53908232506183680"}}}`),
			want: Event{Type: "message_component", ID: "x1", Subject: "53908232506183680"},
		},
		{
			name: "no id: the body's hash",
			body: []byte(`{"type":2}`),
			want: Event{Type: "application_command"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Discord.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestDiscordMapUnmappable(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		wantID string
	}{
		{"not JSON", `type=2`, ""},
		{"JSON array", `[{"type":2}]`, ""},
		{"no type", `{"id":"1"}`, "1"},
		{"unknown type", `{"id":"2","type":99}`, "2"},
		{"type as a string", `{"id":"3","type":"2"}`, "3"},
		{"type with a fraction", `{"id":"4","type":2.0}`, "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Discord.Map(Request{Header: http.Header{}, Body: []byte(tt.body)})
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want %v", err, ErrUnmappable)
			}
			if ev.ID != tt.wantID {
				t.Errorf("id %q, want %q (retries of an unmapped interaction stay one event)", ev.ID, tt.wantID)
			}
		})
	}
}

// TestDiscordDuplicate: the same interaction delivered twice is one event: its id is the signed
// interaction id, whatever the timestamp of the delivery.
func TestDiscordDuplicate(t *testing.T) {
	body := discordExample(t, "guild_command.json")
	creds := discordCreds(t, map[string]any{"public_key": discordPublicHex(discordTestKey)})
	var ids []string
	for _, ts := range []string{"1725548450", "1725548455"} {
		v, err := Discord.Verify(discordRequest(discordTestKey, ts, body), creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		if string(v.SignedBody()) != string(body) {
			t.Error("the signed bytes are not the raw body")
		}
		ids = append(ids, ev.ID)
	}
	if ids[0] != ids[1] || ids[0] != "867794291820986368" {
		t.Errorf("ids %q, want the interaction id twice", ids)
	}
}

func TestDiscordDeclaration(t *testing.T) {
	p, ok := Lookup("discord")
	if !ok || p != Discord {
		t.Fatal(`Lookup("discord") does not return Discord`)
	}
	if p.TypePrefix != "com.discord" {
		t.Errorf("TypePrefix = %q", p.TypePrefix)
	}
	if p.Rejection.Status != http.StatusUnauthorized {
		t.Errorf("Rejection status = %d, want 401 (Discord's check)", p.Rejection.Status)
	}
	checkAnswer(t, "Success", p.Success, http.StatusOK, `{"type":5}`)
	if p.Retry.Status != http.StatusServiceUnavailable {
		t.Errorf("Retry = %d, want 503", p.Retry.Status)
	}
	for _, want := range []string{"application_command", "message_component", "application_command_autocomplete", "modal_submit"} {
		if !slices.Contains(p.DefaultReplyEvents, want) {
			t.Errorf("DefaultReplyEvents %v lack %s", p.DefaultReplyEvents, want)
		}
	}
	if !slices.Equal(p.SettingKeys, []string{"public_key", "timestamp_tolerance"}) {
		t.Errorf("SettingKeys = %v", p.SettingKeys)
	}
}

func TestDiscordConfigure(t *testing.T) {
	tests := []struct {
		name    string
		keys    map[string]any
		wantKey string // "": no error
	}{
		{name: "public key", keys: map[string]any{"public_key": discordPublicHex(discordTestKey)}},
		{name: "public key in upper case", keys: map[string]any{"public_key": strings.ToUpper(discordPublicHex(discordTestKey))}},
		{name: "no key: CheckCredentials refuses it", keys: map[string]any{}},
		{name: "not hex", keys: map[string]any{"public_key": strings.Repeat("z", 64)}, wantKey: "public_key"},
		{name: "31 bytes", keys: map[string]any{"public_key": discordPublicHex(discordTestKey)[:62]}, wantKey: "public_key"},
		{name: "base64 instead of hex", keys: map[string]any{"public_key": "MCowBQYDK2VwAyEA"}, wantKey: "public_key"},
		{name: "zero tolerance", keys: map[string]any{"public_key": discordPublicHex(discordTestKey), "timestamp_tolerance": time.Duration(0)}, wantKey: "timestamp_tolerance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Discord.Configure("discord", Credentials{}, settingsOf(tt.keys))
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Key != tt.wantKey {
				t.Errorf("error %v, want a SettingError for %s", err, tt.wantKey)
			}
		})
	}
}

func TestDiscordCheckCredentials(t *testing.T) {
	withKey := discordCreds(t, map[string]any{"public_key": discordPublicHex(discordTestKey)})
	tests := []struct {
		name   string
		creds  Credentials
		wantOK bool
	}{
		{"endpoint with a public key and no secrets", withKey, true},
		{"endpoint without a public key", discordCreds(t, nil), false},
		{"endpoint with a public key and secrets", func() Credentials { c := withKey; c.Secrets = []string{"s"}; return c }(), false},
		{"endpoint with bearer tokens", func() Credentials { c := withKey; c.BearerTokens = []string{"t"}; return c }(), false},
		{"endpoint with basic auth", func() Credentials { c := withKey; c.BasicAuth = &BasicAuth{"u", "p"}; return c }(), false},
		{"signing with a seed (bridge sign)", Credentials{Secrets: []string{"demo-secret"}}, true},
		{"nothing", Credentials{}, false},
		{"demo credentials", Discord.DemoCredentials("demo-secret"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Discord.CheckCredentials(tt.creds); (err == nil) != tt.wantOK {
				t.Errorf("CheckCredentials = %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

// TestDiscordDemo: `bridge sign -secret demo-secret` signs with the private half of the demo key
// pair, and the demo endpoint, configured from DemoKeys, verifies with its public half.
func TestDiscordDemo(t *testing.T) {
	seed := sha256.Sum256([]byte("demo-secret"))
	demo := ed25519.NewKeyFromSeed(seed[:])
	if want := "public_key: " + discordPublicHex(demo); Discord.DemoKeys != want {
		t.Errorf("DemoKeys = %q, want %q", Discord.DemoKeys, want)
	}
	body := discordExample(t, "guild_command.json")
	now := time.Unix(1725548450, 0)
	h, err := Discord.Sign(Credentials{Secrets: []string{"demo-secret"}}, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Signature-Timestamp"); got != "1725548450" {
		t.Errorf("timestamp %q", got)
	}
	if got, want := h.Get("X-Signature-Ed25519"), discordSignature(demo, "1725548450", body); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	endpoint := discordCreds(t, map[string]any{"public_key": discordPublicHex(demo)})
	if _, err := Discord.Verify(Request{Header: h, Body: body}, endpoint); err != nil {
		t.Errorf("the demo endpoint refuses the demo signature: %v", err)
	}
	if _, err := Discord.Sign(Credentials{}, body, now); err == nil {
		t.Error("Sign without a key succeeded")
	}
}

func FuzzDiscordAuthenticate(f *testing.F) {
	body := discordExample(f, "application_command.json")
	f.Add(body, "1725548450", discordSignature(discordTestKey, "1725548450", body))
	f.Add([]byte(`{"type":1}`), "1", "zz")
	f.Add([]byte(`{}`), "", "")
	creds := discordCreds(f, map[string]any{"public_key": discordPublicHex(discordTestKey)})
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		h := http.Header{}
		h.Set("X-Signature-Timestamp", ts)
		h.Set("X-Signature-Ed25519", sig)
		_, err := Discord.Authenticate(Request{Header: h, Body: body}, creds)
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if err != nil {
			return
		}
		raw, decodeErr := hex.DecodeString(strings.TrimSpace(sig))
		if decodeErr != nil || !ed25519.Verify(discordTestKey.Public().(ed25519.PublicKey), []byte(strings.TrimSpace(ts)+string(body)), raw) {
			t.Fatalf("accepted signature %q for timestamp %q", sig, ts)
		}
		if !timestampDigits.MatchString(strings.TrimSpace(ts)) {
			t.Fatalf("accepted timestamp %q, which is not 1 to 19 digits", ts)
		}
	})
}
