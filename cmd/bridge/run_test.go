package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookbridge/bridge/bridge"
	"github.com/webhookbridge/bridge/internal/natstest"
	"github.com/webhookbridge/bridge/internal/testio"
	"github.com/webhookbridge/bridge/providers"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeWithConfigUntilCancelled(t *testing.T) {
	ns := natstest.Start(t)
	cfgPath := writeFile(t, "bridge.yaml", `
http: {listen: "127.0.0.1:0"}
nats: {url: "`+ns.URL()+`"}
log: {format: json}
endpoints:
  - {id: shop, provider: usercheck, secrets: ["${SHOP_SECRET}"]}
`)
	getenv := func(k string) (string, bool) {
		if k == "SHOP_SECRET" {
			return "s3cret", true
		}
		return "", false
	}
	ctx, cancel := context.WithCancel(context.Background())
	apps := make(chan *bridge.App, 1)
	done := make(chan error, 1)
	var stderr testio.Buffer // written by the log writer's goroutine while the test reads it
	go func() {
		done <- serve(ctx, []string{"-config", cfgPath}, getenv, &stderr, func(a *bridge.App) { apps <- a })
	}()
	var app *bridge.App
	select {
	case app = <-apps:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("bridge did not start")
	}
	body := []byte(`{"event":"domain.flagged.spam","data":{"domain":"x.example"}}`)
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/shop", bytes.NewReader(body))
	req.Header.Set("X-UserCheck-Signature", hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}

	// SIGHUP reloads the file: the endpoint's secret is rotated to another one.
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(mustRead(t, cfgPath), "${SHOP_SECRET}", "rotated", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+app.Addr()+"/webhooks/shop", bytes.NewReader(body))
	req.Header.Set("X-UserCheck-Signature", hex.EncodeToString(m.Sum(nil))) // still signed with s3cret
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after SIGHUP and a rotated secret, the old one: %d, want 401", resp.StatusCode)
	}
	cancel() // as SIGTERM does
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after cancel, want nil (exit 0)", err)
	}
	if !strings.Contains(stderr.String(), `"message":"bridge started"`) || strings.Contains(stderr.String(), "s3cret") {
		t.Errorf("logs:\n%s", stderr.String())
	}
}

func TestServeRejectsUnsetVariable(t *testing.T) {
	cfgPath := writeFile(t, "bridge.yaml", `endpoints: [{id: a, provider: aghanim, secrets: ["${UNSET_SECRET}"]}]`)
	err := serve(context.Background(), []string{"-config", cfgPath}, func(string) (string, bool) { return "", false }, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "UNSET_SECRET") || !strings.Contains(err.Error(), "endpoints[0].secrets[0]") {
		t.Fatalf("error %v, want one naming UNSET_SECRET and its field", err)
	}
}

func TestSignPrintsProviderHeaders(t *testing.T) {
	body := `{"member":{"id":"1"},"OP":1}`
	file := writeFile(t, "body.json", body)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sign", "-provider", "altdentifier", "-secret", "k", "-file", file}, nil, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(md5.New, []byte("k"))
	m.Write([]byte(body))
	if want := "Digest: MD5=" + hex.EncodeToString(m.Sum(nil)); !strings.Contains(out.String(), want) {
		t.Errorf("sign printed\n%s\nwant a line %q", out.String(), want)
	}
	out.Reset()
	if err := run(context.Background(), []string{"sign", "-provider", "nope", "-secret", "k", "-file", file}, nil, nil, &out, &bytes.Buffer{}); err == nil {
		t.Error("unknown provider accepted")
	}
}

// TestSignZignSecLegacy: -scheme legacy prints the MAC of ZignSec's C# sample —
// Convert.ToBase64String(new HMACSHA256(key).ComputeHash(body)) — for the documentation's BankID
// result.
func TestSignZignSecLegacy(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "providers", "testdata", "zignsec", "identification_result.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "bankid.json", string(body))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sign", "-provider", "zignsec", "-scheme", "legacy", "-secret", "app-secret", "-file", file}, nil, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte("app-secret"))
	m.Write(body)
	if want := "X-Zignsec-Hmac-Sha256: " + base64.StdEncoding.EncodeToString(m.Sum(nil)); !strings.Contains(out.String(), want) {
		t.Errorf("sign printed\n%s\nwant a line %q", out.String(), want)
	}
	err = run(context.Background(), []string{"sign", "-provider", "aghanim", "-scheme", "legacy", "-secret", "k", "-file", file}, nil, nil, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Errorf("a scheme the provider lacks: %v, want an error naming it", err)
	}
}

