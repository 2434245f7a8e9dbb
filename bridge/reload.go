package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Reloading the configuration while running (SIGHUP, or POST /-/reload on http.admin_listen).
// The file is read and validated as at start-up, then what a running bridge can change — the
// endpoints (secrets, allow-lists, questions, their providers' settings) and the trusted proxies —
// is swapped in at once: a request reads the routing once, so requests in flight finish on the
// configuration they started with and none is refused during the swap. What needs a restart (the
// listen addresses, TLS, the body limit, NATS, the stream, logging) is reported, not applied.

// ErrNoReload is a reload of a bridge that was not started from a file (the demo).
var ErrNoReload = errors.New("no configuration file to reload (demo mode)")

// ReloadReport says what a reload changed.
type ReloadReport struct {
	Added, Removed, Changed []string // endpoint ids
	NeedsRestart            []string // fields that changed but apply only after a restart
}

func (r ReloadReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "endpoints added %v, removed %v, changed %v", r.Added, r.Removed, r.Changed)
	if len(r.NeedsRestart) > 0 {
		fmt.Fprintf(&b, "; needs a restart (not applied): %s", strings.Join(r.NeedsRestart, ", "))
	}
	return b.String()
}

// EnableReload gives the app where its configuration comes from.
func (a *App) EnableReload(load func() (*Config, error)) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.load = load
}

// Reload reads the configuration again and swaps in what can change while running. An invalid
// configuration changes nothing; its error names the fields, as at start-up.
func (a *App) Reload() (ReloadReport, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	report, err := a.reload()
	result := "success"
	if err != nil {
		result = "failure"
		a.log.Error().Err(err).Msg("configuration reload failed: the running configuration stays")
	} else {
		e := a.log.Info()
		if len(report.NeedsRestart) > 0 {
			e = a.log.Warn().Strs("needs_restart", report.NeedsRestart)
		}
		e.Strs("added", report.Added).Strs("removed", report.Removed).Strs("changed", report.Changed).
			Msg("configuration reloaded")
	}
	a.metrics.reloads.WithLabelValues(result).Inc()
	return report, err
}

func (a *App) reload() (ReloadReport, error) {
	if a.load == nil {
		return ReloadReport{}, ErrNoReload
	}
	next, err := a.load()
	if err != nil {
		return ReloadReport{}, err
	}
	compiled, err := Compile(next)
	if err != nil {
		return ReloadReport{}, err
	}
	report := diffConfigs(a.plan.cfg, next)
	// Keep what needs a restart as it runs, so that a.plan describes what is in force: the
	// running plan with the new endpoints and trusted proxies, as compiled.
	cfg := *a.plan.cfg
	cfg.Endpoints = next.Endpoints
	cfg.HTTP.TrustedProxies = next.HTTP.TrustedProxies
	applied := *a.plan
	applied.cfg = &cfg
	applied.endpoints, applied.trustedProxies = compiled.endpoints, compiled.trustedProxies
	a.server.Route(&applied)
	a.plan = &applied
	warnUnlimitedUnsigned(a.log, next)
	warnTrustedAllowFrom(a.log, &applied)
	return report, nil
}

// diffConfigs compares the running configuration with the next one.
func diffConfigs(old, next *Config) ReloadReport {
	var r ReloadReport
	before := map[string]EndpointConfig{}
	for _, ep := range old.Endpoints {
		before[ep.ID] = ep
	}
	for _, ep := range next.Endpoints {
		prev, ok := before[ep.ID]
		switch {
		case !ok:
			r.Added = append(r.Added, ep.ID)
		case !sameEndpoint(prev, ep):
			r.Changed = append(r.Changed, ep.ID)
		}
		delete(before, ep.ID)
	}
	for id := range before {
		r.Removed = append(r.Removed, id)
	}
	sort.Strings(r.Removed)
	restart := func(field string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			r.NeedsRestart = append(r.NeedsRestart, field)
		}
	}
	restart("http.listen", old.HTTP.Listen, next.HTTP.Listen)
	restart("http.admin_listen", old.HTTP.AdminListen, next.HTTP.AdminListen)
	restart("http.admin_token", old.HTTP.AdminToken, next.HTTP.AdminToken) // named, its value never printed
	restart("http.tls", old.HTTP.TLS, next.HTTP.TLS)
	restart("http.max_body_bytes", old.HTTP.MaxBodyBytes, next.HTTP.MaxBodyBytes)
	restart("http.max_inflight_bytes", old.HTTP.MaxInflightBytes, next.HTTP.MaxInflightBytes)
	restart("http.max_connections", old.HTTP.MaxConnections, next.HTTP.MaxConnections)
	restart("nats", old.NATS, next.NATS)
	restart("stream", old.Stream, next.Stream)
	restart("log", old.Log, next.Log)
	// The HTTP server's write timeout was sized for the longest reply_timeout at start.
	if maxReplyTimeout(next) > maxReplyTimeout(old) {
		r.NeedsRestart = append(r.NeedsRestart, "endpoints[].reply_timeout (longer than at start: the HTTP write timeout)")
	}
	return r
}

