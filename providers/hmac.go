package providers

import (
	"cmp"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The hmac provider is for any sender that signs its webhooks with an HMAC — GitHub, Shopify,
// Slack, Stripe-style "t=…,v1=…" headers, in-house systems — described by the endpoint's "hmac"
// block instead of code (docs/providers/hmac.md). The block is read once, at start-up, into an
// hmacScheme; every request is then checked against that compiled form.

// The endpoint keys the provider reads: the block, and the public URL a {url} template signs.
const (
	hmacSettingKey   = "hmac"
	hmacPublicURLKey = "public_url"
)

// Defaults of the hmac block (docs/providers/hmac.md).
const (
	hmacDefaultAlgorithm       = "sha256"
	hmacDefaultEncoding        = "hex"
	hmacDefaultSigned          = "{body}"
	hmacDefaultSuccess         = http.StatusOK
	hmacDefaultRejection       = http.StatusUnauthorized
	hmacDefaultTimestampFormat = "unix"
	hmacDefaultSecretEncoding  = "text"
	hmacDefaultPairSeparator   = ","
)

// A numbered header family ("X-DocuSign-Signature-{n}"): DocuSign sends one header per active
// key, up to 100 (https://developers.docusign.com/platform/webhooks/connect/validate/).
const (
	hmacHeaderNumber     = "{n}"
	hmacMaxHeaderNumbers = 100
)

// Standard Webhooks and Svix issue their secrets as "whsec_" and the base64 key
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
const hmacWhsecPrefix = "whsec_"

// GitHub's headers (https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers):
// the demo endpoint, `bridge sign` and the load tool sign the way GitHub does
// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
const (
	GitHubSignatureHeader = "X-Hub-Signature-256"
	GitHubDeliveryHeader  = "X-GitHub-Delivery"
	GitHubEventHeader     = "X-GitHub-Event"
)

// hmacConfig mirrors an endpoint's hmac block.
type hmacConfig struct {
	Header, Algorithm, Encoding, Prefix string
	// Signed is nil when not given; an empty template given is an error (it lacks {body}).
	Signed                *string
	IDHeader, IDField     string
	TypeHeader, TypeField string
	TypePrefix            string
	// The statuses are pointers so that a 0 written in the configuration is an error, not the
	// default.
	SuccessStatus, RejectionStatus *int

	TimestampHeader, TimestampFormat string
	// TimestampField is a dotted JSON path to a timestamp inside the (signed) body (Linear's
	// webhookTimestamp).
	TimestampField string
	// TimestampTolerance is nil when not given; 0 checks nothing.
	TimestampTolerance *time.Duration
	SignaturePairs     *hmacPairsConfig
	// Signatures separates several signatures in one header value; "": one signature.
	Signatures     string
	SecretEncoding string
}

// hmacPairsConfig mirrors signature_pairs: a signature header of key=value pairs.
type hmacPairsConfig struct {
	Separator, Timestamp, Signature string
}

// fields maps each key of the block to where it goes: a *string, a **string, an **int, a
// **time.Duration or a **hmacPairsConfig.
func (c *hmacConfig) fields() map[string]any {
	return map[string]any{
		"header":              &c.Header,
		"algorithm":           &c.Algorithm,
		"encoding":            &c.Encoding,
		"prefix":              &c.Prefix,
		"signed":              &c.Signed,
		"id_header":           &c.IDHeader,
		"id_field":            &c.IDField,
		"type_header":         &c.TypeHeader,
		"type_field":          &c.TypeField,
		"type_prefix":         &c.TypePrefix,
		"success_status":      &c.SuccessStatus,
		"rejection_status":    &c.RejectionStatus,
		"timestamp_header":    &c.TimestampHeader,
		"timestamp_field":     &c.TimestampField,
		"timestamp_format":    &c.TimestampFormat,
		"timestamp_tolerance": &c.TimestampTolerance,
		"signature_pairs":     &c.SignaturePairs,
		"signatures":          &c.Signatures,
		"secret_encoding":     &c.SecretEncoding,
	}
}

// hmacConfigKeys are the keys of an hmac block, sorted.
var hmacConfigKeys = sortedKeys((&hmacConfig{}).fields())

// hmacPairsKeys are the keys of signature_pairs, sorted.
var hmacPairsKeys = []string{"separator", "signature", "timestamp"}

// hmacAlgorithms are the hashes an hmac block may name.
var hmacAlgorithms = map[string]func() hash.Hash{
	"md5":    md5.New,
	"sha1":   sha1.New,
	"sha256": sha256.New,
	"sha512": sha512.New,
}

// hmacEncoding is how a MAC is written in the header.
type hmacEncoding struct {
	decode func(string) ([]byte, error)
	encode func([]byte) string
}

var hmacEncodings = map[string]hmacEncoding{
	"hex":    {decode: decodeHex, encode: hex.EncodeToString},
	"base64": {decode: decodeBase64, encode: base64.StdEncoding.EncodeToString},
}

// hmacSecretEncodings turn a configured secret into the HMAC key (secret_encoding).
var hmacSecretEncodings = map[string]func(secret string) ([]byte, error){
	"text": func(secret string) ([]byte, error) { return []byte(secret), nil },
	// Padded or not; a "whsec_" prefix is the issuer's, not part of the key.
	"base64": func(secret string) ([]byte, error) {
		key := strings.TrimPrefix(strings.TrimSpace(secret), hmacWhsecPrefix)
		b, err := base64.StdEncoding.DecodeString(key)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(key)
		}
		if err != nil || len(b) == 0 {
			return nil, errors.New("not base64, or empty (secret_encoding: base64)")
		}
		return b, nil
	},
	"hex": func(secret string) ([]byte, error) {
		b, err := hex.DecodeString(strings.TrimSpace(secret))
		if err != nil || len(b) == 0 {
			return nil, errors.New("not hex (secret_encoding: hex)")
		}
		return b, nil
	},
}

