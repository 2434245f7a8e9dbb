package providers

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Auth0's documentation ("Create Custom Log Streams Using Webhooks",
// https://auth0.com/docs/customize/log-streams/custom-log-streams): the stream's Authorization
// Token is set in the Authorization header as written; the Content Format is JSON Lines, JSON
// Array or JSON Object. testdata/auth0 holds logs in the shape of "Log event type codes" and of
// what a stream delivers ({"log_id": …, "data": {…}}): one log (JSON Object), a batch as an array
// and the same batch as JSON lines.

const auth0TestToken = "Bearer f0a1-stream-token" // "Bearer " included because the admin typed it

func auth0Example(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "auth0", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func auth0Request(token string, body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", token)
	return Request{Method: http.MethodPost, Header: h, Body: body}
}

func TestAuth0Authenticate(t *testing.T) {
	cases := append(tokenAuthCases(t, Auth0AuthorizationHeader),
		authCase{name: "the token without the Bearer the admin typed", modify: func(r *Request) {
			r.Header.Set("Authorization", "f0a1-stream-token")
		}, wantErr: ErrBadCredentials},
		authCase{name: "bearer in lower case", modify: func(r *Request) {
			r.Header.Set("Authorization", "bearer f0a1-stream-token")
		}, wantErr: ErrBadCredentials},
		authCase{name: "a token configured without Bearer matches only without it",
			creds:  secrets("f0a1-stream-token"),
			modify: func(r *Request) { r.Header.Set("Authorization", "f0a1-stream-token") }},
	)
	runAuthCases(t, Auth0, auth0Request(auth0TestToken, auth0Example(t, "login_success.json")), Credentials{Secrets: []string{auth0TestToken}}, cases)
}

func TestAuth0Map(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want Event
	}{
		{
			name: "JSON Object: one successful login",
			body: auth0Example(t, "login_success.json"),
			want: Event{Type: "log.s", ID: "90020240502091244101000000000000001223372036854775807", Subject: "auth0|662f1c2b3a4d5e6f70819203",
				Time: time.Date(2024, 5, 2, 9, 12, 44, 101e6, time.UTC)},
		},
		{
			name: "JSON Array: a batch, its id the body's hash",
			body: auth0Example(t, "batch.json"),
			want: Event{Type: "logs"},
		},
		{
			name: "JSON Lines: the same batch",
			body: auth0Example(t, "lines.jsonl"),
			want: Event{Type: "logs"},
		},
		{
			name: "an array of one log is a batch too",
			body: []byte(`[{"log_id":"1","data":{"type":"f"}}]`),
			want: Event{Type: "logs"},
		},
		{
			name: "an empty array",
			body: []byte(` [] `),
			want: Event{Type: "logs"},
		},
		{
			name: "a pretty-printed object is one log",
			body: []byte("{\n  \"data\": {\"type\": \"FAPI\", \"log_id\": \"inner\"}\n}\n"),
			want: Event{Type: "log.fapi", ID: "inner"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Auth0.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestAuth0MapUnmappable(t *testing.T) {
	for name, body := range map[string]string{
		"no data.type":     `{"log_id":"1","data":{"description":"x"}}`,
		"broken array":     `[{"log_id":"1"}`,
		"one line of junk": "{\"log_id\":\"1\"}\nnot json\n",
		"a string":         `"s"`,
		"empty":            ``,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Auth0.Map(Request{Header: http.Header{}, Body: []byte(body)}); !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want ErrUnmappable", err)
			}
		})
	}
}

// TestAuth0Duplicate: Auth0 retries a delivery up to three times with the same body: the same
// event (for a batch, the same body and so the same hash the bridge makes its id).
func TestAuth0Duplicate(t *testing.T) {
	creds := Credentials{Secrets: []string{auth0TestToken}}
	for _, name := range []string{"login_success.json", "batch.json"} {
		t.Run(name, func(t *testing.T) {
			var got []Event
			for range 2 {
				v, err := Auth0.Verify(auth0Request(auth0TestToken, auth0Example(t, name)), creds)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := v.Map()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev)
				if string(v.SignedBody()) != string(auth0Example(t, name)) {
					t.Error("the body the bridge keeps is not the raw body")
				}
			}
			if got[0] != got[1] {
				t.Errorf("a retry maps to %+v, the original to %+v", got[1], got[0])
			}
		})
	}
}

func TestAuth0Sign(t *testing.T) {
	h, err := Auth0.Sign(Credentials{Secrets: []string{auth0TestToken, "other"}}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("Authorization"); got != auth0TestToken {
		t.Errorf("Authorization = %q, want the first secret as written", got)
	}
	if Auth0.Success.Status != http.StatusOK || Auth0.Rejection.Status != http.StatusUnauthorized || Auth0.TypePrefix != "com.auth0" || Auth0.Handshake != nil {
		t.Errorf("Auth0 declares %d, %d, %s", Auth0.Success.Status, Auth0.Rejection.Status, Auth0.TypePrefix)
	}
}
