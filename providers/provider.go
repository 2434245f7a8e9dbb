// Package providers holds one small unit per webhook provider: how a request proves it is
// authentic, what the provider expects as an answer, and how an authentic body maps to an event.
// A provider holds no connection, no logger and no state: every function here is a pure function
// of the request and the endpoint's credentials, so it is easy to test and to fuzz.
package providers

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Errors a provider's Authenticate returns (wrapped with context); all are answered with the
// provider's rejection.
var (
	ErrMissingProof   = errors.New("missing proof of authenticity")
	ErrMalformedProof = errors.New("malformed proof of authenticity")
	ErrBadSignature   = errors.New("signature does not match")
	ErrBadCredentials = errors.New("credentials do not match")
)

// ErrUnmappable is wrapped by Map when an authentic body cannot be turned into a typed event;
// the bridge then publishes it under the endpoint's "unmapped" type instead of dropping it.
var ErrUnmappable = errors.New("body cannot be mapped to an event")

// Request is what a provider sees of an incoming webhook.
type Request struct {
	// Method and URI are the request's method and its request-target as received (path and
	// query, e.g. "/webhooks/hubspot?x=1"); schemes that sign the URL read them, with the
	// endpoint's configured public URL, never the Host header.
	Method string
	URI    string
	Header http.Header
	Body   []byte
	// Received is when the request arrived: timestamps are judged against it (the clock is an
	// input, so tolerance rules are pure and testable). Zero: time.Now().
	Received time.Time
	// Settings is what the provider's Configure made of the endpoint's own keys (nil for
	// providers that take none); Verify sets it from the endpoint's credentials.
	Settings any
}

// BasicAuth is a username and password for HTTP Basic authentication.
type BasicAuth struct {
	Username string
	Password string
}

// Credentials are the proofs one endpoint accepts. Several secrets or tokens mean rotation:
// any one of them may match.
type Credentials struct {
	Secrets      []string
	BasicAuth    *BasicAuth
	BearerTokens []string
	// AllowUnsigned accepts requests that carry no proof at all (ZignSec's SMS webhooks are
	// not signed); a proof that is present must still be right.
	AllowUnsigned bool
	// Settings is the Value of the provider's Configure for this endpoint.
	Settings any
}

// SettingReader decodes the endpoint's key into v (a pointer); it reports whether the key was
// given. Keys are those of the endpoint's configuration beside the common ones (id, provider,
// secrets, …), e.g. "hmac" or "timestamp_tolerance".
type SettingReader func(key string, v any) (given bool, err error)

// SettingError is a problem with one of an endpoint's own keys: Key is its path below the
// endpoint ("hmac.algorithm", "timestamp_tolerance"), Msg says what is wrong. The bridge names
// the field from Key and the line it is on.
type SettingError struct {
	Key string
	Msg string
}

func (e *SettingError) Error() string { return e.Key + ": " + e.Msg }

// settingError is a SettingError with a formatted message.
func settingError(key, format string, args ...any) error {
	return &SettingError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Settings is what a provider made of an endpoint's own keys.
type Settings struct {
	// TypePrefix replaces the provider's TypePrefix for this endpoint, when set.
	TypePrefix string
	// Value is handed to Authenticate (Credentials.Settings) and Map (Request.Settings).
	Value any
}

// Answer is an HTTP answer in the provider's own terms.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	Header      http.Header
}

// Event is what a provider's mapping extracts from an authentic body.
type Event struct {
	// Type is the event type after the provider's type prefix, e.g. "player.verify".
	Type string
	// ID is the provider's own event id when it is stable across retries; empty means the
	// bridge uses the hex SHA-256 of the raw body.
	ID string
	// Subject names the entity the event is about; empty when the payload names none.
	Subject string
	// Time is the provider's event time; zero means the time of receipt.
	Time time.Time
	// IDUnsigned reports that ID comes from a header the signature does not cover (CentrePoint's
	// delivery id, an hmac id_header outside signed): whoever holds one genuine request can
	// change it, so the bridge recognises retries by the type and the signed body instead, and
	// keeps ID only as the CloudEvents id (docs/security.md).
	IDUnsigned bool
}

