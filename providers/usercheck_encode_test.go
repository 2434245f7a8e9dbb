package providers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/big"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The re-encodings UserCheck's receiver samples sign
// (https://www.usercheck.com/docs/webhooks/security), one table per language. Each table holds
// what the language itself printed for the input, written out here; the tests never run PHP,
// Node.js or Python (but for TestPHPJSONEncodeMatchesPHP, where php happens to be installed).

func phpJSONEncode(body []byte) ([]byte, error) {
	doc, err := parseJSONDoc(body)
	if err != nil {
		return nil, err
	}
	return doc.phpForm(nil)
}

func jsJSONEncode(body []byte) ([]byte, error) {
	doc, err := parseJSONDoc(body)
	if err != nil {
		return nil, err
	}
	return doc.jsForm(nil)
}

func pythonJSONEncode(body []byte) ([]byte, error) {
	doc, err := parseJSONDoc(body)
	if err != nil {
		return nil, err
	}
	return doc.pythonForm(nil)
}

// phpJSONEncodeTests are inputs and what PHP 8.2 prints for
// echo json_encode(json_decode($in, true)); with default flags and ini settings
// (serialize_precision = -1).
var phpJSONEncodeTests = []struct {
	name string
	in   string
	want string
}{
	{"documented example unchanged", `{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`,
		`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`},
	{"pretty-printed", userCheckPrettyBody, userCheckPrettyPHP},
	{"whitespace around", " \t\r\n[ 1 , 2 ]\n", `[1,2]`},
	{"slash escaped", `"a/b"`, `"a\/b"`},
	{"escaped slash stays escaped", `"a\/b"`, `"a\/b"`},
	{"non-ASCII as lower-case \\u", `"é"`, `"\u00e9"`},
	{"upper-case escape in, lower-case out", `"\u00E9"`, `"\u00e9"`},
	{"BMP beyond Latin-1", `"€ 日本"`, `"\u20ac \u65e5\u672c"`},
	{"emoji as a surrogate pair", `"😀"`, `"\ud83d\ude00"`},
	{"escaped surrogate pair", `"\uD83D\uDE00"`, `"\ud83d\ude00"`},
	{"U+FFFD", "\"\uFFFD\"", `"\ufffd"`},
	{"line and paragraph separators", "\"\u2028\u2029\"", `"\u2028\u2029"`},
	{"short escapes", `"\"\\\b\f\n\r\t"`, `"\"\\\b\f\n\r\t"`},
	{"control characters", `"\u0000\u0001\u001f\u000b"`, `"\u0000\u0001\u001f\u000b"`},
	{"DEL is printable to PHP", `"\u007f"`, "\"\x7f\""},
	{"HTML characters not escaped", `"<a href='x'>&</a>"`, `"<a href='x'>&<\/a>"`},
	{"escaped backslash before u: no surrogate", `"\\ud800"`, `"\\ud800"`},
	{"empty string", `""`, `""`},
	{"empty object becomes an empty array", `{}`, `[]`},
	{"empty array", `[]`, `[]`},
	{"nested empty object", `{"a":{},"b":[{}]}`, `{"a":[],"b":[[]]}`},
	{"key order kept", `{"b":1,"a":2,"c":3}`, `{"b":1,"a":2,"c":3}`},
	{"keys 0, 1 in order become a list", `{"0":"a","1":"b"}`, `["a","b"]`},
	{"keys 1, 0 stay an object", `{"1":"a","0":"b"}`, `{"1":"a","0":"b"}`},
	{"key 1 alone stays an object", `{"1":"a"}`, `{"1":"a"}`},
	{"non-canonical numeric keys stay strings", `{"-0":1,"01":2}`, `{"-0":1,"01":2}`},
	{"empty key", `{"":1}`, `{"":1}`},
	{"escaped key", `{"a/b":1,"\u00e9":2}`, `{"a\/b":1,"\u00e9":2}`},
	{"nested arrays", `[[1,[2,[3]]],[]]`, `[[1,[2,[3]]],[]]`},
	{"literals", `[true,false,null]`, `[true,false,null]`},
	{"top-level scalar", `"x"`, `"x"`},
	{"top-level null", `null`, `null`},
	{"integer", `42`, `42`},
	{"negative integer", `-7`, `-7`},
	{"minus zero integer is 0", `-0`, `0`},
	{"largest int64 kept", `9223372036854775807`, `9223372036854775807`},
	{"smallest int64 kept", `-9223372036854775808`, `-9223372036854775808`},
	{"large int kept exactly", `9007199254740993`, `9007199254740993`},
	{"beyond int64: a double", `9223372036854775808`, `9.223372036854776e+18`},
	{"beyond int64, 20 digits", `12345678901234567890`, `1.2345678901234567e+19`},
	{"1.0 loses its fraction", `1.0`, `1`},
	{"1.50", `1.50`, `1.5`},
	{"1e3", `1e3`, `1000`},
	{"1E2", `1E2`, `100`},
	{"0.1", `0.1`, `0.1`},
	{"0.30000000000000004", `0.30000000000000004`, `0.30000000000000004`},
	{"0.0001 in plain form", `0.0001`, `0.0001`},
	{"0.00001 in exponent form", `0.00001`, `1.0e-5`},
	{"1.5e-7", `1.5e-7`, `1.5e-7`},
	{"1e15 in plain form", `1e15`, `1000000000000000`},
	{"1e16 in plain form", `1e16`, `10000000000000000`},
	{"1e17 in exponent form", `1e17`, `1.0e+17`},
	{"negative exponent form", `-1.25e+30`, `-1.25e+30`},
	{"123.456e5", `123.456e5`, `12345600`},
	{"minus zero double", `-0.0`, `-0`},
	{"underflow to zero", `1e-400`, `0`},
	{"underflow to minus zero", `-1e-400`, `-0`},
	{"smallest denormal", `5e-324`, `5.0e-324`},
	{"largest double", `1.7976931348623157e308`, `1.7976931348623157e+308`},
	{"mixed", `{"n":[1,1.0,-2.5e-5,"1.0"],"s":"/"}`, `{"n":[1,1,-2.5e-5,"1.0"],"s":"\/"}`},
}