// hmacTimestampFormat reads and writes a timestamp as a sender sends it (timestamp_format).
type hmacTimestampFormat struct {
	parse  func(value string) (time.Time, error)
	format func(t time.Time) string
}

// maxRFC3339Time is the last second an RFC 3339 timestamp can write: later times are judged as
// that one, which no tolerance reaches.
var maxRFC3339Time = time.Unix(maxRFC3339Seconds, 0)

var hmacTimestampFormats = map[string]hmacTimestampFormat{
	// 1 to 19 ASCII digits (parseSignedTimestamp): no sign, space or fraction.
	"unix": {
		parse: func(v string) (time.Time, error) {
			secs, err := parseSignedTimestamp(v)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(min(secs, maxRFC3339Seconds), 0), nil
		},
		format: func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	},
	"unix_ms": {
		parse: func(v string) (time.Time, error) {
			ms, err := parseSignedTimestamp(v)
			if err != nil {
				return time.Time{}, err
			}
			return time.UnixMilli(min(ms, maxRFC3339Seconds*1000)), nil
		},
		format: func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
	},
	// Twitch sends nanoseconds (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/).
	"rfc3339": {
		parse: func(v string) (time.Time, error) {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return time.Time{}, fmt.Errorf("timestamp is not RFC 3339: %w", ErrMalformedProof)
			}
			return t, nil
		},
		format: func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	},
}

// hmacScheme is an endpoint's hmac block, checked and compiled: Configure makes it, and it is
// what Authenticate, Map, Sign and EndpointAnswers receive as the endpoint's settings.
type hmacScheme struct {
	// header carries the signature; for a numbered family, headers are its names for 1, 2, …
	// (header is the first), else headers is just header.
	header   string
	headers  []string
	newHash  func() hash.Hash
	encoding hmacEncoding
	prefix   string
	// list, when set, separates several signatures in one value (signatures); pairs, when set,
	// reads the value as key=value pairs (signature_pairs). At most one is set.
	list  string
	pairs *hmacPairs
	// timestampHeader carries the timestamp, unless pairs name it; timestampFormat reads it;
	// tolerance bounds its distance from the time of receipt (0: no check).
	timestampHeader string
	// timestampField is a dotted path to the timestamp in the body, which the MAC covers.
	timestampField  string
	timestampFormat hmacTimestampFormat
	tolerance       time.Duration
	signed          hmacTemplate
	// secretKey turns a configured secret into the HMAC key (secret_encoding).
	secretKey func(secret string) ([]byte, error)
	// keys are keySecrets decoded once, at Configure; other secrets are decoded when used.
	keys       [][]byte
	keySecrets []string
	// publicURL is the endpoint's public_url, without a trailing slash, for {url}; signURI is
	// the path Sign assumes ("/webhooks/<endpoint>").
	publicURL, signURI string
	// At most one of each pair is set; none: the body's SHA-256 as id, and no type (unmapped).
	idHeader, idField string
	// idUnsigned: idHeader is not one of the template's headers, so the signature does not
	// cover the id (Event.IDUnsigned).
	idUnsigned            bool
	typeHeader, typeField string
	success, rejection    Answer
}

// hmacPairs is a compiled signature_pairs.
type hmacPairs struct {
	separator string
	// timestamp is the key of the timestamp pair ("": none); signature the key of every
	// candidate signature.
	timestamp, signature string
}

// hasTimestamp reports whether the scheme reads a timestamp.
func (s *hmacScheme) hasTimestamp() bool {
	return s.timestampHeader != "" || s.timestampField != "" || s.pairs != nil && s.pairs.timestamp != ""
}

