package providers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ActiGraph CentrePoint (research wearables). Documentation: "Securing your webhooks"
// and ActiGraph's WebhookDocumentation (docs/providers/centrepoint.md). A webhook uses one of the schemes chosen in
// their portal; an endpoint enables each scheme by configuring its credential:
//   - HMAC: X-ActiGraph-Signature = standard padded base64 HMAC-SHA256(secret, raw body);
//   - Basic: Authorization: Basic base64(username:password);
//   - OAuth2 bearer: Authorization: Bearer <token>.
const (
	CentrePointSignatureHeader  = "X-ActiGraph-Signature"
	CentrePointEventHeader      = "X-ActiGraph-Event"
	CentrePointDeliveryHeader   = "X-ActiGraph-Delivery"
	CentrePointHookSecretHeader = "X-ActiGraph-Hook-Secret"
	centrePointValidationEvent  = "validation"
)

// CentrePoint declares the ActiGraph CentrePoint provider.
var CentrePoint = &Provider{
	Name:       "centrepoint",
	TypePrefix: "com.actigraph.centrepoint",
	Success:    emptyAnswer(http.StatusOK),
	Rejection:  emptyAnswer(http.StatusUnauthorized),
	Retry:      retryLater(http.StatusServiceUnavailable),
	// The demo enables every scheme: HMAC, Basic (user "demo") and bearer.
	DemoCredentials: func(secret string) Credentials {
		return Credentials{Secrets: []string{secret}, BasicAuth: &BasicAuth{Username: "demo", Password: secret}, BearerTokens: []string{secret}}
	},
	Load: LoadProfile{
		DefaultType: "upload",
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			num := strconv.FormatUint(n, 10)
			// The delivery id is the event's id and stays the same on a retry (Sign makes a
			// fresh one each time); the event name travels in a header.
			delivery := centrePointLoadDelivery(run, n)
			body := `{"status":"completed","uploadId":"` + num + `","subjectId":"load_` + run + "_" + num +
				`","studyId":"189","firstEpochUTC":"2016-06-14T20:46:00.0000000","lastEpochUTC":"2016-06-14T20:47:00.0000000"}`
			h := http.Header{}
			h.Set(CentrePointDeliveryHeader, delivery)
			h.Set(CentrePointEventHeader, eventType)
			return Example{Body: []byte(body), Header: h, ID: delivery}
		},
	},
	CheckCredentials: checkCentrePointCredentials,

	// "Validating Webhooks": on creation and on every change of URL or authentication, CentrePoint
	// sends X-ActiGraph-Event: validation and expects 200 with its X-ActiGraph-Hook-Secret header
	// echoed. The documented request carries no proof, and the answer reveals nothing the request
	// did not contain.
	Handshake: func(req Request, _ Credentials) (Answer, bool) {
		if !strings.EqualFold(strings.TrimSpace(req.Header.Get(CentrePointEventHeader)), centrePointValidationEvent) {
			return Answer{}, false
		}
		answer := emptyAnswer(http.StatusOK)
		if secret := req.Header.Get(CentrePointHookSecretHeader); secret != "" {
			answer.Header = http.Header{}
			answer.Header.Set(CentrePointHookSecretHeader, secret)
		}
		return answer, true
	},

	// A request must satisfy one enabled scheme. Proofs for schemes the endpoint has not enabled
	// are not looked at; when the enabled ones' proofs are all absent the proof is missing,
	// otherwise every presented proof's failure is reported.
	Authenticate: rawBody(func(req Request, creds Credentials) error {
		hmacOn := len(creds.Secrets) > 0
		authorizationOn := creds.BasicAuth != nil || len(creds.BearerTokens) > 0
		if !hmacOn && !authorizationOn {
			// An endpoint without authentication (allow_unsigned): no proof can be checked, so
			// none counts as presented; refusing a request for carrying one would add no safety,
			// since the same request without the header is accepted.
			return fmt.Errorf("no authentication scheme configured: %w", ErrMissingProof)
		}
		var failures []error
		if hmacOn {
			err := verifyMAC(req.Header, CentrePointSignatureHeader, decodeCentrePointSignature, sha256.New, creds.Secrets, req.Body)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrMissingProof) {
				failures = append(failures, err)
			}
		}
		if authorizationOn {
			err := verifyCentrePointAuthorization(req.Header, creds)
			if err == nil {
				return nil
			}
			if !errors.Is(err, ErrMissingProof) {
				failures = append(failures, err)
			}
		}
		if len(failures) == 0 {
			return fmt.Errorf("none of the enabled schemes' headers (%s): %w", centrePointProofHeaders(hmacOn, authorizationOn), ErrMissingProof)
		}
		return errors.Join(failures...)
	}),

	Map: func(req Request) (Event, error) {
		// The event is named by the header only; the body has no type field.
		ev := Event{
			// The delivery GUID is the same on every retry and manual resend of one delivery.
			ID: strings.TrimSpace(req.Header.Get(CentrePointDeliveryHeader)),
		}
		// No scheme signs the delivery header (HMAC covers the body alone; Basic and bearer
		// cover nothing), so whoever holds one request could give it a new id, or none: the
		// bridge recognises the event by its type and body instead (docs/providers/centrepoint.md).
		ev.IDUnsigned = true // also without a delivery id: dropping the header must not make a new event
		event := strings.ToLower(strings.TrimSpace(req.Header.Get(CentrePointEventHeader)))
		if event == "" {
			// Unmapped, with the id still marked: the bridge keeps it for its unmapped event.
			return ev, fmt.Errorf("no %s header: %w", CentrePointEventHeader, ErrUnmappable)
		}
		ev.Type = event
		// upload has status started|completed|error, raw_processing_complete Completed|Error; the
		// test ping ({"Test":"Value"} as upload) and any body that is not a JSON object keep the
		// bare event name. The subject is subjectId in upload and the daily statistics events,
		// subject_id in raw_processing_complete and data_retrieval_complete; keys match
		// case-insensitively, so SubjectId and subjectID count too.
		f, err := scanFieldsFold(req.Body, "status", "subjectId", "subject_id")
		if err != nil {
			// Not a JSON object (not JSON, an array, an empty body): the header alone names the
			// event, so it is still mapped, under its bare name, with no subject, rather than
			// published as unmapped. That is all err (ErrUnmappable) can change here; the body
			// is published as it came either way.
			return ev, nil
		}
		ev.Subject = stringOrNumber(f[1])
		if ev.Subject == "" {
			ev.Subject = stringOrNumber(f[2])
		}
		if status := strings.ToLower(strings.TrimSpace(stringOrNumber(f[0]))); status != "" {
			ev.Type += "." + status
		}
		return ev, nil
	},

	// Sign uses the HMAC scheme when a secret is configured, else a bearer token, else Basic, and
	// sends the body as an upload delivery with a fresh delivery id.
	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		h := http.Header{}
		switch {
		case len(creds.Secrets) > 0:
			h.Set(CentrePointSignatureHeader, base64.StdEncoding.EncodeToString(macOf(sha256.New, creds.Secrets[0], body)))
		case len(creds.BearerTokens) > 0:
			h.Set("Authorization", "Bearer "+creds.BearerTokens[0])
		case creds.BasicAuth != nil:
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds.BasicAuth.Username+":"+creds.BasicAuth.Password)))
		default:
			return nil, errors.New("no secret, bearer token or basic auth to sign with")
		}
		h.Set("Content-Type", "application/json")
		h.Set("User-Agent", "ActiGraph-Hookshot/1.0")
		h.Set(CentrePointEventHeader, "upload")
		h.Set(CentrePointDeliveryHeader, newCentrePointDelivery())
		return h, nil
	},
}