// Proof is what a successful Authenticate learned about the request's proof.
type Proof struct {
	// Signed is the body as the matching signature covers it, when that is not the raw body
	// (UserCheck's re-encoded forms); nil: the raw body. An event whose id is a body hash is
	// recognised among retries by the hash of these bytes, so a change the signature does not
	// see (whitespace, escapes) makes no new event.
	Signed []byte
	// Secret is the index, in the endpoint's secrets, of the secret that matched (-1: none, the
	// proof was no secret's, e.g. Basic or a bearer token); Verify finds it. An operator rotating
	// a secret sees from it when the old one can go.
	Secret int
}

// rawBody adapts a scheme whose signature, when it matches, covers the raw body as received.
func rawBody(authenticate func(req Request, creds Credentials) error) func(Request, Credentials) (Proof, error) {
	return func(req Request, creds Credentials) (Proof, error) { return Proof{}, authenticate(req, creds) }
}

// Provider declares one provider. Name and TypePrefix identify it; Success and Rejection are its
// documented answers; the functions describe its scheme and its mapping.
type Provider struct {
	Name       string
	TypePrefix string // e.g. "com.aghanim"; CloudEvents type = TypePrefix + "." + Event.Type
	Success    Answer
	Rejection  Answer
	// Retry is the answer that makes the provider keep an event the bridge could not store and
	// send it again later (NATS down or slow, no responder to a question). Most providers retry
	// on 503; some retry only on other codes.
	Retry Answer
	// DefaultReplyEvents are event types (Event.Type) that need a synchronous answer unless the
	// endpoint's configuration says otherwise.
	DefaultReplyEvents []string

	// Authenticate returns what it learned of the proof when req proves itself with one of
	// creds, else an error wrapping ErrMissingProof, ErrMalformedProof, ErrBadSignature,
	// ErrBadCredentials or ErrStaleTimestamp.
	Authenticate func(req Request, creds Credentials) (Proof, error)
	// Map extracts the event from an authentic request; an error wrapping ErrUnmappable means
	// "publish as unmapped", and the Event returned with it may still carry the id and time the
	// provider's headers give (its type is ignored).
	Map func(req Request) (Event, error)
	// Handshake, when set, answers requests that are not events — CentrePoint's validation,
	// Slack's url_verification, Meta's GET challenge, … — before they are published, verifying
	// them with creds where the sender signs them (a badly signed one is answered with the
	// provider's Rejection). It returns false for ordinary requests. It is the only step that
	// sees a method other than POST (Request.Method); for those, false means 405.
	Handshake func(req Request, creds Credentials) (Answer, bool)
	// Sign returns the headers the provider would send with body, signed with the first of
	// creds' proofs, for `bridge sign`/`bridge send` and the load tool.
	Sign SignFunc
	// SignBody, when set, rewrites a body with the signature the sender carries inside it
	// (Mailgun, Adyen), made with the first of creds' secrets; Sign then adds the headers.
	SignBody func(creds Credentials, body []byte, now time.Time) ([]byte, error)
	// SignAs names the provider's other documented signing forms, for `bridge sign -scheme`
	// (e.g. ZignSec's "legacy" body MAC); Sign is the form used when none is named.
	SignAs map[string]SignFunc
	// CheckCredentials reports what is wrong with an endpoint's credentials for this provider
	// (e.g. no secret at all); nil when they are usable.
	CheckCredentials func(creds Credentials) error
	// EndpointAnswers, when set, gives an endpoint's own success and rejection answers from its
	// settings (the hmac provider's success_status and rejection_status); nil: Success and
	// Rejection.
	EndpointAnswers func(settings any) (success, rejection Answer)
	// SettingKeys are the endpoint keys the provider reads through Configure; any other key
	// beside the common ones is a configuration error.
	SettingKeys []string
	// Configure builds an endpoint's scheme once, from its own keys and its credentials (nil:
	// the provider takes no keys and builds nothing), so that nothing is parsed or decoded per
	// request. Its errors are SettingErrors naming the key ("hmac.algorithm"); the bridge
	// prefixes the endpoint.
	Configure func(endpointID string, creds Credentials, read SettingReader) (Settings, error)
	// DemoCredentials are the credentials of demo mode with every secret, password and token
	// set to secret.
	DemoCredentials func(secret string) Credentials
	// DemoKeys are the endpoint's own keys in demo mode, as YAML (the hmac provider's block);
	// empty: none.
	DemoKeys string
	// HMACBlock, for a preset that an hmac block expresses, is that block as YAML: what an
	// endpoint of the hmac provider would write to verify this sender (docs/providers/).
	HMACBlock string
	// Load is how the load tool (and `bridge send` examples) make unique webhooks of this
	// provider.
	Load LoadProfile
}

