package bridge_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookbridge/bridge/bridge"
)

// adminRequest sends method path to base with the given headers and returns the status.
func adminRequest(t *testing.T, method, url string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminSurface: with http.admin_listen, /metrics and /-/reload are served there and not on
// the webhook listener; reload needs the admin token and refuses a browser's request.
func TestAdminSurface(t *testing.T) {
	const token = "admin-token-for-the-test"
	r := startReloadable(t, "  admin_listen: \"127.0.0.1:0\"\n  admin_token: "+token+"\n", ucEndpoint("a", "s"))
	admin := "http://" + r.app.AdminAddr()
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	tests := []struct {
		name, method, url string
		header            http.Header
		want              int
	}{
		{"metrics on the admin listener", http.MethodGet, admin + "/metrics", nil, 200},
		{"no metrics on the webhook listener", http.MethodGet, r.base + "/metrics", nil, 404},
		{"no reload on the webhook listener", http.MethodPost, r.base + "/-/reload", bearer, 404},
		{"reload without the token", http.MethodPost, admin + "/-/reload", nil, 401},
		{"reload with a wrong token", http.MethodPost, admin + "/-/reload", http.Header{"Authorization": {"Bearer " + token + "x"}}, 401},
		{"reload with the token as Basic", http.MethodPost, admin + "/-/reload", http.Header{"Authorization": {"Basic " + token}}, 401},
		{"reload from a browser page, token and all", http.MethodPost, admin + "/-/reload", http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://evil.example"}}, 403},
		{"reload with the token", http.MethodPost, admin + "/-/reload", bearer, 200},
		{"healthz stays on the webhook listener", http.MethodGet, r.base + "/healthz", nil, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := adminRequest(t, tc.method, tc.url, tc.header); got != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.url, got, tc.want)
			}
		})
	}
}

// TestAdminListenNeedsTokenOffLoopback: an admin listener that others can reach without a token
// is a start-up error; on loopback the token is optional.
func TestAdminListenNeedsTokenOffLoopback(t *testing.T) {
	tests := []struct {
		listen, token string
		refused       bool
	}{
		{"127.0.0.1:9090", "", false},
		{"[::1]:9090", "", false},
		{"localhost:9090", "", false},
		{":9090", "", true},
		{"0.0.0.0:9090", "", true},
		{"[::]:9090", "", true},
		{"10.1.2.3:9090", "", true},
		{"admin.internal:9090", "", true},
		{"0.0.0.0:9090", "a-real-token", false},
	}
	for _, tc := range tests {
		cfg := testConfig("nats://127.0.0.1:4222")
		cfg.HTTP.AdminListen, cfg.HTTP.AdminToken = tc.listen, tc.token
		_, err := bridge.Compile(cfg)
		refused := err != nil && strings.Contains(err.Error(), "http.admin_token")
		if refused != tc.refused {
			t.Errorf("admin_listen %q token %q: %v, want refused %v", tc.listen, tc.token, err, tc.refused)
		}
	}
}