// HMAC declares the configurable hmac provider.
var HMAC = &Provider{
	Name: "hmac",
	// Every endpoint has its own prefix (type_prefix, default "com.<endpoint id>"); this one is
	// only a fallback.
	TypePrefix:  "com.hmac",
	Success:     emptyAnswer(hmacDefaultSuccess),
	Rejection:   emptyAnswer(hmacDefaultRejection),
	Retry:       retryLater(http.StatusServiceUnavailable),
	SettingKeys: []string{hmacSettingKey, hmacPublicURLKey},
	Configure:   configureHMAC,
	EndpointAnswers: func(settings any) (success, rejection Answer) {
		if s, ok := settings.(*hmacScheme); ok && s != nil {
			return s.success, s.rejection
		}
		return emptyAnswer(hmacDefaultSuccess), emptyAnswer(hmacDefaultRejection)
	},
	CheckCredentials: checkHMACCredentials,
	// The demo endpoint's credentials carry the demo scheme, so that `bridge sign` signs as the
	// demo endpoint checks; the demo endpoint itself is configured from DemoKeys.
	DemoCredentials: func(secret string) Credentials {
		return Credentials{Secrets: []string{secret}, Settings: hmacDemoScheme}
	},
	DemoKeys: `hmac: {header: ` + GitHubSignatureHeader + `, prefix: "sha256=", id_header: ` + GitHubDeliveryHeader + `, type_header: ` + GitHubEventHeader + `}`,
	Load: LoadProfile{
		DefaultType: "test",
		// The id and type travel in the demo scheme's headers, and also in the body for an
		// endpoint that reads them from fields "id" and "type".
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			id := "load-" + run + "-" + num
			body := `{"id":"` + id + `","type":"` + eventType + `","zen":"Keep it logically awesome.","hook_id":` + num +
				`,"sent_at":"` + now.UTC().Format(time.RFC3339) + `"}`
			h := http.Header{}
			h.Set(GitHubDeliveryHeader, id)
			h.Set(GitHubEventHeader, eventType)
			return Example{Body: []byte(body), Header: h, ID: id}
		},
	},

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		s, ok := creds.Settings.(*hmacScheme)
		if !ok || s == nil {
			return fmt.Errorf("endpoint has no hmac block (not configured): %w", ErrBadCredentials)
		}
		return s.authenticate(req, creds)
	}),

	Map: func(req Request) (Event, error) {
		s, ok := req.Settings.(*hmacScheme)
		if !ok || s == nil {
			return Event{}, fmt.Errorf("endpoint has no hmac block (not configured): %w", ErrUnmappable)
		}
		// Only the fields the block names are read. A body that is not JSON only matters when
		// the type is in it; an id that cannot be read leaves the body's hash.
		var idRaw, typeRaw []byte
		switch {
		case s.idField != "" && s.typeField != "":
			f, err := scanFields(req.Body, s.idField, s.typeField)
			if err != nil {
				return Event{}, err
			}
			idRaw, typeRaw = f[0], f[1]
		case s.typeField != "":
			f, err := scanFields(req.Body, s.typeField)
			if err != nil {
				return Event{}, err
			}
			typeRaw = f[0]
		case s.idField != "":
			f, _ := scanFields(req.Body, s.idField)
			idRaw = f[0]
		}
		var ev Event
		switch {
		case s.idHeader != "":
			ev.ID = strings.TrimSpace(req.Header.Get(s.idHeader))
			ev.IDUnsigned = s.idUnsigned // also without the header: dropping it must not make a new event
		case s.idField != "":
			ev.ID = stringOrNumber(idRaw)
		}
		switch {
		case s.typeHeader != "":
			ev.Type = strings.TrimSpace(req.Header.Get(s.typeHeader))
			if ev.Type == "" {
				return ev, fmt.Errorf("no type in header %s: %w", s.typeHeader, ErrUnmappable) // the id still names it
			}
		case s.typeField != "":
			ev.Type = strings.TrimSpace(stringOrNumber(typeRaw))
			if ev.Type == "" {
				return ev, fmt.Errorf("no type at field %s: %w", s.typeField, ErrUnmappable) // the id still names it
			}
		default:
			return Event{}, fmt.Errorf("no type_header or type_field configured: %w", ErrUnmappable)
		}
		ev.Type = strings.ToLower(ev.Type)
		return ev, nil
	},

	// Sign signs as the endpoint's scheme says, or as the demo scheme when the credentials carry
	// none (`bridge sign`, the load tool): the timestamp is now in the configured format (in its
	// header, or as the pairs' timestamp), the method POST, the URL the endpoint's public_url
	// and its path "/webhooks/<endpoint>", a numbered family's header number 1. Any other header
	// the template signs must be one Sign can write: a timestamp (a header whose name contains
	// "timestamp", set to now's Unix seconds), or the id or type header.
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		s, ok := creds.Settings.(*hmacScheme)
		if !ok || s == nil {
			s = hmacDemoScheme
		}
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		key, err := s.secretKey(secret)
		if err != nil {
			return nil, fmt.Errorf("secrets[0]: %w", err)
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		if s.idHeader != "" {
			sum := sha256.Sum256(body)
			h.Set(s.idHeader, hex.EncodeToString(sum[:]))
		}
		if s.typeHeader != "" {
			h.Set(s.typeHeader, "test")
		}
		var timestamp string
		if s.hasTimestamp() {
			timestamp = s.timestampFormat.format(now)
			if s.timestampHeader != "" {
				h.Set(s.timestampHeader, timestamp)
			}
		}
		for _, name := range s.signed.headers() {
			switch {
			case h.Get(name) != "":
			case strings.Contains(strings.ToLower(name), "timestamp"):
				h.Set(name, strconv.FormatInt(now.Unix(), 10))
			default:
				return nil, fmt.Errorf("the signed template needs header %s, which sign cannot know (give it with -H and sign by hand)", name)
			}
		}
		if s.signed.has(hmacURLPart) && s.publicURL == "" {
			return nil, fmt.Errorf("the signed template has {url}: sign needs the endpoint's %s", hmacPublicURLKey)
		}
		signed, err := s.signed.apply(hmacInput{
			header: h, body: body, timestamp: timestamp,
			method: http.MethodPost, publicURL: s.publicURL, uri: s.signURI,
		})
		if err != nil {
			return nil, err
		}
		value := s.prefix + s.encoding.encode(macOfKey(s.newHash, key, signed...))
		if p := s.pairs; p != nil {
			value = p.signature + "=" + value
			if p.timestamp != "" {
				value = p.timestamp + "=" + timestamp + p.separator + value
			}
		}
		h.Set(s.header, value)
		return h, nil
	},
}

// hmacDemoScheme is GitHub's scheme: the demo endpoint's, and what Sign uses without settings.
var hmacDemoScheme = func() *hmacScheme {
	s, problems := compileHMAC(hmacConfig{
		Header:     GitHubSignatureHeader,
		Prefix:     "sha256=",
		IDHeader:   GitHubDeliveryHeader,
		TypeHeader: GitHubEventHeader,
	})
	if len(problems) > 0 {
		panic(fmt.Sprint("hmac demo scheme: ", problems))
	}
	return s
}()

