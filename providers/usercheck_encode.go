package providers

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// UserCheck's receiver samples (https://www.usercheck.com/docs/webhooks/security) do not MAC the
// bytes they received: each decodes the JSON and MACs what its language writes back:
//
//	PHP      json_encode(json_decode($body, true))
//	Node.js  JSON.stringify(JSON.parse(body))
//	Python   json.dumps(json.loads(body))
//
// A body is decoded once into a jsonDoc, and each form is written from it, so a wrong signature
// costs one parse and three writes, not three parses.

// Nesting is bounded by jsonMaxDepth (jsonscan.go), below every sample's own limit: PHP's
// json_decode default $depth of 512 admits 511 levels, Python's recursion limit near 1000, Node's
// stack thousands. So every body re-encoded here, each sample could have decoded; a deeper one gets
// no re-encoded form at all rather than forms tuned to a runtime's stack size.

// pythonMaxIntDigits is CPython's int_max_str_digits (3.11 and later): json.loads fails on an
// integer literal with more digits.
const pythonMaxIntDigits = 4300

// errPHPInfinite is json_encode's error for a number a double cannot hold.
var errPHPInfinite = errors.New("Inf and NaN cannot be JSON encoded")

// jsonDoc is a JSON document as the three receivers decode it. Their decoders build the same
// tree and differ only in numbers and in what they refuse, so the tree keeps each number's
// literal for each writer to convert, and records what one of them would refuse. It has no
// repeated keys: parseJSONDoc refuses them.
type jsonDoc struct {
	root  jsonNode
	nodes []jsonNode // the members of every container, each container's side by side
	// text holds every string decoded and every number literal. Strings are WTF-8: UTF-8 that
	// also encodes an unpaired UTF-16 surrogate (from a \u escape) as its three bytes, so it
	// can hold every JavaScript and Python string; a surrogate pair is always combined.
	text []byte
	// loneSurrogate is set when a string holds an unpaired surrogate: PHP's json_decode fails
	// on it; JavaScript and Python keep it.
	loneSurrogate bool
	// longInt is set when an integer literal has more digits than Python converts.
	longInt bool
	// jsOrder holds the members of the objects being written whose keys JavaScript reorders.
	jsOrder []jsonNode
}

type jsonKind uint8

const (
	kindNull jsonKind = iota
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

// span is doc.text[off:end].
type span struct{ off, end int32 }

type jsonNode struct {
	kind jsonKind
	key  span // in an object: the member's key
	text span // a string's value, or a number's literal
	// first and count locate a container's members in doc.nodes.
	first, count int32
}

func (d *jsonDoc) bytes(s span) []byte { return d.text[s.off:s.end] }

func (d *jsonDoc) members(n jsonNode) []jsonNode { return d.nodes[n.first : n.first+n.count] }

// Why parseJSONDoc refuses a document.
var (
	errJSONSyntax   = errors.New("invalid JSON")
	errJSONTooDeep  = errors.New("JSON nested too deeply")
	errRepeatedKey  = errors.New("an object repeats a key")
	errJSONTooLarge = errors.New("JSON text too large")
)

// parseJSONDoc decodes a JSON text (RFC 8259: UTF-8, no byte order mark, nothing after the
// value), at most jsonMaxDepth arrays and objects deep.
//
// It refuses an object that repeats a key (compared after unescaping: "a" and "\u0061" are one
// key), though PHP, JavaScript and Python all read one, keeping the key's first place and its last
// value. Their re-encoding drops the earlier values, so a signature over it says nothing about
// them: whoever holds one genuine request could add {"domain":"evil.example"} before the signed
// {"domain":"victim.example"}, and a reader of the raw body that takes the first value would see
// bytes no signature covers. Refused here, such a body verifies only when signed byte for byte
// (docs/providers/usercheck.md#repeated-keys).
func parseJSONDoc(body []byte) (*jsonDoc, error) {
	if len(body) >= math.MaxInt32 {
		return nil, errJSONTooLarge
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("malformed UTF-8: %w", errJSONSyntax)
	}
	// Decoding never lengthens a string or a literal, so text never outgrows body.
	p := jsonParser{src: body, doc: &jsonDoc{text: make([]byte, 0, len(body))}}
	p.space()
	root, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, errors.New("trailing data after JSON value")
	}
	p.doc.root = root
	return p.doc, nil
}