// sameEndpoint compares two endpoint configurations as written: what the provider made of its
// keys (compiled templates and the like) is left out, and its keys are compared by value, not by
// where they stood in the file.
func sameEndpoint(a, b EndpointConfig) bool {
	ka, kb := settingsText(a.ProviderKeys), settingsText(b.ProviderKeys)
	a.ProviderKeys, b.ProviderKeys = nil, nil
	return reflect.DeepEqual(a, b) && ka == kb
}

// settingsText writes an endpoint's own keys as YAML, in key order, without positions.
func settingsText(m map[string]yaml.Node) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		n := m[k]
		out, _ := yaml.Marshal(&n)
		b.WriteString(k + ": " + string(out))
	}
	return b.String()
}

func maxReplyTimeout(c *Config) time.Duration {
	var m time.Duration
	for _, ep := range c.Endpoints {
		m = max(m, ep.ReplyTimeout)
	}
	return m
}

// adminServer serves GET /metrics, POST /-/reload and the console (console.go) on its own
// listener, away from the providers' side.
type adminServer struct {
	srv     *http.Server
	ln      net.Listener
	served  chan struct{}
	console *console
}

func startAdmin(addr, token string, a *App) (*adminServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.admin_listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.server.MetricsHandler())
	mux.Handle("/-/reload", adminOnly(token, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST to reload the configuration", http.StatusMethodNotAllowed)
			return
		}
		report, err := a.Reload()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, ErrNoReload) {
				status = http.StatusConflict
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "reload failed, the running configuration stays:\n"+err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "reloaded: "+report.String()+"\n")
	})))
	con := newConsole(a, token)
	con.routes(mux)
	s := &adminServer{
		srv:     &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: 30 * time.Second},
		ln:      ln,
		served:  make(chan struct{}),
		console: con,
	}
	// Shutdown waits for every handler: the console's live streams end when it begins.
	s.srv.RegisterOnShutdown(con.shutdown)
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *adminServer) close(ctx context.Context) {
	s.console.shutdown()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.console.log.Warn().Err(err).Msg("admin listener: shutdown cut short, its connections closed")
	}
	<-s.served
	s.console.close()
}

// adminOnly lets through only what an operator's tool sends: no Origin header (a browser on
// another site could otherwise make the operator's browser post here, 403) and, when token is
// set, "Authorization: Bearer <token>" (401 otherwise), compared in constant time.
func adminOnly(token string, next http.Handler) http.Handler {
	want := newBearerToken(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			http.Error(w, "requests from a browser page are refused", http.StatusForbidden)
			return
		}
		if token != "" {
			if !want.sentBy(r) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bridge admin"`)
				http.Error(w, "the admin token is required (Authorization: Bearer <http.admin_token>)", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken is the digest of what "Authorization: Bearer <token>" must say: compared as
// digests, in constant time, so neither the token nor its length shows in the timing.
type bearerToken [32]byte

func newBearerToken(token string) bearerToken { return sha256.Sum256([]byte("Bearer " + token)) }

// sentBy reports whether r carries the bearer token.
func (b bearerToken) sentBy(r *http.Request) bool {
	given := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return subtle.ConstantTimeCompare(given[:], b[:]) == 1
}

// AdminAddr is the admin listener's address ("" when it is off).
func (a *App) AdminAddr() string {
	if a.admin == nil {
		return ""
	}
	return a.admin.addr()
}

func (s *adminServer) addr() string { return s.ln.Addr().String() }