// authenticate checks req's proof against the scheme, in the order that names the first thing
// wrong: the signature header (none: no proof at all), the signatures it carries, the timestamp,
// the signed bytes, the MAC with every secret, and last the timestamp's age — so that only a
// genuine request learns it came too late or too early.
func (s *hmacScheme) authenticate(req Request, creds Credentials) error {
	given, timestamp, err := s.proofs(req.Header)
	if err != nil {
		return err
	}
	var at time.Time
	if s.hasTimestamp() {
		if s.timestampHeader != "" {
			if timestamp, err = proofHeader(req.Header, s.timestampHeader); err != nil {
				// A signature was presented but cannot be right: never an "unsigned" request.
				return fmt.Errorf("timestamp: %w, which the signature covers: %w", err, ErrMalformedProof)
			}
		}
		if s.timestampField == "" { // one in the body is read once the MAC has vouched for it
			if at, err = s.timestampFormat.parse(timestamp); err != nil {
				return err
			}
		}
	}
	method := req.Method
	if method == "" {
		method = http.MethodPost // only a POST reaches Authenticate
	}
	signed, err := s.signed.apply(hmacInput{
		header: req.Header, body: req.Body, timestamp: timestamp,
		method: method, publicURL: s.publicURL, uri: req.URI,
	})
	if err != nil {
		// A signature was presented but cannot be right: never an "unsigned" request.
		return fmt.Errorf("%w, which the signature covers: %w", err, ErrMalformedProof)
	}
	// Every secret is tried against every signature, each comparison in constant time, so
	// timing does not tell which matched.
	ok := 0
	for _, key := range s.keysFor(creds) {
		mac := macOfKey(s.newHash, key, signed...)
		for _, g := range given {
			ok |= subtle.ConstantTimeCompare(g, mac)
		}
	}
	if ok != 1 {
		return withDiagnosis(fmt.Errorf("header %s: %w", s.header, ErrBadSignature), "%s", s.diagnoseMismatch(given, creds, signed))
	}
	if s.timestampField != "" {
		f, _ := scanFields(req.Body, s.timestampField)
		if at, err = s.timestampFormat.parse(stringOrNumber(f[0])); err != nil {
			return withDiagnosis(fmt.Errorf("body field %s: %w", s.timestampField, err), "the body's %s is no timestamp of the sender's", s.timestampField)
		}
	}
	if s.hasTimestamp() {
		return checkTimeAge(at, req, s.tolerance)
	}
	return nil
}

// diagnoseMismatch says why no signature matched: one of the wrong length (another hash?), or
// none of the secrets, naming a configuration slip (the secret in another encoding, with or
// without whsec_) when one would have matched.
func (s *hmacScheme) diagnoseMismatch(given [][]byte, creds Credentials, signed [][]byte) string {
	size := s.newHash().Size()
	for _, g := range given {
		if len(g) != size {
			return wrongLength(s.header, len(g), size)
		}
	}
	if slip := secretSlip(creds.Secrets, func(key []byte) bool {
		mac := macOfKey(s.newHash, key, signed...)
		for _, g := range given {
			if equalMAC(g, mac) {
				return true
			}
		}
		return false
	}); slip != "" {
		return slip
	}
	return fmt.Sprintf("no configured secret matches (%d tried)", len(creds.Secrets))
}

// proofs reads the signatures a request presents, each decoded, and the timestamp its signature
// pairs carry. A request without the signature header (or its number 1) presents none:
// ErrMissingProof. One that presents signatures none of which can be read, or pairs without
// the timestamp or any signature, is ErrMalformedProof.
func (s *hmacScheme) proofs(h http.Header) (given [][]byte, timestamp string, err error) {
	var values []string
	for i, name := range s.headers {
		if i > 0 && len(h.Values(name)) == 0 {
			break // a family stops at its first missing number
		}
		value, err := proofHeader(h, name)
		if err != nil {
			return nil, "", err
		}
		values = append(values, value)
	}
	if s.pairs != nil {
		// The pairs' own signatures are the candidates; only one header carries pairs.
		if values, timestamp, err = s.pairs.read(values[0]); err != nil {
			return nil, "", fmt.Errorf("header %s: %w", s.header, err)
		}
	} else if s.list != "" {
		var all []string
		for _, v := range values {
			all = append(all, strings.Split(v, s.list)...)
		}
		values = all
	}
	var first error
	for _, v := range values {
		mac, err := s.decodeProof(strings.TrimSpace(v))
		if err != nil {
			// Another version's entry ("v2,…" beside "v1,…") is no signature of this scheme.
			first = cmp.Or(first, err)
			continue
		}
		given = append(given, mac)
	}
	if len(given) == 0 {
		if first == nil {
			first = fmt.Errorf("no signature: %w", ErrMalformedProof)
		}
		return nil, "", fmt.Errorf("header %s: %w", s.header, first)
	}
	return given, timestamp, nil
}

// read splits a signature header of key=value pairs ("t=1,v1=ab,v1=cd,v0=ef"): the value of
// the timestamp pair, and those of every signature pair. Spaces around separators and around
// "=" are tolerated; pairs with other keys, and items without "=", are ignored. A timestamp
// pair missing or given twice, or no signature pair, is ErrMalformedProof.
func (p *hmacPairs) read(value string) (signatures []string, timestamp string, err error) {
	seenTimestamp := false
	for _, item := range strings.Split(value, p.separator) {
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case p.timestamp:
			if seenTimestamp {
				return nil, "", fmt.Errorf("pair %s given twice: %w", p.timestamp, ErrMalformedProof)
			}
			seenTimestamp, timestamp = true, v
		case p.signature:
			signatures = append(signatures, v)
		}
	}
	switch {
	case p.timestamp != "" && !seenTimestamp:
		return nil, "", fmt.Errorf("no %s= pair: %w", p.timestamp, ErrMalformedProof)
	case len(signatures) == 0:
		return nil, "", fmt.Errorf("no %s= pair: %w", p.signature, ErrMalformedProof)
	}
	return signatures, timestamp, nil
}