type jsonParser struct {
	src   []byte
	pos   int
	doc   *jsonDoc
	stack []jsonNode // members of the containers being read, innermost last
	// seed hashes the keys of large objects to find repeated ones.
	seed   maphash.Seed
	seeded bool
}

func (p *jsonParser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// value reads the value at p.pos; depth is the number of arrays and objects around it.
func (p *jsonParser) value(depth int) (jsonNode, error) {
	switch c := p.peek(); {
	case c == '{' || c == '[':
		return p.container(depth)
	case c == '"':
		s, err := p.string()
		return jsonNode{kind: kindString, text: s}, err
	case c == '-' || '0' <= c && c <= '9':
		s, err := p.number()
		return jsonNode{kind: kindNumber, text: s}, err
	case c == 't':
		return jsonNode{kind: kindTrue}, p.literal("true")
	case c == 'f':
		return jsonNode{kind: kindFalse}, p.literal("false")
	case c == 'n':
		return jsonNode{kind: kindNull}, p.literal("null")
	}
	return jsonNode{}, errJSONSyntax
}

func (p *jsonParser) literal(word string) error {
	if !bytes.HasPrefix(p.src[p.pos:], []byte(word)) {
		return errJSONSyntax
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) container(depth int) (jsonNode, error) {
	if depth+1 > jsonMaxDepth {
		return jsonNode{}, errJSONTooDeep
	}
	kind, closer := kindArray, byte(']')
	if p.src[p.pos] == '{' {
		kind, closer = kindObject, '}'
	}
	p.pos++
	mark := len(p.stack)
	p.space()
	if p.peek() == closer {
		p.pos++
	} else {
		for {
			var key span
			if kind == kindObject {
				if p.peek() != '"' {
					return jsonNode{}, errJSONSyntax
				}
				var err error
				if key, err = p.string(); err != nil {
					return jsonNode{}, err
				}
				p.space()
				if p.peek() != ':' {
					return jsonNode{}, errJSONSyntax
				}
				p.pos++
				p.space()
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return jsonNode{}, err
			}
			v.key = key
			p.stack = append(p.stack, v)
			p.space()
			if c := p.peek(); c == ',' {
				p.pos++
				p.space()
				continue
			} else if c != closer {
				return jsonNode{}, errJSONSyntax
			}
			p.pos++
			break
		}
	}
	members := p.stack[mark:]
	if kind == kindObject && p.repeatsKey(members) {
		return jsonNode{}, errRepeatedKey
	}
	n := jsonNode{kind: kind, first: int32(len(p.doc.nodes)), count: int32(len(members))}
	p.doc.nodes = append(p.doc.nodes, members...)
	p.stack = p.stack[:mark]
	return n, nil
}

// repeatsKey reports whether two of an object's members have the same (unescaped) key. Small
// objects are searched directly; larger ones through a map of key hashes, so that an object of
// thousands of keys costs thousands of steps, not millions.
func (p *jsonParser) repeatsKey(members []jsonNode) bool {
	d := p.doc
	key := func(i int) []byte { return d.bytes(members[i].key) }
	earlier := func(i int) bool { // whether a member before i has its key
		for j := range i {
			if bytes.Equal(key(j), key(i)) {
				return true
			}
		}
		return false
	}
	if len(members) <= 16 {
		for i := 1; i < len(members); i++ {
			if earlier(i) {
				return true
			}
		}
		return false
	}
	if !p.seeded {
		p.seed, p.seeded = maphash.MakeSeed(), true
	}
	first := make(map[uint64]int, len(members))
	for i := range members {
		h := maphash.Bytes(p.seed, key(i))
		j, seen := first[h]
		switch {
		case !seen:
			first[h] = i
		case bytes.Equal(key(j), key(i)):
			return true
		case earlier(i): // two keys, one hash: with a random seed, next to never
			return true
		}
	}
	return false
}

// string reads a JSON string into doc.text.
func (p *jsonParser) string() (span, error) {
	d := p.doc
	p.pos++ // the opening quote
	start := int32(len(d.text))
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == '"':
			p.pos++
			return span{start, int32(len(d.text))}, nil
		case c < 0x20:
			return span{}, errJSONSyntax
		case c == '\\':
			if err := p.escape(); err != nil {
				return span{}, err
			}
		default:
			end := p.pos + 1
			for end < len(p.src) && plainInJSONString[p.src[end]] {
				end++
			}
			d.text = append(d.text, p.src[p.pos:end]...)
			p.pos = end
		}
	}
	return span{}, errJSONSyntax
}

