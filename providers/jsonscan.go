package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A mapping needs three or four fields of a body that is mostly other data. scanFields reads
// them in one pass over the raw body, checking on the way that the body is JSON, and hands back
// each field's value as a subslice of the body: no copy, no reflection, nothing allocated.
// (json.Unmarshal into a struct scans a body twice, once to validate it and once to decode it,
// and copies every json.RawMessage: under load it was ~29% of the request handler's CPU.)

// jsonMaxDepth is how many arrays and objects may nest, the outermost included, in a body that
// scanFields maps and that UserCheck's re-encoder (parseJSONDoc) reads. Both descend
// recursively, at 100 to 330 bytes of stack a level: 256 levels cost at most about 85 KiB of a
// request's stack, where encoding/json's 10,000 would cost about 3 MiB. Webhook payloads nest a
// few levels (the documented examples in testdata/ four at most); 256 leaves room for the
// deepest JSON a generic HMAC sender plausibly sends (nested rich-text trees) and stays under
// each UserCheck sample's own limit (PHP's json_decode admits 511 levels). A deeper body is
// published as unmapped and gets no re-encoded form; reading stops at the first level too many.
//
// encoding/json admits 10,000 levels, so every body mapped here it reads too, which is the
// direction that matters: a consumer decoding a mapped event's data with it never meets its limit.
// The bridge itself hands webhook bodies to encoding/json only to decode single strings (decodeKey,
// jsonStringBytes), which cannot nest.
const jsonMaxDepth = 256

// maxScanPaths bounds the paths of one scanFields call, so that its result needs no allocation.
const maxScanPaths = 8

// scanFields checks that body is one JSON object (RFC 8259; exactly what json.Valid accepts,
// bytes that are not UTF-8 included, plus the top level being an object and at most jsonMaxDepth
// levels of nesting) and returns, for each path in order, the raw value it names, or nil when the
// body has no such field.
//
// A path is a key ("event_type") or keys joined by dots ("event_data.player_id") naming a field
// of nested objects; a key that contains a dot cannot be named. Keys match exactly, after
// unescaping (scanFieldsFold matches them as encoding/json matches struct fields). When a key
// repeats, the last one wins, as with json.Unmarshal.
//
// An error wraps ErrUnmappable and never quotes the body.
func scanFields(body []byte, paths ...string) (values [maxScanPaths][]byte, err error) {
	return scanJSON(body, false, paths)
}

// scanFieldsFold is scanFields with keys matched as json.Unmarshal matches a key to a struct
// field, each path's keys being the JSON names of nested structs' fields: a key names the path
// whose key is spelt exactly like it, else the first path (in the order given) whose key equals
// it under Unicode simple case folding (strings.EqualFold: "Event", "EVENT" and "event" are one
// key, and so are "k" and "\u212a", the Kelvin sign), and with it every other path whose key is
// spelt the same way. So an exact spelling wins only over another path's folded spelling; for
// one path, the last key that matches it either way wins, whatever its case, as with
// json.Unmarshal ({"id":1,"ID":2} gives 2 for "id"). A repeated parent replaces the whole value
// of the first, as json.Unmarshal into a json.RawMessage does.
func scanFieldsFold(body []byte, paths ...string) (values [maxScanPaths][]byte, err error) {
	return scanJSON(body, true, paths)
}