// decodeProof reads one signature: the configured prefix, then the MAC in the configured
// encoding. A value without the prefix is malformed (docs/providers/hmac.md).
func (s *hmacScheme) decodeProof(value string) ([]byte, error) {
	mac, ok := strings.CutPrefix(value, s.prefix)
	if !ok {
		return nil, withDiagnosis(fmt.Errorf("value lacks the prefix %q: %w", s.prefix, ErrMalformedProof),
			"the signature in %s lacks the prefix %q", s.header, s.prefix)
	}
	return s.encoding.decode(mac)
}

// keysFor returns the HMAC keys of creds' secrets: those Configure decoded, when creds are the
// endpoint's, else each decoded now (one that does not decode is left out: CheckCredentials
// refuses it at start-up).
func (s *hmacScheme) keysFor(creds Credentials) [][]byte {
	if s.keys != nil && slices.Equal(creds.Secrets, s.keySecrets) {
		return s.keys
	}
	keys := make([][]byte, 0, len(creds.Secrets))
	for _, secret := range creds.Secrets {
		if key, err := s.secretKey(secret); err == nil {
			keys = append(keys, key)
		}
	}
	return keys
}

// checkHMACCredentials refuses an endpoint without a secret, or with a secret that its
// secret_encoding cannot decode (naming secrets[i], never the secret).
func checkHMACCredentials(creds Credentials) error {
	if err := needSecret(creds); err != nil {
		return err
	}
	s, ok := creds.Settings.(*hmacScheme)
	if !ok || s == nil {
		return nil
	}
	var problems []error
	for i, secret := range creds.Secrets {
		if _, err := s.secretKey(secret); err != nil {
			problems = append(problems, fmt.Errorf("secrets[%d]: %w", i, err))
		}
	}
	return errors.Join(problems...)
}

// configureHMAC reads an endpoint's hmac block and its public_url. Every problem is reported,
// each naming its key.
func configureHMAC(endpointID string, creds Credentials, read SettingReader) (Settings, error) {
	// The block is read as a map, so that a misspelt key is an error rather than a default
	// silently taken, and a value of the wrong type is named by its key.
	var keys map[string]any
	given, err := read(hmacSettingKey, &keys)
	if err != nil {
		// On one line: the decoder's message may have several.
		detail := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), hmacSettingKey+": ")), " ")
		return Settings{}, settingError(hmacSettingKey, "want a block of keys (%s)", detail)
	}
	if !given || keys == nil {
		return Settings{}, settingError(hmacSettingKey, "required: the block naming at least the signature header")
	}
	c, problems := decodeHMACConfig(keys)
	s, invalid := compileHMAC(c)
	// One flat list: the bridge prefixes each problem with the endpoint's field.
	problems = append(problems, invalid...)
	if s != nil {
		s, err = s.forEndpoint(endpointID, creds, read)
		problems = append(problems, err)
	} else if _, err := readPublicURL(read); err != nil {
		problems = append(problems, err)
	}
	if err := errors.Join(problems...); err != nil {
		return Settings{}, err
	}
	prefix := c.TypePrefix
	if prefix == "" {
		prefix = "com." + strings.ToLower(endpointID)
	}
	return Settings{TypePrefix: prefix, Value: s}, nil
}

// forEndpoint is the compiled block made one endpoint's: its public_url read (required when
// the template signs {url}, refused otherwise), the path Sign assumes, and its secrets decoded
// once. A preset's configure can call it (endpointID "" leaves Sign the public URL's path).
func (s *hmacScheme) forEndpoint(endpointID string, creds Credentials, read SettingReader) (*hmacScheme, error) {
	e := *s
	publicURL, err := readPublicURL(read)
	switch {
	case err != nil:
		return nil, err
	case publicURL == "" && s.signed.has(hmacURLPart):
		return nil, settingError(hmacPublicURLKey, "required: the hmac block's signed template has {url}, the URL the sender calls")
	case publicURL != "" && !s.signed.has(hmacURLPart):
		return nil, settingError(hmacPublicURLKey, "the hmac block's signed template has no {url}: remove it, or sign {url}")
	}
	e.publicURL = publicURL
	if endpointID != "" {
		e.signURI = "/webhooks/" + endpointID
	}
	// Decoded once; a secret that does not decode is CheckCredentials' to report, by index.
	e.keys, e.keySecrets = nil, nil
	keys := make([][]byte, 0, len(creds.Secrets))
	for _, secret := range creds.Secrets {
		key, err := s.secretKey(secret)
		if err != nil {
			return &e, nil
		}
		keys = append(keys, key)
	}
	e.keys, e.keySecrets = keys, slices.Clone(creds.Secrets)
	return &e, nil
}

// readPublicURL reads the endpoint's public_url: an absolute http or https URL — the scheme,
// host and any path prefix the sender calls — without query or fragment; a trailing slash is
// dropped, as the request's path that follows it starts with one. "": not given.
func readPublicURL(read SettingReader) (string, error) {
	var raw string
	given, err := read(hmacPublicURLKey, &raw)
	if err != nil {
		detail := strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), hmacPublicURLKey+": ")), " ")
		return "", settingError(hmacPublicURLKey, "want a URL (%s)", detail)
	}
	if !given {
		return "", nil
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil:
		return "", settingError(hmacPublicURLKey, "not a URL")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", settingError(hmacPublicURLKey, "want an absolute http or https URL such as https://hooks.example.com")
	case u.User != nil:
		return "", settingError(hmacPublicURLKey, "must not carry a user or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", settingError(hmacPublicURLKey, "must not have a query or fragment: the request's path and query follow it")
	}
	return strings.TrimRight(strings.TrimSpace(raw), "/"), nil
}

