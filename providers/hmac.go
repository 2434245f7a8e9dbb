package providers

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The hmac provider is for any sender that signs its webhooks with one HMAC header — GitHub,
// Shopify, Slack, in-house systems — described by the endpoint's "hmac" block instead of code
// (docs/providers/hmac.md). The block is read once, at start-up, into an hmacScheme; every
// request is then checked against that compiled form.

// hmacSettingKey is the endpoint key the provider reads.
const hmacSettingKey = "hmac"

// Defaults of the hmac block (docs/providers/hmac.md).
const (
	hmacDefaultAlgorithm = "sha256"
	hmacDefaultEncoding  = "hex"
	hmacDefaultSigned    = "{body}"
	hmacDefaultSuccess   = http.StatusOK
	hmacDefaultRejection = http.StatusUnauthorized
)

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
}

// fields maps each key of the block to where it goes: a *string, a **string or an **int.
func (c *hmacConfig) fields() map[string]any {
	return map[string]any{
		"header":           &c.Header,
		"algorithm":        &c.Algorithm,
		"encoding":         &c.Encoding,
		"prefix":           &c.Prefix,
		"signed":           &c.Signed,
		"id_header":        &c.IDHeader,
		"id_field":         &c.IDField,
		"type_header":      &c.TypeHeader,
		"type_field":       &c.TypeField,
		"type_prefix":      &c.TypePrefix,
		"success_status":   &c.SuccessStatus,
		"rejection_status": &c.RejectionStatus,
	}
}

// hmacConfigKeys are the keys of an hmac block, sorted.
var hmacConfigKeys = sortedKeys((&hmacConfig{}).fields())

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

