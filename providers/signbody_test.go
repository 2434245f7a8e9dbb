package providers

import (
	"testing"
	"time"
)

// TestSignBody: a body re-signed for a sender that signs inside it verifies with that secret
// only, whatever it was signed with before.
func TestSignBody(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		p      *Provider
		secret string // as configured: Adyen's key is hex
		other  string
	}{
		{Mailgun, "key-0123456789", "key-other"},
		{Adyen, "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056", "00"},
	} {
		t.Run(tc.p.Name, func(t *testing.T) {
			ex := tc.p.Load.Example(tc.p.Load.DefaultType, "sign", 1, now)
			creds := Credentials{Secrets: []string{tc.secret}}
			body, err := tc.p.SignBody(creds, ex.Body, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tc.p.Verify(Request{Body: body, Received: now}, creds); err != nil {
				t.Errorf("re-signed body: %v", err)
			}
			if _, err := tc.p.Verify(Request{Body: body, Received: now}, Credentials{Secrets: []string{tc.other}}); err == nil {
				t.Error("re-signed body verifies with another secret")
			}
			if _, err := tc.p.Sign(creds, body, now); err != nil {
				t.Errorf("Sign after SignBody: %v", err)
			}
		})
	}
}