// decodeCentrePointSignature reads the documented standard base64, and leniently hex of the same
// MAC and either behind an "alg=" prefix such as "sha256=" (the 2015 draft prefixed "sha1=").
// The prefix is stripped only when it is a short lower-case alphanumeric name and the rest
// decodes: a padded base64 MAC's first "=" comes after 43 characters.
func decodeCentrePointSignature(value string) ([]byte, error) {
	if alg, rest, ok := strings.Cut(value, "="); ok && isAlgorithmName(alg) {
		if mac, err := decodeHexOrBase64(strings.TrimSpace(rest)); err == nil {
			return mac, nil
		}
	}
	return decodeHexOrBase64(value)
}

// isAlgorithmName reports whether s looks like "sha256": 1 to 16 lower-case letters and digits.
func isAlgorithmName(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// verifyCentrePointAuthorization checks the Authorization header against the enabled Basic and
// Bearer credentials. The scheme name is case-insensitive (RFC 9110 §11.1); a scheme the endpoint
// has not enabled is a credential that does not match.
func verifyCentrePointAuthorization(h http.Header, creds Credentials) error {
	value, err := proofHeader(h, "Authorization")
	if err != nil {
		return err
	}
	scheme, param, _ := strings.Cut(value, " ")
	scheme, param = strings.ToLower(scheme), strings.TrimSpace(param)
	switch {
	case scheme == "basic" && creds.BasicAuth != nil:
		decoded, err := decodeBase64(param)
		if err != nil {
			return fmt.Errorf("authorization: basic: %w", err)
		}
		user, pass, ok := strings.Cut(string(decoded), ":")
		if !ok {
			return fmt.Errorf("authorization: basic: no \":\": %w", ErrMalformedProof)
		}
		// Both are compared, whatever the first gives, so timing tells neither.
		userOK := equalSecret(user, creds.BasicAuth.Username)
		passOK := equalSecret(pass, creds.BasicAuth.Password)
		if !userOK || !passOK {
			return fmt.Errorf("authorization: basic: %w", ErrBadCredentials)
		}
		return nil
	case scheme == "bearer" && len(creds.BearerTokens) > 0:
		if param == "" {
			return fmt.Errorf("authorization: bearer: empty token: %w", ErrMalformedProof)
		}
		matched := false
		for _, token := range creds.BearerTokens {
			if equalSecret(param, token) {
				matched = true
			}
		}
		if !matched {
			return fmt.Errorf("authorization: bearer: %w", ErrBadCredentials)
		}
		return nil
	}
	return fmt.Errorf("authorization: scheme not enabled for this endpoint: %w", ErrBadCredentials)
}

// centrePointProofHeaders names the headers that carry the enabled schemes' proofs.
func centrePointProofHeaders(hmacOn, authorizationOn bool) string {
	switch {
	case hmacOn && authorizationOn:
		return CentrePointSignatureHeader + " or Authorization"
	case hmacOn:
		return CentrePointSignatureHeader
	}
	return "Authorization"
}

// checkCentrePointCredentials requires at least one scheme, each one configured completely.
func checkCentrePointCredentials(creds Credentials) error {
	if len(creds.Secrets) == 0 && creds.BasicAuth == nil && len(creds.BearerTokens) == 0 {
		// "Authentication is not required by CentrePoint but is an option": without any scheme
		// the endpoint must say so with allow_unsigned (and should limit senders by address).
		if creds.AllowUnsigned {
			return nil
		}
		return errors.New("secrets, basic_auth, bearer_tokens: at least one authentication scheme is required (or allow_unsigned: true)")
	}
	var problems []error
	if len(creds.Secrets) > 0 {
		problems = append(problems, needSecret(creds))
	}
	if b := creds.BasicAuth; b != nil {
		if strings.TrimSpace(b.Username) == "" {
			problems = append(problems, errors.New("basic_auth.username: empty username"))
		} else if strings.Contains(b.Username, ":") {
			// Basic splits user-id and password at the first colon (RFC 7617 §2).
			problems = append(problems, errors.New("basic_auth.username: contains \":\""))
		}
		if strings.TrimSpace(b.Password) == "" {
			problems = append(problems, errors.New("basic_auth.password: empty password"))
		}
	}
	for i, token := range creds.BearerTokens {
		if strings.TrimSpace(token) == "" {
			problems = append(problems, fmt.Errorf("bearer_tokens[%d]: empty token", i))
		}
	}
	return errors.Join(problems...)
}

// newCentrePointDelivery returns a random version-4 GUID, the form of X-ActiGraph-Delivery.
func newCentrePointDelivery() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// centrePointLoadDelivery is a GUID-shaped delivery id made of a run's name and an event's
// number, so it is unique and its prefix names the run.
func centrePointLoadDelivery(run string, n uint64) string {
	r := (run + "000000000000")[:12]
	return fmt.Sprintf("%s-%s-4000-8000-%012x", r[:8], r[8:12], n)
}
