package providers

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Twilio (SMS, voice, …). Documentation: "Webhooks security"
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security) and its official validators
// (twilio-node src/webhooks/webhooks.ts, twilio-python twilio/request_validator.py), summed up in
// docs/providers/twilio.md:
//   - X-Twilio-Signature is the base64 HMAC-SHA1, keyed with the account's Auth Token, of the full
//     URL Twilio called followed, for a form POST, by every parameter's name and value, sorted by
//     name (a name given several times: its distinct values sorted);
//   - a JSON body is not in the signature itself: the URL carries bodySHA256=<hex SHA-256 of the
//     body> in its query, and the body must hash to it;
//   - Twilio's own validators accept the signature of the URL with its port and without it
//     (":443"/":80" added when none is written), "since signature generation on the back end is
//     inconsistent".
const (
	TwilioSignatureHeader = "X-Twilio-Signature"
	// twilioBodyHashParam names the query parameter that carries a JSON body's SHA-256.
	twilioBodyHashParam = "bodySHA256"
)

// twilioTwiML is an empty TwiML document: the answer Twilio expects from an incoming message or
// call webhook ("do nothing more"); status callbacks ignore the body.
const twilioTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Twilio declares the Twilio provider.
var Twilio = &Provider{
	Name:       "twilio",
	TypePrefix: "com.twilio",
	// One answer for every kind of webhook: Twilio reads TwiML from messaging and voice
	// webhooks (an empty <Response/> sends nothing and, for a call, ends it), and ignores the
	// body of a status callback.
	Success:   Answer{Status: http.StatusOK, ContentType: "text/xml", Body: []byte(twilioTwiML)},
	Rejection: emptyAnswer(http.StatusUnauthorized),
	Retry:     retryLater(http.StatusServiceUnavailable),

	CheckCredentials: needSecret,
	SettingKeys:      []string{publicURLKey},
	Configure: func(endpointID string, _ Credentials, read SettingReader) (Settings, error) {
		s, err := readSignedURL(endpointID, read, true)
		return Settings{Value: s}, err
	},
	DemoKeys: demoPublicURLKeys,
	DemoCredentials: func(secret string) Credentials {
		return Credentials{Secrets: []string{secret}, Settings: demoSignedURL("twilio", true)}
	},

	Authenticate: twilioAuthenticate,
	Map:          twilioMap,
	Sign:         twilioSign,

	Load: LoadProfile{
		DefaultType: "message.delivered",
		// A messaging status callback, as Twilio posts it
		// (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status). Its body
		// is a form, not a JSON object, so the load tool sends it unpadded.
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			status := strings.TrimPrefix(eventType, "message.")
			sid := twilioLoadSid(run, n)
			form := url.Values{
				"AccountSid":    {"AC00000000000000000000000000000000"},
				"ApiVersion":    {"2010-04-01"},
				"From":          {"+15017122661"},
				"To":            {"+15558675310"},
				"MessageSid":    {sid},
				"SmsSid":        {sid},
				"MessageStatus": {status},
				"SmsStatus":     {status},
			}
			h := http.Header{"Content-Type": {twilioFormType}}
			return Example{Body: []byte(form.Encode()), Header: h, ID: sid + "." + status}
		},
	},
}

// twilioFormType is the Content-Type of Twilio's form POSTs.
const twilioFormType = "application/x-www-form-urlencoded"

// twilioLoadSid is a message Sid unique to a load run and event: "SM" and 32 hex digits.
func twilioLoadSid(run string, n uint64) string {
	sum := sha256.Sum256([]byte(run + "/" + strconv.FormatUint(n, 10)))
	return "SM" + hex.EncodeToString(sum[:16])
}

func twilioAuthenticate(req Request, creds Credentials) (Proof, error) {
	s, ok := creds.Settings.(*signedURL)
	if !ok || s == nil {
		return Proof{}, fmt.Errorf("endpoint has no %s (not configured): %w", publicURLKey, ErrBadCredentials)
	}
	value, err := proofHeader(req.Header, TwilioSignatureHeader)
	if err != nil {
		return Proof{}, err
	}
	given, err := decodeBase64(value)
	if err != nil {
		return Proof{}, fmt.Errorf("header %s: %w", TwilioSignatureHeader, err)
	}
	uri := s.requestURI(req)
	params, signed, err := twilioSignedParams(uri, req.Body)
	if err != nil {
		return Proof{}, err
	}
	ok = false
	for _, u := range s.candidates(uri) {
		// Every candidate and every secret: the time taken does not tell which matched.
		if anySecret(creds.Secrets, given, func(secret string) []byte {
			return macOf(sha1.New, secret, []byte(u), []byte(params))
		}) {
			ok = true
		}
	}
	if !ok {
		return Proof{}, fmt.Errorf("header %s: %w", TwilioSignatureHeader, ErrBadSignature)
	}
	return Proof{Signed: signed}, nil
}

