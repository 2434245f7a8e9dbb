package bridge_test

// The operator console (docs/console.md) driven in a real, headless Chromium: the page served at
// / of http.admin_listen, signed in, filled live by webhooks the tests sign themselves. Without a
// Chromium these tests skip; CI sets BRIDGE_BROWSER_TESTS=1, which makes that a failure.
// BRIDGE_CONSOLE_SCREENSHOTS=1 makes them write the screenshots of docs/console/.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/browsertest"
	"github.com/webhookbridge/bridge/internal/natstest"
)

// consoleToken is http.admin_token where a test signs in.
const consoleToken = "console-test-token-4f1c"

// consoleEndpoints are the endpoints of the console's tests: few, so the Endpoints table fits a
// screenshot.
var consoleEndpoints = []string{"aghanim", "usercheck", "github", "stripe"}

// consolePage is a bridge with an admin listener and one tab of a fresh Chromium.
type consolePage struct {
	*harness
	t     *testing.T
	admin string          // http://127.0.0.1:port, the admin listener
	ctx   context.Context // the browser tab
}

// startConsole starts a nats-server, a bridge with an admin listener (and token, if not empty)
// and a browser. The browser ends before the bridge does, so no page holds a live feed open
// while the bridge shuts down.
func startConsole(t *testing.T, token string) *consolePage {
	t.Helper()
	h := startBridge(t, func(c *bridge.Config) { withConsole(c, token) })
	return &consolePage{harness: h, t: t, admin: "http://" + h.app.AdminAddr(), ctx: browsertest.New(t)}
}

// withConsole gives cfg an admin listener (with token, if not empty) and only the
// consoleEndpoints.
func withConsole(cfg *bridge.Config, token string) {
	cfg.HTTP.AdminListen, cfg.HTTP.AdminToken = "127.0.0.1:0", token
	var kept []bridge.EndpointConfig
	for _, ep := range cfg.Endpoints {
		if slices.Contains(consoleEndpoints, ep.ID) {
			kept = append(kept, ep)
		}
	}
	for i := range kept {
		if kept[i].ID == "stripe" {
			kept[i].AllowFrom = []string{"127.0.0.0/8"} // so Endpoints shows an allow-list
		}
	}
	cfg.Endpoints = kept
}

// do runs browser actions, failing the test on an error.
func (c *consolePage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.t.Fatalf("%s: %v%s", what, err, c.pageText())
	}
}

// pageEval evaluates a JavaScript expression in the page and decodes its value into T.
func pageEval[T any](c *consolePage, expr string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v%s", expr, err, c.pageText())
	}
	return v
}

// waitFor waits until the JavaScript expression cond is true in the page, polling again when
// the page navigates meanwhile (a form post, a reload). The limit is only a hang guard: a
// condition that never comes true fails the test with the page's text.
func (c *consolePage) waitFor(what, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithDeadline(c.ctx, deadline)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
		cancel()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) || c.ctx.Err() != nil {
			c.t.Fatalf("waiting for %s (%s): %v%s", what, cond, err, c.pageText())
		}
		time.Sleep(50 * time.Millisecond) // the page navigated or the condition threw: poll again
	}
}

// pageText is the page's visible text, to show what the page did show when a wait failed.
func (c *consolePage) pageText() string {
	ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return ""
	}
	if len(text) > 3000 {
		text = text[:3000] + "…"
	}
	return "\npage text:\n" + text
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open loads the console at hash (e.g. "#events") and waits for its view.
func (c *consolePage) open(hash string) {
	c.t.Helper()
	c.do("open the console", chromedp.Navigate(c.admin+"/"+hash))
	c.waitView(hash)
}

// show switches to a view by clicking its tab, as an operator would.
func (c *consolePage) show(hash string) {
	c.t.Helper()
	c.do("click the "+hash+" tab", chromedp.Click(chromedp.CSS(`nav a[href="`+hash+`"]`)))
	c.waitView(hash)
}

// waitView waits until the view for hash is the one shown.
func (c *consolePage) waitView(hash string) {
	c.t.Helper()
	c.waitFor("the "+hash+" view", rendered(`section`+hash))
}

// rendered is a JavaScript condition: an element matching the CSS selector sel is rendered.
func rendered(sel string) string {
	return `(() => { const e = document.querySelector(` + jsString(sel) + `); return !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"; })()`
}

// notRendered is a JavaScript condition: no element matching sel is rendered.
func notRendered(sel string) string {
	return `![...document.querySelectorAll(` + jsString(sel) + `)].some(e => e.getClientRects().length > 0)`
}

