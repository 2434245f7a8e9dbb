package providers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Senders that carry their MAC inside the body (Mailgun, Adyen) are signed by rewriting the body:
// `bridge sign` and `bridge send` then speak them as they speak every other sender.

// decodeObject reads body as a JSON object, numbers kept as written.
func decodeObject(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	return m, nil
}

// mailgunSignBody gives body a fresh signature block: timestamp now, the body's token (or a new
// one), and the hex HMAC-SHA256 of timestamp + token with the first secret.
func mailgunSignBody(creds Credentials, body []byte, now time.Time) ([]byte, error) {
	secret, err := firstSecret(creds)
	if err != nil {
		return nil, err
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("mailgun: %w", err)
	}
	sig, _ := m["signature"].(map[string]any)
	if sig == nil {
		sig = map[string]any{}
	}
	token, _ := sig["token"].(string)
	if token == "" {
		b := make([]byte, 25)
		_, _ = rand.Read(b)
		token = hex.EncodeToString(b) // 50 characters, as Mailgun's are
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig["timestamp"], sig["token"] = ts, token
	sig["signature"] = hexMAC(sha256.New, secret, []byte(ts+token))
	m["signature"] = sig
	return json.Marshal(m)
}

// adyenSignBody signs every notification item of body with the first key (hex-decoded).
func adyenSignBody(creds Credentials, body []byte, _ time.Time) ([]byte, error) {
	if len(creds.Secrets) == 0 {
		return nil, errors.New("adyen: no key to sign with")
	}
	key := adyenKeys(creds.Secrets[:1])[0]
	items, err := adyenItems(body)
	if err != nil {
		return nil, fmt.Errorf("adyen: %w", err)
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, fmt.Errorf("adyen: %w", err)
	}
	list, _ := m["notificationItems"].([]any)
	if len(list) != len(items) {
		return nil, errors.New("adyen: notificationItems cannot be signed")
	}
	for i, it := range items {
		wrapper, _ := list[i].(map[string]any)
		item, _ := wrapper["NotificationRequestItem"].(map[string]any)
		if item == nil {
			return nil, fmt.Errorf("adyen: item %d is no NotificationRequestItem", i)
		}
		extra, _ := item["additionalData"].(map[string]any)
		if extra == nil {
			extra = map[string]any{}
		}
		extra["hmacSignature"] = base64.StdEncoding.EncodeToString(macOf(sha256.New, key, []byte(it.signed())))
		item["additionalData"] = extra
	}
	return json.Marshal(m)
}
