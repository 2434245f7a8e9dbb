package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Adyen (payments), standard webhooks. Documentation: "Verify HMAC signatures"
// (https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures,
// docs/providers/adyen.md). The body is a batch,
//
//	{"live": "false", "notificationItems": [{"NotificationRequestItem": {…}}, …]}
//
// and each item carries its own signature in additionalData.hmacSignature: the base64
// HMAC-SHA256, keyed with the HMAC key hex-decoded, of eight of the item's values joined by ":",
// as they are, without escaping (Adyen's own libraries' tests sign values holding ":" and "\"
// that way).
const (
	adyenItemsField     = "notificationItems"
	adyenItemField      = "NotificationRequestItem"
	adyenSignaturePath  = "additionalData.hmacSignature"
	adyenEventDatePath  = "eventDate"
	adyenAccepted       = "[accepted]"
	adyenSignedFieldsOf = "pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success"
)

// adyenSignedPaths are the values an item's signature covers, in the order they are joined.
var adyenSignedPaths = [...]string{
	"pspReference", "originalReference", "merchantAccountCode", "merchantReference",
	"amount.value", "amount.currency", "eventCode", "success",
}

// Positions in adyenSignedPaths.
const (
	adyenPSPReference      = 0
	adyenMerchantAccount   = 2
	adyenMerchantReference = 3
	adyenEventCode         = 6
)

// Adyen declares the Adyen provider.
var Adyen = &Provider{
	Name:       "adyen",
	TypePrefix: "com.adyen",
	// "Acknowledge the webhook with a 2xx response and [accepted] in the body"; anything else is
	// retried.
	Success:          Answer{Status: http.StatusOK, ContentType: "text/plain", Body: []byte(adyenAccepted)},
	Rejection:        emptyAnswer(http.StatusUnauthorized),
	Retry:            retryLater(http.StatusServiceUnavailable),
	CheckCredentials: checkAdyenKeys,
	// The demo's key is "demo-secret" written in hex, as Adyen's Customer Area writes keys.
	DemoCredentials: func(secret string) Credentials {
		return Credentials{Secrets: []string{hex.EncodeToString([]byte(secret))}}
	},

	Authenticate: adyenAuthenticate,

	Map: func(req Request) (Event, error) {
		items, err := adyenItems(req.Body)
		if err != nil || len(items) == 0 {
			return Event{}, fmt.Errorf("no notification item: %w", ErrUnmappable)
		}
		first := items[0]
		ev := Event{
			ID:      adyenItemID(first),
			Type:    strings.ToLower(first.values[adyenEventCode]),
			Subject: first.values[adyenMerchantReference],
			Time:    first.eventDate,
		}
		// A batch of several is one event: its type is their common event code, else "batch";
		// its id names every item; its subject is their common merchantReference, if any.
		if len(items) > 1 {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = adyenItemID(it)
				if !strings.EqualFold(it.values[adyenEventCode], first.values[adyenEventCode]) {
					ev.Type = "batch"
				}
				if it.values[adyenMerchantReference] != ev.Subject {
					ev.Subject = ""
				}
			}
			ev.ID = "batch-" + hex.EncodeToString(lengthPrefixedHash(ids))
		}
		if first.values[adyenEventCode] == "" {
			return ev, fmt.Errorf("no eventCode: %w", ErrUnmappable)
		}
		return ev, nil
	},

	SignBody: adyenSignBody,
	Sign: signInsideBody(func(creds Credentials, body []byte) error {
		_, err := adyenAuthenticate(Request{Body: body}, creds)
		return err
	}, "Adyen signs inside the body: each item's "+adyenSignaturePath+" must be the base64 HMAC-SHA256, keyed with the hex-decoded key, of "+adyenSignedFieldsOf),

	Load: LoadProfile{
		DefaultType: "authorisation",
		Example: func(eventType, run string, n uint64, now time.Time) Example {
			num := strconv.FormatUint(n, 10)
			psp := strings.ReplaceAll("LOAD"+run+"N"+num, ":", "_")
			code := strings.ToUpper(eventType)
			ref := "load-" + strings.ReplaceAll(run, ":", "_") + "-" + num
			signed := psp + "::LoadMerchant:" + ref + ":1130:EUR:" + code + ":true"
			m := hmac.New(sha256.New, []byte(demoSigningSecret))
			m.Write([]byte(signed))
			body := `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"` +
				base64.StdEncoding.EncodeToString(m.Sum(nil)) + `"},"amount":{"currency":"EUR","value":1130},"eventCode":"` + code +
				`","eventDate":"` + now.UTC().Format(time.RFC3339) + `","merchantAccountCode":"LoadMerchant","merchantReference":"` + ref +
				`","paymentMethod":"visa","pspReference":"` + psp + `","success":"true"}}]}`
			return Example{Body: []byte(body), ID: psp + ":" + code}
		},
	},
}

