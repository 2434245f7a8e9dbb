package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/providers"
)

// Config mirrors the YAML of docs/configuration.md.
type Config struct {
	HTTP      HTTPConfig       `yaml:"http"`
	NATS      NATSConfig       `yaml:"nats"`
	Log       LogConfig        `yaml:"log"`
	Stream    StreamConfig     `yaml:"stream"`
	Endpoints []EndpointConfig `yaml:"endpoints"`
}

// HTTPConfig is the ingress.
type HTTPConfig struct {
	Listen         string   `yaml:"listen"`
	MaxBodyBytes   int64    `yaml:"max_body_bytes"`
	TLS            TLSFiles `yaml:"tls"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TLSFiles names PEM files.
type TLSFiles struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// NATSConfig says where events go: an embedded server (URL empty) or a remote server or cluster.
type NATSConfig struct {
	URL            string         `yaml:"url"`
	Embedded       EmbeddedConfig `yaml:"embedded"`
	Credentials    string         `yaml:"credentials"`
	User           string         `yaml:"user"`
	Password       string         `yaml:"password"`
	Token          string         `yaml:"token"`
	TLS            TLSFiles       `yaml:"tls"`
	PublishTimeout time.Duration  `yaml:"publish_timeout"`
	// PingInterval is how often the client pings the server; a link with two pings unanswered
	// is dead and the client reconnects.
	PingInterval time.Duration `yaml:"ping_interval"`
}

// EmbeddedConfig is the in-process nats-server.
type EmbeddedConfig struct {
	Listen   string `yaml:"listen"`
	StoreDir string `yaml:"store_dir"`
	// Domain and Leaf turn on store-and-forward: the embedded server is a leaf node of the hub
	// with this JetStream domain, and events are stored in a local stream the hub sources.
	Domain string      `yaml:"domain"`
	Leaf   *LeafConfig `yaml:"leaf"`
	Edge   EdgeConfig  `yaml:"edge"`
}

// LeafConfig is the embedded server's link to the hub.
type LeafConfig struct {
	URL         string `yaml:"url"`         // the hub's leafnode listener, nats-leaf://host:7422
	Credentials string `yaml:"credentials"` // .creds file for the leaf connection
	HubDomain   string `yaml:"hub_domain"`  // the JetStream domain the hub's servers declare
}

// EdgeConfig sizes the local stream of store-and-forward mode.
type EdgeConfig struct {
	MaxAge          time.Duration `yaml:"max_age"`
	MaxBytes        ByteSize      `yaml:"max_bytes"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
}

// StoreAndForward reports whether the embedded server is a leaf with a local stream.
func (c NATSConfig) StoreAndForward() bool { return c.URL == "" && c.Embedded.Leaf != nil }

// EdgeStreamName is the local stream's name in store-and-forward mode.
func (s StreamConfig) EdgeStreamName() string { return s.Name + "_EDGE" }

// ByteSize is a size written with a unit: B, KiB, MiB, GiB, TiB (or a plain number of bytes).
type ByteSize int64

// UnmarshalYAML reads "10GiB", "512 MiB" or "1048576".
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize reads a size with an optional binary unit.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	shift := uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size (a number with B, KiB, MiB, GiB or TiB)", s)
	}
	return ByteSize(n << shift), nil
}