// twilioSignedParams returns what follows the URL in the signed string, and the bytes the
// signature stands for beside the URL (Proof.Signed; nil: the raw body). With bodySHA256 in the
// query, nothing follows the URL and the body must hash to it; else the body is a form whose
// parameters follow, sorted.
func twilioSignedParams(uri string, body []byte) (params string, signed []byte, err error) {
	_, query, _ := strings.Cut(uri, "?")
	q, _ := url.ParseQuery(query)
	if hashes, ok := q[twilioBodyHashParam]; ok {
		want, err := hex.DecodeString(hashes[0])
		if err != nil || len(hashes) > 1 {
			return "", nil, fmt.Errorf("query %s: one hex SHA-256 expected: %w", twilioBodyHashParam, ErrMalformedProof)
		}
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare(sum[:], want) != 1 {
			return "", nil, fmt.Errorf("body does not hash to the signed %s: %w", twilioBodyHashParam, ErrBadSignature)
		}
		return "", nil, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", nil, fmt.Errorf("body is not a form (%v), and no %s is signed: %w", err, twilioBodyHashParam, ErrMalformedProof)
	}
	params = twilioParamString(form)
	// Names and values run together unseparated, so several bodies sign the same string: the
	// string, not the raw body, names the delivery (docs/providers/twilio.md).
	return params, []byte(uri + "\x00" + params), nil
}

// twilioParamString is the parameters as Twilio signs them: sorted by name, each name followed
// by its value; a name given several times once per distinct value, the values sorted (as
// twilio-node's toFormUrlEncodedParam does).
func twilioParamString(form url.Values) string {
	var b strings.Builder
	for _, name := range sortedKeys(form) {
		values := slices.Clone(form[name])
		slices.Sort(values)
		for _, v := range slices.Compact(values) {
			b.WriteString(name)
			b.WriteString(v)
		}
	}
	return b.String()
}

func twilioMap(req Request) (Event, error) {
	_, query, _ := strings.Cut(req.URI, "?")
	if q, _ := url.ParseQuery(query); q.Has(twilioBodyHashParam) {
		return twilioMapJSON(req.Body)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return Event{}, fmt.Errorf("body is not a form: %w", ErrUnmappable)
	}
	// The signature covers the parameters, but not where a name ends and its value begins:
	// retries are recognised by the signed string (twilioSignedParams), not by this id.
	ev := Event{IDUnsigned: true}
	messageSid := cmpOr(form.Get("MessageSid"), form.Get("SmsSid"))
	messageStatus := cmpOr(form.Get("MessageStatus"), form.Get("SmsStatus"))
	switch {
	case form.Get("EventType") != "":
		// Conversations, TaskRouter and other products name their events.
		ev.Type = form.Get("EventType")
		ev.Subject = cmpOr(form.Get("ResourceSid"), form.Get("TaskSid"), form.Get("ConversationSid"), messageSid, form.Get("CallSid"))
		if sid := form.Get("Sid"); sid != "" {
			ev.ID = sid
		}
	case messageSid != "" && messageStatus != "":
		// One message sends a callback per status: the status is part of the id.
		ev.Type = "message." + messageStatus
		ev.ID, ev.Subject = messageSid+"."+messageStatus, messageSid
	case form.Get("CallSid") != "" && form.Get("CallStatus") != "":
		ev.Type = "call." + form.Get("CallStatus")
		ev.ID, ev.Subject = form.Get("CallSid")+"."+form.Get("CallStatus"), form.Get("CallSid")
	default:
		return Event{IDUnsigned: true}, fmt.Errorf("no EventType, MessageStatus, SmsStatus or CallStatus: %w", ErrUnmappable)
	}
	ev.Type = strings.ToLower(strings.TrimSpace(ev.Type))
	return ev, nil
}

// twilioMapJSON maps a JSON body signed through bodySHA256: its "type" (a CloudEvents type
// such as "com.twilio.messaging.message.delivered" loses its "com.twilio." prefix) and "id".
func twilioMapJSON(body []byte) (Event, error) {
	f, err := scanFields(body, "type", "id")
	if err != nil {
		return Event{}, err
	}
	ev := Event{ID: stringOrNumber(f[1])}
	t, _ := jsonString(f[0])
	t = strings.ToLower(strings.TrimSpace(t))
	if t = strings.TrimPrefix(t, "com.twilio."); t == "" {
		return ev, fmt.Errorf("no type: %w", ErrUnmappable)
	}
	ev.Type = t
	return ev, nil
}

