package providers

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Okta's documentation ("Event hooks", https://developer.okta.com/docs/concepts/event-hooks/, and
// the event hook guide): the hook's authentication secret is sent as typed in the header named
// by its authentication field (Authorization); the one-time verification is a GET with
// X-Okta-Verification-Challenge, answered 200 with {"verification": <the challenge>}; events come
// in data.events[]. testdata/okta/user_session_start.json follows the guide's sample request
// (eventType com.okta.event_hook, eventId b5a188b9-…, one user.session.start event).

const oktaTestSecret = "Bearer okta-hook-3f9c" // what the admin typed as the authentication secret

func oktaExample(t testing.TB) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "okta", "user_session_start.json"))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func oktaRequest(secret string, body []byte) Request {
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", secret)
	return Request{Method: http.MethodPost, Header: h, Body: body}
}

func TestOktaAuthenticate(t *testing.T) {
	cases := append(tokenAuthCases(t, OktaAuthorizationHeader),
		authCase{name: "the secret without the scheme word the admin typed", modify: func(r *Request) {
			r.Header.Set("Authorization", "okta-hook-3f9c")
		}, wantErr: ErrBadCredentials},
	)
	runAuthCases(t, Okta, oktaRequest(oktaTestSecret, oktaExample(t)), Credentials{Secrets: []string{oktaTestSecret}}, cases)
}

func TestOktaHandshake(t *testing.T) {
	creds := Credentials{Secrets: []string{"old", oktaTestSecret}}
	get := func(modify func(h http.Header)) Request {
		h := http.Header{}
		h.Set("X-Okta-Verification-Challenge", "x6Bd2J3m-M0Q8qP_wZaTmAbcdEfg")
		h.Set("Authorization", oktaTestSecret)
		if modify != nil {
			modify(h)
		}
		return Request{Method: http.MethodGet, URI: "/webhooks/okta", Header: h}
	}
	tests := []struct {
		name       string
		req        Request
		handled    bool
		wantStatus int
		wantBody   string
	}{
		{name: "verification with the secret", req: get(nil), handled: true, wantStatus: 200, wantBody: `{"verification":"x6Bd2J3m-M0Q8qP_wZaTmAbcdEfg"}`},
		{name: "challenge needing JSON escapes", req: get(func(h http.Header) { h.Set("X-Okta-Verification-Challenge", `a"b\c`) }),
			handled: true, wantStatus: 200, wantBody: `{"verification":"a\"b\\c"}`},
		{name: "no Authorization", req: get(func(h http.Header) { h.Del("Authorization") }), handled: true, wantStatus: 401},
		{name: "wrong Authorization", req: get(func(h http.Header) { h.Set("Authorization", "Bearer guess") }), handled: true, wantStatus: 401},
		{name: "Authorization twice", req: get(func(h http.Header) { h.Add("Authorization", oktaTestSecret) }), handled: true, wantStatus: 401},
		{name: "GET without a challenge: not a handshake (405)", req: get(func(h http.Header) { h.Del("X-Okta-Verification-Challenge") })},
		{name: "POST with a challenge header: an event, not a handshake", req: func() Request {
			r := get(nil)
			r.Method = http.MethodPost
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer, handled := Okta.Handshake(tt.req, creds)
			if handled != tt.handled {
				t.Fatalf("handled = %t, want %t", handled, tt.handled)
			}
			if !handled {
				return
			}
			if answer.Status != tt.wantStatus {
				t.Errorf("status %d, want %d", answer.Status, tt.wantStatus)
			}
			if tt.wantBody != "" {
				if string(answer.Body) != tt.wantBody || answer.ContentType != "application/json" {
					t.Errorf("answer %s (%s), want %s", answer.Body, answer.ContentType, tt.wantBody)
				}
				var v struct{ Verification string }
				if err := json.Unmarshal(answer.Body, &v); err != nil || v.Verification != tt.req.Header.Get("X-Okta-Verification-Challenge") {
					t.Errorf("verification %q (%v), want the challenge", v.Verification, err)
				}
			} else if len(answer.Body) != 0 {
				t.Errorf("a refused verification answers %s", answer.Body)
			}
		})
	}
}