// LogConfig sets zerolog's level and output.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// StreamConfig is the JetStream stream every event goes to.
type StreamConfig struct {
	Name            string        `yaml:"name"`
	SubjectPrefix   string        `yaml:"subject_prefix"`
	ReplyPrefix     string        `yaml:"reply_prefix"`
	Replicas        int           `yaml:"replicas"`
	MaxAge          time.Duration `yaml:"max_age"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
}

// EndpointConfig is one webhook endpoint: a route, a provider and its credentials.
type EndpointConfig struct {
	ID           string               `yaml:"id"`
	Provider     string               `yaml:"provider"`
	Secrets      []string             `yaml:"secrets"`
	BasicAuth    *providers.BasicAuth `yaml:"basic_auth"`
	BearerTokens []string             `yaml:"bearer_tokens"`
	// ReplyEvents nil means the provider's default; an empty list means none.
	ReplyEvents  *[]string     `yaml:"reply_events"`
	ReplyTimeout time.Duration `yaml:"reply_timeout"`
	// AllowUnsigned accepts requests without any proof (ZignSec SMS webhooks are unsigned);
	// they are published with the CloudEvents extension unsigned=true.
	AllowUnsigned bool `yaml:"allow_unsigned"`
	// AllowFrom lists the client addresses (IPs or CIDRs) the endpoint accepts; empty: any.
	AllowFrom []string `yaml:"allow_from"`
}

// Credentials returns the endpoint's proofs in the providers' terms.
func (e EndpointConfig) Credentials() providers.Credentials {
	return providers.Credentials{Secrets: e.Secrets, BasicAuth: e.BasicAuth, BearerTokens: e.BearerTokens, AllowUnsigned: e.AllowUnsigned}
}

// Defaults for everything the YAML may leave out.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultPublishTimeout = 5 * time.Second
	DefaultReplyTimeout   = 3 * time.Second
	DefaultPingInterval   = 2 * time.Second
	// payloadHeadroom is what a message may need beyond its body for headers (docs/configuration.md).
	payloadHeadroom = 64 << 10
)

// ApplyDefaults fills in every field the YAML left empty.
func (c *Config) ApplyDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.HTTP.Listen, ":8080")
	if c.HTTP.MaxBodyBytes == 0 {
		c.HTTP.MaxBodyBytes = DefaultMaxBodyBytes
	}
	def(&c.NATS.Embedded.Listen, "127.0.0.1:4222")
	def(&c.NATS.Embedded.StoreDir, "./data")
	if l := c.NATS.Embedded.Leaf; l != nil {
		def(&l.HubDomain, "hub")
		e := &c.NATS.Embedded.Edge
		if e.MaxAge == 0 {
			e.MaxAge = 72 * time.Hour
		}
		if e.MaxBytes == 0 {
			e.MaxBytes = 10 << 30
		}
		if e.DuplicateWindow == 0 {
			e.DuplicateWindow = min(24*time.Hour, e.MaxAge)
		}
	}
	if c.NATS.PublishTimeout == 0 {
		c.NATS.PublishTimeout = DefaultPublishTimeout
	}
	if c.NATS.PingInterval == 0 {
		c.NATS.PingInterval = DefaultPingInterval
	}
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "console")
	def(&c.Stream.Name, "WEBHOOKS")
	def(&c.Stream.SubjectPrefix, "webhooks")
	def(&c.Stream.ReplyPrefix, c.Stream.SubjectPrefix+"-reply")
	if c.Stream.Replicas == 0 {
		c.Stream.Replicas = 1
	}
	if c.Stream.MaxAge == 0 {
		c.Stream.MaxAge = 168 * time.Hour
	}
	if c.Stream.DuplicateWindow == 0 {
		c.Stream.DuplicateWindow = 24 * time.Hour
	}
	for i := range c.Endpoints {
		ep := &c.Endpoints[i]
		if ep.ReplyTimeout == 0 {
			ep.ReplyTimeout = DefaultReplyTimeout
		}
		if ep.ReplyEvents == nil {
			if p, ok := providers.Lookup(ep.Provider); ok {
				events := append([]string(nil), p.DefaultReplyEvents...)
				ep.ReplyEvents = &events
			}
		}
	}
}

var (
	tokenPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	streamNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	envPattern        = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// Validate returns every problem with c at once, each naming its field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	if c.HTTP.MaxBodyBytes < 0 {
		bad("http.max_body_bytes", "must be positive, got %d", c.HTTP.MaxBodyBytes)
	}
	if (c.HTTP.TLS.CertFile == "") != (c.HTTP.TLS.KeyFile == "") {
		bad("http.tls", "cert_file and key_file must be set together")
	}
	for i, cidr := range c.HTTP.TrustedProxies {
		if _, err := parsePrefix(cidr); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
		}
	}
	if c.NATS.URL == "" {
		if _, _, err := net.SplitHostPort(c.NATS.Embedded.Listen); err != nil {
			bad("nats.embedded.listen", "%q is not host:port", c.NATS.Embedded.Listen)
		}
	}
	if c.NATS.User != "" && c.NATS.Token != "" {
		bad("nats.token", "set either user/password or token, not both")
	}
	if (c.NATS.TLS.CertFile == "") != (c.NATS.TLS.KeyFile == "") {
		bad("nats.tls", "cert_file and key_file must be set together")
	}
	if c.NATS.PublishTimeout < 0 {
		bad("nats.publish_timeout", "must be positive")
	}
	if c.NATS.PingInterval < 0 {
		bad("nats.ping_interval", "must be positive")
	}
	c.validateStoreAndForward(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		bad("log.format", "%q is not one of console, json", c.Log.Format)
	}
	if !streamNamePattern.MatchString(c.Stream.Name) {
		bad("stream.name", "%q may hold only letters, digits, '_' and '-'", c.Stream.Name)
	}
	if !validSubjectPrefix(c.Stream.SubjectPrefix) {
		bad("stream.subject_prefix", "%q is not a subject of plain tokens", c.Stream.SubjectPrefix)
	}
	if !validSubjectPrefix(c.Stream.ReplyPrefix) {
		bad("stream.reply_prefix", "%q is not a subject of plain tokens", c.Stream.ReplyPrefix)
	} else if c.Stream.ReplyPrefix == c.Stream.SubjectPrefix || strings.HasPrefix(c.Stream.ReplyPrefix, c.Stream.SubjectPrefix+".") {
		bad("stream.reply_prefix", "%q lies inside the stream's subjects %q: questions would be stored", c.Stream.ReplyPrefix, c.Stream.SubjectPrefix+".>")
	}
	if c.Stream.Replicas < 1 || c.Stream.Replicas > 5 {
		bad("stream.replicas", "must be 1 to 5, got %d", c.Stream.Replicas)
	}
	if c.Stream.DuplicateWindow > c.Stream.MaxAge {
		bad("stream.duplicate_window", "%s exceeds stream.max_age %s", c.Stream.DuplicateWindow, c.Stream.MaxAge)
	}
	if len(c.Endpoints) == 0 {
		bad("endpoints", "at least one endpoint is required")
	}
	seen := map[string]int{}
	for i, ep := range c.Endpoints {
		field := fmt.Sprintf("endpoints[%d]", i)
		if !tokenPattern.MatchString(ep.ID) {
			bad(field+".id", "%q may hold only letters, digits, '_' and '-' (it is a subject token)", ep.ID)
		} else if j, dup := seen[ep.ID]; dup {
			bad(field+".id", "%q is already the id of endpoints[%d]", ep.ID, j)
		} else {
			seen[ep.ID] = i
		}
		p, ok := providers.Lookup(ep.Provider)
		if !ok {
			bad(field+".provider", "unknown provider %q (known: %s)", ep.Provider, strings.Join(providers.Names(), ", "))
			continue
		}
		if err := p.CheckCredentials(ep.Credentials()); err != nil {
			bad(field, "%v", err)
		}
		if ep.ReplyTimeout < 0 {
			bad(field+".reply_timeout", "must be positive")
		}
		for j, a := range ep.AllowFrom {
			if _, err := parsePrefix(a); err != nil {
				bad(fmt.Sprintf("%s.allow_from[%d]", field, j), "%v", err)
			}
		}
		if ep.ReplyEvents != nil {
			for j, t := range *ep.ReplyEvents {
				if strings.TrimSpace(t) == "" {
					bad(fmt.Sprintf("%s.reply_events[%d]", field, j), "empty event type")
				}
			}
		}
	}
	return errors.Join(errs...)
}

// validateStoreAndForward checks nats.embedded.domain, leaf and edge (store-and-forward mode).
func (c *Config) validateStoreAndForward(bad func(field, format string, args ...any)) {
	e := c.NATS.Embedded
	switch {
	case e.Leaf == nil && e.Domain != "":
		bad("nats.embedded.leaf", "domain %q is set but leaf is not: store-and-forward needs both", e.Domain)
		return
	case e.Leaf == nil:
		return
	}
	if c.NATS.URL != "" {
		bad("nats.url", "store-and-forward (nats.embedded.leaf) runs the embedded server: leave nats.url empty")
	}
	if e.Domain == "" {
		bad("nats.embedded.domain", "leaf %q needs this replica's JetStream domain (stable and unique per replica, e.g. edge-0)", e.Leaf.URL)
	} else if !tokenPattern.MatchString(e.Domain) {
		bad("nats.embedded.domain", "%q may hold only letters, digits, '_' and '-'", e.Domain)
	}
	if !tokenPattern.MatchString(e.Leaf.HubDomain) {
		bad("nats.embedded.leaf.hub_domain", "%q may hold only letters, digits, '_' and '-'", e.Leaf.HubDomain)
	} else if e.Leaf.HubDomain == e.Domain {
		bad("nats.embedded.leaf.hub_domain", "%q is also this replica's domain", e.Domain)
	}
	if e.Leaf.URL == "" {
		bad("nats.embedded.leaf.url", "the hub's leafnode URL is required (nats-leaf://hub:7422)")
	} else if _, err := leafURLs(e.Leaf.URL); err != nil {
		bad("nats.embedded.leaf.url", "%v", strings.TrimPrefix(err.Error(), "nats.embedded.leaf.url: "))
	}
	if e.Edge.MaxAge < 0 || e.Edge.MaxBytes < 0 || e.Edge.DuplicateWindow < 0 {
		bad("nats.embedded.edge", "sizes and durations must be positive")
	}
	if e.Edge.DuplicateWindow > e.Edge.MaxAge {
		bad("nats.embedded.edge.duplicate_window", "%s exceeds edge.max_age %s", e.Edge.DuplicateWindow, e.Edge.MaxAge)
	}
}

func validSubjectPrefix(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if !tokenPattern.MatchString(tok) {
			return false
		}
	}
	return true
}

// LoadConfig reads the YAML at path, replacing ${VAR} in every value from getenv, and returns it
// with defaults applied and validated.
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
	var cfg Config
	if len(root.Content) > 0 {
		if err := expandEnv(&root, "", getenv); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := checkKnownFields(root.Content[0], reflect.TypeOf(cfg), ""); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := root.Decode(&cfg); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config:\n%w", err)
	}
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
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
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

// DemoSecret is every credential of demo mode.
const DemoSecret = "demo-secret"

// DemoConfig is demo mode (docs/configuration.md): loopback only, an embedded server, one endpoint per
// provider with its name as id and every secret "demo-secret".
func DemoConfig() *Config {
	cfg := &Config{}
	cfg.HTTP.Listen = "127.0.0.1:8080"
	for _, p := range providers.All() {
		creds := p.DemoCredentials(DemoSecret)
		cfg.Endpoints = append(cfg.Endpoints, EndpointConfig{
			ID: p.Name, Provider: p.Name, Secrets: creds.Secrets, BasicAuth: creds.BasicAuth, BearerTokens: creds.BearerTokens,
		})
	}
	cfg.ApplyDefaults()
	return cfg
}

// EffectiveBodyLimit is the body limit given a server's max_payload (docs/configuration.md): a message must
// fit with its headers, so a smaller max_payload lowers the limit.
func EffectiveBodyLimit(configured, maxPayload int64) int64 {
	if maxPayload > 0 && configured > maxPayload-payloadHeadroom {
		return maxPayload - payloadHeadroom
	}
	return configured
}

// parseHostPort splits "host:port" with port "-1" or "0" meaning random.
func parseHostPort(s string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", portStr, err)
	}
	if port == 0 {
		port = -1
	}
	return host, port, nil
}

// parsePrefix reads an IP address or a CIDR ("203.0.113.7", "2001:db8::/32") as a prefix; an
// address is a prefix of its full length. IPv4-mapped IPv6 addresses are read as IPv4.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
