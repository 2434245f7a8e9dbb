package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/webhookbridge/bridge/providers"
)

// A configuration is compiled once (docs/configuration.md#validation): Compile checks every field
// and parses every value that start-up or a request needs — addresses, CIDRs, leaf URLs, each
// endpoint's provider scheme — into its type, so that Start, Route, Reload and Check take the
// compiled Plan and never parse or check again.

// Plan is a compiled configuration.
type Plan struct {
	cfg            *Config
	endpoints      []*Endpoint
	trustedProxies []netip.Prefix
	embeddedHost   string
	embeddedPort   int
	leafURLs       []*url.URL  // store-and-forward
	leafTLS        *tls.Config // store-and-forward, nil: no TLS on the leaf link
}

// Config is the configuration the plan was compiled from, defaults applied. It is read, never
// changed: a change needs a new Compile.
func (p *Plan) Config() *Config { return p.cfg }

// Endpoint returns the compiled endpoint with the given id.
func (p *Plan) Endpoint(id string) (*Endpoint, bool) {
	for _, ep := range p.endpoints {
		if ep.ID == id {
			return ep, true
		}
	}
	return nil, false
}

// FieldError is one problem with a configuration: the field's path as the YAML writes it
// ("endpoints[2].hmac.algorithm"), the line it is on when it came from a file (0: unknown), and
// what is wrong.
type FieldError struct {
	Field string
	Line  int
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
	}
	return e.Field + ": " + e.Msg
}

// FieldErrors lists the problems err holds, in the order found.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

