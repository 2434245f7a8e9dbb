package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// UserCheck (email and domain checks). Documentation: "Webhooks" (seeds/004): X-UserCheck-Signature
// is the hex HMAC-SHA256 of the payload. Its samples sign a re-encoding of the decoded JSON, so the
// raw body is tried first and then the compact form PHP's json_encode writes.
const (
	userCheckSignatureHeader = "X-UserCheck-Signature"
	userCheckEventHeader     = "X-UserCheck-Event-Type"
)

// userCheckMaxReencode bounds the bodies that are re-encoded when the raw body's signature does
// not match. UserCheck's events are about a hundred bytes; re-encoding costs far more than a MAC,
// and anyone can send a large body with a wrong signature.
const userCheckMaxReencode = 64 << 10

// UserCheck declares the UserCheck provider.
var UserCheck = &Provider{
	Name:             "usercheck",
	TypePrefix:       "com.usercheck",
	Success:          jsonAnswer(http.StatusOK, `{"status":"success"}`),
	Rejection:        jsonAnswer(http.StatusUnauthorized, `{"status":"error","message":"Invalid signature"}`),
	CheckCredentials: needSecret,

	Authenticate: func(req Request, creds Credentials) error {
		err := verifyMAC(req.Header, userCheckSignatureHeader, decodeHex, sha256.New, creds.Secrets, req.Body)
		if !errors.Is(err, ErrBadSignature) {
			return err
		}
		if len(req.Body) > userCheckMaxReencode {
			return err
		}
		php, perr := phpJSONEncode(req.Body)
		if perr != nil || bytes.Equal(php, req.Body) {
			return err
		}
		return verifyMAC(req.Header, userCheckSignatureHeader, decodeHex, sha256.New, creds.Secrets, php)
	},

	Map: func(req Request) (Event, error) {
		// Only "event" has to be a string; a created_at or data of another shape just leaves
		// the time or the subject unset.
		f, err := scanFields(req.Body, "event", "created_at", "data.domain")
		if err != nil {
			return Event{}, err
		}
		event, isString := jsonString(f[0])
		if f[0] != nil && !isString && string(f[0]) != "null" {
			return Event{}, fmt.Errorf("event is not a string: %w", ErrUnmappable)
		}
		if event == "" {
			event = req.Header.Get(userCheckEventHeader)
		}
		if event == "" {
			return Event{}, fmt.Errorf("no event: %w", ErrUnmappable)
		}
		ev := Event{Type: event, Subject: stringOrNumber(f[2])}
		if createdAt, ok := jsonStringBytes(f[1]); ok {
			if t, err := time.Parse(time.RFC3339, string(createdAt)); err == nil {
				ev.Time = t.UTC()
			}
		}
		return ev, nil
	},

	Sign: func(creds Credentials, body []byte, now time.Time) (http.Header, error) {
		secret, err := firstSecret(creds)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(userCheckSignatureHeader, hexMAC(sha256.New, secret, body))
		var ev struct {
			Event string `json:"event"`
		}
		if json.Unmarshal(body, &ev) == nil && ev.Event != "" {
			h.Set(userCheckEventHeader, ev.Event)
		}
		return h, nil
	},
}

