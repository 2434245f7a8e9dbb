package bridge

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParsersCalledOnlyByCompile: every parser of configuration values is called from the
// compile step (plan.go) and nowhere else, so a value is checked in one place and its parsed
// form is what the rest of the bridge uses; no code parses again trusting that "validation has
// rejected the others".
func TestParsersCalledOnlyByCompile(t *testing.T) {
	parsers := []string{"parsePrefix", "parseHostPort", "leafURLs", "Configure", "CheckCredentials", "newEndpoint", "Compile"}
	// Where each may be called from: the compile step, the configuration loader (which hands a
	// parsed configuration to Compile), and Validate (Compile that keeps nothing).
	allowed := map[string][]string{
		"parsePrefix":      {"plan.go"},
		"parseHostPort":    {"plan.go"},
		"leafURLs":         {"plan.go"},
		"Configure":        {"plan.go"},
		"CheckCredentials": {"plan.go"},
		"newEndpoint":      {"plan.go"},
		"Compile":          {"plan.go", "config_load.go", "app.go", "reload.go"},
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := map[string]map[string]int{} // parser → file → calls
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var fn string
			switch e := call.Fun.(type) {
			case *ast.Ident:
				fn = e.Name
			case *ast.SelectorExpr:
				fn = e.Sel.Name
			}
			if slices.Contains(parsers, fn) {
				if calls[fn] == nil {
					calls[fn] = map[string]int{}
				}
				calls[fn][name]++
			}
			return true
		})
	}
	for _, p := range parsers {
		if len(calls[p]) == 0 {
			t.Errorf("%s is called nowhere: the test's list is out of date", p)
		}
		for file, n := range calls[p] {
			if !slices.Contains(allowed[p], file) {
				t.Errorf("%s is called %d time(s) in %s: only the compile step (%s) may call it", p, n, file, strings.Join(allowed[p], ", "))
			}
		}
	}
	// Start-up, reload and check each compile once: app.go's StartWith compiles and hands the
	// plan to StartPlan (which compiles nothing), reload.go compiles the file it read.
	if n := calls["Compile"]["app.go"]; n != 1 {
		t.Errorf("app.go calls Compile %d times, want once (StartWith)", n)
	}
	if n := calls["Compile"]["reload.go"]; n != 1 {
		t.Errorf("reload.go calls Compile %d times, want once", n)
	}
}

// TestCompileErrorsNameFieldAndLine: every problem is a *FieldError with its YAML path and the
// line it is on, all at once.
func TestCompileErrorsNameFieldAndLine(t *testing.T) {
	yaml := `http:
  listen: nowhere
endpoints:
  - id: a
    provider: aghanim
    secrets: [s]
    timestamp_tolerance: -1s
  - id: b
    provider: hmac
    secrets: [s]
    hmac: {header: X-Sig, algorithm: md4}
  - id: c
    provider: nope
`
	cfg, err := ParseConfig(strings.NewReader(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(cfg)
	got := map[string]int{}
	for _, fe := range FieldErrors(err) {
		got[fe.Field] = fe.Line
	}
	want := map[string]int{
		"http.listen":                      2,
		"endpoints[0].timestamp_tolerance": 7,
		"endpoints[1].hmac.algorithm":      11, // inside the block: the block's line
		"endpoints[2].provider":            13,
	}
	for field, line := range want {
		if l, ok := got[field]; !ok || l != line {
			t.Errorf("%s: line %d (reported %v), want line %d; all: %v", field, l, ok, line, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want exactly %v", got, want)
	}
}