var (
	tokenPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	streamNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Compile checks cfg (defaults already applied) and compiles it. It returns every problem at once,
// each a *FieldError naming its field.
func Compile(cfg *Config) (*Plan, error) {
	c := &compiler{cfg: cfg, plan: &Plan{cfg: cfg}}
	c.http()
	c.nats()
	c.storeAndForward()
	c.logging()
	c.stream()
	c.allEndpoints()
	if len(c.problems) > 0 {
		return nil, fmt.Errorf("config:\n%w", errors.Join(c.problems...))
	}
	return c.plan, nil
}

// Validate reports what is wrong with c, as Compile does, keeping nothing.
func (c *Config) Validate() error {
	_, err := Compile(c)
	return err
}

// compiler collects the problems of one Compile and builds its Plan.
type compiler struct {
	cfg      *Config
	plan     *Plan
	problems []error
}

func (c *compiler) bad(field, format string, args ...any) {
	c.problems = append(c.problems, &FieldError{Field: field, Line: c.cfg.line(field), Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) http() {
	h := c.cfg.HTTP
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		c.bad("http.listen", "%q is not host:port", h.Listen)
	}
	if h.AdminListen != "" {
		if _, _, err := net.SplitHostPort(h.AdminListen); err != nil {
			c.bad("http.admin_listen", "%q is not host:port", h.AdminListen)
		} else if h.AdminListen == h.Listen && !strings.HasSuffix(h.Listen, ":0") {
			c.bad("http.admin_listen", "must differ from http.listen: reloading is not for the providers' side")
		} else if !loopbackAddress(h.AdminListen) && h.AdminToken == "" {
			c.bad("http.admin_token", "required when http.admin_listen (%q) is not a loopback address: anyone who reaches it could reload the configuration", h.AdminListen)
		}
	}
	if c.cfg.fromFile && demoCredential(h.AdminToken) {
		c.bad("http.admin_token", "is the demo's credential \"demo-secret\" or a \"replace-me\" placeholder: generate one (openssl rand -hex 32)")
	}
	if h.MaxBodyBytes < 0 {
		c.bad("http.max_body_bytes", "must be positive, got %d", h.MaxBodyBytes)
	}
	if h.MaxInflightBytes < 0 {
		c.bad("http.max_inflight_bytes", "must be positive, got %d", h.MaxInflightBytes)
	} else if int64(h.MaxInflightBytes) < h.MaxBodyBytes {
		c.bad("http.max_inflight_bytes", "%d is less than http.max_body_bytes %d: a body at the limit could never be read", h.MaxInflightBytes, h.MaxBodyBytes)
	}
	if h.MaxConnections < 0 {
		c.bad("http.max_connections", "must be positive, got %d", h.MaxConnections)
	}
	if h.TLS.CAFile != "" {
		c.bad("http.tls.ca_file", "not used: the bridge serves HTTPS with cert_file and key_file and does not ask clients for certificates")
	}
	if (h.TLS.CertFile == "") != (h.TLS.KeyFile == "") {
		c.bad("http.tls", "cert_file and key_file must be set together")
	}
	for i, cidr := range h.TrustedProxies {
		p, err := parsePrefix(cidr)
		if err != nil {
			c.bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
			continue
		}
		c.plan.trustedProxies = append(c.plan.trustedProxies, p)
	}
}

func (c *compiler) nats() {
	n := c.cfg.NATS
	if n.URL == "" {
		host, port, err := parseHostPort(n.Embedded.Listen)
		if err != nil {
			c.bad("nats.embedded.listen", "%q is not host:port", n.Embedded.Listen)
		}
		c.plan.embeddedHost, c.plan.embeddedPort = host, port
	}
	if n.User != "" && n.Token != "" {
		c.bad("nats.token", "set either user/password or token, not both")
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		c.bad("nats.tls", "cert_file and key_file must be set together")
	}
	if n.PublishTimeout < 0 {
		c.bad("nats.publish_timeout", "must be positive")
	}
	if n.PingInterval < 0 {
		c.bad("nats.ping_interval", "must be positive")
	}
}

// storeAndForward checks nats.embedded.domain, leaf and edge (store-and-forward mode).
func (c *compiler) storeAndForward() {
	e := c.cfg.NATS.Embedded
	switch {
	case e.Leaf == nil && e.Domain != "":
		c.bad("nats.embedded.leaf", "domain %q is set but leaf is not: store-and-forward needs both", e.Domain)
		return
	case e.Leaf == nil:
		return
	}
	if c.cfg.NATS.URL != "" {
		c.bad("nats.url", "store-and-forward (nats.embedded.leaf) runs the embedded server: leave nats.url empty")
	}
	if e.Domain == "" {
		c.bad("nats.embedded.domain", "leaf %q needs this replica's JetStream domain (stable and unique per replica, e.g. edge-0)", redactURLs(e.Leaf.URL))
	} else if !tokenPattern.MatchString(e.Domain) {
		c.bad("nats.embedded.domain", "%q may hold only letters, digits, '_' and '-'", e.Domain)
	}
	if !tokenPattern.MatchString(e.Leaf.HubDomain) {
		c.bad("nats.embedded.leaf.hub_domain", "%q may hold only letters, digits, '_' and '-'", e.Leaf.HubDomain)
	} else if e.Leaf.HubDomain == e.Domain {
		c.bad("nats.embedded.leaf.hub_domain", "%q is also this replica's domain", e.Domain)
	}
	if e.Leaf.URL == "" {
		c.bad("nats.embedded.leaf.url", "the hub's leafnode URL is required (nats-leaf://hub:7422)")
	} else if urls, err := leafURLs(e.Leaf.URL); err != nil {
		c.bad("nats.embedded.leaf.url", "%v", err)
	} else {
		c.plan.leafURLs = urls
	}
	if t := e.Leaf.TLS; t != (TLSFiles{}) {
		tc, err := tlsClientConfig(t)
		if err != nil {
			c.bad("nats.embedded.leaf.tls", "%v", err)
		}
		c.plan.leafTLS = tc
	}
	if e.Edge.MaxAge < 0 || e.Edge.MaxBytes < 0 || e.Edge.DuplicateWindow < 0 {
		c.bad("nats.embedded.edge", "sizes and durations must be positive")
	}
	if e.Edge.DuplicateWindow > e.Edge.MaxAge {
		c.bad("nats.embedded.edge.duplicate_window", "%s exceeds edge.max_age %s", e.Edge.DuplicateWindow, e.Edge.MaxAge)
	}
}

func (c *compiler) logging() {
	switch c.cfg.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		c.bad("log.level", "%q is not one of debug, info, warn, error", c.cfg.Log.Level)
	}
	switch c.cfg.Log.Format {
	case "", "console", "json":
	default:
		c.bad("log.format", "%q is not one of console, json", c.cfg.Log.Format)
	}
}

func (c *compiler) stream() {
	s := c.cfg.Stream
	if !streamNamePattern.MatchString(s.Name) {
		c.bad("stream.name", "%q may hold only letters, digits, '_' and '-'", s.Name)
	}
	if !validSubjectPrefix(s.SubjectPrefix) {
		c.bad("stream.subject_prefix", "%q is not a subject of plain tokens", s.SubjectPrefix)
	}
	if !validSubjectPrefix(s.ReplyPrefix) {
		c.bad("stream.reply_prefix", "%q is not a subject of plain tokens", s.ReplyPrefix)
	} else if s.ReplyPrefix == s.SubjectPrefix || strings.HasPrefix(s.ReplyPrefix, s.SubjectPrefix+".") {
		c.bad("stream.reply_prefix", "%q lies inside the stream's subjects %q: questions would be stored", s.ReplyPrefix, s.SubjectPrefix+".>")
	}
	if !validSubjectPrefix(s.RejectPrefix) {
		c.bad("stream.reject_prefix", "%q is not a subject of plain tokens", s.RejectPrefix)
	} else {
		for _, other := range []string{s.SubjectPrefix, s.ReplyPrefix} {
			if s.RejectPrefix == other || strings.HasPrefix(s.RejectPrefix, other+".") || strings.HasPrefix(other, s.RejectPrefix+".") {
				c.bad("stream.reject_prefix", "%q overlaps %q: refused requests must have subjects of their own", s.RejectPrefix, other)
			}
		}
	}
	if r := c.cfg.Rejections; r.MaxAge < 0 || r.MaxBytes < 0 || (r.MaxBody != nil && *r.MaxBody < 0) || r.Rate < 0 || r.Burst < 0 {
		c.bad("rejections", "sizes, durations, rate and burst must be positive")
	}
	if s.Replicas < 1 || s.Replicas > 5 {
		c.bad("stream.replicas", "must be 1 to 5, got %d", s.Replicas)
	}
	if s.MaxBytes < 0 {
		c.bad("stream.max_bytes", "must be positive")
	}
	if s.DuplicateWindow > s.MaxAge {
		c.bad("stream.duplicate_window", "%s exceeds stream.max_age %s", s.DuplicateWindow, s.MaxAge)
	}
}

func (c *compiler) allEndpoints() {
	if len(c.cfg.Endpoints) == 0 {
		c.bad("endpoints", "at least one endpoint is required")
	}
	seen := map[string]int{}
	for i, ec := range c.cfg.Endpoints {
		field := fmt.Sprintf("endpoints[%d]", i)
		if !tokenPattern.MatchString(ec.ID) {
			c.bad(field+".id", "%q may hold only letters, digits, '_' and '-' (it is a subject token)", ec.ID)
		} else if j, dup := seen[ec.ID]; dup {
			c.bad(field+".id", "%q is already the id of endpoints[%d]", ec.ID, j)
		} else {
			seen[ec.ID] = i
		}
		if ep := c.endpoint(field, ec); ep != nil {
			c.plan.endpoints = append(c.plan.endpoints, ep)
		}
	}
}

// endpoint compiles one endpoint: its provider configured once with the endpoint's own keys,
// its addresses parsed, its answers, prefix and subjects fixed. Nil when it has problems.
func (c *compiler) endpoint(field string, ec EndpointConfig) *Endpoint {
	before := len(c.problems)
	p, ok := providers.Lookup(ec.Provider)
	if !ok {
		c.bad(field+".provider", "unknown provider %q (known: %s)", ec.Provider, strings.Join(providers.Names(), ", "))
		return nil
	}
	creds := ec.Credentials()
	creds.Secrets = append(creds.Secrets[:len(creds.Secrets):len(creds.Secrets)], c.secretFiles(field, ec)...)
	if c.cfg.fromFile {
		c.noDemoCredentials(field, ec, creds)
	}
	settings := c.settings(field, ec, p, creds)
	creds.Settings = settings.Value
	if err := p.CheckCredentials(creds); err != nil {
		c.bad(field, "%v", err)
	}
	if ec.ReplyTimeout < 0 {
		c.bad(field+".reply_timeout", "must be positive")
	}
	if ec.TypePrefix != "" && !providers.ValidTypePrefix(ec.TypePrefix) {
		c.bad(field+".type_prefix", "%q is not a reverse-DNS name (lower-case letters, digits, '-', dots)", ec.TypePrefix)
	}
	if s := ec.SuccessStatus; s != nil && (*s < 200 || *s > 299) {
		c.bad(field+".success_status", "%d is not a success status (200–299)", *s)
	}
	if s := ec.RejectionStatus; s != nil && (*s < 400 || *s > 499) {
		c.bad(field+".rejection_status", "%d is not a client-error status (400–499)", *s)
	}
	var allowFrom []netip.Prefix
	for j, a := range ec.AllowFrom {
		prefix, err := parsePrefix(a)
		if err != nil {
			c.bad(fmt.Sprintf("%s.allow_from[%d]", field, j), "%v", err)
			continue
		}
		allowFrom = append(allowFrom, prefix)
	}
	if ec.UnsignedTypes != nil && !ec.AllowUnsigned {
		c.bad(field+".unsigned_types", "only applies with allow_unsigned: true")
	}
	for j, t := range ec.UnsignedTypes {
		if strings.TrimSpace(t) == "" {
			c.bad(fmt.Sprintf("%s.unsigned_types[%d]", field, j), "empty event type")
		}
	}
	if ec.ReplyEvents != nil {
		for j, t := range *ec.ReplyEvents {
			if strings.TrimSpace(t) == "" {
				c.bad(fmt.Sprintf("%s.reply_events[%d]", field, j), "empty event type")
			}
		}
	}
	if len(c.problems) > before {
		return nil
	}
	return newEndpoint(ec, c.cfg.Stream, p, creds, settings, allowFrom)
}

// secretFiles reads the endpoint's secret_files: one secret each, a trailing newline stripped.
func (c *compiler) secretFiles(field string, ec EndpointConfig) []string {
	var secrets []string
	for j, path := range ec.SecretFiles {
		f := fmt.Sprintf("%s.secret_files[%d]", field, j)
		b, err := os.ReadFile(path)
		if err != nil {
			c.bad(f, "%v", err)
			continue
		}
		secret := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if strings.TrimSpace(secret) == "" {
			c.bad(f, "%s is empty", path)
			continue
		}
		secrets = append(secrets, secret)
	}
	return secrets
}

// demoForms are the demo's credential as the demo writes it for its senders: as is, base64 (with
// or without whsec_, Standard Webhooks and Svix) and hex (Adyen).
var demoForms = []string{
	DemoSecret,
	base64.StdEncoding.EncodeToString([]byte(DemoSecret)),
	"whsec_" + base64.StdEncoding.EncodeToString([]byte(DemoSecret)),
	hex.EncodeToString([]byte(DemoSecret)),
}

// demoCredential reports whether a credential is the demo's, in any of its forms, or a
// placeholder left unreplaced.
func demoCredential(s string) bool {
	return slices.ContainsFunc(demoForms, func(d string) bool { return strings.EqualFold(s, d) }) || strings.HasPrefix(s, "replace-me")
}

// demoKeyCredentials are the provider keys that are credentials (a demo value in them would
// let anyone who read the demo's code through).
var demoKeyCredentials = []string{"public_key", "verify_token"}

// noDemoCredentials refuses, in a configuration someone wrote, a credential that is the demo's
// or a placeholder: it would look protected and is not.
func (c *compiler) noDemoCredentials(field string, ec EndpointConfig, creds providers.Credentials) {
	const why = "is the demo's credential \"demo-secret\" or a \"replace-me\" placeholder: generate one (openssl rand -hex 32)"
	for j, s := range ec.Secrets {
		if demoCredential(s) {
			c.bad(fmt.Sprintf("%s.secrets[%d]", field, j), why)
		}
	}
	for j, s := range creds.Secrets[len(ec.Secrets):] {
		if demoCredential(s) {
			c.bad(fmt.Sprintf("%s.secret_files[%d]", field, j), why)
		}
	}
	if ec.BasicAuth != nil && demoCredential(ec.BasicAuth.Password) {
		c.bad(field+".basic_auth.password", why)
	}
	for j, s := range ec.BearerTokens {
		if demoCredential(s) {
			c.bad(fmt.Sprintf("%s.bearer_tokens[%d]", field, j), why)
		}
	}
	p, _ := providers.Lookup(ec.Provider)
	if p == nil {
		return
	}
	demo := demoKeys(p)
	for _, key := range demoKeyCredentials {
		given, ok := ec.ProviderKeys[key]
		if d, isDemo := demo[key]; ok && isDemo && given.Value != "" && (given.Value == d.Value || demoCredential(given.Value)) {
			c.bad(field+"."+key, "is the demo's: use your own (the sender's dashboard shows it)")
		}
	}
}

// settings hands the endpoint's own keys to its provider's Configure, once.
func (c *compiler) settings(field string, ec EndpointConfig, p *providers.Provider, creds providers.Credentials) providers.Settings {
	unknown := false
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range ec.ProviderKeys {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains(p.SettingKeys, key) {
			known := "none"
			if len(p.SettingKeys) > 0 {
				known = strings.Join(p.SettingKeys, ", ")
			}
			c.bad(field+"."+key, "unknown field (provider %s takes: %s)", p.Name, known)
			unknown = true
		}
	}
	if unknown || p.Configure == nil {
		return providers.Settings{}
	}
	read := func(key string, v any) (bool, error) {
		n, ok := ec.ProviderKeys[key]
		if !ok {
			return false, nil
		}
		if err := n.Decode(v); err != nil {
			return true, &providers.SettingError{Key: key, Msg: unquoteValues(err.Error())}
		}
		return true, nil
	}
	settings, err := p.Configure(ec.ID, creds, read)
	for _, e := range splitErrors(err) {
		var se *providers.SettingError
		if errors.As(e, &se) {
			c.bad(field+"."+se.Key, "%s", se.Msg)
		} else {
			c.bad(field, "%v", e)
		}
	}
	return settings
}

// tlsClientConfig is a TLS client configuration from PEM files: the CA to trust (else the
// system's) and, for mutual TLS, a certificate and its key.
func tlsClientConfig(t TLSFiles) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no certificate in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// loopbackAddress reports whether a listen address "host:port" binds loopback only: a loopback IP
// or "localhost". An empty host, 0.0.0.0, :: or any other name binds more.
func loopbackAddress(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
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

// splitErrors lists the errors joined in err (none for nil).
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fieldLines records the line of every key of a YAML document by its field path
// ("endpoints[0].hmac.algorithm"), and of every item of a sequence ("endpoints[0]").
func fieldLines(n *yaml.Node, path string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fieldLines(c, path, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinField(path, n.Content[i].Value)
			lines[p] = n.Content[i].Line
			fieldLines(n.Content[i+1], p, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[p] = c.Line
			fieldLines(c, p, lines)
		}
	}
}

// line is the line of field in the file the configuration came from, or of its nearest parent
// written there (a default is on no line); 0 when it came from no file.
func (c *Config) line(field string) int {
	for f := field; f != ""; {
		if l, ok := c.lines[f]; ok {
			return l
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}
