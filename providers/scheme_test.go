package providers

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tests of the building blocks the providers' schemes are declared with (scheme.go) and of the
// field readers their mappings share (json.go). MACs are computed here with crypto/hmac.

func TestProofHeader(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // nil: header absent
		want    string
		wantErr error
	}{
		{name: "one value", values: []string{"abc"}, want: "abc"},
		{name: "surrounding space trimmed", values: []string{"  abc\t"}, want: "abc"},
		{name: "absent", wantErr: ErrMissingProof},
		{name: "empty", values: []string{""}, wantErr: ErrMissingProof},
		{name: "blank", values: []string{"   "}, wantErr: ErrMissingProof},
		{name: "twice", values: []string{"abc", "def"}, wantErr: ErrMalformedProof},
		{name: "twice, same value", values: []string{"abc", "abc"}, wantErr: ErrMalformedProof},
		{name: "twice, one empty", values: []string{"abc", ""}, wantErr: ErrMalformedProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("X-Proof", v)
			}
			got, err := proofHeader(h, "X-Proof")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("value %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeHex(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{in: "00ff10", want: []byte{0, 0xff, 0x10}},
		{in: "00FF10", want: []byte{0, 0xff, 0x10}},
		{in: "", want: []byte{}},
		{in: "0", wantErr: true},
		{in: "zz", wantErr: true},
		{in: "0x00", wantErr: true},
		{in: "00 ff", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeHex(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrMalformedProof) {
				t.Errorf("decodeHex(%q): error %v, want %v", tt.in, err, ErrMalformedProof)
			}
			continue
		}
		if err != nil || string(got) != string(tt.want) {
			t.Errorf("decodeHex(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "aGk=", want: "hi"},
		{in: "aGk", want: "hi"},
		{in: "+/8=", want: "\xfb\xff"},
		{in: "-_8=", wantErr: true}, // URL alphabet: not what the providers send
		{in: "a", wantErr: true},
		{in: "!!!!", wantErr: true},
	}
	for _, tt := range tests {
		got, err := decodeBase64(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrMalformedProof) {
				t.Errorf("decodeBase64(%q): error %v, want %v", tt.in, err, ErrMalformedProof)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("decodeBase64(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestVerifyMAC(t *testing.T) {
	body := []byte(`{"a":1}`)
	sum := func(secret string) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("prefix."))
		m.Write(body)
		return m.Sum(nil)
	}
	tests := []struct {
		name    string
		header  string
		decode  func(string) ([]byte, error)
		secrets []string
		wantErr error
	}{
		{"hex", hex.EncodeToString(sum("k")), decodeHex, []string{"k"}, nil},
		{"base64", base64.StdEncoding.EncodeToString(sum("k")), decodeBase64, []string{"k"}, nil},
		{"second secret", hex.EncodeToString(sum("k")), decodeHex, []string{"j", "k"}, nil},
		{"no secret matches", hex.EncodeToString(sum("k")), decodeHex, []string{"j"}, ErrBadSignature},
		{"no secrets", hex.EncodeToString(sum("k")), decodeHex, nil, ErrBadSignature},
		{"not hex", "xyz", decodeHex, []string{"k"}, ErrMalformedProof},
		{"absent", "", decodeHex, []string{"k"}, ErrMissingProof},
		{"blank", " ", decodeHex, []string{"k"}, ErrMissingProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("X-Mac", tt.header)
			}
			err := verifyMAC(h, "X-Mac", tt.decode, sha256.New, tt.secrets, []byte("prefix."), body)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}

	// The hash is the one asked for.
	m := hmac.New(md5.New, []byte("k"))
	m.Write(body)
	h := http.Header{"X-Mac": {hex.EncodeToString(m.Sum(nil))}}
	if err := verifyMAC(h, "X-Mac", decodeHex, md5.New, []string{"k"}, body); err != nil {
		t.Errorf("HMAC-MD5: %v", err)
	}
	if err := verifyMAC(h, "X-Mac", decodeHex, sha256.New, []string{"k"}, body); !errors.Is(err, ErrBadSignature) {
		t.Errorf("HMAC-MD5 checked as HMAC-SHA256: %v", err)
	}
}

func TestEqualSecret(t *testing.T) {
	tests := []struct {
		given, want string
		equal       bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret", "s3cret ", false},
		{"", "s3cret", false},
		{"S3CRET", "s3cret", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := equalSecret(tt.given, tt.want); got != tt.equal {
			t.Errorf("equalSecret(%q, %q) = %v", tt.given, tt.want, got)
		}
	}
}

func TestHexMAC(t *testing.T) {
	// RFC 4231, test case 2.
	got := hexMAC(sha256.New, "Jefe", []byte("what do ya want "), []byte("for nothing?"))
	if want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("hexMAC = %s, want %s", got, want)
	}
}

func TestFirstSecret(t *testing.T) {
	if s, err := firstSecret(Credentials{Secrets: []string{"a", "b"}}); err != nil || s != "a" {
		t.Errorf("firstSecret = %q, %v", s, err)
	}
	if _, err := firstSecret(Credentials{}); err == nil {
		t.Error("firstSecret without secrets succeeded")
	}
}

func TestStringOrNumber(t *testing.T) {
	tests := []struct {
		raw  string
		want string
	}{
		{`"abc"`, "abc"},
		{`"a\/b"`, "a/b"},
		{`123`, "123"},
		{`-1.5e3`, "-1.5e3"},
		{` 7 `, "7"},
		{`null`, ""},
		{`true`, ""},
		{`{"a":1}`, ""},
		{`[1]`, ""},
		{``, ""},
		{`"unterminated`, ""},
	}
	for _, tt := range tests {
		if got := stringOrNumber(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("stringOrNumber(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestUnixSeconds(t *testing.T) {
	tests := []struct {
		raw    string
		want   int64
		wantOK bool
	}{
		{`1725548450`, 1725548450, true},
		{`"1725548450"`, 1725548450, true},
		{`1725548450.9`, 1725548450, true},
		{`1.72554845e9`, 1725548450, true},
		{`-5`, -5, true},
		{`0`, 0, true},
		{`9223372036854775807`, 9223372036854775807, true},
		{`1e300`, 0, false},
		{`-1e300`, 0, false},
		{`9223372036854775808`, 0, false},
		{`"NaN"`, 0, false},
		{`"Inf"`, 0, false},
		{`"-Infinity"`, 0, false},
		{`"soon"`, 0, false},
		{`null`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		got, ok := unixSeconds(json.RawMessage(tt.raw))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("unixSeconds(%s) = %d, %v; want %d, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

// timestampDigits is what a signed timestamp must be, written independently of the code under
// test: 1 to 19 ASCII digits.
var timestampDigits = regexp.MustCompile(`^[0-9]{1,19}$`)

// TestParseSignedTimestamp: a timestamp joined to the body by "." is 1 to 19 ASCII digits and
// nothing else, so no byte of the body can move into it.
func TestParseSignedTimestamp(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "1725548450", want: 1725548450},
		{in: "0", want: 0},
		{in: "0001725548450", want: 1725548450}, // as signed: the MAC covers the digits as sent
		{in: "9223372036854775807", want: math.MaxInt64},
		{in: "9999999999999999999", want: math.MaxInt64}, // 19 digits beyond int64: never fresh
		{in: "1725548450.{\"event_type\":\"player", wantErr: true},
		{in: "1725548450.5", wantErr: true},
		{in: "+123", wantErr: true},
		{in: "-1", wantErr: true},
		{in: " 123", wantErr: true},
		{in: "123 ", wantErr: true},
		{in: "1 23", wantErr: true},
		{in: "12a", wantErr: true},
		{in: "0x1f", wantErr: true},
		{in: "1e9", wantErr: true},
		{in: "\u0661\u0662", wantErr: true},         // Arabic-Indic digits are not ASCII digits
		{in: "12345678901234567890", wantErr: true}, // 20 digits
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSignedTimestamp(tt.in)
		switch {
		case tt.wantErr && !errors.Is(err, ErrMalformedProof):
			t.Errorf("parseSignedTimestamp(%q) = %d, %v; want ErrMalformedProof", tt.in, got, err)
		case !tt.wantErr && (err != nil || got != tt.want):
			t.Errorf("parseSignedTimestamp(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSignedHeader(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // nil: absent
		wantErr error
	}{
		{name: "present", values: []string{"1725548450"}},
		{name: "absent: malformed, not missing", wantErr: ErrMalformedProof},
		{name: "empty: malformed, not missing", values: []string{""}, wantErr: ErrMalformedProof},
		{name: "twice", values: []string{"1", "2"}, wantErr: ErrMalformedProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("X-Ts", v)
			}
			_, err := signedHeader(h, "X-Ts")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || errors.Is(err, ErrMissingProof) {
				t.Fatalf("error %v, want %v (and never ErrMissingProof)", err, tt.wantErr)
			}
		})
	}
}

func TestReadTimestampTolerance(t *testing.T) {
	tests := []struct {
		name      string
		settings  map[string]any
		want      time.Duration
		wantGiven bool
		wantErr   bool
	}{
		{name: "unset", settings: nil},
		{name: "five minutes", settings: map[string]any{"timestamp_tolerance": 5 * time.Minute}, want: 5 * time.Minute, wantGiven: true},
		{name: "zero", settings: map[string]any{"timestamp_tolerance": time.Duration(0)}, wantGiven: true, wantErr: true},
		{name: "negative", settings: map[string]any{"timestamp_tolerance": -time.Second}, wantGiven: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, given, err := readTimestampTolerance(settingsOf(tt.settings))
			if got != tt.want || given != tt.wantGiven || (err != nil) != tt.wantErr {
				t.Fatalf("= %s, %v, %v; want %s, %v, error %v", got, given, err, tt.want, tt.wantGiven, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "timestamp_tolerance: ") {
				t.Errorf("error %q does not name timestamp_tolerance", err)
			}
		})
	}
	// A value the decoder refuses is named by the key, on one line.
	_, _, err := readTimestampTolerance(func(key string, _ any) (bool, error) {
		return true, errors.New(key + ": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!int `300` into time.Duration")
	})
	if err == nil || !strings.HasPrefix(err.Error(), "timestamp_tolerance: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("decoder error read as %q", err)
	}
}

// TestCheckTimestampAge: further than the tolerance from the time of receipt, either way, is
// stale; a zero tolerance checks nothing.
func TestCheckTimestampAge(t *testing.T) {
	received := time.Unix(1725548450, 0)
	tests := []struct {
		name      string
		secs      int64
		tolerance time.Duration
		stale     bool
	}{
		{"no tolerance: any age", 0, 0, false},
		{"no tolerance: far future", math.MaxInt64, 0, false},
		{"now", 1725548450, time.Minute, false},
		{"at the limit, before", 1725548450 - 60, time.Minute, false},
		{"at the limit, after", 1725548450 + 60, time.Minute, false},
		{"one second too old", 1725548450 - 61, time.Minute, true},
		{"one second too new", 1725548450 + 61, time.Minute, true},
		{"year 1970", 0, time.Hour, true},
		{"beyond the year 9999", math.MaxInt64, time.Hour, true},
		{"beyond the year 9999, the largest tolerance", math.MaxInt64, math.MaxInt64 - 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTimestampAge(tt.secs, Request{Received: received}, tt.tolerance)
			if tt.stale != errors.Is(err, ErrStaleTimestamp) || (!tt.stale && err != nil) {
				t.Fatalf("error %v, want stale %v", err, tt.stale)
			}
			if tt.stale && !strings.Contains(err.Error(), "tolerance "+tt.tolerance.String()) {
				t.Errorf("error %q does not say the tolerance", err)
			}
		})
	}
}

// moveIntoTimestampAt splits a body "P{sep}Q" at its first sep and returns the header value
// "{ts}{sep}P" with the body "Q": the same bytes under a "{ts}{sep}{body}" signature.
func moveIntoTimestampAt(t *testing.T, ts string, body []byte, sep string) (string, []byte) {
	t.Helper()
	p, q, ok := strings.Cut(string(body), sep)
	if !ok {
		t.Fatalf("the body has no %q to split at", sep)
	}
	return ts + sep + p, []byte(q)
}