func (p *jsonParser) escape() error {
	d := p.doc
	if p.pos+1 >= len(p.src) {
		return errJSONSyntax
	}
	c := p.src[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		d.text = append(d.text, c)
	case 'b':
		d.text = append(d.text, '\b')
	case 'f':
		d.text = append(d.text, '\f')
	case 'n':
		d.text = append(d.text, '\n')
	case 'r':
		d.text = append(d.text, '\r')
	case 't':
		d.text = append(d.text, '\t')
	case 'u':
		r, ok := hex4(p.src, p.pos-2)
		if !ok {
			return errJSONSyntax
		}
		p.pos += 4
		if r >= 0xD800 && r < 0xDC00 {
			if low, ok := hex4(p.src, p.pos); ok && low >= 0xDC00 && low < 0xE000 {
				p.pos += 6
				d.text = utf8.AppendRune(d.text, 0x10000+(r-0xD800)<<10+(low-0xDC00))
				return nil
			}
		}
		if r >= 0xD800 && r < 0xE000 {
			d.loneSurrogate = true
			d.text = append(d.text, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
			return nil
		}
		d.text = utf8.AppendRune(d.text, r)
	default:
		return errJSONSyntax
	}
	return nil
}

// hex4 reads the escape `\uXXXX` at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[i+2 : i+6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number's literal into doc.text.
func (p *jsonParser) number() (span, error) {
	b, i := p.src, p.pos
	if b[i] == '-' {
		i++
	}
	digits := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return span{}, errJSONSyntax
	}
	integer := true
	if i < len(b) && b[i] == '.' {
		integer = false
		if j := skipDigits(b, i+1); j > i+1 {
			i = j
		} else {
			return span{}, errJSONSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := skipDigits(b, i); j > i {
			i = j
		} else {
			return span{}, errJSONSyntax
		}
	}
	if integer && i-digits > pythonMaxIntDigits {
		p.doc.longInt = true
	}
	start := int32(len(p.doc.text))
	p.doc.text = append(p.doc.text, b[p.pos:i]...)
	p.pos = i
	return span{start, int32(len(p.doc.text))}, nil
}

// isIntegerLiteral reports whether a JSON number has neither fraction nor exponent: PHP and
// Python decode those as integers (PHP only while they fit in 64 bits).
func isIntegerLiteral(lit []byte) bool {
	for _, c := range lit {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// Bytes written as they are: inside a JSON string as it arrives, and by each language's
// encoder (in WTF-8, a surrogate starts with 0xED).
var (
	plainInJSONString = byteSet(func(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' })
	plainForPHP       = byteSet(func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '/' })
	plainForJS        = byteSet(func(c byte) bool { return c >= 0x20 && c != '"' && c != '\\' && c != 0xED })
	plainForPython    = byteSet(func(c byte) bool { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' })
)

func byteSet(in func(byte) bool) *[256]bool {
	var set [256]bool
	for c := range set {
		set[c] = in(byte(c))
	}
	return &set
}

// appendPlain writes the longest run of s that plain says needs no escape, and returns the rest.
func appendPlain(out, s []byte, plain *[256]bool) ([]byte, []byte) {
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	return append(out, s[:i]...), s[i:]
}

// decodeWTF8 is utf8.DecodeRune that also reads an unpaired surrogate as jsonDoc stores it.
func decodeWTF8(s []byte) (rune, int) {
	r, size := utf8.DecodeRune(s)
	if r == utf8.RuneError && size == 1 && len(s) >= 3 && s[0] == 0xED {
		return rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), 3
	}
	return r, size
}

const lowerHex = "0123456789abcdef"

// appendU writes \uXXXX in lower-case hex, as all three languages do.
func appendU(out []byte, r rune) []byte {
	return append(out, '\\', 'u', lowerHex[r>>12&0xF], lowerHex[r>>8&0xF], lowerHex[r>>4&0xF], lowerHex[r&0xF])
}

// appendShortEscape writes the two-character escapes all three languages use, reporting
// whether c has one.
func appendShortEscape(out []byte, c byte) ([]byte, bool) {
	switch c {
	case '"', '\\':
		return append(out, '\\', c), true
	case '\b':
		return append(out, '\\', 'b'), true
	case '\f':
		return append(out, '\\', 'f'), true
	case '\n':
		return append(out, '\\', 'n'), true
	case '\r':
		return append(out, '\\', 'r'), true
	case '\t':
		return append(out, '\\', 't'), true
	}
	return out, false
}

// appendJSONString writes s as a JSON string the way the three languages do; they differ only in
// what plain lets through as it is and in keepUTF8. Of what plain leaves out: the two-character
// escapes; "\/" (only PHP leaves '/' out); other ASCII below 0x20, and DEL, as \uXXXX; non-ASCII
// as UTF-8 with only unpaired surrogates escaped when keepUTF8 (JavaScript), otherwise as \uXXXX,
// in UTF-16 surrogate pairs above U+FFFF.
func appendJSONString(out, s []byte, plain *[256]bool, keepUTF8 bool) []byte {
	out = append(out, '"')
	for {
		if out, s = appendPlain(out, s, plain); len(s) == 0 {
			break
		}
		c := s[0]
		if c < utf8.RuneSelf {
			s = s[1:]
			var ok bool
			switch out, ok = appendShortEscape(out, c); {
			case ok:
			case c == '/':
				out = append(out, '\\', '/')
			case c < 0x20 || c == 0x7F:
				out = appendU(out, rune(c))
			default:
				out = append(out, c)
			}
			continue
		}
		r, size := decodeWTF8(s)
		switch {
		case keepUTF8 && (r < 0xD800 || r >= 0xE000):
			out = append(out, s[:size]...)
		case r > 0xFFFF:
			r -= 0x10000
			out = appendU(appendU(out, 0xD800+r>>10), 0xDC00+r&0x3FF)
		default:
			out = appendU(out, r)
		}
		s = s[size:]
	}
	return append(out, '"')
}

// floatDigits returns the shortest decimal digits that read back as f (f finite, not zero) and
// the position of the decimal point: |f| = 0.digits × 10^point. JavaScript's Number::toString,
// Python's repr and PHP's serialize_precision -1 all start from these digits and only lay them
// out differently.
func floatDigits(buf []byte, f float64) (digits []byte, point int) {
	e := strconv.AppendFloat(buf[:0], math.Abs(f), 'e', -1, 64) // d[.ddd]e±XX
	at := bytes.IndexByte(e, 'e')
	x := 0
	for _, c := range e[at+2:] {
		x = x*10 + int(c-'0')
	}
	if e[at+1] == '-' {
		x = -x
	}
	digits = e[:at]
	if len(digits) > 1 { // drop the point: d.ddd → dddd
		digits = append(digits[:1], digits[2:]...)
	}
	return digits, x + 1
}

func appendZeros(out []byte, n int) []byte {
	for range n {
		out = append(out, '0')
	}
	return out
}

// appendDigitsExponent writes d[.ddd]e±X with at least minExp exponent digits.
func appendDigitsExponent(out, digits []byte, exp, minExp int) []byte {
	out = append(out, digits[0])
	if len(digits) > 1 {
		out = append(out, '.')
		out = append(out, digits[1:]...)
	}
	out = append(out, 'e')
	if exp < 0 {
		out = append(out, '-')
		exp = -exp
	} else {
		out = append(out, '+')
	}
	if exp < 10 && minExp == 2 {
		out = append(out, '0')
	}
	return strconv.AppendInt(out, int64(exp), 10)
}

// --- PHP: json_encode(json_decode($body, true)), PHP 8 defaults -----------------------------

// phpForm writes the document the way PHP 8's json_encode(json_decode($body, true)) does with
// default flags:
//   - compact, object keys in their order;
//   - an object whose keys are "0", "1", … in order, the empty object included, becomes a list
//     ("[…]"): PHP cannot tell such an array from one decoded from a JSON array;
//   - "/" escaped as "\/", control characters as \b \f \n \r \t or lower-case \u00XX, everything
//     outside ASCII as lower-case \uXXXX (UTF-16 surrogate pairs above U+FFFF);
//   - integers that fit in 64 bits as integers ("-0" is 0); other numbers as doubles printed
//     with serialize_precision -1 (shortest round-trip digits, no ".0" on integral values,
//     exponent form when the decimal point is more than 17 digits right or 3 zeros left).
//
// It fails wherever PHP would: an unpaired UTF-16 surrogate escape (json_decode), a number too
// large for a double (json_encode).
func (d *jsonDoc) phpForm(out []byte) ([]byte, error) {
	if d.loneSurrogate {
		return nil, errors.New("single unpaired UTF-16 surrogate in unicode escape")
	}
	return d.appendPHP(out, d.root)
}

func (d *jsonDoc) appendPHP(out []byte, n jsonNode) ([]byte, error) {
	switch n.kind {
	case kindNull:
		return append(out, "null"...), nil
	case kindFalse:
		return append(out, "false"...), nil
	case kindTrue:
		return append(out, "true"...), nil
	case kindNumber:
		return appendPHPNumber(out, d.bytes(n.text))
	case kindString:
		return appendPHPString(out, d.bytes(n.text)), nil
	}
	members := d.members(n)
	list := n.kind == kindArray || d.phpIsList(members)
	if list {
		out = append(out, '[')
	} else {
		out = append(out, '{')
	}
	var err error
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		if !list {
			out = appendPHPString(out, d.bytes(m.key))
			out = append(out, ':')
		}
		if out, err = d.appendPHP(out, m); err != nil {
			return nil, err
		}
	}
	if list {
		return append(out, ']'), nil
	}
	return append(out, '}'), nil
}

// phpIsList reports whether object keys are "0", "1", … in order: PHP turns such keys into
// the integer keys of a list.
func (d *jsonDoc) phpIsList(members []jsonNode) bool {
	var buf [20]byte
	for i, m := range members {
		if !bytes.Equal(d.bytes(m.key), strconv.AppendInt(buf[:0], int64(i), 10)) {
			return false
		}
	}
	return true
}

func appendPHPString(out, s []byte) []byte { return appendJSONString(out, s, plainForPHP, false) }

// appendPHPNumber writes a JSON number as json_encode writes what json_decode made of it: an
// integer that fits in 64 bits as an integer, anything else as a double in php_gcvt's format
// with precision 17 and mode 0 (shortest round-trip digits), as serialize_precision -1 selects.
func appendPHPNumber(out, lit []byte) ([]byte, error) {
	if isIntegerLiteral(lit) && fitsInt64(lit) {
		if string(lit) == "-0" {
			return append(out, '0'), nil
		}
		return append(out, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if math.IsInf(f, 0) {
		return nil, errPHPInfinite
	}
	if err != nil {
		return nil, err
	}
	if math.Signbit(f) {
		out = append(out, '-')
	}
	if f == 0 {
		return append(out, '0'), nil
	}
	var buf [32]byte
	digits, point := floatDigits(buf[:], f)
	switch {
	case point < -3 || point > 17: // exponential: d.ddde±X, "1.0e-5" for a single digit
		if len(digits) == 1 {
			digits = append(digits, '0')
		}
		return appendDigitsExponent(out, digits, point-1, 1), nil
	case point <= 0: // 0.000ddd
		out = append(out, '0', '.')
		return append(appendZeros(out, -point), digits...), nil
	case len(digits) <= point: // integral: digits padded with zeros, no ".0"
		return appendZeros(append(out, digits...), point-len(digits)), nil
	default:
		out = append(out, digits[:point]...)
		out = append(out, '.')
		return append(out, digits[point:]...), nil
	}
}

// fitsInt64 reports whether an integer literal (JSON syntax: no leading zeros) is within int64.
func fitsInt64(lit []byte) bool {
	limit := "9223372036854775807"
	if lit[0] == '-' {
		lit, limit = lit[1:], "9223372036854775808"
	}
	return len(lit) < len(limit) || len(lit) == len(limit) && string(lit) <= limit
}

// --- JavaScript: JSON.stringify(JSON.parse(body)) (ECMAScript 2019 and later) ---------------

// jsForm writes the document the way JSON.stringify(JSON.parse(body)) does:
//   - compact; "/" and every character outside ASCII written as they are; only `"`, `\` and
//     control characters escaped (\b \f \n \r \t, others as lower-case \u00XX), and unpaired
//     surrogates as lower-case \uXXXX (well-formed JSON.stringify, ES2019);
//   - every number is a double, printed by Number::toString (ECMA-262 §6.1.6.1.20): shortest
//     round-trip digits, plain notation from 1e-6 up to below 1e21, "1e+21" beyond, -0 as 0, a
//     literal beyond the double range (Infinity) as null;
//   - an object's keys that are array indices ("0" … "4294967294", canonical decimal) come
//     first in ascending numeric order, then the other keys in their order
//     (OrdinaryOwnPropertyKeys, ECMA-262 §10.1.11.1).
//
// It never fails: JSON.parse accepts every document parseJSONDoc does.
func (d *jsonDoc) jsForm(out []byte) ([]byte, error) {
	return d.appendForm(out, d.root, &jsDialect), nil
}

// dialect is what distinguishes the JavaScript and Python writers: separators, how scalars are
// written, and whether object keys are reordered. The walk over the tree is the same.
type dialect struct {
	itemSep, keySep string
	str             func(out, s []byte) []byte
	num             func(out, lit []byte) []byte
	jsKeyOrder      bool // array-index keys first, as a JavaScript object lists them
}

var (
	jsDialect     = dialect{itemSep: ",", keySep: ":", str: appendJSString, num: appendJSNumber, jsKeyOrder: true}
	pythonDialect = dialect{itemSep: ", ", keySep: ": ", str: appendPythonString, num: appendPythonNumber}
)

// appendForm writes n in the given dialect.
func (d *jsonDoc) appendForm(out []byte, n jsonNode, dl *dialect) []byte {
	switch n.kind {
	case kindNull:
		return append(out, "null"...)
	case kindFalse:
		return append(out, "false"...)
	case kindTrue:
		return append(out, "true"...)
	case kindNumber:
		return dl.num(out, d.bytes(n.text))
	case kindString:
		return dl.str(out, d.bytes(n.text))
	case kindArray:
		out = append(out, '[')
		for i, m := range d.members(n) {
			if i > 0 {
				out = append(out, dl.itemSep...)
			}
			out = d.appendForm(out, m, dl)
		}
		return append(out, ']')
	}
	out = append(out, '{')
	members, mark := d.members(n), len(d.jsOrder)
	if dl.jsKeyOrder {
		members = d.jsKeyOrder(members)
	}
	for i, m := range members {
		if i > 0 {
			out = append(out, dl.itemSep...)
		}
		out = dl.str(out, d.bytes(m.key))
		out = append(out, dl.keySep...)
		out = d.appendForm(out, m, dl)
	}
	d.jsOrder = d.jsOrder[:mark]
	return append(out, '}')
}

// jsKeyOrder returns the members in the order a JavaScript object lists its keys. A reordered
// list is made at the end of d.jsOrder, which the caller cuts back when done with it.
func (d *jsonDoc) jsKeyOrder(members []jsonNode) []jsonNode {
	indices := 0
	for _, m := range members {
		if _, ok := jsArrayIndex(d.bytes(m.key)); ok {
			indices++
		}
	}
	if indices == 0 {
		return members
	}
	mark := len(d.jsOrder)
	for _, m := range members {
		if _, ok := jsArrayIndex(d.bytes(m.key)); ok {
			d.jsOrder = append(d.jsOrder, m)
		}
	}
	slices.SortFunc(d.jsOrder[mark:], func(a, b jsonNode) int {
		x, _ := jsArrayIndex(d.bytes(a.key))
		y, _ := jsArrayIndex(d.bytes(b.key))
		return int(x - y)
	})
	for _, m := range members {
		if _, ok := jsArrayIndex(d.bytes(m.key)); !ok {
			d.jsOrder = append(d.jsOrder, m)
		}
	}
	return d.jsOrder[mark:]
}

// jsArrayIndex reports whether key is an array index: the canonical decimal form of an
// integer from 0 to 2^32-2.
func jsArrayIndex(key []byte) (int64, bool) {
	if len(key) == 0 || len(key) > 10 || len(key) > 1 && key[0] == '0' {
		return 0, false
	}
	var n int64
	for _, c := range key {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= 1<<32-2
}

func appendJSString(out, s []byte) []byte { return appendJSONString(out, s, plainForJS, true) }

// appendJSNumber writes Number::toString of the double a JSON literal reads as.
func appendJSNumber(out, lit []byte) []byte {
	f, _ := strconv.ParseFloat(string(lit), 64) // a syntactically valid literal: only ErrRange
	switch {
	case math.IsInf(f, 0):
		return append(out, "null"...) // JSON.stringify writes a non-finite number as null
	case f == 0:
		return append(out, '0') // -0 too
	case f < 0:
		out = append(out, '-')
	}
	var buf [32]byte
	digits, n := floatDigits(buf[:], f)
	k := len(digits)
	switch {
	case k <= n && n <= 21:
		return appendZeros(append(out, digits...), n-k)
	case 0 < n && n <= 21:
		out = append(out, digits[:n]...)
		out = append(out, '.')
		return append(out, digits[n:]...)
	case -6 < n && n <= 0:
		out = append(out, '0', '.')
		return append(appendZeros(out, -n), digits...)
	default:
		return appendDigitsExponent(out, digits, n-1, 1)
	}
}

// --- Python: json.dumps(json.loads(body)), CPython 3 defaults -------------------------------

// pythonForm writes the document the way json.dumps(json.loads(body)) does with default
// arguments:
//   - separators ", " and ": ", keys in their order;
//   - ensure_ascii: `"`, `\` and \b \f \n \r \t as short escapes, every other character outside
//     printable ASCII (DEL included) as lower-case \uXXXX, UTF-16 surrogate pairs above U+FFFF;
//     "/" as it is;
//   - an integer literal is an int, printed exactly ("-0" is 0); a number with a fraction or an
//     exponent is a float, printed by repr: shortest round-trip digits, always with a "." or an
//     exponent ("1.0", "1e+16", "1e-05"), exponent form from 1e16 up and below 1e-4; a literal
//     beyond the double range as Infinity or -Infinity (allow_nan).
//
// It fails where json.loads does: an integer literal over int_max_str_digits.
func (d *jsonDoc) pythonForm(out []byte) ([]byte, error) {
	if d.longInt {
		return nil, errors.New("integer literal longer than Python converts")
	}
	return d.appendForm(out, d.root, &pythonDialect), nil
}

func appendPythonString(out, s []byte) []byte {
	return appendJSONString(out, s, plainForPython, false)
}

// appendPythonNumber writes a JSON number as repr writes what json.loads made of it.
func appendPythonNumber(out, lit []byte) []byte {
	if isIntegerLiteral(lit) {
		if string(lit) == "-0" {
			return append(out, '0')
		}
		return append(out, lit...)
	}
	f, _ := strconv.ParseFloat(string(lit), 64) // a syntactically valid literal: only ErrRange
	if math.Signbit(f) {
		out = append(out, '-')
	}
	switch {
	case math.IsInf(f, 0):
		return append(out, "Infinity"...)
	case f == 0:
		return append(out, '0', '.', '0')
	}
	var buf [32]byte
	digits, point := floatDigits(buf[:], f)
	switch {
	case point <= -4 || point > 16:
		return appendDigitsExponent(out, digits, point-1, 2)
	case point <= 0:
		out = append(out, '0', '.')
		return append(appendZeros(out, -point), digits...)
	case len(digits) <= point:
		out = appendZeros(append(out, digits...), point-len(digits))
		return append(out, '.', '0')
	default:
		out = append(out, digits[:point]...)
		out = append(out, '.')
		return append(out, digits[point:]...)
	}
}