func TestSendToBridge(t *testing.T) {
	ns := natstest.Start(t)
	cfg := bridge.DemoConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.URL = ns.URL()
	app, err := bridge.Start(context.Background(), cfg, bridge.NewLogger(cfg.Log, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown()
	tests := []struct {
		provider string
		file     string
		flags    []string
		status   string
	}{
		{"aghanim", "../../examples/aghanim/player.update.json", []string{"-secret", "demo-secret"}, "200 OK"},
		{"altdentifier", "../../examples/altdentifier/verification.passed.json", []string{"-secret", "demo-secret"}, "204 No Content"},
		{"zignsec", "../../examples/zignsec/session_created.json", []string{"-secret", "demo-secret"}, "200 OK"},
		{"centrepoint", "../../examples/centrepoint/upload.json", []string{"-token", "demo-secret"}, "200 OK"},
		{"centrepoint", "../../examples/centrepoint/upload.json", []string{"-user", "demo", "-password", "demo-secret"}, "200 OK"},
		{"centrepoint", "../../examples/centrepoint/upload.json", []string{"-secret", "demo-secret"}, "200 OK"},
		{"usercheck", "../../examples/usercheck/domain.flagged.disposable.json", []string{"-secret", "demo-secret"}, "200 OK"},
		{"usercheck", "../../examples/usercheck/domain.flagged.disposable.json", []string{"-secret", "wrong"}, "401 Unauthorized"},
	}
	for _, tc := range tests {
		t.Run(tc.provider+" "+strings.Join(tc.flags, " "), func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"send", "-provider", tc.provider, "-url", "http://" + app.Addr() + "/webhooks/" + tc.provider, "-file", tc.file}, tc.flags...)
			_ = run(context.Background(), args, nil, nil, &out, &bytes.Buffer{})
			if first, _, _ := strings.Cut(out.String(), "\n"); !strings.HasSuffix(first, tc.status) {
				t.Errorf("answer %q, want %s", first, tc.status)
			}
		})
	}
}