// adyenItem is what the bridge reads of one NotificationRequestItem.
type adyenItem struct {
	values    [len(adyenSignedPaths)]string
	signature string // additionalData.hmacSignature; "" when absent
	eventDate time.Time
}

// signed is the text the item's signature covers.
func (it adyenItem) signed() string { return strings.Join(it.values[:], ":") }

// adyenItemID is an item's id: its pspReference and eventCode, both signed.
func adyenItemID(it adyenItem) string {
	return it.values[adyenPSPReference] + ":" + it.values[adyenEventCode]
}

// adyenAuthenticate verifies every item of the batch: one item that fails fails the request.
func adyenAuthenticate(req Request, creds Credentials) (Proof, error) {
	items, err := adyenItems(req.Body)
	if err != nil {
		return Proof{}, err
	}
	signed := make([]string, len(items))
	unsigned := 0
	for i, it := range items {
		signed[i] = it.signed()
		if it.signature == "" {
			unsigned++
		}
	}
	switch {
	case unsigned == len(items):
		return Proof{}, withDiagnosis(fmt.Errorf("%s: %w", adyenSignaturePath, ErrMissingProof),
			"no notification item carries %s: enable HMAC signing for this webhook in the Customer Area", adyenSignaturePath)
	case unsigned > 0:
		return Proof{}, withDiagnosis(fmt.Errorf("%d of %d items without %s: %w", unsigned, len(items), adyenSignaturePath, ErrMalformedProof),
			"%d of the %d notification items carry no %s; every item must be signed", unsigned, len(items), adyenSignaturePath)
	}
	keys := adyenKeys(creds.Secrets)
	for i, it := range items {
		given, err := decodeBase64(strings.TrimSpace(it.signature))
		if err != nil {
			return Proof{}, withDiagnosis(fmt.Errorf("item %d: %s: %w", i, adyenSignaturePath, err),
				"the %s of notification item %d is not base64", adyenSignaturePath, i)
		}
		if !anySecret(keys, given, func(k string) []byte { return macOf(sha256.New, k, []byte(signed[i])) }) {
			err := fmt.Errorf("item %d: %s: %w", i, adyenSignaturePath, ErrBadSignature)
			if len(given) != sha256.Size {
				return Proof{}, withDiagnosis(err, "%s", wrongLength(adyenSignaturePath, len(given), sha256.Size))
			}
			return Proof{}, withDiagnosis(err, "notification item %d: no configured HMAC key matches (%d tried); the key is used hex-decoded", i, len(keys))
		}
	}
	// A retry or a resend of the batch is recognised by the signed values alone.
	return Proof{Signed: []byte(strings.Join(lengthPrefixed(signed), ""))}, nil
}

// adyenKeys are the endpoint's keys hex-decoded, as raw strings for anySecret; a secret that is
// not hex (CheckCredentials refuses it at start) becomes a key nothing matches.
func adyenKeys(secrets []string) []string {
	keys := make([]string, len(secrets))
	for i, s := range secrets {
		if b, err := hex.DecodeString(strings.TrimSpace(s)); err == nil {
			keys[i] = string(b)
		} else {
			keys[i] = "\x00not hex\x00" + strconv.Itoa(i)
		}
	}
	return keys
}

