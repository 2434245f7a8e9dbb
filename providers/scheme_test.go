package providers

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
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