// TestSendToEveryProvider: `bridge send` speaks every registered provider, and the demo
// configuration serves it: each provider's own load example, sent to its demo endpoint with the
// demo's credentials (given as flags where the provider has a secret, token or password, as a
// user would), is answered 2xx.
func TestSendToEveryProvider(t *testing.T) {
	ns := natstest.Start(t)
	cfg := bridge.DemoConfig()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.NATS.URL = ns.URL()
	app, err := bridge.Start(context.Background(), cfg, bridge.NewLogger(cfg.Log, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown()
	answerQuestions(t, ns)
	for _, p := range providers.All() {
		t.Run(p.Name, func(t *testing.T) {
			ex := p.Load.Example(p.Load.DefaultType, "send", 1, time.Now())
			args := []string{"send", "-provider", p.Name, "-url", "http://" + app.Addr() + "/webhooks/" + p.Name,
				"-file", writeFile(t, "body.json", string(ex.Body))}
			for name, values := range ex.Header {
				args = append(args, "-H", name+": "+values[0])
			}
			var flags []string
			creds := p.DemoCredentials(bridge.DemoSecret)
			switch {
			case len(creds.Secrets) > 0:
				flags = []string{"-secret", creds.Secrets[0]}
			case len(creds.BearerTokens) > 0:
				flags = []string{"-token", creds.BearerTokens[0]}
			case creds.BasicAuth != nil:
				flags = []string{"-user", creds.BasicAuth.Username, "-password", creds.BasicAuth.Password}
			}
			// Then again without credential flags: send uses the demo's (a retry of the same
			// event, answered as a success too).
			for _, flags := range [][]string{flags, nil} {
				var out bytes.Buffer
				err := run(context.Background(), append(slices.Clone(args), flags...), nil, nil, &out, &bytes.Buffer{})
				first, _, _ := strings.Cut(out.String(), "\n")
				if err != nil || !strings.HasPrefix(strings.TrimPrefix(first, "HTTP/1.1 "), "2") {
					t.Errorf("send %v: %v, answer %q, want 2xx", flags, err, first)
				}
			}
		})
	}
}

// answerQuestions runs a responder that answers every question (a provider whose example event
// is one, as Discord's interactions are) with 200 and a JSON body.
func answerQuestions(t *testing.T, ns *natstest.Server) {
	t.Helper()
	nc := ns.Connect(t)
	if _, err := nc.Subscribe("webhooks-reply.>", func(m *nats.Msg) { _ = m.Respond([]byte(`{"type":4}`)) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	ns := natstest.Start(t)
	good := writeFile(t, "good.yaml", `
nats: {url: "`+ns.URL()+`"}
endpoints: [{id: game, provider: aghanim, secrets: [x]}]
`)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", good}, func(string) (string, bool) { return "", false }, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	for _, want := range []string{"POST /webhooks/game", "webhooks.game.>", "webhooks-reply.game.player.verify", "ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	ns.Stop()
	out.Reset()
	if err := run(context.Background(), []string{"check", "-config", good}, nil, nil, &out, &bytes.Buffer{}); err == nil || !strings.Contains(out.String(), "nats.url") {
		t.Errorf("check with NATS down: %v\n%s", err, out.String())
	}
	bad := writeFile(t, "bad.yaml", `endpoints: [{id: game, provider: nope, secrets: [x]}]`)
	if err := run(context.Background(), []string{"check", "-config", bad}, nil, nil, &out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "endpoints[0].provider") {
		t.Errorf("check of a bad config: %v", err)
	}
}

// TestCheckStreamSettings: check compares the live stream's cap and discard policy with
// stream.max_bytes, as it does replicas, max age and the duplicate window.
func TestCheckStreamSettings(t *testing.T) {
	ns := natstest.Start(t)
	js, err := jetstream.New(ns.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	config := func(maxBytes string) string {
		return writeFile(t, "bridge.yaml", `
nats: {url: "`+ns.URL()+`"}
stream: {name: CHECKED, subject_prefix: checked, replicas: 1, max_age: 1h, duplicate_window: 1h`+maxBytes+`}
endpoints: [{id: game, provider: aghanim, secrets: [x]}]
`)
	}
	stream := jetstream.StreamConfig{
		Name: "CHECKED", Subjects: []string{"checked.>"}, Storage: jetstream.FileStorage,
		Replicas: 1, MaxAge: time.Hour, Duplicates: time.Hour,
	}
	for _, tc := range []struct {
		name                 string
		maxBytes             int64 // the live stream's cap
		discard              jetstream.DiscardPolicy
		configured           string // stream.max_bytes in the file
		capLine, discardLine string // what check reports; "" for nothing
	}{
		{"both uncapped", 0, jetstream.DiscardOld, "", "", ""},
		{"cap configured, stream uncapped", 0, jetstream.DiscardOld, ", max_bytes: 1MiB",
			"stream.max_bytes: stream has no cap, configured 1048576 bytes", "stream has discard old, configured discard new"},
		{"same cap", 1 << 20, jetstream.DiscardNew, ", max_bytes: 1MiB", "", ""},
		{"same cap, discard changed by hand", 1 << 20, jetstream.DiscardOld, ", max_bytes: 1MiB",
			"", "stream has discard old, configured discard new"},
		{"cap removed from the file", 1 << 20, jetstream.DiscardNew, "",
			"stream.max_bytes: stream has 1048576 bytes, configured no cap", "stream has discard new, configured discard old"},
		{"other cap", 2 << 20, jetstream.DiscardNew, ", max_bytes: 1MiB", "stream.max_bytes: stream has 2097152 bytes, configured 1048576 bytes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream.MaxBytes, stream.Discard = tc.maxBytes, tc.discard
			if tc.maxBytes == 0 {
				stream.MaxBytes = -1
			}
			if _, err := js.CreateOrUpdateStream(context.Background(), stream); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"check", "-config", config(tc.configured)}, nil, nil, &out, &bytes.Buffer{}); err != nil {
				t.Fatalf("check: %v\n%s", err, out.String())
			}
			for _, want := range []struct{ field, line string }{{"stream.max_bytes:", tc.capLine}, {"discard policy", tc.discardLine}} {
				switch got := out.String(); {
				case want.line == "" && strings.Contains(got, want.field):
					t.Errorf("check reports a difference of %s where there is none:\n%s", want.field, got)
				case want.line != "" && !strings.Contains(got, want.line):
					t.Errorf("check output lacks %q:\n%s", want.line, got)
				}
			}
			for _, field := range []string{"stream.replicas", "stream.max_age", "stream.duplicate_window"} {
				if strings.Contains(out.String(), field) {
					t.Errorf("check reports %s, which matches:\n%s", field, out.String())
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNoPasswordPrinted: check and hub apply name the NATS servers they reach without the
// passwords in their URLs, in their output and in their errors.
func TestNoPasswordPrinted(t *testing.T) {
	const password = "s3cr3t-pa55"
	url := "nats://bridge:" + password + "@127.0.0.1:1"
	cfg := writeFile(t, "remote.yaml", `
nats: {url: "`+url+`"}
endpoints: [{id: game, provider: aghanim, secrets: [x]}]
`)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"check", "-config", cfg}, nil, nil, &out, &errOut)
	if err == nil {
		t.Fatal("check against an unreachable server passed")
	}
	if all := out.String() + errOut.String() + err.Error(); strings.Contains(all, password) || !strings.Contains(all, "127.0.0.1:1") {
		t.Errorf("check printed the password, or not the server:\n%s", all)
	}
	edge := writeFile(t, "edge.yaml", `
nats: {embedded: {domain: edge-0, leaf: {url: "nats-leaf://leaf:`+password+`@127.0.0.1:1"}}}
endpoints: [{id: game, provider: aghanim, secrets: [x]}]
`)
	out.Reset()
	errOut.Reset()
	err = run(context.Background(), []string{"hub", "apply", "-config", edge, "-replicas", "1", "-nats", url}, nil, nil, &out, &errOut)
	if err == nil {
		t.Fatal("hub apply against an unreachable server passed")
	}
	if all := out.String() + errOut.String() + err.Error(); strings.Contains(all, password) || !strings.Contains(all, "connect nats://bridge:xxxxx@127.0.0.1:1") {
		t.Errorf("hub apply printed the password, or not the server it tried:\n%s", all)
	}
}