// decodeHMACConfig reads each key of the block as its own type; a key that is not one of the
// block's, or of another type, is a problem naming it.
func decodeHMACConfig(keys map[string]any) (hmacConfig, []error) {
	var c hmacConfig
	var problems []error
	bad := func(key, format string, args ...any) {
		problems = append(problems, settingError(hmacSettingKey+"."+key, format, args...))
	}
	fields := c.fields()
	for _, key := range sortedKeys(keys) {
		value := keys[key]
		text, isText := value.(string)
		switch dst := fields[key].(type) {
		case nil:
			bad(key, "unknown field (known: %s)", strings.Join(hmacConfigKeys, ", "))
			continue
		case *string:
			*dst = text
		case **string:
			if isText {
				*dst = &text
			}
		case **int:
			// A whole number, as YAML (int) or JSON (float64) decoders give it.
			switch n := value.(type) {
			case int:
				*dst = &n
			case float64:
				if i := int(n); float64(i) == n {
					*dst = &i
				}
			}
			if *dst == nil && value != nil {
				bad(key, "want a status code, got %v", value)
			}
			continue
		case **time.Duration:
			// A Go duration ("5m"), or 0 for no check.
			var d time.Duration
			var err error
			switch n := value.(type) {
			case string:
				d, err = time.ParseDuration(strings.TrimSpace(n))
			case int:
				err = errorUnless(n == 0)
			case float64:
				err = errorUnless(n == 0)
			default:
				err = errorUnless(false)
			}
			if err != nil {
				bad(key, "want a duration such as \"5m\" (0: no check), got %v", value)
				continue
			}
			*dst = &d
			continue
		case **hmacPairsConfig:
			m, ok := value.(map[string]any)
			if !ok {
				bad(key, "want a block such as {separator: \",\", timestamp: t, signature: v1}, got %v", value)
				continue
			}
			p := &hmacPairsConfig{}
			pf := map[string]*string{"separator": &p.Separator, "timestamp": &p.Timestamp, "signature": &p.Signature}
			for _, k := range sortedKeys(m) {
				switch v, isText := m[k].(string); {
				case pf[k] == nil:
					bad(key+"."+k, "unknown field (known: %s)", strings.Join(hmacPairsKeys, ", "))
				case !isText:
					bad(key+"."+k, "want text, got %v (quote it)", m[k])
				default:
					*pf[k] = v
				}
			}
			*dst = p
			continue
		}
		if !isText && value != nil {
			bad(key, "want text, got %v (quote it)", value)
		}
	}
	return c, problems
}