// hmacScheme is an endpoint's hmac block, checked and compiled: Configure makes it, and it is
// what Authenticate, Map, Sign and EndpointAnswers receive as the endpoint's settings.
type hmacScheme struct {
	header   string
	newHash  func() hash.Hash
	encoding hmacEncoding
	prefix   string
	signed   hmacTemplate
	// At most one of each pair is set; none: the body's SHA-256 as id, and no type (unmapped).
	idHeader, idField string
	// idUnsigned: idHeader is not one of the template's headers, so the signature does not
	// cover the id (Event.IDUnsigned).
	idUnsigned            bool
	typeHeader, typeField string
	success, rejection    Answer
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
	SettingKeys: []string{hmacSettingKey},
	Configure:   configureHMAC,
	EndpointAnswers: func(settings any) (success, rejection Answer) {
		if s, ok := settings.(*hmacScheme); ok && s != nil {
			return s.success, s.rejection
		}
		return emptyAnswer(hmacDefaultSuccess), emptyAnswer(hmacDefaultRejection)
	},
	CheckCredentials: needSecret,
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
		// The signature header first: a request without it has presented no proof at all.
		if _, err := proofHeader(req.Header, s.header); err != nil {
			return err
		}
		signed, err := s.signed.apply(req.Header, req.Body)
		if err != nil {
			// A signature was presented but cannot be right: never an "unsigned" request.
			return fmt.Errorf("%w, which the signature covers: %w", err, ErrMalformedProof)
		}
		return verifyMAC(req.Header, s.header, s.decodeProof, s.newHash, creds.Secrets, signed...)
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
	// none (`bridge sign`, the load tool). What a template signs beside the body must be a
	// header Sign can write: a timestamp (any header whose name contains "timestamp", set to
	// now's Unix seconds), or the id or type header.
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		s, ok := creds.Settings.(*hmacScheme)
		if !ok || s == nil {
			s = hmacDemoScheme
		}
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
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
		for _, name := range s.signed.headers() {
			switch {
			case h.Get(name) != "":
			case strings.Contains(strings.ToLower(name), "timestamp"):
				h.Set(name, strconv.FormatInt(now.Unix(), 10))
			default:
				return nil, fmt.Errorf("the signed template needs header %s, which sign cannot know (give it with -H and sign by hand)", name)
			}
		}
		signed, err := s.signed.apply(h, body)
		if err != nil {
			return nil, err
		}
		h.Set(s.header, s.prefix+s.encoding.encode(macOf(s.newHash, secret, signed...)))
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

// decodeProof reads a signature header's value: the configured prefix, then the MAC in the
// configured encoding. A value without the prefix is malformed (docs/providers/hmac.md).
func (s *hmacScheme) decodeProof(value string) ([]byte, error) {
	mac, ok := strings.CutPrefix(value, s.prefix)
	if !ok {
		return nil, fmt.Errorf("value lacks the prefix %q: %w", s.prefix, ErrMalformedProof)
	}
	return s.encoding.decode(mac)
}

// configureHMAC reads an endpoint's hmac block. Every problem is reported, each naming its key.
func configureHMAC(endpointID string, _ Credentials, read SettingReader) (Settings, error) {
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
	if problems = append(problems, invalid...); len(problems) > 0 {
		return Settings{}, errors.Join(problems...)
	}
	prefix := c.TypePrefix
	if prefix == "" {
		prefix = "com." + strings.ToLower(endpointID)
	}
	return Settings{TypePrefix: prefix, Value: s}, nil
}

// decodeHMACConfig reads each key of the block as its own type; a key that is not one of the
// block's, or of another type, is a problem naming it.
func decodeHMACConfig(keys map[string]any) (hmacConfig, []error) {
	var c hmacConfig
	var problems []error
	fields := c.fields()
	for _, key := range sortedKeys(keys) {
		value := keys[key]
		text, isText := value.(string)
		switch dst := fields[key].(type) {
		case nil:
			problems = append(problems, settingError(hmacSettingKey+"."+key, "unknown field (known: %s)", strings.Join(hmacConfigKeys, ", ")))
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
				problems = append(problems, settingError(hmacSettingKey+"."+key, "want a status code, got %v", value))
			}
			continue
		}
		if !isText && value != nil {
			problems = append(problems, settingError(hmacSettingKey+"."+key, "want text, got %v (quote it)", value))
		}
	}
	return c, problems
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
		header:     header("header", c.Header),
		prefix:     c.Prefix,
		idHeader:   header("id_header", c.IDHeader),
		idField:    field("id_field", c.IDField),
		typeHeader: header("type_header", c.TypeHeader),
		typeField:  field("type_field", c.TypeField),
	}
	if s.header == "" {
		bad("header", "required: the header that carries the signature")
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

	signed := hmacDefaultSigned
	if c.Signed != nil {
		signed = *c.Signed
	}
	var err error
	if s.signed, err = parseHMACTemplate(signed); err != nil {
		bad("signed", "%v", err)
	} else if s.header != "" && slices.Contains(s.signed.headers(), s.header) {
		bad("signed", "{header:%s} is the signature header itself", s.header)
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

// hmacPart is literal text, the value of a header (header set), or the body (body set).
type hmacPart struct {
	literal []byte
	header  string // canonical name
	// forbidden are the literal bytes just before and after a header's placeholder, which its
	// value must not contain (see parseHMACTemplate).
	forbidden []byte
	body      bool
}

// parseHMACTemplate compiles a template of literal text, {body} and {header:Name}. A brace is
// always part of a placeholder: literal braces cannot be written.
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
			t = append(t, hmacPart{body: true})
			hasBody = true
		case isHeader && validHeaderName(strings.TrimSpace(header)):
			t = append(t, hmacPart{header: textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(header))})
		case isHeader:
			return nil, fmt.Errorf("{%s}: %q is not a header name", name, header)
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} ({body} or {header:Name})", name)
		}
		i = end + 1
	}
	if !hasBody {
		return nil, fmt.Errorf("%q has no {body}", template)
	}
	// A header's value must not contain the literal byte that borders its placeholder: in
	// "v0:{header:X-Ts}:{body}" a timestamp "ts:P" with body "Q" signs the same bytes as the
	// genuine "ts" with body "P:Q", so whoever holds one genuine request could move the start
	// of its body into the header and have a new event accepted.
	for i := range t {
		if t[i].header == "" {
			continue
		}
		if i > 0 && t[i-1].literal != nil {
			t[i].forbidden = append(t[i].forbidden, t[i-1].literal[len(t[i-1].literal)-1])
		}
		if i+1 < len(t) && t[i+1].literal != nil {
			t[i].forbidden = append(t[i].forbidden, t[i+1].literal[0])
		}
	}
	return t, nil
}

// apply returns the parts the MAC covers, in order. A header the template names that the
// request lacks (or repeats) is an error wrapping ErrMissingProof (ErrMalformedProof); one whose
// value contains a byte that borders its placeholder, ErrMalformedProof.
func (t hmacTemplate) apply(h http.Header, body []byte) ([][]byte, error) {
	parts := make([][]byte, len(t))
	for i, p := range t {
		switch {
		case p.body:
			parts[i] = body
		case p.header != "":
			v, err := proofHeader(h, p.header)
			if err != nil {
				return nil, err
			}
			for _, c := range p.forbidden {
				if strings.IndexByte(v, c) >= 0 {
					// The byte is the template's, not the sender's: it may be quoted.
					return nil, fmt.Errorf("header %s: contains %q, which borders it in the signed template: %w", p.header, c, ErrMalformedProof)
				}
			}
			parts[i] = []byte(v)
		default:
			parts[i] = p.literal
		}
	}
	return parts, nil
}

// headers lists the headers the template names.
func (t hmacTemplate) headers() []string {
	var names []string
	for _, p := range t {
		if p.header != "" && !slices.Contains(names, p.header) {
			names = append(names, p.header)
		}
	}
	return names
}