func TestPHPJSONEncode(t *testing.T) {
	for _, tt := range phpJSONEncodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := phpJSONEncode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("phpJSONEncode(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// phpJSONEncodeFailures are inputs on which PHP's json_decode or json_encode fails, so that the
// PHP sample could not have signed anything.
var phpJSONEncodeFailures = []struct {
	name string
	in   string
}{
	{"empty", ``},
	{"blank", ` `},
	{"not JSON", `event=x`},
	{"trailing comma", `[1,]`},
	{"two values", `1 2`},
	{"trailing data", `{"a":1}}`},
	{"byte order mark", "\uFEFF[1]"},
	{"invalid UTF-8", "\"\xff\""},
	{"unpaired high surrogate", `"\ud800"`},
	{"high surrogate before a non-surrogate", `"\ud800\u0041"`},
	{"unpaired low surrogate", `"\udc00"`},
	{"surrogates in the wrong order", `"\udc00\ud800"`},
	{"unpaired surrogate, though replaced", `{"a":"\ud800","a":1}`},
	{"infinite double", `1e400`},
	{"infinite negative double", `[-1e400]`},
	{"infinite double in an object", `{"a":1e400}`},
	{"512 nested arrays", strings.Repeat("[", 512) + strings.Repeat("]", 512)},
	{"512 nested objects", strings.Repeat(`{"a":`, 512) + "1" + strings.Repeat("}", 512)},
}

func TestPHPJSONEncodeFails(t *testing.T) {
	for _, tt := range phpJSONEncodeFailures {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := phpJSONEncode([]byte(tt.in)); err == nil {
				t.Fatalf("phpJSONEncode(%q) = %s, want an error", tt.in, got)
			}
		})
	}
}

// nestedJSON is depth arrays, or depth objects with the key "a" around a 1.
func nestedJSON(depth int, objects bool) string {
	if objects {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// A document nested jsonMaxDepth deep has each form (compact, it is the PHP and JavaScript form as
// it is; Python adds a space after each colon); one level more has none, and neither has one
// nested 100,000 deep, which is refused at the first level too many instead of costing a stack
// frame a level.
func TestParseJSONDocDepth(t *testing.T) {
	forms := []struct {
		name   string
		encode func([]byte) ([]byte, error)
		want   func(in string) string
	}{
		{"PHP", phpJSONEncode, func(in string) string { return in }},
		{"JavaScript", jsJSONEncode, func(in string) string { return in }},
		{"Python", pythonJSONEncode, func(in string) string { return strings.ReplaceAll(in, `":`, `": `) }},
	}
	tests := []struct {
		name    string
		depth   int
		objects bool
		wantErr error
	}{
		{name: "arrays at the limit", depth: jsonMaxDepth},
		{name: "objects at the limit", depth: jsonMaxDepth, objects: true},
		{name: "arrays one level over", depth: jsonMaxDepth + 1, wantErr: errJSONTooDeep},
		{name: "objects one level over", depth: jsonMaxDepth + 1, objects: true, wantErr: errJSONTooDeep},
		{name: "100,000 arrays", depth: 100_000, wantErr: errJSONTooDeep},
		{name: "100,000 objects", depth: 100_000, objects: true, wantErr: errJSONTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := nestedJSON(tt.depth, tt.objects)
			if _, err := parseJSONDoc([]byte(in)); !errors.Is(err, tt.wantErr) {
				t.Fatalf("parseJSONDoc: error %v, want %v", err, tt.wantErr)
			}
			for _, f := range forms {
				got, err := f.encode([]byte(in))
				switch {
				case !errors.Is(err, tt.wantErr):
					t.Errorf("%s form: error %v, want %v", f.name, err, tt.wantErr)
				case err == nil && string(got) != f.want(in):
					t.Errorf("%s form %.40q…, want %.40q…", f.name, got, f.want(in))
				}
			}
		})
	}
}

// TestPHPJSONEncodeMatchesPHP puts both tables through PHP itself where it is installed (the
// tables were made with PHP 8.2's php-cli); elsewhere it is skipped.
func TestPHPJSONEncodeMatchesPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skip("php is not installed")
	}
	const script = `while (($l = fgets(STDIN)) !== false) {
		$v = json_decode(base64_decode(trim($l)), true);
		$o = json_last_error() === JSON_ERROR_NONE ? json_encode($v) : false;
		echo $o === false ? "-" : base64_encode($o), "\n";
	}`
	type phpCase struct{ name, in, want string } // want "-": PHP fails
	var cases []phpCase
	var stdin bytes.Buffer
	for _, tt := range phpJSONEncodeTests {
		cases = append(cases, phpCase{tt.name, tt.in, tt.want})
	}
	for _, tt := range phpJSONEncodeFailures {
		cases = append(cases, phpCase{tt.name, tt.in, "-"})
	}
	for _, c := range cases {
		stdin.WriteString(base64.StdEncoding.EncodeToString([]byte(c.in)) + "\n")
	}
	cmd := exec.CommandContext(t.Context(), php, "-r", script)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("php answered %d lines for %d inputs", len(lines), len(cases))
	}
	for i, c := range cases {
		got := lines[i]
		if got != "-" {
			b, err := base64.StdEncoding.DecodeString(got)
			if err != nil {
				t.Fatalf("php: %v", err)
			}
			got = string(b)
		}
		if got != c.want {
			t.Errorf("%s: PHP writes %q for %q, the table says %q", c.name, got, c.in, c.want)
		}
	}
}

