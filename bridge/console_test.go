package bridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// The operator console's server side (console*.go): sign-in, headers, data and live feeds, against
// a real bridge and nats-server. The page itself is driven in a browser by console_browser_test.go.

// adminConsole is a bridge with an admin listener, and a client that keeps no cookies and
// follows no redirects, so that each test says what it sends.
type adminConsole struct {
	*harness
	admin  string // http://127.0.0.1:port
	client *http.Client
}

func startAdminConsole(t *testing.T, token string) *adminConsole {
	t.Helper()
	h := startBridge(t, func(c *bridge.Config) { c.HTTP.AdminListen, c.HTTP.AdminToken = "127.0.0.1:0", token })
	return &adminConsole{
		harness: h,
		admin:   "http://" + h.app.AdminAddr(),
		client:  &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// request sends method path to the admin listener and returns the answer and its body.
func (c *adminConsole) request(t *testing.T, method, path string, header http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v[0] // the client sends req.Host, never a Host header
			continue
		}
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// getJSON GETs an API path (signed in with header) and decodes its 200 answer into v.
func (c *adminConsole) getJSON(t *testing.T, path string, header http.Header, v any) {
	t.Helper()
	resp, body := c.request(t, http.MethodGet, path, header, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// signIn posts the sign-in form and returns the session cookie it sets.
func (c *adminConsole) signIn(t *testing.T, token string) *http.Cookie {
	t.Helper()
	resp, body := c.request(t, http.MethodPost, "/console/sign-in",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {c.admin}}, url.Values{"token": {token}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("sign in: %d, cookies %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	return resp.Cookies()[0]
}

// securityHeaders are what every answer of the console carries.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
}

// TestConsoleAPISignIn: with http.admin_token, the page asks for the token and its data are
// 401 until the sign-in form sets an HttpOnly, SameSite=Strict cookie that is not the token; a
// wrong token, or a post from another site, sets nothing. Every answer carries the CSP.
func TestConsoleAPISignIn(t *testing.T) {
	const token = "console-server-test-token"
	c := startAdminConsole(t, token)
	form := func(token, origin string) (http.Header, string) {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return h, url.Values{"token": {token}}.Encode()
	}
	wrongHeader, wrongBody := form("not-"+token, c.admin)
	crossHeader, crossBody := form(token, "https://evil.example")
	rightHeader, rightBody := form(token, c.admin)
	noOriginHeader, _ := form(token, "")
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		contains           string // in the body
		cookie             bool   // sets the session cookie
	}{
		{"the page without a cookie: the sign-in form", "GET", "/", nil, "", 401, `<form id="signin"`, false},
		{"data without a cookie", "GET", "/console/api/endpoints", nil, "", 401, "sign in", false},
		{"the live stream without a cookie", "GET", "/console/api/stream", nil, "", 401, "sign in", false},
		{"an event without a cookie", "GET", "/console/api/events/1", nil, "", 401, "sign in", false},
		{"a wrong token: the form again, with an error", "POST", "/console/sign-in", wrongHeader, wrongBody, 401, `role="alert"`, false},
		{"a post from another site", "POST", "/console/sign-in", crossHeader, crossBody, 403, "", false},
		{"the right token", "POST", "/console/sign-in", rightHeader, rightBody, 303, "", true},
		{"the right token from a tool (no Origin)", "POST", "/console/sign-in", noOriginHeader, rightBody, 303, "", true},
		{"the admin token as a bearer token", "GET", "/console/api/health", http.Header{"Authorization": {"Bearer " + token}}, "", 200, `"nats"`, false},
		{"a wrong bearer token", "GET", "/console/api/health", http.Header{"Authorization": {"Bearer x" + token}}, "", 401, "", false},
		{"the script needs no sign-in", "GET", "/console/console.js", nil, "", 200, "textContent", false},
		{"the style sheet needs no sign-in", "GET", "/console/console.css", nil, "", 200, "", false},
		{"nothing else at the root", "GET", "/other", nil, "", 404, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.request(t, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d, want %d\n%s", tc.method, tc.path, resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body does not contain %q:\n%s", tc.contains, body)
			}
			if strings.Contains(body, token) {
				t.Errorf("the answer shows the token:\n%s", body)
			}
			if tc.status != 404 {
				for name, want := range securityHeaders {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s: %q, want %q", name, got, want)
					}
				}
			}
			cookies := resp.Cookies()
			if !tc.cookie {
				if len(cookies) != 0 {
					t.Errorf("cookies set: %v", cookies)
				}
				return
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want the session cookie", cookies)
			}
			k := cookies[0]
			if !k.HttpOnly || k.SameSite != http.SameSiteStrictMode || k.Path != "/" {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q, want HttpOnly, Strict, /", k.Name, k.HttpOnly, k.SameSite, k.Path)
			}
			if k.Secure {
				t.Errorf("cookie %s is Secure over plain HTTP: the browser would not send it back", k.Name)
			}
			if strings.Contains(k.Value, token) {
				t.Errorf("cookie %s carries the token", k.Name)
			}
		})
	}

	cookie := c.signIn(t, token)
	signedIn := http.Header{"Cookie": {cookie.String()}}
	for _, path := range []string{"/", "/console/api/endpoints", "/console/api/health", "/console/api/events?limit=5", "/console/api/rejections"} {
		resp, body := c.request(t, http.MethodGet, path, signedIn, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s signed in: %d\n%s", path, resp.StatusCode, body)
		}
		if resp.Header.Get("Content-Security-Policy") != securityHeaders["Content-Security-Policy"] {
			t.Errorf("GET %s: no CSP", path)
		}
	}
	if _, body := c.request(t, http.MethodGet, "/", signedIn, ""); !strings.Contains(body, `<a href="#events">Events</a>`) || strings.Contains(body, `id="signin"`) {
		t.Errorf("signed in, the page is not the console:\n%s", body)
	}
	// A forged cookie is no session.
	if resp, _ := c.request(t, http.MethodGet, "/console/api/health", http.Header{"Cookie": {cookie.Name + "=" + token}}, ""); resp.StatusCode != 401 {
		t.Errorf("the token itself as the cookie: %d, want 401", resp.StatusCode)
	}
	if strings.Contains(c.logs.String(), token) {
		t.Errorf("the log shows the token")
	}

	// Each sign-in is a session of its own; signing out ends that one on the server, so a copy
	// of its cookie no longer opens anything, while another browser's session goes on.
	other := c.signIn(t, token)
	if other.Value == cookie.Value {
		t.Errorf("two sign-ins got the same cookie value")
	}
	resp, body := c.request(t, http.MethodPost, "/console/sign-out", http.Header{"Cookie": {cookie.String()}, "Origin": {c.admin}}, "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d\n%s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		want   int
	}{{"the signed-out session's cookie, copied", cookie, 401}, {"another browser's session", other, 200}} {
		if resp, _ := c.request(t, http.MethodGet, "/console/api/health", http.Header{"Cookie": {tc.cookie.String()}}, ""); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// TestConsoleAPIOnlyOnAdminListener: the webhook listener serves no console.
func TestConsoleAPIOnlyOnAdminListener(t *testing.T) {
	c := startAdminConsole(t, "")
	for _, path := range []string{"/", "/console/console.js", "/console/api/health", "/console/api/events", "/console/api/stream"} {
		resp, err := http.Get(c.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the webhook listener: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, body := c.request(t, http.MethodGet, "/", nil, ""); resp.StatusCode != 200 || !strings.Contains(body, `id="events-table"`) || strings.Contains(body, `data-health="leaf"`) {
		t.Errorf("GET / on the admin listener without a token: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(c.logs.String(), `"console":"http://`+c.app.AdminAddr()+`/"`) {
		t.Errorf("the start-up line does not name the console:\n%s", c.logs.String())
	}
}

// consoleEvent is an event row of the API.
type consoleEvent struct {
	Seq                              uint64
	Endpoint, ID, Type, Subject      string
	Size                             int
	Reason, Diagnosis, Remote, Error string
}

// consoleDetail is a message as the detail API shows it.
type consoleDetail struct {
	Subject   string
	Headers   [][2]string
	Format    string
	Body      string
	Size      int
	Truncated bool
}

func (d consoleDetail) header(name string) string {
	for _, h := range d.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// TestConsoleAPIEventsAndRejections: a genuine webhook is listed under events and a forged one under
// rejections, each openable by its stream sequence; the endpoints view counts both, names the
// last of each and the secret that matched, and never shows a secret.
func TestConsoleAPIEventsAndRejections(t *testing.T) {
	c := startAdminConsole(t, "")
	body := []byte(`{"event_type":"player.update","event_data":{"player_id":"P-1"},"event_id":"whevt_console_1"}`)
	if resp, answer := c.post("aghanim", aghanimHeaders(testSecret, time.Now().Unix(), body), body); resp.StatusCode != 200 {
		t.Fatalf("genuine: %d %s", resp.StatusCode, answer)
	}
	forged := aghanimHeaders("not-the-secret", time.Now().Unix(), body)
	forged.Set("Authorization", "Bearer hunter2")
	if resp, _ := c.post("aghanim", forged, body); resp.StatusCode != 403 {
		t.Fatalf("forged: %d", resp.StatusCode)
	}

	var events struct{ Events []consoleEvent }
	c.getJSON(t, "/console/api/events?limit=10", nil, &events)
	if len(events.Events) != 1 {
		t.Fatalf("events %+v, want the one sent", events.Events)
	}
	ev := events.Events[0]
	if ev.Endpoint != "aghanim" || ev.ID != "whevt_console_1" || ev.Type != "com.aghanim.player.update" || ev.Subject != "P-1" || ev.Size != len(body) {
		t.Errorf("event row %+v", ev)
	}
	var d consoleDetail
	c.getJSON(t, "/console/api/events/1", nil, &d)
	if d.Format != "json" || !strings.Contains(d.Body, "\n  \"event_type\": \"player.update\"") || d.header("ce-id") != "whevt_console_1" {
		t.Errorf("event detail: format %q, ce-id %q, body\n%s", d.Format, d.header("ce-id"), d.Body)
	}

	var rejections struct{ Rejections []consoleEvent }
	waitFor(t, 30*time.Second, "the rejection listed", func() bool {
		c.getJSON(t, "/console/api/rejections", nil, &rejections)
		return len(rejections.Rejections) == 1
	})
	rj := rejections.Rejections[0]
	if rj.Endpoint != "aghanim" || rj.Reason != "bad_signature" || !strings.Contains(rj.Diagnosis, "no configured secret matches") || rj.Remote != "127.0.0.1" {
		t.Errorf("rejection row %+v", rj)
	}
	c.getJSON(t, "/console/api/rejections/1", nil, &d)
	if d.header("Authorization") != "[redacted]" || d.header(bridge.RejectionReasonHeader) != "bad_signature" || d.Format != "json" {
		t.Errorf("rejection detail: %+v", d)
	}

	var endpoints struct {
		Endpoints []struct {
			ID, Provider, Proof       string
			AllowUnsigned             bool `json:"allow_unsigned"`
			Accepted, Rejected, Retry int64
			Secret                    int
			LastEvent                 *struct{ Type string }              `json:"last_event"`
			LastRejection             *struct{ Reason, Diagnosis string } `json:"last_rejection"`
		}
	}
	resp, raw := c.request(t, http.MethodGet, "/console/api/endpoints", nil, "")
	if resp.StatusCode != 200 || strings.Contains(raw, testSecret) {
		t.Fatalf("endpoints: %d, or it shows the secret:\n%s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal([]byte(raw), &endpoints); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ep := range endpoints.Endpoints {
		if ep.ID != "aghanim" {
			continue
		}
		found = true
		if ep.Provider != "aghanim" || ep.Proof != "hmac" || ep.Accepted != 1 || ep.Rejected != 1 || ep.Retry != 0 || ep.Secret != 0 {
			t.Errorf("aghanim: %+v", ep)
		}
		if ep.LastEvent == nil || ep.LastEvent.Type != "com.aghanim.player.update" {
			t.Errorf("aghanim's last event: %+v", ep.LastEvent)
		}
		if ep.LastRejection == nil || ep.LastRejection.Reason != "bad_signature" {
			t.Errorf("aghanim's last rejection: %+v", ep.LastRejection)
		}
	}
	if !found {
		t.Fatalf("no aghanim endpoint in %s", raw)
	}
}

// TestConsoleAPIDetailBody: a body is shown as indented JSON, as text, or as a hex dump, and cut
// (saying so) past 64 KiB.
func TestConsoleAPIDetailBody(t *testing.T) {
	c := startAdminConsole(t, "")
	binary := []byte{0x00, 0xff, 0xfe, 'a', 0x01}
	tests := []struct {
		name      string
		body      []byte
		format    string
		contains  string
		truncated bool
	}{
		{"JSON, indented", []byte(`{"a":{"b":[1,2]}}`), "json", "{\n  \"a\": {\n    \"b\": [", false},
		{"text as text", []byte("plain <b>text</b> é"), "text", "plain <b>text</b> é", false},
		{"binary as hex", binary, "hex", "00000000  00 ff fe 61 01", false},
		{"large text, cut", []byte(strings.Repeat("x", 100<<10)), "text", "xxxx", true},
		{"nothing", nil, "empty", "", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := nats.NewMsg("webhooks.aghanim.test")
			msg.Data = tc.body
			msg.Header.Set("ce-id", tc.name)
			ack, err := c.js.PublishMsg(context.Background(), msg)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Sequence != uint64(i+1) {
				t.Fatalf("sequence %d", ack.Sequence)
			}
			var d consoleDetail
			c.getJSON(t, "/console/api/events/"+strconv.FormatUint(ack.Sequence, 10), nil, &d)
			if d.Format != tc.format || !strings.Contains(d.Body, tc.contains) || d.Truncated != tc.truncated || d.Size != len(tc.body) {
				t.Errorf("format %q truncated %v size %d, want %q %v %d; body starts %q", d.Format, d.Truncated, d.Size, tc.format, tc.truncated, len(tc.body), d.Body[:min(len(d.Body), 80)])
			}
			if len(d.Body) > 64<<10 {
				t.Errorf("body shown: %d bytes, more than 64 KiB", len(d.Body))
			}
		})
	}
	for path, want := range map[string]int{"/console/api/events/99": 404, "/console/api/events/x": 400, "/console/api/events?limit=0": 400} {
		if resp, body := c.request(t, http.MethodGet, path, nil, ""); resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
		}
	}
}

// sseStream is an open live stream of the console.
type sseStream struct {
	events chan [2]string // name, data
	cancel context.CancelFunc
	ended  chan struct{}
}

// openStream opens /console/api/stream and reads its events until it ends.
func (c *adminConsole) openStream(t *testing.T) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.admin+"/console/api/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{events: make(chan [2]string, 1024), cancel: cancel, ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				select {
				case s.events <- [2]string{name, strings.TrimPrefix(line, "data: ")}:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-s.ended })
	return s
}

// next waits for the next event called name whose data contains text.
func (s *sseStream) next(t *testing.T, name, text string) string {
	t.Helper()
	for {
		select {
		case ev := <-s.events:
			if ev[0] == name && strings.Contains(ev[1], text) {
				return ev[1]
			}
		case <-s.ended:
			t.Fatalf("the stream ended before a %s event with %q", name, text)
		}
	}
}

// health reads the console's health.
func (c *adminConsole) health(t *testing.T) (h struct {
	NATS struct {
		Connected bool
	}
	Stream struct {
		Name     string
		Messages uint64
	}
	DuplicateWindow string `json:"duplicate_window"`
	Feeds           int
}) {
	t.Helper()
	c.getJSON(t, "/console/api/health", nil, &h)
	return h
}

// TestConsoleAPILiveFeeds: a connected page gets the rows already stored, then new ones as they are
// stored, and health every second; the NATS consumers run only while a page is connected.
func TestConsoleAPILiveFeeds(t *testing.T) {
	c := startAdminConsole(t, "")
	c.honest(t, "whevt_before")
	if n := c.health(t).Feeds; n != 0 {
		t.Fatalf("feeds %d before any page connected, want 0", n)
	}
	first, second := c.openStream(t), c.openStream(t)
	first.next(t, "event", `"id":"whevt_before"`)
	second.next(t, "event", `"id":"whevt_before"`)
	first.next(t, "health", `"connected":true`)
	if n := c.health(t).Feeds; n != 2 {
		t.Errorf("feeds %d with pages connected, want 2 (events, rejections)", n)
	}
	c.honest(t, "whevt_live")
	first.next(t, "event", `"id":"whevt_live"`)
	second.next(t, "event", `"id":"whevt_live"`)
	body := []byte(`{"event_type":"x","event_id":"forged"}`)
	c.post("aghanim", aghanimHeaders("not-the-secret", time.Now().Unix(), body), body)
	first.next(t, "rejection", `"reason":"bad_signature"`)

	first.cancel()
	<-first.ended
	second.next(t, "health", `"feeds":2`) // one page left: the feeds run on
	second.cancel()
	<-second.ended
	waitFor(t, 30*time.Second, "the feeds stopped after the last page left", func() bool { return c.health(t).Feeds == 0 })
}

// feedStatus is what health says of one live feed.
type feedStatus struct {
	Kind                   string
	Rows, Batches, Skipped uint64
	Sample                 bool
}

// liveFeed reads what the named feed ("event", "rejection") did since a page connected.
func (c *adminConsole) liveFeed(t *testing.T, kind string) (feedStatus, bool) {
	t.Helper()
	var h struct{ Live []feedStatus }
	c.getJSON(t, "/console/api/health", nil, &h)
	for _, f := range h.Live {
		if f.Kind == kind {
			return f, true
		}
	}
	return feedStatus{}, false
}

// TestConsoleAPILiveFeedIsBounded: a page cannot make the bridge read a fast stream message by
// message. With a page connected, a flood of 5,000 events is shown as a sample — at most one
// batch of 25 rows for each batch the feed fetched, the rest counted as skipped — and an event
// stored after it still reaches the page. (Rows are counted, not timed: the flood is published
// in one go, far faster than the feed's 100 rows a second.)
func TestConsoleAPILiveFeedIsBounded(t *testing.T) {
	const flood, feedBatch, feedPoll = 5000, 25, 250 * time.Millisecond // console_feed.go's bounds
	c := startAdminConsole(t, "")
	page := c.openStream(t)
	page.next(t, "health", `"connected":true`)
	// A feed counts a batch when it starts fetching it, and each row as it hands it on: past the
	// second batch, the first (up to feedRows rows for a page that just opened) is over.
	waitFor(t, 30*time.Second, "the event feed's first batches", func() bool {
		f, ok := c.liveFeed(t, "event")
		return ok && f.Batches >= 2
	})
	before, _ := c.liveFeed(t, "event")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	for i := range flood {
		msg := nats.NewMsg(c.cfg.Stream.SubjectPrefix + ".aghanim.flood")
		msg.Header.Set("ce-id", fmt.Sprintf("whevt_flood_%d", i))
		msg.Header.Set("ce-type", "com.aghanim.flood")
		if _, err := c.js.PublishMsgAsync(msg); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-c.js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("the flood was not stored")
	}
	// How long the flood took to store: the checks that it was sampled assume it arrived faster
	// than the feed's own pace (feedBatch rows every feedPoll), which a machine so busy that
	// storing took longer cannot show.
	stored := time.Since(start)
	c.honest(t, "whevt_after_flood")
	seen := 0
	for {
		data := page.next(t, "event", `"id":"whevt_`)
		seen++
		if strings.Contains(data, `"id":"whevt_after_flood"`) {
			break
		}
	}

	after, _ := c.liveFeed(t, "event")
	rows, batches := after.Rows-before.Rows, after.Batches-before.Batches
	t.Logf("%d events: the page got %d rows in %d batches, %d skipped", flood+1, rows, batches, after.Skipped-before.Skipped)
	// The batch under way when before was read may deliver its rows after it: one batch more.
	if rows > (batches+1)*feedBatch {
		t.Errorf("%d rows in %d batches (and the one under way before): more than %d a batch", rows, batches, feedBatch)
	}
	if rows+after.Skipped-before.Skipped < flood+1 {
		t.Errorf("%d rows and %d skipped: %d events unaccounted for", rows, after.Skipped-before.Skipped, flood+1)
	}
	if paced := time.Duration(flood/feedBatch/4) * feedPoll; stored >= paced {
		t.Logf("the flood took %s to store, no faster than the feed's pace (%s for its rows): whether it was sampled is not checked", stored, paced*4)
	} else {
		if seen >= flood/2 || rows >= flood/2 {
			t.Errorf("the page got %d of %d rows (%d read here): the feed followed the flood message by message", rows, flood+1, seen)
		}
		if after.Skipped == before.Skipped {
			t.Errorf("nothing skipped: the page is not told it sees a sample")
		}
	}

	var endpoints struct {
		SampledEvery string `json:"sampled_every"`
	}
	c.getJSON(t, "/console/api/endpoints", nil, &endpoints)
	if endpoints.SampledEvery != "1s" {
		t.Errorf("endpoints sampled every %q, want 1s", endpoints.SampledEvery)
	}
	page.next(t, "endpoints", `"sampled_every":"1s"`)
}

// TestConsoleAPIHealthFollowsNATS: the health view says disconnected while NATS is down, and
// connected again after.
func TestConsoleAPIHealthFollowsNATS(t *testing.T) {
	c := startAdminConsole(t, "")
	h := c.health(t)
	if !h.NATS.Connected || h.Stream.Name != c.cfg.Stream.Name || h.DuplicateWindow == "" {
		t.Fatalf("health %+v", h)
	}
	c.nats.Stop()
	waitFor(t, 30*time.Second, "health says disconnected", func() bool { return !c.health(t).NATS.Connected })
	c.nats.Restart()
	waitFor(t, 60*time.Second, "health says connected", func() bool { return c.health(t).NATS.Connected })
}

// TestConsoleAPIShutdownWithOpenStream: shutting the bridge down ends an open live stream instead of
// waiting for it.
func TestConsoleAPIShutdownWithOpenStream(t *testing.T) {
	c := startAdminConsole(t, "")
	s := c.openStream(t)
	s.next(t, "health", `"nats"`)
	if err := c.app.Shutdown(); err != nil {
		t.Fatal(err)
	}
	<-s.ended
	if strings.Contains(c.logs.String(), "shutdown cut short") {
		t.Errorf("the admin listener's shutdown waited for the stream until its deadline:\n%s", c.logs.String())
	}
}

// TestConsoleAPISecretMatched: during a rotation the endpoints view says which secret matched
// last, by its index, and how the endpoint proves itself; never a secret.
func TestConsoleAPISecretMatched(t *testing.T) {
	const oldSecret, newSecret = "rotation-old-secret", "rotation-new-secret"
	h := startBridge(t, func(c *bridge.Config) {
		c.HTTP.AdminListen = "127.0.0.1:0"
		c.Endpoints = append(c.Endpoints, bridge.EndpointConfig{ID: "rotating", Provider: "aghanim", Secrets: []string{oldSecret, newSecret}})
	})
	c := &adminConsole{harness: h, admin: "http://" + h.app.AdminAddr(), client: http.DefaultClient}
	type endpoint struct {
		ID, Proof string
		Secret    int
		Accepted  int64
	}
	rotating := func() endpoint {
		t.Helper()
		resp, raw := c.request(t, http.MethodGet, "/console/api/endpoints", nil, "")
		if resp.StatusCode != 200 || strings.Contains(raw, oldSecret) || strings.Contains(raw, newSecret) {
			t.Fatalf("endpoints: %d, or it shows a secret:\n%s", resp.StatusCode, raw)
		}
		var v struct{ Endpoints []endpoint }
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		for _, ep := range v.Endpoints {
			if ep.ID == "rotating" {
				return ep
			}
		}
		t.Fatalf("no endpoint rotating in %s", raw)
		return endpoint{}
	}
	if ep := rotating(); ep.Secret != -1 || ep.Proof != "hmac (2 secrets)" {
		t.Errorf("before any request: %+v, want secret -1, proof hmac (2 secrets)", ep)
	}
	for i, tc := range []struct {
		secret string
		want   int
	}{{newSecret, 1}, {oldSecret, 0}, {newSecret, 1}} {
		body := []byte(`{"event_type":"player.update","event_id":"rot-` + strconv.Itoa(i) + `"}`)
		if resp, answer := c.post("rotating", aghanimHeaders(tc.secret, time.Now().Unix(), body), body); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, answer)
		}
		if ep := rotating(); ep.Secret != tc.want || ep.Accepted != int64(i+1) {
			t.Errorf("after request %d: %+v, want secret %d, %d accepted", i, ep, tc.want, i+1)
		}
	}
}

// TestConsoleAPIStoreAndForward: in store-and-forward mode the console reads the local stream,
// and its health has the leaf link and the backlog not yet on the hub.
func TestConsoleAPIStoreAndForward(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-console")
	cfg.HTTP.AdminListen = "127.0.0.1:0"
	app, _ := startEdge(t, cfg)
	applyHub(t, hub, cfg, "edge-console")
	c := &adminConsole{admin: "http://" + app.AdminAddr(), client: http.DefaultClient}
	body := []byte(`{"event_type":"item.purchased","event_id":"whevt_console_edge"}`)
	if got := postTo(t, "http://"+app.Addr(), "aghanim", aghanimHeaders(testSecret, time.Now().Unix(), body), body); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	var h struct {
		Stream struct{ Name string }
		Leaf   *struct {
			Connected bool
			Backlog   uint64
			LastSeq   uint64 `json:"last_seq"`
		}
	}
	waitFor(t, 30*time.Second, "the leaf up and the event forwarded", func() bool {
		c.getJSON(t, "/console/api/health", nil, &h)
		return h.Leaf != nil && h.Leaf.Connected && h.Leaf.LastSeq == 1 && h.Leaf.Backlog == 0
	})
	if h.Stream.Name != cfg.Stream.EdgeStreamName() {
		t.Errorf("health's stream %q, want the local %s", h.Stream.Name, cfg.Stream.EdgeStreamName())
	}
	var events struct{ Events []consoleEvent }
	c.getJSON(t, "/console/api/events", nil, &events)
	if len(events.Events) != 1 || events.Events[0].ID != "whevt_console_edge" {
		t.Errorf("events %+v, want the one sent", events.Events)
	}
	if _, page := c.request(t, http.MethodGet, "/", nil, ""); !strings.Contains(page, `data-health="leaf"`) || !strings.Contains(page, `data-health="backlog"`) {
		t.Errorf("the page has no place for the leaf link and the backlog:\n%s", page)
	}
}

// TestConsoleAPIDemoAdminListen: the demo's admin listener is on loopback, so its console needs
// no token.
func TestConsoleAPIDemoAdminListen(t *testing.T) {
	cfg := bridge.DemoConfig()
	cfg.HTTP.AdminListen = bridge.DemoAdminListen
	if _, err := bridge.Compile(cfg); err != nil {
		t.Fatalf("the demo with its admin listener %s: %v", bridge.DemoAdminListen, err)
	}
}

// TestConsoleAPIRefusesOtherHostsWithoutToken: without a token the console trusts whoever
// reaches it, so a page of another site must not reach it either — DNS rebinding would make
// http://evil.example:port/ resolve to the loopback listener, and the page's fetches would be
// same-origin. Without a token the console answers only to an IP address or localhost as Host.
func TestConsoleAPIRefusesOtherHostsWithoutToken(t *testing.T) {
	c := startAdminConsole(t, "")
	_, port, _ := strings.Cut(strings.TrimPrefix(c.admin, "http://"), ":")
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "localhost.evil.example:" + port} {
		for _, path := range []string{"/", "/console/api/endpoints", "/console/api/events", "/console/api/rejections/1", "/console/api/health", "/console/api/stream"} {
			// The answer's body is not read: were the live stream served, it would never end.
			req, err := http.NewRequest(http.MethodGet, c.admin+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := c.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("GET %s with Host %s: %d, want 421", path, host, resp.StatusCode)
			}
		}
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port, "[::1]:" + port, "10.1.2.3:" + port} {
		if resp, body := c.request(t, http.MethodGet, "/console/api/health", http.Header{"Host": {host}}, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET with Host %s: %d, want 200\n%s", host, resp.StatusCode, body)
		}
	}
	// With a token, a signed-in request from any name is served (the cookie is the proof).
	const token = "console-host-test-token"
	ct := startAdminConsole(t, token)
	if resp, body := ct.request(t, http.MethodGet, "/console/api/health", http.Header{"Host": {"bridge.internal"}, "Authorization": {"Bearer " + token}}, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("with a token, Host bridge.internal: %d\n%s", resp.StatusCode, body)
	}
}