func TestOktaMap(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "the guide's sample: one user.session.start, subject the actor",
			body: oktaExample(t),
			want: Event{Type: "user.session.start", ID: "b5a188b9-5ece-4636-b041-482ffda96311", Subject: "00u1qw1mqitPHM8AJ0g7",
				Time: time.Date(2019, 3, 27, 16, 59, 53, 32e6, time.UTC)},
		},
		{
			name: "a batch: the first event names it; its first target is the subject",
			body: []byte(`{"eventType":"com.okta.event_hook","eventId":"e-2","eventTime":"2023-10-27T16:22:53.770Z","data":{"events":[` +
				`{"uuid":"1","eventType":"group.user_membership.add","actor":{"id":"00uAdmin"},"target":[{"id":"00ufh433fil4JtjEw4x7","type":"User"},{"id":"00g3vcxkvkIPY52jL4x7","type":"UserGroup"}]},` +
				`{"uuid":"2","eventType":"user.lifecycle.create","actor":{"id":"00uAdmin"}}]}}`),
			want: Event{Type: "group.user_membership.add", ID: "e-2", Subject: "00ufh433fil4JtjEw4x7", Time: time.Date(2023, 10, 27, 16, 22, 53, 770e6, time.UTC)},
		},
		{
			name: "event type lower-cased, no time, no subject",
			body: []byte(`{"eventId":"e-3","data":{"events":[{"eventType":"User.Account.Lock"}]}}`),
			want: Event{Type: "user.account.lock", ID: "e-3"},
		},
		{
			name: "odd actor and target kinds are no subject",
			body: []byte(`{"eventId":"e-4","eventTime":"yesterday","data":{"events":[{"eventType":"x.y","actor":"me","target":{"id":"t"}}]}}`),
			want: Event{Type: "x.y", ID: "e-4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Okta.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestOktaMapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"no events":          `{"eventId":"e-1","data":{"events":[]}}`,
		"no data":            `{"eventId":"e-1"}`,
		"events not a list":  `{"eventId":"e-1","data":{"events":{"eventType":"a.b"}}}`,
		"first has no type":  `{"eventId":"e-1","data":{"events":[{"uuid":"1"},{"eventType":"a.b"}]}}`,
		"first not a object": `{"eventId":"e-1","data":{"events":["a.b"]}}`,
		"type not a string":  `{"eventId":"e-1","data":{"events":[{"eventType":7}]}}`,
		"not JSON":           `eventType=a.b`,
		"a list":             `[{"eventType":"a.b"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Okta.Map(Request{Header: http.Header{}, Body: []byte(body)}); !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want ErrUnmappable", err)
			}
		})
	}
}

// TestOktaDuplicate: the same delivery twice is the same event; a different delivery is another.
func TestOktaDuplicate(t *testing.T) {
	creds := Credentials{Secrets: []string{oktaTestSecret}}
	mapOf := func(body []byte) Event {
		v, err := Okta.Verify(oktaRequest(oktaTestSecret, body), creds)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := v.Map()
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	body := oktaExample(t)
	if a, b := mapOf(body), mapOf(body); a != b {
		t.Errorf("a retry maps to %+v, the original to %+v", b, a)
	}
	other := Okta.Load.Example("user.session.start", "t", 1, time.Unix(0, 0))
	if mapOf(other.Body).ID == mapOf(body).ID {
		t.Error("two deliveries share an id")
	}
}

func TestOktaSign(t *testing.T) {
	h, err := Okta.Sign(Credentials{Secrets: []string{oktaTestSecret, "other"}}, oktaExample(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("Authorization"); got != oktaTestSecret {
		t.Errorf("Authorization = %q, want the first secret as written", got)
	}
	if Okta.Success.Status != http.StatusOK || Okta.Rejection.Status != http.StatusUnauthorized || Okta.TypePrefix != "com.okta" {
		t.Errorf("Okta declares %d, %d, %s", Okta.Success.Status, Okta.Rejection.Status, Okta.TypePrefix)
	}
}