func FuzzPHPJSONEncode(f *testing.F) {
	for _, tt := range phpJSONEncodeTests {
		f.Add([]byte(tt.in))
	}
	for _, name := range []string{"domain_flagged_disposable.json", "domain_flagged_relay.json", "domain_flagged_spam.json"} {
		f.Add(userCheckExample(f, name))
	}
	f.Add([]byte(`"\ud800"`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := phpJSONEncode(in)
		if err != nil {
			if json.Valid(in) && !phpRejects(err) && !bridgeRefuses(err) {
				t.Fatalf("valid JSON %q: %v", in, err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("invalid JSON %q encoded as %q", in, out)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("%q encoded as invalid JSON %q", in, out)
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c >= 0x80 || c == '/' || c < 0x20 {
				t.Fatalf("%q encoded with a raw %q: %q", in, c, out)
			} else if c == '\\' {
				i++ // an escape's second character
			}
		}
		var vin, vout any
		decodeNumbers(t, in, &vin)
		decodeNumbers(t, out, &vout)
		if !phpEqual(vin, vout) {
			t.Fatalf("%q encoded as %q: different values", in, out)
		}
		// Re-encoding changes nothing, but for PHP's own exception: the double -0 is written
		// "-0", which decodes as the integer 0.
		again, err := phpJSONEncode(out)
		if err != nil || !bytes.Equal(again, out) && !bytes.Contains(out, []byte("-0")) {
			t.Fatalf("re-encoding %q gives %q, %v", out, again, err)
		}
		if thrice, err := phpJSONEncode(again); err != nil || !bytes.Equal(thrice, again) {
			t.Fatalf("re-encoding %q gives %q, %v", again, thrice, err)
		}
	})
}

// phpRejects reports whether err is one of the failures PHP has too (TestPHPJSONEncodeFails).
func phpRejects(err error) bool {
	for _, s := range []string{"UTF-8", "surrogate", "Inf"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// bridgeRefuses reports whether err is a refusal of the bridge's own, of a document the
// languages read: a repeated key, or nesting deeper than jsonMaxDepth.
func bridgeRefuses(err error) bool {
	return errors.Is(err, errRepeatedKey) || errors.Is(err, errJSONTooDeep)
}

func decodeNumbers(t *testing.T, b []byte, v *any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
}

// phpEqual compares decoded JSON values as PHP sees them: a list is the object with keys "0",
// "1", … (so {} equals []), and numbers are equal when their values are (integers exactly).
func phpEqual(a, b any) bool {
	if l, ok := a.([]any); ok {
		a = listAsObject(l)
	}
	if l, ok := b.([]any); ok {
		b = listAsObject(l)
	}
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !phpEqual(va, vb) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		ia, aerr := strconv.ParseInt(a.String(), 10, 64)
		ib, berr := strconv.ParseInt(b.String(), 10, 64)
		if aerr == nil && berr == nil {
			return ia == ib
		}
		fa, _ := strconv.ParseFloat(a.String(), 64)
		fb, _ := strconv.ParseFloat(b.String(), 64)
		return fa == fb && math.Signbit(fa) == math.Signbit(fb)
	default:
		return a == b
	}
}

func listAsObject(l []any) map[string]any {
	m := make(map[string]any, len(l))
	for i, v := range l {
		m[strconv.Itoa(i)] = v
	}
	return m
}

// reencodeTests are inputs and what each language prints after reading them: Node.js 20 for
// JSON.stringify(JSON.parse(in)), CPython 3.11 for json.dumps(json.loads(in)).
var reencodeTests = []struct {
	name               string
	in                 string
	wantJS, wantPython string
}{
	{`documented example unchanged`, `{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`,
		`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"example.com"}}`,
		`{"event": "domain.flagged.disposable", "created_at": "2025-03-26T14:30:25+00:00", "data": {"domain": "example.com"}}`},
	{`pretty-printed`, "{\n  \"event\": \"domain.flagged.spam\",\n  \"created_at\": \"2025-03-26T14:30:25+00:00\",\n  \"data\": {\"domain\": \"a/b.example\", \"note\": \"café 🎉\"}\n}\n",
		`{"event":"domain.flagged.spam","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"a/b.example","note":"café 🎉"}}`,
		`{"event": "domain.flagged.spam", "created_at": "2025-03-26T14:30:25+00:00", "data": {"domain": "a/b.example", "note": "caf\u00e9 \ud83c\udf89"}}`},
	{`whitespace around`, " \t\r\n[ 1 , 2 ]\n",
		`[1,2]`,
		`[1, 2]`},
	{`slash`, `"a/b"`,
		`"a/b"`,
		`"a/b"`},
	{`escaped slash`, `"a\/b"`,
		`"a/b"`,
		`"a/b"`},
	{`non-ASCII`, `"é"`,
		`"é"`,
		`"\u00e9"`},
	{`upper-case escape in`, `"\u00E9"`,
		`"é"`,
		`"\u00e9"`},
	{`BMP beyond Latin-1`, `"€ 日本"`,
		`"€ 日本"`,
		`"\u20ac \u65e5\u672c"`},
	{`emoji`, `"😀"`,
		`"😀"`,
		`"\ud83d\ude00"`},
	{`escaped surrogate pair`, `"\uD83D\uDE00"`,
		`"😀"`,
		`"\ud83d\ude00"`},
	{`U+FFFD`, "\"\ufffd\"",
		"\"\ufffd\"",
		`"\ufffd"`},
	{`line and paragraph separators`, "\"\u2028\u2029\"",
		"\"\u2028\u2029\"",
		`"\u2028\u2029"`},
	{`short escapes`, `"\"\\\b\f\n\r\t"`,
		`"\"\\\b\f\n\r\t"`,
		`"\"\\\b\f\n\r\t"`},
	{`control characters`, `"\u0000\u0001\u001f\u000b"`,
		`"\u0000\u0001\u001f\u000b"`,
		`"\u0000\u0001\u001f\u000b"`},
	{`escaped DEL`, `"\u007f"`,
		"\"\x7f\"",
		`"\u007f"`},
	{`raw DEL`, "\"\x7f\"",
		"\"\x7f\"",
		`"\u007f"`},
	{`HTML characters`, `"<a href='x'>&</a>"`,
		`"<a href='x'>&</a>"`,
		`"<a href='x'>&</a>"`},
	{`escaped backslash before u`, `"\\ud800"`,
		`"\\ud800"`,
		`"\\ud800"`},
	{`unpaired high surrogate`, `"\ud800"`,
		`"\ud800"`,
		`"\ud800"`},
	{`unpaired low surrogate`, `"\udc00"`,
		`"\udc00"`,
		`"\udc00"`},
	{`surrogates in the wrong order`, `"\udc00\ud800"`,
		`"\udc00\ud800"`,
		`"\udc00\ud800"`},
	{`high surrogate before a non-surrogate`, `"\ud800\u0041"`,
		`"\ud800A"`,
		`"\ud800A"`},
	{`pair then an unpaired low surrogate`, `"\ud83d\ude00\ude00"`,
		`"😀\ude00"`,
		`"\ud83d\ude00\ude00"`},
	{`unpaired surrogate in a key`, `{"\ud800":1}`,
		`{"\ud800":1}`,
		`{"\ud800": 1}`},
	{`empty string`, `""`,
		`""`,
		`""`},
	{`empty object`, `{}`,
		`{}`,
		`{}`},
	{`empty array`, `[]`,
		`[]`,
		`[]`},
	{`nested empty containers`, `{"a":{},"b":[{}]}`,
		`{"a":{},"b":[{}]}`,
		`{"a": {}, "b": [{}]}`},
	{`key order kept`, `{"b":1,"a":2,"c":3}`,
		`{"b":1,"a":2,"c":3}`,
		`{"b": 1, "a": 2, "c": 3}`},
	{`large object`, `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,"K3":"x","k_0":"y"}`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,"K3":"x","k_0":"y"}`,
		`{"k0": 0, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17, "k18": 18, "k19": 19, "K3": "x", "k_0": "y"}`},
	{`keys 0, 1 in order`, `{"0":"a","1":"b"}`,
		`{"0":"a","1":"b"}`,
		`{"0": "a", "1": "b"}`},
	{`keys 1, 0`, `{"1":"a","0":"b"}`,
		`{"0":"b","1":"a"}`,
		`{"1": "a", "0": "b"}`},
	{`integer-like keys first`, `{"b":1,"2":2,"1":3,"a":4}`,
		`{"1":3,"2":2,"b":1,"a":4}`,
		`{"b": 1, "2": 2, "1": 3, "a": 4}`},
	{`array index bounds`, `{"a":0,"4294967295":1,"4294967294":2,"10":3,"9":4,"01":5,"-0":6,"1.0":7}`,
		`{"9":4,"10":3,"4294967294":2,"a":0,"4294967295":1,"01":5,"-0":6,"1.0":7}`,
		`{"a": 0, "4294967295": 1, "4294967294": 2, "10": 3, "9": 4, "01": 5, "-0": 6, "1.0": 7}`},
	{`__proto__ is a key like another`, `{"__proto__":1,"a":2}`,
		`{"__proto__":1,"a":2}`,
		`{"__proto__": 1, "a": 2}`},
	{`empty key`, `{"":1}`,
		`{"":1}`,
		`{"": 1}`},
	{`escaped key`, `{"a/b":1,"\u00e9":2}`,
		`{"a/b":1,"é":2}`,
		`{"a/b": 1, "\u00e9": 2}`},
	{`nested arrays`, `[[1,[2,[3]]],[]]`,
		`[[1,[2,[3]]],[]]`,
		`[[1, [2, [3]]], []]`},
	{`literals`, `[true,false,null]`,
		`[true,false,null]`,
		`[true, false, null]`},
	{`top-level string`, `"x"`,
		`"x"`,
		`"x"`},
	{`top-level null`, `null`,
		`null`,
		`null`},
	{`integer`, `42`,
		`42`,
		`42`},
	{`negative integer`, `-7`,
		`-7`,
		`-7`},
	{`minus zero integer`, `-0`,
		`0`,
		`0`},
	{`zero`, `0`,
		`0`,
		`0`},
	{`largest int64`, `9223372036854775807`,
		`9223372036854776000`,
		`9223372036854775807`},
	{`beyond 2^53`, `9007199254740993`,
		`9007199254740992`,
		`9007199254740993`},
	{`beyond int64`, `9223372036854775808`,
		`9223372036854776000`,
		`9223372036854775808`},
	{`20 digits`, `12345678901234567890`,
		`12345678901234567000`,
		`12345678901234567890`},
	{`30 digits`, `123456789012345678901234567890`,
		`1.2345678901234568e+29`,
		`123456789012345678901234567890`},
	{`1.0`, `1.0`,
		`1`,
		`1.0`},
	{`1.50`, `1.50`,
		`1.5`,
		`1.5`},
	{`1e3`, `1e3`,
		`1000`,
		`1000.0`},
	{`1E2`, `1E2`,
		`100`,
		`100.0`},
	{`1e5`, `1e5`,
		`100000`,
		`100000.0`},
	{`0e10`, `0e10`,
		`0`,
		`0.0`},
	{`0.1`, `0.1`,
		`0.1`,
		`0.1`},
	{`0.30000000000000004`, `0.30000000000000004`,
		`0.30000000000000004`,
		`0.30000000000000004`},
	{`0.0001`, `0.0001`,
		`0.0001`,
		`0.0001`},
	{`0.00001`, `0.00001`,
		`0.00001`,
		`1e-05`},
	{`0.000001`, `0.000001`,
		`0.000001`,
		`1e-06`},
	{`0.0000001`, `0.0000001`,
		`1e-7`,
		`1e-07`},
	{`1.5e-7`, `1.5e-7`,
		`1.5e-7`,
		`1.5e-07`},
	{`123e-20`, `123e-20`,
		`1.23e-18`,
		`1.23e-18`},
	{`1e15`, `1e15`,
		`1000000000000000`,
		`1000000000000000.0`},
	{`1e16`, `1e16`,
		`10000000000000000`,
		`1e+16`},
	{`9999999999999998.0`, `9999999999999998.0`,
		`9999999999999998`,
		`9999999999999998.0`},
	{`1e17`, `1e17`,
		`100000000000000000`,
		`1e+17`},
	{`1e20`, `1e20`,
		`100000000000000000000`,
		`1e+20`},
	{`1e21`, `1e21`,
		`1e+21`,
		`1e+21`},
	{`1e22`, `1e22`,
		`1e+22`,
		`1e+22`},
	{`1.2345678901234568e20`, `123456789012345680000.5`,
		`123456789012345680000`,
		`1.2345678901234568e+20`},
	{`-1.25e+30`, `-1.25e+30`,
		`-1.25e+30`,
		`-1.25e+30`},
	{`123.456e5`, `123.456e5`,
		`12345600`,
		`12345600.0`},
	{`minus zero double`, `-0.0`,
		`0`,
		`-0.0`},
	{`underflow to zero`, `1e-400`,
		`0`,
		`0.0`},
	{`underflow to minus zero`, `-1e-400`,
		`0`,
		`-0.0`},
	{`smallest denormal`, `5e-324`,
		`5e-324`,
		`5e-324`},
	{`largest double`, `1.7976931348623157e308`,
		`1.7976931348623157e+308`,
		`1.7976931348623157e+308`},
	{`beyond the largest double`, `1e400`,
		`null`,
		`Infinity`},
	{`beyond the largest double, negative`, `[-1e400]`,
		`[null]`,
		`[-Infinity]`},
	{`mixed`, `{"n":[1,1.0,-2.5e-5,"1.0"],"s":"/"}`,
		`{"n":[1,1,-0.000025,"1.0"],"s":"/"}`,
		`{"n": [1, 1.0, -2.5e-05, "1.0"], "s": "/"}`},
}

func TestJSJSONEncode(t *testing.T) {
	for _, tt := range reencodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jsJSONEncode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.wantJS {
				t.Errorf("jsJSONEncode(%s)\n got %s\nwant %s", tt.in, got, tt.wantJS)
			}
		})
	}
}

func TestPythonJSONEncode(t *testing.T) {
	for _, tt := range reencodeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pythonJSONEncode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.wantPython {
				t.Errorf("pythonJSONEncode(%s)\n got %s\nwant %s", tt.in, got, tt.wantPython)
			}
		})
	}
}

// jsonDocFailures are inputs that are not JSON texts: every language refuses them (or, where
// one is lenient, the bridge still does not guess), so no re-encoded form exists.
var jsonDocFailures = []struct {
	name string
	in   string
}{
	{"empty", ``},
	{"blank", ` `},
	{"not JSON", `event=x`},
	{"trailing comma in an array", `[1,]`},
	{"trailing comma in an object", `{"a":1,}`},
	{"two values", `1 2`},
	{"trailing data", `{"a":1}}`},
	{"unclosed object", `{"a":1`},
	{"unclosed string", `"abc`},
	{"missing colon", `{"a" 1}`},
	{"key not a string", `{a:1}`},
	{"single quotes", `'a'`},
	// Python's json.loads reads these three; they are not JSON.
	{"NaN", `NaN`},
	{"Infinity", `[Infinity]`},
	{"-Infinity", `[-Infinity]`},
	{"leading zero", `01`},
	{"plus sign", `+1`},
	{"point without digits after", `1.`},
	{"point without digits before", `.5`},
	{"exponent without digits", `1e`},
	{"hex number", `0x10`},
	{"raw control character in a string", "\"a\tb\""},
	{"raw newline in a string", "\"a\nb\""},
	{"unknown escape", `"\x41"`},
	{"short \\u escape", `"\u12"`},
	{"\\u escape not hex", `"\u00g0"`},
	{"true misspelt", `tru`},
	{"null in capitals", `NULL`},
	// Python's json.loads reads a body that starts with a UTF-8 byte order mark; JSON.parse
	// and json_decode do not, and neither does the bridge.
	{"byte order mark", "\uFEFF[1]"},
	{"invalid UTF-8", "\"\xff\""},
	{"UTF-8-encoded surrogate", "\"\xed\xa0\x80\""},
	{"512 nested arrays", strings.Repeat("[", 512) + strings.Repeat("]", 512)},
	{"512 nested objects", strings.Repeat(`{"a":`, 512) + "1" + strings.Repeat("}", 512)},
	// Each language reads these; the bridge refuses them (TestParseJSONDocDepth,
	// TestParseJSONDocRepeatedKeys).
	{"nested one level deeper than jsonMaxDepth", nestedJSON(jsonMaxDepth+1, false)},
	{"a repeated key", `{"a":1,"b":2,"a":3}`},
}

func TestParseJSONDocFails(t *testing.T) {
	for _, tt := range jsonDocFailures {
		t.Run(tt.name, func(t *testing.T) {
			if doc, err := parseJSONDoc([]byte(tt.in)); err == nil {
				js, _ := doc.jsForm(nil)
				t.Fatalf("parseJSONDoc(%q) accepted it (JSON.stringify form %q)", tt.in, js)
			}
		})
	}
}

// repeatedKeyTests are documents that repeat a key in an object. PHP, JavaScript and Python read
// them all, keeping the key's first place and its last value, so their re-encodings drop the
// earlier values; parseJSONDoc refuses them.
var repeatedKeyTests = []struct {
	name string
	in   string
}{
	{"twice", `{"domain":"evil.example","domain":"victim.example"}`},
	{"same value twice", `{"a":1,"a":1}`},
	{"three times, other keys between", `{"a":1,"b":2,"a":3,"c":4,"a":5}`},
	{"written two ways", `{"domain":"evil.example","\u0064omain":"victim.example"}`},
	{"escaped both times, differently", `{"\u0061":1,"\u0041":2,"\u0061":3}`},
	{"escaped slash", `{"a/b":1,"a\/b":2}`},
	{"non-ASCII, escaped once", `{"é":1,"\u00e9":2}`},
	{"surrogate pair, escaped once", `{"😀":1,"\ud83d\ude00":2}`},
	{"the same unpaired surrogate in two cases", `{"\ud800":1,"\uD800":2}`},
	{"empty key", `{"":1,"":2}`},
	{"key 0, which PHP makes a list", `{"0":1,"0":2}`},
	{"in a nested object", `{"event":"domain.flagged.spam","data":{"domain":"evil.example","domain":"victim.example"}}`},
	{"in an object in an array", `[{"a":1},{"b":1,"b":2}]`},
	{"a repeated object", `{"data":{"domain":"evil.example"},"data":{"domain":"victim.example"}}`},
	{"an infinite double replaced", `{"a":1e400,"a":1}`},
	{"an unpaired surrogate replaced", `{"a":"\ud800","a":1}`},
	{"large object, the last key repeats the first", largeObject(40, `,"k0":"x"`)},
	{"large object, the last key repeats one escaped", largeObject(40, `,"\u006b39":"x"`)},
}

// largeObject is an object with keys k0 … k(n-1), then more.
func largeObject(n int, more string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	return b.String() + more + "}"
}

func TestParseJSONDocRepeatedKeys(t *testing.T) {
	for _, tt := range repeatedKeyTests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseJSONDoc([]byte(tt.in)); !errors.Is(err, errRepeatedKey) {
				t.Fatalf("parseJSONDoc(%s): error %v, want %v", tt.in, err, errRepeatedKey)
			}
			if !json.Valid([]byte(tt.in)) {
				t.Fatalf("%s is not JSON: the case proves nothing", tt.in)
			}
		})
	}
	// Keys that only look alike are different keys.
	for _, in := range []string{
		`{"a":1,"A":2}`,
		`{"1":1,"01":2,"1.0":3}`,
		`{"a":1,"a ":2," a":3}`,
		`{"\ud800":1,"\udc00":2}`,
		largeObject(40, `,"K0":"x","k_0":"y"`),
	} {
		if _, err := parseJSONDoc([]byte(in)); err != nil {
			t.Errorf("parseJSONDoc(%.60s): %v", in, err)
		}
	}
}

