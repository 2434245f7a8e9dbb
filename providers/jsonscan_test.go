package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// scanFields against what encoding/json makes of the same bodies: the tables below state the
// expected results, and FuzzScanFields checks them against json.Valid and json.Unmarshal on
// arbitrary input (but for nesting, which scanFields bounds far below encoding/json's limit).

func TestScanFields(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		paths []string
		want  map[string]string // raw value by path; a path not listed is absent
	}{
		{
			name:  "documented example",
			body:  string(aghanimExample(t, "player_update.json")),
			paths: []string{"event_type", "event_id", "event_time", "event_data.player_id", "idempotency_key"},
			want: map[string]string{
				"event_type":           `"player.update"`,
				"event_id":             `"whevt_eCacGbJVbvToOgzjXUgOCitkQE"`,
				"event_time":           `1725548450`,
				"event_data.player_id": `"2D2R-OP3C"`,
				"idempotency_key":      `null`,
			},
		},
		{
			name:  "pretty-printed, with line breaks",
			body:  string(aghanimExample(t, "testing.json")),
			paths: []string{"event_type", "event_time", "event_data.player_id"},
			want:  map[string]string{"event_type": `"player.verify"`, "event_data.player_id": `"testplayer"`},
		},
		{
			name:  "values of every kind, whitespace around them not included",
			body:  " {\"s\" : \"x\" ,\t\"n\":-1.5e+3 , \"t\":true,\"f\":false,\"z\":null,\"a\":[1,{\"b\":2}],\"o\":{ }\r\n}\n",
			paths: []string{"s", "n", "t", "f", "z", "a", "o"},
			want: map[string]string{
				"s": `"x"`, "n": `-1.5e+3`, "t": `true`, "f": `false`, "z": `null`, "a": `[1,{"b":2}]`, "o": `{ }`,
			},
		},
		{
			name:  "absent fields",
			body:  `{"a":{"b":1}}`,
			paths: []string{"b", "a.c", "x.b", "a.b.c"},
			want:  map[string]string{},
		},
		{
			name:  "a nested path through a value that is not an object",
			body:  `{"a":[{"b":1}],"c":"d","e":null}`,
			paths: []string{"a.b", "c.d", "e.f"},
			want:  map[string]string{},
		},
		{
			name:  "a field inside an array is not a field of the object",
			body:  `{"a":[{"event_type":"x"}],"b":{"c":["event_type"]}}`,
			paths: []string{"event_type", "b.event_type", "c"},
			want:  map[string]string{},
		},
		{
			name:  "nested field of the same name as a top-level one",
			body:  `{"data":{"event":"inner"},"event":"outer"}`,
			paths: []string{"event", "data.event"},
			want:  map[string]string{"event": `"outer"`, "data.event": `"inner"`},
		},
		{
			name:  "a path and its parent",
			body:  `{"a":{"b":1}}`,
			paths: []string{"a", "a.b"},
			want:  map[string]string{"a": `{"b":1}`, "a.b": `1`},
		},
		{
			name:  "three levels",
			body:  `{"a":{"b":{"c":[true]}}}`,
			paths: []string{"a.b.c"},
			want:  map[string]string{"a.b.c": `[true]`},
		},
		{
			name:  "repeated key: the last wins",
			body:  `{"event_type":"first","event_type":"last"}`,
			paths: []string{"event_type"},
			want:  map[string]string{"event_type": `"last"`},
		},
		{
			name:  "repeated parent: the last replaces the whole object",
			body:  `{"event_data":{"player_id":"p1","x":1},"event_data":{"x":2}}`,
			paths: []string{"event_data.player_id", "event_data.x"},
			want:  map[string]string{"event_data.x": `2`},
		},
		{
			name:  "repeated parent that is no object the second time",
			body:  `{"event_data":{"player_id":"p1"},"event_data":null}`,
			paths: []string{"event_data.player_id"},
			want:  map[string]string{},
		},
		{
			name:  "keys are case-sensitive",
			body:  `{"Event_Type":"a","EVENT_TYPE":"b","event_Data":{"player_id":"p"}}`,
			paths: []string{"event_type", "event_data.player_id"},
			want:  map[string]string{},
		},
		{
			name:  "escaped keys are unescaped",
			body:  `{"event_\u0074ype":"x","event_data":{"player\u005fid":"p"},"\u00e9":1,"a\/b":2}`,
			paths: []string{"event_type", "event_data.player_id", "é", "a/b"},
			want:  map[string]string{"event_type": `"x"`, "event_data.player_id": `"p"`, "é": `1`, "a/b": `2`},
		},
		{
			name:  "escaped and plain spellings of one key: the last wins",
			body:  `{"event_type":"plain","event_\u0074ype":"escaped"}`,
			paths: []string{"event_type"},
			want:  map[string]string{"event_type": `"escaped"`},
		},
		{
			name:  "a key with bytes that are not UTF-8 matches as encoding/json decodes it",
			body:  "{\"\xff\":1,\"\xfe\":2}",
			paths: []string{"\uFFFD"},
			want:  map[string]string{"\uFFFD": `2`},
		},
		{
			name:  "a key with a dot is not a path",
			body:  `{"a.b":1,"a":{"b.c":2}}`,
			paths: []string{"a.b", "a.b.c"},
			want:  map[string]string{},
		},
		{
			name:  "empty key",
			body:  `{"":{"":3}}`,
			paths: []string{"", "."},
			want:  map[string]string{"": `{"":3}`, ".": `3`},
		},
		{
			name:  "string values keep their escapes",
			body:  `{"a":"x\"y\\z\u00e9\n"}`,
			paths: []string{"a"},
			want:  map[string]string{"a": `"x\"y\\z\u00e9\n"`},
		},
		{
			name: "no paths",
			body: `{"a":1}`,
			want: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanFields([]byte(tt.body), tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range tt.paths {
				want, present := tt.want[p]
				if present && string(got[i]) != want || !present && got[i] != nil {
					t.Errorf("%q = %#q, want %#q (present: %v)", p, got[i], want, present)
				}
			}
			for i := len(tt.paths); i < len(got); i++ {
				if got[i] != nil {
					t.Errorf("value %d past the paths: %q", i, got[i])
				}
			}
		})
	}
}

