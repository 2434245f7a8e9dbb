package bridge

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// The operator console (docs/console.md): a page on the admin listener that shows the endpoints,
// the events and refused requests as they arrive, and the health of the NATS side. It reads what
// the bridge already has — its own counters, sampled (console_stats.go), and NATS through
// consumers of its own (console_feed.go) — and adds nothing to the webhook path. Everything a
// request controls is shown as text: the page builds its DOM with textContent only, the server
// renders HTML with html/template, and the Content-Security-Policy allows no inline script.

//go:embed console
var consoleFiles embed.FS

// consolePages are the console's server-rendered pages.
var consolePages = template.Must(template.ParseFS(consoleFiles, "console/*.html"))

// consoleCSP lets the page load only its own script, style and data.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// consoleCookie holds a session: a random id per sign-in, which the bridge keeps for
// consoleSessionAge and forgets at sign-out — never the token, so the cookie does not give
// /-/reload its bearer token, and a copied cookie dies with its session. At most
// maxConsoleSessions live at once; a new sign-in past that ends the oldest.
const (
	consoleCookie      = "bridge_console"
	consoleSessionAge  = 12 * time.Hour
	maxConsoleSessions = 256
)

// consoleSessions are the signed-in browsers: the SHA-256 of each session id (so a lookup's
// timing tells nothing of the ids) and when it ends.
type consoleSessions struct {
	mu  sync.Mutex
	ids map[[32]byte]time.Time
	now func() time.Time
}

// start makes a new session and returns its id.
func (s *consoleSessions) start() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[[32]byte]time.Time{}
	}
	var oldest [32]byte
	var oldestEnd time.Time
	for k, end := range s.ids {
		if !now.Before(end) {
			delete(s.ids, k)
		} else if oldestEnd.IsZero() || end.Before(oldestEnd) {
			oldest, oldestEnd = k, end
		}
	}
	if len(s.ids) >= maxConsoleSessions {
		delete(s.ids, oldest)
	}
	s.ids[sha256.Sum256([]byte(id))] = now.Add(consoleSessionAge)
	return id, nil
}

// valid reports whether id is a session that has not ended.
func (s *consoleSessions) valid(id string) bool {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	end, ok := s.ids[k]
	if ok && !s.now().Before(end) {
		delete(s.ids, k)
		return false
	}
	return ok
}

// end forgets the session id.
func (s *consoleSessions) end(id string) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, k)
}

// console serves the page, its assets and its data on the admin listener.
type console struct {
	app      *App
	token    string
	sessions consoleSessions // the signed-in browsers (none without a token)
	bearer   bearerToken     // for tools that send the token in Authorization instead
	log      zerolog.Logger
	// natsServer says where NATS is, passwords hidden (what needs a restart; a reload keeps it).
	natsServer string
	stats      *endpointStats
	// events and rejections are the live feeds (rejections nil when they are not kept).
	events, rejections *feed
	feeds              atomic.Int32 // feeds running: NATS consumers open for pages
	health             healthCache
	endpoints          endpointsCache
	// done ends the live streams when the admin server shuts down.
	done chan struct{}
}

func newConsole(a *App, token string) *console {
	c := &console{app: a, token: token, log: a.log, done: make(chan struct{})}
	c.sessions.now = time.Now
	if token != "" {
		c.bearer = newBearerToken(token)
	}
	c.natsServer = "embedded " + a.plan.cfg.NATS.Embedded.Listen
	if u := a.plan.cfg.NATS.URL; u != "" {
		c.natsServer = RedactURLs(u)
	}
	c.stats = startEndpointStats(a.metrics)
	c.events = newFeed("event", a.broker, a.broker.stream.Name, eventRow, &c.feeds)
	if a.broker.rejections != nil {
		c.rejections = newFeed("rejection", a.broker, a.broker.rejections.Name, rejectionRow, &c.feeds)
	}
	return c
}

// routes adds the console's routes to the admin listener's mux.
func (c *console) routes(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, consoleHeaders(c.knownHost(h))) }
	handle("GET /{$}", c.handlePage)
	handle("GET /console/console.js", serveAsset("console/console.js", "text/javascript; charset=utf-8"))
	handle("GET /console/console.css", serveAsset("console/console.css", "text/css; charset=utf-8"))
	handle("GET /console/icon.svg", serveAsset("console/icon.svg", "image/svg+xml"))
	handle("GET /favicon.ico", serveAsset("console/icon.svg", "image/svg+xml"))
	handle("POST /console/sign-in", c.handleSignIn)
	handle("GET /console/sign-in", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusSeeOther) })
	handle("POST /console/sign-out", c.handleSignOut)
	api := func(pattern string, h http.HandlerFunc) { handle(pattern, c.apiOnly(h)) }
	api("GET /console/api/endpoints", c.handleEndpoints)
	api("GET /console/api/events", c.handleList(c.events))
	api("GET /console/api/events/{seq}", c.handleDetail(c.events))
	api("GET /console/api/rejections", c.handleList(c.rejections))
	api("GET /console/api/rejections/{seq}", c.handleDetail(c.rejections))
	api("GET /console/api/health", c.handleHealth)
	api("GET /console/api/stream", c.handleStream)
}

