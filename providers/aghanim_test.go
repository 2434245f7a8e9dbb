package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Aghanim's documentation ("Handle webhooks", docs/providers/aghanim.md): X-Aghanim-Signature is the hex
// HMAC-SHA256, keyed with the S2S key, of "{X-Aghanim-Signature-Timestamp}.{raw payload}".

const aghanimTestSecret = "aghanim-s2s-key"

// aghanimSignature computes the signature the way the documentation's Go sample does, with no
// help from the code under test.
func aghanimSignature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "." + string(body)))
	return hex.EncodeToString(mac.Sum(nil))
}

// aghanimExample reads a body from testdata/aghanim.
func aghanimExample(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "aghanim", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// aghanimRequest is body as Aghanim sends it, signed with secret at timestamp.
func aghanimRequest(secret, timestamp string, body []byte) Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Aghanim/0.1.0")
	h.Set("X-Aghanim-Signature-Timestamp", timestamp)
	h.Set("X-Aghanim-Signature", aghanimSignature(secret, timestamp, body))
	return Request{Header: h, Body: body}
}

func TestAghanimAuthenticate(t *testing.T) {
	body := aghanimExample(t, "player_update.json")
	const ts = "1725548450" // the example's event_time, as the documentation pairs them

	cases := commonAuthCases(proofSpec{
		header:      AghanimSignatureHeader,
		otherSecret: "not-the-key",
		undecodable: strings.Repeat("zz", 32),
		tamper: func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "2D2R-OP3C", "2D2R-OP3D", 1))
		},
	})
	cases = append(cases, []authCase{
		{
			name:    "body with a trailing newline",
			modify:  func(r *Request) { r.Body = append(r.Body, '\n') },
			wantErr: ErrBadSignature,
		},
		{
			// A signature is there, so the request is not "unsigned" even where unsigned
			// requests are allowed.
			name:    "missing timestamp header",
			modify:  func(r *Request) { r.Header.Del("X-Aghanim-Signature-Timestamp") },
			wantErr: ErrMalformedProof,
		},
		{
			name: "no signature and no timestamp",
			modify: func(r *Request) {
				r.Header.Del("X-Aghanim-Signature")
				r.Header.Del("X-Aghanim-Signature-Timestamp")
			},
			wantErr: ErrMissingProof,
		},
		{
			// The genuine signature covers "{ts}.{P}.{Q}" whichever way it is split: moving P
			// out of the body into the header would make the body Q a new (unmapped) event.
			name: "bytes moved from the body into the timestamp",
			modify: func(r *Request) {
				ts, body := moveIntoTimestamp(t, r.Header.Get("X-Aghanim-Signature-Timestamp"), r.Body)
				if aghanimSignature(aghanimTestSecret, ts, body) != r.Header.Get("X-Aghanim-Signature") {
					t.Fatal("the moved bytes do not sign the same")
				}
				r.Header.Set("X-Aghanim-Signature-Timestamp", ts)
				r.Body = body
			},
			wantErr: ErrMalformedProof,
		},
		// Timestamps other than 1 to 19 ASCII digits, each signed right: only the rule refuses them.
		{name: "timestamp with a sign", modify: resignAghanim("+1725548450"), wantErr: ErrMalformedProof},
		{name: "negative timestamp", modify: resignAghanim("-1"), wantErr: ErrMalformedProof},
		{name: "timestamp with a space inside", modify: resignAghanim("1725 548450"), wantErr: ErrMalformedProof},
		{name: "timestamp with a letter", modify: resignAghanim("12a"), wantErr: ErrMalformedProof},
		{name: "timestamp with a fraction", modify: resignAghanim("1725548450.5"), wantErr: ErrMalformedProof},
		{name: "timestamp of 20 digits", modify: resignAghanim("17255484501725548450"), wantErr: ErrMalformedProof},
		{name: "timestamp empty", modify: resignAghanim(""), wantErr: ErrMalformedProof},
		{name: "timestamp of 19 digits", modify: resignAghanim("1725548450172554845")},
		{name: "timestamp padded with space (HTTP trims it)", modify: resignAghanim(" 1725548450 ")},
		{
			name:    "timestamp changed",
			modify:  func(r *Request) { r.Header.Set("X-Aghanim-Signature-Timestamp", "1725548451") },
			wantErr: ErrBadSignature,
		},
		{
			name: "signature over the body alone",
			modify: func(r *Request) {
				mac := hmac.New(sha256.New, []byte(aghanimTestSecret))
				mac.Write(r.Body)
				r.Header.Set("X-Aghanim-Signature", hex.EncodeToString(mac.Sum(nil)))
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "odd number of hex digits",
			modify: func(r *Request) {
				r.Header.Set("X-Aghanim-Signature", r.Header.Get("X-Aghanim-Signature")[:63])
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "prefixed signature",
			modify: func(r *Request) {
				r.Header.Set("X-Aghanim-Signature", "sha256="+r.Header.Get("X-Aghanim-Signature"))
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "signature of wrong length: truncated",
			modify: func(r *Request) {
				r.Header.Set("X-Aghanim-Signature", r.Header.Get("X-Aghanim-Signature")[:62])
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "signature of wrong length: extended",
			modify: func(r *Request) {
				r.Header.Set("X-Aghanim-Signature", r.Header.Get("X-Aghanim-Signature")+"00")
			},
			wantErr: ErrBadSignature,
		},
		{
			name: "upper-case hex accepted",
			modify: func(r *Request) {
				r.Header.Set("X-Aghanim-Signature", strings.ToUpper(r.Header.Get("X-Aghanim-Signature")))
			},
		},
		{
			name: "duplicate signature header, the second by another key",
			modify: func(r *Request) {
				r.Header.Add("X-Aghanim-Signature", aghanimSignature("not-the-key", ts, r.Body))
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "duplicate timestamp header",
			modify: func(r *Request) {
				r.Header.Add("X-Aghanim-Signature-Timestamp", "1725548451")
			},
			wantErr: ErrMalformedProof,
		},
		{
			name: "old timestamp accepted: no age check",
			modify: func(r *Request) {
				*r = aghanimRequest(aghanimTestSecret, "1000000000", r.Body) // 2001-09-09
			},
		},
		{
			name: "empty body, signed",
			modify: func(r *Request) {
				*r = aghanimRequest(aghanimTestSecret, ts, nil)
			},
		},
	}...)
	runAuthCases(t, Aghanim, aghanimRequest(aghanimTestSecret, ts, body), Credentials{Secrets: []string{aghanimTestSecret}}, cases)
}

// resignAghanim replaces the request's timestamp with ts and signs it afresh, the way the
// documentation's sample would (over the value as trimmed, as HTTP delivers it).
func resignAghanim(ts string) func(r *Request) {
	return func(r *Request) {
		*r = aghanimRequest(aghanimTestSecret, strings.TrimSpace(ts), r.Body)
		r.Header.Set("X-Aghanim-Signature-Timestamp", ts)
	}
}

// moveIntoTimestamp is moveIntoTimestampAt for the "." of "{timestamp}.{body}".
func moveIntoTimestamp(t *testing.T, ts string, body []byte) (string, []byte) {
	t.Helper()
	return moveIntoTimestampAt(t, ts, body, ".")
}

// TestAghanimTimestampTolerance: with timestamp_tolerance set, a timestamp further than it from
// the time of receipt, either way, is stale; unset, any age passes (the timestamp is event_time,
// and retries carry the original).
func TestAghanimTimestampTolerance(t *testing.T) {
	body := aghanimExample(t, "player_update.json")
	received := time.Unix(1725548450, 0)
	at := func(d time.Duration) string { return strconv.FormatInt(received.Add(d).Unix(), 10) }
	tests := []struct {
		name      string
		tolerance time.Duration // 0: unset
		ts        string
		secret    string // "": the right one
		wantErr   error
	}{
		{name: "unset: a year old", ts: at(-365 * 24 * time.Hour)},
		{name: "unset: a day ahead", ts: at(24 * time.Hour)},
		{name: "unset: 19 digits", ts: "9999999999999999999"},
		{name: "5m: now", tolerance: 5 * time.Minute, ts: at(0)},
		{name: "5m: 5 minutes old", tolerance: 5 * time.Minute, ts: at(-5 * time.Minute)},
		{name: "5m: 5 minutes ahead", tolerance: 5 * time.Minute, ts: at(5 * time.Minute)},
		{name: "5m: 5 minutes 1 second old", tolerance: 5 * time.Minute, ts: at(-5*time.Minute - time.Second), wantErr: ErrStaleTimestamp},
		{name: "5m: 5 minutes 1 second ahead", tolerance: 5 * time.Minute, ts: at(5*time.Minute + time.Second), wantErr: ErrStaleTimestamp},
		{name: "5m: 19 digits", tolerance: 5 * time.Minute, ts: "9999999999999999999", wantErr: ErrStaleTimestamp},
		{name: "5m: zero", tolerance: 5 * time.Minute, ts: "0", wantErr: ErrStaleTimestamp},
		{name: "5m: an old timestamp wrongly signed is a bad signature", tolerance: 5 * time.Minute, ts: at(-time.Hour), secret: "not-the-key", wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := map[string]any{}
			if tt.tolerance != 0 {
				settings["timestamp_tolerance"] = tt.tolerance
			}
			configured, err := Aghanim.Configure("shop", Credentials{}, settingsOf(settings))
			if err != nil {
				t.Fatal(err)
			}
			secret := aghanimTestSecret
			if tt.secret != "" {
				secret = tt.secret
			}
			req := aghanimRequest(secret, tt.ts, body)
			req.Received = received
			_, err = Aghanim.Verify(req, Credentials{Secrets: []string{aghanimTestSecret}, Settings: configured.Value})
			checkAuthError(t, err, tt.wantErr)
		})
	}
}

func TestAghanimConfigure(t *testing.T) {
	if !slices.Contains(Aghanim.SettingKeys, "timestamp_tolerance") {
		t.Errorf("SettingKeys %v lack timestamp_tolerance", Aghanim.SettingKeys)
	}
	for name, tolerance := range map[string]time.Duration{"zero": 0, "negative": -time.Minute} {
		_, err := Aghanim.Configure("shop", Credentials{}, settingsOf(map[string]any{"timestamp_tolerance": tolerance}))
		if err == nil || !strings.HasPrefix(err.Error(), "timestamp_tolerance: ") {
			t.Errorf("%s tolerance: %v, want an error naming timestamp_tolerance", name, err)
		}
	}
}

func TestAghanimAuthenticateExamples(t *testing.T) {
	for _, name := range []string{"player_update.json", "player_verify.json", "store_get.json", "payment_succeeded.json", "testing.json"} {
		t.Run(name, func(t *testing.T) {
			req := aghanimRequest(aghanimTestSecret, "1725548450", aghanimExample(t, name))
			if _, err := Aghanim.Authenticate(req, Credentials{Secrets: []string{aghanimTestSecret}}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAghanimMap(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		header http.Header
		want   Event
	}{
		{
			name: "player.update (documented example)",
			body: aghanimExample(t, "player_update.json"),
			want: Event{
				Type:    "player.update",
				ID:      "whevt_eCacGbJVbvToOgzjXUgOCitkQE",
				Subject: "2D2R-OP3C",
				Time:    time.Date(2024, 9, 5, 15, 0, 50, 0, time.UTC),
			},
		},
		{
			name: "player.verify",
			body: aghanimExample(t, "player_verify.json"),
			want: Event{
				Type:    "player.verify",
				ID:      "whevt_eAfPkVqR7sLmN2",
				Subject: "2D2R-OP3C",
				Time:    time.Date(2024, 9, 5, 15, 10, 0, 0, time.UTC),
			},
		},
		{
			name: "store.get",
			body: aghanimExample(t, "store_get.json"),
			want: Event{
				Type:    "store.get",
				ID:      "whevt_eAgStGeTq81xYz",
				Subject: "2D2R-OP3C",
				Time:    time.Date(2024, 9, 5, 15, 12, 3, 0, time.UTC),
			},
		},
		{
			name: "payment.succeeded",
			body: aghanimExample(t, "payment_succeeded.json"),
			want: Event{
				Type:    "payment.succeeded",
				ID:      "whevt_eAhPaYmNt5uCcS",
				Subject: "2D2R-OP3C",
				Time:    time.Date(2024, 9, 5, 15, 26, 40, 0, time.UTC),
			},
		},
		{
			name: "Testing request without event_time: zero time (time of receipt)",
			body: aghanimExample(t, "testing.json"),
			want: Event{Type: "player.verify", ID: "whevt_eAeXhOxLwxy", Subject: "testplayer"},
		},
		{
			name: "numeric ids",
			body: []byte(`{"event_id":12345,"event_type":"player.lookup","event_data":{"player_id":42}}`),
			want: Event{Type: "player.lookup", ID: "12345", Subject: "42"},
		},
		{
			name: "event_time as a numeric string",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":"1725548450"}`),
			want: Event{Type: "order.paid", ID: "whevt_1", Time: time.Date(2024, 9, 5, 15, 0, 50, 0, time.UTC)},
		},
		{
			name: "event_time with a fraction",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":1725548450.75}`),
			want: Event{Type: "order.paid", ID: "whevt_1", Time: time.Date(2024, 9, 5, 15, 0, 50, 0, time.UTC)},
		},
		{
			name: "event_time beyond year 9999: time of receipt",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":1e300}`),
			want: Event{Type: "order.paid", ID: "whevt_1"},
		},
		{
			name: "event_time in milliseconds (year 56000): time of receipt",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":1725548450000}`),
			want: Event{Type: "order.paid", ID: "whevt_1"},
		},
		{
			name: "negative event_time: time of receipt",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":-1}`),
			want: Event{Type: "order.paid", ID: "whevt_1"},
		},
		{
			name: "event_time NaN: time of receipt",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":"NaN"}`),
			want: Event{Type: "order.paid", ID: "whevt_1"},
		},
		{
			name: "event_time not a number: time of receipt",
			body: []byte(`{"event_id":"whevt_1","event_type":"order.paid","event_time":"yesterday"}`),
			want: Event{Type: "order.paid", ID: "whevt_1"},
		},
		{
			name: "event_data not an object: no subject",
			body: []byte(`{"event_id":"whevt_1","event_type":"batch.ready","event_data":["x"]}`),
			want: Event{Type: "batch.ready", ID: "whevt_1"},
		},
		{
			name: "event_data null: no subject",
			body: []byte(`{"event_id":"whevt_1","event_type":"batch.ready","event_data":null}`),
			want: Event{Type: "batch.ready", ID: "whevt_1"},
		},
		{
			name: "no event_id: body hash",
			body: []byte(`{"event_type":"order.paid"}`),
			want: Event{Type: "order.paid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Aghanim.Map(Request{Header: http.Header{}, Body: tt.body})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Map = %+v\nwant  %+v", got, tt.want)
			}
			if !got.Time.IsZero() && got.Time.Location() != time.UTC {
				t.Errorf("time %v is not in UTC", got.Time)
			}
		})
	}
}

func TestAghanimMapUnmappable(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", `event_type=player.update`},
		{"empty body", ``},
		{"JSON array", `[{"event_type":"player.update"}]`},
		{"JSON string", `"player.update"`},
		{"null", `null`},
		{"no event_type", `{"event_id":"whevt_1","event_data":{"player_id":"p"}}`},
		{"empty event_type", `{"event_id":"whevt_1","event_type":""}`},
		{"event_type not a string", `{"event_id":"whevt_1","event_type":7}`},
		{"truncated", `{"event_id":"whevt_1","event_type":"player.update"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Aghanim.Map(Request{Header: http.Header{}, Body: []byte(tt.body)})
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v, want %v", err, ErrUnmappable)
			}
		})
	}
}

func TestAghanimDeclaration(t *testing.T) {
	p, ok := Lookup("aghanim")
	if !ok || p != Aghanim {
		t.Fatal(`Lookup("aghanim") does not return Aghanim`)
	}
	if p.TypePrefix != "com.aghanim" {
		t.Errorf("TypePrefix = %q", p.TypePrefix)
	}
	checkAnswer(t, "Success", p.Success, http.StatusOK, `{"status":"ok"}`)
	if p.Rejection.Status != http.StatusForbidden {
		t.Errorf("Rejection status = %d, want 403", p.Rejection.Status)
	}
	for _, want := range []string{"player.verify", "player.lookup", "store.get"} {
		found := false
		for _, e := range p.DefaultReplyEvents {
			found = found || e == want
		}
		if !found {
			t.Errorf("DefaultReplyEvents %v lack %s", p.DefaultReplyEvents, want)
		}
	}
	if p.Handshake != nil {
		t.Error("Aghanim has no handshake")
	}
}

// checkAnswer checks an answer's status and, for a JSON body, the body.
func checkAnswer(t *testing.T, name string, a Answer, status int, body string) {
	t.Helper()
	if a.Status != status || string(a.Body) != body {
		t.Errorf("%s = %d %s, want %d %s", name, a.Status, a.Body, status, body)
	}
	if body != "" && a.ContentType != "application/json" {
		t.Errorf("%s content type = %q, want application/json", name, a.ContentType)
	}
}

func TestAghanimCheckCredentials(t *testing.T) {
	tests := []struct {
		name   string
		creds  Credentials
		wantOK bool
	}{
		{"one secret", Credentials{Secrets: []string{"k"}}, true},
		{"two secrets", Credentials{Secrets: []string{"k1", "k2"}}, true},
		{"no secret", Credentials{}, false},
		{"blank secret", Credentials{Secrets: []string{"k", " "}}, false},
		{"bearer token only", Credentials{BearerTokens: []string{"t"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Aghanim.CheckCredentials(tt.creds); (err == nil) != tt.wantOK {
				t.Errorf("CheckCredentials = %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}

// Sign must produce what Aghanim sends: the documented headers, signed with the first secret.
func TestAghanimSign(t *testing.T) {
	body := aghanimExample(t, "player_update.json")
	now := time.Date(2024, 9, 5, 15, 0, 50, 0, time.UTC)
	h, err := Aghanim.Sign(Credentials{Secrets: []string{aghanimTestSecret, "other"}}, body, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Aghanim-Signature-Timestamp"); got != "1725548450" {
		t.Errorf("timestamp = %q, want 1725548450", got)
	}
	if got, want := h.Get("X-Aghanim-Signature"), aghanimSignature(aghanimTestSecret, "1725548450", body); got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
	if _, err := Aghanim.Sign(Credentials{}, body, now); err == nil {
		t.Error("Sign without a secret succeeded")
	}
}

func FuzzAghanimAuthenticate(f *testing.F) {
	for _, name := range []string{"player_update.json", "testing.json", "store_get.json"} {
		body := aghanimExample(f, name)
		f.Add(body, "1725548450", aghanimSignature(aghanimTestSecret, "1725548450", body))
	}
	f.Add([]byte(`{}`), "", "")
	f.Add([]byte(`{}`), "1", "zz")
	// Bytes of a genuine body moved into its timestamp: the same signed bytes, refused.
	body := aghanimExample(f, "player_update.json")
	p, q, _ := strings.Cut(string(body), ".")
	f.Add([]byte(q), "1725548450."+p, aghanimSignature(aghanimTestSecret, "1725548450", body))
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		creds := Credentials{Secrets: []string{"other", aghanimTestSecret}}
		h := http.Header{}
		h.Set("X-Aghanim-Signature-Timestamp", ts)
		h.Set("X-Aghanim-Signature", sig)
		_, err := Aghanim.Authenticate(Request{Header: h, Body: body}, creds)
		if err != nil && !errors.Is(err, ErrMissingProof) && !errors.Is(err, ErrMalformedProof) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if err == nil && !hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(sig))), []byte(aghanimSignature(aghanimTestSecret, strings.TrimSpace(ts), body))) &&
			!hmac.Equal([]byte(strings.ToLower(strings.TrimSpace(sig))), []byte(aghanimSignature("other", strings.TrimSpace(ts), body))) {
			t.Fatalf("accepted signature %q for timestamp %q", sig, ts)
		}

		if err == nil && !timestampDigits.MatchString(strings.TrimSpace(ts)) {
			t.Fatalf("accepted timestamp %q, which is not 1 to 19 digits", ts)
		}

		// The same request signed correctly is accepted when its timestamp is digits, else
		// malformed; signed by another key, rejected.
		ts = strings.TrimSpace(ts)
		if ts == "" {
			return
		}
		h.Set("X-Aghanim-Signature-Timestamp", ts)
		h.Set("X-Aghanim-Signature", aghanimSignature(aghanimTestSecret, ts, body))
		_, err = Aghanim.Authenticate(Request{Header: h, Body: body}, creds)
		if !timestampDigits.MatchString(ts) {
			if !errors.Is(err, ErrMalformedProof) {
				t.Fatalf("timestamp %q, correctly signed: %v, want ErrMalformedProof", ts, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("correctly signed request rejected: %v", err)
		}
		h.Set("X-Aghanim-Signature", aghanimSignature("a third key", ts, body))
		if _, err := Aghanim.Authenticate(Request{Header: h, Body: body}, creds); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("request signed with an unknown key: %v", err)
		}
	})
}

func FuzzAghanimMap(f *testing.F) {
	for _, name := range []string{"player_update.json", "player_verify.json", "store_get.json", "payment_succeeded.json", "testing.json"} {
		f.Add(aghanimExample(f, name))
	}
	f.Add([]byte(`{"event_type":"x","event_time":1e300}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Aghanim.Map(Request{Header: http.Header{}, Body: body})
		if err != nil {
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("error %v does not wrap ErrUnmappable", err)
			}
			return
		}
		if ev.Type == "" {
			t.Fatal("mapped to an empty type")
		}
		if !ev.Time.IsZero() && (ev.Time.Location() != time.UTC || ev.Time.Year() < 1970 || ev.Time.Year() > 9999) {
			t.Fatalf("time %v cannot be an RFC 3339 UTC timestamp", ev.Time)
		}
		// That the id is header-safe is the bridge's guarantee for every provider
		// (bridge.FuzzEventID), not this mapping's.
	})
}
