package bridge

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envPattern is a ${VAR} reference.
var envPattern = regexp.MustCompile(`\$\{([^}]*)\}`)

// Loading a configuration file: YAML with ${VAR} replaced from the environment in every value,
// no unknown field, defaults applied. Checking it is Compile's job (plan.go), done once.

// LoadPlan reads the configuration at path and compiles it.
func LoadPlan(path string, getenv func(string) (string, bool)) (*Plan, error) {
	cfg, err := LoadConfig(path, getenv)
	if err != nil {
		return nil, err
	}
	return Compile(cfg)
}

// ParsePlan is LoadPlan on a reader.
func ParsePlan(r io.Reader, getenv func(string) (string, bool)) (*Plan, error) {
	cfg, err := ParseConfig(r, getenv)
	if err != nil {
		return nil, err
	}
	return Compile(cfg)
}

// LoadConfig reads the YAML at path, replacing ${VAR} in every value from getenv, and returns it
// with defaults applied, not yet checked (Compile checks it).
func LoadConfig(path string, getenv func(string) (string, bool)) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return ParseConfig(f, getenv)
}

// ParseConfig is LoadConfig on a reader.
func ParseConfig(r io.Reader, getenv func(string) (string, bool)) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg := Config{lines: map[string]int{}, fromFile: true}
	if len(root.Content) > 0 {
		fieldLines(&root, "", cfg.lines)
		if err := expandEnv(&root, "", getenv); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := checkKnownFields(root.Content[0], reflect.TypeOf(cfg), ""); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := root.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %s", unquoteValues(err.Error()))
		}
	}
	cfg.ApplyDefaults()
	return &cfg, nil
}

// expandEnv replaces ${VAR} in every scalar below n. An unset variable is an error naming it and
// the field, never an empty secret.
func expandEnv(n *yaml.Node, path string, getenv func(string) (string, bool)) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandEnv(c, path, getenv); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := expandEnv(n.Content[i+1], joinField(path, n.Content[i].Value), getenv); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandEnv(c, fmt.Sprintf("%s[%d]", path, i), getenv); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var missing error
		n.Value = envPattern.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := getenv(name)
			if !ok && missing == nil {
				missing = fmt.Errorf("%s: environment variable %s is not set", path, name)
			}
			return v
		})
		if missing != nil {
			return missing
		}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = "" // let a plain value resolve again: "${PORT}" may be a number
		}
	}
	return nil
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkKnownFields rejects keys that match no field, so a typo in a key is not silently ignored.
func checkKnownFields(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		inline := false // a struct with an inline map takes other keys (an endpoint's provider settings)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if opts == "inline" {
				inline = true
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok && inline {
				continue
			}
			if !ok {
				return fmt.Errorf("%s: unknown field", joinField(path, key))
			}
			if err := checkKnownFields(n.Content[i+1], ft, joinField(path, key)); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			if err := checkKnownFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// quotedValue is a value the YAML decoder quotes in its errors ("cannot unmarshal !!str `…` into
// []string").
var quotedValue = regexp.MustCompile("`[^`]*`")

// unquoteValues drops the values the YAML decoder quotes in an error: after ${VAR} expansion a
// value can be a secret, and errors are logged (and answered by the admin reload endpoint).
// The line number and the expected type stay.
func unquoteValues(msg string) string { return quotedValue.ReplaceAllString(msg, "a value") }