func scanJSON(body []byte, fold bool, paths []string) (values [maxScanPaths][]byte, err error) {
	if len(paths) > maxScanPaths {
		panic("scanFields: too many paths")
	}
	s := jsonScan{body: body, npaths: len(paths), fold: fold}
	copy(s.paths[:], paths)
	s.skipSpace()
	switch {
	case s.i == len(body):
		return values, fmt.Errorf("body is not a JSON object: no value: %w", ErrUnmappable)
	case body[s.i] != '{':
		return values, fmt.Errorf("body is not a JSON object: the top-level value is not an object: %w", ErrUnmappable)
	}
	if s.value(1<<len(paths)-1, 0, 0) {
		s.skipSpace()
		if s.i < len(body) {
			s.fail = "data after the object"
		}
	}
	if s.fail != "" {
		return values, fmt.Errorf("body is not a JSON object: %s at byte %d: %w", s.fail, s.i, ErrUnmappable)
	}
	for p, span := range s.found[:len(paths)] {
		if span.end != 0 { // no value ends at 0: the object opens before any value
			values[p] = body[span.start:span.end:span.end]
		}
	}
	return values, nil
}

// jsonScan is the state of one scanFields call. It holds copies of the paths and the offsets of
// the values found, not slices, so that the compiler can keep it and the caller's paths on the
// stack.
type jsonScan struct {
	body   []byte
	i      int // the next byte to read
	paths  [maxScanPaths]string
	npaths int
	fold   bool // keys match as scanFieldsFold says
	found  [maxScanPaths]struct{ start, end int }
	fail   string // why body is not JSON; i is then at the offending byte
}

// value reads the value at s.i. active holds the paths (a bit per index) that the keys leading
// to this value have matched so far, and whose next key starts at offset; they are looked up
// further if the value is an object. depth is the number of containers around the value.
func (s *jsonScan) value(active uint8, offset, depth int) bool {
	if s.i == len(s.body) {
		return s.failAt("unexpected end")
	}
	switch s.body[s.i] {
	case '{':
		return s.object(active, offset, depth+1)
	case '[':
		return s.array(depth + 1)
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		end, ok := scanNumber(s.body, s.i)
		s.i = end
		if !ok {
			return s.failAt("unexpected character")
		}
		return true
	}
}

func (s *jsonScan) object(active uint8, offset, depth int) bool {
	if depth > jsonMaxDepth {
		return s.failAt("nesting too deep")
	}
	s.i++ // '{'
	s.skipSpace()
	if s.i < len(s.body) && s.body[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i == len(s.body) || s.body[s.i] != '"' {
			return s.failAt("expected a key")
		}
		keyStart := s.i
		needsDecode, ok := s.str()
		if !ok {
			return false
		}
		key := s.body[keyStart:s.i]
		s.skipSpace()
		if s.i == len(s.body) || s.body[s.i] != ':' {
			return s.failAt("expected a colon")
		}
		s.i++
		s.skipSpace()

		// The paths this key ends (targets) and those it leads into (child).
		var targets, child uint8
		keyLen := 0
		if active != 0 {
			name := key[1 : len(key)-1]
			if needsDecode {
				name = decodeKey(key)
			}
			for p := range s.npaths {
				if active&(1<<p) == 0 {
					continue
				}
				rest := s.paths[p][offset:]
				switch {
				case len(rest) < len(name) || rest[:len(name)] != string(name):
				case bytes.IndexByte(name, '.') >= 0: // a match across a dot: no path names this key
				case len(rest) == len(name):
					targets |= 1 << p
				case rest[len(name)] == '.':
					child |= 1 << p
				}
			}
			keyLen = len(name)
			if targets|child == 0 && s.fold {
				targets, child, keyLen = matchKeyFolded(s.paths[:s.npaths], active, offset, name)
			}
			for m := child; m != 0; m &= m - 1 {
				s.found[bits.TrailingZeros8(m)].end = 0 // a repeated key replaces the whole value the first one had
			}
		}
		start := s.i
		if !s.value(child, offset+keyLen+1, depth) {
			return false
		}
		for p := 0; targets != 0; p++ {
			if targets&(1<<p) != 0 {
				s.found[p].start, s.found[p].end = start, s.i
				targets &^= 1 << p
			}
		}

		s.skipSpace()
		if s.i == len(s.body) {
			return s.failAt("unexpected end")
		}
		switch s.body[s.i] {
		case ',':
			s.i++
			s.skipSpace()
		case '}':
			s.i++
			return true
		default:
			return s.failAt("expected a comma or the end of the object")
		}
	}
}