// cmpOr is the first non-empty string.
func cmpOr(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// twilioSign signs a form body as Twilio does, for the endpoint's own route (the demo's when
// creds carry no settings): the URL without a port, then the sorted parameters.
func twilioSign(creds Credentials, body []byte, _ time.Time) (http.Header, error) {
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, err
	}
	s, ok := creds.Settings.(*signedURL)
	if !ok || s == nil {
		s = demoSignedURL("twilio", true)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("twilio signs form bodies (name=value&…): %w", err)
	}
	u := s.base + s.route
	h := http.Header{}
	h.Set("Content-Type", twilioFormType)
	h.Set(TwilioSignatureHeader, base64.StdEncoding.EncodeToString(macOf(sha1.New, secret, []byte(u), []byte(twilioParamString(form)))))
	return h, nil
}

// The public URL: senders that sign the URL they called (Twilio, Square) are checked against
// the endpoint's configured public_url — scheme, host and any path prefix the sender calls —
// followed by the request's path and query, never against the Host header, which a proxy may
// change and a client may choose.

// publicURLKey is the endpoint key that holds the public URL.
const publicURLKey = "public_url"

// demoPublicURL is the demo's: it listens on 127.0.0.1:8080.
const demoPublicURL = "http://127.0.0.1:8080"

// demoPublicURLKeys are the demo endpoint's keys of a provider that signs its URL.
const demoPublicURLKeys = publicURLKey + `: "` + demoPublicURL + `"`

// signedURL is an endpoint's public URL, read once by Configure.
type signedURL struct {
	// base is public_url without a trailing slash; the request's URI follows it.
	base string
	// route is the endpoint's own path ("/webhooks/<id>"): what Sign signs, and the URI of a
	// request that carries none (a test or a tool calling Authenticate directly).
	route string
	// withPort and withoutPort are base with its port (the scheme's default when none is
	// written) and without any port: Twilio's signature may be of either.
	withPort, withoutPort string
	// portVariants says whether both forms are tried (Twilio) or only base (Square).
	portVariants bool
}

// readSignedURL reads an endpoint's public_url: required, an absolute http(s) URL with a host,
// without credentials, query or fragment.
func readSignedURL(endpointID string, read SettingReader, portVariants bool) (*signedURL, error) {
	var raw string
	given, err := read(publicURLKey, &raw)
	switch {
	case err != nil:
		return nil, settingError(publicURLKey, "want the URL as text, such as \"https://hooks.example.com\"")
	case !given || strings.TrimSpace(raw) == "":
		return nil, settingError(publicURLKey, "required: the scheme, host and any path prefix the sender calls, such as \"https://hooks.example.com\" (the request's path follows it)")
	}
	return parseSignedURL(endpointID, strings.TrimSpace(raw), portVariants)
}

func parseSignedURL(endpointID, raw string, portVariants bool) (*signedURL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, settingError(publicURLKey, "not a URL: %v", errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, settingError(publicURLKey, "want an absolute http:// or https:// URL, got scheme %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, settingError(publicURLKey, "has no host")
	case u.User != nil:
		return nil, settingError(publicURLKey, "holds credentials; give only scheme, host and path")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, settingError(publicURLKey, "has a query or fragment; the request's own path and query follow the URL")
	}
	base := strings.TrimSuffix(raw, "/")
	s := &signedURL{base: base, route: "/webhooks/" + endpointID, portVariants: portVariants}
	rest := strings.TrimPrefix(base, u.Scheme+"://"+u.Host)
	host, port := u.Hostname(), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	s.withPort = u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port) + rest
	s.withoutPort = u.Scheme + "://" + host + rest
	return s, nil
}

// demoSignedURL is the demo endpoint's public URL for the provider called name.
func demoSignedURL(name string, portVariants bool) *signedURL {
	s, err := parseSignedURL(name, demoPublicURL, portVariants)
	if err != nil {
		panic(err) // a mistake in this file
	}
	return s
}

// requestURI is the request's path and query, or the endpoint's route when it has none.
func (s *signedURL) requestURI(req Request) string {
	if req.URI == "" {
		return s.route
	}
	return req.URI
}

// candidates are the full URLs a signature of a request for uri may be of.
func (s *signedURL) candidates(uri string) []string {
	if !s.portVariants {
		return []string{s.base + uri}
	}
	return []string{s.withoutPort + uri, s.withPort + uri}
}
