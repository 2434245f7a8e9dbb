package bridge

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/webhookbridge/bridge/providers"
)

var (
	tokenPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	streamNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
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
	if c.HTTP.AdminListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.AdminListen); err != nil {
			bad("http.admin_listen", "%q is not host:port", c.HTTP.AdminListen)
		} else if c.HTTP.AdminListen == c.HTTP.Listen && !strings.HasSuffix(c.HTTP.Listen, ":0") {
			bad("http.admin_listen", "must differ from http.listen: reloading is not for the providers' side")
		}
	}
	if c.HTTP.MaxBodyBytes < 0 {
		bad("http.max_body_bytes", "must be positive, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.MaxInflightBytes < 0 {
		bad("http.max_inflight_bytes", "must be positive, got %d", c.HTTP.MaxInflightBytes)
	} else if int64(c.HTTP.MaxInflightBytes) < c.HTTP.MaxBodyBytes {
		bad("http.max_inflight_bytes", "%d is less than http.max_body_bytes %d: a body at the limit could never be read", c.HTTP.MaxInflightBytes, c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.MaxConnections < 0 {
		bad("http.max_connections", "must be positive, got %d", c.HTTP.MaxConnections)
	}
	if c.HTTP.TLS.CAFile != "" {
		bad("http.tls.ca_file", "not used: the bridge serves HTTPS with cert_file and key_file and does not ask clients for certificates")
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
	case "", "console", "json":
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
	if c.Stream.MaxBytes < 0 {
		bad("stream.max_bytes", "must be positive")
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
		if err := c.Endpoints[i].configure(p); err != nil {
			for _, e := range splitErrors(err) {
				key, msg, _ := strings.Cut(e.Error(), ": ")
				bad(field+"."+key, "%s", msg)
			}
		}
		if err := p.CheckCredentials(c.Endpoints[i].Credentials()); err != nil {
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
		if ep.UnsignedTypes != nil && !ep.AllowUnsigned {
			bad(field+".unsigned_types", "only applies with allow_unsigned: true")
		}
		for j, t := range ep.UnsignedTypes {
			if strings.TrimSpace(t) == "" {
				bad(fmt.Sprintf("%s.unsigned_types[%d]", field, j), "empty event type")
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
		bad("nats.embedded.domain", "leaf %q needs this replica's JetStream domain (stable and unique per replica, e.g. edge-0)", redactURLs(e.Leaf.URL))
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

// splitErrors lists the errors joined in err.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