// matchName is scanFieldsFold's rule for one key and names without dots (at most maxScanPaths):
// it returns the index of the name spelt exactly like the key, else of the first name that folds
// to it, else -1. ZignSec's XML reading uses it, so that an element names the field a JSON key of
// the same name would.
func matchName(names []string, key []byte) int {
	if len(names) > maxScanPaths {
		panic("matchName: too many names")
	}
	for i, name := range names {
		if name == string(key) {
			return i
		}
	}
	if targets, _, _ := matchKeyFolded(names, 1<<len(names)-1, 0, key); targets != 0 {
		return bits.TrailingZeros8(targets)
	}
	return -1
}

// matchKeyFolded is scanFieldsFold's matching of a key that no path in active (all of whose
// keys before offset have matched) spells exactly so: the first path whose next key folds to it
// names the field, and every path with the same spelling of that key goes with it. It returns the
// paths the key ends (targets) and those it leads into (child), and the length of their key.
func matchKeyFolded(paths []string, active uint8, offset int, name []byte) (targets, child uint8, keyLen int) {
	for m := active; m != 0; m &= m - 1 {
		rest := paths[bits.TrailingZeros8(m)][offset:]
		key := rest
		if dot := strings.IndexByte(rest, '.'); dot >= 0 {
			key = rest[:dot]
		}
		if !equalFold(name, key) {
			continue
		}
		for ; m != 0; m &= m - 1 {
			p := bits.TrailingZeros8(m)
			switch rest := paths[p][offset:]; {
			case len(rest) < len(key) || rest[:len(key)] != key:
			case len(rest) == len(key):
				targets |= 1 << p
			case rest[len(key)] == '.':
				child |= 1 << p
			}
		}
		return targets, child, len(key)
	}
	return 0, 0, 0
}

// equalFold reports whether key and name are equal under Unicode simple case folding, as
// strings.EqualFold(string(key), name) does (and so as encoding/json folds names), without
// converting key.
func equalFold(key []byte, name string) bool {
	i := 0
	for n := min(len(key), len(name)); i < n; i++ {
		a, b := key[i], name[i]
		if a|b >= utf8.RuneSelf {
			return equalFoldRunes(key[i:], name[i:])
		}
		if a == b {
			continue
		}
		if b < a {
			a, b = b, a
		}
		if 'A' <= a && a <= 'Z' && b == a+'a'-'A' {
			continue
		}
		return false
	}
	return len(key) == len(name)
}

// equalFoldRunes is equalFold from the first byte that is not ASCII on.
func equalFoldRunes(key []byte, name string) bool {
	for len(key) > 0 && len(name) > 0 {
		a, size := utf8.DecodeRune(key)
		key = key[size:]
		b, size := utf8.DecodeRuneInString(name)
		name = name[size:]
		if a == b {
			continue
		}
		if b < a {
			a, b = b, a
		}
		if b < utf8.RuneSelf {
			if 'A' <= a && a <= 'Z' && b == a+'a'-'A' {
				continue
			}
			return false
		}
		// The runes of one fold orbit, from a on, in increasing order and then wrapping.
		r := unicode.SimpleFold(a)
		for r != a && r < b {
			r = unicode.SimpleFold(r)
		}
		if r != b {
			return false
		}
	}
	return len(key) == 0 && len(name) == 0
}

func (s *jsonScan) array(depth int) bool {
	if depth > jsonMaxDepth {
		return s.failAt("nesting too deep")
	}
	s.i++ // '['
	s.skipSpace()
	if s.i < len(s.body) && s.body[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(0, 0, depth) {
			return false
		}
		s.skipSpace()
		if s.i == len(s.body) {
			return s.failAt("unexpected end")
		}
		switch s.body[s.i] {
		case ',':
			s.i++
			s.skipSpace()
		case ']':
			s.i++
			return true
		default:
			return s.failAt("expected a comma or the end of the array")
		}
	}
}