// LoadProfile describes a provider's webhooks to the load tool.
type LoadProfile struct {
	// DefaultType is the event type (after TypePrefix) sent unless another is asked for.
	DefaultType string
	// Types lists the event types Example can write; nil means any type.
	Types []string
	// Example writes event n of a run of eventType, unique across runs (run names the run), in
	// the shape the provider documents. Its body is a JSON object, so the load tool can pad it
	// to a size with one more field.
	Example func(eventType, run string, n uint64, now time.Time) Example
}

// Example is one webhook of a provider, before it is signed.
type Example struct {
	Body []byte
	// Header holds what identifies the event beside its proof (CentrePoint's delivery id and
	// event name): the same on every retry. Sign's headers come first; these replace them.
	Header http.Header
	// ID is the CloudEvents id the bridge will give the event; empty when it is the body's
	// SHA-256.
	ID string
	// IDFromBody, when set, gives the id from the body as finally sent (padded by the load
	// tool), for providers whose Sign derives the message id from the body.
	IDFromBody func(body []byte) string
}

// secretsOnly is the DemoCredentials of providers that sign with a shared secret.
func secretsOnly(secret string) Credentials { return Credentials{Secrets: []string{secret}} }

// SignFunc returns the headers a provider would send with body, signed with the first of creds'
// proofs.
type SignFunc func(creds Credentials, body []byte, now time.Time) (http.Header, error)

// Verified is a request whose authenticity has been proven. Only Provider.Verify makes one, so
// code that accepts a Verified cannot be handed an unauthenticated request.
type Verified struct {
	provider *Provider
	req      Request
	proof    Proof
	unsigned bool
}

// Verify authenticates req with creds and returns it as Verified only on success.
// With creds.AllowUnsigned, a request with no proof at all passes too, marked Unsigned.
func (p *Provider) Verify(req Request, creds Credentials) (Verified, error) {
	req.Settings = creds.Settings
	proof, err := p.Authenticate(req, creds)
	switch {
	case err == nil:
		proof.Secret = p.matchedSecret(req, creds)
		return Verified{provider: p, req: req, proof: proof}, nil
	case creds.AllowUnsigned && errors.Is(err, ErrMissingProof) && !presentedProof(err):
		return Verified{provider: p, req: req, unsigned: true}, nil
	}
	return Verified{}, fmt.Errorf("%s: %w", p.Name, err)
}

// matchedSecret finds which of creds' secrets the authenticated req was signed with: with one
// secret, that one; with several (a rotation), each alone, until one verifies — a few more MACs
// only while a rotation is under way. -1 when none alone does (the proof was a password or a
// token).
func (p *Provider) matchedSecret(req Request, creds Credentials) int {
	switch len(creds.Secrets) {
	case 0:
		return -1
	case 1:
		if creds.BasicAuth == nil && len(creds.BearerTokens) == 0 {
			return 0
		}
	}
	for i, s := range creds.Secrets {
		one := creds
		one.Secrets, one.BasicAuth, one.BearerTokens = []string{s}, nil, nil
		if _, err := p.Authenticate(req, one); err == nil {
			return i
		}
	}
	return -1
}