// tableRow is a JavaScript expression for the first row of table whose attribute attr is value
// (compared as a string, so any characters in value are safe), or null.
func tableRow(table, attr, value string) string {
	return `([...document.querySelectorAll("#` + table + ` tr[` + attr + `]")].find(r => r.getAttribute(` + jsString(attr) + `) === ` + jsString(value) + `) || null)`
}

// rowCell is a JavaScript expression for the text of the cell td.class of the row expression, or "".
func rowCell(rowExpr, class string) string {
	return `(((` + rowExpr + `) || document.createElement("tr")).querySelector("td.` + class + `") || {textContent: ""}).textContent.trim()`
}

// send posts a webhook and fails the test unless the bridge answers want.
func (c *consolePage) send(endpoint string, header http.Header, body []byte, want int) {
	c.t.Helper()
	resp, answer := c.post(endpoint, header, body)
	if resp.StatusCode != want {
		c.t.Fatalf("POST /webhooks/%s: %d %s, want %d", endpoint, resp.StatusCode, answer, want)
	}
}

// sendAghanim sends a genuine Aghanim webhook, signed as Aghanim documents.
func (c *consolePage) sendAghanim(body string) {
	c.t.Helper()
	c.send("aghanim", aghanimHeaders(testSecret, time.Now().Unix(), []byte(body)), []byte(body), http.StatusOK)
}

// sendUserCheck sends a genuine UserCheck webhook, signed as UserCheck documents.
func (c *consolePage) sendUserCheck(body string) {
	c.t.Helper()
	c.send("usercheck", userCheckHeaders(testSecret, []byte(body)), []byte(body), http.StatusOK)
}

// forgeAghanim sends an Aghanim webhook signed with the wrong secret: refused, bad_signature.
func (c *consolePage) forgeAghanim(body string, extra http.Header) {
	c.t.Helper()
	header := aghanimHeaders("not-the-secret", time.Now().Unix(), []byte(body))
	for k, v := range extra {
		header[k] = v
	}
	c.send("aghanim", header, []byte(body), http.StatusForbidden)
}

// screenshot writes the viewport to docs/console/<name>.png when BRIDGE_CONSOLE_SCREENSHOTS=1,
// so that ordinary test runs leave the committed pictures alone.
func (c *consolePage) screenshot(name string) {
	c.t.Helper()
	if os.Getenv("BRIDGE_CONSOLE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "docs", "console", name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("wrote %s", path)
}

// aghanimBody is a player.update like Aghanim's documented example, with its own event id.
func aghanimBody(id, player string) string {
	return `{"event_type":"player.update","event_data":{"player_id":"` + player + `","email":"PlayerOne@aghanim.com"},"event_time":1725548450,"event_id":"` + id + `","idempotency_key":null,"sandbox":false,"trigger":"hub.profile_update","game_id":"gm_exTAyxPsVwh"}`
}

// TestConsoleBrowserSignIn: with http.admin_token set, the console asks for it; a wrong token is
// refused with an error; the right one sets an HttpOnly, SameSite=Strict cookie that keeps the
// operator signed in across a reload; the console's data answer 401 without it.
func TestConsoleBrowserSignIn(t *testing.T) {
	c := startConsole(t, consoleToken)
	requested := c.recordRequests(c.admin + "/console/api/")

	c.do("open the console", chromedp.Navigate(c.admin+"/"))
	c.waitFor("the sign-in form", rendered(`form#signin input#token[type=password][name=token]`))
	if pageEval[bool](c, rendered(`nav a[href="#events"]`)) {
		t.Errorf("the console's tabs are shown before signing in")
	}
	before := pageEval[string](c, `document.body.innerText`)

	c.do("sign in with a wrong token",
		chromedp.SendKeys(chromedp.CSS("#token"), "not-"+consoleToken),
		chromedp.Click(chromedp.CSS(`#signin [type=submit]`)))
	c.waitFor("an error with the sign-in form", rendered(`form#signin input#token`)+` && document.body.innerText !== `+jsString(before))
	t.Logf("after a wrong token the page says: %q", pageEval[string](c, `document.body.innerText`))
	if pageEval[bool](c, rendered(`nav a[href="#events"]`)) {
		t.Errorf("a wrong token shows the console")
	}
	if cookies := c.cookies(); len(cookies) != 0 {
		t.Errorf("a wrong token set cookies: %v", cookieNames(cookies))
	}

	c.clear("#token")
	c.do("sign in with the token",
		chromedp.SendKeys(chromedp.CSS("#token"), consoleToken),
		chromedp.Click(chromedp.CSS(`#signin [type=submit]`)))
	c.waitFor("the console after signing in", rendered(`nav a[href="#events"]`)+` && `+notRendered(`#signin`))

	cookies := c.cookies()
	if len(cookies) == 0 {
		t.Fatal("signed in, but no cookie is set")
	}
	for _, k := range cookies {
		if !k.HTTPOnly {
			t.Errorf("cookie %s is not HttpOnly: a script on the page could read it", k.Name)
		}
		if k.SameSite != network.CookieSameSiteStrict {
			t.Errorf("cookie %s is SameSite=%q, want Strict", k.Name, k.SameSite)
		}
		if strings.Contains(k.Value, consoleToken) {
			t.Errorf("cookie %s carries the admin token itself", k.Name)
		}
	}

	c.do("reload", chromedp.Reload())
	c.waitFor("the console after a reload, still signed in", rendered(`nav a[href="#events"]`)+` && `+notRendered(`#signin`))
	c.show("#events")

	// Every data request the page made is refused without the cookie.
	apis := requested()
	if len(apis) == 0 {
		t.Fatalf("the signed-in page requested nothing under %s/console/api/", c.admin)
	}
	t.Logf("the page's data requests: %q", apis)
	for _, u := range apis {
		if got := adminRequest(t, http.MethodGet, u, http.Header{}); got != http.StatusUnauthorized {
			t.Errorf("GET %s without the cookie: %d, want 401", u, got)
		}
	}
}

// recordRequests records the URLs the page requests that start with prefix, each once, from now
// until the test ends; the returned function lists them so far.
func (c *consolePage) recordRequests(prefix string) func() []string {
	c.t.Helper()
	if _, err := chromedp.Call(c.ctx, network.Enable, network.EnableParams{}); err != nil {
		c.t.Fatal(err)
	}
	var mu sync.Mutex
	var urls []string
	events := chromedp.Events(c.ctx, network.RequestWillBeSent) // subscribed before returning
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if u := ev.Request.URL; strings.HasPrefix(u, prefix) {
				mu.Lock()
				if !slices.Contains(urls, u) {
					urls = append(urls, u)
				}
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(urls)
	}
}

// cookies are the browser's cookies for the admin listener.
func (c *consolePage) cookies() []*network.Cookie {
	c.t.Helper()
	res, err := chromedp.Call(c.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{c.admin + "/"}})
	if err != nil {
		c.t.Fatalf("get cookies: %v", err)
	}
	return res.Cookies
}