// adyenItems reads every NotificationRequestItem of body. A body that is not a JSON object, or
// has no items, carries no proof; an item that cannot be read is malformed.
func adyenItems(body []byte) ([]adyenItem, error) {
	f, err := scanFields(body, adyenItemsField)
	if err != nil {
		return nil, withDiagnosis(fmt.Errorf("body is not a JSON object: %w", ErrMissingProof),
			"the body is not a JSON object, so it carries no Adyen notification items")
	}
	var raws []json.RawMessage
	if f[0] == nil || string(f[0]) == "null" {
		return nil, withDiagnosis(fmt.Errorf("%s: %w", adyenItemsField, ErrMissingProof), "the body has no %s", adyenItemsField)
	}
	if err := json.Unmarshal(f[0], &raws); err != nil {
		return nil, withDiagnosis(fmt.Errorf("%s is not an array: %w", adyenItemsField, ErrMalformedProof), "%s is not an array", adyenItemsField)
	}
	if len(raws) == 0 {
		return nil, withDiagnosis(fmt.Errorf("%s is empty: %w", adyenItemsField, ErrMissingProof), "%s is empty", adyenItemsField)
	}
	items := make([]adyenItem, len(raws))
	for i, raw := range raws {
		if items[i], err = adyenReadItem(raw); err != nil {
			return nil, withDiagnosis(fmt.Errorf("item %d: %w", i, err), "notification item %d: %s", i, Diagnosis(err))
		}
	}
	return items, nil
}

// adyenReadItem reads one element of notificationItems.
func adyenReadItem(raw []byte) (adyenItem, error) {
	var it adyenItem
	wrapper, err := scanFields(raw, adyenItemField)
	if err != nil || wrapper[0] == nil {
		return it, withDiagnosis(fmt.Errorf("no %s: %w", adyenItemField, ErrMalformedProof), "it has no %s object", adyenItemField)
	}
	item := wrapper[0]
	f, err := scanFields(item, adyenSignedPaths[:]...)
	if err != nil {
		return it, withDiagnosis(fmt.Errorf("%s is not an object: %w", adyenItemField, ErrMalformedProof), "%s is not an object", adyenItemField)
	}
	for j, path := range adyenSignedPaths {
		value, ok := adyenScalar(f[j])
		if !ok {
			return it, withDiagnosis(fmt.Errorf("%s is not a string or number: %w", path, ErrMalformedProof), "%s is not a string or a number", path)
		}
		// The signature joins the values with ":" and escapes nothing, so it would cover the
		// same text if a ":" moved between neighbours. Adyen writes no ":" in these values
		// (references, amounts, codes): refusing one keeps the id, the type and the amount
		// where Adyen put them. merchantAccountCode and merchantReference are the merchant's.
		if j != adyenMerchantAccount && j != adyenMerchantReference && strings.Contains(value, ":") {
			return it, withDiagnosis(fmt.Errorf("%s holds a colon: %w", path, ErrMalformedProof),
				"%s holds a \":\", which Adyen never writes there and which would let the signed values shift", path)
		}
		it.values[j] = value
	}
	g, _ := scanFields(item, adyenSignaturePath, adyenEventDatePath)
	if g[0] != nil && string(g[0]) != "null" {
		sig, isString := jsonString(g[0])
		if !isString {
			return it, withDiagnosis(fmt.Errorf("%s is not a string: %w", adyenSignaturePath, ErrMalformedProof), "%s is not a string", adyenSignaturePath)
		}
		it.signature = sig
	}
	if date, ok := jsonString(g[1]); ok {
		if t, err := time.Parse(time.RFC3339, date); err == nil {
			it.eventDate = t.UTC()
		}
	}
	return it, nil
}

// adyenScalar is a signed value's text as Adyen's libraries read it: a string's characters, a
// number's or a boolean's literal, "" for null or absent; ok is false for an object or array.
func adyenScalar(raw []byte) (string, bool) {
	switch s := string(raw); {
	case raw == nil || s == "null":
		return "", true
	case s == "true" || s == "false":
		return s, true
	}
	text, ok := jsonScalarText(raw)
	return string(text), ok
}

// lengthPrefixed writes each string after its length, so that no two lists run together alike.
func lengthPrefixed(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Itoa(len(s)) + ":" + s
	}
	return out
}

// lengthPrefixedHash is the SHA-256 of list, each string after its length.
func lengthPrefixedHash(list []string) []byte {
	sum := sha256.Sum256([]byte(strings.Join(lengthPrefixed(list), "")))
	return sum[:]
}

// checkAdyenKeys: Adyen's HMAC keys are hexadecimal, and are used hex-decoded.
func checkAdyenKeys(creds Credentials) error {
	if err := needSecret(creds); err != nil {
		return err
	}
	var problems []error
	for i, s := range creds.Secrets {
		if _, err := hex.DecodeString(strings.TrimSpace(s)); err != nil {
			problems = append(problems, fmt.Errorf("secrets[%d]: not hexadecimal: Adyen's HMAC key is written in hex (Customer Area, Developers > Webhooks), and used hex-decoded", i))
		}
	}
	return errors.Join(problems...)
}