// plainStringByte marks the bytes that stand for themselves in a JSON string and need no
// further look: not a quote, a backslash, a control character or part of a multi-byte UTF-8
// sequence.
var plainStringByte = func() (plain [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	return plain
}()

// str reads the string at s.i and reports whether its characters differ from its raw bytes:
// it has escapes, or bytes that are not UTF-8 (which encoding/json turns into U+FFFD).
func (s *jsonScan) str() (needsDecode, ok bool) {
	b := s.body
	ascii := true
	i := s.i + 1
	for {
		for i < len(b) && plainStringByte[b[i]] {
			i++
		}
		if i == len(b) {
			s.i = i
			return false, s.failAt("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			if !ascii && !needsDecode {
				needsDecode = !utf8.Valid(b[s.i+1 : i])
			}
			s.i = i + 1
			return needsDecode, true
		case c == '\\':
			needsDecode = true
			if i+1 == len(b) {
				s.i = i + 1
				return false, s.failAt("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					s.i = i
					return false, s.failAt("malformed \\u escape")
				}
				i += 6
			default:
				s.i = i
				return false, s.failAt("unknown escape")
			}
		case c < 0x20:
			s.i = i
			return false, s.failAt("control character in a string")
		default: // c >= 0x80
			ascii = false
			i++
		}
	}
}

func (s *jsonScan) literal(word string) bool {
	if len(s.body)-s.i < len(word) || string(s.body[s.i:s.i+len(word)]) != word {
		return s.failAt("unexpected character")
	}
	s.i += len(word)
	return true
}

func (s *jsonScan) skipSpace() {
	for s.i < len(s.body) {
		switch s.body[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) failAt(reason string) bool {
	s.fail = reason
	return false
}

// scanNumber reads the JSON number at b[i:] and returns where it ends; ok is false, with end
// at the offending byte, when there is none. Grammar (RFC 8259, section 6):
// [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "-" / "+" ] 1*DIGIT ]
func scanNumber(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decodeKey returns the characters of a key (quotes included) that has escapes or bytes that
// are not UTF-8, as encoding/json decodes them. It allocates, but such keys are rare; it copies
// the key first so that no part of the body is handed to json.Unmarshal, which would make the
// compiler move a scan's state to the heap.
func decodeKey(key []byte) []byte {
	var s string
	if json.Unmarshal(append([]byte(nil), key...), &s) != nil {
		return nil
	}
	return []byte(s)
}

// jsonStringBytes returns the characters of raw, a JSON string: a subslice of raw when it has
// no escapes and is UTF-8, else a decoded copy (encoding/json's decoding, invalid UTF-8 turned
// into U+FFFD). ok is false when raw is not a JSON string.
func jsonStringBytes(raw []byte) (chars []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	inner := raw[1 : len(raw)-1]
	plain, ascii := true, true
	for _, c := range inner {
		if c == '"' || c == '\\' || c < 0x20 {
			plain = false
			break
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if plain && (ascii || utf8.Valid(inner)) {
		return inner, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// jsonString is jsonStringBytes as a string of its own (the body's bytes may not outlive the
// request; an Event does).
func jsonString(raw []byte) (string, bool) {
	chars, ok := jsonStringBytes(raw)
	return string(chars), ok
}

// jsonScalarText returns the text of a JSON string (its characters, as jsonStringBytes) or of a
// JSON number (its literal); ok is false for any other value.
func jsonScalarText(raw []byte) (text []byte, ok bool) {
	if len(raw) == 0 {
		return nil, false
	}
	if raw[0] == '"' {
		return jsonStringBytes(raw)
	}
	if end, ok := scanNumber(raw, 0); ok && end == len(raw) {
		return raw, true
	}
	return nil, false
}