// scanErrorMessage is the form of every scanFields error: a fixed reason and an offset, no part
// of the body.
var scanErrorMessage = regexp.MustCompile(`^body is not a JSON object: [a-z ,\\-]+( at byte [0-9]+)?: body cannot be mapped to an event$`)

func TestScanFieldsSyntax(t *testing.T) {
	tests := []struct {
		body  string
		valid bool
	}{
		{`{}`, true},
		{" \t\r\n{ \t\r\n} \t\r\n", true},
		{`{"a":[]}`, true},
		{`{"a":[[],{},[{}]]}`, true},
		{`{"a":""}`, true},
		{`{"a":"\"\\\/\b\f\n\r\t\u0000\uABCD\uabcd\ud800"}`, true},
		{"{\"a\":\"\u00e9\U0001F389\x7f\"}", true},
		{"{\"a\":\"\xff\xfe\xc3\"}", true}, // not UTF-8: json.Valid accepts it, as does scanFields
		{`{"a":0,"b":-0,"c":0.5,"d":-12.34e+56,"e":1E-2,"f":1e400,"g":123456789012345678901234567890}`, true},
		{`{"a":true,"b":false,"c":null}`, true},

		{``, false},
		{` `, false},
		{`null`, false},
		{`[]`, false},
		{`[{"a":1}]`, false},
		{`"{}"`, false},
		{`1`, false},
		{`true`, false},
		{"\ufeff{}", false}, // a byte order mark
		{`{`, false},
		{`}`, false},
		{`{"a"`, false},
		{`{"a":`, false},
		{`{"a":1`, false},
		{`{"a":1,`, false},
		{`{"a":1,}`, false},
		{`{,}`, false},
		{`{"a" 1}`, false},
		{`{"a"::1}`, false},
		{`{a:1}`, false},
		{`{'a':1}`, false},
		{`{1:1}`, false},
		{`{"a":1 "b":2}`, false},
		{`{"a":[1,]}`, false},
		{`{"a":[,1]}`, false},
		{`{"a":[1 2]}`, false},
		{`{"a":[}`, false},
		{`{"a":{]}`, false},
		{`{"a":]`, false},
		{`{}}`, false},
		{`{}{}`, false},
		{`{} {}`, false},
		{`{}x`, false},
		{`{}]`, false},
		{"{}\x00", false},
		{"{}\v", false},
		{"{\v}", false},
		{"{\u00a0}", false},
		{`{"a":"x}`, false},
		{`{"a":"x\"}`, false},
		{`{"a":"\x"}`, false},
		{`{"a":"\'"}`, false},
		{`{"a":"\u12"}`, false},
		{`{"a":"\u12g4"}`, false},
		{`{"a":"\U1234"}`, false},
		{`{"a":"\`, false},
		{`{"a":"\u`, false},
		{"{\"a\":\"\x00\"}", false},
		{"{\"a\":\"\t\"}", false},
		{"{\"a\":\"\n\"}", false},
		{"{\"a\x1f\":1}", false},
		{`{"a":01}`, false},
		{`{"a":-01}`, false},
		{`{"a":00}`, false},
		{`{"a":+1}`, false},
		{`{"a":-}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1.e5}`, false},
		{`{"a":1e}`, false},
		{`{"a":1e+}`, false},
		{`{"a":1ee5}`, false},
		{`{"a":0x10}`, false},
		{`{"a":NaN}`, false},
		{`{"a":Infinity}`, false},
		{`{"a":-Infinity}`, false},
		{`{"a":tru}`, false},
		{`{"a":True}`, false},
		{`{"a":nul}`, false},
		{`{"a":nulll}`, false},
		{`{"a":falsey}`, false},
		{`{"a":undefined}`, false},
		{`{"a":1}/*comment*/`, false},
	}
	for _, tt := range tests {
		_, err := scanFields([]byte(tt.body), "a")
		if (err == nil) != tt.valid {
			t.Errorf("scanFields(%q): error %v, want valid=%v", tt.body, err, tt.valid)
		}
		if err != nil && (!errors.Is(err, ErrUnmappable) || !scanErrorMessage.MatchString(err.Error())) {
			t.Errorf("scanFields(%q): error %q", tt.body, err)
		}
		if encodingJSON := json.Valid([]byte(tt.body)) && topLevelObject([]byte(tt.body)); encodingJSON != tt.valid {
			t.Errorf("%q: encoding/json says valid=%v", tt.body, encodingJSON)
		}
	}
}

// Nesting is limited to jsonMaxDepth arrays and objects, the top-level object included. A body
// just within maps; one level deeper does not, though encoding/json reads it (its limit is 10,000:
// every body mapped, a consumer's encoding/json reads too). However deep a body goes, the scan
// stops at the first level too many, so its cost is bounded by the limit, not the body.
func TestScanFieldsDepth(t *testing.T) {
	nested := func(depth int, open, close string) []byte {
		return []byte(`{"a":` + strings.Repeat(open, depth-1) + "1" + strings.Repeat(close, depth-1) + "}")
	}
	for _, tt := range []struct {
		name        string
		open, close string
	}{
		{"arrays", "[", "]"},
		{"objects", `{"a":`, "}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, depth := range []int{jsonMaxDepth - 1, jsonMaxDepth, jsonMaxDepth + 1, 3 * jsonMaxDepth, 100_000} {
				body := nested(depth, tt.open, tt.close)
				if got := jsonNesting(body); got != depth {
					t.Fatalf("test body nests %d deep, want %d", got, depth)
				}
				if json.Valid(body) != (depth <= 10000) {
					t.Fatalf("depth %d: json.Valid %v: encoding/json's limit is not 10,000", depth, json.Valid(body))
				}
				f, err := scanFields(body, "a", "a.a")
				if depth <= jsonMaxDepth {
					if err != nil || f[0] == nil {
						t.Errorf("depth %d: %q, %v; want mapped", depth, f[0], err)
					}
					continue
				}
				// The offset is where the first container too many opens.
				at := len(`{"a":`) + (jsonMaxDepth-1)*len(tt.open)
				want := fmt.Sprintf("nesting too deep at byte %d", at)
				if !errors.Is(err, ErrUnmappable) || !strings.Contains(err.Error(), want) {
					t.Errorf("depth %d: error %v, want ErrUnmappable and %q", depth, err, want)
				}
			}
			// The limit is meant to be far below encoding/json's, to keep a scan's stack to tens of
			// KiB (jsonMaxDepth): 1,000 levels, which encoding/json reads, are too many.
			if _, err := scanFields(nested(1000, tt.open, tt.close), "a"); err == nil {
				t.Errorf("1,000 levels mapped; jsonMaxDepth = %d", jsonMaxDepth)
			}
		})
	}
}