// phpJSONEncode re-encodes a JSON document the way PHP 8's json_encode(json_decode($body, true))
// writes it with default flags, which is what the documentation's PHP sample signs:
//   - compact, object keys in their order; a repeated key keeps its first place and its last
//     value (json_decode builds an associative array);
//   - an object whose keys are "0", "1", … in order, the empty object included, becomes a list
//     ("[…]"): PHP cannot tell such an array from one decoded from a JSON array;
//   - "/" escaped as "\/", control characters as \b \f \n \r \t or lower-case \u00XX, everything
//     outside ASCII as lower-case \uXXXX (UTF-16 surrogate pairs above U+FFFF);
//   - integers that fit in 64 bits as integers ("-0" is 0); other numbers as doubles printed
//     with serialize_precision -1 (shortest round-trip digits, no ".0" on integral values,
//     exponent form when the decimal point is more than 17 digits right or 3 zeros left).
//
// It fails wherever PHP would: invalid UTF-8, an unpaired UTF-16 surrogate escape, nesting of
// 512 levels or more (json_decode's default depth), a number too large for a double.
func phpJSONEncode(body []byte) ([]byte, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("malformed UTF-8")
	}
	if err := phpCheckSurrogates(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := phpDecode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	var out bytes.Buffer
	out.Grow(len(body))
	if err := v.encode(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// phpMaxDepth is json_decode's default $depth; it counts a scalar inside the innermost
// container as a level, so at most phpMaxDepth-1 containers may nest.
const phpMaxDepth = 512

// phpNode is a decoded JSON value as PHP holds it: a scalar already written in PHP's form, or an
// array (a list, or ordered keys with values).
type phpNode struct {
	scalar string // the encoded scalar when container is false
	// infinite marks a number beyond the range of a double: json_decode accepts it, but
	// json_encode fails on it, unless a repeated key has replaced it by then.
	infinite bool
	// container is set for arrays; list for those that encode as a list.
	container bool
	list      bool
	keys      []string
	items     []*phpNode
}

func phpDecode(dec *json.Decoder, depth int) (*phpNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		if depth+1 >= phpMaxDepth {
			return nil, errors.New("JSON nested too deeply")
		}
		n := &phpNode{container: true, list: v == '['}
		var index map[string]int
		for dec.More() {
			var key string
			if !n.list {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key = k.(string)
			}
			item, err := phpDecode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if n.list {
				n.items = append(n.items, item)
				continue
			}
			if index == nil {
				index = map[string]int{}
			}
			if i, seen := index[key]; seen {
				n.items[i] = item // PHP: a later value replaces the earlier one, in its place
				continue
			}
			index[key] = len(n.keys)
			n.keys = append(n.keys, key)
			n.items = append(n.items, item)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if !n.list && phpIsList(n.keys) {
			n.list, n.keys = true, nil
		}
		return n, nil
	case string:
		var b bytes.Buffer
		phpString(&b, v)
		return &phpNode{scalar: b.String()}, nil
	case json.Number:
		s, err := phpNumber(string(v))
		if errors.Is(err, errPHPInfinite) {
			return &phpNode{infinite: true}, nil
		}
		if err != nil {
			return nil, err
		}
		return &phpNode{scalar: s}, nil
	case bool:
		return &phpNode{scalar: strconv.FormatBool(v)}, nil
	default: // nil
		return &phpNode{scalar: "null"}, nil
	}
}

// phpIsList reports whether object keys are "0", "1", … in order: PHP turns such keys into
// the integer keys of a list.
func phpIsList(keys []string) bool {
	for i, k := range keys {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

func (n *phpNode) encode(out *bytes.Buffer) error {
	switch {
	case n.infinite:
		return errPHPInfinite
	case !n.container:
		out.WriteString(n.scalar)
		return nil
	case n.list:
		out.WriteByte('[')
	default:
		out.WriteByte('{')
	}
	for i, item := range n.items {
		if i > 0 {
			out.WriteByte(',')
		}
		if !n.list {
			phpString(out, n.keys[i])
			out.WriteByte(':')
		}
		if err := item.encode(out); err != nil {
			return err
		}
	}
	if n.list {
		out.WriteByte(']')
	} else {
		out.WriteByte('}')
	}
	return nil
}

// phpCheckSurrogates rejects \u escapes of UTF-16 surrogates that are not a high one followed
// by a low one, as PHP's json_decode does (Go's decoder turns them into U+FFFD instead). A
// backslash can only occur inside a string in valid JSON, so the whole body is scanned.
func phpCheckSurrogates(body []byte) error {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		u, ok := hex4(body, i)
		switch {
		case !ok:
			i++ // a two-character escape (or a syntax error the decoder reports)
		case u >= 0xD800 && u < 0xDC00:
			if low, ok := hex4(body, i+6); ok && low >= 0xDC00 && low < 0xE000 {
				i += 11
				continue
			}
			return errors.New("single unpaired UTF-16 surrogate in unicode escape")
		case u >= 0xDC00 && u < 0xE000:
			return errors.New("single unpaired UTF-16 surrogate in unicode escape")
		default:
			i += 5
		}
	}
	return nil
}

// hex4 reads the escape `\uXXXX` at body[i:].
func hex4(body []byte, i int) (rune, bool) {
	if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 16)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

func phpString(out *bytes.Buffer, s string) {
	const digits = "0123456789abcdef"
	u := func(r rune) {
		out.WriteString(`\u`)
		out.WriteByte(digits[r>>12&0xF])
		out.WriteByte(digits[r>>8&0xF])
		out.WriteByte(digits[r>>4&0xF])
		out.WriteByte(digits[r&0xF])
	}
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '/':
			out.WriteString(`\/`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			switch {
			case r < 0x20 || r > 0x7F && r <= 0xFFFF:
				u(r)
			case r > 0xFFFF:
				r -= 0x10000
				u(0xD800 + r>>10)
				u(0xDC00 + r&0x3FF)
			default: // printable ASCII and DEL
				out.WriteByte(byte(r))
			}
		}
	}
	out.WriteByte('"')
}

// errPHPInfinite is json_encode's error for a number a double cannot hold.
var errPHPInfinite = errors.New("Inf and NaN cannot be JSON encoded")

// phpNumber writes a JSON number as json_encode writes what json_decode made of it: an integer
// that fits in 64 bits as an integer, anything else as a double in php_gcvt's format with
// precision 17 and mode 0 (shortest round-trip digits), as serialize_precision -1 selects.
func phpNumber(lit string) (string, error) {
	if !strings.ContainsAny(lit, ".eE") {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return strconv.FormatInt(n, 10), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if math.IsInf(f, 0) {
		return "", errPHPInfinite
	}
	if err != nil {
		return "", err
	}
	// digits and decpt as zend_dtoa returns them: value = 0.digits × 10^decpt.
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	var b strings.Builder
	if strings.HasPrefix(mant, "-") {
		b.WriteByte('-')
		mant = mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1
	switch {
	case decpt < -3 || decpt > 17: // exponential: d.ddde±X, "1.0e-5" for a single digit
		b.WriteString(digits[:1])
		b.WriteByte('.')
		if len(digits) == 1 {
			b.WriteByte('0')
		} else {
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(exp))
	case decpt <= 0: // 0.000ddd
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case len(digits) <= decpt: // integral: digits padded with zeros, no ".0"
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String(), nil
}