// errorUnless is an error when ok is false.
func errorUnless(ok bool) error {
	if ok {
		return nil
	}
	return errors.New("invalid")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compileHMAC checks an hmac block and fills in its defaults. It returns every problem, each
// naming its key ("hmac.algorithm: …").
func compileHMAC(c hmacConfig) (*hmacScheme, []error) {
	var problems []error
	bad := func(key, format string, args ...any) {
		problems = append(problems, settingError(hmacSettingKey+"."+key, format, args...))
	}
	header := func(key, name string) string {
		if name = strings.TrimSpace(name); name != "" && !validHeaderName(name) {
			bad(key, "%q is not a header name", name)
		}
		return textproto.CanonicalMIMEHeaderKey(name)
	}
	field := func(key, path string) string {
		if path = strings.TrimSpace(path); path != "" && slices.Contains(strings.Split(path, "."), "") {
			bad(key, "%q has an empty key (a dotted path is keys joined by single dots)", path)
		}
		return path
	}
	s := &hmacScheme{
		prefix:          c.Prefix,
		idHeader:        header("id_header", c.IDHeader),
		idField:         field("id_field", c.IDField),
		typeHeader:      header("type_header", c.TypeHeader),
		typeField:       field("type_field", c.TypeField),
		timestampHeader: header("timestamp_header", c.TimestampHeader),
		timestampField:  field("timestamp_field", c.TimestampField),
	}

	// The signature header, or a numbered family of them: "X-DocuSign-Signature-{n}".
	switch name := strings.TrimSpace(c.Header); {
	case name == "":
		bad("header", "required: the header that carries the signature")
	case strings.Count(name, hmacHeaderNumber) > 1:
		bad("header", "%q has %s more than once", name, hmacHeaderNumber)
	case strings.Contains(name, hmacHeaderNumber):
		if !validHeaderName(strings.Replace(name, hmacHeaderNumber, "1", 1)) {
			bad("header", "%q is not a header name with %s for a number", name, hmacHeaderNumber)
			break
		}
		for n := 1; n <= hmacMaxHeaderNumbers; n++ {
			s.headers = append(s.headers, textproto.CanonicalMIMEHeaderKey(strings.Replace(name, hmacHeaderNumber, strconv.Itoa(n), 1)))
		}
	default:
		s.headers = []string{header("header", name)}
	}
	if len(s.headers) > 0 {
		s.header = s.headers[0]
	}

	algorithm := strings.ToLower(strings.TrimSpace(c.Algorithm))
	if algorithm == "" {
		algorithm = hmacDefaultAlgorithm
	}
	if s.newHash = hmacAlgorithms[algorithm]; s.newHash == nil {
		bad("algorithm", "unknown algorithm %q (md5, sha1, sha256 or sha512)", c.Algorithm)
	}
	encoding := strings.ToLower(strings.TrimSpace(c.Encoding))
	if encoding == "" {
		encoding = hmacDefaultEncoding
	}
	var ok bool
	if s.encoding, ok = hmacEncodings[encoding]; !ok {
		bad("encoding", "unknown encoding %q (hex or base64)", c.Encoding)
	}
	secretEncoding := strings.ToLower(strings.TrimSpace(c.SecretEncoding))
	if secretEncoding == "" {
		secretEncoding = hmacDefaultSecretEncoding
	}
	if s.secretKey = hmacSecretEncodings[secretEncoding]; s.secretKey == nil {
		bad("secret_encoding", "unknown secret encoding %q (text, base64 or hex)", c.SecretEncoding)
	}

	// Where the signatures are: one value, a list in one value, or key=value pairs.
	if c.Signatures != "" {
		s.list = c.Signatures
	}
	if p := c.SignaturePairs; p != nil {
		s.pairs = &hmacPairs{separator: p.Separator, timestamp: strings.TrimSpace(p.Timestamp), signature: strings.TrimSpace(p.Signature)}
		if s.pairs.separator == "" {
			s.pairs.separator = hmacDefaultPairSeparator
		}
		pairKey := func(key, name string) {
			if name != "" && (strings.Contains(name, "=") || strings.Contains(name, s.pairs.separator) || strings.ContainsAny(name, " \t")) {
				bad("signature_pairs."+key, "%q cannot be a pair's key (it holds '=', a space or the separator)", name)
			}
		}
		pairKey("timestamp", s.pairs.timestamp)
		pairKey("signature", s.pairs.signature)
		switch {
		case strings.Contains(s.pairs.separator, "="):
			bad("signature_pairs.separator", "%q holds the '=' of a pair", s.pairs.separator)
		case s.pairs.signature == "":
			bad("signature_pairs.signature", "required: the key of the signature pairs (v1, h1)")
		case s.pairs.signature == s.pairs.timestamp:
			bad("signature_pairs.timestamp", "the same key as signature")
		}
		if c.Signatures != "" {
			bad("signatures", "signature_pairs lists the signatures: give one of them")
		}
		if len(s.headers) > 1 {
			bad("signature_pairs", "a numbered header family carries one signature per header, not pairs")
		}
		if s.timestampHeader != "" && s.pairs.timestamp != "" {
			bad("timestamp_header", "the timestamp is in signature_pairs.timestamp: give one of them")
		}
	}

	signed := hmacDefaultSigned
	if c.Signed != nil {
		signed = *c.Signed
	}
	var err error
	if s.signed, err = parseHMACTemplate(signed); err != nil {
		bad("signed", "%v", err)
	} else {
		for _, name := range s.signed.headers() {
			if slices.Contains(s.headers, name) {
				bad("signed", "{header:%s} is the signature header itself", name)
			}
		}
	}

	// The timestamp: read as its format says, and signed, else it would prove nothing.
	format := strings.ToLower(strings.TrimSpace(c.TimestampFormat))
	if format == "" {
		format = hmacDefaultTimestampFormat
	}
	if s.timestampFormat, ok = hmacTimestampFormats[format]; !ok {
		bad("timestamp_format", "unknown format %q (unix, unix_ms or rfc3339)", c.TimestampFormat)
	}
	if s.timestampField != "" && (s.timestampHeader != "" || s.pairs != nil && s.pairs.timestamp != "") {
		bad("timestamp_field", "give one of timestamp_header, timestamp_field and signature_pairs.timestamp")
	}
	noTimestamp := "no timestamp to read: give timestamp_header, timestamp_field or signature_pairs.timestamp"
	if c.TimestampFormat != "" && !s.hasTimestamp() {
		bad("timestamp_format", "%s", noTimestamp)
	}
	if t := c.TimestampTolerance; t != nil {
		switch s.tolerance = *t; {
		case *t < 0:
			bad("timestamp_tolerance", "must not be negative, got %s", *t)
		case *t > 0 && !s.hasTimestamp():
			bad("timestamp_tolerance", "%s", noTimestamp)
		}
	}
	if err == nil {
		switch {
		case s.signed.has(hmacTimestampPart) && !s.hasTimestamp():
			bad("signed", "{timestamp}: %s", noTimestamp)
		case s.hasTimestamp() && s.timestampField == "" && !s.signed.has(hmacTimestampPart) &&
			!(s.timestampHeader != "" && slices.Contains(s.signed.headers(), s.timestampHeader)):
			bad("signed", "%q does not sign the timestamp: add {timestamp} (a timestamp outside the signature proves nothing)", signed)
		}
	}

	if s.idHeader != "" && s.idField != "" {
		bad("id_field", "give id_header or id_field, not both")
	}
	s.idUnsigned = s.idHeader != "" && !slices.Contains(s.signed.headers(), s.idHeader)
	if s.typeHeader != "" && s.typeField != "" {
		bad("type_field", "give type_header or type_field, not both")
	}
	if c.TypePrefix != "" && !validTypePrefix(c.TypePrefix) {
		bad("type_prefix", "%q is not a reverse-DNS name (lower-case letters, digits, '-', dots)", c.TypePrefix)
	}

	success, rejection := hmacDefaultSuccess, hmacDefaultRejection
	if c.SuccessStatus != nil {
		if success = *c.SuccessStatus; success < 200 || success > 299 {
			bad("success_status", "%d is not a success status (200–299)", success)
		}
	}
	if c.RejectionStatus != nil {
		if rejection = *c.RejectionStatus; rejection < 400 || rejection > 499 {
			bad("rejection_status", "%d is not a client-error status (400–499)", rejection)
		}
	}
	s.success, s.rejection = emptyAnswer(success), emptyAnswer(rejection)
	if len(problems) > 0 {
		return nil, problems
	}
	return s, nil
}

// validHeaderName reports whether name is an HTTP field name: a token (RFC 9110, section 5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// hmacTemplate is a compiled "signed" template: what the MAC covers, in order.
type hmacTemplate []hmacPart

// hmacPartKind is what one part of a template stands for.
type hmacPartKind int

const (
	hmacLiteralPart   hmacPartKind = iota
	hmacBodyPart                   // {body}: the raw body
	hmacHeaderPart                 // {header:Name}: that header's value
	hmacTimestampPart              // {timestamp}: the timestamp as written
	hmacMethodPart                 // {method}: the request's method
	hmacURLPart                    // {url}: public_url + the request's path and query
)

// hmacPart is one part of a template.
type hmacPart struct {
	kind    hmacPartKind
	literal []byte
	header  string // canonical name
	// forbidden are the literal bytes just before and after a variable part, which its value
	// must not contain (see parseHMACTemplate).
	forbidden []byte
}

// hmacInput is what a template's placeholders stand for in one request.
type hmacInput struct {
	header            http.Header
	body              []byte
	timestamp, method string
	// publicURL is the endpoint's; uri is the request's path and query as received.
	publicURL, uri string
}

// parseHMACTemplate compiles a template of literal text, {body}, {header:Name}, {timestamp},
// {method} and {url}. A brace is always part of a placeholder: literal braces cannot be written.
func parseHMACTemplate(template string) (hmacTemplate, error) {
	var t hmacTemplate
	hasBody := false
	literal := func(text string) {
		if text != "" {
			t = append(t, hmacPart{literal: []byte(text)})
		}
	}
	for i := 0; i < len(template); {
		open := strings.IndexAny(template[i:], "{}")
		if open < 0 {
			literal(template[i:])
			break
		}
		open += i
		literal(template[i:open])
		if template[open] == '}' {
			return nil, fmt.Errorf("'}' at byte %d closes no placeholder", open)
		}
		end := strings.IndexAny(template[open+1:], "{}")
		if end < 0 || template[open+1+end] == '{' {
			return nil, fmt.Errorf("unclosed brace at byte %d", open)
		}
		end += open + 1
		name := template[open+1 : end]
		switch header, isHeader := strings.CutPrefix(name, "header:"); {
		case name == "body":
			t = append(t, hmacPart{kind: hmacBodyPart})
			hasBody = true
		case name == "timestamp":
			t = append(t, hmacPart{kind: hmacTimestampPart})
		case name == "method":
			t = append(t, hmacPart{kind: hmacMethodPart})
		case name == "url":
			t = append(t, hmacPart{kind: hmacURLPart})
		case isHeader && validHeaderName(strings.TrimSpace(header)):
			t = append(t, hmacPart{kind: hmacHeaderPart, header: textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(header))})
		case isHeader:
			return nil, fmt.Errorf("{%s}: %q is not a header name", name, header)
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} ({body}, {header:Name}, {timestamp}, {method} or {url})", name)
		}
		i = end + 1
	}
	if !hasBody {
		return nil, fmt.Errorf("%q has no {body}", template)
	}
	// A value must not contain the literal byte that borders its placeholder: in
	// "v0:{header:X-Ts}:{body}" a timestamp "ts:P" with body "Q" signs the same bytes as the
	// genuine "ts" with body "P:Q", so whoever holds one genuine request could move the start
	// of its body into the header and have a new event accepted.
	for i := range t {
		if t[i].kind == hmacLiteralPart || t[i].kind == hmacBodyPart {
			continue
		}
		if i > 0 && t[i-1].kind == hmacLiteralPart {
			t[i].forbidden = append(t[i].forbidden, t[i-1].literal[len(t[i-1].literal)-1])
		}
		if i+1 < len(t) && t[i+1].kind == hmacLiteralPart {
			t[i].forbidden = append(t[i].forbidden, t[i+1].literal[0])
		}
	}
	return t, nil
}