// SecretIndex is the index of the endpoint's secret that matched, -1 when the proof was none of
// them (Basic, a bearer token, or no proof at all).
func (v Verified) SecretIndex() int {
	if v.unsigned {
		return -1
	}
	return v.proof.Secret
}

// presentedProof reports whether an authentication error also says a proof was presented and
// failed (CentrePoint joins one error per scheme): such a request is never "unsigned".
func presentedProof(err error) bool {
	return errors.Is(err, ErrBadSignature) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrMalformedProof)
}

// receivedAt is when req arrived, or now when the caller did not say.
func receivedAt(req Request) time.Time {
	if req.Received.IsZero() {
		return time.Now()
	}
	return req.Received
}

// Unsigned reports whether the request was accepted without any proof (AllowUnsigned).
func (v Verified) Unsigned() bool { return v.unsigned }

// Request returns the authenticated request.
func (v Verified) Request() Request { return v.req }

// SignedBody is the body as its signature covers it: the raw body, or the re-encoded form that
// matched (Proof.Signed).
func (v Verified) SignedBody() []byte {
	if v.proof.Signed != nil {
		return v.proof.Signed
	}
	return v.req.Body
}

// Valid reports whether v was produced by Verify.
func (v Verified) Valid() bool { return v.provider != nil }

// Map maps the verified request to an event with its provider's mapping.
func (v Verified) Map() (Event, error) {
	ev, err := v.provider.Map(v.req)
	if err != nil {
		return Event{ID: ev.ID, Time: ev.Time, IDUnsigned: ev.IDUnsigned}, fmt.Errorf("%s: %w", v.provider.Name, err)
	}
	return ev, nil
}

// registry lists every provider the bridge knows; adding a provider means adding its file and
// one line here.
var registry = []*Provider{
	AltDentifier,
	Aghanim,
	ZignSec,
	CentrePoint,
	UserCheck,
	StandardWebhooks,
	HMAC,
	GitHubPreset, ShopifyPreset, IntercomPreset, BitbucketPreset, TypeformPreset, CoinbaseCommercePreset, VercelPreset, SegmentPreset, SentryPreset, LinearPreset, DocuSignPreset, JiraPreset,
	SlackPreset, ZoomPreset, TwitchPreset, HubSpotPreset, StripePreset, PaddlePreset, CalendlyPreset, MetaPreset,
	Svix, Clerk, Resend,
	Twilio, Square,
	Discord, SendGrid,
	GitLab, Okta, Auth0, Netlify,
	Mailgun, Adyen,
}

// Lookup returns the provider called name.
func Lookup(name string) (*Provider, bool) {
	for _, p := range registry {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Names lists the known providers' names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for _, p := range registry {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// All returns every known provider in registration order.
func All() []*Provider { return append([]*Provider(nil), registry...) }

// jsonAnswer is a JSON answer with a fixed body.
func jsonAnswer(status int, body string) Answer {
	return Answer{Status: status, ContentType: "application/json", Body: []byte(body)}
}

// RetryAfterSeconds is what a provider is asked to wait before it retries.
const RetryAfterSeconds = "5"

// retryLater is a retry answer with the given status and Retry-After.
func retryLater(status int) Answer {
	a := jsonAnswer(status, `{"error":"temporarily unavailable, retry later"}`)
	a.Header = http.Header{"Retry-After": {RetryAfterSeconds}}
	return a
}

// emptyAnswer is an answer without a body.
func emptyAnswer(status int) Answer { return Answer{Status: status} }

// needSecret is the CheckCredentials of providers that sign with a shared secret.
func needSecret(creds Credentials) error {
	if len(creds.Secrets) == 0 {
		return errors.New("secrets: at least one secret is required")
	}
	for i, s := range creds.Secrets {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("secrets[%d]: empty secret", i)
		}
	}
	return nil
}