// TestConsoleAPIRejectionHidesTokenHeaders: GitLab sends its shared secret itself in
// X-Gitlab-Token, as Okta and Auth0 do in Authorization; a refused request's token (a rotated-out
// secret, or the right one refused for another reason) is never shown.
func TestConsoleAPIRejectionHidesTokenHeaders(t *testing.T) {
	c := startAdminConsole(t, "")
	const old = "the-rotated-out-gitlab-token"
	header := http.Header{"Content-Type": {"application/json"}, "X-Gitlab-Event": {"Push Hook"}, "X-Gitlab-Token": {old}}
	if resp, _ := c.post("gitlab", header, []byte(`{"object_kind":"push"}`)); resp.StatusCode < 400 {
		t.Fatalf("a wrong token: %d", resp.StatusCode)
	}
	var rejections struct{ Rejections []consoleEvent }
	waitFor(t, 30*time.Second, "the rejection listed", func() bool {
		c.getJSON(t, "/console/api/rejections", nil, &rejections)
		return len(rejections.Rejections) == 1
	})
	resp, raw := c.request(t, http.MethodGet, "/console/api/rejections/"+strconv.FormatUint(rejections.Rejections[0].Seq, 10), nil, "")
	if resp.StatusCode != 200 || strings.Contains(raw, old) || !strings.Contains(raw, `"X-Gitlab-Token","[redacted]"`) {
		t.Errorf("rejection detail: %d, the token shown or not marked redacted:\n%s", resp.StatusCode, raw)
	}
}