// apply returns the parts the MAC covers, in order. A header the template names that the
// request lacks (or repeats) is an error wrapping ErrMissingProof (ErrMalformedProof); a value
// that contains a byte bordering its placeholder, ErrMalformedProof. For {url}, only the
// request's part is checked: the public URL is the endpoint's own.
func (t hmacTemplate) apply(in hmacInput) ([][]byte, error) {
	parts := make([][]byte, len(t))
	for i, p := range t {
		var value, checked string
		switch p.kind {
		case hmacLiteralPart:
			parts[i] = p.literal
			continue
		case hmacBodyPart:
			parts[i] = in.body
			continue
		case hmacHeaderPart:
			v, err := proofHeader(in.header, p.header)
			if err != nil {
				return nil, err
			}
			value, checked = v, v
		case hmacTimestampPart:
			value, checked = in.timestamp, in.timestamp
		case hmacMethodPart:
			value, checked = in.method, in.method
		case hmacURLPart:
			value, checked = in.publicURL+in.uri, in.uri
		}
		for _, c := range p.forbidden {
			if strings.IndexByte(checked, c) >= 0 {
				// The byte is the template's, not the sender's: it may be quoted.
				return nil, fmt.Errorf("%s: contains %q, which borders it in the signed template: %w", p.name(), c, ErrMalformedProof)
			}
		}
		parts[i] = []byte(value)
	}
	return parts, nil
}

// name is how an error names the part.
func (p hmacPart) name() string {
	switch p.kind {
	case hmacHeaderPart:
		return "header " + p.header
	case hmacTimestampPart:
		return "the timestamp"
	case hmacMethodPart:
		return "the method"
	case hmacURLPart:
		return "the request's path"
	}
	return "the template"
}

// headers lists the headers the template names.
func (t hmacTemplate) headers() []string {
	var names []string
	for _, p := range t {
		if p.kind == hmacHeaderPart && !slices.Contains(names, p.header) {
			names = append(names, p.header)
		}
	}
	return names
}

// has reports whether the template has a part of the kind.
func (t hmacTemplate) has(kind hmacPartKind) bool {
	return slices.ContainsFunc(t, func(p hmacPart) bool { return p.kind == kind })
}