// shutdown ends the live streams (the admin server's Shutdown waits for their handlers).
func (c *console) shutdown() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
}

// close stops the sampling and every feed; after shutdown.
func (c *console) close() {
	c.shutdown()
	c.stats.close()
	c.events.close()
	if c.rejections != nil {
		c.rejections.close()
	}
}

// consoleHeaders sets the headers every console answer carries.
func consoleHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func serveAsset(name, contentType string) http.HandlerFunc {
	body, err := consoleFiles.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// knownHost refuses, without a token, a request whose Host is a name other than localhost (421).
// Without a token the console trusts whoever reaches it; a page of another site whose name is
// made to resolve to the listener (DNS rebinding) would otherwise read it as same-origin. An IP
// address as Host cannot be rebound, nor can localhost in a browser. With a token the session
// cookie, bound to the name it was set for, is the proof.
func (c *console) knownHost(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.token == "" && !loopbackOrAddressHost(r.Host) {
			http.Error(w, "without http.admin_token the console answers only to an IP address or localhost: "+
				"set http.admin_token to reach it by name", http.StatusMisdirectedRequest)
			return
		}
		next(w, r)
	}
}

// loopbackOrAddressHost reports whether a Host header names an IP address or localhost (or is
// empty, as from an HTTP/1.0 tool).
func loopbackOrAddressHost(host string) bool {
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(host)
	return err == nil
}

// signedIn reports whether the request carries the session cookie (or the admin token as a
// bearer token); always true without a token.
func (c *console) signedIn(r *http.Request) bool {
	if c.token == "" {
		return true
	}
	if k, err := r.Cookie(consoleCookie); err == nil && c.sessions.valid(k.Value) {
		return true
	}
	return c.bearer.sentBy(r)
}

// apiOnly answers 401 to a data request that is not signed in.
func (c *console) apiOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.signedIn(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first (the admin token)"})
			return
		}
		next(w, r)
	}
}

// pageData is what the console's pages are rendered with.
type pageData struct {
	Stream  string
	Error   string
	SignOut bool // a token is set: offer to sign out
	Leaf    bool // store-and-forward: the leaf link and the backlog have a place
}

func (c *console) handlePage(w http.ResponseWriter, r *http.Request) {
	if !c.signedIn(r) {
		c.signInPage(w, http.StatusUnauthorized, "")
		return
	}
	c.render(w, http.StatusOK, "index.html", pageData{
		Stream: c.app.broker.stream.Name, SignOut: c.token != "", Leaf: c.app.broker.Edge().Enabled,
	})
}

func (c *console) signInPage(w http.ResponseWriter, status int, msg string) {
	c.render(w, status, "signin.html", pageData{Error: msg})
}

func (c *console) render(w http.ResponseWriter, status int, name string, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := consolePages.ExecuteTemplate(w, name, data); err != nil {
		c.log.Warn().Err(err).Str("page", name).Msg("console: rendering a page failed")
	}
}

// handleSignIn checks the token of the sign-in form and sets the session cookie. Only the
// console's own page may post it: the cookie is SameSite=Strict, and a request whose Origin is
// another site is refused.
func (c *console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "sign in from the console's own page", http.StatusForbidden)
		return
	}
	if c.token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		c.signInPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	given := sha256.Sum256([]byte(r.PostForm.Get("token")))
	want := sha256.Sum256([]byte(c.token))
	if subtle.ConstantTimeCompare(given[:], want[:]) != 1 {
		c.log.Warn().Str("remote_ip", remoteHost(r)).Msg("console: sign-in with a wrong admin token")
		c.signInPage(w, http.StatusUnauthorized, "That is not the admin token (http.admin_token).")
		return
	}
	session, err := c.sessions.start()
	if err != nil {
		c.signInPage(w, http.StatusInternalServerError, "No session could be started.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: consoleCookie, Value: session, Path: "/", MaxAge: int(consoleSessionAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *console) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "sign out from the console's own page", http.StatusForbidden)
		return
	}
	if k, err := r.Cookie(consoleCookie); err == nil {
		c.sessions.end(k.Value) // a copy of the cookie dies with it
	}
	http.SetCookie(w, &http.Cookie{
		Name: consoleCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sameOrigin reports whether a form post came from a page of this listener. A browser says
// where a request comes from in Sec-Fetch-Site (which no page can set): it must be same-origin.
// Origin, when it names one, must be this listener's; under Referrer-Policy: no-referrer a
// browser sends "Origin: null" even for its own page's post, which Sec-Fetch-Site then vouches
// for. A request with neither comes from a tool, not a browser.
func sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return true
	case origin == "null":
		return site == "same-origin"
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// remoteHost is the address a request to the admin listener came from.
func remoteHost(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
