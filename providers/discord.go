package providers

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Discord interactions (docs/providers/discord.md). "Security and Authorization" in
// https://discord.com/developers/docs/interactions/receiving-and-responding: every request
// carries X-Signature-Ed25519, the hex Ed25519 signature of X-Signature-Timestamp followed by the
// raw body, made with the application's key; the endpoint verifies it with the application's
// public key and answers 401 when it does not match (Discord sends deliberately bad signatures
// and removes endpoints that accept them). A PING (type 1) must be answered {"type":1}.
const (
	DiscordSignatureHeader = "X-Signature-Ed25519"
	DiscordTimestampHeader = "X-Signature-Timestamp"
	discordPublicKeyKey    = "public_key"
)

// discordInteractionTypes are Discord's interaction types by number ("Interaction Type" in
// https://discord.com/developers/docs/interactions/receiving-and-responding), lower-cased.
var discordInteractionTypes = map[string]string{
	"1": "ping",
	"2": "application_command",
	"3": "message_component",
	"4": "application_command_autocomplete",
	"5": "modal_submit",
}

// discordPong is the answer to a PING; discordRejection the one Discord's samples give to a bad
// signature.
var (
	discordPong      = jsonAnswer(http.StatusOK, `{"type":1}`)
	discordRejection = Answer{Status: http.StatusUnauthorized, ContentType: "text/plain; charset=utf-8", Body: []byte("invalid request signature")}
)

// discordEpochMillis is the first millisecond of 2015, where Discord's snowflake ids count from.
const discordEpochMillis = 1420070400000

// discordSettings is a discord endpoint as Configure built it.
type discordSettings struct {
	publicKey ed25519.PublicKey // nil: none configured
	tolerance time.Duration     // zero: the timestamp's age is not checked
	// signingKey is set only in demo credentials, so that Sign can sign as the demo's Discord.
	signingKey ed25519.PrivateKey
}

// Discord declares the discord provider.
var Discord = &Provider{
	Name:       "discord",
	TypePrefix: "com.discord",
	// Every interaction but a PING needs an interaction response as the answer's body: the four
	// types are questions (a responder answers), and an endpoint that turns one into a notice gets
	// DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5): the user sees "thinking…" and a consumer follows
	// up with the interaction's token (docs/providers/discord.md).
	Success:            jsonAnswer(http.StatusOK, `{"type":5}`),
	Rejection:          discordRejection,
	Retry:              retryLater(http.StatusServiceUnavailable),
	DefaultReplyEvents: []string{"application_command", "message_component", "application_command_autocomplete", "modal_submit"},
	SettingKeys:        []string{discordPublicKeyKey, timestampToleranceKey},
	Configure: func(_ string, _ Credentials, read SettingReader) (Settings, error) {
		key, tolerance, err := readPublicKey(read, discordPublicKeyKey, parseDiscordPublicKey)
		return Settings{Value: &discordSettings{publicKey: key, tolerance: tolerance}}, err
	},
	CheckCredentials: checkDiscordCredentials,
	DemoCredentials: func(secret string) Credentials {
		key := discordDemoKey(secret)
		return Credentials{Settings: &discordSettings{publicKey: key.Public().(ed25519.PublicKey), signingKey: key}}
	},
	// The demo endpoint's public key is the half of the pair derived from "demo-secret", so that
	// `bridge sign -provider discord -secret demo-secret` signs for it.
	DemoKeys: discordPublicKeyKey + ": " + hex.EncodeToString(discordDemoKey("demo-secret").Public().(ed25519.PublicKey)),

	Authenticate: rawBody(authenticateDiscord),

	// PING is Discord's check of the endpoint, at its creation and now and then: answered at
	// once, verified, never published.
	Handshake: func(req Request, creds Credentials) (Answer, bool) {
		if req.Method != http.MethodPost {
			return Answer{}, false
		}
		f, err := scanFields(req.Body, "type")
		if err != nil || string(f[0]) != "1" {
			return Answer{}, false
		}
		if err := authenticateDiscord(req, creds); err != nil {
			return discordRejection, true
		}
		return discordPong, true
	},

	Map: func(req Request) (Event, error) {
		f, err := scanFields(req.Body, "type", "id", "guild_id", "user.id", "member.user.id")
		if err != nil {
			return Event{}, err
		}
		ev := Event{ID: stringOrNumber(f[1])}
		if ms, err := strconv.ParseUint(ev.ID, 10, 64); err == nil {
			ev.Time = time.UnixMilli(int64(ms>>22) + discordEpochMillis).UTC()
		}
		ev.Subject = stringOrNumber(f[2]) // the guild; in a DM, the user
		if ev.Subject == "" {
			ev.Subject = stringOrNumber(f[3])
		}
		if ev.Subject == "" {
			ev.Subject = stringOrNumber(f[4])
		}
		name, ok := discordInteractionTypes[string(f[0])]
		if !ok {
			return ev, fmt.Errorf("no known interaction type: %w", ErrUnmappable)
		}
		ev.Type = name
		return ev, nil
	},

	// Sign signs as Discord does, with the demo's private key (demo credentials) or with the
	// key pair derived from the first secret (`bridge sign -secret demo-secret`): Discord's own
	// key is Discord's, so only the demo endpoint can be signed for.
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		key, err := discordSigningKey(creds)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(DiscordTimestampHeader, ts)
		h.Set(DiscordSignatureHeader, hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...))))
		return h, nil
	},

	Load: LoadProfile{
		DefaultType: "application_command",
		Types:       []string{"application_command", "message_component", "application_command_autocomplete", "modal_submit"},
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			number := "2"
			for k, v := range discordInteractionTypes {
				if v == eventType {
					number = k
				}
			}
			id := "load-" + run + "-" + strconv.FormatUint(n, 10)
			body := `{"id":"` + id + `","application_id":"787053080478613554","type":` + number +
				`,"data":{"id":"787053080478613554","name":"load","type":1},"guild_id":"290926798626357999"` +
				`,"channel_id":"645027906669510667","member":{"user":{"id":"53908232506183680","username":"load"}}` +
				`,"token":"load-token-` + id + `","version":1}`
			return Example{Body: []byte(body), ID: id}
		},
	},
}

