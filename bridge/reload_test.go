package bridge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
)

// reloadable is a bridge started from a configuration file that a test rewrites and reloads.
type reloadable struct {
	t    *testing.T
	path string
	app  *bridge.App
	base string
	logs *testio.Buffer
	ns   *natstest.Server
}

// reloadYAML is a configuration with the given endpoints block against url.
func reloadYAML(url, extraHTTP, endpoints string) string {
	return fmt.Sprintf("http:\n  listen: \"127.0.0.1:0\"\n%snats:\n  url: %q\nendpoints:\n%s", extraHTTP, url, endpoints)
}

func startReloadable(t *testing.T, extraHTTP, endpoints string) *reloadable {
	t.Helper()
	ns := natstest.Start(t)
	r := &reloadable{t: t, path: filepath.Join(t.TempDir(), "bridge.yaml"), logs: &testio.Buffer{}, ns: ns}
	r.write(reloadYAML(ns.URL(), extraHTTP, endpoints))
	cfg, err := bridge.LoadConfig(r.path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	app, err := bridge.Start(context.Background(), cfg, zerolog.New(r.logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Shutdown() })
	app.EnableReload(func() (*bridge.Config, error) { return bridge.LoadConfig(r.path, env(nil)) })
	r.app, r.base = app, "http://"+app.Addr()
	return r
}

func (r *reloadable) write(yaml string) {
	r.t.Helper()
	if err := os.WriteFile(r.path, []byte(yaml), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// rewrite replaces the endpoints block (and extra http keys) and reloads.
func (r *reloadable) rewrite(extraHTTP, endpoints string) (bridge.ReloadReport, error) {
	r.t.Helper()
	r.write(reloadYAML(r.ns.URL(), extraHTTP, endpoints))
	return r.app.Reload()
}

// post sends a signed UserCheck body and returns the status (0 and a test error when the request
// fails). It may be called from other goroutines: it never stops the test itself.
func (r *reloadable) post(endpoint, secret string, body []byte) int {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+"/webhooks/"+endpoint, strings.NewReader(string(body)))
	for k, v := range userCheckHeaders(secret, body) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Errorf("POST: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func ucEndpoint(id string, secrets ...string) string {
	return fmt.Sprintf("  - {id: %s, provider: usercheck, secrets: [%s]}\n", id, strings.Join(secrets, ", "))
}

func ucBody(n int) []byte {
	return []byte(fmt.Sprintf(`{"event":"domain.flagged.spam","created_at":"2026-11-29T10:00:00Z","data":{"domain":"d%d.example"}}`, n))
}

// TestReloadRotatesASecretUnderLoad: a sender rotates its secret while webhooks keep coming.
// Old and new secret both work while both are configured; after the old one is removed it is
// refused; no request gets a 5xx and every 2xx'd event is stored. Each phase lasts until the
// senders have been seen answered in it, not for a fixed time, so a slow machine only slows it.
func TestReloadRotatesASecretUnderLoad(t *testing.T) {
	r := startReloadable(t, "", ucEndpoint("uc", "old-secret"))
	var current atomic.Value
	current.Store("old-secret")
	const workers = 4
	var n, ok2xx, bad atomic.Int64
	var withNew [workers]atomic.Int64 // per worker: requests signed with the new secret, answered
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad) // before the bridge stops, also when the test ends early
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(n.Add(1))
				secret := current.Load().(string)
				status := r.post("uc", secret, ucBody(i))
				switch {
				case status == http.StatusOK:
					ok2xx.Add(1)
				default:
					bad.Add(1)
					t.Errorf("event %d (%s) answered %d during the rotation", i, secret, status)
				}
				if secret == "new-secret" {
					withNew[w].Add(1)
				}
			}
		}()
	}
	// answered waits until more answers than now have come, so each phase is seen under load.
	answered := func(what string) {
		t.Helper()
		want := n.Load() + 2*workers
		waitUntil(t, what, func() bool { return ok2xx.Load()+bad.Load() >= want })
	}
	answered("answers with the old secret only")
	if _, err := r.rewrite("", ucEndpoint("uc", "old-secret", "new-secret")); err != nil {
		t.Fatal(err)
	}
	answered("answers with both secrets configured")
	current.Store("new-secret") // the sender switches over
	// Every sender has had an answer to a request signed with the new secret: none signed with
	// the old one is still in flight when the old secret goes.
	waitUntil(t, "every sender switched to the new secret", func() bool {
		for i := range withNew {
			if withNew[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	if report, err := r.rewrite("", ucEndpoint("uc", "new-secret")); err != nil || len(report.Changed) != 1 {
		t.Fatalf("reload: %v %v", report, err)
	}
	answered("answers after the old secret was removed")
	stopLoad()
	if got := r.post("uc", "old-secret", ucBody(-1)); got != http.StatusUnauthorized {
		t.Errorf("the old secret after its removal: %d, want 401", got)
	}
	msgs, err := streamMessages(mustJetStream(t, r.ns), "WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	stored := len(msgs)
	if int64(stored) != ok2xx.Load() || ok2xx.Load() == 0 {
		t.Errorf("%d events answered 2xx, %d stored", ok2xx.Load(), stored)
	}
	t.Logf("%d requests during two reloads: %d 2xx, %d other", n.Load(), ok2xx.Load(), bad.Load())
}

// waitUntil polls cond until it holds; the minute is only there to end a test that is stuck,
// it is not what the test measures.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}

func TestReloadAddsAndRemovesEndpoints(t *testing.T) {
	r := startReloadable(t, "", ucEndpoint("a", "s"))
	if got := r.post("b", "s", ucBody(1)); got != http.StatusNotFound {
		t.Fatalf("b before it is added: %d", got)
	}
	report, err := r.rewrite("", ucEndpoint("a", "s")+ucEndpoint("b", "s"))
	if err != nil || strings.Join(report.Added, ",") != "b" {
		t.Fatalf("add: %v %v", report, err)
	}
	if got := r.post("b", "s", ucBody(2)); got != http.StatusOK {
		t.Errorf("b after it was added: %d", got)
	}
	report, err = r.rewrite("", ucEndpoint("b", "s"))
	if err != nil || strings.Join(report.Removed, ",") != "a" {
		t.Fatalf("remove: %v %v", report, err)
	}
	if got := r.post("a", "s", ucBody(3)); got != http.StatusNotFound {
		t.Errorf("a after it was removed: %d", got)
	}
}

// TestReloadRejectsABrokenFile: the running configuration stays, the error names the field, and
// the failure is logged and counted.
func TestReloadRejectsABrokenFile(t *testing.T) {
	r := startReloadable(t, "", ucEndpoint("a", "s"))
	_, err := r.rewrite("", "  - {id: a, provider: nope, secrets: [s]}\n")
	if err == nil || !strings.Contains(err.Error(), "endpoints[0].provider") {
		t.Fatalf("broken file: %v, want an error naming endpoints[0].provider", err)
	}
	r.write("endpoints: [")
	if _, err := r.app.Reload(); err == nil {
		t.Fatal("unparseable file accepted")
	}
	if got := r.post("a", "s", ucBody(1)); got != http.StatusOK {
		t.Errorf("after failed reloads the old configuration serves: %d", got)
	}
	if !strings.Contains(r.logs.String(), "configuration reload failed") {
		t.Error("the failure is not logged")
	}
	h := &harness{t: t, base: r.base}
	if got := metricSample(t, h, `bridge_config_reloads_total{result="failure"}`); got != 2 {
		t.Errorf("failed reloads counted %v, want 2", got)
	}
}

// TestReloadReportsWhatNeedsARestart: a changed listen address or stream is not applied
// silently: the reload says so, and the endpoints still change.
func TestReloadReportsWhatNeedsARestart(t *testing.T) {
	r := startReloadable(t, "", ucEndpoint("a", "s"))
	r.write(strings.Replace(reloadYAML(r.ns.URL(), "", ucEndpoint("a", "s2")), "127.0.0.1:0", "127.0.0.1:1", 1) + "stream: {name: OTHER}\n")
	report, err := r.app.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(report.NeedsRestart, ","); !strings.Contains(got, "http.listen") || !strings.Contains(got, "stream") {
		t.Errorf("needs restart %q, want http.listen and stream", got)
	}
	if got := r.post("a", "s2", ucBody(1)); got != http.StatusOK {
		t.Errorf("the endpoint change applied anyway: %d", got)
	}
	if !strings.Contains(r.logs.String(), "needs_restart") {
		t.Error("the restart-only change is not logged")
	}
}

// TestAdminReload: POST /-/reload on the admin listener; other methods refused; the providers'
// listener does not have it.
func TestAdminReload(t *testing.T) {
	r := startReloadable(t, "  admin_listen: \"127.0.0.1:0\"\n", ucEndpoint("a", "s"))
	admin := "http://" + r.app.AdminAddr()
	r.write(reloadYAML(r.ns.URL(), "  admin_listen: \"127.0.0.1:0\"\n", ucEndpoint("a", "s")+ucEndpoint("b", "s")))
	resp, err := http.Post(admin+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "added [b]") {
		t.Errorf("POST /-/reload: %d %s", resp.StatusCode, body)
	}
	status := func(resp *http.Response, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(http.Get(admin + "/-/reload")); got != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", got)
	}
	if got := status(http.Post(r.base+"/-/reload", "", nil)); got != http.StatusNotFound {
		t.Errorf("/-/reload on the webhook listener: %d, want 404", got)
	}
	r.write("endpoints: []")
	if got := status(http.Post(admin+"/-/reload", "", nil)); got != http.StatusBadRequest {
		t.Errorf("a broken file through the admin listener: %d, want 400", got)
	}
}

func mustJetStream(t testing.TB, ns *natstest.Server) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestReloadOfAnUnchangedFile: the same endpoints, written again with a comment moving every line,
// are reported unchanged — providers' compiled settings and positions in the file do not count.
func TestReloadOfAnUnchangedFile(t *testing.T) {
	endpoints := `  - id: gh
    provider: hmac
    secrets: [s]
    hmac: {header: X-Hub-Signature-256, prefix: "sha256=", type_header: X-GitHub-Event}
  - id: acme
    provider: standard-webhooks
    secrets: ["whsec_c2VjcmV0"]
    timestamp_tolerance: 10m
`
	r := startReloadable(t, "", endpoints)
	r.write("# a comment that moves every line\n" + reloadYAML(r.ns.URL(), "", endpoints))
	report, err := r.app.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Added)+len(report.Removed)+len(report.Changed)+len(report.NeedsRestart) != 0 {
		t.Errorf("an unchanged file reported %s", report)
	}
	report, err = r.rewrite("", strings.Replace(endpoints, "10m", "20m", 1))
	if err != nil || strings.Join(report.Changed, ",") != "acme" {
		t.Errorf("a changed tolerance: %s, %v; want acme changed", report, err)
	}
}