// A scan allocates nothing and copies nothing: the values are subslices of the body.
func TestScanFieldsAllocations(t *testing.T) {
	body := aghanimPadded(t)
	allocs := testing.AllocsPerRun(100, func() {
		f, err := scanFields(body, "event_type", "event_id", "event_time", "event_data.player_id")
		if err != nil || f[3] == nil {
			t.Fatal(err)
		}
		if _, ok := jsonStringBytes(f[0]); !ok {
			t.Fatal("event_type is not a string")
		}
		if _, ok := unixSeconds(f[2]); !ok {
			t.Fatal("event_time is not a time")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per scan, want 0", allocs)
	}
}

func TestJSONStringBytes(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		wantOK bool
	}{
		{`"abc"`, "abc", true},
		{`""`, "", true},
		{`"café"`, "café", true},
		{`"a\/b"`, "a/b", true},
		{`"\u00e9\n"`, "é\n", true},
		{"\"\xff\"", "\uFFFD", true}, // as encoding/json decodes it
		{`"\ud800"`, "\uFFFD", true},
		{`"unterminated`, "", false},
		{`"`, "", false},
		{`"a"b"`, "", false},
		{"\"a\tb\"", "", false},
		{`12`, "", false},
		{`null`, "", false},
		{` "a"`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		got, ok := jsonStringBytes([]byte(tt.raw))
		if string(got) != tt.want || ok != tt.wantOK {
			t.Errorf("jsonStringBytes(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
		}
	}
}

func FuzzScanFields(f *testing.F) {
	for _, name := range []string{"player_update.json", "player_verify.json", "store_get.json", "payment_succeeded.json", "testing.json"} {
		f.Add(aghanimExample(f, name))
	}
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		f.Add(userCheckExample(f, name))
	}
	for _, depth := range []int{jsonMaxDepth, jsonMaxDepth + 1} { // counting the top-level object
		f.Add([]byte(`{"a":` + nestedJSON(depth-1, true) + `}`))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Every top-level key and every key of a top-level object, as encoding/json decodes
		// them (a key with a dot cannot be named), and a few that are usually absent.
		paths := []string{"event_type", "event_data.player_id", "a", "a.b"}
		var doc map[string]any
		valid := json.Valid(body) && topLevelObject(body) && jsonNesting(body) <= jsonMaxDepth
		if valid {
			if err := decodeWithNumbers(body, &doc); err != nil {
				t.Fatalf("valid, yet json.Unmarshal fails: %v", err)
			}
			paths = append(paths, fuzzPaths(doc)...)
		}
		for len(paths) > 0 {
			batch := paths[:min(len(paths), maxScanPaths)]
			paths = paths[len(batch):]
			got, err := scanFields(body, batch...)
			if (err == nil) != valid {
				t.Fatalf("scanFields: error %v; json.Valid, an object at the top and within jsonMaxDepth: %v", err, valid)
			}
			if err != nil {
				if !errors.Is(err, ErrUnmappable) || !scanErrorMessage.MatchString(err.Error()) {
					t.Fatalf("error %q", err)
				}
				return
			}
			for i, p := range batch {
				want, present := lookupPath(doc, p)
				if present != (got[i] != nil) {
					t.Fatalf("%q: got %q, want present=%v", p, got[i], present)
				}
				if !present {
					continue
				}
				if !json.Valid(got[i]) || len(bytes.TrimSpace(got[i])) != len(got[i]) {
					t.Fatalf("%q: value %q is not one JSON value without space around it", p, got[i])
				}
				var v any
				if err := decodeWithNumbers(got[i], &v); err != nil || !reflect.DeepEqual(v, want) {
					t.Fatalf("%q: value %q decodes to %#v (%v), encoding/json has %#v", p, got[i], v, err, want)
				}
			}
		}
	})
}

// jsonNesting is how many arrays and objects nest at the deepest point of a JSON text (the
// brackets outside strings; meaningful when the text is JSON). A fuzz oracle that compares a
// mapping with encoding/json must treat a body deeper than jsonMaxDepth as unmappable.
func jsonNesting(body []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// topLevelObject reports whether the first byte after whitespace opens an object.
func topLevelObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// decodeWithNumbers decodes as json.Unmarshal does, but keeps numbers as their literal
// (json.Unmarshal into a float64 fails on a valid 1e400).
func decodeWithNumbers(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// fuzzPaths lists doc's keys and the keys of its objects, in order.
func fuzzPaths(doc map[string]any) []string {
	var paths []string
	for k, v := range doc {
		if strings.Contains(k, ".") {
			continue
		}
		paths = append(paths, k)
		if obj, ok := v.(map[string]any); ok {
			for n := range obj {
				if !strings.Contains(n, ".") {
					paths = append(paths, k+"."+n)
				}
			}
		}
	}
	sort.Strings(paths)
	return paths
}

// lookupPath is the value encoding/json decoded for path.
func lookupPath(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for key := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// aghanimPadded is the documented player.update example padded to 1 KiB with a filler field,
// the last one, as cmd/loadgen pads its bodies.
func aghanimPadded(t testing.TB) []byte {
	t.Helper()
	body := aghanimExample(t, "player_update.json")
	body = bytes.TrimSuffix(body, []byte("}"))
	pad := 1024 - len(body) - len(`,"filler":""}`)
	body = append(body, `,"filler":"`...)
	body = append(body, strings.Repeat("x", pad)...)
	return append(body, `"}`...)
}

func BenchmarkAghanimMap(b *testing.B) {
	req := Request{Header: http.Header{}, Body: aghanimPadded(b)}
	if len(req.Body) != 1024 {
		b.Fatalf("body of %d bytes", len(req.Body))
	}
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Aghanim.Map(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserCheckMap(b *testing.B) {
	req := Request{Header: http.Header{}, Body: userCheckExample(b, "domain_flagged_disposable.json")}
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UserCheck.Map(req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkMap measures p's mapping of req, which must map.
func benchmarkMap(b *testing.B, p *Provider, req Request) {
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Map(req); err != nil {
			b.Fatal(err)
		}
	}
}

// scanFieldsFold against what json.Unmarshal makes of the same bodies when each path's keys are
// the JSON names of nested structs' fields (foldOracle): the table states the expected results,
// which the oracle must agree with, and FuzzScanFieldsFold checks the two on arbitrary input.

func TestScanFieldsFold(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		paths []string
		want  map[string]string // raw value by path; a path not listed is absent
	}{
		{
			name:  "keys in any case",
			body:  `{"Event":"a","ID":1,"workflow_SESSION_id":"w","Member":{"iD":"m"}}`,
			paths: []string{"event", "id", "workflow_session_id", "member.id"},
			want:  map[string]string{"event": `"a"`, "id": `1`, "workflow_session_id": `"w"`, "member.id": `"m"`},
		},
		{
			name:  "exact keys still match",
			body:  `{"event":"a","member":{"id":"m"}}`,
			paths: []string{"event", "member.id"},
			want:  map[string]string{"event": `"a"`, "member.id": `"m"`},
		},
		{
			name:  "for one path the last key wins, exact or not",
			body:  `{"id":1,"ID":2,"status":"x","status":"y","Status":"z","event":"e","EVENT":"E","event":"last"}`,
			paths: []string{"id", "status", "event"},
			want:  map[string]string{"id": `2`, "status": `"z"`, "event": `"last"`},
		},
		{
			name:  "a key goes to the path spelt exactly like it",
			body:  `{"id":1,"ID":2}`,
			paths: []string{"ID", "id"},
			want:  map[string]string{"ID": `2`, "id": `1`},
		},
		{
			name:  "else to the first path it folds to",
			body:  `{"Id":1}`,
			paths: []string{"ID", "id"},
			want:  map[string]string{"ID": `1`},
		},
		{
			name:  "exact and folded keys of one path, among others",
			body:  `{"ID":1,"Id":2,"id":3,"iD":4}`,
			paths: []string{"ID", "id"},
			want:  map[string]string{"ID": `4`, "id": `3`},
		},
		{
			name:  "paths with the same spelling share the key",
			body:  `{"MEMBER":{"ID":"1","NAME":"n"}}`,
			paths: []string{"member.id", "member.name", "Member.id"},
			want:  map[string]string{"member.id": `"1"`, "member.name": `"n"`},
		},
		{
			name:  "a parent in another case replaces the whole value",
			body:  `{"member":{"id":"1","name":"n"},"MEMBER":{"name":"m"}}`,
			paths: []string{"member.id", "member.name"},
			want:  map[string]string{"member.name": `"m"`},
		},
		{
			name:  "a path and its parent",
			body:  `{"A":{"B":1}}`,
			paths: []string{"a", "a.b"},
			want:  map[string]string{"a": `{"B":1}`, "a.b": `1`},
		},
		{
			name:  "escaped keys are unescaped first",
			body:  `{"\u0045vent":"x","St\u0061TUS":"s"}`,
			paths: []string{"event", "status"},
			want:  map[string]string{"event": `"x"`, "status": `"s"`},
		},
		{
			name:  "Unicode simple folding: the Kelvin sign is k, the long s is s, É is é",
			body:  "{\"\u212a\":1,\"\u017fTATUS\":2,\"\u00c9T\u00c9\":3,\"\u03a3\":4}",
			paths: []string{"k", "status", "\u00e9t\u00e9", "\u03c2"},
			want:  map[string]string{"k": `1`, "status": `2`, "\u00e9t\u00e9": `3`, "\u03c2": `4`},
		},
		{
			name:  "no full case mapping, no ignored underscores",
			body:  `{"SS":1,"subjectid":2,"subject-id":3}`,
			paths: []string{"\u00df", "subject_id"},
			want:  map[string]string{},
		},
		{
			name:  "a key with a dot is not a path, whatever its case",
			body:  `{"A.B":1,"a":{"B.C":2}}`,
			paths: []string{"a.b", "a.b.c"},
			want:  map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scanFieldsFold([]byte(tt.body), tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			oracle := foldOracle([]byte(tt.body), tt.paths)
			for i, p := range tt.paths {
				want, present := tt.want[p]
				if present && string(got[i]) != want || !present && got[i] != nil {
					t.Errorf("%q = %#q, want %#q (present: %v)", p, got[i], want, present)
				}
				if !bytes.Equal(oracle[i], got[i]) || (oracle[i] == nil) != (got[i] == nil) {
					t.Errorf("%q = %#q, json.Unmarshal has %#q", p, got[i], oracle[i])
				}
			}
		})
	}
}

// Case-folding changes which keys match, not what JSON is.
func TestScanFieldsFoldSyntax(t *testing.T) {
	for _, body := range []string{``, `null`, `[]`, `{"A":1,}`, `{"A":01}`, `{"A":1}x`, "{\"A\x01\":1}", `{"A":"\u12"}`} {
		if _, err := scanFieldsFold([]byte(body), "a"); !errors.Is(err, ErrUnmappable) || !scanErrorMessage.MatchString(err.Error()) {
			t.Errorf("scanFieldsFold(%q): error %v", body, err)
		}
	}
}

// Matching keys case-insensitively allocates nothing either.
func TestScanFieldsFoldAllocations(t *testing.T) {
	body := []byte(`{"Event":"Session_Updated","ID":4711,"Workflow_Session_ID":null,"Result":{"Errors":[],"Status":"X"},` +
		"\"\u212aey\":1,\"Member\":{\"ID\":\"m\"},\"BankIdSe\":{},\"METHOD\":\"m\",\"status\":\"s\"}")
	allocs := testing.AllocsPerRun(100, func() {
		f, err := scanFieldsFold(body, "event", "id", "workflow_session_id", "identity", "bankidse", "method", "status", "member.id")
		if err != nil || f[0] == nil || f[1] == nil || f[4] == nil || f[7] == nil {
			t.Fatal("a field is missing", err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per scan, want 0", allocs)
	}
}

func TestEqualFold(t *testing.T) {
	pairs := [][2]string{
		{"", ""}, {"a", ""}, {"", "a"}, {"abc", "ABC"}, {"abc", "ABD"}, {"abc", "ab"}, {"a_b", "A_B"},
		{"@", "`"}, {"[", "{"}, {"k", "\u212a"}, {"K", "\u212a"}, {"s", "\u017f"}, {"S", "\u017f"},
		{"\u00e9", "\u00c9"}, {"\u00df", "SS"}, {"\u00df", "\u1e9e"}, {"\u03c3", "\u03c2"}, {"\u03a3", "\u03c2"},
		{"\xff", "\ufffd"}, {"\xff", "\xfe"}, {"a\xff", "A\xff"}, {"\u0130", "i"}, {"\u0131", "I"},
		{"abc\u212a", "ABCk"}, {"\u212aabc", "kABC"}, {"\u212a", "k\u212a"},
	}
	for _, p := range pairs {
		for _, ab := range [][2]string{p, {p[1], p[0]}} {
			if got, want := equalFold([]byte(ab[0]), ab[1]), strings.EqualFold(ab[0], ab[1]); got != want {
				t.Errorf("equalFold(%q, %q) = %v, strings.EqualFold says %v", ab[0], ab[1], got, want)
			}
		}
	}
	// Every rune against the rest of its fold orbit and its neighbours.
	for r := rune(0); r <= unicode.MaxRune; r++ {
		others := []rune{r - 1, r + 1, r ^ 0x20}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			others = append(others, f)
		}
		a := string(r)
		for _, o := range others {
			b := string(o)
			if equalFold([]byte(a), b) != strings.EqualFold(a, b) {
				t.Fatalf("equalFold(%q, %q) = %v, strings.EqualFold says otherwise", a, b, !strings.EqualFold(a, b))
			}
		}
	}
}

// matchName is the rule of scanFieldsFold for one key: the name spelt like the key, else the
// first that folds to it.
func TestMatchName(t *testing.T) {
	names := []string{"event", "ID", "id", "BankIDSE", "k"}
	for key, want := range map[string]int{
		"event": 0, "EVENT": 0, "ID": 1, "id": 2, "Id": 1, "iD": 1, "bankidse": 3, "BankIDSE": 3,
		"\u212a": 4, "K": 4, "": -1, "ev": -1, "events": -1, "e.vent": -1, "bank_idse": -1,
	} {
		if got := matchName(names, []byte(key)); got != want {
			t.Errorf("matchName(%q) = %d, want %d", key, got, want)
		}
		// As json.Unmarshal into a struct of these fields, and as scanFieldsFold.
		body, _ := json.Marshal(map[string]int{key: 1})
		got := -1
		for i, v := range foldOracle(body, names) {
			if v != nil {
				got = i
			}
		}
		if key != "" && got != want {
			t.Errorf("json.Unmarshal sets field %d for %q, matchName says %d", got, key, want)
		}
		f, _ := scanFieldsFold(body, names...)
		for i := range names {
			if (f[i] != nil) != (i == want) {
				t.Errorf("scanFieldsFold(%s) sets %q: %v; matchName says %d", body, names[i], f[i] != nil, want)
			}
		}
	}
}

func FuzzScanFieldsFold(f *testing.F) {
	for _, name := range []string{"player_update.json", "testing.json"} {
		f.Add(aghanimExample(f, name))
	}
	f.Add(userCheckExample(f, "domain_flagged_spam.json"))
	for _, p := range [][2]string{
		{"altdentifier", "test.json"}, {"altdentifier", "verification_failed.json"},
		{"centrepoint", "upload_completed.json"}, {"centrepoint", "raw_processing_complete.json"},
		{"zignsec", "identification_result.json"}, {"zignsec", "session_created_capitalised.json"}, {"zignsec", "sms_status.json"},
	} {
		f.Add(providerPayload(f, p[0], p[1]))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Fixed paths in several spellings, then every top-level key and every key of a
		// top-level object, each followed by spellings that fold to it.
		paths := []string{"event", "EVENT", "id", "Id", "member.id", "MEMBER.ID", "k", "\u212a", "S.\u017f"}
		var doc map[string]any
		valid := json.Valid(body) && topLevelObject(body) && jsonNesting(body) <= jsonMaxDepth
		if valid {
			if err := decodeWithNumbers(body, &doc); err != nil {
				t.Fatalf("valid, yet json.Unmarshal fails: %v", err)
			}
			for _, p := range fuzzPaths(doc) {
				paths = append(paths, p, foldNext(p), foldNext(foldNext(p)), strings.ToUpper(p))
			}
		}
		// Keys that cannot name a struct field by its tag have no oracle.
		paths = slices.DeleteFunc(paths, func(p string) bool {
			for key := range strings.SplitSeq(p, ".") {
				if !isValidJSONTag(key) {
					return true
				}
			}
			return false
		})
		seen := map[string]bool{}
		paths = slices.DeleteFunc(paths, func(p string) bool { defer func() { seen[p] = true }(); return seen[p] })

		for len(paths) > 0 {
			batch := paths[:min(len(paths), maxScanPaths)]
			paths = paths[len(batch):]
			got, err := scanFieldsFold(body, batch...)
			if (err == nil) != valid {
				t.Fatalf("scanFieldsFold: error %v; json.Valid, an object at the top and within jsonMaxDepth: %v", err, valid)
			}
			if err != nil {
				if !errors.Is(err, ErrUnmappable) || !scanErrorMessage.MatchString(err.Error()) {
					t.Fatalf("error %q", err)
				}
				return
			}
			want := foldOracle(body, batch)
			for i, p := range batch {
				if !bytes.Equal(got[i], want[i]) || (got[i] == nil) != (want[i] == nil) {
					t.Fatalf("paths %q: %q = %#q, json.Unmarshal has %#q", batch, p, got[i], want[i])
				}
			}
		}
	})
}

// foldOracle is what json.Unmarshal makes of raw for each path when the paths' keys are the JSON
// names of a struct's json.RawMessage fields, in the order the paths first name them: a nested
// path's value is then decoded from its parent's raw value in the same way. A value is nil when
// absent. Every key must be a valid tag name (isValidJSONTag).
func foldOracle(raw []byte, paths []string) [][]byte {
	values := make([][]byte, len(paths))
	var keys []string
	for _, p := range paths {
		if key, _, _ := strings.Cut(p, "."); !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	fields := make([]reflect.StructField, len(keys))
	for i, key := range keys {
		fields[i] = reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: reflect.TypeFor[json.RawMessage](),
			Tag:  reflect.StructTag(`json:` + strconv.Quote(key)),
		}
	}
	v := reflect.New(reflect.StructOf(fields))
	if json.Unmarshal(raw, v.Interface()) != nil {
		return values // not an object
	}
	for k, key := range keys {
		field := v.Elem().Field(k).Bytes()
		if field == nil {
			continue
		}
		var nested []string
		var at []int
		for i, p := range paths {
			switch first, rest, ok := strings.Cut(p, "."); {
			case first != key:
			case !ok:
				values[i] = field
			default:
				nested, at = append(nested, rest), append(at, i)
			}
		}
		if len(nested) > 0 {
			for j, value := range foldOracle(field, nested) {
				values[at[j]] = value
			}
		}
	}
	return values
}

// isValidJSONTag is encoding/json's test of a tag name, without which it names the field by its
// Go name; "-" leaves the field out.
func isValidJSONTag(s string) bool {
	if s == "" || s == "-" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}

// foldNext replaces each character of s with the next in its fold orbit (k with the Kelvin sign,
// the Kelvin sign with K, K with k): the same key to encoding/json, another spelling.
func foldNext(s string) string {
	return strings.Map(unicode.SimpleFold, s)
}
