package bridge

import (
	"fmt"
	"net"
	"net/netip"
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
	// Rejections keeps refused requests, with their diagnosis, in a stream of their own.
	Rejections RejectionsConfig `yaml:"rejections"`
	// lines are where each field was written, when the configuration came from a file.
	lines map[string]int
	// fromFile is set by the loader: a configuration someone wrote, not the demo's, so demo
	// credentials in it are a mistake.
	fromFile bool
}

// HTTPConfig is the ingress.
type HTTPConfig struct {
	Listen         string   `yaml:"listen"`
	MaxBodyBytes   int64    `yaml:"max_body_bytes"`
	TLS            TLSFiles `yaml:"tls"`
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AdminListen serves the admin surface — GET /metrics and POST /-/reload — on an address of
	// its own, away from the webhook listener; empty: off (/metrics then stays on the webhook
	// listener and there is no reload endpoint).
	AdminListen string `yaml:"admin_listen"`
	// AdminToken is the bearer token /-/reload requires; required when AdminListen is not a
	// loopback address.
	AdminToken string `yaml:"admin_token"`
	// MaxInflightBytes caps the bytes of all bodies being read or waiting to be stored; past it
	// a request gets its endpoint's retry answer at once.
	MaxInflightBytes ByteSize `yaml:"max_inflight_bytes"`
	// MaxConnections caps the open connections of the webhook listener.
	MaxConnections int `yaml:"max_connections"`
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
	// TLS secures the link: the hub's CA (ca_file) and, for mutual TLS, this replica's
	// certificate (cert_file, key_file).
	TLS TLSFiles `yaml:"tls"`
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
	Format string `yaml:"format"` // console or json; empty: console on a terminal, else json
}

// StreamConfig is the JetStream stream every event goes to.
type StreamConfig struct {
	Name          string `yaml:"name"`
	SubjectPrefix string `yaml:"subject_prefix"`
	ReplyPrefix   string `yaml:"reply_prefix"`
	// RejectPrefix starts the subjects of refused requests: <prefix>.<endpoint>.<reason>.
	RejectPrefix    string        `yaml:"reject_prefix"`
	Replicas        int           `yaml:"replicas"`
	MaxAge          time.Duration `yaml:"max_age"`
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// MaxBytes caps the stream (0: no cap); a full stream refuses new events (discard new), which
	// the provider gets as its retry answer, so a flood fills it only up to what was chosen.
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// RejectionsConfig is the stream of refused requests (docs/operations.md#rejected-requests).
type RejectionsConfig struct {
	// Enabled nil means on.
	Enabled  *bool         `yaml:"enabled"`
	MaxAge   time.Duration `yaml:"max_age"`
	MaxBytes ByteSize      `yaml:"max_bytes"`
	// MaxBody is how much of a refused request's body is kept; nil: the default, 0: none.
	MaxBody *ByteSize `yaml:"max_body"`
	// Rate and Burst bound, per endpoint, how many refused requests are kept: a token bucket
	// that starts full; those over it are counted, not kept.
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// On reports whether refused requests are kept.
func (r RejectionsConfig) On() bool { return r.Enabled == nil || *r.Enabled }

// RejectionsStreamName is the stream that keeps refused requests.
func (s StreamConfig) RejectionsStreamName() string { return s.Name + "_REJECTED" }

// EndpointConfig is one webhook endpoint: a route, a provider and its credentials.
type EndpointConfig struct {
	ID       string   `yaml:"id"`
	Provider string   `yaml:"provider"`
	Secrets  []string `yaml:"secrets"`
	// SecretFiles are files holding one secret each (a trailing newline is stripped), read when
	// the configuration is compiled — at start and on every reload — and tried after Secrets.
	SecretFiles  []string             `yaml:"secret_files"`
	BasicAuth    *providers.BasicAuth `yaml:"basic_auth"`
	BearerTokens []string             `yaml:"bearer_tokens"`
	// ReplyEvents nil means the provider's default; an empty list means none.
	ReplyEvents  *[]string     `yaml:"reply_events"`
	ReplyTimeout time.Duration `yaml:"reply_timeout"`
	// AllowUnsigned accepts requests without any proof (ZignSec SMS webhooks are unsigned);
	// they are published with the CloudEvents extension unsigned=true.
	AllowUnsigned bool `yaml:"allow_unsigned"`
	// UnsignedTypes, when set, lists the only event types (after the provider's prefix) a
	// request without proof may carry; nil: any.
	UnsignedTypes []string `yaml:"unsigned_types"`
	// TypePrefix, SuccessStatus and RejectionStatus replace, for this endpoint, the start of its
	// CloudEvents types and the status codes of its answers (any provider; an hmac block may
	// also set them, and the endpoint's own keys win).
	TypePrefix      string `yaml:"type_prefix"`
	SuccessStatus   *int   `yaml:"success_status"`
	RejectionStatus *int   `yaml:"rejection_status"`
	// AllowFrom lists the client addresses (IPs or CIDRs) the endpoint accepts; empty: any.
	AllowFrom []string `yaml:"allow_from"`
	// ProviderKeys are the endpoint's other keys, as written, for its provider's Configure
	// (e.g. the hmac provider's "hmac" block, standard-webhooks' "timestamp_tolerance");
	// Compile hands them over once.
	ProviderKeys map[string]yaml.Node `yaml:",inline"`
}

// Credentials returns the endpoint's proofs in the providers' terms (without the provider's
// settings, which Compile adds).
func (e EndpointConfig) Credentials() providers.Credentials {
	return providers.Credentials{Secrets: e.Secrets, BasicAuth: e.BasicAuth, BearerTokens: e.BearerTokens, AllowUnsigned: e.AllowUnsigned}
}

// Defaults for everything the YAML may leave out.
const (
	DefaultMaxBodyBytes   = 1 << 20
	DefaultPublishTimeout = 5 * time.Second
	DefaultReplyTimeout   = 3 * time.Second
	DefaultPingInterval   = 2 * time.Second
	// DefaultMaxInflightBytes and DefaultMaxConnections bound what requests hold before any
	// proof is checked (docs/security.md#limits).
	DefaultMaxInflightBytes = 64 << 20
	DefaultMaxConnections   = 4096
	// maxStreamsPerConnection is HTTP/2's concurrent streams per connection: one connection
	// cannot multiply itself into hundreds of requests.
	maxStreamsPerConnection = 32
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
	if c.HTTP.MaxInflightBytes == 0 {
		c.HTTP.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.HTTP.MaxConnections == 0 {
		c.HTTP.MaxConnections = DefaultMaxConnections
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
	// log.format stays empty unless set: NewLogger then chooses by where the log goes.
	def(&c.Stream.Name, "WEBHOOKS")
	def(&c.Stream.SubjectPrefix, "webhooks")
	def(&c.Stream.ReplyPrefix, c.Stream.SubjectPrefix+"-reply")
	def(&c.Stream.RejectPrefix, c.Stream.SubjectPrefix+"-rejected")
	r := &c.Rejections
	if r.MaxAge == 0 {
		r.MaxAge = 72 * time.Hour
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = 256 << 20
	}
	if r.MaxBody == nil {
		b := ByteSize(64 << 10)
		r.MaxBody = &b
	}
	if r.Rate == 0 {
		r.Rate = 10
	}
	if r.Burst == 0 {
		r.Burst = 100
	}
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