// TestReencodeRefusals covers the documents one language decodes and another refuses.
func TestReencodeRefusals(t *testing.T) {
	digits := func(n int) string { return "-" + strings.Repeat("7", n) }
	tests := []struct {
		name               string
		in                 string
		php, js, python    bool // whether each can re-encode it
		wantJS, wantPython string
	}{
		{
			name: "unpaired surrogate: PHP's json_decode fails",
			in:   `{"a":"\uDBFF"}`, js: true, python: true,
			wantJS: `{"a":"\udbff"}`, wantPython: `{"a": "\udbff"}`,
		},
		{
			name: "beyond the double range: PHP's json_encode fails",
			in:   `[1e309]`, js: true, python: true,
			wantJS: `[null]`, wantPython: `[Infinity]`,
		},
		{
			name: "integer of 4300 digits: Python reads it exactly; a double cannot hold it",
			in:   digits(4300), js: true, python: true,
			wantJS: "null", wantPython: digits(4300),
		},
		{
			name: "integer of 4301 digits: Python's int_max_str_digits refuses it",
			in:   `{"n":` + digits(4301) + `}`, js: true,
			wantJS: `{"n":null}`,
		},
		{
			name: "jsonMaxDepth nested arrays: within the bridge's depth, and so within PHP's",
			in:   nestedJSON(jsonMaxDepth, false), php: true, js: true, python: true,
			wantJS: nestedJSON(jsonMaxDepth, false), wantPython: nestedJSON(jsonMaxDepth, false),
		},
		{
			name: "511 nested arrays: PHP reads them (its depth is 512), the bridge does not",
			in:   nestedJSON(511, false),
		},
		{
			name: "a repeated key: every language reads it, the bridge does not",
			in:   `{"a":1,"a":2}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			php, phpErr := phpJSONEncode([]byte(tt.in))
			if (phpErr == nil) != tt.php {
				t.Errorf("PHP form %.40q, error %v; want a form: %v", php, phpErr, tt.php)
			}
			js, jsErr := jsJSONEncode([]byte(tt.in))
			if (jsErr == nil) != tt.js || tt.js && string(js) != tt.wantJS {
				t.Errorf("JSON.stringify form %.40q, error %v; want %.40q", js, jsErr, tt.wantJS)
			}
			py, pyErr := pythonJSONEncode([]byte(tt.in))
			if (pyErr == nil) != tt.python || tt.python && string(py) != tt.wantPython {
				t.Errorf("json.dumps form %.40q, error %v; want %.40q", py, pyErr, tt.wantPython)
			}
		})
	}
}

// FuzzUserCheckReencode checks the parser against encoding/json's idea of a JSON text, and the
// Node.js and Python forms for what holds without running either language: they are JSON that
// decodes to the value the input meant to that language, and re-encoding a form changes nothing.
func FuzzUserCheckReencode(f *testing.F) {
	for _, tt := range reencodeTests {
		f.Add([]byte(tt.in))
	}
	for _, tt := range jsonDocFailures {
		f.Add([]byte(tt.in))
	}
	for _, tt := range repeatedKeyTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := parseJSONDoc(in)
		if errors.Is(err, errRepeatedKey) && !jsonRepeatsKey(t, in) {
			t.Fatalf("%q: refused for a repeated key encoding/json does not see", in)
		}
		if err != nil {
			// encoding/json reads invalid UTF-8 as U+FFFD; the bridge refuses it.
			if json.Valid(in) && utf8.Valid(in) && !bridgeRefuses(err) {
				t.Fatalf("valid JSON %q: %v", in, err)
			}
			return
		}
		if !json.Valid(in) || !utf8.Valid(in) {
			t.Fatalf("invalid JSON %q accepted", in)
		}
		// encoding/json reads every unpaired surrogate escape as U+FFFD, so it may see a repeat
		// where the languages see two keys.
		if jsonRepeatsKey(t, in) && !doc.loneSurrogate {
			t.Fatalf("%q repeats a key, yet was accepted", in)
		}
		var vin any
		decodeNumbers(t, in, &vin)

		js, err := doc.jsForm(nil)
		if err != nil || !json.Valid(js) {
			t.Fatalf("%q: JSON.stringify form %q, %v", in, js, err)
		}
		var vjs any
		decodeNumbers(t, js, &vjs)
		if !sameJSON(vin, vjs, jsSameNumber) {
			t.Fatalf("%q: JSON.stringify form %q holds another value", in, js)
		}
		if again, err := jsJSONEncode(js); err != nil || !bytes.Equal(again, js) {
			t.Fatalf("re-encoding %q gives %q, %v", js, again, err)
		}

		py, err := doc.pythonForm(nil)
		if err != nil {
			if !doc.longInt {
				t.Fatalf("%q: %v", in, err)
			}
			return
		}
		for _, c := range py {
			if c < 0x20 || c >= 0x7F {
				t.Fatalf("%q: json.dumps form %q is not printable ASCII", in, py)
			}
		}
		if hasInfiniteFloat(vin) { // written as Infinity, which is not JSON
			if !bytes.Contains(py, []byte("Infinity")) {
				t.Fatalf("%q: json.dumps form %q has no Infinity", in, py)
			}
			return
		}
		if !json.Valid(py) {
			t.Fatalf("%q: json.dumps form %q is not JSON", in, py)
		}
		var vpy any
		decodeNumbers(t, py, &vpy)
		if !sameJSON(vin, vpy, pythonSameNumber) {
			t.Fatalf("%q: json.dumps form %q holds another value", in, py)
		}
		if again, err := pythonJSONEncode(py); err != nil || !bytes.Equal(again, py) {
			t.Fatalf("re-encoding %q gives %q, %v", py, again, err)
		}
	})
}

// sameJSON compares decoded JSON values, numbers with sameNumber, which is handed what out holds
// in their place.
func sameJSON(in, out any, sameNumber func(in json.Number, out any) bool) bool {
	switch in := in.(type) {
	case map[string]any:
		out, ok := out.(map[string]any)
		if !ok || len(in) != len(out) {
			return false
		}
		for k, v := range in {
			w, ok := out[k]
			if !ok || !sameJSON(v, w, sameNumber) {
				return false
			}
		}
		return true
	case []any:
		out, ok := out.([]any)
		if !ok || len(in) != len(out) {
			return false
		}
		for i := range in {
			if !sameJSON(in[i], out[i], sameNumber) {
				return false
			}
		}
		return true
	case json.Number:
		return sameNumber(in, out)
	default:
		return in == out
	}
}

// jsSameNumber: every number is a double to JavaScript; one beyond the range is Infinity,
// written as null; -0 is written as 0.
func jsSameNumber(in json.Number, out any) bool {
	f, _ := strconv.ParseFloat(in.String(), 64)
	if math.IsInf(f, 0) {
		return out == nil
	}
	o, ok := out.(json.Number)
	if !ok {
		return false
	}
	g, err := strconv.ParseFloat(o.String(), 64)
	return err == nil && f == g
}

// pythonSameNumber: an integer literal is an exact int, anything else a float that keeps its
// sign (-0.0).
func pythonSameNumber(in json.Number, out any) bool {
	o, ok := out.(json.Number)
	if !ok || isIntegerLiteral([]byte(in)) != isIntegerLiteral([]byte(o)) {
		return false
	}
	if isIntegerLiteral([]byte(in)) {
		a, _ := new(big.Int).SetString(in.String(), 10)
		b, _ := new(big.Int).SetString(o.String(), 10)
		return a != nil && b != nil && a.Cmp(b) == 0
	}
	f, _ := strconv.ParseFloat(in.String(), 64)
	g, _ := strconv.ParseFloat(o.String(), 64)
	return f == g && math.Signbit(f) == math.Signbit(g)
}

// hasInfiniteFloat reports whether v holds a number Python reads as an infinite float.
func hasInfiniteFloat(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, w := range v {
			if hasInfiniteFloat(w) {
				return true
			}
		}
	case []any:
		for _, w := range v {
			if hasInfiniteFloat(w) {
				return true
			}
		}
	case json.Number:
		f, _ := strconv.ParseFloat(v.String(), 64)
		return !isIntegerLiteral([]byte(v)) && math.IsInf(f, 0)
	}
	return false
}

// jsonRepeatsKey reports whether an object in the JSON text in repeats a key, as encoding/json
// decodes keys (every unpaired surrogate escape as U+FFFD).
func jsonRepeatsKey(t *testing.T, in []byte) bool {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	// One frame per open container; keys is nil for an array. key: the next token of this
	// object is a key.
	type frame struct {
		keys map[string]bool
		key  bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].key = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("encoding/json reading %q: %v", in, err)
		}
		if n := len(stack); n > 0 && stack[n-1].key && tok != json.Delim('}') {
			k, _ := tok.(string)
			if stack[n-1].keys[k] {
				return true
			}
			stack[n-1].keys[k], stack[n-1].key = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}