// TestNoDemoCredentialsFromAFile: a configuration someone wrote may not carry the demo's
// credential or an unreplaced placeholder; the demo itself keeps its.
func TestNoDemoCredentialsFromAFile(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("demo-secret\n"), 0o600)
	tests := []struct {
		name, yaml, field string
	}{
		{"a demo secret", "endpoints: [{id: a, provider: aghanim, secrets: [demo-secret]}]", "endpoints[0].secrets[0]"},
		{"a placeholder", "endpoints: [{id: a, provider: aghanim, secrets: [ok-secret, replace-me-with-yours]}]", "endpoints[0].secrets[1]"},
		{"a demo password", "endpoints: [{id: a, provider: centrepoint, basic_auth: {username: u, password: demo-secret}}]", "endpoints[0].basic_auth.password"},
		{"a demo token", "endpoints: [{id: a, provider: centrepoint, bearer_tokens: [replace-me]}]", "endpoints[0].bearer_tokens[0]"},
		{"a demo secret in a file", "endpoints: [{id: a, provider: aghanim, secret_files: [" + secretFile + "]}]", "endpoints[0].secret_files[0]"},
		{"a demo admin token", "http: {admin_listen: \"127.0.0.1:0\", admin_token: demo-secret}\nendpoints: [{id: a, provider: aghanim, secrets: [s]}]", "http.admin_token"},
		{"the demo secret in whsec_ form", "endpoints: [{id: a, provider: standard-webhooks, secrets: [whsec_ZGVtby1zZWNyZXQ=]}]", "endpoints[0].secrets[0]"},
		{"the demo secret in hex", "endpoints: [{id: a, provider: adyen, secrets: [64656d6f2d736563726574]}]", "endpoints[0].secrets[0]"},
		{"the demo's public key", "endpoints: [{id: a, provider: discord, public_key: 13330c81750aa5cec36bf3abf877722977c71632c48f6835782a1c00957bf703}]", "endpoints[0].public_key"},
		{"the demo's verify token", "endpoints: [{id: a, provider: meta, secrets: [s], verify_token: demo-secret}]", "endpoints[0].verify_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.ParsePlan(strings.NewReader(tc.yaml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "replace-me-with") {
				t.Errorf("the error prints the credential: %v", err)
			}
		})
	}
	if _, err := bridge.Compile(bridge.DemoConfig()); err != nil {
		t.Errorf("the demo's own credentials: %v", err)
	}
}

// TestSecretFiles: secrets read from files at start (a trailing newline stripped) and again on
// reload, beside the ones written in the configuration.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "usercheck")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	endpoint := "  - {id: a, provider: usercheck, secrets: [written], secret_files: [" + file + "]}\n"
	r := startReloadable(t, "", endpoint)
	send := func(secret string) int {
		body := ucBody(len(secret))
		req, _ := http.NewRequest(http.MethodPost, r.base+"/webhooks/a", strings.NewReader(string(body)))
		req.Header = userCheckHeaders(secret, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		secret string
		want   int
	}{{"written", 200}, {"from-a-file", 200}, {"from-a-file\n", 401}, {"rotated", 401}} {
		if got := send(tc.secret); got != tc.want {
			t.Errorf("at start, signed with %q: %d, want %d", tc.secret, got, tc.want)
		}
	}
	if err := os.WriteFile(file, []byte("rotated\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.app.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		secret string
		want   int
	}{{"rotated", 200}, {"from-a-file", 401}, {"written", 200}} {
		if got := send(tc.secret); got != tc.want {
			t.Errorf("after reload, signed with %q: %d, want %d", tc.secret, got, tc.want)
		}
	}
	os.Remove(file)
	if _, err := r.app.Reload(); err == nil || !strings.Contains(err.Error(), "endpoints[0].secret_files[0]") {
		t.Errorf("reload with the file gone: %v, want an error naming endpoints[0].secret_files[0]", err)
	}
	if got := send("rotated"); got != 200 {
		t.Errorf("after a failed reload: %d, want the running configuration (200)", got)
	}
}

// TestWarnsOfAllowFromInTrustedRange: an allow_from entry inside a trusted proxy range is warned
// of at start: a host there can claim any client address.
func TestWarnsOfAllowFromInTrustedRange(t *testing.T) {
	const warning = `"message":"an allow_from entry lies in a trusted proxy range`
	tests := []struct {
		name             string
		trusted, allowed []string
		warns            bool
	}{
		{"ingress range apart", []string{"10.0.5.0/24"}, []string{"203.0.113.7"}, false},
		{"allow_from inside the pod network", []string{"10.0.0.0/8"}, []string{"10.1.2.3"}, true},
		{"a trusted address inside an allowed range", []string{"192.168.1.10"}, []string{"192.168.1.0/24"}, true},
		{"nothing trusted", nil, []string{"10.1.2.3"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startBridge(t, func(c *bridge.Config) {
				c.HTTP.TrustedProxies = tc.trusted
				c.Endpoints[0].AllowFrom = tc.allowed
			})
			if got := strings.Contains(h.logs.String(), warning); got != tc.warns {
				t.Errorf("warned %v, want %v:\n%s", got, tc.warns, h.logs.String())
			}
		})
	}
}