func cookieNames(cookies []*network.Cookie) []string {
	var names []string
	for _, k := range cookies {
		names = append(names, k.Name)
	}
	return names
}

// sendGitHub sends a genuine GitHub delivery (signed as GitHub documents) with any body.
func (c *consolePage) sendGitHub(event, delivery, contentType string, body []byte) {
	c.t.Helper()
	header := githubHeaders(testSecret, event, delivery, body)
	header.Set("Content-Type", contentType)
	c.send("github", header, body, http.StatusOK)
}

// sendStripe sends a genuine Stripe event, signed as Stripe documents: Stripe-Signature
// t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">.
func (c *consolePage) sendStripe(body string) {
	c.t.Helper()
	ts := fmt.Sprint(time.Now().Unix())
	header := http.Header{
		"Content-Type":     {"application/json"},
		"Stripe-Signature": {"t=" + ts + ",v1=" + hexHMAC256(testSecret, ts, ".", body)},
	}
	c.send("stripe", header, []byte(body), http.StatusOK)
}

// refuse sends a request the bridge must refuse with a 4xx.
func (c *consolePage) refuse(endpoint string, header http.Header, body string) {
	c.t.Helper()
	resp, answer := c.post(endpoint, header, []byte(body))
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		c.t.Fatalf("POST /webhooks/%s: %d %s, want it refused with a 4xx", endpoint, resp.StatusCode, answer)
	}
}

// renderedCells is a JavaScript expression for the td.<class> texts of table's rendered rows that
// carry attr, in order.
func renderedCells(table, attr, class string) string {
	return `[...document.querySelectorAll("#` + table + ` tr[` + attr + `]")].filter(r => r.getClientRects().length > 0).map(r => ` + rowCell("r", class) + `)`
}

