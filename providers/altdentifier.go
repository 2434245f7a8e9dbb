package providers

import (
	"crypto/md5"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AltDentifier (Discord verification bot). Documentation: "Webhooks" (docs/providers/altdentifier.md): the Digest
// header is "MD5=" followed by the hex HMAC of the raw body keyed with the endpoint's secret
// (Python's hmac.new default digest, MD5). Its Signature header (draft-cavage HTTP signatures)
// signs only the Date header, not the body, so it proves nothing about the event and is ignored.
const AltDentifierDigestHeader = "Digest"

// altDentifierOps names the documented OP codes; OP 5 is the test event of the example server.
var altDentifierOps = []string{
	0: "verification.started",
	1: "verification.passed",
	2: "verification.failed",
	3: "verification.ignored",
	4: "account.incorrect",
	5: "test",
}

// AltDentifier declares the AltDentifier provider.
var AltDentifier = &Provider{
	Name:       "altdentifier",
	TypePrefix: "com.altdentifier",
	// "Please return a 200 or 204"; the example server returns 204. 403 is the one 4xx that does
	// not make AltDentifier retry.
	Success:   emptyAnswer(http.StatusNoContent),
	Rejection: emptyAnswer(http.StatusForbidden),
	// "Please return a 4xx (Excluding 403) when your application could not handle the webhook
	// properly": AltDentifier resends only on such a code (up to 8 tries), not on a 5xx.
	Retry:           retryLater(http.StatusTooManyRequests),
	DemoCredentials: secretsOnly,
	Load: LoadProfile{
		DefaultType: "verification.passed",
		Types:       altDentifierOps,
		Example: func(eventType, run string, n uint64, _ time.Time) Example {
			num := strconv.FormatUint(n, 10)
			body := `{"OP":` + strconv.Itoa(slices.Index(altDentifierOps, eventType)) + `,"method":"steam","member":{"id":"` + num +
				`","username":"load_` + run + "_" + num + `","discriminator":"0001"},"guild":{"id":"372024042980638721","name":"Load Test"}}`
			return Example{Body: []byte(body)} // no id: the bridge uses the body's hash
		},
	},
	CheckCredentials: needSecret,

	Authenticate: rawBody(func(req Request, creds Credentials) error {
		return verifyMAC(req.Header, AltDentifierDigestHeader, decodeAltDentifierDigest, md5.New, creds.Secrets, req.Body)
	}),

	Map: func(req Request) (Event, error) {
		// Keys match case-insensitively. The documentation's member has "username", the example
		// server reads "name": only the id is needed, and a member of another shape does not make
		// the event unmappable.
		f, err := scanFieldsFold(req.Body, "OP", "member.id")
		if err != nil {
			return Event{}, err
		}
		op, err := strconv.Atoi(stringOrNumber(f[0]))
		if err != nil || op < 0 || op >= len(altDentifierOps) {
			return Event{}, fmt.Errorf("missing or unknown OP: %w", ErrUnmappable)
		}
		// No event id and no timestamp in the payload: the bridge uses the body's hash and the
		// time of receipt.
		return Event{Type: altDentifierOps[op], Subject: stringOrNumber(f[1])}, nil
	},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(AltDentifierDigestHeader, "MD5="+hexMAC(md5.New, secret, body))
		return h, nil
	},
}

// decodeAltDentifierDigest reads "MD5=<hex>": split on the first "=" as the documented receiver
// does, the algorithm name in any case, the hex in either case.
func decodeAltDentifierDigest(value string) ([]byte, error) {
	alg, digest, ok := strings.Cut(value, "=")
	if !ok {
		return nil, fmt.Errorf("no \"=\" in digest: %w", ErrMalformedProof)
	}
	if !strings.EqualFold(strings.TrimSpace(alg), "MD5") {
		return nil, fmt.Errorf("digest algorithm is not MD5: %w", ErrMalformedProof)
	}
	return decodeHex(strings.TrimSpace(digest))
}