// authenticateDiscord checks X-Signature-Ed25519 against the endpoint's public key.
func authenticateDiscord(req Request, creds Credentials) error {
	sig, tsValue, ts, err := timestampedProof(req.Header, DiscordSignatureHeader, DiscordTimestampHeader, decodeHex)
	if err != nil {
		return err
	}
	s, _ := creds.Settings.(*discordSettings)
	switch {
	case s == nil || s.publicKey == nil:
		return fmt.Errorf("no public key configured: %w", ErrBadSignature)
	case len(sig) != ed25519.SignatureSize:
		return fmt.Errorf("header %s: %d bytes, expected %d: %w", DiscordSignatureHeader, len(sig), ed25519.SignatureSize, ErrBadSignature)
	}
	signed := make([]byte, 0, len(tsValue)+len(req.Body))
	signed = append(append(signed, tsValue...), req.Body...)
	if !ed25519.Verify(s.publicKey, signed, sig) {
		return fmt.Errorf("header %s: %w", DiscordSignatureHeader, ErrBadSignature)
	}
	if err := checkTimestampAge(ts, req, s.tolerance); err != nil {
		return fmt.Errorf("header %s: %w", DiscordTimestampHeader, err)
	}
	return nil
}

// parseDiscordPublicKey reads the application's public key as the Developer Portal shows it:
// 64 hex digits.
func parseDiscordPublicKey(value string) (ed25519.PublicKey, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(value))
	switch {
	case err != nil:
		return nil, errors.New("not hex: want the application's public key from the Developer Portal (64 hex digits)")
	case len(raw) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("%d bytes, expected %d (64 hex digits)", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// checkDiscordCredentials: an endpoint (its settings built by Configure) needs public_key and
// takes no other credential; without settings (`bridge sign`, the load tool) a secret is the seed
// of the key pair Sign signs with.
func checkDiscordCredentials(creds Credentials) error {
	s, endpoint := creds.Settings.(*discordSettings)
	return checkPublicKeyCredentials("discord", creds, endpoint, endpoint && s.publicKey != nil, endpoint && s.signingKey != nil,
		"the application's public key from the Developer Portal (64 hex digits)")
}

// discordDemoKey is the key pair derived from secret: the demo's Discord signs with the one of
// "demo-secret".
func discordDemoKey(secret string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(secret))
	return ed25519.NewKeyFromSeed(seed[:])
}

// discordSigningKey is the key Sign signs with.
func discordSigningKey(creds Credentials) (ed25519.PrivateKey, error) {
	if s, ok := creds.Settings.(*discordSettings); ok && s.signingKey != nil {
		return s.signingKey, nil
	}
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, fmt.Errorf("no key to sign with: give a secret, the seed of the key pair (the demo's: demo-secret)")
	}
	return discordDemoKey(secret), nil
}