// TestConsoleBrowserPanelsFillLive: with the page open, a genuine webhook appears on Events, a
// forged one on Rejections with its reason and diagnosis, and the Endpoints counts follow — all
// without reloading the page.
func TestConsoleBrowserPanelsFillLive(t *testing.T) {
	c := startConsole(t, "")
	c.open("#endpoints")
	ag := tableRow("endpoints-table", "data-endpoint", "aghanim")
	for _, id := range consoleEndpoints {
		c.waitFor("the endpoint "+id+"'s row", tableRow("endpoints-table", "data-endpoint", id)+` !== null`)
	}
	if got := pageEval[string](c, rowCell(ag, "provider")); got != "aghanim" {
		t.Errorf("aghanim's provider cell %q", got)
	}
	for _, class := range []string{"proof", "allow-from", "allow-unsigned", "accepted", "rejected", "last-event", "last-rejection", "secret"} {
		if !pageEval[bool](c, `!!(`+ag+`).querySelector("td.`+class+`")`) {
			t.Errorf("aghanim's row has no td.%s", class)
		}
	}
	t.Logf("before any webhook: accepted %q, rejected %q", pageEval[string](c, rowCell(ag, "accepted")), pageEval[string](c, rowCell(ag, "rejected")))
	c.do("mark the document", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))

	c.show("#events")
	c.sendAghanim(aghanimBody("whevt_console_live_1", "2D2R-OP3C"))
	ev := tableRow("events-table", "data-event-id", "whevt_console_live_1")
	c.waitFor("the event's row on Events", ev+` !== null`)
	for class, want := range map[string]string{"endpoint": "aghanim", "type": "com.aghanim.player.update", "subject": "2D2R-OP3C"} {
		if got := pageEval[string](c, rowCell(ev, class)); got != want {
			t.Errorf("event row td.%s %q, want %q", class, got, want)
		}
	}

	c.show("#rejections")
	c.forgeAghanim(aghanimBody("whevt_console_forged_1", "2D2R-OP3C"), http.Header{"Authorization": {"Bearer hunter2"}, "Cookie": {"session=hunter2"}})
	rej := tableRow("rejections-table", "data-reason", "bad_signature")
	c.waitFor("the forged request's row on Rejections", rej+` !== null`)
	if got := pageEval[string](c, rowCell(rej, "endpoint")); got != "aghanim" {
		t.Errorf("rejection td.endpoint %q, want aghanim", got)
	}
	if got := pageEval[string](c, rowCell(rej, "reason")); got != "bad_signature" {
		t.Errorf("rejection td.reason %q, want bad_signature", got)
	}
	if got := pageEval[string](c, rowCell(rej, "diagnosis")); !strings.Contains(got, "no configured secret matches") {
		t.Errorf("rejection td.diagnosis %q, want the bridge's diagnosis", got)
	}
	if got := pageEval[string](c, rowCell(rej, "remote")); got != "127.0.0.1" {
		t.Errorf("rejection td.remote %q, want 127.0.0.1", got)
	}
	c.do("open the rejection", chromedp.Click(chromedp.CSS(`#rejections-table tr[data-reason="bad_signature"]`)))
	c.waitFor("its detail", rendered("#detail")+` && `+detailHeaders+`["Authorization"] !== undefined`)
	headers := pageEval[map[string]string](c, detailHeaders)
	for _, name := range []string{"Authorization", "Cookie"} {
		if headers[name] != "[redacted]" {
			t.Errorf("the rejection's %s is shown as %q, want [redacted]", name, headers[name])
		}
	}
	if body := pageEval[string](c, `document.querySelector("#detail-body").textContent`); !strings.Contains(body, "whevt_console_forged_1") {
		t.Errorf("the rejection's body is shown as %q", body)
	}
	if strings.Contains(pageEval[string](c, `document.querySelector("#detail").textContent`), "hunter2") {
		t.Errorf("the rejection's detail shows a credential")
	}
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the detail to close", notRendered("#detail"))

	c.show("#endpoints")
	c.waitFor("aghanim's counts: 1 accepted, 1 rejected", rowCell(ag, "accepted")+` === "1" && `+rowCell(ag, "rejected")+` === "1"`)
	// What the row says of the endpoint, its last event and its last rejection (the last ones are
	// looked up in NATS once a second, so they may follow the counts).
	c.waitFor("aghanim's last event and last rejection", rowCell(ag, "last-event")+`.includes("com.aghanim.player.update") && `+rowCell(ag, "last-rejection")+`.includes("bad_signature")`)
	st := tableRow("endpoints-table", "data-endpoint", "stripe")
	for _, cell := range []struct{ row, class, want string }{
		{ag, "proof", "hmac"},
		{ag, "allow-from", "no"},
		{ag, "allow-unsigned", "no"},
		{ag, "last-rejection", "no configured secret matches"},
		{ag, "secret", "secrets[0]"},
		{st, "allow-from", "127.0.0.0/8"},
	} {
		if got := pageEval[string](c, rowCell(cell.row, cell.class)); !strings.Contains(got, cell.want) {
			t.Errorf("Endpoints td.%s %q, want it to say %q", cell.class, got, cell.want)
		}
	}
	if strings.Contains(pageEval[string](c, `document.querySelector("#endpoints-table").textContent`), "demo-secret") {
		t.Errorf("the Endpoints table shows a secret")
	}
	c.sendAghanim(aghanimBody("whevt_console_live_2", "2D2R-OP3C"))
	c.waitFor("aghanim's accepted count to follow, with Endpoints open", rowCell(ag, "accepted")+` === "2"`)
	// Endpoints is refreshed with every health update (each second), not every ten: counted
	// renders, not timed.
	const renders = `[Number(document.querySelector("#endpoints-table").dataset.updates || 0), Number(document.querySelector("#health").dataset.updates || 0)]`
	start := pageEval[[2]int](c, renders)
	c.waitFor("five more health updates", renders+`[1] >= `+strconv.Itoa(start[1]+5))
	if end := pageEval[[2]int](c, renders); end[0]-start[0] < end[1]-start[1]-1 {
		t.Errorf("Endpoints rendered %d times while Health was updated %d times: not refreshed every second", end[0]-start[0], end[1]-start[1])
	}
	if !pageEval[bool](c, `window.__sameDocument === true`) {
		t.Errorf("the page was reloaded: the panels did not fill live")
	}

	// A few more, from other senders, for the pictures in docs/console.md.
	if os.Getenv("BRIDGE_CONSOLE_SCREENSHOTS") == "1" {
		c.sendUserCheck(`{"event":"domain.flagged.disposable","created_at":"2025-03-26T14:30:25+00:00","data":{"domain":"mailinator.com"}}`)
		c.sendGitHub("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "application/json", []byte(`{"ref":"refs/heads/main","after":"9049f126","repository":{"full_name":"octocat/Hello-World"}}`))
		c.sendStripe(`{"id":"evt_1PzQ2x","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3PzQ2x","amount":2000,"currency":"usd"}}}`)
		c.refuse("github", http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature": {"sha1=0000000000000000000000000000000000000000"}, "X-Github-Event": {"push"}}, `{"ref":"refs/heads/main"}`)
		c.refuse("usercheck", userCheckHeaders("rotated-away", []byte(`{"event":"domain.flagged.spam"}`)), `{"event":"domain.flagged.spam"}`)
		c.waitFor("four endpoints with events", `[...document.querySelectorAll("#endpoints-table td.accepted")].filter(e => e.textContent.trim() !== "0" && e.textContent.trim() !== "").length >= 4`)
		// (The last event is looked up in NATS once a second, so it may come a second after the count.)
		c.waitFor("their last events", `[...document.querySelectorAll("#endpoints-table td.last-event")].filter(e => e.textContent.trim() !== "none").length >= 4`)
		c.screenshot("endpoints")
		c.show("#rejections")
		c.waitFor("three rejections", `document.querySelectorAll("#rejections-table tr[data-reason]").length >= 3`)
		c.screenshot("rejections")
	}
}

// TestConsoleBrowserFilters: typing an endpoint (or a reason) in a filter hides the other rows;
// clearing it shows them again.
func TestConsoleBrowserFilters(t *testing.T) {
	c := startConsole(t, "")
	c.open("#events")
	c.sendAghanim(aghanimBody("whevt_console_filter_1", "2D2R-OP3C"))
	c.sendUserCheck(`{"event":"domain.flagged.disposable","data":{"domain":"example.com"}}`)
	both := `JSON.stringify(` + renderedCells("events-table", "data-event-id", "endpoint") + `.sort()) === '["aghanim","usercheck"]'`
	c.waitFor("both endpoints' events", both)

	c.typeInto("#events-filter-endpoint", "usercheck")
	c.waitFor("only usercheck's events", `JSON.stringify(`+renderedCells("events-table", "data-event-id", "endpoint")+`) === '["usercheck"]'`)
	c.clear("#events-filter-endpoint")
	c.waitFor("both endpoints' events again", both)

	c.typeInto("#events-filter-type", "com.aghanim.player.update")
	c.waitFor("only Aghanim's type", `JSON.stringify(`+renderedCells("events-table", "data-event-id", "type")+`) === '["com.aghanim.player.update"]'`)
	c.clear("#events-filter-type")

	c.show("#rejections")
	c.forgeAghanim(aghanimBody("whevt_console_filter_2", "2D2R-OP3C"), nil)
	c.refuse("usercheck", http.Header{"Content-Type": {"application/json"}}, `{"event":"domain.flagged.spam"}`) // no signature header
	bothReasons := `JSON.stringify(` + renderedCells("rejections-table", "data-reason", "reason") + `.sort()) === '["bad_signature","missing_proof"]'`
	c.waitFor("both rejections", bothReasons)
	c.typeInto("#rejections-filter-endpoint", "usercheck")
	c.waitFor("only usercheck's rejection", `JSON.stringify(`+renderedCells("rejections-table", "data-reason", "endpoint")+`) === '["usercheck"]'`)
	c.clear("#rejections-filter-endpoint")
	c.waitFor("both rejections again", bothReasons)
	c.typeInto("#rejections-filter-reason", "bad_signature")
	c.waitFor("only the bad signature", `JSON.stringify(`+renderedCells("rejections-table", "data-reason", "reason")+`) === '["bad_signature"]'`)
}

// typeInto types text into the input sel with key events, as an operator would.
func (c *consolePage) typeInto(sel, text string) {
	c.t.Helper()
	c.do("type into "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// clear empties the input sel with key events: select all, then Backspace.
func (c *consolePage) clear(sel string) {
	c.t.Helper()
	c.do("clear "+sel,
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(sel)+`).select()`),
		chromedp.KeyEvent(kb.Backspace))
}

// detailHeaders is a JavaScript expression for #detail-headers as an object of name: value.
const detailHeaders = `Object.fromEntries([...document.querySelectorAll("#detail-headers tr")].filter(r => r.querySelector("th") && r.querySelector("td")).map(r => [r.querySelector("th").textContent.trim(), r.querySelector("td").textContent.trim()]))`

// TestConsoleBrowserEventDetail: opening an event shows its CloudEvent headers and its body — JSON
// pretty-printed, text as text, binary as hex; Escape closes it.
func TestConsoleBrowserEventDetail(t *testing.T) {
	c := startConsole(t, "")
	c.open("#events")
	binary := []byte{0x00, 0xff, 0xfe, 0x80, 0x1b, '<', 'b', '>'}
	text := "plain text, <b>not bold</b> & ünïcode"
	c.sendGitHub("push", "console-binary-1", "application/octet-stream", binary)
	c.sendGitHub("push", "console-text-1", "text/plain; charset=utf-8", []byte(text))
	body := aghanimBody("whevt_console_detail_1", "2D2R-OP3C")
	c.sendAghanim(body)

	c.openRow("whevt_console_detail_1")
	shown := pageEval[string](c, `document.querySelector("#detail-body").textContent`)
	var got, want any
	if err := json.Unmarshal([]byte(shown), &got); err != nil {
		t.Errorf("#detail-body is not the JSON body: %v\n%s", err, shown)
	}
	_ = json.Unmarshal([]byte(body), &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("#detail-body shows %v, want %v", got, want)
	}
	if strings.Count(shown, "\n") < 5 || !strings.Contains(shown, "\n  ") {
		t.Errorf("#detail-body is not pretty-printed:\n%s", shown)
	}
	headers := pageEval[map[string]string](c, detailHeaders)
	for name, value := range map[string]string{
		"ce-id": "whevt_console_detail_1", "ce-type": "com.aghanim.player.update", "ce-source": "/webhooks/aghanim",
		"ce-specversion": "1.0", "ce-subject": "2D2R-OP3C",
	} {
		if headers[name] != value {
			t.Errorf("#detail-headers %s: %q, want %q (all: %v)", name, headers[name], value, headers)
		}
	}
	c.screenshot("events")
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the detail to close", notRendered("#detail"))

	c.openRow("console-text-1")
	if shown := pageEval[string](c, `document.querySelector("#detail-body").textContent`); strings.TrimSpace(shown) != text {
		t.Errorf("a text body is shown as %q, want %q", shown, text)
	}
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the detail to close", notRendered("#detail"))

	c.openRow("console-binary-1")
	shown = pageEval[string](c, `document.querySelector("#detail-body").textContent`)
	if digits := strings.ToLower(strings.Join(strings.Fields(shown), "")); !strings.Contains(digits, hex.EncodeToString(binary)) {
		t.Errorf("a binary body is shown as %q, want hex %s", shown, hex.EncodeToString(binary))
	}
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the detail to close", notRendered("#detail"))
}

// openRow clicks the event row of ce-id id and waits for its detail.
func (c *consolePage) openRow(id string) {
	c.t.Helper()
	r := tableRow("events-table", "data-event-id", id)
	c.waitFor("the event "+id+"'s row", r+` !== null`)
	c.do("click the event "+id, chromedp.Click(chromedp.CSS(`#events-table tr[data-event-id="`+id+`"]`)))
	c.waitFor("the event "+id+"'s detail", rendered("#detail")+` && `+detailHeaders+`["ce-id"] === `+jsString(id))
}

// TestConsoleBrowserHealthFollowsNATS: Health shows NATS connected, disconnected while the
// nats-server is down, and connected again once it is back.
func TestConsoleBrowserHealthFollowsNATS(t *testing.T) {
	c := startConsole(t, "")
	c.open("#health")
	nats := `(document.querySelector('[data-health="nats"]') || {textContent: ""}).textContent`
	connected := `(/(^|[^a-z])connected/i.test(` + nats + `) && !/disconnected/i.test(` + nats + `))`
	c.waitFor("NATS connected", connected)
	if got := pageEval[string](c, `document.querySelector('[data-health="stream"]').textContent`); !strings.Contains(got, c.cfg.Stream.Name) {
		t.Errorf(`[data-health="stream"] says %q, want the stream %s`, got, c.cfg.Stream.Name)
	}
	if got := pageEval[string](c, `document.querySelector('[data-health="duplicate-window"]').textContent.trim()`); got == "" {
		t.Errorf(`[data-health="duplicate-window"] is empty`)
	}
	if os.Getenv("BRIDGE_CONSOLE_SCREENSHOTS") == "1" { // a stream with something in it, for docs/console.md
		c.sendAghanim(aghanimBody("whevt_console_health_1", "2D2R-OP3C"))
		c.waitFor("the stream's count", `!/ 0 messages/.test(document.querySelector('[data-health="stream"]').textContent)`)
		c.screenshot("health")
	}

	if !pageEval[bool](c, `document.querySelector('[data-health="leaf"]') === null && document.querySelector('[data-health="backlog"]') === null`) {
		t.Errorf("Health shows a leaf link and a backlog outside store-and-forward mode")
	}

	c.nats.Stop()
	c.waitFor("NATS disconnected", `/disconnected/i.test(`+nats+`)`)
	c.nats.Restart()
	c.waitFor("NATS connected again", connected)
}

// TestConsoleBrowserHealthStoreAndForward: in store-and-forward mode Health also shows the leaf
// link to the hub and the backlog: down, and one event waiting, while the hub is away.
func TestConsoleBrowserHealthStoreAndForward(t *testing.T) {
	hub := natstest.StartHub(t)
	cfg := edgeConfig(t, hub.LeafURL(), "edge-0")
	withConsole(cfg, "")
	app, _ := startEdge(t, cfg)
	applyHub(t, hub, cfg, "edge-0")
	c := &consolePage{harness: &harness{t: t, app: app, cfg: cfg, base: "http://" + app.Addr()}, t: t,
		admin: "http://" + app.AdminAddr(), ctx: browsertest.New(t)}

	c.open("#health")
	leaf := `(document.querySelector('[data-health="leaf"]') || {textContent: ""}).textContent.trim()`
	backlog := `(document.querySelector('[data-health="backlog"]') || {textContent: ""}).textContent.trim()`
	c.waitFor("the leaf link up, nothing waiting", leaf+` === "up" && /^0\b/.test(`+backlog+`)`)

	hub.Stop()
	c.waitFor("the leaf link down", leaf+` === "down"`)
	c.sendAghanim(aghanimBody("whevt_console_edge_1", "2D2R-OP3C")) // stored here, acknowledged
	c.waitFor("one event waiting for the hub", `/^1\b/.test(`+backlog+`)`)
}

// TestConsoleBrowserKeyboard: the console works without a mouse: Tab from the top of the page
// reaches the Events tab, Enter opens it, Tab reaches an event, Enter opens it, Escape closes it.
func TestConsoleBrowserKeyboard(t *testing.T) {
	c := startConsole(t, "")
	c.sendAghanim(aghanimBody("whevt_console_keys_1", "2D2R-OP3C"))
	c.do("open the console", chromedp.Navigate(c.admin+"/"))
	c.waitFor("the tabs", rendered(`nav a[href="#events"]`))

	c.tabTo("the Events tab", `document.activeElement.matches('nav a[href="#events"]')`)
	c.do("press Enter", chromedp.KeyEvent(kb.Enter))
	c.waitView("#events")
	c.waitFor("the event's row", tableRow("events-table", "data-event-id", "whevt_console_keys_1")+` !== null`)
	c.tabTo("an event row", `document.activeElement.matches("#events-table tr[data-event-id]")`)
	c.do("press Enter", chromedp.KeyEvent(kb.Enter))
	c.waitFor("the event's detail", rendered("#detail")+` && `+detailHeaders+`["ce-id"] === "whevt_console_keys_1"`)
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.waitFor("the detail to close", notRendered("#detail"))
}

// tabTo presses Tab until the focused element satisfies cond, at most 50 times.
func (c *consolePage) tabTo(what, cond string) {
	c.t.Helper()
	for range 50 {
		if pageEval[bool](c, cond) {
			return
		}
		c.do("press Tab", chromedp.KeyEvent(kb.Tab))
	}
	c.t.Fatalf("50 presses of Tab never reached %s; the focus is on %s", what,
		pageEval[string](c, `document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : "nothing"`))
}

// xssPayloads are markup an attacker may put in anything the console shows.
var xssPayloads = []string{
	`<script>window.__pwned=1</script>`,
	`<img src=x onerror="window.__pwned=1">`,
	`"><svg onload=window.__pwned=1>`,
}

// TestConsoleBrowserShowsMarkupAsText: headers, types, subjects, ids and bodies carrying markup —
// in accepted events (Aghanim's are all from the signed body) and in refused requests — are shown
// as text on every panel and in the details: nothing runs, no element is made, and the page loads
// nothing from elsewhere under a Content-Security-Policy that forbids inline scripts.
func TestConsoleBrowserShowsMarkupAsText(t *testing.T) {
	c := startConsole(t, "")
	requested := c.recordRequests("")
	note := strings.Join(xssPayloads, " ")
	events := []struct{ id, typ, subject string }{
		{xssPayloads[0], xssPayloads[1], xssPayloads[2]},
		{`"><svg/onload=window.__pwned=1>`, xssPayloads[2], xssPayloads[0]},
		{`<img/src=x/onerror=window.__pwned=1>`, xssPayloads[0], xssPayloads[1]},
	}
	for _, e := range events {
		c.sendAghanim(rawJSON(map[string]any{"event_type": e.typ, "event_id": e.id, "event_data": map[string]string{"player_id": e.subject}, "note": note}))
	}
	forged := rawJSON(map[string]any{"event_type": xssPayloads[1], "event_id": xssPayloads[0], "note": note})
	c.forgeAghanim(forged, http.Header{"X-Note-1": {xssPayloads[0]}, "X-Note-2": {xssPayloads[1]}, "X-Note-3": {xssPayloads[2]}})

	c.open("#events")
	for _, e := range events {
		r := tableRow("events-table", "data-event-id", e.id)
		c.waitFor("the event "+e.id+"'s row, its id intact", r+` !== null`)
		for class, want := range map[string]string{"type": "com.aghanim." + e.typ, "subject": e.subject} {
			if got := pageEval[string](c, rowCell(r, class)); got != want {
				t.Errorf("event %s: td.%s shows %q, want the text %q", e.id, class, got, want)
			}
		}
		c.do("open the event", chromedp.Evaluate[chromedp.Void](`(`+r+`).click()`))
		c.waitFor("its detail", rendered("#detail")+` && `+detailHeaders+`["ce-id"] === `+jsString(e.id))
		shown := pageEval[string](c, `document.querySelector("#detail-body").textContent`)
		for _, p := range []string{xssPayloads[0], `<img src=x onerror=\"window.__pwned=1\">`, `\"><svg onload=window.__pwned=1>`} {
			if !strings.Contains(shown, p) { // in the JSON body, a " is \"
				t.Errorf("event %s: #detail-body does not show %s as text: %q", e.id, p, shown)
			}
		}
		c.do("press Escape", chromedp.KeyEvent(kb.Escape))
		c.waitFor("the detail to close", notRendered("#detail"))
	}

	c.show("#rejections")
	rej := tableRow("rejections-table", "data-reason", "bad_signature")
	c.waitFor("the forged request's row", rej+` !== null`)
	c.do("open the rejection", chromedp.Evaluate[chromedp.Void](`(`+rej+`).click()`))
	c.waitFor("its detail", rendered("#detail")+` && document.querySelector("#detail").textContent.includes("X-Note-1")`)
	detail := pageEval[string](c, `document.querySelector("#detail").textContent`)
	for _, p := range xssPayloads {
		if !strings.Contains(detail, p) {
			t.Errorf("the rejection's detail does not show %q as text", p)
		}
	}
	c.do("press Escape", chromedp.KeyEvent(kb.Escape))
	c.show("#endpoints")
	c.show("#health")

	if pageEval[bool](c, `typeof window.__pwned !== "undefined"`) {
		t.Errorf("markup from a webhook ran in the console")
	}
	if made := pageEval[[]string](c, `[...document.querySelectorAll("[onerror], [onload], img[src=x], script:not([src])")].map(e => e.outerHTML.slice(0, 120))`); len(made) != 0 {
		t.Errorf("markup from a webhook became elements: %q", made)
	}

	for _, u := range requested() {
		if !strings.HasPrefix(u, c.admin+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page loads %s, not from the bridge", u)
		}
	}
	resp, err := http.Get(c.admin + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	scripts := cspDirective(csp, "script-src")
	if scripts == "" {
		scripts = cspDirective(csp, "default-src")
	}
	if scripts == "" || strings.Contains(scripts, "'unsafe-inline'") || strings.Contains(scripts, "*") {
		t.Errorf("Content-Security-Policy %q: want scripts from the bridge only, no 'unsafe-inline'", csp)
	}
}

// rawJSON encodes v as JSON with <, > and & as themselves, as an attacker would send them.
func rawJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}

// cspDirective is the value of the directive name in a Content-Security-Policy, or "".
func cspDirective(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if fields := strings.Fields(d); len(fields) > 0 && strings.EqualFold(fields[0], name) {
			return strings.Join(fields[1:], " ")
		}
	}
	return ""
}
